/* PLACEHOLDER written by the lead so the tree builds: helper-4 replaces
 * this whole file (and adds stats.c) with the real implementation of the
 * same API. Do not build on it. */
#ifndef H2G_COMMON_STATS_H
#define H2G_COMMON_STATS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
enum stats_proto { STATS_PROTO_H2 = 0, STATS_PROTO_H2C, STATS_PROTO_HTTP1, STATS_NUM_PROTOS };
enum stats_side { STATS_SIDE_CLIENT = 0, STATS_SIDE_BACKEND, STATS_SIDE_TUNNEL, STATS_NUM_SIDES };
enum stats_dir { STATS_DIR_IN = 0, STATS_DIR_OUT, STATS_NUM_DIRS };
struct stats { int unused; };
static inline struct stats *stats_new(size_t n) { (void)n; return calloc(1, sizeof(struct stats)); }
static inline void stats_free(struct stats *s) { free(s); }
static inline void stats_conn_opened(struct stats *s, enum stats_proto p) { (void)s; (void)p; }
static inline void stats_conn_closed(struct stats *s, enum stats_proto p) { (void)s; (void)p; }
static inline void stats_stream_opened(struct stats *s) { (void)s; }
static inline void stats_stream_closed(struct stats *s) { (void)s; }
static inline void stats_request_done(struct stats *s, enum stats_proto p, int status, long backend_index, double duration_s, double ttfb_s) { (void)s; (void)p; (void)status; (void)backend_index; (void)duration_s; (void)ttfb_s; }
static inline void stats_bytes(struct stats *s, enum stats_side side, enum stats_dir dir, uint64_t n) { (void)s; (void)side; (void)dir; (void)n; }
static inline void stats_rst(struct stats *s, bool sent, uint32_t code) { (void)s; (void)sent; (void)code; }
static inline void stats_goaway(struct stats *s, bool sent, uint32_t code) { (void)s; (void)sent; (void)code; }
static inline void stats_backend_connect(struct stats *s, long backend_index, double t) { (void)s; (void)backend_index; (void)t; }
static inline void stats_backend_connect_failure(struct stats *s, long backend_index) { (void)s; (void)backend_index; }
static inline void stats_backend_timeout(struct stats *s, long backend_index) { (void)s; (void)backend_index; }
static inline void stats_backend_retry(struct stats *s, long backend_index) { (void)s; (void)backend_index; }
static inline void stats_backend_conn_opened(struct stats *s) { (void)s; }
static inline void stats_backend_conn_closed(struct stats *s) { (void)s; }
static inline void stats_tunnel_opened(struct stats *s) { (void)s; }
static inline void stats_tunnel_denied(struct stats *s) { (void)s; }
static inline void stats_tunnel_failed(struct stats *s) { (void)s; }
static inline void stats_tunnel_closed(struct stats *s, double duration_s, uint64_t up, uint64_t down) { (void)s; (void)duration_s; (void)up; (void)down; }
#endif
