/* HTTP/2 <-> HTTP/1.1 message translation and HTTP/1.1 head validation,
 * and the header blocks h2gate sends: HTTP/1.1 heads, trailers and interim
 * responses as bytes, HTTP/2 ones as nghttp2_nv lists. Pure: no sockets, no
 * event loop, no nghttp2 session. */
#ifndef H2G_PROXY_XLATE_H
#define H2G_PROXY_XLATE_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/str.h"
#include "config/config-t.h"
#include "proxy/hdrs-t.h"

/* Scans the start of an HTTP/1.1 message (request or response) in p[0..len)
 * for the end of its head and checks the framing rules http-parser is
 * lenient about: every line ends in CRLF (no bare LF or CR), no obs-fold
 * continuation lines, every field name is a non-empty token followed
 * directly by ':', at most one Content-Length value (repeats must be
 * identical), never both Content-Length and Transfer-Encoding, and a
 * Transfer-Encoding (requests only) of exactly "chunked" and no longer
 * name that starts with "transfer-encoding" (which http-parser takes for
 * one), and field values without control characters other than HTAB (NUL
 * and DEL included).
 * Returns 1 with *head_len set to the length of the head including the
 * blank line, 0 when the head is not complete yet, or H2G_ERR_PROTO. */
int xlate_h1_head_scan(const char *p, size_t len, bool request, size_t *head_len);

/* True for the fields that only describe one hop (RFC 9110 §7.6.1, RFC
 * 9113 §8.2.2): connection, keep-alive, proxy-connection,
 * transfer-encoding, upgrade, te, http2-settings. name is lower-case. */
bool xlate_is_hop_field(struct str name);

/* True when field name (lower-case) must not be forwarded: a hop field or a
 * name listed in one of h's Connection fields. */
bool xlate_drop_field(const struct hdrs *h, struct str name);

/* What an HTTP/1.1 request head asks to switch to (RFC 9110 §7.8). */
enum xlate_upgrade {
    XLATE_UPGRADE_NONE,      /* no Upgrade field, or Connection does not list "upgrade" */
    XLATE_UPGRADE_WEBSOCKET, /* Upgrade names "websocket" (RFC 6455 §4.1) */
    XLATE_UPGRADE_OTHER,     /* another protocol (h2c, TLS/1.0, ...) */
};

/* Classifies the Upgrade and Connection fields of h (names lower-case). */
enum xlate_upgrade xlate_req_upgrade(const struct hdrs *h);

struct xlate_req {
    struct str method;
    struct str authority;   /* becomes Host */
    struct str path;        /* origin-form request target */
    const struct hdrs *hdrs; /* regular fields, names lower-case */
    const char *client_proto; /* "2", "1.1" or "1.0", for Via */
    struct str client_addr; /* for X-Forwarded-For */
    bool tls;               /* for X-Forwarded-Proto */
    int64_t content_length; /* >= 0: send Content-Length */
    bool chunked;           /* body of unknown length: send chunked */
    struct str scheme;      /* HTTP/2 only: :scheme ("http" when empty) */
    /* Ask to switch protocols: HTTP/1.1 "Upgrade: <protocol>", HTTP/2 an
     * extended CONNECT (RFC 8441) with ":protocol <protocol>". */
    bool websocket;
    struct str protocol;    /* with websocket: the token ("websocket" when empty) */
    /* HTTP/1.1, with websocket, non-empty: h2gate's own Sec-WebSocket-Key
     * (an HTTP/2 client's extended CONNECT has none); any the client sent
     * is dropped. */
    struct str ws_key;
};

/* RFC 6455 §4.2.2: the Sec-WebSocket-Accept value for key, base64 of the
 * SHA-1 of key and the protocol's GUID. Writes it with a NUL into out
 * and returns its length (28). */
#define XLATE_WS_ACCEPT_LEN 28
size_t xlate_ws_accept(struct str key, char out[XLATE_WS_ACCEPT_LEN + 1]);

/* How the list fields h2gate extends are written: each keeps the client's
 * values (in front) unless strip_*, then h2gate's own when asked. */
/* What a backend request's fields may take beyond the client's: room
 * for h2gate's own (Via, Forwarded, X-Forwarded-*, added fields), which
 * cookie crumbs do not use (bstream.c's caps). */
#define XLATE_H2_FIELDS_SLACK 16
#define XLATE_H2_BYTES_SLACK 1024

struct xlate_opts {
    bool via;
    bool xff;          /* add the client's address to X-Forwarded-For */
    bool strip_xff;
    bool xfp;          /* add X-Forwarded-Proto: http or https */
    bool strip_xfp;
    bool strip_fwd;    /* drop the client's Forwarded */
    struct str fwd;    /* h2gate's Forwarded element; empty: none */
    const struct cfg_fields *add; /* --add-request-header fields, or NULL */
    struct str client_cert;       /* RFC 9440 values to send; empty: none */
    struct str client_cert_chain; /* (the client's own are always dropped) */
    bool crumble_cookies;         /* HTTP/2: one cookie field per cookie-pair */
};

/* Appends the HTTP/1.1 request head for r to out: request line, Host from
 * authority, the forwarded fields less hop fields, Expect and
 * Content-Length (h2gate frames the body itself), cookie crumbs joined with
 * "; ", TE only as "trailers", Via, X-Forwarded-For and X-Forwarded-Proto
 * as configured, then the body framing field and the blank line. With
 * r->websocket, "connection: upgrade" and "upgrade: websocket" are added
 * (the client's own Connection and Upgrade are hop fields, never sent),
 * and "sec-websocket-key: r->ws_key" instead of the client's when set. */
void xlate_req_h1(struct bufq *out, const struct xlate_req *r, const struct xlate_opts *o);

/* Fills out (empty on entry; its caps apply) with the HTTP/2 request
 * header fields for r: :method, :scheme, :authority (when non-empty),
 * :path, then the same forwarded fields as xlate_req_h1 (cookie crumbs
 * kept apart, as HTTP/2 allows, and with o->crumble_cookies a Cookie
 * split into one field per cookie-pair while the request stays within
 * its field limits: RFC 9113 §8.2.3, nghttpx's default), TE only as "trailers", content-length
 * when r->content_length >= 0, then X-Forwarded-For, X-Forwarded-Proto and
 * Via as configured. With r->websocket it is an extended CONNECT (RFC 8441
 * §4): :method CONNECT and ":protocol r->protocol" whatever r->method, and
 * no Sec-WebSocket-Key (§5: the HTTP/2 handshake has none). Returns 0, or
 * H2G_ERR_TOO_BIG when out's caps are passed (out is then incomplete). */
int xlate_req_h2(struct hdrs *out, const struct xlate_req *r, const struct xlate_opts *o);

/* True when a trailer field (lower-case name) may be forwarded: neither a
 * pseudo-header nor a hop field nor one that frames or routes the message
 * (content-length, host, trailer itself). */
bool xlate_trailer_ok(struct str name);

/* The RST_STREAM code to give a client for a backend stream reset with
 * code (RFC 9113 §7) before its response ended: codes about the stream's
 * meaning (REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY,
 * HTTP_1_1_REQUIRED, CONNECT_ERROR, INTERNAL_ERROR) pass; codes about the
 * backend hop's framing (PROTOCOL_ERROR, FLOW_CONTROL_ERROR,
 * SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR)
 * and unknown codes become INTERNAL_ERROR. So does NO_ERROR: only after
 * a whole response is it a request to stop uploading (RFC 9113 §8.1);
 * before, the answer is missing or cut, and a client told NO_ERROR may
 * take it for none (Node's client emits no 'error' for it). */
uint32_t xlate_rst_code(uint32_t code);

/* Returns the reason phrase for status ("" when unknown). */
const char *xlate_reason(int status);

/* True when a response with this status to this method has no body. */
bool xlate_resp_bodyless(int status, bool head_request);

struct xlate_resp {
    int status;
    const struct hdrs *hdrs;   /* backend fields, names lower-case; may be NULL */
    const char *backend_proto; /* "1.1" or "2", for Via; NULL: no Via */
    int64_t content_length;    /* >= 0 known, -1 unknown */
    bool chunked;              /* frame the body with chunked encoding */
    bool keep_alive;           /* false: add "Connection: close" */
    bool http10;               /* an HTTP/1.0 client's: a kept connection
                                  says "Connection: keep-alive" (RFC 9112
                                  §9.3: it persists only when told) */
    const char *proxy_status;  /* RFC 9209 error type, or NULL */
    const char *auth_challenge; /* Proxy-Authenticate value, or NULL */
    bool websocket;            /* a 101 that switches protocols: add
                                  "connection: upgrade" and "upgrade:
                                  <upgrade>"; no framing field */
    struct str upgrade;        /* with websocket: the token ("websocket"
                                  when empty) */
    const char *server;        /* Server value replacing the backend's, or
                                  NULL: the backend's passes */
    const struct cfg_fields *add; /* --add-response-header fields, or NULL */
    const char *content_type;  /* h2gate's own answer (hdrs NULL): its type;
                                  NULL: text/plain */
    const char *location;      /* h2gate's own redirect: Location, or NULL */
    const char *date;          /* a Date value for a response with none
                                  (h2gate's own, or a backend's: RFC 9110
                                  §6.6.1), or NULL */
    const char *altsvc;        /* Alt-Svc value (--altsvc, --http2-altsvc)
                                  added unless r is a 101, or NULL */
};

/* Sets r's server, add and altsvc from cfg (--server-name,
 * --no-server-rewrite, --add-response-header, --altsvc for an HTTP/1.1
 * client or --http2-altsvc for an HTTP/2 one), and its date (now): every
 * response head to a client gets them. */
void xlate_resp_config(struct xlate_resp *r, const struct config *cfg, bool h2);

/* nghttpx's Location rewrite: when uri is an absolute http or https URI
 * whose host is match's host (ports aside, case aside, no userinfo),
 * writes scheme "://" authority and the rest of uri (path, query,
 * fragment) to out (room for scheme.len + authority.len + uri.len + 3
 * bytes) and returns its length; otherwise returns 0. match is the
 * authority the backend was sent: the request's, or with --host-rewrite
 * the backend's own (xlate_hostport). */
size_t xlate_location(struct str uri, struct str match, struct str authority, struct str scheme,
                      char *out);

/* Room for xlate_hostport's text: a 253-byte name or a bracketed IPv6
 * literal, ":65535", and a NUL. */
#define XLATE_HOSTPORT_MAX 264

/* nghttpx's --host-rewrite authority for a backend: host (bracketed when
 * an IPv6 literal), ":port" unless 80 or 443; "localhost" for a UNIX
 * domain socket (unix_socket). Writes it to out (XLATE_HOSTPORT_MAX
 * bytes) and returns its length. */
size_t xlate_hostport(const char *host, uint16_t port, bool unix_socket, char *out);

/* The time now as an HTTP date (IMF-fixdate, RFC 9110 §5.6.7), formatted
 * once a second per thread. */
const char *xlate_http_date(void);

/* Appends an HTTP/1.1 response head to out. */
void xlate_resp_h1(struct bufq *out, const struct xlate_resp *r);

/* The body of h2gate's own answers: "STATUS REASON\n". Writes it into buf
 * (64 bytes are enough) and returns its length. */
size_t xlate_error_body(char *buf, size_t len, int status);

/* Appends a backend's interim (1xx) response to out as an HTTP/1.1 head:
 * the status line and h's fields that pass XLATE_INTERIM. */
void xlate_interim_h1(struct bufq *out, int status, const struct hdrs *h);

/* Appends the end of a chunked body to out: the last chunk, then the
 * fields of trailers that may travel (xlate_trailer_ok), then the blank
 * line (RFC 9112 §7.1.2). */
void xlate_last_chunk_h1(struct bufq *out, const struct hdrs *trailers);

/* ---- HTTP/2 header blocks ---- */

#define XLATE_NV_STACK 48
#define XLATE_NV_SCRATCH 192

/* An nghttp2_nv list under construction: on the stack up to XLATE_NV_STACK
 * fields, on the heap past that; no cap of its own (the hdrs it is built
 * from are capped). Values formatted by the builders live in scratch and
 * are flagged for nghttp2 to copy; everything else is borrowed and flagged
 * NO_COPY only where the caller says it outlives the frame. */
struct xlate_nv {
    nghttp2_nv *v;
    size_t num, cap;
    size_t scratch_len;
    nghttp2_nv stack[XLATE_NV_STACK];
    char scratch[XLATE_NV_SCRATCH];
};

void xlate_nv_init(struct xlate_nv *nv);
void xlate_nv_cleanup(struct xlate_nv *nv);

/* Appends one field; flags are nghttp2's NGHTTP2_NV_FLAG_*. Inline
 * while the array has room; xlate_nv_grow doubles it. */
void xlate_nv_grow(struct xlate_nv *nv);
static inline void xlate_nv_add(struct xlate_nv *nv, struct str name, struct str value,
                                uint8_t flags)
{
    if (nv->num == nv->cap)
        xlate_nv_grow(nv);
    /* nghttp2 never writes through these pointers. */
    nv->v[nv->num++] = (nghttp2_nv){ (uint8_t *)name.p, (uint8_t *)value.p, name.len,
                                     value.len, flags };
}

enum xlate_filter {
    XLATE_ALL,          /* every field */
    XLATE_END_TO_END,   /* less hop fields and those Connection names */
    XLATE_RESPONSE,     /* the same, less Server (h2gate writes its own) */
    XLATE_TRAILER,      /* only those xlate_trailer_ok() allows */
    XLATE_INTERIM,      /* end-to-end less Content-Length, which a 1xx must
                           not have (RFC 9110 §8.6; HTTP/2 clients refuse it) */
};

/* Appends the fields of h that pass filter, in order. flags as above. */
void xlate_nv_add_hdrs(struct xlate_nv *nv, const struct hdrs *h, enum xlate_filter filter,
                       uint8_t flags);

/* Fills nv (empty) with the HTTP/2 response head for r: ":status", then
 * for a backend's response (r->hdrs set) its end-to-end fields and "via"
 * with r->backend_proto (when set); for h2gate's own answer (r->hdrs NULL) content-type
 * text/plain, content-length, proxy-status and proxy-authenticate as r
 * says. Fields of r->hdrs and literals are not copied by nghttp2: r->hdrs
 * must live until the frame is sent. chunked and keep_alive are ignored. */
void xlate_resp_h2(struct xlate_nv *nv, const struct xlate_resp *r);

/* Fills nv (empty) with an interim response: ":status" and h's fields
 * that pass XLATE_INTERIM, all copied by nghttp2. */
void xlate_interim_h2(struct xlate_nv *nv, int status, const struct hdrs *h);

#endif
