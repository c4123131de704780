/* Unit tests for config/upgrade.c: the --allow-upgrade list and matching
 * an Upgrade field value against it. */
#include "tests/unit/config/helpers.h"

#include "config/parse.h"

static void test_upgrades(void **state)
{
    (void)state;
    assert_null(cfg_parse_upgrades(STR_LIT("foo")));
    assert_null(cfg_parse_upgrades(STR_LIT("foo, Bar-1 ,x.y")));
    assert_non_null(cfg_parse_upgrades(STR_LIT("")));
    assert_non_null(cfg_parse_upgrades(STR_LIT("foo,,bar")));
    assert_non_null(cfg_parse_upgrades(STR_LIT("foo/1")));
    assert_non_null(cfg_parse_upgrades(STR_LIT("a b")));
    assert_non_null(strstr(cfg_parse_upgrades(STR_LIT("foo,H2C")), "h2c"));
    struct config cfg = { .allow_upgrade = (char *)"foo, bar" };
    struct str t = cfg_upgrade_allowed(&cfg, STR_LIT("baz, BAR/2"));
    assert_true(str_eq(t, STR_LIT("bar")));
    assert_true(str_eq(cfg_upgrade_allowed(&cfg, STR_LIT("foo")), STR_LIT("foo")));
    assert_int_equal(cfg_upgrade_allowed(&cfg, STR_LIT("baz, h2c")).len, 0);
    assert_int_equal(cfg_upgrade_allowed(&cfg, STR_LIT("")).len, 0);
    cfg.allow_upgrade = NULL;
    assert_int_equal(cfg_upgrade_allowed(&cfg, STR_LIT("foo")).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrades),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
