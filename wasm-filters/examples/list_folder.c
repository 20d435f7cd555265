/*
 * list_folder: file mailing-list mail by its List-Id (RFC 2919) at delivery.
 * The list identifier (between < and >) is looked up in the "list_folders"
 * table; a listed one goes to the table's folder, any other list to
 * "Newsletters". The folder is created when missing.
 */
#include "stalwart_rules.h"

SR_ENTRY(delivery) {
    sr_str list_id = sr_header("List-Id", 0);
    if (!sr_present(list_id)) return SR_OK;
    int open = sr_index_of(list_id, '<', 1);
    int close = sr_index_of(list_id, '>', 1);
    if (open >= 0 && close > open) list_id = sr_slice(list_id, open + 1, close);
    sr_str folder = sr_lookup("list_folders", list_id);
    if (!sr_present(folder) || folder.len == 0) folder = sr_cstr("Newsletters");
    sr_fileinto(folder, 0, 1);
    return SR_OK;
}
