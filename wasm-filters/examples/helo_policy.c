/*
 * helo_policy: the ehlo and mail stages. At EHLO, refuse a name that is neither
 * a domain with a dot nor an address literal ("[...]"): 550 5.7.1 (RFC 5321
 * §4.1.1.1 asks for a fully qualified domain name or an address literal). At
 * MAIL, mark a message with the null reverse-path (a notification, RFC 5321
 * §4.5.5) with the field "X-Null-Sender: yes".
 */
#include "stalwart_rules.h"

SR_ENTRY(ehlo) {
    sr_str helo = sr_helo();
    if (!sr_present(helo) || helo.len == 0) return SR_OK; /* no client: nothing to judge */
    if (helo.ptr[0] == '[' || sr_index_of(helo, '.', 0) >= 0) return SR_OK;
    sr_reject(550, "5.7.1", sr_cstr("HELO must be a domain name"));
    return SR_OK;
}

SR_ENTRY(mail) {
    sr_str from = sr_mail_from();
    /* The null reverse-path is the empty string, not absent. */
    if (sr_present(from) && from.len == 0) sr_add_header("X-Null-Sender", sr_cstr("yes"));
    return SR_OK;
}
