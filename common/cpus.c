#include "common/cpus.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

/* mountinfo of a busy host runs to tens of kilobytes. */
#define MOUNTINFO_MAX (256u * 1024u)

int cpus_parse_cpu_max(const char *text)
{
    char *end;
    if (strncmp(text, "max", 3) == 0)
        return 0;
    long long quota = strtoll(text, &end, 10);
    if (end == text || *end != ' ' || quota <= 0)
        return 0;
    const char *p = end + 1;
    long long period = strtoll(p, &end, 10);
    if (end == p || (*end != '\n' && *end != '\0') || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > 1024 * 1024 ? 1024 * 1024 : (int)n;
}

/* Copies the n bytes at p into out as a C string; -1 when they do not fit. */
static int copy_field(const char *p, size_t n, char *out, size_t out_len)
{
    if (n == 0 || n >= out_len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int cpus_parse_cgroup(const char *text, char *out, size_t out_len)
{
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 3 && memcmp(line, "0::", 3) == 0 && line[3] == '/')
            return copy_field(line + 3, len - 3, out, out_len);
        line += len + (nl != NULL);
    }
    return -1;
}

/* Field i (0-based, space-separated) of the line [line, end). */
static const char *field(const char *line, const char *end, int i, size_t *len)
{
    const char *p = line;
    for (; i > 0 && p < end; i--) {
        p = memchr(p, ' ', (size_t)(end - p));
        if (!p)
            return NULL;
        p++;
    }
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    *len = (size_t)((sp ? sp : end) - p);
    return p < end ? p : NULL;
}

int cpus_parse_mountinfo(const char *text, char *mount, size_t mount_len, char *root,
                         size_t root_len)
{
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE ..." */
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *dash = strstr(line, " - ");
        if (dash && dash < end && strncmp(dash + 3, "cgroup2 ", 8) == 0) {
            size_t rl, ml;
            const char *r = field(line, dash, 3, &rl);
            const char *m = field(line, dash, 4, &ml);
            if (!r || !m)
                return -1;
            if (copy_field(r, rl, root, root_len) || copy_field(m, ml, mount, mount_len))
                return -1;
            return 0;
        }
        line = nl ? nl + 1 : end;
    }
    return -1;
}

/* Reads up to len - 1 bytes of path into buf as a C string; -1 on failure. */
static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    return 0;
}

int cpus_cgroup_limit(const char *top, const char *dir)
{
    size_t top_len = strlen(top);
    char path[4096], text[128];
    int best = 0;
    snprintf(path, sizeof(path), "%s", dir);
    for (;;) {
        size_t len = strlen(path);
        if (len + sizeof("/cpu.max") > sizeof(path))
            break;
        memcpy(path + len, "/cpu.max", sizeof("/cpu.max"));
        if (read_text(path, text, sizeof(text)) == 0) {
            int n = cpus_parse_cpu_max(text);
            if (n > 0 && (best == 0 || n < best))
                best = n;
        }
        path[len] = '\0';
        char *slash = strrchr(path, '/');
        if (len <= top_len || !slash || (size_t)(slash - path) < top_len)
            break;
        *slash = '\0';
    }
    return best;
}

/* The cgroup v2 quota of this process, or 0. */
static int quota_limit(void)
{
    char cg[2048], mount[1024], root[2048], dir[4096];
    char *info = xmalloc(MOUNTINFO_MAX);
    int ok = read_text("/proc/self/mountinfo", info, MOUNTINFO_MAX) == 0 &&
             cpus_parse_mountinfo(info, mount, sizeof(mount), root, sizeof(root)) == 0;
    free(info);
    if (!ok || read_text("/proc/self/cgroup", dir, sizeof(dir)) != 0 ||
        cpus_parse_cgroup(dir, cg, sizeof(cg)) != 0)
        return 0;
    /* A mount that shows only a subtree: our path is relative to it. */
    const char *rel = cg;
    size_t rl = strlen(root);
    if (strcmp(root, "/") != 0 && strncmp(cg, root, rl) == 0 && (cg[rl] == '/' || !cg[rl]))
        rel = cg + rl;
    if (strcmp(rel, "/") == 0)
        rel = "";
    snprintf(dir, sizeof(dir), "%s%s", mount, rel);
    return cpus_cgroup_limit(mount, dir);
}

int cpus_usable(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > 1024 ? 1024 : (int)c;
    }
    int q = quota_limit();
    return q > 0 && q < n ? q : n;
}
