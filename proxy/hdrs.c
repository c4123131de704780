#include "proxy/hdrs.h"

#include <stdlib.h>

#include "common/err.h"
#include "common/xalloc.h"

/* The first allocations of a list's storage, doubled as it grows. */
#define HDRS_FIRST_BYTES 512
#define HDRS_FIRST_FIELDS 16
/* The largest storage kept with a spare (hdrs_storage_small): room for
 * a browser's request head (some 20 fields, 1-2 KB); 2 KiB of bytes and
 * 64 fields' offsets (1 KiB). */
#define HDRS_KEEP_BYTES (4 * HDRS_FIRST_BYTES)
#define HDRS_KEEP_FIELDS (4 * HDRS_FIRST_FIELDS)

void hdrs_init(struct hdrs *h, size_t max_bytes, size_t max_fields)
{
    *h = (struct hdrs){ .max_bytes = max_bytes, .max_fields = max_fields };
}

void hdrs_cleanup(struct hdrs *h)
{
    /* Most lists an exchange has (trailers, interim heads) never held a
     * field: no call into the allocator for them. */
    if (h->buf)
        free(h->buf);
    if (h->f)
        free(h->f);
    h->buf = NULL;
    h->f = NULL;
    h->buf_len = h->buf_cap = h->num = h->cap = 0;
}

void hdrs_reinit(struct hdrs *h, size_t max_bytes, size_t max_fields)
{
    h->buf_len = h->num = 0;
    h->max_bytes = max_bytes;
    h->max_fields = max_fields;
}

bool hdrs_storage_small(const struct hdrs *h)
{
    return h->buf_cap <= HDRS_KEEP_BYTES && h->cap <= HDRS_KEEP_FIELDS;
}

void hdrs_reset(struct hdrs *h)
{
    h->buf_len = 0;
    h->num = 0;
}

static int reserve(struct hdrs *h, size_t more)
{
    if (more > h->max_bytes || h->buf_len > h->max_bytes - more)
        return H2G_ERR_TOO_BIG;
    if (h->buf_len + more > h->buf_cap) {
        size_t cap = h->buf_cap ? h->buf_cap * 2 : HDRS_FIRST_BYTES;
        while (cap < h->buf_len + more)
            cap *= 2;
        h->buf = xrealloc(h->buf, cap);
        h->buf_cap = cap;
    }
    return 0;
}

static void copy_in(struct hdrs *h, struct str s, bool lower)
{
    if (s.len == 0)
        return; /* h->buf may still be NULL */
    char *dst = h->buf + h->buf_len;
    if (lower)
        str_lower_copy(dst, s.p, s.len);
    else
        memcpy(dst, s.p, s.len);
    h->buf_len += s.len;
}

static int new_field(struct hdrs *h)
{
    if (h->num >= h->max_fields)
        return H2G_ERR_TOO_BIG;
    if (h->num == h->cap) {
        h->cap = h->cap ? h->cap * 2 : HDRS_FIRST_FIELDS;
        h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
    }
    h->f[h->num] = (struct hdr_off){ .name_off = (uint32_t)h->buf_len,
                                     .value_off = (uint32_t)h->buf_len };
    h->num++;
    return 0;
}

int hdrs_reserve(struct hdrs *h, size_t bytes, size_t fields)
{
    if (h->num > h->max_fields || fields > h->max_fields - h->num || reserve(h, bytes) < 0)
        return H2G_ERR_TOO_BIG;
    if (fields > h->cap - h->num) {
        size_t cap = h->cap ? h->cap * 2 : HDRS_FIRST_FIELDS;
        while (cap < h->num + fields)
            cap *= 2;
        h->f = xrealloc(h->f, cap * sizeof(*h->f));
        h->cap = cap;
    }
    return 0;
}

int hdrs_add_slow(struct hdrs *h, struct str name, struct str value, bool lower)
{
    if (reserve(h, name.len + value.len) < 0 || h->num >= h->max_fields)
        return H2G_ERR_TOO_BIG;
    new_field(h);
    struct hdr_off *f = &h->f[h->num - 1];
    copy_in(h, name, lower);
    f->name_len = (uint32_t)name.len;
    f->value_off = (uint32_t)h->buf_len;
    copy_in(h, value, false);
    f->value_len = (uint32_t)value.len;
    return 0;
}

int hdrs_add_name_part(struct hdrs *h, struct str part, bool continues)
{
    if (reserve(h, part.len) < 0)
        return H2G_ERR_TOO_BIG;
    if (!continues || h->num == 0) {
        if (new_field(h) < 0)
            return H2G_ERR_TOO_BIG;
    }
    struct hdr_off *f = &h->f[h->num - 1];
    copy_in(h, part, true);
    f->name_len += (uint32_t)part.len;
    f->value_off = (uint32_t)h->buf_len;
    return 0;
}

int hdrs_add_value_part(struct hdrs *h, struct str part)
{
    if (h->num == 0)
        return H2G_ERR_PROTO;
    if (reserve(h, part.len) < 0)
        return H2G_ERR_TOO_BIG;
    struct hdr_off *f = &h->f[h->num - 1];
    copy_in(h, part, false);
    f->value_len += (uint32_t)part.len;
    return 0;
}

void hdrs_trim_values(struct hdrs *h)
{
    for (size_t i = 0; i < h->num; i++) {
        struct hdr_off *f = &h->f[i];
        while (f->value_len && (h->buf[f->value_off + f->value_len - 1] == ' ' ||
                                h->buf[f->value_off + f->value_len - 1] == '\t'))
            f->value_len--;
    }
}

int hdrs_set_value(struct hdrs *h, size_t i, struct str value)
{
    if (hdrs_add(h, STR_NULL, value, false) < 0)
        return H2G_ERR_TOO_BIG;
    struct hdr_off last = h->f[--h->num];
    h->f[i].value_off = last.value_off;
    h->f[i].value_len = last.value_len;
    return 0;
}

long hdrs_find(const struct hdrs *h, struct str name)
{
    for (size_t i = 0; i < h->num; i++) {
        if (str_eq(hdrs_name(h, i), name))
            return (long)i;
    }
    return -1;
}
