#include "common/stats.h"

#include <inttypes.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/version.h"
#include "common/xalloc.h"

enum scope { SCOPE_WORKER, SCOPE_BACKEND };
/* LONG_HISTOGRAM: a histogram with connection-scale bounds. */
enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_LONG_HISTOGRAM };

/* One axis of a label set: its label name and the value of each index. */
struct axis {
    const char *label;
    const char *const *values;
    size_t num;
};

struct dim_info {
    size_t num_axes;
    struct axis axes[2];
};

static const char *const proto_names[STATS_NUM_PROTOS] = { "h2", "h2c", "http/1.1" };
static const char *const class_names[STATS_NUM_CLASSES] = { "1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "other" };
static const char *const dir_names[STATS_NUM_DIRS] = { "in", "out" };
static const char *const frame_dir_names[STATS_NUM_FRAME_DIRS] = { "sent", "received" };
static const char *const h2_code_names[STATS_NUM_H2_CODES] = {
    "NO_ERROR",         "PROTOCOL_ERROR",    "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT", "STREAM_CLOSED",     "FRAME_SIZE_ERROR", "REFUSED_STREAM",
    "CANCEL",           "COMPRESSION_ERROR", "CONNECT_ERROR",  "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED", "OTHER",
};
static const char *const tunnel_result_names[STATS_NUM_TUNNEL_RESULTS] = { "opened", "denied",
                                                                          "failed" };
static const char *const tunnel_dir_names[STATS_NUM_TUNNEL_DIRS] = { "to_target", "to_client" };
static const char *const ws_result_names[STATS_NUM_WS_RESULTS] = { "opened", "refused" };
static const char *const ws_dir_names[STATS_NUM_WS_DIRS] = { "to_backend", "to_client" };
static const char *const tunfail_names[STATS_NUM_TUNFAIL] = {
    "dns", "refused", "timeout", "unreachable", "denied", "auth", "bad_request", "limit",
};
static const char *const tls_version_names[STATS_NUM_TLS_VERSIONS] = { "TLSv1.2", "TLSv1.3",
                                                                      "other" };
static const char *const tlsfail_names[STATS_NUM_TLSFAIL] = {
    "not_tls", "version", "cipher", "alpn", "certificate", "peer_alert", "closed", "timeout",
    "other",
};
static const char *const glitch_names[STATS_NUM_GLITCHES] = {
    "empty_data",   "empty_continuation", "ping",         "settings",      "window_update",
    "closed_stream", "priority",          "client_reset", "server_reset",  "header_block",
    "unknown_frame", "output_queue",      "flood",
};

static const char *const push_result_names[STATS_NUM_PUSH_RESULTS] = { "promised", "cancelled",
                                                                      "limited" };

const char *stats_glitch_name(enum stats_glitch kind)
{
    return (unsigned)kind < STATS_NUM_GLITCHES ? glitch_names[kind] : "?";
}

#define AXIS(label, names) { label, names, sizeof(names) / sizeof(names[0]) }

static const struct dim_info dims[STATS_NUM_DIM_KINDS] = {
    [STATS_DIM_NONE] = { 0, { { NULL, NULL, 0 } } },
    [STATS_DIM_PROTO] = { 1, { AXIS("protocol", proto_names) } },
    [STATS_DIM_PROTO_CLASS] = { 2, { AXIS("protocol", proto_names),
                                     AXIS("status_class", class_names) } },
    [STATS_DIM_CLASS] = { 1, { AXIS("status_class", class_names) } },
    [STATS_DIM_DIR] = { 1, { AXIS("direction", dir_names) } },
    [STATS_DIM_FRAME_CODE] = { 2, { AXIS("direction", frame_dir_names),
                                    AXIS("error_code", h2_code_names) } },
    [STATS_DIM_TUNNEL_RESULT] = { 1, { AXIS("result", tunnel_result_names) } },
    [STATS_DIM_TUNNEL_DIR] = { 1, { AXIS("direction", tunnel_dir_names) } },
    [STATS_DIM_WS_RESULT] = { 1, { AXIS("result", ws_result_names) } },
    [STATS_DIM_WS_DIR] = { 1, { AXIS("direction", ws_dir_names) } },
    [STATS_DIM_GLITCH] = { 1, { AXIS("kind", glitch_names) } },
    [STATS_DIM_TUNFAIL] = { 1, { AXIS("cause", tunfail_names) } },
    [STATS_DIM_TLS_VERSION] = { 1, { AXIS("version", tls_version_names) } },
    [STATS_DIM_TLSFAIL] = { 1, { AXIS("reason", tlsfail_names) } },
    [STATS_DIM_PUSH_RESULT] = { 1, { AXIS("result", push_result_names) } },
};

static const size_t dim_len[STATS_NUM_DIM_KINDS] = {
#define DIM_LEN(id, n) [STATS_DIM_##id] = (n),
    STATS_DIMS(DIM_LEN)
#undef DIM_LEN
};

/* A family as the table describes it, with where its cells live: in the
 * worker block and the snapshot (WORKER scope), or in one backend's
 * struct stats_backend and struct stats_backend_snapshot (BACKEND scope). */
struct family {
    const char *name;
    const char *help;
    enum scope scope;
    enum kind kind;
    enum stats_dim dim;
    size_t off;      /* cells in struct stats or struct stats_backend */
    size_t snap_off; /* cells in struct stats_snapshot or struct stats_backend_snapshot */
};

#define OFF_WORKER(f) offsetof(struct stats, f)
#define OFF_BACKEND(f) offsetof(struct stats_backend, f)
#define SNAP_OFF_WORKER(f) offsetof(struct stats_snapshot, f)
#define SNAP_OFF_BACKEND(f) offsetof(struct stats_backend_snapshot, f)
#define FAMILY(scope, kind, f, d, name_, help_)                                        \
    { name_, help_, SCOPE_##scope, KIND_##kind, STATS_DIM_##d, OFF_##scope(f),         \
      SNAP_OFF_##scope(f) },

static const struct family families[] = { STATS_TABLE(FAMILY) };
#define NUM_FAMILIES (sizeof(families) / sizeof(families[0]))

/* Histograms are summed cell by cell like counters, which needs the same
 * layout on both sides. */
_Static_assert(sizeof(struct stats_hist) == sizeof(struct stats_hist_snap),
               "histogram cell layouts differ");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic cells are not plain size");
_Static_assert(alignof(struct stats) == 64, "struct stats must be cache-line aligned");
_Static_assert(sizeof(struct stats) % 64 == 0, "struct stats must span whole lines");

static bool is_histogram(const struct family *f)
{
    return f->kind == KIND_HISTOGRAM || f->kind == KIND_LONG_HISTOGRAM;
}

static size_t num_cells(const struct family *f)
{
    if (is_histogram(f))
        return STATS_HIST_NUM_BUCKETS + 1;
    return dim_len[f->dim];
}

struct stats *stats_new(size_t num_backends)
{
    size_t size = (sizeof(struct stats) + 63) & ~(size_t)63;
    /* xalloc has no aligned allocator: over-allocate by a line and align
     * inside, keeping the original pointer for stats_free(). */
    void *raw = xcalloc(1, size + 64);
    struct stats *s = (struct stats *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    s->alloc = raw;
    if (stats_grow(s, num_backends) != 0)
        stats_grow(s, (size_t)STATS_MAX_CHUNKS * STATS_CHUNK);
    return s;
}

int stats_grow(struct stats *s, size_t num_backends)
{
    size_t have = atomic_load_explicit(&s->num_backends, memory_order_relaxed);
    if (num_backends <= have)
        return 0;
    if (num_backends > (size_t)STATS_MAX_CHUNKS * STATS_CHUNK)
        return H2G_ERR_INVAL;
    for (size_t c = have / STATS_CHUNK; c * STATS_CHUNK < num_backends; c++)
        atomic_store_explicit(&s->chunks[c], xcalloc(STATS_CHUNK, sizeof(struct stats_backend)),
                              memory_order_relaxed);
    size_t n = (num_backends + STATS_CHUNK - 1) / STATS_CHUNK * STATS_CHUNK;
    /* Release: a writer that sees the new count sees the chunks. */
    atomic_store_explicit(&s->num_backends, n, memory_order_release);
    return 0;
}

void stats_clear_backend(struct stats *s, size_t slot)
{
    _Static_assert(sizeof(struct stats_backend) % sizeof(_Atomic uint64_t) == 0,
                   "backend cells are 64-bit atomics only");
    struct stats_backend *b = stats_backend_cells(s, (long)slot);
    if (b == &s->none)
        return;
    _Atomic uint64_t *c = (_Atomic uint64_t *)b;
    for (size_t i = 0; i < sizeof(*b) / sizeof(*c); i++)
        atomic_store_explicit(&c[i], 0, memory_order_relaxed);
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < STATS_MAX_CHUNKS; c++)
        free(atomic_load_explicit(&s->chunks[c], memory_order_relaxed));
    free(s->alloc);
}

void stats_snapshot_init(struct stats_snapshot *out, size_t num_backends)
{
    memset(out, 0, sizeof(*out));
    out->num_backends = num_backends;
    out->backends = xcalloc(num_backends + 1, sizeof(*out->backends));
}

void stats_snapshot_cleanup(struct stats_snapshot *out)
{
    free(out->backends);
    out->backends = NULL;
    out->num_backends = 0;
}

static void add_cells(uint64_t *dst, const _Atomic uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += atomic_load_explicit(&src[i], memory_order_relaxed);
}

void stats_sum(struct stats *const *workers, size_t n, struct stats_snapshot *out)
{
    size_t nb = out->num_backends;
    struct stats_backend_snapshot *bs = out->backends;
    memset(out, 0, sizeof(*out));
    out->num_backends = nb;
    out->backends = bs;
    memset(bs, 0, (nb + 1) * sizeof(*bs));

    for (size_t w = 0; w < n; w++) {
        struct stats *s = workers[w];
        size_t have = atomic_load_explicit(&s->num_backends, memory_order_acquire);
        for (size_t i = 0; i < NUM_FAMILIES; i++) {
            const struct family *f = &families[i];
            size_t cells = num_cells(f);
            if (f->scope == SCOPE_WORKER) {
                add_cells((uint64_t *)((char *)out + f->snap_off),
                          (const _Atomic uint64_t *)((const char *)s + f->off), cells);
                continue;
            }
            for (size_t b = 0; b <= have; b++) {
                /* The last slot of the snapshot is "no backend": it also
                 * gathers slots the snapshot does not know. */
                const struct stats_backend *sb =
                    b == have ? &s->none : stats_backend_cells(s, (long)b);
                size_t ob = b < nb ? b : nb;
                add_cells((uint64_t *)((char *)&bs[ob] + f->snap_off),
                          (const _Atomic uint64_t *)((const char *)sb + f->off), cells);
            }
        }
    }
}

uint64_t stats_hist_count(const struct stats_hist_snap *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < STATS_HIST_NUM_BUCKETS; i++)
        n += h->buckets[i];
    return n;
}

/* ---- rendering ---- */

static const uint64_t *family_cells(const struct stats_snapshot *s, const struct family *f,
                                    size_t backend)
{
    if (f->scope == SCOPE_WORKER)
        return (const uint64_t *)((const char *)s + f->snap_off);
    return (const uint64_t *)((const char *)&s->backends[backend] + f->snap_off);
}

static bool any_nonzero(const uint64_t *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cells[i])
            return true;
    return false;
}

/* Writes a backend's name, or its index when no names were given; NULL
 * for a free slot (names given, its entry NULL: no series at all). */
static const char *backend_name(const char *const *names, size_t num_backends, size_t b,
                                char *tmp, size_t tmp_len)
{
    if (b == num_backends)
        return "-";
    if (names)
        return names[b];
    snprintf(tmp, tmp_len, "%zu", b);
    return tmp;
}

/* Appends s with the escapes of a Prometheus label value: \\, \" and \n. */
static void put_label_value(struct bufq *out, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        bufq_append(out, run, (size_t)(s - run));
        bufq_append(out, esc, 2);
        run = s + 1;
    }
    bufq_append(out, run, (size_t)(s - run));
}

/* Appends s as a JSON string, quotes included. */
static void put_json_string(struct bufq *out, const char *s)
{
    bufq_append(out, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        bufq_append(out, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            bufq_append(out, esc, 2);
        } else {
            bufq_appendf(out, "\\u%04x", c);
        }
        run = s + 1;
    }
    bufq_append(out, run, (size_t)(s - run));
    bufq_append(out, "\"", 1);
}

/* Appends the labels of cell i of dim d (after an optional backend label)
 * in braces; nothing at all when there is no label. */
static void put_labels(struct bufq *out, enum stats_dim d, size_t i, const char *backend)
{
    const struct dim_info *di = &dims[d];
    if (di->num_axes == 0 && !backend)
        return;
    bufq_append(out, "{", 1);
    bool first = true;
    if (backend) {
        bufq_appendf(out, "backend=\"");
        put_label_value(out, backend);
        bufq_append(out, "\"", 1);
        first = false;
    }
    size_t inner = di->num_axes == 2 ? di->axes[1].num : 1;
    size_t idx[2] = { i / inner, i % inner };
    for (size_t a = 0; a < di->num_axes; a++) {
        bufq_appendf(out, "%s%s=\"%s\"", first ? "" : ",", di->axes[a].label,
                     di->axes[a].values[idx[a]]);
        first = false;
    }
    bufq_append(out, "}", 1);
}

/* The le value of finite bucket i: "0.0005", "0.001", ... "65.536", or
 * "0.01" ... "86400" for a long histogram. */
static void format_bound(char *buf, size_t len, const struct family *f, unsigned i)
{
    uint64_t us = f->kind == KIND_LONG_HISTOGRAM ? stats_long_bound_us(i) : stats_hist_bound_us(i);
    snprintf(buf, len, "%g", (double)us / 1e6);
}

/* One histogram's series; backend: its label value, or NULL for none. */
static void prom_histogram(struct bufq *out, const struct family *f,
                           const struct stats_hist_snap *h, const char *backend)
{
    uint64_t cum = 0;
    char le[32];
    for (unsigned i = 0; i <= STATS_HIST_NUM_FINITE; i++) {
        cum += h->buckets[i];
        if (i < STATS_HIST_NUM_FINITE)
            format_bound(le, sizeof(le), f, i);
        bufq_appendf(out, "%s_bucket{", f->name);
        if (backend) {
            bufq_append(out, "backend=\"", 9);
            put_label_value(out, backend);
            bufq_append(out, "\",", 2);
        }
        bufq_appendf(out, "le=\"%s\"} %" PRIu64 "\n", i < STATS_HIST_NUM_FINITE ? le : "+Inf",
                     cum);
    }
    for (int sum = 1; sum >= 0; sum--) {
        bufq_appendf(out, "%s_%s", f->name, sum ? "sum" : "count");
        if (backend) {
            bufq_append(out, "{backend=\"", 10);
            put_label_value(out, backend);
            bufq_append(out, "\"}", 2);
        }
        if (sum)
            bufq_appendf(out, " %.6f\n", (double)h->sum_us / 1e6);
        else
            bufq_appendf(out, " %" PRIu64 "\n", cum);
    }
}

static void prom_extra(struct bufq *out, const struct stats_snapshot *s,
                       const char *const *backend_names)
{
    for (size_t e = 0; e < s->num_extra; e++) {
        const struct stats_backend_extra *x = &s->extra[e];
        bufq_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name, x->type);
        for (size_t b = 0; b < s->num_backends; b++) {
            char tmp[24];
            const char *name = backend_name(backend_names, s->num_backends, b, tmp, sizeof(tmp));
            if (!name)
                continue;
            bufq_appendf(out, "%s{backend=\"", x->name);
            put_label_value(out, name);
            bufq_appendf(out, "\"} %" PRIu64 "\n", x->values[b]);
        }
    }
}

static void prom_certs(struct bufq *out, const struct stats_snapshot *s)
{
    if (!s->num_certs)
        return;
    bufq_appendf(out, "# HELP h2gate_tls_certificate_not_after_seconds Unix time a server "
                      "certificate of the running configuration expires (its notAfter).\n"
                      "# TYPE h2gate_tls_certificate_not_after_seconds gauge\n");
    for (size_t i = 0; i < s->num_certs; i++) {
        bufq_appendf(out, "h2gate_tls_certificate_not_after_seconds{certificate=\"");
        put_label_value(out, s->certs[i].label);
        bufq_appendf(out, "\"} %" PRId64 "\n", s->certs[i].not_after);
    }
}

static void json_extra(struct bufq *out, const struct stats_snapshot *s,
                       const char *const *backend_names)
{
    for (size_t e = 0; e < s->num_extra; e++) {
        const struct stats_backend_extra *x = &s->extra[e];
        bufq_appendf(out, ",\n  \"%s\": {", x->name);
        bool first = true;
        for (size_t b = 0; b < s->num_backends; b++) {
            char tmp[24];
            const char *name = backend_name(backend_names, s->num_backends, b, tmp, sizeof(tmp));
            if (!name)
                continue;
            if (!first)
                bufq_append(out, ", ", 2);
            first = false;
            put_json_string(out, name);
            bufq_appendf(out, ": %" PRIu64, x->values[b]);
        }
        bufq_append(out, "}", 1);
    }
}

/* One family's series: a worker-scope family once, a backend-scope one per
 * backend ("-", the no-backend cells, only when non-zero). */
static void prom_family(struct bufq *out, const struct stats_snapshot *s, const struct family *f,
                        const char *const *backend_names)
{
    static const char *const type_names[] = { "counter", "gauge", "histogram", "histogram" };
    char tmp[32];
    bufq_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                 type_names[f->kind]);
    size_t n = num_cells(f);
    size_t nb = f->scope == SCOPE_WORKER ? 0 : s->num_backends;
    for (size_t b = 0; b <= nb; b++) {
        const uint64_t *c = family_cells(s, f, b);
        const char *name = NULL;
        if (f->scope == SCOPE_BACKEND) {
            if (b == nb && !any_nonzero(c, n))
                continue;
            name = backend_name(backend_names, nb, b, tmp, sizeof(tmp));
            if (!name)
                continue;
        }
        if (is_histogram(f)) {
            prom_histogram(out, f, (const struct stats_hist_snap *)c, name);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            bufq_appendf(out, "%s", f->name);
            put_labels(out, f->dim, i, name);
            bufq_appendf(out, " %" PRIu64 "\n", c[i]);
        }
    }
}

/* The process collector's standard names, and h2gate_build_info. */
static void prom_process(struct bufq *out, const struct stats_process *p)
{
    bufq_appendf(out, "# HELP h2gate_build_info The running h2gate's version (always 1).\n"
                      "# TYPE h2gate_build_info gauge\n"
                      "h2gate_build_info{version=\"%s\"} 1\n", H2G_VERSION);
    if (!p->set)
        return;
    bufq_appendf(out,
                 "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                 "# TYPE process_start_time_seconds gauge\n"
                 "process_start_time_seconds %.3f\n"
                 "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                 "# TYPE process_cpu_seconds_total counter\n"
                 "process_cpu_seconds_total %.3f\n"
                 "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                 "# TYPE process_resident_memory_bytes gauge\n"
                 "process_resident_memory_bytes %" PRIu64 "\n"
                 "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                 "# TYPE process_virtual_memory_bytes gauge\n"
                 "process_virtual_memory_bytes %" PRIu64 "\n"
                 "# HELP process_open_fds Number of open file descriptors.\n"
                 "# TYPE process_open_fds gauge\n"
                 "process_open_fds %" PRIu64 "\n"
                 "# HELP process_max_fds Maximum number of open file descriptors.\n"
                 "# TYPE process_max_fds gauge\n"
                 "process_max_fds %" PRIu64 "\n",
                 p->start_time_s, p->cpu_seconds, p->resident_bytes, p->virtual_bytes,
                 p->open_fds, p->max_fds);
}

void stats_render_prometheus(const struct stats_snapshot *s, const char *const *backend_names,
                             struct bufq *out)
{
    for (size_t fi = 0; fi < NUM_FAMILIES; fi++)
        prom_family(out, s, &families[fi], backend_names);
    const struct stats_config *cf = &s->config;
    if (cf->generation)
        bufq_appendf(out,
                     "# HELP h2gate_config_generation Configuration generation in use (1 at start, +1 per reload).\n"
                     "# TYPE h2gate_config_generation gauge\n"
                     "h2gate_config_generation %" PRIu64 "\n"
                     "# HELP h2gate_config_reloads_total Successful configuration reloads (SIGHUP).\n"
                     "# TYPE h2gate_config_reloads_total counter\n"
                     "h2gate_config_reloads_total %" PRIu64 "\n"
                     "# HELP h2gate_config_reload_failures_total Reloads refused (the running configuration stayed).\n"
                     "# TYPE h2gate_config_reload_failures_total counter\n"
                     "h2gate_config_reload_failures_total %" PRIu64 "\n"
                     "# HELP h2gate_config_last_reload_success_timestamp_seconds Unix time of the start or the last successful reload.\n"
                     "# TYPE h2gate_config_last_reload_success_timestamp_seconds gauge\n"
                     "h2gate_config_last_reload_success_timestamp_seconds %" PRIu64 "\n"
                     "# HELP h2gate_config_generations_alive Configuration generations in memory: the current one and old ones still used by connections, tunnels or exchanges that started under them.\n"
                     "# TYPE h2gate_config_generations_alive gauge\n"
                     "h2gate_config_generations_alive %" PRIu64 "\n",
                     cf->generation, cf->reloads, cf->reload_failures, cf->last_reload_s,
                     cf->generations_alive);
    prom_certs(out, s);
    prom_extra(out, s, backend_names);
    prom_process(out, &s->process);
}

/* Appends the cells of one dim as a number (no axis) or as objects nested
 * by axis. */
static void json_cells(struct bufq *out, enum stats_dim d, const uint64_t *c)
{
    const struct dim_info *di = &dims[d];
    if (di->num_axes == 0) {
        bufq_appendf(out, "%" PRIu64, c[0]);
        return;
    }
    const struct axis *outer = &di->axes[0];
    size_t inner = di->num_axes == 2 ? di->axes[1].num : 1;
    bufq_append(out, "{", 1);
    for (size_t i = 0; i < outer->num; i++) {
        bufq_appendf(out, "%s\"%s\": ", i ? ", " : "", outer->values[i]);
        if (di->num_axes == 1) {
            bufq_appendf(out, "%" PRIu64, c[i]);
            continue;
        }
        bufq_append(out, "{", 1);
        for (size_t j = 0; j < inner; j++)
            bufq_appendf(out, "%s\"%s\": %" PRIu64, j ? ", " : "", di->axes[1].values[j],
                         c[i * inner + j]);
        bufq_append(out, "}", 1);
    }
    bufq_append(out, "}", 1);
}

static void json_histogram(struct bufq *out, const struct family *f,
                           const struct stats_hist_snap *h)
{
    uint64_t cum = 0;
    char le[32];
    bufq_append(out, "{\"buckets\": {", 13);
    for (unsigned i = 0; i < STATS_HIST_NUM_FINITE; i++) {
        cum += h->buckets[i];
        format_bound(le, sizeof(le), f, i);
        bufq_appendf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", le, cum);
    }
    cum += h->buckets[STATS_HIST_NUM_FINITE];
    bufq_appendf(out, ", \"+Inf\": %" PRIu64 "}, \"sum\": %.6f, \"count\": %" PRIu64 "}", cum,
                 (double)h->sum_us / 1e6, cum);
}

static void json_value(struct bufq *out, const struct family *f, const uint64_t *c)
{
    if (is_histogram(f))
        json_histogram(out, f, (const struct stats_hist_snap *)c);
    else
        json_cells(out, f->dim, c);
}

/* A backend-scope family: an object keyed by backend name. */
static void json_backends(struct bufq *out, const struct stats_snapshot *s,
                          const struct family *f, const char *const *backend_names)
{
    char tmp[32];
    bufq_append(out, "{", 1);
    bool first = true;
    for (size_t b = 0; b <= s->num_backends; b++) {
        const uint64_t *c = family_cells(s, f, b);
        const char *name = backend_name(backend_names, s->num_backends, b, tmp, sizeof(tmp));
        if (!name || (b == s->num_backends && !any_nonzero(c, num_cells(f))))
            continue;
        if (!first)
            bufq_append(out, ", ", 2);
        first = false;
        put_json_string(out, name);
        bufq_append(out, ": ", 2);
        json_value(out, f, c);
    }
    bufq_append(out, "}", 1);
}

static void json_process(struct bufq *out, const struct stats_process *p)
{
    bufq_appendf(out, ",\n  \"h2gate_build_info\": {\"%s\": 1}", H2G_VERSION);
    if (!p->set)
        return;
    bufq_appendf(out,
                 ",\n  \"process_start_time_seconds\": %.3f"
                 ",\n  \"process_cpu_seconds_total\": %.3f"
                 ",\n  \"process_resident_memory_bytes\": %" PRIu64
                 ",\n  \"process_virtual_memory_bytes\": %" PRIu64
                 ",\n  \"process_open_fds\": %" PRIu64 ",\n  \"process_max_fds\": %" PRIu64,
                 p->start_time_s, p->cpu_seconds, p->resident_bytes, p->virtual_bytes,
                 p->open_fds, p->max_fds);
}

void stats_render_json(const struct stats_snapshot *s, const char *const *backend_names,
                       struct bufq *out)
{
    bufq_append(out, "{", 1);
    for (size_t fi = 0; fi < NUM_FAMILIES; fi++) {
        const struct family *f = &families[fi];
        bufq_appendf(out, "%s\n  \"%s\": ", fi ? "," : "", f->name);
        if (f->scope == SCOPE_WORKER)
            json_value(out, f, family_cells(s, f, 0));
        else
            json_backends(out, s, f, backend_names);
    }
    const struct stats_config *cf = &s->config;
    if (cf->generation)
        bufq_appendf(out,
                     ",\n  \"h2gate_config_generation\": %" PRIu64
                     ",\n  \"h2gate_config_reloads_total\": %" PRIu64
                     ",\n  \"h2gate_config_reload_failures_total\": %" PRIu64
                     ",\n  \"h2gate_config_last_reload_success_timestamp_seconds\": %" PRIu64
                     ",\n  \"h2gate_config_generations_alive\": %" PRIu64,
                     cf->generation, cf->reloads, cf->reload_failures, cf->last_reload_s,
                     cf->generations_alive);
    if (s->num_certs) {
        bufq_appendf(out, ",\n  \"h2gate_tls_certificate_not_after_seconds\": {");
        for (size_t i = 0; i < s->num_certs; i++) {
            bufq_append(out, i ? ", " : "", i ? 2 : 0);
            put_json_string(out, s->certs[i].label);
            bufq_appendf(out, ": %" PRId64, s->certs[i].not_after);
        }
        bufq_append(out, "}", 1);
    }
    json_extra(out, s, backend_names);
    json_process(out, &s->process);
    bufq_append(out, "\n}\n", 3);
}
