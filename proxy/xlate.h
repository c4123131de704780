/* HTTP/2 <-> HTTP/1.1 message translation and HTTP/1.1 head validation.
 * Pure: bytes in, bytes out; no sockets, no event loop. */
#ifndef H2G_PROXY_XLATE_H
#define H2G_PROXY_XLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/str.h"
#include "proxy/hdrs-t.h"

/* Scans the start of an HTTP/1.1 message (request or response) in p[0..len)
 * for the end of its head and checks the framing rules http-parser is
 * lenient about: every line ends in CRLF (no bare LF or CR), no obs-fold
 * continuation lines, every field name is a non-empty token followed
 * directly by ':', at most one Content-Length value (repeats must be
 * identical), never both Content-Length and Transfer-Encoding, and a
 * Transfer-Encoding (requests only) of exactly "chunked".
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
};

struct xlate_opts {
    bool via;
    bool xff;
    bool strip_xff;
};

/* Appends the HTTP/1.1 request head for r to out: request line, Host from
 * authority, the forwarded fields less hop fields, Expect and
 * Content-Length (h2gate frames the body itself), cookie crumbs joined with
 * "; ", TE only as "trailers", Via, X-Forwarded-For and X-Forwarded-Proto
 * as configured, then the body framing field and the blank line. */
void xlate_req_h1(struct bufq *out, const struct xlate_req *r, const struct xlate_opts *o);

/* Fills out (empty on entry; its caps apply) with the HTTP/2 request
 * header fields for r: :method, :scheme, :authority (when non-empty),
 * :path, then the same forwarded fields as xlate_req_h1 (cookie crumbs
 * kept apart, as HTTP/2 allows), TE only as "trailers", content-length
 * when r->content_length >= 0, then X-Forwarded-For, X-Forwarded-Proto and
 * Via as configured. Returns 0, or H2G_ERR_TOO_BIG when out's caps are
 * passed (out is then incomplete). */
int xlate_req_h2(struct hdrs *out, const struct xlate_req *r, const struct xlate_opts *o);

/* True when a trailer field (lower-case name) may be forwarded: neither a
 * pseudo-header nor a hop field nor one that frames or routes the message
 * (content-length, host, trailer itself). */
bool xlate_trailer_ok(struct str name);

/* The RST_STREAM code to give a client for a backend stream reset with
 * code (RFC 9113 §7): codes about the stream's meaning (NO_ERROR,
 * REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY,
 * HTTP_1_1_REQUIRED, CONNECT_ERROR, INTERNAL_ERROR) pass; codes about the
 * backend hop's framing (PROTOCOL_ERROR, FLOW_CONTROL_ERROR,
 * SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR)
 * and unknown codes become INTERNAL_ERROR. */
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
    const char *proxy_status;  /* RFC 9209 error type, or NULL */
    const char *auth_challenge; /* Proxy-Authenticate value, or NULL */
};

/* Appends an HTTP/1.1 response head to out. */
void xlate_resp_h1(struct bufq *out, const struct xlate_resp *r);

#endif
