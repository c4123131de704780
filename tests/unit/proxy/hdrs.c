/* Unit tests for proxy/hdrs.c, the bounded header field lists: the byte
 * and field caps, hdrs_set_value and hdrs_reserve within them, names
 * lower-cased and values joined from streamed parts, empty fields on a
 * fresh list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "proxy/hdrs.h"

static void test_hdrs_caps(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 10, 2);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("b"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("cc"), STR_LIT("0123456789"), false),
                     H2G_ERR_TOO_BIG);
    assert_int_equal(h.num, 1);
    assert_int_equal(hdrs_add(&h, STR_LIT("c"), STR_LIT("d"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("e"), STR_LIT("f"), false), H2G_ERR_TOO_BIG);
    hdrs_cleanup(&h);
}

/* hdrs_set_value keeps the field's place and name; past a cap the field
 * stays as it was. */
static void test_hdrs_set_value(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 24, 3);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("1"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("loc"), STR_LIT("/x"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("z"), STR_LIT("9"), false), 0);
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/longer")), H2G_ERR_TOO_BIG); /* fields */
    hdrs_remove(&h, 2);
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/much-too-long-a-value")), H2G_ERR_TOO_BIG);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("/x")));
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/longer")), 0);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_name(&h, 0), STR_LIT("a")) && str_eq(hdrs_value(&h, 0), STR_LIT("1")));
    assert_true(str_eq(hdrs_name(&h, 1), STR_LIT("loc")));
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("/longer")));
    hdrs_cleanup(&h);
}

/* hdrs_reserve makes room for exactly what it was asked, within the caps,
 * and the adds after it neither move the storage nor fail; lower-cased
 * names on the inline path too. */
static void test_hdrs_reserve(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 2000, 40);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("b"), false), 0);
    assert_int_equal(hdrs_reserve(&h, 1999, 1), H2G_ERR_TOO_BIG); /* bytes */
    assert_int_equal(hdrs_reserve(&h, 10, 40), H2G_ERR_TOO_BIG);  /* fields */
    assert_int_equal(h.num, 1);
    assert_int_equal(hdrs_reserve(&h, 1998, 39), 0);
    const char *buf = h.buf;
    const struct hdr_off *f = h.f;
    char name[64], value[2000];
    size_t bytes = 0;
    for (int i = 0; i < 39; i++) {
        int n = snprintf(name, sizeof(name), "X-Field-%02d", i);
        int v = i == 38 ? (int)(1998 - bytes - (size_t)n) : snprintf(value, sizeof(value), "V%d", i);
        if (i == 38)
            memset(value, 'v', (size_t)v);
        assert_int_equal(hdrs_add(&h, str_make(name, (size_t)n), str_make(value, (size_t)v), true),
                         0);
        bytes += (size_t)(n + v);
    }
    assert_ptr_equal(h.buf, buf);
    assert_ptr_equal(h.f, f);
    assert_int_equal(h.num, 40);
    assert_int_equal(h.buf_len, 2000);
    assert_true(str_eq(hdrs_name(&h, 1), STR_LIT("x-field-00")));
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("V0")));
    assert_int_equal(hdrs_add(&h, STR_LIT("z"), STR_LIT(""), false), H2G_ERR_TOO_BIG);
    hdrs_cleanup(&h);
}

static void test_hdrs_streaming_parts_lowercase_names(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("Con"), false), 0);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("tent-Type"), true), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("text/")), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("Plain")), 0);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("X"), false), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("1")), 0);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_name(&h, 0), STR_LIT("content-type")));
    assert_true(str_eq(hdrs_value(&h, 0), STR_LIT("text/Plain")));
    assert_int_equal(hdrs_find(&h, STR_LIT("x")), 1);
    assert_int_equal(hdrs_find(&h, STR_LIT("y")), -1);
    hdrs_cleanup(&h);
}

/* Empty names and values on a fresh list never offset a NULL buffer
 * (found by fuzz/hdrs.c; the UBSan build checks it). */
static void test_hdrs_empty_fields_on_fresh_list(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 64, 4);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT(""), false), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("")), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT(""), STR_LIT(""), true), 0);
    assert_int_equal(h.num, 2);
    assert_int_equal(hdrs_name(&h, 1).len, 0);
    assert_int_equal(hdrs_value(&h, 0).len, 0);
    assert_int_equal(hdrs_find(&h, STR_LIT("")), 0);
    hdrs_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdrs_caps),
        cmocka_unit_test(test_hdrs_reserve),
        cmocka_unit_test(test_hdrs_streaming_parts_lowercase_names),
        cmocka_unit_test(test_hdrs_empty_fields_on_fresh_list),
        cmocka_unit_test(test_hdrs_set_value),
    };
    return cmocka_run_group_tests_name("proxy/hdrs", tests, NULL, NULL);
}
