/* The rig of the fuzz targets that drive the whole proxy (h2srv.c,
 * h1srv.c): a real worker loop, one client connection on a socketpair,
 * and an in-process HTTP/1.1 backend served between loop rounds.
 *
 * Each input gets a fresh worker (wrk_init) and client connection
 * (cconn_new, cleartext), and loses both at the end (wrk_cleanup), so
 * nothing carries over between inputs and LeakSanitizer sees every
 * allocation freed. Input: byte 0 chooses how the backend behaves (the
 * RIG_* bits); the rest is written to the client socket after the
 * target's preface. The loop, the backend and the client's reads run one
 * non-blocking round at a time until nothing moves for a few rounds; then
 * the client half-closes its socket and the loop runs until idle again,
 * after which the connection must be gone (a connection left open is a
 * crash). */
#ifndef H2G_FUZZ_PROXY_RIG_H
#define H2G_FUZZ_PROXY_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The backend parses every connection it accepts with http-parser as
 * HTTP/1.1 requests and answers each: */
enum {
    RIG_AT_HEAD = 0x01,  /* when its head is complete (else the whole request) */
    RIG_CHUNKED = 0x02,  /* chunked body with a trailer (else Content-Length) */
    RIG_CLOSE = 0x04,    /* "Connection: close", and closes after */
    RIG_CONTINUE = 0x08, /* a 100 Continue first */
    RIG_NO_BODY = 0x10,  /* 204, no body (else 200 "hello") */
    RIG_DROP = 0x20,     /* closes instead of answering */
    RIG_TRUNCATE = 0x40, /* the head and half the body, then closes */
    RIG_SHUTDOWN = 0x80, /* graceful shutdown of the client connection
                            (both steps) once the input is written */
};

struct rig_target {
    const char *name;        /* for messages */
    const char *preface;     /* written to the client socket first */
    size_t preface_len;
    /* What h2gate sent the client, as it comes (may be NULL). */
    void (*client_got)(const uint8_t *p, size_t len);
    /* A request the backend cannot parse is a crash: h2gate sent it
     * bytes that are not HTTP/1.1 (else the backend just closes). */
    bool backend_strict;
};

/* LLVMFuzzerInitialize's work: configuration (one worker, a cleartext
 * frontend, the backend), protocol globals, the backend's listener. Log
 * level INFO when the environment names verbose_env, else FATAL. */
void rig_init(const char *verbose_env);

/* One input through the rig; returns the requests the backend answered. */
unsigned rig_run(const struct rig_target *t, const uint8_t *data, size_t size);

#endif
