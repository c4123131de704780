/* Unit tests for common/cpus.c: cpu.max, /proc/self/cgroup and mountinfo
 * parsing, the walk up a cgroup tree (in a temporary directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cpus.h"

static void test_cpu_max(void **state)
{
    (void)state;
    assert_int_equal(cpus_parse_cpu_max("max 100000\n"), 0);
    assert_int_equal(cpus_parse_cpu_max("100000 100000\n"), 1);
    assert_int_equal(cpus_parse_cpu_max("150000 100000\n"), 2);
    assert_int_equal(cpus_parse_cpu_max("50000 100000"), 1);
    assert_int_equal(cpus_parse_cpu_max("400000 100000\n"), 4);
    assert_int_equal(cpus_parse_cpu_max("400001 100000\n"), 5);
    assert_int_equal(cpus_parse_cpu_max(""), 0);
    assert_int_equal(cpus_parse_cpu_max("100000"), 0);
    assert_int_equal(cpus_parse_cpu_max("100000 0"), 0);
    assert_int_equal(cpus_parse_cpu_max("-5 100000"), 0);
    assert_int_equal(cpus_parse_cpu_max("1x 100000"), 0);
    assert_int_equal(cpus_parse_cpu_max("100000 100000x"), 0);
}

static void test_proc_cgroup(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cpus_parse_cgroup("0::/kubepods/pod1/c2\n", out, sizeof(out)), 0);
    assert_string_equal(out, "/kubepods/pod1/c2");
    /* hybrid hierarchy: v1 lines first */
    assert_int_equal(cpus_parse_cgroup("4:memory:/x\n1:cpu:/\n0::/\n", out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(cpus_parse_cgroup("1:cpu:/\n", out, sizeof(out)), -1);
    assert_int_equal(cpus_parse_cgroup("", out, sizeof(out)), -1);
    char tiny[4];
    assert_int_equal(cpus_parse_cgroup("0::/abcdef\n", tiny, sizeof(tiny)), -1);
}

static void test_mountinfo(void **state)
{
    (void)state;
    char mount[64], root[64];
    const char *hybrid =
        "22 1 0:20 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
        "30 22 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
        "32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
    assert_int_equal(cpus_parse_mountinfo(hybrid, mount, sizeof(mount), root, sizeof(root)),
                     0);
    assert_string_equal(mount, "/sys/fs/cgroup/unified");
    assert_string_equal(root, "/");
    const char *container =
        "700 690 0:30 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n";
    assert_int_equal(
        cpus_parse_mountinfo(container, mount, sizeof(mount), root, sizeof(root)), 0);
    assert_string_equal(mount, "/sys/fs/cgroup");
    assert_string_equal(root, "/docker/abc");
    assert_int_equal(cpus_parse_mountinfo("32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup "
                                          "cgroup rw\n",
                                          mount, sizeof(mount), root, sizeof(root)),
                     -1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* top/cpu.max none, top/a 3 CPUs, top/a/b unlimited, top/a/b/c 1.5 CPUs. */
static void test_cgroup_walk_takes_the_tightest(void **state)
{
    (void)state;
    char top[] = "/tmp/h2gate-cpus-XXXXXX", path[256];
    assert_non_null(mkdtemp(top));
    snprintf(path, sizeof(path), "%s/a/b/c", top);
    char *slash = path + strlen(top);
    for (char *p = slash + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        assert_int_equal(mkdir(path, 0700), 0);
        *p = '/';
    }
    assert_int_equal(mkdir(path, 0700), 0);
    char f[300];
    snprintf(f, sizeof(f), "%s/a/cpu.max", top);
    write_file(f, "300000 100000\n");
    snprintf(f, sizeof(f), "%s/a/b/cpu.max", top);
    write_file(f, "max 100000\n");
    snprintf(f, sizeof(f), "%s/a/b/c/cpu.max", top);
    write_file(f, "150000 100000\n");

    assert_int_equal(cpus_cgroup_limit(top, path), 2);
    snprintf(f, sizeof(f), "%s/a/b", top);
    assert_int_equal(cpus_cgroup_limit(top, f), 3);
    assert_int_equal(cpus_cgroup_limit(top, top), 0);

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
}

/* Never more than the affinity mask, never less than 1. */
static void test_usable_within_affinity(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    int n = cpus_usable();
    assert_true(n >= 1);
    assert_true(n <= CPU_COUNT(&set));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_max),
        cmocka_unit_test(test_proc_cgroup),
        cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_cgroup_walk_takes_the_tightest),
        cmocka_unit_test(test_usable_within_affinity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
