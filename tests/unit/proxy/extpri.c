/* Unit tests for proxy/extpri.c: RFC 9218 Priority field values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "proxy/extpri.h"

static struct extpri dflt(void)
{
    return (struct extpri){ EXTPRI_URGENCY_DEFAULT, false };
}

/* Parses s over the default; returns the result code. */
static int parse(const char *s, struct extpri *p)
{
    *p = dflt();
    return extpri_parse(str_make(s, strlen(s)), p);
}

static void expect(const char *s, unsigned urgency, bool incremental)
{
    struct extpri p;
    assert_int_equal(parse(s, &p), 0);
    assert_int_equal(p.urgency, urgency);
    assert_int_equal(p.incremental, incremental);
}

static void expect_bad(const char *s)
{
    struct extpri p;
    assert_int_equal(parse(s, &p), H2G_ERR_PROTO);
    assert_int_equal(p.urgency, EXTPRI_URGENCY_DEFAULT);
    assert_false(p.incremental);
}

static void test_urgency_and_incremental(void **state)
{
    (void)state;
    expect("u=0", 0, false);
    expect("u=7", 7, false);
    expect("i", 3, true);
    expect("u=1, i", 1, true);
    expect("i, u=5", 5, true);
    expect("u=2,i", 2, true);
    expect("i=?1", 3, true);
    expect("i=?0", 3, false);
    expect("", 3, false);
    /* An empty field value as nghttp2 hands it over: no pointer at all. */
    struct extpri none = dflt();
    assert_int_equal(extpri_parse(str_make(NULL, 0), &none), 0);
    assert_int_equal(none.urgency, EXTPRI_URGENCY_DEFAULT);
    assert_false(none.incremental);
    expect("   u=4", 4, false);
    expect("u=4 \t, i", 4, true);
}

static void test_ignored_values(void **state)
{
    (void)state;
    /* RFC 9218 §4: out of range or of the wrong type: ignored. */
    expect("u=8", 3, false);
    expect("u=-1", 3, false);
    expect("u=1.5", 3, false);
    expect("u=\"1\"", 3, false);
    expect("u=?1", 3, false);
    expect("u", 3, false); /* a bare key is a boolean */
    expect("i=1", 3, false);
    expect("i=tok", 3, false);
    expect("u=(1 2)", 3, false);
    /* Unknown members and parameters of every kind. */
    expect("x=\"a\\\"b\", u=6, y=:AAE=:, z=(1 \"s\" tok);q=1, w=*t/x:y, d=-0.25", 6, false);
    expect("u=2;foo=bar, i;x", 2, true);
    expect("*k=1, u=0", 0, false);
}

static void test_last_one_wins(void **state)
{
    (void)state;
    expect("u=1, u=6", 6, false);
    expect("u=1, u=9", 3, false); /* {u: 9}, then ignored */
    expect("i, i=?0", 3, false);
}

static void test_amends(void **state)
{
    (void)state;
    /* What the value does not say stays: a backend's "u=7" keeps the
     * client's incremental flag. */
    struct extpri p = { 1, true };
    assert_int_equal(extpri_parse(STR_LIT("u=7"), &p), 0);
    assert_int_equal(p.urgency, 7);
    assert_true(p.incremental);
    assert_int_equal(extpri_parse(STR_LIT("i=?0"), &p), 0);
    assert_int_equal(p.urgency, 7);
    assert_false(p.incremental);
    assert_int_equal(extpri_parse(STR_LIT("foo"), &p), 0);
    assert_int_equal(p.urgency, 7);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("u=1,");
    expect_bad(",u=1");
    expect_bad("u=1 i");
    expect_bad("U=1");
    expect_bad("u=");
    expect_bad("u=1;");
    expect_bad("u=1;X=2");
    expect_bad("u=\"open");
    expect_bad("u=\"bad\\q\"");
    expect_bad("u=1234567890123456");
    expect_bad("u=1.2345");
    expect_bad("u=1.");
    expect_bad("u=?2");
    expect_bad("u=:abc");
    expect_bad("u=(1 2");
    expect_bad("u=(1,2)");
    expect_bad("u=@");
    expect_bad("i, u=2,, x");
    /* A NUL inside the view is not the end of the value. */
    struct extpri p = dflt();
    assert_int_equal(extpri_parse(str_make("u=1\0, i", 7), &p), H2G_ERR_PROTO);
    /* Read to its length, not a byte further. */
    p = dflt();
    assert_int_equal(extpri_parse(str_make("u=5,junk", 3), &p), 0);
    assert_int_equal(p.urgency, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urgency_and_incremental),
        cmocka_unit_test(test_ignored_values),
        cmocka_unit_test(test_last_one_wins),
        cmocka_unit_test(test_amends),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("proxy/extpri", tests, NULL, NULL);
}
