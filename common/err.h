/* The one error vocabulary: fallible functions return 0 or a negative
 * enum h2g_err. */
#ifndef H2G_COMMON_ERR_H
#define H2G_COMMON_ERR_H

#define H2G_ERR_MAP(X)                                              \
    X(NOMEM, "out of memory")                                       \
    X(INVAL, "invalid argument")                                    \
    X(IO, "i/o error")                                              \
    X(EOF, "peer closed the connection")                            \
    X(RESET, "connection reset by peer")                            \
    X(TLS, "TLS error")                                             \
    X(PROTO, "protocol error")                                      \
    X(TOO_BIG, "message too large")                                 \
    X(TIMEOUT, "timed out")                                         \
    X(REFUSED, "connection refused")                                \
    X(NOROUTE, "no route")                                          \
    X(BACKEND, "backend error")                                     \
    X(BUSY, "queue full")                                           \
    X(CLOSED, "closed")

enum h2g_err {
    H2G_OK = 0,
#define H2G_ERR_ENUM(name, text) H2G_ERR_##name,
    H2G_ERR_FIRST_ = -100,
    H2G_ERR_MAP(H2G_ERR_ENUM)
#undef H2G_ERR_ENUM
};

/* Returns the log text of err (0 gives "ok"); never NULL. */
const char *h2g_strerror(int err);

#endif
