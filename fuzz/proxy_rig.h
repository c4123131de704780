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
 * crash).
 *
 * A target with backend_raw set fuzzes the other side: its client bytes
 * are fixed requests, and the backend answers each connection with the
 * input's bytes (rig_run_input); once those are out and the loop is idle,
 * the backend closes every connection before the client half-closes. */
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
    /* ... but for a method http-parser does not know (an HTTP/2 request
     * may carry any token; an origin says what it takes). */
    bool backend_any_method;
    /* The backend answers the first request on each connection (at its
     * head with RIG_AT_HEAD, else at its end) with struct rig_input's
     * backend bytes instead of the RIG_* answers, then reads and drops
     * what else comes (it may be a tunnel's bytes after a 101). */
    bool backend_raw;
};

/* One input in parts. */
struct rig_input {
    unsigned mode;              /* RIG_* bits */
    const uint8_t *client;      /* written after the target's preface */
    size_t client_len;
    const uint8_t *backend;     /* backend_raw: each connection's answer */
    size_t backend_len;
    size_t backend_chunk;       /* bytes written per round (0: all at once) */
    bool backend_close;         /* close a connection once its answer is out */
    bool backend_h2;            /* h2gate's backend speaks HTTP/2 (;proto=h2):
                                   an empty SETTINGS frame at once, the
                                   answer at h2gate's first HEADERS frame */
};

/* LLVMFuzzerInitialize's work: configuration (one worker, a cleartext
 * frontend, the backend), protocol globals, the backend's listener. Log
 * level INFO when the environment names verbose_env, else FATAL. */
void rig_init(const char *verbose_env);

/* One input through the rig: byte 0 is the mode, the rest the client's
 * bytes. Returns the requests the backend answered. */
unsigned rig_run(const struct rig_target *t, const uint8_t *data, size_t size);

/* The same with the parts given apart. */
unsigned rig_run_input(const struct rig_target *t, const struct rig_input *in);

/* More bytes for the client to write: during a run, a target's answers
 * to what it got (from its client_got); before one, bytes that go out
 * first, ahead of the preface. */
void rig_client_send(const uint8_t *p, size_t len);

#endif
