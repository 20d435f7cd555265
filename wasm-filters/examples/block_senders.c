/*
 * block_senders: refuse mail whose sender's domain (or a parent domain) is in
 * the "blocked_domains" table, at the RCPT stage (550 5.7.1). The table value,
 * when not empty, is the reply text.
 */
#include "stalwart_rules.h"

SR_ENTRY(rcpt) {
    sr_str from = sr_mail_from();
    int at = sr_index_of(from, '@', 1);
    if (!sr_present(from) || at < 0) return SR_OK; /* null sender or no domain */
    sr_str domain = sr_slice(from, at + 1, from.len);
    while (domain.len > 0) {
        sr_str reason = sr_lookup("blocked_domains", domain);
        if (sr_present(reason)) {
            if (reason.len == 0) reason = sr_cstr("sender domain is blocked");
            sr_reject(550, "5.7.1", reason);
            return SR_OK;
        }
        int dot = sr_index_of(domain, '.', 0);
        if (dot < 0) break;
        domain = sr_slice(domain, dot + 1, domain.len);
    }
    return SR_OK;
}
