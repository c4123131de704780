/* libFuzzer target: arbitrary bytes as a backend's answer, through the
 * real upstream side (proxy/upool.c; for an HTTP/1.1 backend
 * proxy/bconn.c, proxy/h1resp.c and http-parser, for an HTTP/2 one
 * proxy/bsess.c, proxy/bstream.c and an nghttp2 client session) and back
 * to a client of either protocol, in a real worker loop
 * (fuzz/proxy_rig.h, with backend_raw: the backend answers each
 * connection with the input's bytes, then goes away).
 *
 * Input: byte 0 chooses the client and its requests, byte 1 when the
 * backend answers; the rest is the backend's answer:
 *   byte 0  bit 0     the client speaks HTTP/2 (else HTTP/1.1)
 *           bits 1-2  the request: GET, HEAD, POST with a 10-byte body,
 *                     or (HTTP/1.1) a WebSocket upgrade / (HTTP/2) a GET
 *                     with "te: trailers"
 *           bit 3     a second GET after it (pipelined; HTTP/2: stream 3)
 *           bit 4     the backend closes a connection after its answer
 *           bits 5-7  bytes the backend writes a round: all, 1, 2, 3, 7,
 *                     16, 64, 512
 *   byte 1  bit 0     the backend answers at the request's head (else at
 *                     its end)
 *           bit 1     graceful shutdown of the client connection after
 *           bit 2     the backend speaks HTTP/2: the rig sends an empty
 *                     SETTINGS frame at once, and the bytes (frames) once
 *                     h2gate's first request came (stream 1)
 *
 * The client is the oracle, and strict: whatever the backend sent, what
 * h2gate sends the client must be well-formed, and never more final
 * responses than requests (a backend's extra bytes must not become the
 * answer to the next request).
 * - HTTP/1.1: http-parser reads the responses (bodiless for HEAD and 1xx;
 *   after a 101 the rest is the tunnel's); an error is a crash.
 * - HTTP/2: an nghttp2 client session with HTTP messaging checks reads
 *   the frames and answers them (SETTINGS ACK, WINDOW_UPDATE); a frame it
 *   finds invalid, a RST_STREAM or GOAWAY it must send for an error, or a
 *   fatal error of the session is a crash.
 * With FUZZ_BCONN_VERBOSE set, each input ends with one line on stderr:
 * the final statuses the client got. */
#include <http_parser.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/proxy_rig.h"

#define MAX_REQS 2

static bool verbose;

static struct {
    bool h2;
    unsigned kind;              /* bits 1-2 of byte 0 */
    unsigned num_reqs;
    int statuses[8];            /* final statuses, in order */
    unsigned num_final;
    /* HTTP/1.1 */
    http_parser parser;
    bool tunnel;                /* after a 101: the rest is not HTTP */
    /* HTTP/2 */
    nghttp2_session *session;
    size_t body_left;
} cl;

static void got_final(int status)
{
    if (cl.num_final < sizeof(cl.statuses) / sizeof(cl.statuses[0]))
        cl.statuses[cl.num_final] = status;
    cl.num_final++;
    if (cl.num_final > cl.num_reqs) {
        fprintf(stderr, "fuzz bconn: %u final responses to %u requests\n", cl.num_final,
                cl.num_reqs);
        abort();
    }
}

/* --- HTTP/1.1 client ---------------------------------------------------- */

static const char *const h1_requests[] = {
    "GET /a HTTP/1.1\r\nHost: f\r\n\r\n",
    "HEAD /a HTTP/1.1\r\nHost: f\r\n\r\n",
    "POST /a HTTP/1.1\r\nHost: f\r\nContent-Length: 10\r\n\r\n0123456789",
    ("GET /ws HTTP/1.1\r\nHost: f\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
};

static int on_h1_headers(http_parser *p)
{
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101)
        return 1;               /* interim: no body */
    /* The response to the request it answers: the first for the first. */
    bool head = cl.kind == 1 && cl.num_final == 0;
    return head ? 1 : 0;
}

static int on_h1_message(http_parser *p)
{
    if (p->status_code >= 200 || p->status_code == 101)
        got_final((int)p->status_code);
    if (p->status_code == 101)
        cl.tunnel = true;
    return 0;
}

static const http_parser_settings h1_settings = {
    .on_headers_complete = on_h1_headers,
    .on_message_complete = on_h1_message,
};

static void h1_got(const uint8_t *p, size_t len)
{
    if (cl.tunnel)
        return;
    size_t n = http_parser_execute(&cl.parser, &h1_settings, (const char *)p, len);
    if (cl.tunnel || (HTTP_PARSER_ERRNO(&cl.parser) == HPE_OK && n == len))
        return;
    if (HTTP_PARSER_ERRNO(&cl.parser) == HPE_CLOSED_CONNECTION) {
        /* Bytes after a response that closes the connection. */
        fprintf(stderr, "fuzz bconn: h2gate wrote past a response with Connection: close\n");
        abort();
    }
    fprintf(stderr, "fuzz bconn: the HTTP/1.1 client cannot parse what h2gate sent (%s) at "
            "byte %zu of %zu:\n", http_errno_description(HTTP_PARSER_ERRNO(&cl.parser)), n, len);
    fwrite(p, 1, len, stderr);
    fprintf(stderr, "\n");
    abort();
}

static size_t h1_start(uint8_t *buf, size_t cap, unsigned mode)
{
    http_parser_init(&cl.parser, HTTP_RESPONSE);
    size_t len = 0;
    const char *reqs[MAX_REQS] = { h1_requests[cl.kind], (mode & 0x08) ? h1_requests[0] : NULL };
    for (size_t i = 0; i < MAX_REQS && reqs[i]; i++) {
        size_t n = strlen(reqs[i]);
        if (len + n > cap)
            abort();
        memcpy(buf + len, reqs[i], n);
        len += n;
        cl.num_reqs++;
    }
    return len;
}

/* --- HTTP/2 client ------------------------------------------------------ */

static void h2_flush(void)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(cl.session, &p)) > 0)
        rig_client_send(p, (size_t)n);
    if (n < 0) {
        fprintf(stderr, "fuzz bconn: nghttp2_session_mem_send: %s\n", nghttp2_strerror((int)n));
        abort();
    }
}

static void h2_got(const uint8_t *p, size_t len)
{
    ssize_t n = nghttp2_session_mem_recv(cl.session, p, len);
    if (n < 0) {
        fprintf(stderr, "fuzz bconn: the HTTP/2 client failed on what h2gate sent: %s\n",
                nghttp2_strerror((int)n));
        abort();
    }
    h2_flush();
}

static int on_h2_invalid(nghttp2_session *s, const nghttp2_frame *frame, int err, void *u)
{
    (void)s;
    (void)u;
    fprintf(stderr, "fuzz bconn: h2gate sent an invalid %u frame on stream %d: %s\n",
            frame->hd.type, frame->hd.stream_id, nghttp2_strerror(err));
    abort();
}

static int on_h2_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *u)
{
    (void)s;
    (void)flags;
    (void)u;
    /* A final head after 1xx ones is NGHTTP2_HCAT_HEADERS, like trailers,
     * which have no :status. Pushed streams (even: a backend's Link
     * preload) answer no request of the client's. */
    if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.stream_id & 1) && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3) {
        int status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
        if (status >= 200)
            got_final(status);
    }
    return 0;
}

/* The client's own RST_STREAM or GOAWAY for an error: nghttp2 found
 * h2gate's frames malformed (a response field, a body longer or shorter
 * than its Content-Length, DATA after a HEAD's response). */
static int on_h2_sent(nghttp2_session *s, const nghttp2_frame *frame, void *u)
{
    (void)s;
    (void)u;
    uint32_t code = frame->hd.type == NGHTTP2_RST_STREAM ? frame->rst_stream.error_code
                    : frame->hd.type == NGHTTP2_GOAWAY   ? frame->goaway.error_code
                                                         : NGHTTP2_NO_ERROR;
    if (code != NGHTTP2_NO_ERROR && code != NGHTTP2_CANCEL) {
        fprintf(stderr, "fuzz bconn: the HTTP/2 client sent %s(%s) on stream %d\n",
                frame->hd.type == NGHTTP2_GOAWAY ? "GOAWAY" : "RST_STREAM",
                nghttp2_http2_strerror(code), frame->hd.stream_id);
        abort();
    }
    return 0;
}

static ssize_t h2_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                       uint32_t *flags, nghttp2_data_source *src, void *u)
{
    (void)s;
    (void)id;
    (void)src;
    (void)u;
    size_t n = cl.body_left < len ? cl.body_left : len;
    memset(buf, 'b', n);
    cl.body_left -= n;
    if (!cl.body_left)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0 }

static void h2_request(const char *method, bool body, bool trailers)
{
    nghttp2_nv nva[] = {
        NV(":method", "GET"), NV(":scheme", "http"), NV(":authority", "f"),
        NV(":path", "/a"), NV("te", "trailers"),
    };
    nva[0].value = (uint8_t *)method;
    nva[0].valuelen = strlen(method);
    nghttp2_data_provider prd = { .read_callback = h2_body };
    if (body)
        cl.body_left = 10;
    if (nghttp2_submit_request(cl.session, NULL, nva, trailers ? 5 : 4, body ? &prd : NULL,
                               NULL) < 0)
        abort();
    cl.num_reqs++;
}

static void h2_start(unsigned mode)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        abort();
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_h2_invalid);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_h2_header);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_h2_sent);
    if (nghttp2_session_client_new(&cl.session, cbs, NULL) != 0)
        abort();
    nghttp2_session_callbacks_del(cbs);
    if (nghttp2_submit_settings(cl.session, NGHTTP2_FLAG_NONE, NULL, 0) != 0)
        abort();
    static const char *const methods[] = { "GET", "HEAD", "POST", "GET" };
    h2_request(methods[cl.kind], cl.kind == 2, cl.kind == 3);
    if (mode & 0x08)
        h2_request("GET", false, false);
    h2_flush();
}

/* ----------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rig_init("FUZZ_BCONN_VERBOSE");
    verbose = getenv("FUZZ_BCONN_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[] = { 0, 1, 2, 3, 7, 16, 64, 512 };
    if (size < 2)
        return 0;
    unsigned mode = data[0], when = data[1];
    memset(&cl, 0, sizeof(cl));
    cl.h2 = mode & 0x01;
    cl.kind = (mode >> 1) & 0x03;

    static uint8_t h1_bytes[1024];
    struct rig_input in = {
        .mode = ((when & 0x01) ? RIG_AT_HEAD : 0) | ((when & 0x02) ? RIG_SHUTDOWN : 0),
        .backend = data + 2,
        .backend_len = size - 2,
        .backend_chunk = chunks[mode >> 5],
        .backend_close = mode & 0x10,
        .backend_h2 = when & 0x04,
    };
    struct rig_target t = { .name = "bconn", .backend_strict = true, .backend_raw = true };
    if (cl.h2) {
        /* Its first bytes (preface, SETTINGS, requests) are queued
         * before the run. */
        h2_start(mode);
        t.client_got = h2_got;
    } else {
        in.client = h1_bytes;
        in.client_len = h1_start(h1_bytes, sizeof(h1_bytes), mode);
        t.client_got = h1_got;
    }
    rig_run_input(&t, &in);
    if (cl.session)
        nghttp2_session_del(cl.session);
    if (verbose) {
        fprintf(stderr, "bconn: %s kind %u, %u requests; final statuses:", cl.h2 ? "h2" : "h1",
                cl.kind, cl.num_reqs);
        for (unsigned i = 0; i < cl.num_final && i < 8; i++)
            fprintf(stderr, " %d", cl.statuses[i]);
        fprintf(stderr, "\n");
    }
    return 0;
}
