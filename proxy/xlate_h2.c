/* HTTP/2 header blocks (struct xlate_nv): the fields of every response,
 * interim response and trailer section h2gate submits to nghttp2, from
 * the same struct xlate_resp and filters as the HTTP/1.1 heads of
 * xlate.c. Declared in xlate.h. */
#include "proxy/xlate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "proxy/hdrs.h"
#include "proxy/xlate-int.h"

#define NO_COPY (NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE)

void xlate_nv_init(struct xlate_nv *nv)
{
    nv->v = nv->stack;
    nv->num = 0;
    nv->cap = XLATE_NV_STACK;
    nv->scratch_len = 0;
}

void xlate_nv_cleanup(struct xlate_nv *nv)
{
    if (nv->v != nv->stack)
        free(nv->v);
    xlate_nv_init(nv);
}

void xlate_nv_grow(struct xlate_nv *nv)
{
    size_t cap = nv->cap * 2;
    nghttp2_nv *v = xmalloc(cap * sizeof(*v));
    memcpy(v, nv->v, nv->num * sizeof(*v));
    if (nv->v != nv->stack)
        free(nv->v);
    nv->v = v;
    nv->cap = cap;
}

/* Formats a value into nv's scratch space (copied by nghttp2 on submit). */
static struct str scratch_printf(struct xlate_nv *nv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct str scratch_printf(struct xlate_nv *nv, const char *fmt, ...)
{
    size_t room = sizeof(nv->scratch) - nv->scratch_len;
    char *p = nv->scratch + nv->scratch_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p, room, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
    nv->scratch_len += len;
    return str_make(p, len);
}

/* The status code as its three digits: snprintf cost ~300 instructions a
 * response, a few percent of a small request's path. */
static struct str scratch_status(struct xlate_nv *nv, int status)
{
    if (status < 100 || status > 999 || sizeof(nv->scratch) - nv->scratch_len < 4)
        return scratch_printf(nv, "%d", status);
    char *p = nv->scratch + nv->scratch_len;
    p[0] = (char)('0' + status / 100);
    p[1] = (char)('0' + status / 10 % 10);
    p[2] = (char)('0' + status % 10);
    nv->scratch_len += 3;
    return str_make(p, 3);
}

/* "PROTO h2gate" for Via, without snprintf (see scratch_status). */
static struct str scratch_via(struct xlate_nv *nv, const char *proto)
{
    static const char tail[] = " h2gate";
    size_t plen = strlen(proto);
    size_t len = plen + sizeof(tail) - 1;
    if (sizeof(nv->scratch) - nv->scratch_len <= len)
        return scratch_printf(nv, "%s h2gate", proto);
    char *p = nv->scratch + nv->scratch_len;
    memcpy(p, proto, plen);
    memcpy(p + plen, tail, sizeof(tail) - 1);
    nv->scratch_len += len;
    return str_make(p, len);
}

/* Date when missing, Server, the --add-response-header fields and
 * Alt-Svc. Copied
 * by nghttp2: a reload may free the configuration before the frame goes
 * out, and the date changes. */
static void add_resp_config(struct xlate_nv *nv, const struct xlate_resp *r)
{
    if (xlate_wants_date(r))
        xlate_nv_add(nv, STR_LIT("date"), str_cstr(r->date), NGHTTP2_NV_FLAG_NO_COPY_NAME);
    if (r->server)
        xlate_nv_add(nv, STR_LIT("server"), str_cstr(r->server), NGHTTP2_NV_FLAG_NO_COPY_NAME);
    for (size_t i = 0; r->add && i < r->add->num; i++)
        xlate_nv_add(nv, str_cstr(r->add->v[i].name), str_cstr(r->add->v[i].value),
                     NGHTTP2_NV_FLAG_NONE);
    if (r->altsvc)
        xlate_nv_add(nv, STR_LIT("alt-svc"), str_cstr(r->altsvc), NGHTTP2_NV_FLAG_NO_COPY_NAME);
}

void xlate_resp_h2(struct xlate_nv *nv, const struct xlate_resp *r)
{
    xlate_nv_add(nv, STR_LIT(":status"), scratch_status(nv, r->status),
                 NGHTTP2_NV_FLAG_NO_COPY_NAME);
    if (r->hdrs) {
        xlate_nv_add_hdrs(nv, r->hdrs, r->server ? XLATE_RESPONSE : XLATE_END_TO_END, NO_COPY);
        /* A Via the backend sent stays first; several via fields in
         * HTTP/2 mean the same as one comma-separated list. */
        if (r->backend_proto)
            xlate_nv_add(nv, STR_LIT("via"), scratch_via(nv, r->backend_proto),
                         NGHTTP2_NV_FLAG_NO_COPY_NAME);
        add_resp_config(nv, r);
        return;
    }
    add_resp_config(nv, r);
    xlate_nv_add(nv, STR_LIT("content-type"),
                 str_cstr(r->content_type ? r->content_type : "text/plain; charset=utf-8"),
                 NO_COPY);
    if (r->content_length >= 0)
        xlate_nv_add(nv, STR_LIT("content-length"),
                     scratch_printf(nv, "%lld", (long long)r->content_length),
                     NGHTTP2_NV_FLAG_NO_COPY_NAME);
    if (r->proxy_status)
        xlate_nv_add(nv, STR_LIT("proxy-status"),
                     scratch_printf(nv, "h2gate; error=%s", r->proxy_status),
                     NGHTTP2_NV_FLAG_NO_COPY_NAME);
    if (r->auth_challenge)
        xlate_nv_add(nv, STR_LIT("proxy-authenticate"), str_cstr(r->auth_challenge), NO_COPY);
    if (r->location)
        xlate_nv_add(nv, STR_LIT("location"), str_cstr(r->location), NGHTTP2_NV_FLAG_NO_COPY_NAME);
}

void xlate_interim_h2(struct xlate_nv *nv, int status, const struct hdrs *h)
{
    xlate_nv_add(nv, STR_LIT(":status"), scratch_status(nv, status),
                 NGHTTP2_NV_FLAG_NO_COPY_NAME);
    xlate_nv_add_hdrs(nv, h, XLATE_INTERIM, NGHTTP2_NV_FLAG_NONE);
}
