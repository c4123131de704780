/* libFuzzer target: arbitrary bytes through the real HTTP/2 server glue
 * (proxy/h2srv.c, proxy/cconn.c, proxy/xchg.c and the upstream side they
 * drive), in a real worker loop, with an in-process HTTP/1.1 backend
 * (fuzz/proxy_rig.h: the worker, the backend and its mode byte, the
 * checks made after each input).
 *
 * Input: byte 0 chooses how the backend behaves (RIG_* bits); the rest is
 * written to the client socket after the HTTP/2 client preface, which the
 * target sends first. Whatever h2gate sends the client is read and
 * dropped. With FUZZ_H2SRV_VERBOSE set in the environment, each input
 * ends with one line on stderr: requests the backend answered and the
 * frame types the client got (for checking that seeds reach the backend
 * and back). The backend is strict, as h1srv's: what h2gate sends it
 * must parse as HTTP/1.1 requests, but for a method http-parser does not
 * know (an HTTP/2 request may carry any token, and that is the origin's
 * to refuse). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/proxy_rig.h"

static const char client_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static bool verbose;

/* What the client received, frame by frame (verbose mode only). */
struct frames_seen {
    uint8_t hd[9];
    size_t hd_len;
    size_t skip;                /* payload bytes of the current frame left */
    unsigned num[11];           /* per frame type; [10]: unknown types */
};

static struct frames_seen seen;

static void count_frames(const uint8_t *p, size_t len)
{
    while (len) {
        if (seen.skip) {
            size_t n = len < seen.skip ? len : seen.skip;
            seen.skip -= n;
            p += n;
            len -= n;
            continue;
        }
        seen.hd[seen.hd_len++] = *p++;
        len--;
        if (seen.hd_len == 9) {
            seen.num[seen.hd[3] < 10 ? seen.hd[3] : 10]++;
            seen.skip = (size_t)seen.hd[0] << 16 | (size_t)seen.hd[1] << 8 | seen.hd[2];
            seen.hd_len = 0;
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rig_init("FUZZ_H2SRV_VERBOSE");
    verbose = getenv("FUZZ_H2SRV_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct rig_target t = { .name = "h2srv",
                                         .preface = client_preface,
                                         .preface_len = sizeof(client_preface) - 1,
                                         .backend_strict = true,
                                         .backend_any_method = true };
    struct rig_target tv = t;
    if (verbose) {
        memset(&seen, 0, sizeof(seen));
        tv.client_got = count_frames;
    }
    unsigned answered = rig_run(&tv, data, size);
    if (verbose) {
        static const char *const names[] = { "DATA",    "HEADERS", "PRIORITY", "RST_STREAM",
                                             "SETTINGS", "PUSH",   "PING",     "GOAWAY",
                                             "WINDOW_UPDATE", "CONTINUATION", "other" };
        fprintf(stderr, "h2srv: mode 0x%02x, backend answered %u; client got", size ? data[0] : 0,
                answered);
        for (size_t i = 0; i < 11; i++) {
            if (seen.num[i])
                fprintf(stderr, " %s %u", names[i], seen.num[i]);
        }
        fprintf(stderr, "\n");
    }
    return 0;
}
