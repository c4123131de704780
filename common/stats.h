/* Statistics without locks: each worker owns one struct stats block and is
 * its only writer; readers (the admin listener on the main thread) sum all
 * blocks with relaxed loads and render the sum. No mutex and no atomic
 * read-modify-write on the data path; reading never stops a worker.
 *
 * Exported metrics (Prometheus names; /stats uses the same names as JSON
 * keys). Label values:
 *   protocol      h2 (h2 over TLS), h2c, http/1.1
 *   status_class  1xx 2xx 3xx 4xx 5xx other (other: status outside 100..599)
 *   direction     client/backend/tunnel_target_bytes_total: in (read by
 *                 h2gate), out (written);
 *                 rst_stream/goaway: sent, received;
 *                 tunnel_bytes_total: to_target, to_client;
 *                 websocket_bytes_total: to_backend, to_client
 *   error_code    NO_ERROR PROTOCOL_ERROR INTERNAL_ERROR FLOW_CONTROL_ERROR
 *                 SETTINGS_TIMEOUT STREAM_CLOSED FRAME_SIZE_ERROR
 *                 REFUSED_STREAM CANCEL COMPRESSION_ERROR CONNECT_ERROR
 *                 ENHANCE_YOUR_CALM INADEQUATE_SECURITY HTTP_1_1_REQUIRED
 *                 OTHER (any other code)
 *   backend       the backend's configured name; "-" gathers events with
 *                 no backend (e.g. requests answered 404 before routing)
 *                 and appears only once it is non-zero
 *   result        tunnels: opened, denied (403 or 407), failed;
 *                 websockets: opened (101 relayed), refused (any other answer);
 *                 http2_pushes: promised, cancelled, limited
 *   kind          empty_data empty_continuation ping settings window_update
 *                 closed_stream priority client_reset server_reset
 *                 header_block unknown_frame output_queue flood
 *                 (see enum stats_glitch and proxy/h2abuse.h)
 *   cause         dns refused timeout unreachable denied auth bad_request
 *                 limit (enum stats_tunnel_cause)
 *   version       TLSv1.2 TLSv1.3 other; h2gate_build_info: H2G_VERSION
 *   reason        not_tls version cipher alpn certificate peer_alert closed
 *                 timeout other (enum stats_tls_fail)
 *
 *   h2gate_workers                                        gauge (1 per worker)
 *   h2gate_connections_accepted_total{protocol}           counter
 *   h2gate_connections_active{protocol}                   gauge
 *   h2gate_connections_refused_total                      counter
 *   h2gate_accept_errors_total                            counter
 *   h2gate_listeners_paused                               gauge (workers)
 *   h2gate_streams_active                                 gauge
 *   h2gate_requests_total{protocol,status_class}          counter
 *   h2gate_client_bytes_total{direction}                  counter
 *   h2gate_backend_bytes_total{direction}                 counter
 *   h2gate_tunnel_target_bytes_total{direction}           counter
 *   h2gate_rst_stream_total{direction,error_code}         counter
 *   h2gate_goaway_total{direction,error_code}             counter
 *   h2gate_backend_requests_total{backend,status_class}   counter
 *   h2gate_backend_connects_total{backend}                counter
 *   h2gate_backend_connect_failures_total{backend}        counter
 *   h2gate_backend_timeouts_total{backend}                counter
 *   h2gate_backend_retries_total{backend}                 counter
 *   h2gate_backend_connections_active{backend}            gauge
 *   h2gate_backend_connections_idle{backend}              gauge
 *   h2gate_backend_queue_length{backend}                  gauge
 *   h2gate_backend_queue_overflows_total{backend}         counter
 *   h2gate_backend_request_duration_seconds{backend}      histogram
 *   h2gate_tunnels_total{result}                          counter
 *   h2gate_tunnels_active                                 gauge
 *   h2gate_tunnel_failures_total{cause}                   counter
 *   h2gate_tunnel_bytes_total{direction}                  counter (at tunnel close)
 *   h2gate_websockets_total{result}                       counter
 *   h2gate_websockets_active                              gauge
 *   h2gate_websocket_bytes_total{direction}               counter (as bytes move)
 *   h2gate_http2_glitches_total{kind}                     counter
 *   h2gate_http2_abuse_closes_total{kind}                 counter
 *   h2gate_http2_session_bytes                            gauge
 *   h2gate_http2_pushes_total{result}                     counter
 *   h2gate_tls_handshakes_total{version}                  counter
 *   h2gate_tls_handshake_failures_total{reason}           counter
 *   h2gate_tls_resumptions_total                          counter
 *   h2gate_dns_lookups_total, _cache_hits_total, _failures_total  counter
 *   h2gate_accesslog_lines_dropped_total                  counter
 *   h2gate_request_duration_seconds                       histogram
 *   h2gate_time_to_first_byte_seconds                     histogram
 *   h2gate_backend_connect_duration_seconds               histogram
 *   h2gate_tunnel_duration_seconds                        histogram (long)
 *   h2gate_websocket_duration_seconds                     histogram (long)
 * then (filled by the admin) h2gate_config_*, h2gate_backend_up and the
 * health check counters, h2gate_build_info{version} and process_*.
 * Histogram buckets (le, seconds): 0.0005 0.001 0.002 ... 32.768 65.536
 * +Inf (doubling); long ones 0.01 0.1 1 5 10 30 60 ... 43200 86400 +Inf;
 * with _bucket (cumulative), _sum and _count series.
 * Admin requests are never counted. */
#ifndef H2G_COMMON_STATS_H
#define H2G_COMMON_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "common/stats-t.h"

/* Returns a zeroed block with per-backend cells for at least num_backends
 * backends (slots 0..num_backends-1). Never NULL. Free with stats_free()
 * only after every reader is done with it. */
struct stats *stats_new(size_t num_backends);
/* Adds cells up to at least num_backends slots (at most STATS_MAX_CHUNKS *
 * STATS_CHUNK: 0 when done, H2G_ERR_INVAL past that). Called on the
 * thread that reads the block (main), never while another thread grows
 * it; the worker may write existing cells meanwhile. */
int stats_grow(struct stats *s, size_t num_backends);
void stats_free(struct stats *s);
/* Zeroes backend slot's cells (main thread): its member was removed and
 * nothing writes them any more (config/registry.h's invariant), so the
 * next member on the slot starts its counters at 0. */
void stats_clear_backend(struct stats *s, size_t slot);

/* ---- writer side: inline hooks, called only by the block's worker ----
 * Every hook accepts s == NULL (does nothing), so objects built without a
 * worker (unit tests) need no block. Out-of-range enum values are ignored;
 * out-of-range backend indexes (including -1) count as "no backend". */

/* The single-writer increment: a relaxed load and a relaxed store of the
 * new value. Never fetch_add: no other thread writes this cell, and a
 * locked instruction per event is what this design exists to avoid. */
static inline void stats_cell_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void stats_cell_sub(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - n,
                          memory_order_relaxed);
}

/* Whole microseconds in seconds_, clamped to [0, 2^53); NaN gives 0. */
static inline uint64_t stats_seconds_to_us(double seconds)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > 9.0e9)
        return (uint64_t)9.0e15;
    return (uint64_t)(seconds * 1e6 + 0.5);
}

/* Bucket index for an observation of us microseconds: the first i with
 * us <= 500 << i, or STATS_HIST_NUM_FINITE (+Inf). */
static inline unsigned stats_hist_bucket(uint64_t us)
{
    uint64_t q = (us + STATS_HIST_FIRST_BOUND_US - 1) / STATS_HIST_FIRST_BOUND_US;
    if (q <= 1)
        return 0;
    unsigned i = 64u - (unsigned)__builtin_clzll(q - 1);
    return i < STATS_HIST_NUM_FINITE ? i : STATS_HIST_NUM_FINITE;
}

static inline void stats_hist_observe(struct stats_hist *h, double seconds)
{
    uint64_t us = stats_seconds_to_us(seconds);
    stats_cell_add(&h->buckets[stats_hist_bucket(us)], 1);
    stats_cell_add(&h->sum_us, us);
}

/* Upper bound of finite bucket i (< STATS_HIST_NUM_FINITE) of a
 * LONG_HISTOGRAM, in us: 10 ms, 100 ms, 1 s, 5 s ... 12 h, 24 h. */
static inline uint64_t stats_long_bound_us(unsigned i)
{
    static const uint32_t bound_s100[STATS_HIST_NUM_FINITE] = {
        1, 10, 100, 500, 1000, 3000, 6000, 12000, 30000, 60000, 120000, 180000,
        360000, 720000, 1440000, 2880000, 4320000, 8640000,
    };
    return (uint64_t)bound_s100[i] * 10000u;
}

/* The same for a LONG_HISTOGRAM (tunnel and WebSocket lifetimes: rare
 * events, so a scan of the bounds is cheap enough). */
static inline void stats_long_observe(struct stats_hist *h, double seconds)
{
    uint64_t us = stats_seconds_to_us(seconds);
    unsigned i = 0;
    while (i < STATS_HIST_NUM_FINITE && us > stats_long_bound_us(i))
        i++;
    stats_cell_add(&h->buckets[i], 1);
    stats_cell_add(&h->sum_us, us);
}

static inline enum stats_class stats_status_class(int status)
{
    if (status < 100 || status > 599)
        return STATS_CLASS_OTHER;
    return (enum stats_class)(status / 100 - 1);
}

/* The backend cells for backend_index, or the "no backend" cells. */
static inline struct stats_backend *stats_backend_cells(struct stats *s, long backend_index)
{
    size_t n = atomic_load_explicit(&s->num_backends, memory_order_acquire);
    if (backend_index < 0 || (size_t)backend_index >= n)
        return &s->none;
    size_t i = (size_t)backend_index;
    struct stats_backend *chunk =
        atomic_load_explicit(&s->chunks[i / STATS_CHUNK], memory_order_relaxed);
    return &chunk[i % STATS_CHUNK];
}

/* A client connection was accepted and its protocol is known. */
static inline void stats_conn_opened(struct stats *s, enum stats_proto p)
{
    if (!s || (unsigned)p >= STATS_NUM_PROTOS)
        return;
    stats_cell_add(&s->conn_accepted[p], 1);
    stats_cell_add(&s->conn_active[p], 1);
}

/* A client connection counted by stats_conn_opened(s, p) closed. */
static inline void stats_conn_closed(struct stats *s, enum stats_proto p)
{
    if (!s || (unsigned)p >= STATS_NUM_PROTOS)
        return;
    stats_cell_sub(&s->conn_active[p], 1);
}

/* A client connection was accepted and closed at once (worker at its
 * --worker-frontend-connections). */
/* A client connection waits for its --read-rate (in) or --write-rate
 * (out) bucket. */
static inline void stats_rate_wait(struct stats *s, enum stats_dir dir)
{
    if (s)
        stats_cell_add(&s->rate_waits[dir], 1);
}

static inline void stats_conn_refused(struct stats *s)
{
    if (s)
        stats_cell_add(&s->conn_refused[0], 1);
}

/* accept() failed for lack of descriptors or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM). */
static inline void stats_accept_error(struct stats *s)
{
    if (s)
        stats_cell_add(&s->accept_errors[0], 1);
}

/* The block belongs to a worker thread (set once, at its start): the
 * sum over blocks is the number of workers. */
static inline void stats_worker_started(struct stats *s)
{
    if (s)
        stats_cell_add(&s->workers[0], 1);
}

/* The worker stopped its listeners after such a failure (paused), or
 * started them again (!paused). */
static inline void stats_accept_paused(struct stats *s, bool paused)
{
    if (!s)
        return;
    if (paused)
        stats_cell_add(&s->accept_paused[0], 1);
    else
        stats_cell_sub(&s->accept_paused[0], 1);
}

static inline void stats_stream_opened(struct stats *s)
{
    if (s)
        stats_cell_add(&s->streams_active[0], 1);
}

static inline void stats_stream_closed(struct stats *s)
{
    if (s)
        stats_cell_sub(&s->streams_active[0], 1);
}

/* A proxied request finished with status (0 or out of range: class
 * "other"). duration_s: request head received to exchange finished; not
 * observed for a tunnel (a CONNECT or a WebSocket that opened: their
 * lifetimes have their own histograms). ttfb_s: request head received to
 * response head sent; < 0 if unknown (not observed). */
static inline void stats_request_done(struct stats *s, enum stats_proto p, int status,
                                      long backend_index, bool tunnel, double duration_s,
                                      double ttfb_s)
{
    if (!s || (unsigned)p >= STATS_NUM_PROTOS)
        return;
    enum stats_class c = stats_status_class(status);
    struct stats_backend *b = stats_backend_cells(s, backend_index);
    stats_cell_add(&s->requests[p * STATS_NUM_CLASSES + c], 1);
    stats_cell_add(&b->requests[c], 1);
    if (!tunnel) {
        stats_hist_observe(&s->request_duration, duration_s);
        stats_hist_observe(&b->duration, duration_s);
    }
    if (ttfb_s >= 0)
        stats_hist_observe(&s->ttfb, ttfb_s);
}

/* n bytes read (IN) or written (OUT) on a socket of the given side. */
static inline void stats_bytes(struct stats *s, enum stats_side side, enum stats_dir dir,
                               uint64_t n)
{
    if (!s || (unsigned)dir >= STATS_NUM_DIRS)
        return;
    _Atomic uint64_t *c = side == STATS_SIDE_CLIENT    ? s->client_bytes
                          : side == STATS_SIDE_BACKEND ? s->backend_bytes
                          : side == STATS_SIDE_TUNNEL  ? s->tunnel_target_bytes
                                                       : NULL;
    if (c)
        stats_cell_add(&c[dir], n);
}

static inline unsigned stats_h2_code_slot(uint32_t code)
{
    return code < STATS_H2_CODE_OTHER ? (unsigned)code : STATS_H2_CODE_OTHER;
}

/* An RST_STREAM frame was sent (sent) or received (!sent). */
static inline void stats_rst(struct stats *s, bool sent, uint32_t h2_error_code)
{
    if (!s)
        return;
    unsigned d = sent ? STATS_FRAME_SENT : STATS_FRAME_RECEIVED;
    stats_cell_add(&s->rst_stream[d * STATS_NUM_H2_CODES + stats_h2_code_slot(h2_error_code)], 1);
}

static inline void stats_goaway(struct stats *s, bool sent, uint32_t h2_error_code)
{
    if (!s)
        return;
    unsigned d = sent ? STATS_FRAME_SENT : STATS_FRAME_RECEIVED;
    stats_cell_add(&s->goaway[d * STATS_NUM_H2_CODES + stats_h2_code_slot(h2_error_code)], 1);
}

/* A backend connection was established after connect_time_s. */
static inline void stats_backend_connect(struct stats *s, long backend_index,
                                         double connect_time_s)
{
    if (!s)
        return;
    stats_cell_add(&stats_backend_cells(s, backend_index)->connects[0], 1);
    stats_hist_observe(&s->backend_connect_time, connect_time_s);
}

static inline void stats_backend_connect_failure(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_add(&stats_backend_cells(s, backend_index)->connect_failures[0], 1);
}

static inline void stats_backend_timeout(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_add(&stats_backend_cells(s, backend_index)->timeouts[0], 1);
}

static inline void stats_backend_retry(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_add(&stats_backend_cells(s, backend_index)->retries[0], 1);
}

/* A backend connection (HTTP/1.1) or session (HTTP/2) of the member
 * opened / closed. */
static inline void stats_backend_conn_opened(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_add(stats_backend_cells(s, backend_index)->conns_active, 1);
}

static inline void stats_backend_conn_closed(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_sub(stats_backend_cells(s, backend_index)->conns_active, 1);
}

/* One of the member's open connections became idle (idle) or busy again
 * (!idle); a connection closes busy, so the caller ends idleness first. */
static inline void stats_backend_idle(struct stats *s, long backend_index, bool idle)
{
    if (!s)
        return;
    _Atomic uint64_t *c = stats_backend_cells(s, backend_index)->conns_idle;
    if (idle)
        stats_cell_add(c, 1);
    else
        stats_cell_sub(c, 1);
}

/* A request joined (in) or left (!in) the member's HTTP/2 wait queue. */
static inline void stats_backend_queue(struct stats *s, long backend_index, bool in)
{
    if (!s)
        return;
    _Atomic uint64_t *c = stats_backend_cells(s, backend_index)->queue_len;
    if (in)
        stats_cell_add(c, 1);
    else
        stats_cell_sub(c, 1);
}

/* The wait queue answered a request 503 (full, or no stream in time). */
static inline void stats_backend_queue_overflow(struct stats *s, long backend_index)
{
    if (s)
        stats_cell_add(stats_backend_cells(s, backend_index)->queue_overflows, 1);
}

/* A tunnel opened (target connected, 200 sent): opened++ and active++. */
static inline void stats_tunnel_opened(struct stats *s)
{
    if (!s)
        return;
    stats_cell_add(&s->tunnels[STATS_TUNNEL_OPENED], 1);
    stats_cell_add(&s->tunnels_active[0], 1);
}

/* A CONNECT got no tunnel: h2gate_tunnels_total{result="denied"} for the
 * 403s and 407s, "failed" for the rest, and the cause. */
static inline void stats_tunnel_refused(struct stats *s, enum stats_tunnel_cause cause)
{
    if (!s || (unsigned)cause >= STATS_NUM_TUNFAIL)
        return;
    bool denied = cause == STATS_TUNFAIL_DENIED || cause == STATS_TUNFAIL_AUTH;
    stats_cell_add(&s->tunnels[denied ? STATS_TUNNEL_DENIED : STATS_TUNNEL_FAILED], 1);
    stats_cell_add(&s->tunnel_failures[cause], 1);
}

/* A client TLS handshake completed with this version, resumed or not. */
static inline void stats_tls_handshake(struct stats *s, enum stats_tls_version v, bool resumed)
{
    if (!s || (unsigned)v >= STATS_NUM_TLS_VERSIONS)
        return;
    stats_cell_add(&s->tls_handshakes[v], 1);
    if (resumed)
        stats_cell_add(s->tls_resumed, 1);
}

/* A client TLS handshake failed. */
static inline void stats_tls_failed(struct stats *s, enum stats_tls_fail why)
{
    if (s && (unsigned)why < STATS_NUM_TLSFAIL)
        stats_cell_add(&s->tls_failures[why], 1);
}

/* A CONNECT target name (not an IP literal) was looked up; hit: the
 * cache answered. */
static inline void stats_dns_lookup(struct stats *s, bool hit)
{
    if (!s)
        return;
    stats_cell_add(s->dns_lookups, 1);
    if (hit)
        stats_cell_add(s->dns_cache_hits, 1);
}

/* Such a lookup gave no address (any error, a cached negative answer
 * included). */
static inline void stats_dns_failure(struct stats *s)
{
    if (s)
        stats_cell_add(s->dns_failures, 1);
}

/* A tunnel counted by stats_tunnel_opened() closed: active--, its lifetime
 * into the duration histogram, its totals into h2gate_tunnel_bytes_total
 * (bytes_up: client to target; bytes_down: target to client). The live
 * h2gate_bytes_total{side="tunnel"} comes from stats_bytes() instead. */
static inline void stats_tunnel_closed(struct stats *s, double duration_s, uint64_t bytes_up,
                                       uint64_t bytes_down)
{
    if (!s)
        return;
    stats_cell_sub(&s->tunnels_active[0], 1);
    stats_long_observe(&s->tunnel_duration, duration_s);
    stats_cell_add(&s->tunnel_bytes[STATS_TUNNEL_TO_TARGET], bytes_up);
    stats_cell_add(&s->tunnel_bytes[STATS_TUNNEL_TO_CLIENT], bytes_down);
}

/* A WebSocket upgrade was answered 101: opened++ and active++. */
static inline void stats_ws_opened(struct stats *s)
{
    if (!s)
        return;
    stats_cell_add(&s->websockets[STATS_WS_OPENED], 1);
    stats_cell_add(&s->websockets_active[0], 1);
}

/* A WebSocket upgrade request got another answer (the backend's or
 * h2gate's own). */
static inline void stats_ws_refused(struct stats *s)
{
    if (s)
        stats_cell_add(&s->websockets[STATS_WS_REFUSED], 1);
}

/* n bytes moved through an open WebSocket in direction dir. */
static inline void stats_ws_bytes(struct stats *s, enum stats_ws_dir dir, uint64_t n)
{
    if (s && (unsigned)dir < STATS_NUM_WS_DIRS && n)
        stats_cell_add(&s->websocket_bytes[dir], n);
}

/* A WebSocket counted by stats_ws_opened() closed: active--, its lifetime
 * into the duration histogram. */
static inline void stats_ws_closed(struct stats *s, double duration_s)
{
    if (!s)
        return;
    stats_cell_sub(&s->websockets_active[0], 1);
    stats_long_observe(&s->websocket_duration, duration_s);
}

/* A client HTTP/2 connection committed a glitch of this kind. */
static inline void stats_glitch(struct stats *s, enum stats_glitch kind)
{
    if (s && (unsigned)kind < STATS_NUM_GLITCHES)
        stats_cell_add(&s->h2_glitches[kind], 1);
}

/* A client HTTP/2 connection is being closed for abuse; kind tipped it. */
static inline void stats_abuse_close(struct stats *s, enum stats_glitch kind)
{
    if (s && (unsigned)kind < STATS_NUM_GLITCHES)
        stats_cell_add(&s->h2_abuse_closes[kind], 1);
}

/* A server push event (enum stats_push_result). */
static inline void stats_push(struct stats *s, enum stats_push_result r)
{
    if (s && (unsigned)r < STATS_NUM_PUSH_RESULTS)
        stats_cell_add(&s->h2_pushes[r], 1);
}

/* The kind's label value ("empty_data", ...); "?" when out of range. */
const char *stats_glitch_name(enum stats_glitch kind);

/* A worker polled with --io-collect-interval's wait on. */
static inline void stats_io_collect_poll(struct stats *s)
{
    if (s)
        stats_cell_add(&s->io_collect_polls[0], 1);
}

/* The worker's access log writer has lost total lines so far (a running
 * total the writer keeps: stored, not added). */
static inline void stats_alog_dropped(struct stats *s, uint64_t total)
{
    if (s)
        atomic_store_explicit(s->alog_dropped, total, memory_order_relaxed);
}

/* ---- reader side: any thread ---- */

/* Prepares an empty snapshot for blocks made with stats_new(num_backends).
 * stats_snapshot_cleanup() frees what it allocated. */
void stats_snapshot_init(struct stats_snapshot *out, size_t num_backends);
void stats_snapshot_cleanup(struct stats_snapshot *out);

/* Overwrites out with the sum of the n worker blocks, each read with
 * relaxed loads while its worker keeps running. Each cell of the result
 * is at least the value the previous call saw for a counter. Blocks and
 * out should agree on num_backends; backends beyond the smaller count are
 * skipped. */
void stats_sum(struct stats *const *workers, size_t n, struct stats_snapshot *out);

/* Observations in a snapshot histogram (the sum of its buckets). */
uint64_t stats_hist_count(const struct stats_hist_snap *h);

/* Upper bound of finite bucket i (< STATS_HIST_NUM_FINITE), in us. */
static inline uint64_t stats_hist_bound_us(unsigned i)
{
    return (uint64_t)STATS_HIST_FIRST_BOUND_US << i;
}

/* Appends s in the Prometheus text exposition format 0.0.4 to out.
 * backend_names[i] labels backend i (num_backends entries, borrowed; a
 * NULL array or entry is rendered as the index). */
void stats_render_prometheus(const struct stats_snapshot *s, const char *const *backend_names,
                             struct bufq *out);

/* Appends the same numbers as one JSON object (keys are the Prometheus
 * family names; labelled families are objects nested in label order;
 * histograms are {"buckets": {le: cumulative count}, "sum": s,
 * "count": n}), followed by a newline. */
void stats_render_json(const struct stats_snapshot *s, const char *const *backend_names,
                       struct bufq *out);

#endif
