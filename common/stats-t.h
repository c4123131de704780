/* Per-worker statistics: the one table and the structs it generates.
 *
 * STATS_TABLE below is the single list of metric families. From it come
 * the per-worker block (struct stats, atomics written by one worker), the
 * reader's plain copy (struct stats_snapshot), the summing loop and both
 * renderers (Prometheus text and JSON) in common/stats.c. Adding a metric
 * is one line in the table plus the hook that bumps it in common/stats.h.
 * Model: haproxy include/haproxy/activity-t.h. */
#ifndef H2G_COMMON_STATS_T_H
#define H2G_COMMON_STATS_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_proto {
    STATS_PROTO_H2 = 0, /* h2 over TLS */
    STATS_PROTO_H2C,
    STATS_PROTO_HTTP1,
    STATS_NUM_PROTOS
};

/* Which sockets bytes are counted on: each side is its own family
 * (h2gate_client_bytes_total, h2gate_backend_bytes_total,
 * h2gate_tunnel_target_bytes_total), so no sum() adds one byte twice. */
enum stats_side { STATS_SIDE_CLIENT = 0, STATS_SIDE_BACKEND, STATS_SIDE_TUNNEL, STATS_NUM_SIDES };
enum stats_dir { STATS_DIR_IN = 0, STATS_DIR_OUT, STATS_NUM_DIRS };

/* Response status classes; OTHER is anything outside 100..599. */
enum stats_class {
    STATS_CLASS_1XX = 0,
    STATS_CLASS_2XX,
    STATS_CLASS_3XX,
    STATS_CLASS_4XX,
    STATS_CLASS_5XX,
    STATS_CLASS_OTHER,
    STATS_NUM_CLASSES
};

/* RST_STREAM and GOAWAY frames: sent by h2gate or received from a peer. */
enum stats_frame_dir { STATS_FRAME_SENT = 0, STATS_FRAME_RECEIVED, STATS_NUM_FRAME_DIRS };

/* HTTP/2 error codes 0x0 (NO_ERROR) .. 0xd (HTTP_1_1_REQUIRED), then one
 * slot for every unknown code. */
#define STATS_NUM_H2_CODES 15
#define STATS_H2_CODE_OTHER (STATS_NUM_H2_CODES - 1)

enum stats_tunnel_result {
    STATS_TUNNEL_OPENED = 0,
    STATS_TUNNEL_DENIED,
    STATS_TUNNEL_FAILED,
    STATS_NUM_TUNNEL_RESULTS
};

/* Why a CONNECT got no tunnel (h2gate_tunnel_failures_total{cause}):
 * DNS (no answer, timeout), refused (RST to the SYN), timeout (connect),
 * unreachable (every address failed otherwise, or the target closed
 * before the 200), denied (403: allow list or a resolved address it
 * forbids), auth (407), bad_request (400), limit (503: too many tunnels
 * on the connection). */
enum stats_tunnel_cause {
    STATS_TUNFAIL_DNS = 0,
    STATS_TUNFAIL_REFUSED,
    STATS_TUNFAIL_TIMEOUT,
    STATS_TUNFAIL_UNREACHABLE,
    STATS_TUNFAIL_DENIED,
    STATS_TUNFAIL_AUTH,
    STATS_TUNFAIL_BAD_REQUEST,
    STATS_TUNFAIL_LIMIT,
    STATS_NUM_TUNFAIL
};

/* Client TLS: the version of a completed handshake, and why one failed.
 * not_tls: the first bytes were not a TLS ClientHello (plain HTTP on a
 * TLS port); version, cipher, alpn: nothing in common with the client;
 * certificate: the client's certificate did not verify; peer_alert: the
 * client gave up with an alert (often: it does not trust our
 * certificate; a TLS 1.3 client's alert may come under keys h2gate does not
 * have yet, as a record it cannot decrypt, counted here too); closed: the client closed or reset mid-handshake;
 * timeout: --frontend-read-timeout ran out. */
enum stats_tls_version { STATS_TLS_12 = 0, STATS_TLS_13, STATS_TLS_OTHER, STATS_NUM_TLS_VERSIONS };
enum stats_tls_fail {
    STATS_TLSFAIL_NOT_TLS = 0,
    STATS_TLSFAIL_VERSION,
    STATS_TLSFAIL_CIPHER,
    STATS_TLSFAIL_ALPN,
    STATS_TLSFAIL_CERTIFICATE,
    STATS_TLSFAIL_PEER_ALERT,
    STATS_TLSFAIL_CLOSED,
    STATS_TLSFAIL_TIMEOUT,
    STATS_TLSFAIL_OTHER,
    STATS_NUM_TLSFAIL
};

/* Direction of a finished tunnel's byte totals. */
enum stats_tunnel_dir { STATS_TUNNEL_TO_TARGET = 0, STATS_TUNNEL_TO_CLIENT, STATS_NUM_TUNNEL_DIRS };

/* What became of an HTTP/1.1 Upgrade: websocket request: switched (101
 * relayed), or answered otherwise (the backend's or h2gate's non-101). */
enum stats_ws_result { STATS_WS_OPENED = 0, STATS_WS_REFUSED, STATS_NUM_WS_RESULTS };

/* Direction of WebSocket bytes. */
enum stats_ws_dir { STATS_WS_TO_BACKEND = 0, STATS_WS_TO_CLIENT, STATS_NUM_WS_DIRS };

/* HTTP/2 glitches (proxy/h2abuse.c): frames and events that cost the proxy
 * work and give the client nothing. The last two only ever end a
 * connection: its queued output passed the cap, or nghttp2 itself gave up
 * on the peer (a flood it detects). */
enum stats_glitch {
    STATS_GLITCH_EMPTY_DATA = 0,        /* DATA, no payload, no END_STREAM */
    STATS_GLITCH_EMPTY_CONTINUATION,
    STATS_GLITCH_PING,
    STATS_GLITCH_SETTINGS,
    STATS_GLITCH_WINDOW_UPDATE,         /* increment 0, or on a long-closed stream */
    STATS_GLITCH_CLOSED_STREAM,         /* HEADERS or DATA on a closed stream */
    STATS_GLITCH_PRIORITY,
    STATS_GLITCH_CLIENT_RESET,          /* RST_STREAM from the client */
    STATS_GLITCH_SERVER_RESET,          /* a stream the client's error made us reset */
    STATS_GLITCH_HEADER_BLOCK,          /* a header block over the limits */
    STATS_GLITCH_UNKNOWN_FRAME,
    STATS_GLITCH_OUTPUT_QUEUE,
    STATS_GLITCH_FLOOD,
    STATS_NUM_GLITCHES
};

/* HTTP/2 server push (proxy/h2push.c): a PUSH_PROMISE sent (its pushed
 * stream is an exchange of its own); a pushed stream the client reset
 * before its response was all queued; a preload link not pushed because
 * a bound was reached (per response or per connection). */
enum stats_push_result {
    STATS_PUSH_PROMISED = 0,
    STATS_PUSH_CANCELLED,
    STATS_PUSH_LIMITED,
    STATS_NUM_PUSH_RESULTS
};

/* Histogram buckets: upper bounds 500 us << i for i < STATS_HIST_NUM_FINITE
 * (0.0005 s doubling up to 65.536 s), then +Inf. Observations are kept in
 * whole microseconds so bucket placement is exact integer arithmetic.
 * A LONG_HISTOGRAM has as many buckets with the bounds of
 * stats_long_bounds_s (common/stats.h): 10 ms to 24 h, for tunnels and
 * WebSockets that live for hours. */
#define STATS_HIST_FIRST_BOUND_US 500u
#define STATS_HIST_NUM_FINITE 18
#define STATS_HIST_NUM_BUCKETS (STATS_HIST_NUM_FINITE + 1)

/* Label sets ("dimensions"): X(id, number of cells). A family's cells are
 * a row-major array over its label axes, first axis outermost: PROTO_CLASS
 * cell = proto * STATS_NUM_CLASSES + class. */
#define STATS_DIMS(X)                                               \
    X(NONE, 1)                                                      \
    X(PROTO, STATS_NUM_PROTOS)                                      \
    X(PROTO_CLASS, STATS_NUM_PROTOS * STATS_NUM_CLASSES)            \
    X(CLASS, STATS_NUM_CLASSES)                                     \
    X(DIR, STATS_NUM_DIRS)                                          \
    X(FRAME_CODE, STATS_NUM_FRAME_DIRS * STATS_NUM_H2_CODES)        \
    X(TUNNEL_RESULT, STATS_NUM_TUNNEL_RESULTS)                      \
    X(TUNNEL_DIR, STATS_NUM_TUNNEL_DIRS)                            \
    X(WS_RESULT, STATS_NUM_WS_RESULTS)                              \
    X(WS_DIR, STATS_NUM_WS_DIRS)                                    \
    X(GLITCH, STATS_NUM_GLITCHES)                                   \
    X(TUNFAIL, STATS_NUM_TUNFAIL)                                   \
    X(TLS_VERSION, STATS_NUM_TLS_VERSIONS)                          \
    X(TLSFAIL, STATS_NUM_TLSFAIL)                                   \
    X(PUSH_RESULT, STATS_NUM_PUSH_RESULTS)

enum stats_dim {
#define STATS_DIM_ENUM(id, n) STATS_DIM_##id,
    STATS_DIMS(STATS_DIM_ENUM)
#undef STATS_DIM_ENUM
    STATS_NUM_DIM_KINDS
};

enum {
#define STATS_DIM_LEN(id, n) STATS_DIMLEN_##id = (n),
    STATS_DIMS(STATS_DIM_LEN)
#undef STATS_DIM_LEN
};

/* The table: X(scope, kind, field, dim, name, help).
 *   scope  WORKER: one set of cells per worker block;
 *          BACKEND: one set per backend (label backend="name"), plus one
 *          for "no backend" (label backend="-", shown only when non-zero).
 *   kind   COUNTER (monotonic), GAUGE (per-worker value that goes up and
 *          down, summed over workers), HISTOGRAM (request-scale buckets,
 *          0.5 ms to 65 s), LONG_HISTOGRAM (connection-scale buckets, 10 ms
 *          to a day); a histogram's dim must be NONE.
 * Names are a contract (README, dashboards): never rename a line. */
#define STATS_TABLE(X)                                                                        \
    X(WORKER, GAUGE, workers, NONE, "h2gate_workers",                                         \
      "Worker threads (--workers; by default the CPUs this process may use).")               \
    X(WORKER, COUNTER, conn_accepted, PROTO, "h2gate_connections_accepted_total",             \
      "Client connections accepted, by frontend protocol.")                                   \
    X(WORKER, GAUGE, conn_active, PROTO, "h2gate_connections_active",                         \
      "Client connections open now, by frontend protocol.")                                   \
    X(WORKER, COUNTER, conn_refused, NONE, "h2gate_connections_refused_total",               \
      "Client connections closed at once: the worker had --worker-frontend-connections open.") \
    X(WORKER, COUNTER, accept_errors, NONE, "h2gate_accept_errors_total",                     \
      "accept() failures for lack of descriptors or memory; each pauses the worker's listeners.") \
    X(WORKER, GAUGE, accept_paused, NONE, "h2gate_listeners_paused",                          \
      "Workers not accepting now after such a failure (--listener-disable-timeout).")         \
    X(WORKER, GAUGE, streams_active, NONE, "h2gate_streams_active",                           \
      "Client requests in progress now (HTTP/2 streams and HTTP/1.1 exchanges).")             \
    X(WORKER, COUNTER, requests, PROTO_CLASS, "h2gate_requests_total",                        \
      "Proxied requests answered, by frontend protocol and response status class.")           \
    X(WORKER, COUNTER, client_bytes, DIR, "h2gate_client_bytes_total",                        \
      "Bytes read from (in) and written to (out) client connections.")                        \
    X(WORKER, COUNTER, backend_bytes, DIR, "h2gate_backend_bytes_total",                      \
      "Bytes read from (in) and written to (out) backend connections, WebSockets' included.") \
    X(WORKER, COUNTER, rate_waits, DIR, "h2gate_client_rate_limit_waits_total",               \
      "Times a client connection waited for its --read-rate (in) or --write-rate (out) "     \
      "bucket.")                                                                              \
    X(WORKER, COUNTER, tunnel_target_bytes, DIR, "h2gate_tunnel_target_bytes_total",          \
      "Bytes read from (in) and written to (out) CONNECT targets, as they move.")             \
    X(WORKER, COUNTER, rst_stream, FRAME_CODE, "h2gate_rst_stream_total",                     \
      "HTTP/2 RST_STREAM frames sent and received, by error code.")                           \
    X(WORKER, COUNTER, goaway, FRAME_CODE, "h2gate_goaway_total",                             \
      "HTTP/2 GOAWAY frames sent and received, by error code.")                               \
    X(BACKEND, COUNTER, requests, CLASS, "h2gate_backend_requests_total",                     \
      "Proxied requests answered, by backend and response status class.")                     \
    X(BACKEND, COUNTER, connects, NONE, "h2gate_backend_connects_total",                      \
      "Backend connections established.")                                                     \
    X(BACKEND, COUNTER, connect_failures, NONE, "h2gate_backend_connect_failures_total",      \
      "Backend connection attempts that failed.")                                             \
    X(BACKEND, COUNTER, timeouts, NONE, "h2gate_backend_timeouts_total",                      \
      "Backend connect, read or write timeouts.")                                             \
    X(BACKEND, COUNTER, retries, NONE, "h2gate_backend_retries_total",                        \
      "Requests retried on another backend connection.")                                      \
    X(BACKEND, GAUGE, conns_active, NONE, "h2gate_backend_connections_active",                \
      "Backend connections open now (HTTP/1.1 connections and HTTP/2 sessions).")             \
    X(BACKEND, GAUGE, conns_idle, NONE, "h2gate_backend_connections_idle",                    \
      "Of those, the idle ones: HTTP/1.1 connections in the keep-alive pool, HTTP/2 sessions " \
      "with no stream.")                                                                      \
    X(BACKEND, GAUGE, queue_len, NONE, "h2gate_backend_queue_length",                         \
      "Requests waiting for a free HTTP/2 stream or HTTP/1.1 connection of the member.")     \
    X(BACKEND, COUNTER, queue_overflows, NONE, "h2gate_backend_queue_overflows_total",        \
      "Requests answered 503 by a wait queue: full, or no stream or connection free in time.")\
    X(BACKEND, HISTOGRAM, duration, NONE, "h2gate_backend_request_duration_seconds",          \
      "Time from request head received to exchange finished, by member (no tunnels or "      \
      "WebSockets).")                                                                         \
    X(WORKER, COUNTER, tunnels, TUNNEL_RESULT, "h2gate_tunnels_total",                        \
      "CONNECT tunnels, by result: opened, denied (403/407) or failed (unreachable).")       \
    X(WORKER, GAUGE, tunnels_active, NONE, "h2gate_tunnels_active",                           \
      "CONNECT tunnels open now.")                                                            \
    X(WORKER, COUNTER, tunnel_failures, TUNFAIL, "h2gate_tunnel_failures_total",              \
      "CONNECT requests that got no tunnel, by cause (denied and auth are the 403s and 407s).") \
    X(WORKER, COUNTER, tunnel_bytes, TUNNEL_DIR, "h2gate_tunnel_bytes_total",                 \
      "Bytes carried by closed tunnels, client to target and target to client.")              \
    X(WORKER, COUNTER, websockets, WS_RESULT, "h2gate_websockets_total",                      \
      "WebSocket upgrade requests, by result: opened (101 relayed) or refused (any other answer).") \
    X(WORKER, GAUGE, websockets_active, NONE, "h2gate_websockets_active",                     \
      "WebSockets open now.")                                                                 \
    X(WORKER, COUNTER, websocket_bytes, WS_DIR, "h2gate_websocket_bytes_total",               \
      "Bytes carried by WebSockets after the 101, client to backend and backend to client.")  \
    X(WORKER, COUNTER, h2_glitches, GLITCH, "h2gate_http2_glitches_total",                   \
      "Frames and events on client HTTP/2 connections that cost work and give nothing.")      \
    X(WORKER, COUNTER, h2_abuse_closes, GLITCH, "h2gate_http2_abuse_closes_total",            \
      "Client HTTP/2 connections closed for abuse, by the kind that tipped it.")             \
    X(WORKER, GAUGE, h2_session_mem, NONE, "h2gate_http2_session_bytes",                     \
      "Heap bytes libnghttp2 holds now for client HTTP/2 sessions (counted by h2gate's "     \
      "nghttp2_mem allocator).")                                                              \
    X(WORKER, COUNTER, h2_pushes, PUSH_RESULT, "h2gate_http2_pushes_total",                  \
      "HTTP/2 server pushes from backends' Link preload fields: promised (PUSH_PROMISE "     \
      "sent), cancelled (reset by the client), limited (not pushed: a bound was reached).")  \
    X(WORKER, COUNTER, tls_handshakes, TLS_VERSION, "h2gate_tls_handshakes_total",            \
      "Client TLS handshakes completed, by protocol version.")                                \
    X(WORKER, COUNTER, tls_failures, TLSFAIL, "h2gate_tls_handshake_failures_total",          \
      "Client TLS handshakes that failed, by reason.")                                        \
    X(WORKER, COUNTER, tls_resumed, NONE, "h2gate_tls_resumptions_total",                     \
      "Client TLS handshakes that resumed a session (ticket or session ID).")                 \
    X(WORKER, COUNTER, dns_lookups, NONE, "h2gate_dns_lookups_total",                         \
      "CONNECT target names looked up (asked of the cache or the resolver).")                 \
    X(WORKER, COUNTER, dns_cache_hits, NONE, "h2gate_dns_cache_hits_total",                   \
      "Of those, answered from the cache (--dns-cache-timeout).")                             \
    X(WORKER, COUNTER, dns_failures, NONE, "h2gate_dns_failures_total",                       \
      "Of those, failed: no such name, no address, server failure or timeout.")               \
    X(WORKER, COUNTER, io_collect_polls, NONE, "h2gate_io_collect_polls_total",               \
      "Polls a worker made while waiting between polls to gather ready sockets "           \
      "(--io-collect-interval).")                                                             \
    X(WORKER, COUNTER, alog_dropped, NONE, "h2gate_accesslog_lines_dropped_total",            \
      "Access log lines lost: the file, pipe or syslog socket did not take them in time.")   \
    X(WORKER, HISTOGRAM, request_duration, NONE, "h2gate_request_duration_seconds",           \
      "Time from request head received to exchange finished (no tunnels or WebSockets).")     \
    X(WORKER, HISTOGRAM, ttfb, NONE, "h2gate_time_to_first_byte_seconds",                     \
      "Time from request head received to response head sent to the client.")                 \
    X(WORKER, HISTOGRAM, backend_connect_time, NONE, "h2gate_backend_connect_duration_seconds", \
      "Time to establish a backend connection (TCP and TLS).")                                \
    X(WORKER, LONG_HISTOGRAM, tunnel_duration, NONE, "h2gate_tunnel_duration_seconds",        \
      "Lifetime of closed CONNECT tunnels.")                                                  \
    X(WORKER, LONG_HISTOGRAM, websocket_duration, NONE, "h2gate_websocket_duration_seconds",  \
      "Lifetime of closed WebSockets, from the 101.")

/* Histogram cells in a worker block: non-cumulative bucket counts, then
 * the sum of observations in microseconds. The count is the sum of the
 * buckets, so a reader can never see a count that disagrees with them. */
struct stats_hist {
    _Atomic uint64_t buckets[STATS_HIST_NUM_BUCKETS];
    _Atomic uint64_t sum_us;
};

/* The same, plain, in a snapshot (same cell layout as struct stats_hist). */
struct stats_hist_snap {
    uint64_t buckets[STATS_HIST_NUM_BUCKETS];
    uint64_t sum_us;
};

/* Member generators: a table line becomes a member of the struct for its
 * scope and nothing in the other. */
#define STATS_CELLS_COUNTER(f, d) _Atomic uint64_t f[STATS_DIMLEN_##d];
#define STATS_CELLS_GAUGE(f, d) _Atomic uint64_t f[STATS_DIMLEN_##d];
#define STATS_CELLS_HISTOGRAM(f, d) struct stats_hist f;
#define STATS_CELLS_LONG_HISTOGRAM(f, d) struct stats_hist f;
#define STATS_PLAIN_COUNTER(f, d) uint64_t f[STATS_DIMLEN_##d];
#define STATS_PLAIN_GAUGE(f, d) uint64_t f[STATS_DIMLEN_##d];
#define STATS_PLAIN_HISTOGRAM(f, d) struct stats_hist_snap f;
#define STATS_PLAIN_LONG_HISTOGRAM(f, d) struct stats_hist_snap f;
#define STATS_IN_WORKER_WORKER(m, k, f, d) m##_##k(f, d)
#define STATS_IN_WORKER_BACKEND(m, k, f, d)
#define STATS_IN_BACKEND_WORKER(m, k, f, d)
#define STATS_IN_BACKEND_BACKEND(m, k, f, d) m##_##k(f, d)
#define STATS_MEMBER_WORKER(scope, kind, f, d, name, help) \
    STATS_IN_WORKER_##scope(STATS_CELLS, kind, f, d)
#define STATS_MEMBER_BACKEND(scope, kind, f, d, name, help) \
    STATS_IN_BACKEND_##scope(STATS_CELLS, kind, f, d)
#define STATS_SNAP_MEMBER_WORKER(scope, kind, f, d, name, help) \
    STATS_IN_WORKER_##scope(STATS_PLAIN, kind, f, d)
#define STATS_SNAP_MEMBER_BACKEND(scope, kind, f, d, name, help) \
    STATS_IN_BACKEND_##scope(STATS_PLAIN, kind, f, d)

/* One backend's cells in a worker block. */
struct stats_backend {
    STATS_TABLE(STATS_MEMBER_BACKEND)
};

/* One worker's block. Only its worker writes it (relaxed load, then
 * relaxed store of the new value: no read-modify-write, no lock); any
 * thread may read it with relaxed loads. It starts on a cache line and
 * spans whole lines, so no other thread's data shares its lines. */
/* Backend cells come in chunks of STATS_CHUNK slots, so the block can
 * grow (a reload adds backends) while its worker writes and the admin
 * reads: chunks are only ever added, by stats_grow() on the main thread,
 * before the worker is given a configuration that uses them. */
#define STATS_CHUNK 64
#define STATS_MAX_CHUNKS 256 /* 16384 backend slots */

struct stats {
    _Alignas(64) void *alloc; /* what the allocator returned (block is aligned inside) */
    _Atomic size_t num_backends; /* slots with cells: a multiple of STATS_CHUNK */
    STATS_TABLE(STATS_MEMBER_WORKER)
    struct stats_backend none;   /* events with no backend */
    struct stats_backend *_Atomic chunks[STATS_MAX_CHUNKS];
};

struct stats_backend_snapshot {
    STATS_TABLE(STATS_SNAP_MEMBER_BACKEND)
};

/* Plain sum of worker blocks; see stats_snapshot_init() and stats_sum(). */
/* The main thread's configuration history, filled by the admin after
 * stats_sum(); rendered when generation > 0. */
struct stats_config {
    uint64_t generation;
    uint64_t reloads;
    uint64_t reload_failures;
    uint64_t last_reload_s;     /* Unix time of the start or the last good reload */
    uint64_t generations_alive; /* the current one plus old ones still in use */
};

/* A per-backend family kept outside the worker blocks (backend health),
 * filled by the admin after stats_sum(): values has num_backends entries
 * (borrowed until rendered). */
struct stats_backend_extra {
    const char *name, *type, *help;  /* type: "gauge" or "counter" */
    const uint64_t *values;
};
#define STATS_MAX_EXTRA 4

/* The process as the standard Prometheus process collector names it,
 * filled by the admin after stats_sum() (rendered when set). */
struct stats_process {
    bool set;
    double start_time_s;        /* Unix time */
    double cpu_seconds;         /* user + system */
    uint64_t resident_bytes, virtual_bytes;
    uint64_t open_fds, max_fds;
};

/* A server certificate of the running configuration, for
 * h2gate_tls_certificate_not_after_seconds: label (its subject, or its
 * file) borrowed until rendered. */
struct stats_cert {
    const char *label;
    int64_t not_after;          /* Unix time */
};

struct stats_snapshot {
    size_t num_backends;
    struct stats_config config;
    const struct stats_cert *certs; /* filled by the admin; may be NULL */
    size_t num_certs;
    struct stats_process process;
    struct stats_backend_extra extra[STATS_MAX_EXTRA];
    size_t num_extra;
    STATS_TABLE(STATS_SNAP_MEMBER_WORKER)
    /* num_backends + 1 entries; the last counts events with no backend */
    struct stats_backend_snapshot *backends;
};

#endif
