/* Unit tests for config/value.c: durations, sizes, numbers, flags. */
#include "tests/unit/config/helpers.h"

#include "config/parse.h"

static double duration(const char *s)
{
    double d = -1.;
    const char *msg = cfg_parse_duration(str_cstr(s), &d);
    if (msg)
        fail_msg("'%s': %s", s, msg);
    return d;
}

static size_t size(const char *s)
{
    size_t v = 0;
    const char *msg = cfg_parse_size(str_cstr(s), &v);
    if (msg)
        fail_msg("'%s': %s", s, msg);
    return v;
}

static void test_duration_units(void **state)
{
    (void)state;
    assert_true(duration("10s") == 10.);
    assert_true(duration("500ms") == 0.5);
    assert_true(duration("1m") == 60.);
    assert_true(duration("2h") == 7200.);
    assert_true(duration("30") == 30.);
    assert_true(duration("0") == 0.);
    assert_true(duration("10S") == 10.);
    assert_true(duration("250MS") == 0.25);
}

static void test_duration_decimals(void **state)
{
    (void)state;
    assert_true(duration("1.5") == 1.5);
    assert_true(duration("1.5s") == 1.5);
    assert_true(duration("1.5m") == 90.);
    assert_true(duration("0.25h") == 900.);
    assert_true(duration("2.5ms") > 0.0024999 && duration("2.5ms") < 0.0025001);
}

static void test_duration_does_not_touch_out_on_error(void **state)
{
    (void)state;
    double d = 42.;
    assert_non_null(cfg_parse_duration(STR_LIT("x"), &d));
    assert_true(d == 42.);
}

/* One case per bad duration, each asserting on its message. */
#define BAD_DURATION(name, input, substr)                                        \
    static void test_bad_duration_##name(void **state)                           \
    {                                                                            \
        (void)state;                                                             \
        double d;                                                                \
        const char *msg = cfg_parse_duration(STR_LIT(input), &d);                \
        assert_non_null(msg);                                                    \
        if (!strstr(msg, (substr)))                                              \
            fail_msg("'%s' gave \"%s\", wanted \"%s\"", input, msg, (substr));   \
    }
BAD_DURATION(empty, "", "invalid duration")
BAD_DURATION(negative, "-1s", "negative duration")
BAD_DURATION(garbage, "abc", "invalid duration")
BAD_DURATION(bad_unit, "10x", "invalid duration")
BAD_DURATION(trailing_junk, "10s5", "invalid duration")
BAD_DURATION(unit_only, "s", "invalid duration")
BAD_DURATION(dot_without_digits, "1.", "invalid duration")
BAD_DURATION(leading_dot, ".5", "invalid duration")
BAD_DURATION(exponent, "1e3", "invalid duration")
BAD_DURATION(inner_space, "10 s", "invalid duration")
BAD_DURATION(leading_space, " 10s", "invalid duration")
BAD_DURATION(plus_sign, "+5", "invalid duration")
BAD_DURATION(digits_overflow, "99999999999999999999999", "duration too large")
BAD_DURATION(too_large, "1000000000000", "duration too large")
BAD_DURATION(too_large_hours, "300000h", "duration too large")

static void test_size_units(void **state)
{
    (void)state;
    assert_int_equal(size("0"), 0);
    assert_int_equal(size("123"), 123);
    assert_int_equal(size("16K"), 16384);
    assert_int_equal(size("16k"), 16384);
    assert_int_equal(size("1M"), 1048576);
    assert_int_equal(size("1m"), 1048576);
    assert_int_equal(size("1G"), 1073741824);
    assert_int_equal(size("2g"), 2147483648u);
    assert_int_equal(size("64K"), 65536);
}

#define BAD_SIZE(name, input, substr)                                            \
    static void test_bad_size_##name(void **state)                               \
    {                                                                            \
        (void)state;                                                             \
        size_t v = 7;                                                            \
        const char *msg = cfg_parse_size(STR_LIT(input), &v);                    \
        assert_non_null(msg);                                                    \
        assert_int_equal(v, 7);                                                  \
        if (!strstr(msg, (substr)))                                              \
            fail_msg("'%s' gave \"%s\", wanted \"%s\"", input, msg, (substr));   \
    }
BAD_SIZE(empty, "", "invalid size")
BAD_SIZE(negative, "-1", "negative size")
BAD_SIZE(garbage, "abc", "invalid size")
BAD_SIZE(unit_only, "K", "invalid size")
BAD_SIZE(two_letter_unit, "1KB", "invalid size")
BAD_SIZE(decimal, "1.5K", "invalid size")
BAD_SIZE(unknown_unit, "10Q", "invalid size")
BAD_SIZE(trailing_space, "1K ", "invalid size")
BAD_SIZE(digits_overflow, "18446744073709551616", "size too large")
BAD_SIZE(unit_overflow, "17179869184G", "size too large")

static void test_uint(void **state)
{
    (void)state;
    uint64_t v;
    assert_null(cfg_parse_uint(STR_LIT("0"), &v));
    assert_int_equal(v, 0);
    assert_null(cfg_parse_uint(STR_LIT("18446744073709551615"), &v));
    assert_true(v == UINT64_MAX);
}

#define BAD_UINT(name, input, substr)                                            \
    static void test_bad_uint_##name(void **state)                               \
    {                                                                            \
        (void)state;                                                             \
        uint64_t v;                                                              \
        const char *msg = cfg_parse_uint(STR_LIT(input), &v);                    \
        assert_non_null(msg);                                                    \
        if (!strstr(msg, (substr)))                                              \
            fail_msg("'%s' gave \"%s\", wanted \"%s\"", input, msg, (substr));   \
    }
BAD_UINT(empty, "", "not a number")
BAD_UINT(negative, "-3", "negative number")
BAD_UINT(trailing_junk, "12abc", "not a number")
BAD_UINT(hex, "0x10", "not a number")
BAD_UINT(overflow, "18446744073709551616", "number too large")

static void test_flag_values(void **state)
{
    (void)state;
    static const char *const yes[] = { "yes", "true", "1", "on", "YES", "True" };
    static const char *const no[] = { "no", "false", "0", "off", "NO", "False" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        bool b = false;
        assert_null(cfg_parse_flag(str_cstr(yes[i]), &b));
        assert_true(b);
        b = true;
        assert_null(cfg_parse_flag(str_cstr(no[i]), &b));
        assert_false(b);
    }
}

static void test_bad_flag(void **state)
{
    (void)state;
    bool b;
    const char *msg = cfg_parse_flag(STR_LIT("maybe"), &b);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "expected yes or no"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_decimals),
        cmocka_unit_test(test_duration_does_not_touch_out_on_error),
        cmocka_unit_test(test_bad_duration_empty),
        cmocka_unit_test(test_bad_duration_negative),
        cmocka_unit_test(test_bad_duration_garbage),
        cmocka_unit_test(test_bad_duration_bad_unit),
        cmocka_unit_test(test_bad_duration_trailing_junk),
        cmocka_unit_test(test_bad_duration_unit_only),
        cmocka_unit_test(test_bad_duration_dot_without_digits),
        cmocka_unit_test(test_bad_duration_leading_dot),
        cmocka_unit_test(test_bad_duration_exponent),
        cmocka_unit_test(test_bad_duration_inner_space),
        cmocka_unit_test(test_bad_duration_leading_space),
        cmocka_unit_test(test_bad_duration_plus_sign),
        cmocka_unit_test(test_bad_duration_digits_overflow),
        cmocka_unit_test(test_bad_duration_too_large),
        cmocka_unit_test(test_bad_duration_too_large_hours),
        cmocka_unit_test(test_size_units),
        cmocka_unit_test(test_bad_size_empty),
        cmocka_unit_test(test_bad_size_negative),
        cmocka_unit_test(test_bad_size_garbage),
        cmocka_unit_test(test_bad_size_unit_only),
        cmocka_unit_test(test_bad_size_two_letter_unit),
        cmocka_unit_test(test_bad_size_decimal),
        cmocka_unit_test(test_bad_size_unknown_unit),
        cmocka_unit_test(test_bad_size_trailing_space),
        cmocka_unit_test(test_bad_size_digits_overflow),
        cmocka_unit_test(test_bad_size_unit_overflow),
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_bad_uint_empty),
        cmocka_unit_test(test_bad_uint_negative),
        cmocka_unit_test(test_bad_uint_trailing_junk),
        cmocka_unit_test(test_bad_uint_hex),
        cmocka_unit_test(test_bad_uint_overflow),
        cmocka_unit_test(test_flag_values),
        cmocka_unit_test(test_bad_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
