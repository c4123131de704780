/* The process's own figures as Prometheus's standard process collector
 * names them (process_cpu_seconds_total, process_resident_memory_bytes,
 * ...), read from /proc/self. Linux only, like the rest of h2gate. */
#ifndef H2G_COMMON_PROCSTAT_H
#define H2G_COMMON_PROCSTAT_H

#include "common/stats-t.h"

/* Fills out (out->set true) from /proc/self/stat, /proc/stat's btime,
 * /proc/self/fd and RLIMIT_NOFILE. Returns 0, or -1 with out->set false
 * when /proc cannot be read (then nothing is rendered). Any thread; a few
 * small reads, for the admin listener's /metrics and /stats. */
int procstat_read(struct stats_process *out);

#endif
