/* How many CPUs this process may use: the default of --workers. In a
 * container the host's CPU count is the wrong answer twice over: a
 * cpuset (taskset, Kubernetes' static CPU manager) narrows the affinity
 * mask, and a CPU limit becomes a cgroup v2 cpu.max quota that throttles
 * a process running more threads than it has CPU time for. */
#ifndef H2G_COMMON_CPUS_H
#define H2G_COMMON_CPUS_H

#include <stddef.h>

/* The CPUs of this process's affinity mask (sched_getaffinity), bounded
 * by the tightest cgroup v2 cpu.max quota of its cgroup and the cgroup's
 * ancestors, quota/period rounded up. Always >= 1; what cannot be read
 * (no cgroup v2, no /proc) bounds nothing. */
int cpus_usable(void);

/* ---- the pure parts, for tests ---- */

/* The text of a cpu.max file, "QUOTA PERIOD" or "max PERIOD". Returns the
 * CPUs it allows, quota/period rounded up and at least 1, or 0 for "max"
 * and for text that is not one of those forms. */
int cpus_parse_cpu_max(const char *text);

/* The cgroup v2 path in the text of /proc/self/cgroup: the line
 * "0::PATH". Copies PATH (starting with '/') into out and returns 0, or
 * returns -1 when there is no such line or it does not fit. */
int cpus_parse_cgroup(const char *text, char *out, size_t out_len);

/* The cgroup2 mount in the text of /proc/self/mountinfo: its mount point
 * and the cgroup path mounted there (its root; "/" unless the mount shows
 * only a subtree, as in a container without a cgroup namespace). Returns
 * 0, or -1 when there is none or a field does not fit. Octal escapes in
 * the fields are not decoded: a cgroup mount point has no space in it. */
int cpus_parse_mountinfo(const char *text, char *mount, size_t mount_len, char *root,
                         size_t root_len);

/* The tightest cpu.max limit (as cpus_parse_cpu_max) of the directories
 * from dir up to and including top, where top is a prefix of dir; 0 when
 * none has a quota. */
int cpus_cgroup_limit(const char *top, const char *dir);

#endif
