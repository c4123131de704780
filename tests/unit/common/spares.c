/* Unit tests for common/spares.c: reuse order, the cap, the low-water
 * trim and the final free (every object destroyed once). Under
 * AddressSanitizer spares_put keeps nothing: the tests say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "common/spares.h"

struct obj {
    int id;
    void *next_spare;
};

static int destroyed;

static void destroy(void *p)
{
    destroyed++;
    free(p);
}

static struct obj *obj_new(int id)
{
    struct obj *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->id = id;
    return o;
}

#ifdef __SANITIZE_ADDRESS__
static void test_nothing_kept_under_asan(void **state)
{
    (void)state;
    struct spares s;
    spares_init(&s, offsetof(struct obj, next_spare), 0, 8, destroy);
    struct obj *o = obj_new(1);
    assert_false(spares_put(&s, o));
    assert_null(spares_take(&s));
    free(o);
}
#else
static void test_take_reuses_last_put(void **state)
{
    (void)state;
    struct spares s;
    spares_init(&s, offsetof(struct obj, next_spare), 0, 2, destroy);
    assert_null(spares_take(&s));
    struct obj *a = obj_new(1), *b = obj_new(2), *c = obj_new(3);
    assert_true(spares_put(&s, a));
    assert_true(spares_put(&s, b));
    assert_false(spares_put(&s, c)); /* the cap: the caller frees c */
    free(c);
    assert_int_equal(s.num, 2);
    assert_ptr_equal(spares_take(&s), b);
    assert_ptr_equal(spares_take(&s), a);
    assert_null(spares_take(&s));
    free(a);
    free(b);
}

/* A trim frees, beyond the floor, as many as no take needed since the
 * last trim: those still taken and put back in between are kept. */
static void test_trim_by_low_water(void **state)
{
    (void)state;
    struct spares s;
    spares_init(&s, offsetof(struct obj, next_spare), 2, 100, destroy);
    destroyed = 0;
    for (int i = 0; i < 10; i++)
        assert_true(spares_put(&s, obj_new(i)));
    assert_true(spares_trim(&s)); /* low was 0: nothing idle yet */
    assert_int_equal(s.num, 10);
    assert_int_equal(destroyed, 0);
    /* Busy: 6 taken and given back; 4 never left the list. */
    struct obj *taken[6];
    for (int i = 0; i < 6; i++)
        taken[i] = spares_take(&s);
    for (int i = 0; i < 6; i++)
        spares_put(&s, taken[i]);
    assert_true(spares_over_floor(&s));
    assert_true(spares_trim(&s)); /* 4 idle, floor 2: frees 2 */
    assert_int_equal(destroyed, 2);
    assert_int_equal(s.num, 8);
    assert_false(spares_trim(&s)); /* quiet: 8 idle, down to the floor */
    assert_int_equal(s.num, 2);
    assert_int_equal(destroyed, 8);
    assert_false(spares_trim(&s)); /* the floor stays */
    assert_int_equal(s.num, 2);
    assert_false(spares_over_floor(&s));
    spares_free(&s);
    assert_int_equal(destroyed, 10);
    assert_int_equal(s.num, 0);
    assert_null(spares_take(&s));
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef __SANITIZE_ADDRESS__
        cmocka_unit_test(test_nothing_kept_under_asan),
#else
        cmocka_unit_test(test_take_reuses_last_put),
        cmocka_unit_test(test_trim_by_low_water),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
