/* Unit tests for config/registry.c: interning backends into slots,
 * retiring them when no generation names them, freeing and reusing slots,
 * and unique metric labels. */
#include "tests/unit/config/helpers.h"

#include "config/registry.h"

#define F "-f*,3000;no-tls"

/* Loads a config and interns it, as main's publish does. */
#define INTERN(r, cfg, ...)                 \
    do {                                    \
        LOAD_OK((cfg), F, __VA_ARGS__);     \
        cfg_registry_intern((r), (cfg));    \
    } while (0)

/* Drops a generation's counts, then its config (gen_free's order). */
static void drop(struct cfg_registry *r, struct config *cfg)
{
    cfg_registry_release(r, cfg);
    cfg_cleanup(cfg);
}

static void assert_labels_unique(const struct cfg_registry *r)
{
    for (size_t i = 0; i < r->num; i++)
        for (size_t k = i + 1; k < r->num; k++)
            if (r->names[i] && r->names[k] && strcmp(r->names[i], r->names[k]) == 0)
                fail_msg("slots %zu and %zu are both \"%s\"", i, k, r->names[i]);
}

static void test_same_backend_same_slot_across_generations(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 16);
    struct config a, b;
    INTERN(&r, &a, "-b127.0.0.1,8001", "-b127.0.0.1,8002;/x/");
    INTERN(&r, &b, "-b127.0.0.1,8002;/y/", "-b127.0.0.1,8003");
    assert_int_equal(r.num, 3);
    assert_int_equal(r.num_live, 3);
    assert_int_equal(a.backends[1].index, b.backends[0].index);
    assert_true(a.backends[1].serial == b.backends[0].serial);
    assert_ptr_equal(a.routes[1].backends[0], r.slots[a.backends[1].index]);
    assert_string_equal(r.names[b.backends[1].index], "127.0.0.1:8003");
    /* a is gone: only its own member retires. */
    drop(&r, &a);
    assert_true(cfg_registry_retired(&r, 0));
    assert_false(cfg_registry_retired(&r, 1));
    assert_false(cfg_registry_retired(&r, 2));
    drop(&r, &b);
    cfg_registry_free(&r);
}

static void test_freed_slot_is_reused_by_a_new_backend(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 2);
    struct config a, b, c;
    INTERN(&r, &a, "-b127.0.0.1,8001", "-b127.0.0.1,8002;/x/");
    uint64_t old_serial = a.backends[0].serial;
    LOAD_OK(&b, F, "-b127.0.0.1,8002;/x/", "-b127.0.0.1,8003");
    assert_int_equal(cfg_registry_needed(&r, &b), 1); /* 8002 is in use */
    drop(&r, &a);
    /* Retired but not freed: still takes its slot (and shows its label). */
    assert_int_equal(r.num_live, 2);
    assert_non_null(r.names[0]);
    cfg_registry_free_slot(&r, 0);
    assert_null(r.slots[0]);
    assert_null(r.names[0]);
    assert_int_equal(r.num_live, 1);
    cfg_registry_intern(&r, &b);
    assert_int_equal(b.backends[1].index, 0);          /* the lowest free slot */
    assert_true(b.backends[1].serial != old_serial);    /* a new object */
    assert_string_equal(r.names[0], "127.0.0.1:8003");
    assert_int_equal(r.num, 2);                         /* no slot added */
    assert_int_equal(r.num_live, 2);
    /* Full: a third address needs a slot nobody has freed. */
    LOAD_OK(&c, F, "-b127.0.0.1,8004");
    assert_int_equal(cfg_registry_needed(&r, &c), 1);
    assert_true(r.num_live + cfg_registry_needed(&r, &c) > r.cap);
    cfg_cleanup(&c);
    drop(&r, &b);
    cfg_registry_free(&r);
}

static void test_retired_slot_comes_back_with_its_backend(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 4);
    struct config a, b;
    INTERN(&r, &a, "-b127.0.0.1,8001");
    size_t slot = a.backends[0].index;
    uint64_t serial = a.backends[0].serial;
    drop(&r, &a);
    assert_true(cfg_registry_retired(&r, slot));
    INTERN(&r, &b, "-b127.0.0.1,8001");
    assert_int_equal(b.backends[0].index, slot);
    assert_true(b.backends[0].serial == serial);
    assert_false(cfg_registry_retired(&r, slot));
    cfg_registry_free_slot(&r, slot);   /* named again: not freed */
    assert_non_null(r.slots[slot]);
    assert_int_equal(r.num_live, 1);
    drop(&r, &b);
    cfg_registry_free(&r);
}

static void test_needed_counts_each_new_identity_once(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 8);
    struct config a, b;
    INTERN(&r, &a, "-b127.0.0.1,8001");
    LOAD_OK(&b, F, "-b127.0.0.1,8001;/a/", "-b127.0.0.1,8002;/b/", "-b127.0.0.1,8002;/c/",
            "-b127.0.0.1,8002;/d/;proto=h2");
    assert_int_equal(cfg_registry_needed(&r, &b), 2); /* 8002 h1, 8002 h2 */
    cfg_cleanup(&b);
    drop(&r, &a);
    cfg_registry_free(&r);
}

static void test_labels_stay_unique_across_reuse(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 4);
    struct config a, b, c;
    INTERN(&r, &a, "-b127.0.0.1,8001;/a/", "-b127.0.0.1,8001;/b/;proto=h2");
    assert_string_equal(r.names[0], "127.0.0.1:8001");
    assert_string_equal(r.names[1], "127.0.0.1:8001#1");
    /* The HTTP/2 member stays, the HTTP/1.1 one goes and is freed. */
    INTERN(&r, &b, "-b127.0.0.1,8001;/b/;proto=h2");
    drop(&r, &a);
    cfg_registry_free_slot(&r, 0);
    assert_null(r.names[0]);
    /* It comes back on slot 0: its plain label is free again. */
    INTERN(&r, &c, "-b127.0.0.1,8001;/b/;proto=h2", "-b127.0.0.1,8001;/a/");
    assert_int_equal(c.backends[1].index, 0);
    assert_string_equal(r.names[0], "127.0.0.1:8001");
    assert_labels_unique(&r);
    /* And while the old one is retired but not freed, a newcomer with
     * the same label gets a suffixed one. */
    drop(&r, &b);
    drop(&r, &c);
    struct config d;
    INTERN(&r, &d, "-b127.0.0.1,8001;/a/;tls");
    assert_int_equal(d.backends[0].index, 2);
    assert_string_equal(r.names[2], "127.0.0.1:8001#2");
    assert_labels_unique(&r);
    drop(&r, &d);
    cfg_registry_free(&r);
}

/* A socket is one identity by its path; its label is "unix:PATH". */
static void test_unix_backend_slot_and_label(void **state)
{
    (void)state;
    struct cfg_registry r;
    cfg_registry_init(&r, 8);
    struct config a, b;
    INTERN(&r, &a, "-bunix:/run/a.sock", "-bunix:/run/b.sock;/b/");
    assert_string_equal(r.names[0], "unix:/run/a.sock");
    assert_string_equal(r.names[1], "unix:/run/b.sock");
    char label[320];
    cfg_backend_label(&a.backends[0], label, sizeof(label));
    assert_string_equal(label, "unix:/run/a.sock");
    /* A reload that keeps a.sock keeps its slot; c.sock is new. */
    INTERN(&r, &b, "-bunix:/run/c.sock;/c/", "-bunix:/run/a.sock;/a/");
    assert_int_equal(b.backends[1].index, a.backends[0].index);
    assert_true(b.backends[1].serial == a.backends[0].serial);
    assert_int_equal(b.backends[0].index, 2);
    assert_int_equal(r.num_live, 3);
    drop(&r, &a);
    assert_false(cfg_registry_retired(&r, 0));
    assert_true(cfg_registry_retired(&r, 1));
    drop(&r, &b);
    cfg_registry_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_backend_same_slot_across_generations),
        cmocka_unit_test(test_freed_slot_is_reused_by_a_new_backend),
        cmocka_unit_test(test_retired_slot_comes_back_with_its_backend),
        cmocka_unit_test(test_needed_counts_each_new_identity_once),
        cmocka_unit_test(test_labels_stay_unique_across_reuse),
        cmocka_unit_test(test_unix_backend_slot_and_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
