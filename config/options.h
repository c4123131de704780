/* The option table, private to config.c: every option's kind, where its
 * value lands in struct config, its default and its --help text. Kept
 * apart from the loader because it is most of its length and most of its
 * changes. */
#ifndef H2G_CONFIG_OPTIONS_H
#define H2G_CONFIG_OPTIONS_H

#include <stddef.h>

#include "config/config-t.h"

enum opt_kind {
    K_FLAG,     /* no value on the command line; yes/no in the file */
    K_STR,
    K_UPGRADES, /* --allow-upgrade: a token list, stored as given */
    K_NUM,      /* unsigned, range-checked against min..max */
    K_SIZE,     /* 16K, 1M, ...; range-checked */
    K_DUR,
    K_LEVEL,
    K_FRONTEND,
    K_BACKEND,
    K_CRULE_ALLOW, /* --connect-allow: appended to the rule set */
    K_CRULE_DENY,
    K_CONF,
    K_INCLUDE,  /* --include: read another file's options where it stands */
    K_HELP,
    K_VERSION,
    K_PROBE,    /* --probe=URL: cfg_load returns CFG_PROBE at once */
    K_FACILITY, /* --syslog-facility: nghttpx's names, stored as the code */
    K_ESCAPE,   /* --accesslog-escape: default or json (enum cfg_alog_escape) */
    K_FAMILY,   /* --backend-address-family: auto, IPv4 or IPv6 (AF_*) */
    K_FWD_PARAMS, /* --add-forwarded: by,for,host,proto as CFG_FWD_* bits */
    K_FWD_BY,   /* --forwarded-by: obfuscated, ip or an _obfuscated token */
    K_FWD_FOR,  /* --forwarded-for: obfuscated or ip (stored as "is ip") */
    K_FIELD,    /* "name: value", appended to the struct cfg_fields at field */
    K_ERROR_PAGE, /* --error-page: (CODE|*)=PATH, appended to error_pages */
    K_SUBCERT,  /* --subcert: appended to cfg->subcerts */
    K_TLS_VERSION, /* TLSv1.2 or TLSv1.3, stored as CFG_TLS12/CFG_TLS13 */
    K_TICKET_CIPHER, /* aes-128-cbc or aes-256-cbc, stored as the key length */
    K_PATHS,    /* a path appended to the struct cfg_paths at field */
    K_ALTSVC,   /* --altsvc: one alternative joined to the string at field */
};

/* Where a value lands in struct config. */
enum opt_store { ST_NONE, ST_INT, ST_U32, ST_I32, ST_SIZE, ST_U64, ST_DBL, ST_BOOL, ST_STR };

#define I31 2147483647u
/* nghttpx's largest <SIZE> (it reads sizes as a signed 64-bit number). */
#define I63 9223372036854775807u
#define CONF_OFF(field) offsetof(struct config, field)

/* TLS 1.2 suites, frontends' and backends': ECDHE with AEAD only, the
 * ones RFC 9113 §9.2.2 leaves usable (nghttpx's defaults less DHE, which
 * BoringSSL does not have). TLS 1.3 suites are fixed by BoringSSL. */
#define CFG_DEFAULT_CIPHERS                                                                \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                           \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                           \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CFG_DEFAULT_TLS13_CIPHERS                                                          \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* The one option table: getopt_long's table, the config-file names, the
 * defaults and --help all come from it. The default column is parsed like a
 * user value for K_NUM/K_SIZE/K_DUR/K_LEVEL, so --help cannot drift from the
 * real defaults.
 * X(id, group, name, short, kind, arg, min, max, default, field, store, help) */
#define CFG_OPTIONS(X)                                                                     \
    X(FRONTEND, "Connections", "frontend", 'f', K_FRONTEND,                                \
      "(<HOST>,<PORT>|unix:<PATH>)[;no-tls][;proxyproto]", 0, 0,                           \
      "*,3000", frontends, ST_NONE,                                                        \
      "Listen on HOST,PORT; repeat for more addresses. HOST \"*\"\n"                      \
      "means every IPv4 and IPv6 address. TLS (ALPN h2, http/1.1)\n"                      \
      "unless \"no-tls\" is given; a no-tls frontend serves h2c (prior\n"                 \
      "knowledge) and HTTP/1.1. \"proxyproto\": every connection starts\n"                \
      "with a PROXY protocol v1 or v2 header (a load balancer's), whose\n"                \
      "client address is then the client's. A UNIX domain socket is\n"                    \
      "\"unix:\" and its absolute path (unix:/run/h2gate.sock): a stale\n"               \
      "socket there (nobody listening) is replaced, the file removed at\n"               \
      "exit; its clients' address is \"localhost\".")                                      \
    X(BACKEND, "Connections", "backend", 'b', K_BACKEND,                                   \
      "(<HOST>,<PORT>|unix:<PATH>)[;[<PATTERN>[:...]]][;<PARAM>...]", 0, 0, "127.0.0.1,80", \
      backends,                                                                            \
      ST_NONE,                                                                             \
      "Backend address; repeat for more. <PATTERN> is \"/path/\" (that\n"                  \
      "subtree, and \"/path\"), \"/path\" (exactly), \"host/path\" or \"host\"\n"        \
      "(= \"host/\"); none or empty means \"/\" (catch-all). A host may be\n"          \
      "a wildcard \"*.example.com\", a path \"/path*\" (longer paths that\n"         \
      "start with \"/path\"). The exact host is tried first, then\n"                    \
      "wildcard hosts, then paths alone; the longest match wins; a\n"                    \
      "request that matches nothing gets 404. Backends with the same\n"                  \
      "pattern form a group used round-robin. <PARAM>: proto=h2 or\n"                    \
      "proto=http/1.1 (default), tls, sni=<NAME>. \"HOST,PORT;;proto=h2\"\n"          \
      "is the catch-all. A UNIX domain socket is \"unix:\" and its\n"                  \
      "absolute path (unix:/run/app.sock); it is never resolved (no\n"                   \
      "dns), and tls needs sni=<NAME> there (or --insecure).")                            \
    X(BACKEND_ADDRESS_FAMILY, "Connections", "backend-address-family", 0, K_FAMILY,          \
      "<auto|IPv4|IPv6>", 0, 0, "auto", backend_address_family, ST_INT,                    \
      "Which addresses of a backend name become members: both kinds\n"                   \
      "(auto), or only IPv4 or only IPv6 ones, at start, at a reload\n"                  \
      "and for ;dns names. A name with none of that kind fails as one\n"                 \
      "that does not resolve.")                                                            \
    X(BACKLOG, "Connections", "backlog", 0, K_NUM, "<N>", 1, INT32_MAX, "65536", backlog,   \
      ST_INT,                                                                              \
      "Listen backlog of each frontend socket: connections the kernel\n"                  \
      "completes and holds until a worker accepts them (the kernel caps\n"                \
      "it at net.core.somaxconn). A reload applies a new value.")                          \
    X(READ_RATE, "Connections", "read-rate", 0, K_SIZE, "<SIZE>", 0, I63, "0", read_rate,   \
      ST_SIZE,                                                                             \
      "Average bytes a second h2gate reads from each client connection\n"                 \
      "(0: no limit); past it the connection waits.")                                     \
    X(READ_BURST, "Connections", "read-burst", 0, K_SIZE, "<SIZE>", 0, I63, "0", read_burst, \
      ST_SIZE,                                                                             \
      "Bytes a client connection may read at once above --read-rate\n"                    \
      "(0: one second's worth).")                                                          \
    X(WRITE_RATE, "Connections", "write-rate", 0, K_SIZE, "<SIZE>", 0, I63, "0", write_rate, \
      ST_SIZE,                                                                             \
      "Average bytes a second h2gate writes to each client connection\n"                  \
      "(0: no limit).")                                                                    \
    X(WRITE_BURST, "Connections", "write-burst", 0, K_SIZE, "<SIZE>", 0, I63, "0",          \
      write_burst, ST_SIZE,                                                                \
      "Bytes a client connection may be written at once above\n"                          \
      "--write-rate (0: one second's worth).")                                             \
    X(FASTOPEN, "Connections", "fastopen", 0, K_NUM, "<N>", 0, INT32_MAX, "0", fastopen,   \
      ST_INT,                                                                              \
      "TCP Fast Open on each TCP frontend socket: a returning client's\n"                 \
      "request may come with its SYN; N bounds the connections not yet\n"                 \
      "past the handshake that may do so (0: off). The kernel must\n"                     \
      "allow it (net.ipv4.tcp_fastopen & 2). A reload applies a change.")                  \
    X(WORKERS, "Performance", "workers", 'n', K_NUM, "<N>", 1, 256, "usable CPUs",         \
      workers, ST_INT, "Number of worker threads (1-256). Usable CPUs: the affinity\n"     \
      "mask, bounded by a cgroup v2 cpu.max quota rounded up.")                            \
    X(BACKEND_FAIL_CLOSED, "Performance", "backend-fail-closed", 0, K_FLAG, NULL, 0, 0,     \
      NULL, backend_fail_closed, ST_BOOL,                                                  \
      "When every member of a group is down, answer 503 rather than\n"                  \
      "send the request to the member that failed longest ago.")                          \
    X(BACKEND_CONNECTIONS_PER_HOST, "Performance", "backend-connections-per-host", 0,      \
      K_NUM, "<N>", 0, 65535, "0", backend_connections_per_host, ST_SIZE,                  \
      "Upper bound on the HTTP/2 sessions each worker opens to one\n"                     \
      "backend; past it, requests wait for a free stream (503 after\n"                    \
      "--backend-connect-timeout). 0: no bound (a new session when\n"                     \
      "every open one is at the backend's stream limit).\n"                               \
      "HTTP/1.1: see the next option.")                                                    \
    X(BACKEND_HTTP1_CONNECTIONS_PER_HOST, "Performance", "backend-http1-connections-per-host",\
      0, K_NUM, "<N>", 0, 65535, "0", backend_http1_connections_per_host, ST_SIZE,          \
      "Upper bound on the HTTP/1.1 connections each worker has open to\n"                 \
      "one backend member; past it, requests wait in arrival order for\n"                 \
      "one to finish (503 after --backend-connect-timeout). 0: no bound.")                \
    X(RLIMIT_NOFILE, "Performance", "rlimit-nofile", 0, K_NUM, "<N>", 0, UINT64_MAX, "0",  \
      rlimit_nofile, ST_U64,                                                               \
      "Set the open-file limit (RLIMIT_NOFILE) to N; 0 raises the\n"                      \
      "soft limit to the hard limit.")                                                     \
    X(IO_COLLECT_INTERVAL, "Performance", "io-collect-interval", 0, K_DUR, "<DURATION>", 0, \
      0, "0", io_collect_interval, ST_DBL,                                                  \
      "While a worker's polls keep finding two or more sockets ready\n"                  \
      "at once, it waits up to this long between polls (counted from\n"                 \
      "the last) to gather more: fewer system calls per request for\n"                  \
      "it and its peers, each hop up to this much later. A worker\n"                    \
      "whose polls find one socket at a time never waits. 0: off.")                       \
    X(WORKER_FRONTEND_CONNECTIONS, "Performance", "worker-frontend-connections", 0, K_NUM,  \
      "<N>", 0, SIZE_MAX, "0", worker_frontend_connections, ST_SIZE,                       \
      "Maximum client connections open on one worker (0: unlimited).\n"                  \
      "Past it, the worker accepts a new connection and closes it at\n"                  \
      "once (counted in h2gate_connections_refused_total); the open\n"                   \
      "ones carry on. The limit of the whole proxy is N times -n.")                       \
    X(FRONTEND_HTTP2_READ_TIMEOUT, "Timeout", "frontend-http2-read-timeout", 0, K_DUR,     \
      "<DURATION>", 0, 0, "3m", frontend_http2_read_timeout, ST_DBL,                       \
      "HTTP/2 client: GOAWAY and close after this long with no frame\n"                   \
      "received, unless a stream waits for its backend (backend\n"                        \
      "timeouts bound it) or carries a tunnel (--tunnel-idle-timeout).")                  \
    X(FRONTEND_READ_TIMEOUT, "Timeout", "frontend-read-timeout", 0, K_DUR, "<DURATION>", 0, \
      0, "1m", frontend_read_timeout, ST_DBL,                                              \
      "HTTP/1.1 client: 408 and close when a request head is not\n"                        \
      "complete this long after its first byte, or a request body\n"                     \
      "stops arriving for this long; also bounds the TLS handshake and\n"                \
      "the first bytes of every connection.")                                             \
    X(FRONTEND_WRITE_TIMEOUT, "Timeout", "frontend-write-timeout", 0, K_DUR, "<DURATION>", \
      0, 0, "30s", frontend_write_timeout, ST_DBL,                                         \
      "Every client: close when output waits this long without a byte\n"                 \
      "being written (a client that stops reading), tunnels included.")                                     \
    X(FRONTEND_KEEP_ALIVE_TIMEOUT, "Timeout", "frontend-keep-alive-timeout", 0, K_DUR,     \
      "<DURATION>", 0, 0, "1m", frontend_keep_alive_timeout, ST_DBL,                      \
      "Close a client connection idle this long between requests\n"                      \
      "(HTTP/1.1: nothing of the next request received; HTTP/2: no\n"                    \
      "open stream since the last one ended, GOAWAY first). Never\n"                    \
      "while a stream or tunnel is open.")                             \
    X(STREAM_READ_TIMEOUT, "Timeout", "stream-read-timeout", 0, K_DUR, "<DURATION>", 0, 0,  \
      "0", stream_read_timeout, ST_DBL,                                                    \
      "HTTP/2 stream whose request body stops arriving for this long\n"                   \
      "while h2gate could take more: 408 (RST_STREAM once the response\n"               \
      "began); the backend side is released. Not for tunnels.\n"                         \
      "0: no timeout.")                             \
    X(STREAM_WRITE_TIMEOUT, "Timeout", "stream-write-timeout", 0, K_DUR, "<DURATION>", 0,   \
      0, "1m", stream_write_timeout, ST_DBL,                                               \
      "HTTP/2 stream whose response bytes wait this long unsent (the\n"                  \
      "client gives no flow-control credit): RST_STREAM; the backend\n"                  \
      "side is released. Tunnels too. 0: no timeout.")                                                 \
    X(FRONTEND_HTTP2_SETTING_TIMEOUT, "Timeout", "frontend-http2-setting-timeout", 0,      \
      K_DUR, "<DURATION>", 0, 0, "10s", frontend_http2_setting_timeout, ST_DBL,            \
      "HTTP/2 client that does not acknowledge SETTINGS this long:\n"                      \
      "GOAWAY(SETTINGS_TIMEOUT) and close.")                                              \
    X(BACKEND_CONNECT_TIMEOUT, "Timeout", "backend-connect-timeout", 0, K_DUR,             \
      "<DURATION>", 0, 0, "30s", backend_connect_timeout, ST_DBL,                          \
      "Timeout for establishing a backend connection.")                                   \
    X(BACKEND_READ_TIMEOUT, "Timeout", "backend-read-timeout", 0, K_DUR, "<DURATION>", 0,  \
      0, "1m", backend_read_timeout, ST_DBL, "Read timeout for backend connections.")     \
    X(BACKEND_WRITE_TIMEOUT, "Timeout", "backend-write-timeout", 0, K_DUR, "<DURATION>",   \
      0, 0, "30s", backend_write_timeout, ST_DBL,                                          \
      "While request bytes wait to go out: close an HTTP/2\n"                             \
      "session that wrote no byte for this long, or an HTTP/1.1\n"                        \
      "connection that read or wrote none for this long (for\n"                           \
      "--backend-read-timeout if shorter). Requests on it fail\n"                          \
      "with 504; HTTP/2 requests not yet sent are retried.")                              \
    X(BACKEND_KEEP_ALIVE_TIMEOUT, "Timeout", "backend-keep-alive-timeout", 0, K_DUR,       \
      "<DURATION>", 0, 0, "2s", backend_keep_alive_timeout, ST_DBL,                        \
      "How long an idle backend connection (HTTP/1.1) or session\n"                      \
      "(HTTP/2, no open stream) is kept for reuse.")                                      \
    X(BACKEND_HEALTH_INTERVAL, "Timeout", "backend-health-interval", 0, K_DUR,             \
      "<DURATION>", 0, 0, "5s", backend_health_interval, ST_DBL,                           \
      "Time between two active checks of a member of a backend with\n"                  \
      ";health=/PATH (one probe thread for the whole process).")                         \
    X(BACKEND_HEALTH_TIMEOUT, "Timeout", "backend-health-timeout", 0, K_DUR, "<DURATION>", \
      0, 0, "2s", backend_health_timeout, ST_DBL,                                          \
      "A check with no answer this long failed.")                                          \
    X(BACKEND_MAX_BACKOFF, "Timeout", "backend-max-backoff", 0, K_DUR, "<DURATION>", 0, 0,  \
      "2m", backend_max_backoff, ST_DBL,                                                   \
      "A down member is checked after 1s, then after twice the last\n"                  \
      "wait, at most this long.")                                                                \
    X(BACKEND_HTTP2_SETTINGS_TIMEOUT, "Timeout", "backend-http2-settings-timeout", 0,      \
      K_DUR, "<DURATION>", 0, 0, "10s", backend_http2_settings_timeout, ST_DBL,            \
      "How long an HTTP/2 backend may take to acknowledge SETTINGS.")                     \
    X(GRACEFUL_SHUTDOWN_TIMEOUT, "Timeout", "graceful-shutdown-timeout", 0, K_DUR,         \
      "<DURATION>", 0, 0, "30s", graceful_shutdown_timeout, ST_DBL,                        \
      "Drain after SIGTERM or SIGQUIT: exit at the latest this long\n"                     \
      "after it starts (after --graceful-shutdown-accept-period).")                        \
    X(GRACEFUL_SHUTDOWN_ACCEPT_PERIOD, "Timeout", "graceful-shutdown-accept-period", 0,    \
      K_DUR, "<DURATION>", 0, 0, "0", graceful_shutdown_accept_period, ST_DBL,             \
      "After SIGTERM or SIGQUIT: /readyz 503 at once, but keep\n"                          \
      "accepting and serving this long before the drain starts.")                          \
    X(LISTENER_DISABLE_TIMEOUT, "Timeout", "listener-disable-timeout", 0, K_DUR,           \
      "<DURATION>", 0, 0, "30s", listener_disable_timeout, ST_DBL,                         \
      "When accept() fails for lack of file descriptors or memory\n"                     \
      "(EMFILE, ENFILE, ENOBUFS, ENOMEM), the worker stops accepting\n"                  \
      "until one of its client connections closes, or at the latest\n"                  \
      "this long. 0: only a close resumes (a worker with no client\n"                    \
      "connection retries after 1s).")                                                     \
    X(FRONTEND_HTTP2_MAX_CONCURRENT_STREAMS, "HTTP/2",                                     \
      "frontend-http2-max-concurrent-streams", 'c', K_NUM, "<N>", 1, UINT32_MAX, "100",    \
      frontend_http2_max_concurrent_streams, ST_U32,                                       \
      "Maximum number of concurrent streams on one client HTTP/2\n"                       \
      "connection.")                                                                       \
    X(FRONTEND_HTTP2_WINDOW_SIZE, "HTTP/2", "frontend-http2-window-size", 0, K_SIZE,       \
      "<SIZE>", 0, I31, "65535", frontend_http2_window_size, ST_I32,                       \
      "Initial per-stream flow-control window for clients (at most\n"                     \
      "2147483647). A tunnel's window grows from it while its target\n"                   \
      "keeps up, to at most 16 MiB.")                                                      \
    X(FRONTEND_HTTP2_CONNECTION_WINDOW_SIZE, "HTTP/2",                                     \
      "frontend-http2-connection-window-size", 0, K_SIZE, "<SIZE>", 65535, I31, "65535",   \
      frontend_http2_connection_window_size, ST_I32,                                       \
      "Per-connection flow-control window for clients\n"                                  \
      "(65535-2147483647). It grows as its tunnels' windows grow\n"                      \
      "(at most 64 MiB more).")                                                            \
    X(FRONTEND_HTTP2_ENCODER_DYNAMIC_TABLE_SIZE, "HTTP/2",                                 \
      "frontend-http2-encoder-dynamic-table-size", 0, K_SIZE, "<SIZE>", 0, I63, "4K",       \
      frontend_http2_encoder_dynamic_table_size, ST_SIZE,                                  \
      "Maximum HPACK dynamic table size of the encoder of response\n"                     \
      "header blocks to HTTP/2 clients; the size used is the smaller\n"                   \
      "of this and the client's SETTINGS_HEADER_TABLE_SIZE. 0: no\n"                      \
      "field is indexed (larger header blocks, no table entries kept\n"                   \
      "per connection).")                                                                  \
    X(FRONTEND_HTTP2_DECODER_DYNAMIC_TABLE_SIZE, "HTTP/2",                                 \
      "frontend-http2-decoder-dynamic-table-size", 0, K_SIZE, "<SIZE>", 0, I63, "4K",       \
      frontend_http2_decoder_dynamic_table_size, ST_SIZE,                                  \
      "Maximum HPACK dynamic table size of the decoder of HTTP/2\n"                       \
      "clients' header blocks, sent as SETTINGS_HEADER_TABLE_SIZE\n"                      \
      "unless 4096 (at most 4294967295 is sent). A client that goes\n"                   \
      "on using a larger table once it acknowledged the setting gets\n"                  \
      "GOAWAY(COMPRESSION_ERROR).")                                                        \
    X(FRONTEND_HTTP2_SESSION_SLEEP, "HTTP/2", "frontend-http2-session-sleep", 0, K_DUR,    \
      "<DURATION>", 0, 0, "1s", frontend_http2_session_sleep, ST_DBL,                      \
      "An HTTP/2 client session with no open stream and nothing read\n"                  \
      "this long sleeps: its libnghttp2 state is packed into a few\n"                    \
      "hundred bytes and its pages go back to the kernel until the\n"                    \
      "client sends again (woken soon, it waits up to 32 times longer\n"                 \
      "the next time). 0: never.")                                                         \
    X(FRONTEND_HTTP2_GLITCH_BUDGET, "HTTP/2", "frontend-http2-glitch-budget", 0, K_NUM,    \
      "<N>", 0, 1000000, "1000", frontend_http2_glitch_budget, ST_SIZE,                    \
      "Glitches one client HTTP/2 connection may commit in a burst:\n"                    \
      "frames that cost work and give nothing (empty DATA or\n"                           \
      "CONTINUATION, PING, SETTINGS, PRIORITY, unknown frames,\n"                          \
      "WINDOW_UPDATE of 0 or on a long-closed stream, HEADERS or DATA\n"                  \
      "on a closed stream, RST_STREAM from the client, streams its\n"                     \
      "errors make h2gate reset, header blocks over the limits). Past\n"                  \
      "the budget: GOAWAY(ENHANCE_YOUR_CALM) and close. 0: no limit\n"                   \
      "(nghttp2's own flood limits still apply).")                                        \
    X(FRONTEND_HTTP2_GLITCH_REFILL, "HTTP/2", "frontend-http2-glitch-refill", 0, K_NUM,    \
      "<N>", 0, 1000000, "100", frontend_http2_glitch_refill, ST_SIZE,                     \
      "Glitches per second given back to a connection's budget, up\n"                     \
      "to --frontend-http2-glitch-budget.")                                                \
    X(NO_HTTP2_WEBSOCKET, "HTTP/2", "no-http2-websocket", 0, K_FLAG, NULL, 0, 0, NULL,      \
      no_http2_websocket, ST_BOOL,                                                         \
      "Do not send SETTINGS_ENABLE_CONNECT_PROTOCOL to HTTP/2 clients:\n"                 \
      "no WebSocket over HTTP/2 (RFC 8441); a :protocol field then\n"                    \
      "gets RST_STREAM(PROTOCOL_ERROR).")                                                  \
    X(NO_SERVER_PUSH, "HTTP/2", "no-server-push", 0, K_FLAG, NULL, 0, 0, NULL,            \
      no_server_push, ST_BOOL,                                                             \
      "Disable HTTP/2 server push. By default a backend's 200 to an\n"                   \
      "HTTP/2 client's GET with Link: <...>; rel=preload pushes those\n"                \
      "targets of the same origin (at most 8 per response, 100 per\n"                  \
      "connection) when the client allows push.")                                          \
    X(PADDING, "HTTP/2", "padding", 0, K_NUM, "<N>", 0, I31, "0", padding, ST_SIZE,        \
      "Add at most N bytes of padding to each DATA and HEADERS frame\n"                 \
      "sent to HTTP/2 clients (PADDED flag; the Pad Length byte\n"                      \
      "counts). A frame carries at most 256 (larger N acts as 256)\n"                   \
      "and never exceeds the frame size limit. 0: no padding.")                          \
    X(ALLOW_UPGRADE, "HTTP/2", "allow-upgrade", 0, K_UPGRADES, "<TOKEN>[,<TOKEN>...]", 0, 0, \
      NULL, allow_upgrade, ST_STR,                                                         \
      "HTTP/1.1 Upgrade protocols to carry besides websocket (which\n"                    \
      "always is): a request with Connection: upgrade and Upgrade\n"                      \
      "naming one goes to an HTTP/1.1 backend of its route with both\n"                   \
      "fields, and a 101 makes the connection a byte pipe, as a\n"                        \
      "WebSocket's (counted in the websocket metrics). Any other\n"                       \
      "Upgrade is served as a plain request with Upgrade and\n"                           \
      "Connection removed. h2c is never carried.")                                         \
    X(BACKEND_HTTP2_WINDOW_SIZE, "HTTP/2", "backend-http2-window-size", 0, K_SIZE,         \
      "<SIZE>", 0, I31, "65535", backend_http2_window_size, ST_I32,                         \
      "Initial per-stream flow-control window h2gate gives HTTP/2\n"                      \
      "backends (at most 2147483647).")                                                    \
    X(BACKEND_HTTP2_CONNECTION_WINDOW_SIZE, "HTTP/2",                                      \
      "backend-http2-connection-window-size", 0, K_SIZE, "<SIZE>", 65535, I31,              \
      "2147483647", backend_http2_connection_window_size, ST_I32,                          \
      "Per-session flow-control window for HTTP/2 backends\n"                             \
      "(65535-2147483647).")                                                               \
    X(BACKEND_HTTP2_MAX_CONCURRENT_STREAMS, "HTTP/2", "backend-http2-max-concurrent-streams", \
      0, K_NUM, "<N>", 1, UINT32_MAX, "100", backend_http2_max_concurrent_streams, ST_U32,  \
      "SETTINGS_MAX_CONCURRENT_STREAMS h2gate sends HTTP/2 backends\n"                    \
      "(streams they may open; how many requests h2gate sends on one\n"                  \
      "session is the backend's own setting).")                                           \
    X(BACKEND_HTTP2_ENCODER_DYNAMIC_TABLE_SIZE, "HTTP/2",                                  \
      "backend-http2-encoder-dynamic-table-size", 0, K_SIZE, "<SIZE>", 0, I63, "4K",        \
      backend_http2_encoder_dynamic_table_size, ST_SIZE,                                   \
      "Maximum HPACK dynamic table size of the encoder of request\n"                      \
      "header blocks to HTTP/2 backends; the size used is the\n"                          \
      "smaller of this and the backend's SETTINGS_HEADER_TABLE_SIZE.\n"                   \
      "0: no field is indexed.")                                                           \
    X(BACKEND_HTTP2_DECODER_DYNAMIC_TABLE_SIZE, "HTTP/2",                                  \
      "backend-http2-decoder-dynamic-table-size", 0, K_SIZE, "<SIZE>", 0, I63, "4K",        \
      backend_http2_decoder_dynamic_table_size, ST_SIZE,                                   \
      "Maximum HPACK dynamic table size of the decoder of HTTP/2\n"                       \
      "backends' header blocks, sent as SETTINGS_HEADER_TABLE_SIZE\n"                     \
      "unless 4096 (at most 4294967295 is sent). A backend that goes\n"                  \
      "on using a larger table once it acknowledged the setting loses\n"                 \
      "the session (GOAWAY(COMPRESSION_ERROR); its requests get 502).")                   \
    X(HTTP2_NO_COOKIE_CRUMBLING, "HTTP/2", "http2-no-cookie-crumbling", 0, K_FLAG, NULL, 0,  \
      0, NULL, http2_no_cookie_crumbling, ST_BOOL,                                         \
      "Send an HTTP/2 backend each Cookie as it came. By default it goes\n"               \
      "as one field per cookie-pair (RFC 9113 8.2.3), which HPACK then\n"                 \
      "indexes one by one.")                                                               \
    X(CACERT, "TLS", "cacert", 0, K_STR, "<PATH>", 0, 0, NULL, cacert, ST_STR,             \
      "Verify TLS backends' certificates against the CA certificates\n"                   \
      "in PATH (PEM) instead of the system store.")                                        \
    X(INSECURE, "TLS", "insecure", 'k', K_FLAG, NULL, 0, 0, NULL, insecure, ST_BOOL,        \
      "Do not verify TLS backends' certificates.")                                        \
    X(CLIENT_PRIVATE_KEY_FILE, "TLS", "client-private-key-file", 0, K_STR, "<PATH>", 0, 0, \
      NULL, client_private_key_file, ST_STR,                                               \
      "Private key (PEM) for client authentication to TLS backends.")                     \
    X(CLIENT_CERT_FILE, "TLS", "client-cert-file", 0, K_STR, "<PATH>", 0, 0, NULL,          \
      client_cert_file, ST_STR,                                                            \
      "Certificate chain (PEM) for client authentication to TLS\n"                        \
      "backends; needs --client-private-key-file.")                                        \
    X(CLIENT_CIPHERS, "TLS", "client-ciphers", 0, K_STR, "<SUITE>", 0, 0,                   \
      CFG_DEFAULT_CIPHERS, client_ciphers, ST_STR,                                         \
      "TLS 1.2 cipher suites offered to TLS backends, in OpenSSL's\n"                     \
      "cipher list syntax; every name must be one BoringSSL knows.")                      \
    X(TLS13_CLIENT_CIPHERS, "TLS", "tls13-client-ciphers", 0, K_STR, "<SUITE>", 0, 0,       \
      CFG_DEFAULT_TLS13_CIPHERS, tls13_client_ciphers, ST_STR,                             \
      "TLS 1.3 cipher suites offered to TLS backends: as with\n"                          \
      "--tls13-ciphers, only BoringSSL's fixed list is accepted.")                        \
    X(CLIENT_NO_HTTP2_CIPHER_BLOCK_LIST, "TLS", "client-no-http2-cipher-block-list", 0,    \
      K_FLAG, NULL, 0, 0, NULL, client_no_http2_cipher_block_list, ST_BOOL,                \
      "Let an HTTP/2 backend's TLS 1.2 session use a suite that RFC\n"                    \
      "9113 section 9.2.2 forbids (not AEAD, or no ephemeral key\n"                      \
      "exchange); without it such a session is refused and its\n"                        \
      "requests get 502.")                                                                 \
    X(SUBCERT, "TLS", "subcert", 0, K_SUBCERT, "<KEYPATH>:<CERTPATH>[;ocsp=<PATH>]", 0, 0,    \
      NULL, subcerts, ST_NONE,                                                             \
      "One more key and certificate (PEM); repeatable. A client's SNI\n"                  \
      "picks the certificate whose DNS names (subjectAltName, else the\n"                 \
      "CN; \"*.\" matches one label) match it; no match or no SNI gets\n"                 \
      "the default (positional) one. An ECDSA and an RSA certificate\n"                   \
      "for the same names are both served: ECDSA to clients that offer\n"                 \
      "it, RSA to the others. \"ocsp=PATH\": a DER OCSP response to\n"                    \
      "staple, read again at every reload (h2gate never fetches one).")                   \
    X(OCSP_FILE, "TLS", "ocsp-file", 0, K_STR, "<PATH>", 0, 0, NULL, ocsp_file, ST_STR,     \
      "A DER OCSP response for the default certificate, stapled to\n"                     \
      "handshakes that ask for it; read again at every reload.")                          \
    X(NO_OCSP, "TLS", "no-ocsp", 0, K_FLAG, NULL, 0, 0, NULL, no_ocsp, ST_BOOL,               \
      "Staple no OCSP response: --ocsp-file and the ocsp= of --subcert\n"                \
      "are not read (nghttpx's option, which also stops its fetching).")                 \
    X(TLS_MIN_PROTO_VERSION, "TLS", "tls-min-proto-version", 0, K_TLS_VERSION, "<VER>", 0,  \
      0, "TLSv1.2", tls_min_proto_version, ST_U32,                                         \
      "Lowest TLS version of TLS frontends: TLSv1.2 or TLSv1.3 (any\n"                    \
      "case).")                                                                            \
    X(TLS_MAX_PROTO_VERSION, "TLS", "tls-max-proto-version", 0, K_TLS_VERSION, "<VER>", 0,  \
      0, "TLSv1.3", tls_max_proto_version, ST_U32,                                         \
      "Highest TLS version of TLS frontends: TLSv1.2 or TLSv1.3.")                        \
    X(TLS_DYN_REC_WARMUP_THRESHOLD, "TLS", "tls-dyn-rec-warmup-threshold", 0, K_SIZE,      \
      "<SIZE>", 0, I63, "1M", tls_dyn_rec_warmup_threshold, ST_U64,                        \
      "A TLS connection (frontend or backend) writes records of at\n"                    \
      "most 1300 bytes until it has written SIZE bytes, so that a\n"                     \
      "client decodes the first bytes of a response from the first\n"                   \
      "TCP segments, then full 16K records. Idle for longer than\n"                      \
      "--tls-dyn-rec-idle-timeout, it starts over. 0: full records.")                     \
    X(TLS_DYN_REC_IDLE_TIMEOUT, "TLS", "tls-dyn-rec-idle-timeout", 0, K_DUR, "<DURATION>",  \
      0, 0, "1s", tls_dyn_rec_idle_timeout, ST_DBL,                                        \
      "How long a TLS connection's output must stay drained for its\n"                   \
      "records to be small again (--tls-dyn-rec-warmup-threshold).")                       \
    X(CIPHERS, "TLS", "ciphers", 0, K_STR, "<SUITE>", 0, 0, CFG_DEFAULT_CIPHERS, ciphers,     \
      ST_STR,                                                                              \
      "TLS 1.2 cipher suites of TLS frontends, in OpenSSL's cipher list\n"                \
      "syntax; every name must be one BoringSSL knows (no DHE).")                         \
    X(NO_HTTP2_CIPHER_BLOCK_LIST, "TLS", "no-http2-cipher-block-list", 0, K_FLAG, NULL, 0,  \
      0, NULL, no_http2_cipher_block_list, ST_BOOL,                                        \
      "Let HTTP/2 clients use a TLS 1.2 suite of --ciphers that RFC\n"                    \
      "9113 section 9.2.2 forbids (not AEAD, or no ephemeral key\n"                      \
      "exchange); without it such a session gets\n"                                      \
      "GOAWAY(INADEQUATE_SECURITY) before any request.")                                   \
    X(TLS13_CIPHERS, "TLS", "tls13-ciphers", 0, K_STR, "<SUITE>", 0, 0,                     \
      CFG_DEFAULT_TLS13_CIPHERS, tls13_ciphers, ST_STR,                                    \
      "TLS 1.3 cipher suites. BoringSSL does not let them be chosen:\n"                   \
      "only the default (its fixed list) is accepted.")                                   \
    X(ECDH_CURVES, "TLS", "ecdh-curves", 0, K_STR, "<LIST>", 0, 0, "X25519:P-256:P-384:P-521", \
      ecdh_curves, ST_STR,                                                                 \
      "Key exchange groups of TLS frontends, colon-separated, in\n"                       \
      "order of preference.")                                                              \
    X(PRIVATE_KEY_PASSWD_FILE, "TLS", "private-key-passwd-file", 0, K_STR, "<PATH>", 0, 0,  \
      NULL, private_key_passwd_file, ST_STR,                                               \
      "The password of encrypted server private keys (PRIVATE_KEY and\n"                  \
      "--subcert's): the file's first line. Never asked for on a\n"                       \
      "terminal.")                                                                         \
    X(TLS_TICKET_KEY_FILE, "TLS", "tls-ticket-key-file", 0, K_PATHS, "<PATH>", 0, 0, NULL,  \
      tls_ticket_key_files, ST_NONE,                                                       \
      "Session ticket keys shared by a fleet; repeatable. Each file\n"                    \
      "holds 48 bytes (aes-128-cbc: 16 name, 16 AES, 16 HMAC) or 80\n"                    \
      "(aes-256-cbc: 16 name, 32 AES, 32 HMAC). The first file's key\n"                   \
      "encrypts, all decrypt; read again at every reload. Without it,\n"                  \
      "h2gate makes a key every hour and keeps each for 12 hours.")                       \
    X(TLS_TICKET_KEY_CIPHER, "TLS", "tls-ticket-key-cipher", 0, K_TICKET_CIPHER,            \
      "<CIPHER>", 0, 0, "aes-128-cbc", tls_ticket_key_cipher, ST_U32,                      \
      "The cipher of session tickets: aes-128-cbc or aes-256-cbc.")                       \
    X(VERIFY_CLIENT, "TLS", "verify-client", 0, K_FLAG, NULL, 0, 0, NULL, verify_client,    \
      ST_BOOL,                                                                             \
      "Require a client certificate signed by --verify-client-cacert.")                   \
    X(VERIFY_CLIENT_CACERT, "TLS", "verify-client-cacert", 0, K_STR, "<PATH>", 0, 0, NULL,  \
      verify_client_cacert, ST_STR,                                                        \
      "The CA certificates (PEM) client certificates are verified\n"                      \
      "against (--verify-client needs it).")                                               \
    X(FORWARD_CLIENT_CERT, "TLS", "forward-client-cert", 0, K_FLAG, NULL, 0, 0, NULL,       \
      forward_client_cert, ST_BOOL,                                                        \
      "Send a verified client's certificate to backends in RFC 9440's\n"                  \
      "Client-Cert (and its chain in Client-Cert-Chain). Those fields\n"                  \
      "are removed from clients' requests in any case.")                                  \
    X(LOG_LEVEL, "Logging", "log-level", 'L', K_LEVEL, "<LEVEL>", 0, 0, "NOTICE",          \
      log_level, ST_INT, "Minimum severity logged: INFO, NOTICE, WARN, ERROR or FATAL.")  \
    X(ERRORLOG_FILE, "Logging", "errorlog-file", 0, K_STR, "<PATH>", 0, 0, "stderr",       \
      errorlog_file, ST_STR, "Write the error log to PATH (\"-\" is stderr).")            \
    X(ERRORLOG_SYSLOG, "Logging", "errorlog-syslog", 0, K_FLAG, NULL, 0, 0, NULL,          \
      errorlog_syslog, ST_BOOL,                                                            \
      "Send the error log to syslog (--syslog-facility; severity by\n"                    \
      "level: INFO info ... FATAL crit); --errorlog-file is ignored.")                    \
    X(SYSLOG_FACILITY, "Logging", "syslog-facility", 0, K_FACILITY, "<FACILITY>", 0, 0,     \
      "daemon", syslog_facility, ST_INT,                                                   \
      "Syslog facility of --errorlog-syslog and --accesslog-syslog:\n"                    \
      "auth, authpriv, cron, daemon, ftp, kern, local0-local7, lpr,\n"                    \
      "mail, news, syslog, user or uucp.")                                                 \
    X(SYSLOG_SOCKET, "Logging", "syslog-socket", 0, K_STR, "<PATH>", 0, 0, "/dev/log",      \
      syslog_socket, ST_STR,                                                               \
      "The local syslog datagram socket (h2gate's own option). Lines\n"                  \
      "it refuses (full, or no daemon) are dropped, never waited for;\n"                 \
      "a daemon that restarts is connected to again; SIGUSR1\n"                          \
      "reconnects at once.")                                                               \
    X(ADD_X_FORWARDED_FOR, "HTTP", "add-x-forwarded-for", 0, K_FLAG, NULL, 0, 0, NULL,      \
      add_x_forwarded_for, ST_BOOL,                                                        \
      "Append the client address to X-Forwarded-For in backend requests.")                \
    X(STRIP_INCOMING_X_FORWARDED_FOR, "HTTP", "strip-incoming-x-forwarded-for", 0, K_FLAG, \
      NULL, 0, 0, NULL, strip_incoming_x_forwarded_for, ST_BOOL,                           \
      "Remove X-Forwarded-For received from clients.")                                    \
    X(NO_VIA, "HTTP", "no-via", 0, K_FLAG, NULL, 0, 0, NULL, no_via, ST_BOOL,              \
      "Do not add a Via header field (one received is left alone).")                      \
    X(NO_ADD_X_FORWARDED_PROTO, "HTTP", "no-add-x-forwarded-proto", 0, K_FLAG, NULL, 0, 0,  \
      NULL, no_add_x_forwarded_proto, ST_BOOL,                                             \
      "Do not add X-Forwarded-Proto (http or https) to backend requests.")                \
    X(NO_STRIP_INCOMING_X_FORWARDED_PROTO, "HTTP", "no-strip-incoming-x-forwarded-proto", 0, \
      K_FLAG, NULL, 0, 0, NULL, no_strip_incoming_x_forwarded_proto, ST_BOOL,              \
      "Keep the X-Forwarded-Proto a client sent (a TLS-terminating\n"                      \
      "balancer in front); h2gate's own value, unless\n"                                  \
      "--no-add-x-forwarded-proto, is appended after it.")                                 \
    X(ADD_FORWARDED, "HTTP", "add-forwarded", 0, K_FWD_PARAMS, "<LIST>", 0, 0, NULL,        \
      add_forwarded, ST_U32,                                                               \
      "Append an RFC 7239 Forwarded element to backend requests with\n"                   \
      "the parameters in LIST, comma-separated: by, for, host, proto.\n"                  \
      "A Forwarded the client sent stays in front of it unless\n"                         \
      "--strip-incoming-forwarded.")                                                       \
    X(STRIP_INCOMING_FORWARDED, "HTTP", "strip-incoming-forwarded", 0, K_FLAG, NULL, 0, 0,  \
      NULL, strip_incoming_forwarded, ST_BOOL,                                             \
      "Remove Forwarded received from clients.")                                          \
    X(FORWARDED_BY, "HTTP", "forwarded-by", 0, K_FWD_BY, "(obfuscated|ip|<VALUE>)", 0, 0,    \
      "obfuscated", forwarded_by, ST_STR,                                                  \
      "Forwarded's \"by\": \"obfuscated\" (a random token made at start),\n"             \
      "\"ip\" (the address and port the client connected to), or your\n"                 \
      "own token: \"_\" then letters, digits, \".\", \"_\" or \"-\".")                       \
    X(FORWARDED_FOR, "HTTP", "forwarded-for", 0, K_FWD_FOR, "(obfuscated|ip)", 0, 0,        \
      "obfuscated", forwarded_for_ip, ST_BOOL,                                             \
      "Forwarded's \"for\": \"obfuscated\" (a token per client connection)\n"            \
      "or \"ip\" (the client's address).")                                                 \
    X(ADD_REQUEST_HEADER, "HTTP", "add-request-header", 0, K_FIELD, "<HEADER>", 0, 0, NULL, \
      add_request_headers, ST_NONE,                                                        \
      "Add the field \"name: value\" to every backend request (name in\n"                  \
      "lower case); repeatable.")                                                          \
    X(ADD_RESPONSE_HEADER, "HTTP", "add-response-header", 0, K_FIELD, "<HEADER>", 0, 0,     \
      NULL, add_response_headers, ST_NONE,                                                 \
      "Add the field \"name: value\" to every response to clients,\n"                     \
      "h2gate's own answers included (name in lower case); repeatable.")                  \
    X(ALTSVC, "HTTP", "altsvc", 0, K_ALTSVC, "<PROTOID,PORT[,HOST,[ORIGIN[,PARAMS]]]>", 0, 0, \
      NULL, altsvc, ST_STR,                                                                \
      "An alternative service announced in an Alt-Svc field on every\n"                   \
      "response to HTTP/1.1 clients (RFC 7838); repeatable. Example:\n"                  \
      "--altsvc='h3,443,,,ma=3600' makes h3=\":443\"; ma=3600.")                          \
    X(HTTP2_ALTSVC, "HTTP", "http2-altsvc", 0, K_ALTSVC,                                   \
      "<PROTOID,PORT[,HOST,[ORIGIN[,PARAMS]]]>", 0, 0, NULL, http2_altsvc, ST_STR,         \
      "As --altsvc, for the responses to HTTP/2 clients.")                                 \
    X(SERVER_NAME, "HTTP", "server-name", 0, K_STR, "<NAME>", 0, 0, "h2gate", server_name,  \
      ST_STR, "The Server field of responses to clients (the backend's is\n"               \
      "replaced; h2gate's own answers carry it too).")                                    \
    X(ERROR_PAGE, "HTTP", "error-page", 0, K_ERROR_PAGE, "(<CODE>|*)=<PATH>", 0, 0, NULL,    \
      error_pages, ST_NONE,                                                                \
      "The body (text/html) of the answers h2gate makes itself with\n"                    \
      "status CODE (400-599), or with any status for \"*\"; read at start\n"              \
      "and at each reload; repeatable. A backend's errors pass as they\n"                 \
      "are.")                                                                              \
    X(REDIRECT_HTTPS_PORT, "HTTP", "redirect-https-port", 0, K_NUM, "<PORT>", 1, 65535, "443", \
      redirect_https_port, ST_U32,                                                         \
      "The port of the https URL a backend with \"redirect-if-not-tls\"\n"                \
      "redirects cleartext requests to (308).")                                            \
    X(NO_SERVER_REWRITE, "HTTP", "no-server-rewrite", 0, K_FLAG, NULL, 0, 0, NULL,          \
      no_server_rewrite, ST_BOOL,                                                          \
      "Pass the backend's Server field as it is (h2gate's own answers\n"                   \
      "then carry none).")                                                                 \
    X(HOST_REWRITE, "HTTP", "host-rewrite", 0, K_FLAG, NULL, 0, 0, NULL, host_rewrite,       \
      ST_BOOL,                                                                             \
      "Send the backend its own name as Host (:authority): HOST, or\n"                    \
      "HOST:PORT when PORT is not 80 or 443; \"localhost\" for a UNIX\n"                  \
      "domain socket. A Location naming it is then rewritten back.")                      \
    X(REQUIRE_HTTP_SCHEME, "HTTP", "require-http-scheme", 0, K_FLAG, NULL, 0, 0, NULL,      \
      require_http_scheme, ST_BOOL,                                                        \
      "Answer 400 to a request whose scheme (HTTP/2's :scheme, an\n"                       \
      "absolute-form target's) is not \"https\" on a TLS connection or\n"                 \
      "\"http\" on a cleartext one.")                                                      \
    X(NO_LOCATION_REWRITE, "HTTP", "no-location-rewrite", 0, K_FLAG, NULL, 0, 0, NULL,      \
      no_location_rewrite, ST_BOOL,                                                        \
      "Pass a backend's Location as it is. By default an absolute URI\n"                   \
      "whose host is the request's gets the client's scheme and the\n"                     \
      "request's authority (http://example.com:8080/x becomes\n"                           \
      "https://example.com/x).")                                                           \
    X(REQUEST_HEADER_FIELD_BUFFER, "HTTP", "request-header-field-buffer", 0, K_SIZE,       \
      "<SIZE>", 1, SIZE_MAX, "64K", request_header_field_buffer, ST_SIZE,                  \
      "Maximum total size of a request's header (and trailer) fields.")                   \
    X(MAX_REQUEST_HEADER_FIELDS, "HTTP", "max-request-header-fields", 0, K_NUM, "<N>", 1,  \
      65535, "100", max_request_header_fields, ST_SIZE,                                    \
      "Maximum number of request header (and trailer) fields.")                           \
    X(RESPONSE_HEADER_FIELD_BUFFER, "HTTP", "response-header-field-buffer", 0, K_SIZE,     \
      "<SIZE>", 1, SIZE_MAX, "64K", response_header_field_buffer, ST_SIZE,                 \
      "Maximum total size of a response's header (and trailer) fields.")                  \
    X(MAX_RESPONSE_HEADER_FIELDS, "HTTP", "max-response-header-fields", 0, K_NUM, "<N>", 1, \
      65535, "500", max_response_header_fields, ST_SIZE,                                   \
      "Maximum number of response header (and trailer) fields.")                          \
    X(FRONTEND_MAX_REQUESTS, "HTTP", "frontend-max-requests", 0, K_NUM, "<N>", 0,          \
      UINT64_MAX, NULL, frontend_max_requests, ST_U64,                                      \
      "Requests one client connection may make (default and 0:\n"                        \
      "unlimited). HTTP/2: the Nth stream gets GOAWAY(NO_ERROR) with\n"                  \
      "it as last stream, and the connection closes once its streams\n"                  \
      "are done. HTTP/1.1: the Nth response carries Connection: close\n"                 \
      "and the connection closes after it.")                                               \
    X(ADMIN, "Observability", "admin", 0, K_STR, "<HOST>,<PORT>", 0, 0, NULL, admin, ST_STR, \
      "Serve GET /metrics (Prometheus), /stats (JSON) and /healthz on\n"                 \
      "this plain-HTTP/1.1 address. It never proxies.")                                   \
    X(ADMIN_API, "Observability", "admin-api", 0, K_FLAG, NULL, 0, 0, NULL, admin_api,        \
      ST_BOOL,                                                                             \
      "Serve nghttpx's API on --admin too: PUT (or POST)\n"                               \
      "/api/v1beta1/backendconfig, whose backend= lines replace the\n"                    \
      "backends without a reload, and GET /api/v1beta1/configrevision.\n"                \
      "Anyone who reaches --admin can then change the backends.")                          \
    X(API_MAX_REQUEST_BODY, "Observability", "api-max-request-body", 0, K_SIZE, "<SIZE>", 0, \
      I31, "32K", api_max_request_body, ST_SIZE,                                           \
      "The largest backendconfig body taken (--admin-api); 413 above.")                    \
    X(ACCESSLOG_FILE, "Observability", "accesslog-file", 0, K_STR, "<PATH>", 0, 0, NULL,    \
      accesslog_file, ST_STR,                                                              \
      "Write an access log line per request and per tunnel to PATH\n"                     \
      "(\"-\" or /dev/stdout for containers). SIGUSR1 reopens it.")                        \
    X(ACCESSLOG_FORMAT, "Observability", "accesslog-format", 0, K_STR, "<FORMAT>", 0, 0,    \
      NULL, accesslog_format, ST_STR,                                                      \
      "Access log line format with nghttpx's $variables (default:\n"                      \
      "nghttpx's default format).")                                                        \
    X(ACCESSLOG_SYSLOG, "Observability", "accesslog-syslog", 0, K_FLAG, NULL, 0, 0, NULL,  \
      accesslog_syslog, ST_BOOL,                                                           \
      "Send each access log line to syslog (--syslog-facility,\n"                         \
      "severity info) as one datagram; --accesslog-file is ignored.")                     \
    X(ACCESSLOG_JSON, "Observability", "accesslog-json", 0, K_FLAG, NULL, 0, 0, NULL,      \
      accesslog_json, ST_BOOL,                                                             \
      "Write each access log line as one JSON object: time, client,\n"                   \
      "request, status, bytes, times, host, user agent, referer,\n"                      \
      "backend, TLS and tunnel fields; numbers as numbers, absent\n"                     \
      "values null. Not with --accesslog-format.")                                        \
    X(ACCESSLOG_ESCAPE, "Observability", "accesslog-escape", 0, K_ESCAPE, "<default|json>", \
      0, 0, "default", accesslog_escape, ST_INT,                                           \
      "How --accesslog-format writes values: default (nghttpx's \\xNN)\n"               \
      "or json (a JSON template: values JSON-escaped, a variable\n"                      \
      "alone between quotes becomes null when absent).")                                 \
    X(ACCESSLOG_WRITE_EARLY, "Observability", "accesslog-write-early", 0, K_FLAG, NULL, 0,  \
      0, NULL, accesslog_write_early, ST_BOOL,                                             \
      "Write the access log line when the response head is sent, not\n"                  \
      "when the exchange ends.")                                                           \
    X(CONNECT_ALLOW, "CONNECT", "connect-allow", 0, K_CRULE_ALLOW, "<HOST>:<PORTS>", 0, 0,  \
      NULL, connect_rules, ST_NONE,                                                        \
      "Allow CONNECT to HOST (a name, *.suffix, *, an address or a\n"                    \
      "CIDR such as 10.0.0.0/8 or [fd00::]/8) on PORTS (80, 8000-8999,\n"                \
      "80,443 or *); repeatable. Without a rule every CONNECT is denied.\n"              \
      "Address rules are checked on every resolved address.")                             \
    X(CONNECT_DENY, "CONNECT", "connect-deny", 0, K_CRULE_DENY, "<HOST>:<PORTS>", 0, 0, NULL, \
      connect_rules, ST_NONE,                                                              \
      "Deny CONNECT to HOST on PORTS; checked first, wins over allow;\n"                  \
      "repeatable. Rules from --conf and the command line all apply.")                    \
    X(CONNECT_AUTH_FILE, "CONNECT", "connect-auth-file", 0, K_STR, "<PATH>", 0, 0, NULL,    \
      connect_auth_file, ST_STR,                                                           \
      "htpasswd file (bcrypt $2y$ or SHA-512-crypt $6$ entries); if set,\n"             \
      "CONNECT needs Proxy-Authorization: Basic, else 407.")                              \
    X(TUNNEL_CONNECT_TIMEOUT, "CONNECT", "tunnel-connect-timeout", 0, K_DUR, "<DURATION>",  \
      0, 0, "10s", tunnel_connect_timeout, ST_DBL,                                         \
      "Timeout for resolving and connecting to a CONNECT target (504).")                  \
    X(TUNNEL_IDLE_TIMEOUT, "CONNECT", "tunnel-idle-timeout", 0, K_DUR, "<DURATION>", 0, 0,  \
      "5m", tunnel_idle_timeout, ST_DBL,                                                   \
      "Close a tunnel, or a WebSocket (HTTP/1.1 or HTTP/2), after this\n"               \
      "long with no bytes either way. Of the client timeouts only\n"                     \
      "--frontend-write-timeout and --stream-write-timeout apply to a\n"                \
      "tunnel.")                                                                           \
    X(DNS_LOOKUP_TIMEOUT, "CONNECT", "dns-lookup-timeout", 0, K_DUR, "<DURATION>", 0, 0,    \
      "5s", dns_lookup_timeout, ST_DBL,                                                    \
      "Timeout for one DNS lookup of a CONNECT target or backend name.")                  \
    X(DNS_CACHE_TIMEOUT, "CONNECT", "dns-cache-timeout", 0, K_DUR, "<DURATION>", 0, 0,      \
      "10s", dns_cache_timeout, ST_DBL,                                                    \
      "How long a resolved CONNECT target is cached per worker; the\n"                    \
      "longest wait between two lookups of a ;dns backend name.")                        \
    X(DNS_SERVER, "CONNECT", "dns-server", 0, K_STR, "<ADDR>[,...]", 0, 0, NULL,             \
      dns_server, ST_STR,                                                                  \
      "DNS servers for backend names and CONNECT targets instead of\n"                   \
      "/etc/resolv.conf's: 127.0.0.1:5353,[::1]:53 (port 53 if none).")                   \
    X(MAX_TUNNELS_PER_CONNECTION, "CONNECT", "max-tunnels-per-connection", 0, K_NUM, "<N>",  \
      0, 65535, "0", max_tunnels_per_connection, ST_SIZE,                                  \
      "Maximum tunnels open on one client connection (0: the HTTP/2\n"                   \
      "stream limit); more get 503.")                                                      \
    X(USER, "Misc", "user", 0, K_STR, "<USER>", 0, 0, NULL, user, ST_STR,                  \
      "Run as USER: bind and read keys as root, then take its groups,\n"                   \
      "gid and uid before serving; refuse to run if that fails.")                          \
    X(PROBE, "Misc", "probe", 0, K_PROBE, "<URL>", 0, 0, NULL, probe, ST_STR,              \
      "Only GET the http:// URL (e.g. http://127.0.0.1:9090/healthz):\n"                   \
      "exit 0 on 2xx, else 1 (5s timeout). For container health checks.")                  \
    X(CONF, "Misc", "conf", 0, K_CONF, "<PATH>", 0, 0, NULL, conf_file, ST_STR,            \
      "Read options from PATH: one NAME=VALUE per line, NAME a long\n"                    \
      "option without \"--\", flags take yes or no, \"#\" starts a\n"                      \
      "comment line. The command line wins over the file.")                               \
    X(INCLUDE, "Misc", "include", 0, K_INCLUDE, "<PATH>", 0, 0, NULL, included, ST_NONE,    \
      "Read options from PATH (as --conf's) where this option stands;\n"                 \
      "in the config file or on the command line, repeatable, nested up\n"               \
      "to 8 deep. A relative PATH is from the working directory.")                        \
    X(PRIVATE_KEY_FILE, "Misc", "private-key-file", 0, K_STR, "<PATH>", 0, 0, NULL,        \
      private_key_file, ST_STR,                                                            \
      "Same as <PRIVATE_KEY>, for the config file (the positional wins).")                \
    X(CERTIFICATE_FILE, "Misc", "certificate-file", 0, K_STR, "<PATH>", 0, 0, NULL,        \
      cert_file, ST_STR, "Same as <CERT>, for the config file (the positional wins).")    \
    X(PID_FILE, "Misc", "pid-file", 0, K_STR, "<PATH>", 0, 0, NULL, pid_file, ST_STR,      \
      "Write the process id to PATH once the listeners are open;\n"                      \
      "removed at exit. For kill -HUP $(cat PATH) and systemd's PIDFile.")              \
    X(CHECK_CONFIG, "Misc", "check-config", 't', K_FLAG, NULL, 0, 0, NULL, check_config,    \
      ST_BOOL,                                                                             \
      "Load and check the whole configuration as SIGHUP would (options,\n"               \
      "--conf, certificates and keys, auth file, access log format),\n"                 \
      "print \"configuration OK\" or the error and exit 0 or 1.\n"                     \
      "Binds no port.")                                                                    \
    X(VERSION, "Misc", "version", 'v', K_VERSION, NULL, 0, 0, NULL, workers, ST_NONE,       \
      "Print the version and exit.")                                                       \
    X(HELP, "Misc", "help", 'h', K_HELP, NULL, 0, 0, NULL, workers, ST_NONE,               \
      "Print this help and exit.")

#endif
