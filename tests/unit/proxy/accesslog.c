/* Unit tests for proxy/accesslog.c: format compilation, line rendering
 * (nghttpx's variables and escaping) and the per-worker writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "proxy/accesslog.h"
#include "proxy/hdrs.h"

/* 2024-02-01T10:20:30.123Z */
#define T0 1706782830.123

static struct hdrs req_hdrs;

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    hdrs_init(&req_hdrs, 65536, 100);
    hdrs_add(&req_hdrs, STR_LIT(":method"), STR_LIT("GET"), true);
    hdrs_add(&req_hdrs, STR_LIT("Referer"), STR_LIT("https://example.org/start"), true);
    hdrs_add(&req_hdrs, STR_LIT("User-Agent"), STR_LIT("curl/8.5.0"), true);
    hdrs_add(&req_hdrs, STR_LIT("X-Request-Id"), STR_LIT("abc-123"), true);
    hdrs_add(&req_hdrs, STR_LIT("Host"), STR_LIT("h1.example"), true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hdrs_cleanup(&req_hdrs);
    return 0;
}

static struct alog_entry sample(void)
{
    return (struct alog_entry){
        .remote_addr = STR_LIT("192.0.2.7"),
        .remote_port = 51234,
        .server_port = 8443,
        .start_time = T0,
        .request_time_s = 0.0425,
        .method = STR_LIT("GET"),
        .path = STR_LIT("/a/b.html?x=1&y=2"),
        .authority = STR_LIT("www.example.com"),
        .scheme = STR_LIT("https"),
        .protocol = "HTTP/2",
        .status = 200,
        .body_bytes_sent = 1234,
        .alpn = "h2",
        .tls_protocol = "TLSv1.3",
        .tls_cipher = "TLS_AES_128_GCM_SHA256",
        .backend_host = STR_LIT("10.0.0.5"),
        .backend_port = 8080,
        .req_headers = &req_hdrs,
    };
}

/* Compiles fmt, renders e, returns the heap line (with its '\n'). */
static char *render(const char *fmt, const struct alog_entry *e)
{
    char err[128];
    struct alog_format *f = alog_format_compile(fmt, err, sizeof(err));
    if (!f)
        fail_msg("compile \"%s\": %s", fmt, err);
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    alog_render(f, e, &q);
    size_t n = bufq_len(&q);
    char *s = xmalloc(n + 1);
    bufq_read(&q, s, n);
    s[n] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    alog_format_free(f);
    return s;
}

#define assert_renders(fmt, e, expected)        \
    do {                                        \
        char *got_ = render((fmt), (e));        \
        assert_string_equal(got_, expected "\n"); \
        free(got_);                             \
    } while (0)

static void test_default_format_byte_for_byte(void **state)
{
    (void)state;
    assert_string_equal(alog_default_format(),
                        "$remote_addr - - [$time_local] \"$request\" $status $body_bytes_sent "
                        "\"$http_referer\" \"$http_user_agent\"");
    struct alog_entry e = sample();
    assert_renders(alog_default_format(), &e,
                   "192.0.2.7 - - [01/Feb/2024:10:20:30 +0000] \"GET /a/b.html?x=1&y=2 HTTP/2\" "
                   "200 1234 \"https://example.org/start\" \"curl/8.5.0\"");

    e.protocol = "HTTP/1.1";
    e.req_headers = NULL;
    e.status = 404;
    e.body_bytes_sent = 0;
    assert_renders(alog_default_format(), &e,
                   "192.0.2.7 - - [01/Feb/2024:10:20:30 +0000] \"GET /a/b.html?x=1&y=2 "
                   "HTTP/1.1\" 404 0 \"-\" \"-\"");
}

static void test_each_variable(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    static const uint8_t sid[] = { 0x01, 0xab, 0xff };
    e.tls_session_id = sid;
    e.tls_session_id_len = sizeof(sid);
    e.tls_sni = STR_LIT("www.example.com");
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

    assert_renders("$remote_addr", &e, "192.0.2.7");
    assert_renders("$remote_port", &e, "51234");
    assert_renders("$server_port", &e, "8443");
    assert_renders("$time_local", &e, "01/Feb/2024:10:20:30 +0000");
    assert_renders("$time_iso8601", &e, "2024-02-01T10:20:30.123Z");
    assert_renders("$request", &e, "GET /a/b.html?x=1&y=2 HTTP/2");
    assert_renders("$method", &e, "GET");
    assert_renders("$path", &e, "/a/b.html?x=1&y=2");
    assert_renders("$path_without_query", &e, "/a/b.html");
    assert_renders("$protocol_version", &e, "HTTP/2");
    assert_renders("$status", &e, "200");
    assert_renders("$body_bytes_sent", &e, "1234");
    assert_renders("$request_time", &e, "0.042");
    assert_renders("$alpn", &e, "h2");
    assert_renders("$tls_cipher|$ssl_cipher", &e, "TLS_AES_128_GCM_SHA256|TLS_AES_128_GCM_SHA256");
    assert_renders("$tls_protocol|$ssl_protocol", &e, "TLSv1.3|TLSv1.3");
    assert_renders("$tls_session_id|$ssl_session_id", &e, "01abff|01abff");
    assert_renders("$tls_session_reused", &e, ".");
    e.tls_session_reused = true;
    assert_renders("$ssl_session_reused", &e, "r");
    assert_renders("$tls_sni", &e, "www.example.com");
    assert_renders("$tls_client_fingerprint_sha256 $tls_client_fingerprint_sha1 "
                   "$tls_client_subject_name $tls_client_issuer_name $tls_client_serial",
                   &e, "- - - - -");
    assert_renders("$backend_host:$backend_port", &e, "10.0.0.5:8080");
    assert_renders("$scheme", &e, "https");
    assert_renders("$http_host", &e, "www.example.com");
    assert_renders("$http_x_request_id", &e, "abc-123");
    assert_renders("$duration", &e, "0.042");
    assert_renders("$tunnel_target $tunnel_bytes_in $tunnel_bytes_out", &e, "- - -");

    char *got = render("$pid", &e);
    assert_string_equal(got, pid);
    free(got);

    /* ${name} form, case-insensitive names, literals around variables */
    assert_renders("<${status}>${STATUS}x$Remote_Addr.", &e, "<200>200x192.0.2.7.");
    assert_renders("no variables", &e, "no variables");
    assert_renders("", &e, "");

    /* request_time: milliseconds, truncated, zero-padded */
    e.request_time_s = 12.0059;
    assert_renders("$request_time", &e, "12.005");
    e.request_time_s = -1;
    assert_renders("$request_time", &e, "0.000");
}

static void test_cleartext_and_missing_values(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    e.tls_protocol = e.tls_cipher = NULL;
    e.alpn = NULL;
    e.backend_host = STR_NULL;
    e.protocol = NULL;
    e.authority = STR_NULL;
    assert_renders("$tls_cipher $tls_protocol $tls_session_id $tls_session_reused $tls_sni", &e,
                   "- - - - -");
    assert_renders("$alpn $backend_host $backend_port $protocol_version", &e, "- - - -");
    /* $http_host falls back to the Host header, then "-" */
    assert_renders("$http_host", &e, "h1.example");
    e.req_headers = NULL;
    assert_renders("$http_host $http_user_agent", &e, "- -");

    /* empty path: "-", or "*" for OPTIONS */
    e.path = STR_NULL;
    assert_renders("$path", &e, "-");
    e.method = STR_LIT("OPTIONS");
    assert_renders("$path", &e, "*");
}

static void test_http_header_lookup(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    assert_renders("\"$http_user_agent\"", &e, "\"curl/8.5.0\"");
    assert_renders("$HTTP_USER_AGENT", &e, "curl/8.5.0");
    assert_renders("${http_referer}", &e, "https://example.org/start");
    assert_renders("$http_x_missing", &e, "-");
    assert_renders("[$http_cookie]", &e, "[-]");
}

static void test_unknown_variable_is_an_error(void **state)
{
    (void)state;
    char err[128];
    assert_null(alog_format_compile("$remote_addr $bogus_var [$time_local]", err, sizeof(err)));
    assert_non_null(strstr(err, "$bogus_var"));
    assert_null(alog_format_compile("${nope}", err, sizeof(err)));
    assert_non_null(strstr(err, "nope"));
    assert_null(alog_format_compile("cost $ 5", err, sizeof(err)));
    assert_non_null(strstr(err, "offset 5"));
    assert_null(alog_format_compile("${status", err, sizeof(err)));
    assert_non_null(strstr(err, "'}'"));
    assert_null(alog_format_compile("$http_", err, sizeof(err)));
    assert_null(alog_format_compile("trailing $", err, sizeof(err)));
    struct alog_format *f = alog_format_compile(alog_default_tunnel_format(), err, sizeof(err));
    assert_non_null(f);
    alog_format_free(f);
    alog_format_free(NULL);
}

static void test_escaping(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    struct hdrs h;
    hdrs_init(&h, 4096, 10);
    hdrs_add(&h, STR_LIT("user-agent"), STR_LIT("evil\"agent\\\x01\x7f\xc3\xa9"), false);
    e.req_headers = &h;
    e.path = STR_LIT("/p\"q\n");
    assert_renders("\"$http_user_agent\"", &e, "\"evil\\x22agent\\x5c\\x01\\x7f\\xc3\\xa9\"");
    assert_renders("\"$request\"", &e, "\"GET /p\\x22q\\x0a HTTP/2\"");
    assert_renders("$path_without_query", &e, "/p\\x22q\\x0a");
    /* literal text from the operator is written as is */
    assert_renders("a\"b", &e, "a\"b");
    hdrs_cleanup(&h);
}

static void test_long_line_is_cut(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    struct hdrs h;
    hdrs_init(&h, 65536, 10);
    static char big[10000];
    memset(big, 'a', sizeof(big));
    hdrs_add(&h, STR_LIT("user-agent"), str_make(big, sizeof(big)), false);
    e.req_headers = &h;
    char *got = render("$status $http_user_agent $status", &e);
    assert_int_equal(strlen(got), ALOG_MAX_LINE);
    assert_int_equal(got[ALOG_MAX_LINE - 1], '\n');
    assert_memory_equal(got, "200 aaa", 7);
    free(got);

    /* an escape that does not fit whole is left out */
    memset(big, '"', sizeof(big));
    hdrs_reset(&h);
    hdrs_add(&h, STR_LIT("user-agent"), str_make(big, sizeof(big)), false);
    got = render("$http_user_agent", &e);
    assert_true(strlen(got) <= ALOG_MAX_LINE);
    assert_int_equal((strlen(got) - 1) % 4, 0);
    assert_memory_equal(got + strlen(got) - 5, "\\x22\n", 5);
    free(got);
    hdrs_cleanup(&h);
}

static void test_connect_and_tunnel(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    e.method = STR_LIT("CONNECT");
    e.path = STR_NULL;
    e.authority = STR_LIT("db.internal:5432");
    e.is_tunnel = true;
    e.tunnel_target = STR_LIT("db.internal:5432");
    e.tunnel_bytes_up = 512;
    e.tunnel_bytes_down = 70000;
    e.request_time_s = 61.5;
    e.body_bytes_sent = 70000;
    e.backend_host = STR_NULL;
    assert_renders("\"$request\" $path $path_without_query", &e,
                   "\"CONNECT db.internal:5432 HTTP/2\" db.internal:5432 db.internal:5432");
    assert_renders("$tunnel_target $duration $tunnel_bytes_in $tunnel_bytes_out $backend_host",
                   &e, "db.internal:5432 61.500 512 70000 -");
    assert_renders(alog_default_tunnel_format(), &e,
                   "192.0.2.7 - - [01/Feb/2024:10:20:30 +0000] \"CONNECT db.internal:5432 "
                   "HTTP/2\" 200 70000 \"https://example.org/start\" \"curl/8.5.0\" 61.500 512 "
                   "70000");
    /* HTTP/1.1 CONNECT without :authority: the tunnel target */
    e.authority = STR_NULL;
    e.protocol = "HTTP/1.1";
    assert_renders("$request", &e, "CONNECT db.internal:5432 HTTP/1.1");
    /* RFC 8441 extended CONNECT (a WebSocket): its :path, as a request */
    e.protocol = "HTTP/2";
    e.authority = STR_LIT("ws.test");
    e.path = STR_LIT("/chat?room=1");
    e.ext_connect = true;
    assert_renders("\"$request\" $path $path_without_query", &e,
                   "\"CONNECT /chat?room=1 HTTP/2\" /chat?room=1 /chat");
}

static void test_time_zone_offsets(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    setenv("TZ", "JST-9", 1);
    tzset();
    e.start_time = T0 + 3600.5; /* another second: the per-thread cache must miss */
    assert_renders("$time_local|$time_iso8601", &e,
                   "01/Feb/2024:20:20:30 +0900|2024-02-01T20:20:30.623+09:00");
    setenv("TZ", "<-0330>3:30", 1);
    tzset();
    e.start_time = T0 + 7200;
    assert_renders("$time_local|$time_iso8601", &e,
                   "01/Feb/2024:08:50:30 -0330|2024-02-01T08:50:30.123-03:30");
    setenv("TZ", "UTC", 1);
    tzset();
}

/* ---- writer ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = xmalloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return s;
}

static void temp_path(char *buf, size_t len, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/h2gate-alog-%ld-%s.log", dir ? dir : "/tmp", (long)getpid(), tag);
    unlink(buf);
}

static void test_writer_buffers_and_flushes_whole_lines(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof(path), "basic");
    struct alog_writer *w = alog_writer_new(path);
    assert_non_null(w);
    char err[64];
    struct alog_format *f = alog_format_compile("$status $body_bytes_sent", err, sizeof(err));
    struct alog_entry e = sample();

    e.body_bytes_sent = 1;
    alog_write(w, f, &e);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0); /* buffered until the flush */
    assert_int_equal(alog_writer_flush(w), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 6); /* "200 1\n" */

    /* passing ALOG_FLUSH_BYTES flushes by itself, in whole lines */
    for (int i = 0; i < 5000; i++) {
        e.body_bytes_sent = (uint64_t)i;
        alog_write(w, f, &e);
    }
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > ALOG_FLUSH_BYTES);
    size_t len;
    char *s = read_file(path, &len);
    assert_int_equal(s[len - 1], '\n');
    free(s);
    alog_writer_free(w); /* flushes the rest */

    s = read_file(path, &len);
    char *line = s, *nl;
    int i = -1;
    while ((nl = strchr(line, '\n')) != NULL) {
        char want[32];
        snprintf(want, sizeof(want), "200 %d", i < 0 ? 1 : i);
        assert_int_equal((size_t)(nl - line), strlen(want));
        assert_memory_equal(line, want, strlen(want));
        line = nl + 1;
        i++;
    }
    assert_int_equal(i, 5000);
    assert_int_equal(*line, '\0');
    free(s);
    alog_format_free(f);
    unlink(path);
}

static void test_writer_reopen_after_rename(void **state)
{
    (void)state;
    char path[256], rotated[300];
    temp_path(path, sizeof(path), "rot");
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    unlink(rotated);
    struct alog_writer *w = alog_writer_new(path);
    assert_non_null(w);
    char err[64];
    struct alog_format *f = alog_format_compile("line $status", err, sizeof(err));
    struct alog_entry e = sample();

    alog_write(w, f, &e);
    alog_writer_flush(w);
    assert_int_equal(rename(path, rotated), 0);
    e.status = 301;
    alog_write(w, f, &e); /* buffered before the signal: belongs to the old file */
    assert_int_equal(alog_writer_reopen(w), 0);
    e.status = 404;
    alog_write(w, f, &e);
    alog_writer_free(w);

    size_t len;
    char *s = read_file(rotated, &len);
    assert_string_equal(s, "line 200\nline 301\n");
    free(s);
    s = read_file(path, &len);
    assert_string_equal(s, "line 404\n");
    free(s);

    /* a failed reopen keeps the old fd */
    char dir[256];
    temp_path(dir, sizeof(dir), "dir");
    assert_int_equal(mkdir(dir, 0700), 0);
    char inner[300];
    snprintf(inner, sizeof(inner), "%s/x.log", dir);
    w = alog_writer_new(inner);
    assert_non_null(w);
    assert_int_equal(unlink(inner), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_true(alog_writer_reopen(w) < 0);
    alog_write(w, f, &e);
    assert_int_equal(alog_writer_flush(w), 0); /* still writes to the unlinked file */
    alog_writer_free(w);

    assert_null(alog_writer_new("/nonexistent-dir/x.log"));
    alog_writer_free(NULL);
    alog_format_free(f);
    unlink(path);
    unlink(rotated);
}

struct thread_arg {
    const char *path;
    const struct alog_format *f;
    int id;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;
    struct alog_writer *w = alog_writer_new(a->path);
    struct alog_entry e = sample();
    e.status = 200 + a->id;
    for (int i = 0; i < 20000; i++) {
        e.body_bytes_sent = (uint64_t)i;
        alog_write(w, a->f, &e);
        if (i % 100 == 0)
            alog_writer_flush(w);
    }
    alog_writer_free(w);
    return NULL;
}

/* Two workers, two writers, one file: every line arrives whole. */
static void test_two_writers_never_interleave_lines(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof(path), "mt");
    char err[64];
    struct alog_format *f = alog_format_compile(
        "$status $body_bytes_sent $http_user_agent $request $http_referer", err, sizeof(err));
    struct thread_arg args[2] = { { path, f, 0 }, { path, f, 1 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, writer_thread, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);

    size_t len;
    char *s = read_file(path, &len);
    int next[2] = { 0, 0 };
    char *line = s, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        int status, n;
        char rest[256];
        assert_int_equal(sscanf(line, "%d %d %255[^\n]", &status, &n, rest), 3);
        assert_true(status == 200 || status == 201);
        assert_int_equal(n, next[status - 200]); /* each writer's lines in order */
        next[status - 200]++;
        assert_string_equal(rest, "curl/8.5.0 GET /a/b.html?x=1&y=2 HTTP/2 "
                                  "https://example.org/start");
        line = nl + 1;
    }
    assert_int_equal(next[0], 20000);
    assert_int_equal(next[1], 20000);
    free(s);
    alog_format_free(f);
    unlink(path);
}

static void test_writer_to_pipe(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
    struct alog_writer *w = alog_writer_new(path);
    assert_non_null(w);
    char err[64];
    struct alog_format *f = alog_format_compile("$status $http_x_request_id", err, sizeof(err));
    struct alog_entry e = sample();
    for (int i = 0; i < 3; i++)
        alog_write(w, f, &e);
    assert_int_equal(alog_writer_flush(w), 0);
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    assert_int_equal(n, 3 * 12);
    buf[n] = '\0';
    assert_string_equal(buf, "200 abc-123\n200 abc-123\n200 abc-123\n");
    assert_int_equal(alog_writer_reopen(w), 0);
    alog_writer_free(w);
    alog_format_free(f);
    close(p[0]);
    close(p[1]);

    /* standard output is borrowed, never closed */
    w = alog_writer_new("-");
    assert_non_null(w);
    assert_int_equal(alog_writer_reopen(w), 0);
    alog_writer_free(w);
    assert_true(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_format_byte_for_byte),
        cmocka_unit_test(test_each_variable),
        cmocka_unit_test(test_cleartext_and_missing_values),
        cmocka_unit_test(test_http_header_lookup),
        cmocka_unit_test(test_unknown_variable_is_an_error),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_long_line_is_cut),
        cmocka_unit_test(test_connect_and_tunnel),
        cmocka_unit_test(test_time_zone_offsets),
        cmocka_unit_test(test_writer_buffers_and_flushes_whole_lines),
        cmocka_unit_test(test_writer_reopen_after_rename),
        cmocka_unit_test(test_two_writers_never_interleave_lines),
        cmocka_unit_test(test_writer_to_pipe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
