#ifndef H2G_PROXY_HDRS_T_H
#define H2G_PROXY_HDRS_T_H

#include <stddef.h>
#include <stdint.h>

/* One field, as offsets into hdrs.buf (the buffer may move as it grows). */
struct hdr_off {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
};

/* A bounded list of header fields owning a copy of their bytes. */
struct hdrs {
    char *buf;
    size_t buf_len, buf_cap;
    struct hdr_off *f;
    size_t num, cap;
    size_t max_bytes;   /* cap on buf_len */
    size_t max_fields;  /* cap on num */
};

#endif
