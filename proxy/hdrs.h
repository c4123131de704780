/* Header field lists for one message. Pure: no I/O. */
#ifndef H2G_PROXY_HDRS_H
#define H2G_PROXY_HDRS_H

#include <stdbool.h>
#include <string.h>

#include "common/str.h"
#include "proxy/hdrs-t.h"

void hdrs_init(struct hdrs *h, size_t max_bytes, size_t max_fields);
void hdrs_cleanup(struct hdrs *h);
/* Empties the list, keeping its memory. */
void hdrs_reset(struct hdrs *h);
/* hdrs_init for a list whose storage is kept for reuse (a spare
 * exchange's): empty, with new caps, its buffers still allocated. */
void hdrs_reinit(struct hdrs *h, size_t max_bytes, size_t max_fields);
/* Whether h's storage is small enough to keep for the next exchange
 * (up to four times its first allocation: a browser's request head
 * fits); a bigger one is freed. */
bool hdrs_storage_small(const struct hdrs *h);

/* Appends a field (copies both). lower: store the name lower-cased.
 * Returns 0, or H2G_ERR_TOO_BIG when a cap would be passed (the list is
 * unchanged). Inline when the storage has room (a proxied request adds
 * some twenty fields over its lists); hdrs_add_slow otherwise. */
int hdrs_add_slow(struct hdrs *h, struct str name, struct str value, bool lower);
static inline int hdrs_add(struct hdrs *h, struct str name, struct str value, bool lower)
{
    size_t n = name.len + value.len;
    if (!h->buf || h->num >= h->cap || h->num >= h->max_fields ||
        n > h->buf_cap - h->buf_len || n > h->max_bytes - h->buf_len)
        return hdrs_add_slow(h, name, value, lower);
    char *dst = h->buf + h->buf_len;
    if (lower)
        str_lower_copy(dst, name.p, name.len);
    else if (name.len)
        memcpy(dst, name.p, name.len);
    if (value.len)
        memcpy(dst + name.len, value.p, value.len);
    h->f[h->num++] = (struct hdr_off){ (uint32_t)h->buf_len, (uint32_t)name.len,
                                       (uint32_t)(h->buf_len + name.len), (uint32_t)value.len };
    h->buf_len += n;
    return 0;
}

/* Takes field i out of the list (its bytes stay in the storage). */
static inline void hdrs_remove(struct hdrs *h, size_t i)
{
    memmove(&h->f[i], &h->f[i + 1], (h->num - i - 1) * sizeof(h->f[0]));
    h->num--;
}

/* Makes room for `fields` more fields holding `bytes` more bytes in all,
 * so that hdrs_add takes its inline path for each. Returns 0, or
 * H2G_ERR_TOO_BIG when that would pass a cap (nothing is added). */
int hdrs_reserve(struct hdrs *h, size_t bytes, size_t fields);

/* Streaming form for http-parser, which may deliver a name or a value in
 * several pieces: a new name piece starts a field unless the previous call
 * was also a name piece; value pieces extend the last field. Names are
 * lower-cased. Returns 0 or H2G_ERR_TOO_BIG. */
int hdrs_add_name_part(struct hdrs *h, struct str part, bool continues);
int hdrs_add_value_part(struct hdrs *h, struct str part);

/* Drops the spaces and tabs that end field values: optional whitespace
 * after a value is not part of it (RFC 9112 §5), and http-parser hands it
 * over. For the streaming form, once a head or trailer section is whole
 * (a value's last piece may end in one). */
void hdrs_trim_values(struct hdrs *h);

/* Fields made only of empty strings leave buf NULL: never offset NULL. */
static inline const char *hdrs_base(const struct hdrs *h)
{
    return h->buf ? h->buf : "";
}

static inline struct str hdrs_name(const struct hdrs *h, size_t i)
{
    return str_make(hdrs_base(h) + h->f[i].name_off, h->f[i].name_len);
}

static inline struct str hdrs_value(const struct hdrs *h, size_t i)
{
    return str_make(hdrs_base(h) + h->f[i].value_off, h->f[i].value_len);
}

/* Gives field i the value value (copied; it must not point into h's
 * storage), keeping its place. Returns 0, or H2G_ERR_TOO_BIG (field i
 * unchanged). */
int hdrs_set_value(struct hdrs *h, size_t i, struct str value);

/* Returns the index of the first field named name (lower-case), or -1. */
long hdrs_find(const struct hdrs *h, struct str name);

#endif
