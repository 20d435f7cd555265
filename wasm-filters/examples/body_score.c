/*
 * body_score: score the text parts of a message by spammy phrases and add the
 * total as the score header (X-Rule-Score unless configured otherwise), at DATA.
 */
#include "stalwart_rules.h"

static const char *const PHRASES[] = {"free", "winner", "click here", "viagra", "$$$"};
static const int WEIGHTS[] = {1, 3, 2, 5, 4};

SR_ENTRY(data) {
    int total = 0;
    int parts = sr_part_count();
    for (int i = 0; i < parts; i++) {
        sr_str text = sr_part_text(i);
        if (!sr_present(text)) continue; /* not a text part */
        for (int p = 0; p < 5; p++) total += WEIGHTS[p] * sr_count_nocase(text, PHRASES[p]);
    }
    sr_score(total);
    return SR_OK;
}
