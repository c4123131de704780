/* libFuzzer target: arbitrary bytes through the real HTTP/1.1 server glue
 * (proxy/h1srv.c, proxy/cconn.c, proxy/xchg.c and the upstream side they
 * drive), in a real worker loop, with an in-process HTTP/1.1 backend
 * (fuzz/proxy_rig.h: the worker, the backend and its mode byte, the
 * checks made after each input).
 *
 * Input: byte 0 chooses how the backend behaves (RIG_* bits); the rest is
 * what an HTTP/1.1 client writes (requests, pipelined or not, bodies,
 * upgrades, CONNECT), as it comes. Beyond the rig's checks, the backend
 * is strict: what h2gate sends it must parse as HTTP/1.1 requests, one
 * after another (after an Upgrade request answered without a 101, the
 * next request), so a request that desynchronises the backend connection
 * (smuggling) is a crash; but for a method http-parser does not know,
 * which h2gate forwards (h1srv.c swap_method) and the origin refuses. With FUZZ_H1SRV_VERBOSE set in the
 * environment, each input ends with one line on stderr: requests the
 * backend answered and the responses the client got (status lines). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/proxy_rig.h"

static bool verbose;
static unsigned responses;
static size_t matched;          /* bytes of "HTTP/1.1 " matched so far */

/* Counts status lines in what the client got, across reads (verbose; the
 * rig's bodies never hold one). */
static void count_responses(const uint8_t *p, size_t len)
{
    static const char mark[] = "HTTP/1.1 ";
    for (size_t i = 0; i < len; i++) {
        matched = (char)p[i] == mark[matched] ? matched + 1 : (char)p[i] == mark[0];
        if (matched == sizeof(mark) - 1) {
            responses++;
            matched = 0;
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rig_init("FUZZ_H1SRV_VERBOSE");
    verbose = getenv("FUZZ_H1SRV_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct rig_target t = { .name = "h1srv",
                                         .backend_strict = true,
                                         .backend_any_method = true };
    struct rig_target tv = t;
    if (verbose) {
        responses = 0;
        matched = 0;
        tv.client_got = count_responses;
    }
    unsigned answered = rig_run(&tv, data, size);
    if (verbose)
        fprintf(stderr, "h1srv: mode 0x%02x, backend answered %u; client got %u responses\n",
                size ? data[0] : 0, answered, responses);
    return 0;
}
