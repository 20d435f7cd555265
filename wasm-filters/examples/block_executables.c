/*
 * block_executables: refuse a message at DATA when a MIME part's file name
 * (Content-Disposition filename or Content-Type name) ends in an executable
 * extension.
 */
#include "stalwart_rules.h"

static const char *const EXTENSIONS[] = {".exe", ".scr", ".com", ".bat", ".cmd", ".pif",
                                         ".vbs", ".js",  ".jar", ".msi", ".ps1"};
#define N_EXTENSIONS (sizeof(EXTENSIONS) / sizeof(EXTENSIONS[0]))

SR_ENTRY(data) {
    int parts = sr_part_count();
    for (int i = 0; i < parts; i++) {
        sr_str name = sr_part(i, SR_PART_FILENAME);
        if (!sr_present(name)) continue;
        for (unsigned e = 0; e < N_EXTENSIONS; e++) {
            if (sr_ends_with_nocase(name, EXTENSIONS[e])) {
                sr_reject(550, "5.7.1", sr_cstr("executable attachments are not accepted"));
                return SR_OK;
            }
        }
    }
    return SR_OK;
}
