/* Unit tests for config/route.c: grouping -b patterns into routes and
 * matching requests (nghttpx rules). */
#include "tests/unit/config/helpers.h"

#include "config/parse.h"

/* The route with exactly this (host, path) pattern; fails the test if none. */
static const struct cfg_route *route_of(const struct config *cfg, const char *host,
                                        const char *path)
{
    for (size_t i = 0; i < cfg->num_routes; i++) {
        if (strcmp(cfg->routes[i].host, host) == 0 && strcmp(cfg->routes[i].path, path) == 0)
            return &cfg->routes[i];
    }
    fail_msg("no route %s%s", host, path);
    return NULL;
}

static const struct cfg_route *match(const struct config *cfg, const char *host,
                                     const char *path)
{
    return cfg_route_match(cfg, str_cstr(host), str_cstr(path));
}

/* The first backend's port of the route a request matches; 0 when none. */
static unsigned port_for(const struct config *cfg, const char *host, const char *path)
{
    const struct cfg_route *r = match(cfg, host, path);
    return r ? r->backends[0]->port : 0;
}

static void test_no_pattern_is_catch_all(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8080");
    assert_int_equal(cfg.num_routes, 1);
    assert_string_equal(cfg.routes[0].host, "");
    assert_int_equal(cfg.routes[0].host_len, 0);
    assert_string_equal(cfg.routes[0].path, "/");
    assert_int_equal(cfg.routes[0].path_len, 1);
    assert_int_equal(port_for(&cfg, "example.com", "/"), 8080);
    assert_int_equal(port_for(&cfg, "example.com", "/a/b?c"), 8080);
    assert_int_equal(port_for(&cfg, "", "/x"), 8080);
    cfg_cleanup(&cfg);
}

static void test_subtree_pattern(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/api/");
    assert_int_equal(port_for(&cfg, "h", "/api/"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/api/x"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/api/x/y"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/apix"), 0);
    assert_int_equal(port_for(&cfg, "h", "/ap"), 0);
    assert_int_equal(port_for(&cfg, "h", "/"), 0);
    cfg_cleanup(&cfg);
}

static void test_trailing_slash_rule(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/api/");
    /* "/api/" also matches the directory without its trailing slash. */
    assert_int_equal(port_for(&cfg, "h", "/api"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/api?x=1"), 8001);
    cfg_cleanup(&cfg);
}

static void test_exact_pattern(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8002;/exact");
    assert_int_equal(port_for(&cfg, "h", "/exact"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/exact/"), 0);
    assert_int_equal(port_for(&cfg, "h", "/exactly"), 0);
    assert_int_equal(port_for(&cfg, "h", "/exact/x"), 0);
    assert_int_equal(port_for(&cfg, "h", "/exac"), 0);
    cfg_cleanup(&cfg);
}

static void test_exact_beats_trailing_slash_rule(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/alpha/", "-b127.0.0.1,8002;/alpha");
    assert_int_equal(port_for(&cfg, "h", "/alpha"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/alpha/"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/alpha/x"), 8001);
    cfg_cleanup(&cfg);
}

static void test_query_ignored(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8002;/exact");
    assert_int_equal(port_for(&cfg, "h", "/exact?a=1&b=/x/"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/exact?"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/exact#frag"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/exac?t"), 0);
    cfg_cleanup(&cfg);
}

static void test_longest_match_wins(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8000;/", "-b127.0.0.1,8001;/a/",
            "-b127.0.0.1,8002;/a/b/");
    assert_int_equal(port_for(&cfg, "h", "/a/b/c"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/a/b"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/a/c"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/a"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/b"), 8000);
    cfg_cleanup(&cfg);
}

static void test_longest_match_independent_of_order(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8002;/a/b/", "-b127.0.0.1,8001;/a/",
            "-b127.0.0.1,8000;/");
    assert_int_equal(port_for(&cfg, "h", "/a/b/c"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/a/c"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/c"), 8000);
    cfg_cleanup(&cfg);
}

static void test_host_pattern(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8003;example.com/app/");
    const struct cfg_route *r = route_of(&cfg, "example.com", "/app/");
    assert_int_equal(r->host_len, 11);
    assert_int_equal(port_for(&cfg, "example.com", "/app/x"), 8003);
    assert_int_equal(port_for(&cfg, "example.com", "/other"), 0);
    assert_int_equal(port_for(&cfg, "example.org", "/app/x"), 0);
    assert_int_equal(port_for(&cfg, "", "/app/x"), 0);
    cfg_cleanup(&cfg);
}

static void test_host_is_case_insensitive_and_port_stripped(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8003;Example.COM/");
    route_of(&cfg, "example.com", "/");  /* stored lower-cased */
    assert_int_equal(port_for(&cfg, "EXAMPLE.com", "/"), 8003);
    assert_int_equal(port_for(&cfg, "example.com:8443", "/x"), 8003);
    assert_int_equal(port_for(&cfg, "Example.Com:443", "/x"), 8003);
    assert_int_equal(port_for(&cfg, "example.com.evil", "/x"), 0);
    assert_int_equal(port_for(&cfg, "xexample.com", "/x"), 0);
    cfg_cleanup(&cfg);
}

static void test_host_alone_means_host_slash(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8003;example.com",
            "-b127.0.0.1,8004;example.com/");
    /* "example.com" and "example.com/" are one pattern, hence one group. */
    assert_int_equal(cfg.num_routes, 1);
    const struct cfg_route *r = route_of(&cfg, "example.com", "/");
    assert_int_equal(r->num_backends, 2);
    assert_int_equal(port_for(&cfg, "example.com", "/any/path"), 8003);
    assert_int_equal(port_for(&cfg, "example.com", "/"), 8003);
    cfg_cleanup(&cfg);
}

static void test_ipv6_request_host_port_stripped(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8000;/", "-b127.0.0.1,8003;example.com");
    assert_int_equal(port_for(&cfg, "[::1]:8443", "/x"), 8000);
    assert_int_equal(port_for(&cfg, "[::1", "/x"), 8000);
    cfg_cleanup(&cfg);
}

static void test_host_before_path_only(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/b/c/", "-b127.0.0.1,8003;example.com/");
    /* The host pattern wins although the path-only one is longer. */
    assert_int_equal(port_for(&cfg, "example.com", "/a/b/c/d"), 8003);
    assert_int_equal(port_for(&cfg, "other.com", "/a/b/c/d"), 8001);
    cfg_cleanup(&cfg);
}

static void test_host_without_matching_path_falls_back(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8000;/", "-b127.0.0.1,8003;example.com/only/");
    assert_int_equal(port_for(&cfg, "example.com", "/only/x"), 8003);
    assert_int_equal(port_for(&cfg, "example.com", "/other"), 8000);
    cfg_cleanup(&cfg);
}

static void test_no_match_returns_null(void **state)
{
    (void)state;
    struct config cfg;
    /* No catch-all is not an error (unlike nghttpx); unmatched requests get NULL. */
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/api/", "-b127.0.0.1,8003;example.com");
    assert_null(match(&cfg, "other.com", "/"));
    assert_null(match(&cfg, "", "/index.html"));
    assert_null(match(&cfg, "other.com", "/apix"));
    cfg_cleanup(&cfg);
}

static void test_round_robin_group_of_two(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/api/", "-b127.0.0.1,8002;/api/",
            "-b127.0.0.1,8003;/");
    assert_int_equal(cfg.num_backends, 3);
    assert_int_equal(cfg.num_routes, 2);
    const struct cfg_route *r = match(&cfg, "h", "/api/x");
    assert_non_null(r);
    assert_ptr_equal(r, route_of(&cfg, "", "/api/"));
    assert_int_equal(r->num_backends, 2);
    /* In command-line order, pointing into cfg.backends. */
    assert_ptr_equal(r->backends[0], &cfg.backends[0]);
    assert_ptr_equal(r->backends[1], &cfg.backends[1]);
    assert_int_equal(r->backends[0]->port, 8001);
    assert_int_equal(r->backends[1]->port, 8002);
    const struct cfg_route *other = route_of(&cfg, "", "/");
    assert_int_equal(other->num_backends, 1);
    assert_ptr_equal(other->backends[0], &cfg.backends[2]);
    cfg_cleanup(&cfg);
}

static void test_several_patterns_on_one_backend(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/:/b/:example.com");
    assert_int_equal(cfg.num_routes, 3);
    assert_ptr_equal(route_of(&cfg, "", "/a/")->backends[0], &cfg.backends[0]);
    assert_ptr_equal(route_of(&cfg, "", "/b/")->backends[0], &cfg.backends[0]);
    assert_ptr_equal(route_of(&cfg, "example.com", "/")->backends[0], &cfg.backends[0]);
    assert_int_equal(port_for(&cfg, "h", "/b/x"), 8001);
    cfg_cleanup(&cfg);
}

static void test_same_pattern_twice_on_one_backend(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/:/a/");
    assert_int_equal(cfg.num_routes, 1);
    assert_int_equal(cfg.routes[0].num_backends, 1);
    cfg_cleanup(&cfg);
}

static void test_empty_pattern_in_list_is_catch_all(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/:");
    assert_int_equal(cfg.num_routes, 2);
    route_of(&cfg, "", "/");
    assert_int_equal(port_for(&cfg, "h", "/zzz"), 8001);
    cfg_cleanup(&cfg);
}

static void test_path_without_slash_matches_as_root(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8000;/", "-b127.0.0.1,8001;/a/");
    /* "*" (OPTIONS) and an empty path (CONNECT) are matched as "/". */
    assert_int_equal(port_for(&cfg, "h", "*"), 8000);
    assert_int_equal(port_for(&cfg, "h", ""), 8000);
    cfg_cleanup(&cfg);
}

static void test_request_path_normalized(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/public/", "-b127.0.0.1,8002;/admin/");
    assert_int_equal(port_for(&cfg, "h", "/public/../admin/x"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/public/%2e%2e/admin/x"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/%61dmin/x"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/./public/./x"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/public/x/.."), 8001);
    /* %2F is reserved: it stays encoded and is not a separator. */
    assert_int_equal(port_for(&cfg, "h", "/public%2Fx"), 0);
    cfg_cleanup(&cfg);
}

static void test_long_request_path(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/");
    size_t len = 5000;
    char *path = malloc(len + 1);
    assert_non_null(path);
    memcpy(path, "/a/", 3);
    memset(path + 3, 'x', len - 3);
    memcpy(path + len - 6, "/%2e/y", 6);  /* forces the heap normalization buffer */
    path[len] = '\0';
    assert_int_equal(port_for(&cfg, "h", path), 8001);
    free(path);
    cfg_cleanup(&cfg);
}

/* The table in README.md's Routing section. */
static void test_readme_example(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/", "-b127.0.0.1,8002;/a/",
            "-b127.0.0.1,8003;/a/b", "-b127.0.0.1,8004;example.com/");
    assert_int_equal(port_for(&cfg, "other.org", "/a/x?q=1"), 8002);
    assert_int_equal(port_for(&cfg, "other.org", "/a"), 8002);
    assert_int_equal(port_for(&cfg, "other.org", "/a/b"), 8003);
    assert_int_equal(port_for(&cfg, "other.org", "/a/b/c"), 8002);
    assert_int_equal(port_for(&cfg, "example.com:8443", "/a/b"), 8004);
    assert_int_equal(port_for(&cfg, "other.org", "/z"), 8001);
    cfg_cleanup(&cfg);
}

static char *normalize(const char *in)
{
    static char out[256];
    size_t n = cfg_path_normalize(in, strlen(in), out);
    out[n] = '\0';
    return out;
}

static void test_path_normalize(void **state)
{
    (void)state;
    assert_string_equal(normalize("/"), "/");
    assert_string_equal(normalize("/a/b"), "/a/b");
    assert_string_equal(normalize("/a/./b"), "/a/b");
    assert_string_equal(normalize("/a/../b"), "/b");
    assert_string_equal(normalize("/../../a"), "/a");
    assert_string_equal(normalize("/a/.."), "/");
    assert_string_equal(normalize("/a/b/.."), "/a/");
    assert_string_equal(normalize("/a/."), "/a/");
    assert_string_equal(normalize("/a/"), "/a/");
    assert_string_equal(normalize("/a//b"), "/a//b");
    assert_string_equal(normalize("/.a/..b"), "/.a/..b");
    assert_string_equal(normalize("/%7euser"), "/~user");
    assert_string_equal(normalize("/a%2fb"), "/a%2Fb");
    assert_string_equal(normalize("/a%2"), "/a%2");
    assert_string_equal(normalize("/a%zz"), "/a%zz");
}

static void test_pattern_path_normalized(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/a/../b/");
    route_of(&cfg, "", "/b/");
    cfg_cleanup(&cfg);
}

/* nghttpx: "*" first in a host pattern matches any host that ends with
 * the rest and has at least one character before it; an exact host wins
 * over every wildcard, the longest wildcard over shorter ones, and any
 * wildcard over the path-only patterns. */
static void test_wildcard_host(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;*.example.com",
            "-b127.0.0.1,8002;www.example.com", "-b127.0.0.1,8003;*.api.example.com",
            "-b127.0.0.1,8004;/");
    assert_int_equal(cfg.num_wildcard_routes, 2);
    assert_string_equal(route_of(&cfg, "*.example.com", "/")->host, "*.example.com");
    assert_int_equal(port_for(&cfg, "a.example.com", "/x"), 8001);
    assert_int_equal(port_for(&cfg, "A.B.Example.COM:8443", "/"), 8001);
    assert_int_equal(port_for(&cfg, "www.example.com", "/"), 8002);
    assert_int_equal(port_for(&cfg, "v1.api.example.com", "/"), 8003);
    /* Neither of these has a character before ".api.example.com", the
     * suffix of "*.api.example.com"; "*.example.com" fits both. */
    assert_int_equal(port_for(&cfg, ".api.example.com", "/"), 8001);
    assert_int_equal(port_for(&cfg, "api.example.com", "/"), 8001);
    assert_int_equal(port_for(&cfg, "example.com", "/"), 8004);
    assert_int_equal(port_for(&cfg, ".example.com", "/"), 8004);
    assert_int_equal(port_for(&cfg, "xexample.com", "/"), 8004);
    assert_int_equal(port_for(&cfg, "", "/"), 8004);
    /* A request host that spells the pattern is matched as a name. */
    assert_int_equal(port_for(&cfg, "*.example.com", "/"), 8001);
    cfg_cleanup(&cfg);
}

/* The longest wildcard with a matching path wins, then the path decides;
 * an exact host without a matching path falls back to the wildcards. */
static void test_wildcard_host_with_paths(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;*.example.com/",
            "-b127.0.0.1,8002;*.a.example.com/api/", "-b127.0.0.1,8003;*.example.com/api/",
            "-b127.0.0.1,8004;x.a.example.com/static/", "-b127.0.0.1,8005;*example.com/only");
    assert_int_equal(port_for(&cfg, "x.a.example.com", "/api/v"), 8002);
    assert_int_equal(port_for(&cfg, "x.a.example.com", "/static/s"), 8004);
    assert_int_equal(port_for(&cfg, "x.a.example.com", "/other"), 8001);
    assert_int_equal(port_for(&cfg, "b.example.com", "/api/v"), 8003);
    /* Both wildcards fit and have a path for "/only": the longer host
     * pattern wins, although its path match is the shorter. */
    assert_int_equal(port_for(&cfg, "b.example.com", "/only"), 8001);
    assert_int_equal(port_for(&cfg, "myexample.com", "/only"), 8005);
    assert_int_equal(port_for(&cfg, "myexample.com", "/"), 0);
    cfg_cleanup(&cfg);
}

/* nghttpx's wildcard path: "/foo*" matches every longer path that starts
 * with "/foo", across '/', and counts as "/foo" against other patterns. */
static void test_wildcard_path(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,3000;no-tls", "-b127.0.0.1,8001;/foo*", "-b127.0.0.1,8002;/",
            "-b127.0.0.1,8003;/foo/bar/", "-b127.0.0.1,8004;h.example/f*");
    assert_string_equal(route_of(&cfg, "", "/foo*")->path, "/foo*");
    assert_int_equal(port_for(&cfg, "h", "/foobar"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/foo/"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/foo/x/y?q"), 8001);
    assert_int_equal(port_for(&cfg, "h", "/foo"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/fo"), 8002);
    assert_int_equal(port_for(&cfg, "h", "/foo/bar/z"), 8003);
    assert_int_equal(port_for(&cfg, "h", "/bar/../foox"), 8001);
    assert_int_equal(port_for(&cfg, "h.example", "/fx"), 8004);
    assert_int_equal(port_for(&cfg, "h.example", "/f"), 8002);
    cfg_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_pattern_is_catch_all),
        cmocka_unit_test(test_subtree_pattern),
        cmocka_unit_test(test_trailing_slash_rule),
        cmocka_unit_test(test_exact_pattern),
        cmocka_unit_test(test_exact_beats_trailing_slash_rule),
        cmocka_unit_test(test_query_ignored),
        cmocka_unit_test(test_longest_match_wins),
        cmocka_unit_test(test_longest_match_independent_of_order),
        cmocka_unit_test(test_host_pattern),
        cmocka_unit_test(test_host_is_case_insensitive_and_port_stripped),
        cmocka_unit_test(test_host_alone_means_host_slash),
        cmocka_unit_test(test_ipv6_request_host_port_stripped),
        cmocka_unit_test(test_host_before_path_only),
        cmocka_unit_test(test_host_without_matching_path_falls_back),
        cmocka_unit_test(test_no_match_returns_null),
        cmocka_unit_test(test_round_robin_group_of_two),
        cmocka_unit_test(test_several_patterns_on_one_backend),
        cmocka_unit_test(test_same_pattern_twice_on_one_backend),
        cmocka_unit_test(test_empty_pattern_in_list_is_catch_all),
        cmocka_unit_test(test_path_without_slash_matches_as_root),
        cmocka_unit_test(test_request_path_normalized),
        cmocka_unit_test(test_long_request_path),
        cmocka_unit_test(test_readme_example),
        cmocka_unit_test(test_path_normalize),
        cmocka_unit_test(test_pattern_path_normalized),
        cmocka_unit_test(test_wildcard_host),
        cmocka_unit_test(test_wildcard_host_with_paths),
        cmocka_unit_test(test_wildcard_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
