/* --allow-upgrade: the HTTP/1.1 Upgrade tokens h2gate carries besides
 * websocket. Pure. */
#include "config/config.h"
#include "config/parse.h"

#include <string.h>

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Takes the next comma-separated element of *list (trimmed) into *elt and
 * advances *list past it. Returns false at the end of the list. */
static bool next_elt(struct str *list, struct str *elt)
{
    if (list->len == 0)
        return false;
    size_t i = 0;
    while (i < list->len && list->p[i] != ',')
        i++;
    *elt = str_trim(str_make(list->p, i));
    *list = i < list->len ? str_make(list->p + i + 1, list->len - i - 1) : STR_NULL;
    return true;
}

/* The protocol name of an Upgrade element: "name/version" counts as name
 * (RFC 9110 §7.8 protocol-name). */
static struct str protocol_name(struct str elt)
{
    size_t i = 0;
    while (i < elt.len && elt.p[i] != '/')
        i++;
    return str_make(elt.p, i);
}

const char *cfg_parse_upgrades(struct str s)
{
    struct str elt;
    bool any = false;
    while (next_elt(&s, &elt)) {
        if (elt.len == 0)
            return "empty upgrade token";
        for (size_t i = 0; i < elt.len; i++) {
            if (!is_tchar(elt.p[i]))
                return "an upgrade token is letters, digits and !#$%&'*+-.^_`|~";
        }
        if (str_ieq(elt, STR_LIT("h2c")))
            return "h2c upgrade is never forwarded";
        any = true;
    }
    return any ? NULL : "empty upgrade token list";
}

struct str cfg_upgrade_allowed(const struct config *cfg, struct str upgrade)
{
    if (!cfg->allow_upgrade)
        return STR_NULL;
    struct str elt, offered = upgrade;
    while (next_elt(&offered, &elt)) {
        struct str name = protocol_name(elt);
        struct str list = str_cstr(cfg->allow_upgrade), tok;
        while (name.len && next_elt(&list, &tok)) {
            if (str_ieq(tok, name))
                return tok;
        }
    }
    return STR_NULL;
}
