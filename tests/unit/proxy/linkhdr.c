/* Unit tests for proxy/linkhdr.c: Link field values read for server push,
 * and the :path each target is pushed as. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proxy/linkhdr.h"

/* The preload targets of v, joined with "|". */
static const char *preloads(const char *v)
{
    static char out[512];
    struct str s = str_make(v, strlen(v)), uri;
    size_t pos = 0, n = 0;
    out[0] = 0;
    while (link_next_preload(s, &pos, &uri))
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n ? "|" : "", (int)uri.len,
                              uri.p);
    return out;
}

static void test_preload_links(void **state)
{
    (void)state;
    assert_string_equal(preloads("</a.css>; rel=preload"), "/a.css");
    assert_string_equal(preloads("</a>;rel=preload, <b>; rel=\"Preload stylesheet\"; as=style"),
                        "/a|b");
    assert_string_equal(preloads("</a>; as=style; REL=PRELOAD"), "/a");
    assert_string_equal(preloads(" , </a>; rel=preload ,, </b>; rel=preload"), "/a|/b");
    assert_string_equal(preloads("<https://x/y?q=1>; rel=preload"), "https://x/y?q=1");
}

static void test_not_pushed(void **state)
{
    (void)state;
    assert_string_equal(preloads("</a>; rel=stylesheet"), "");
    assert_string_equal(preloads("</a>; rel=preloaded"), "");
    assert_string_equal(preloads("</a>; rel=preload; nopush"), "");
    assert_string_equal(preloads("</a>; rel=preload; nopush=1, </b>; rel=preload"), "/b");
    assert_string_equal(preloads("</a>; rel=preload; anchor=\"#x\""), "");
    assert_string_equal(preloads("</a>"), "");
    assert_string_equal(preloads(""), "");
}

static void test_malformed_ends_reading(void **state)
{
    (void)state;
    assert_string_equal(preloads("</a>; rel=preload, junk, </b>; rel=preload"), "/a");
    assert_string_equal(preloads("</a; rel=preload"), "");
    assert_string_equal(preloads("</a>; rel=\"preload"), "");
    assert_string_equal(preloads("</a>; =x; rel=preload"), "");
    assert_string_equal(preloads("</a>; rel=preload x, </b>; rel=preload"), "");
}

/* The pushed path of uri for http://host/dir/page?q, or "" for none. */
static const char *path_of(const char *uri)
{
    static char out[64];
    char buf[32];
    size_t n = link_push_path(str_make(uri, strlen(uri)), STR_LIT("http"), STR_LIT("host"),
                              STR_LIT("/dir/page?q"), buf, sizeof(buf));
    snprintf(out, sizeof(out), "%.*s", (int)n, buf);
    return out;
}

static void test_push_path(void **state)
{
    (void)state;
    assert_string_equal(path_of("/a.css"), "/a.css");
    assert_string_equal(path_of("/a.css?v=1#top"), "/a.css?v=1");
    assert_string_equal(path_of("a.css"), "/dir/a.css");
    assert_string_equal(path_of("?r"), "/dir/page?r");
    assert_string_equal(path_of("http://host/x"), "/x");
    assert_string_equal(path_of("HTTP://HOST/x"), "/x");
    assert_string_equal(path_of("http://host"), "/");
    assert_string_equal(path_of("http://host?x"), "/?x");
    assert_string_equal(path_of("//host/x"), "/x");
}

static void test_push_path_refused(void **state)
{
    (void)state;
    assert_string_equal(path_of("http://other/x"), "");
    assert_string_equal(path_of("https://host/x"), "");
    assert_string_equal(path_of("//other/x"), "");
    assert_string_equal(path_of("http://host:8080/x"), "");
    assert_string_equal(path_of("http:x"), "");
    assert_string_equal(path_of("mailto:a@host"), "");
    assert_string_equal(path_of(""), "");
    assert_string_equal(path_of("#frag"), "");
    assert_string_equal(path_of("/a/../b"), "");
    assert_string_equal(path_of("./a"), "");
    assert_string_equal(path_of("/a/."), "");
    assert_string_equal(path_of("/a b"), "");
    assert_string_equal(path_of("//host//x"), "");
    assert_string_equal(path_of("http://host//x"), "");
    assert_string_equal(path_of("/a\x7f"), "");
    assert_string_equal(path_of("/caf\xc3\xa9"), "");
    assert_string_equal(path_of("/0123456789012345678901234567890123"), "");
    /* Dots in the query are not segments. */
    assert_string_equal(path_of("/a?x=/../y"), "/a?x=/../y");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preload_links),
        cmocka_unit_test(test_not_pushed),
        cmocka_unit_test(test_malformed_ends_reading),
        cmocka_unit_test(test_push_path),
        cmocka_unit_test(test_push_path_refused),
    };
    return cmocka_run_group_tests_name("proxy/linkhdr", tests, NULL, NULL);
}
