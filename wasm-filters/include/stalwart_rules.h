/*
 * stalwart_rules.h - the freestanding C SDK for Stalwart mail rules, ABI version 1.
 *
 * Include it in exactly one .c file per module and build with:
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -I include \
 *         -Wl,--no-entry -Wl,--export-dynamic -o rule.wasm rule.c
 *
 * It declares the host imports (module "stalwart", see ../ABI.md), defines the
 * exports every module needs (abi_version, alloc; memory comes from the linker),
 * and offers small helpers: strings that point into guest memory (sr_str),
 * case-insensitive comparisons, and one function per action. No libc is needed;
 * memcpy and memset are provided (weak) for the code clang generates.
 *
 * Define SR_ENTRY functions for the stages you handle (connect, ehlo, mail, rcpt,
 * data, delivery; each is optional, at least one is needed):
 *
 *   SR_ENTRY(data) { ... return SR_OK; }   // exports on_data
 *   SR_ENTRY(ehlo) { ... return SR_OK; }   // exports on_ehlo (sr_helo() is the name)
 *
 * Every string the host returns lives in memory from alloc(), a bump allocator:
 * a module instance serves one call only, so nothing is ever freed.
 */
#ifndef STALWART_RULES_H
#define STALWART_RULES_H

#define SR_ABI_VERSION 1

/* ---- status codes (ABI.md "Status codes") ------------------------------- */
#define SR_OK 0
#define SR_ABSENT (-1)
#define SR_INVALID (-2)
#define SR_NO_MEMORY (-3)
#define SR_WRONG_STAGE (-4)
#define SR_TOO_MANY (-5)

/* ---- envelope fields ----------------------------------------------------- */
#define SR_ENV_MAIL_FROM 0
#define SR_ENV_RCPT_TO 1
#define SR_ENV_REMOTE_IP 2
#define SR_ENV_HELO 3
#define SR_ENV_AUTH_ACCOUNT 4
#define SR_ENV_LISTENER 5
#define SR_ENV_ACCOUNT 6
#define SR_ENV_MAILBOX 7
#define SR_ENV_QUEUE_ID 8
#define SR_ENV_STAGE 9

/* ---- part fields --------------------------------------------------------- */
#define SR_PART_MIME_TYPE 0
#define SR_PART_FILENAME 1
#define SR_PART_DISPOSITION 2
#define SR_PART_CHARSET 3
#define SR_PART_SIZE 4

/* ---- action kinds ------------------------------------------------------- */
#define SR_ACT_KEEP 1
#define SR_ACT_FILEINTO 2
#define SR_ACT_DISCARD 3
#define SR_ACT_REJECT 4
#define SR_ACT_TEMPFAIL 5
#define SR_ACT_REDIRECT 6
#define SR_ACT_ADD_HEADER 7
#define SR_ACT_DELETE_HEADER 8
#define SR_ACT_SET_FLAGS 9
#define SR_ACT_ADD_FLAGS 10
#define SR_ACT_REMOVE_FLAGS 11
#define SR_ACT_SCORE 12

#define SR_FILEINTO_CREATE 1
#define SR_FILEINTO_FLAGS 2
#define SR_REDIRECT_COPY 1

#define SR_LOG_DEBUG 0
#define SR_LOG_INFO 1
#define SR_LOG_WARNING 2
#define SR_LOG_ERROR 3

/* ---- host imports --------------------------------------------------------- */
#define SR_IMPORT(name) __attribute__((import_module("stalwart"), import_name(#name)))

SR_IMPORT(envelope) long long sr_envelope_raw(int field, int index);
SR_IMPORT(header) long long sr_header_raw(const char *name, int name_len, int index);
SR_IMPORT(header_count) int sr_header_count_raw(const char *name, int name_len);
SR_IMPORT(part_count) int sr_part_count(void);
SR_IMPORT(part) long long sr_part_raw(int index, int field);
SR_IMPORT(part_text) long long sr_part_text_raw(int index);
SR_IMPORT(auth_result) long long sr_auth_result_raw(const char *method, int method_len);
SR_IMPORT(lookup) long long sr_lookup_raw(const char *table, int table_len, const char *key,
                                          int key_len);
SR_IMPORT(log) void sr_log_raw(int level, const char *text, int len);
SR_IMPORT(action) int sr_action(int kind, int num, const char *s1, int l1, const char *s2, int l2);

/* ---- exports every module has ------------------------------------------- */
#define SR_EXPORT(name) __attribute__((export_name(#name)))
#define SR_ENTRY(stage) SR_EXPORT(on_##stage) int on_##stage(void)

extern unsigned char __heap_base;
static unsigned long sr_heap_top;

SR_EXPORT(abi_version) int abi_version(void) { return SR_ABI_VERSION; }

/* Bump allocator: 8-byte aligned; grows memory when needed; 0 when out of memory. */
SR_EXPORT(alloc) void *alloc(int size) {
    if (size < 0) return 0;
    if (sr_heap_top == 0) sr_heap_top = (unsigned long)&__heap_base;
    unsigned long start = (sr_heap_top + 7) & ~7UL;
    unsigned long end = start + (unsigned long)size;
    unsigned long have = __builtin_wasm_memory_size(0) * 65536UL;
    if (end > have) {
        unsigned long pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (unsigned long)-1) return 0;
    }
    sr_heap_top = end;
    return (void *)start;
}

__attribute__((weak)) void *memcpy(void *dst, const void *src, unsigned long n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

__attribute__((weak)) void *memset(void *dst, int c, unsigned long n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

/* ---- strings --------------------------------------------------------------- */

/* A string in guest memory; len < 0 means "absent" (the status code). */
typedef struct {
    const char *ptr;
    int len;
} sr_str;

static inline sr_str sr_unpack(long long v) {
    sr_str s;
    if (v < 0) {
        s.ptr = 0;
        s.len = (int)v;
    } else {
        s.ptr = (const char *)(unsigned long)(v >> 32);
        s.len = (int)(v & 0xffffffff);
    }
    return s;
}

static inline int sr_present(sr_str s) { return s.len >= 0; }

static inline int sr_cstrlen(const char *c) {
    int n = 0;
    while (c[n]) n++;
    return n;
}

static inline sr_str sr_cstr(const char *c) {
    sr_str s = {c, sr_cstrlen(c)};
    return s;
}

static inline char sr_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Case-insensitive (ASCII) equality of s and the C string c. */
static inline int sr_eq_nocase(sr_str s, const char *c) {
    int n = sr_cstrlen(c);
    if (s.len != n) return 0;
    for (int i = 0; i < n; i++)
        if (sr_lower(s.ptr[i]) != sr_lower(c[i])) return 0;
    return 1;
}

/* Whether s ends with the C string c, ignoring ASCII case. */
static inline int sr_ends_with_nocase(sr_str s, const char *c) {
    int n = sr_cstrlen(c);
    if (s.len < n) return 0;
    for (int i = 0; i < n; i++)
        if (sr_lower(s.ptr[s.len - n + i]) != sr_lower(c[i])) return 0;
    return 1;
}

/* How often the C string c occurs in s, ignoring ASCII case (non-overlapping). */
static inline int sr_count_nocase(sr_str s, const char *c) {
    int n = sr_cstrlen(c), count = 0;
    if (n == 0) return 0;
    for (int i = 0; i + n <= s.len;) {
        int j = 0;
        while (j < n && sr_lower(s.ptr[i + j]) == sr_lower(c[j])) j++;
        if (j == n) {
            count++;
            i += n;
        } else {
            i++;
        }
    }
    return count;
}

/* Index of the first (or, with last != 0, the last) ch in s, or -1. */
static inline int sr_index_of(sr_str s, char ch, int last) {
    int found = -1;
    for (int i = 0; i < s.len; i++)
        if (s.ptr[i] == ch) {
            found = i;
            if (!last) break;
        }
    return found;
}

static inline sr_str sr_slice(sr_str s, int start, int end) {
    sr_str out = {s.ptr + start, end - start};
    return out;
}

/* ---- getters ----------------------------------------------------------------- */

static inline sr_str sr_envelope(int field, int index) {
    return sr_unpack(sr_envelope_raw(field, index));
}
static inline sr_str sr_mail_from(void) { return sr_envelope(SR_ENV_MAIL_FROM, 0); }
/* The EHLO/HELO name (at ehlo: the one being given). */
static inline sr_str sr_helo(void) { return sr_envelope(SR_ENV_HELO, 0); }
static inline sr_str sr_rcpt_to(int index) { return sr_envelope(SR_ENV_RCPT_TO, index); }
static inline sr_str sr_header(const char *name, int index) {
    return sr_unpack(sr_header_raw(name, sr_cstrlen(name), index));
}
static inline int sr_header_count(const char *name) {
    return sr_header_count_raw(name, sr_cstrlen(name));
}
static inline sr_str sr_part(int index, int field) { return sr_unpack(sr_part_raw(index, field)); }
static inline sr_str sr_part_text(int index) { return sr_unpack(sr_part_text_raw(index)); }
static inline sr_str sr_auth_result(const char *method) {
    return sr_unpack(sr_auth_result_raw(method, sr_cstrlen(method)));
}
static inline sr_str sr_lookup(const char *table, sr_str key) {
    return sr_unpack(sr_lookup_raw(table, sr_cstrlen(table), key.ptr, key.len));
}
static inline void sr_log(int level, const char *text) {
    sr_log_raw(level, text, sr_cstrlen(text));
}

/* ---- actions (each returns SR_OK or a negative status) ----------------------- */

static inline int sr_keep(void) { return sr_action(SR_ACT_KEEP, 0, 0, 0, 0, 0); }
static inline int sr_discard(void) { return sr_action(SR_ACT_DISCARD, 0, 0, 0, 0, 0); }

/* flags: space-separated IMAP flags or keywords, or 0 for the current flags. */
static inline int sr_fileinto(sr_str mailbox, const char *flags, int create) {
    int num = (create ? SR_FILEINTO_CREATE : 0) | (flags ? SR_FILEINTO_FLAGS : 0);
    return sr_action(SR_ACT_FILEINTO, num, mailbox.ptr, mailbox.len, flags,
                     flags ? sr_cstrlen(flags) : 0);
}
static inline int sr_reject(int code, const char *status, sr_str text) {
    return sr_action(SR_ACT_REJECT, code, text.ptr, text.len, status,
                     status ? sr_cstrlen(status) : 0);
}
static inline int sr_tempfail(int code, const char *status, sr_str text) {
    return sr_action(SR_ACT_TEMPFAIL, code, text.ptr, text.len, status,
                     status ? sr_cstrlen(status) : 0);
}
static inline int sr_redirect(sr_str address, int copy) {
    return sr_action(SR_ACT_REDIRECT, copy ? SR_REDIRECT_COPY : 0, address.ptr, address.len, 0, 0);
}
static inline int sr_add_header(const char *name, sr_str value) {
    return sr_action(SR_ACT_ADD_HEADER, 0, name, sr_cstrlen(name), value.ptr, value.len);
}
static inline int sr_delete_header(const char *name) {
    return sr_action(SR_ACT_DELETE_HEADER, 0, name, sr_cstrlen(name), 0, 0);
}
static inline int sr_set_flags(const char *flags) {
    return sr_action(SR_ACT_SET_FLAGS, 0, flags, sr_cstrlen(flags), 0, 0);
}
static inline int sr_add_flags(const char *flags) {
    return sr_action(SR_ACT_ADD_FLAGS, 0, flags, sr_cstrlen(flags), 0, 0);
}
static inline int sr_remove_flags(const char *flags) {
    return sr_action(SR_ACT_REMOVE_FLAGS, 0, flags, sr_cstrlen(flags), 0, 0);
}
static inline int sr_score(int points) { return sr_action(SR_ACT_SCORE, points, 0, 0, 0, 0); }

#endif /* STALWART_RULES_H */
