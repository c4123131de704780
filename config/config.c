/* cfg_load: the option table, the command line, the --conf file, defaults,
 * the consistency checks and backend address resolution. */
#include "config/config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cpus.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/connect_rule.h"
#include "config/parse.h"

#define H2G_VERSION "0.1.0"

/* A config file larger than this is a mistake (a log, a binary). */
#define CONF_FILE_MAX (1u << 20)

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
    K_HELP,
    K_VERSION,
    K_PROBE,    /* --probe=URL: cfg_load returns CFG_PROBE at once */
};

/* Where a value lands in struct config. */
enum opt_store { ST_NONE, ST_INT, ST_U32, ST_I32, ST_SIZE, ST_U64, ST_DBL, ST_BOOL, ST_STR };

#define I31 2147483647u
#define CONF_OFF(field) offsetof(struct config, field)

/* The one option table: getopt_long's table, the config-file names, the
 * defaults and --help all come from it. The default column is parsed like a
 * user value for K_NUM/K_SIZE/K_DUR/K_LEVEL, so --help cannot drift from the
 * real defaults.
 * X(id, group, name, short, kind, arg, min, max, default, field, store, help) */
#define CFG_OPTIONS(X)                                                                     \
    X(FRONTEND, "Connections", "frontend", 'f', K_FRONTEND, "<HOST>,<PORT>[;no-tls]", 0, 0,  \
      "*,3000", frontends, ST_NONE,                                                        \
      "Listen on HOST,PORT; repeat for more addresses. HOST \"*\"\n"                      \
      "means every IPv4 and IPv6 address. TLS (ALPN h2, http/1.1)\n"                      \
      "unless \"no-tls\" is given; a no-tls frontend serves h2c (prior\n"                 \
      "knowledge) and HTTP/1.1.")                                                          \
    X(BACKEND, "Connections", "backend", 'b', K_BACKEND,                                   \
      "<HOST>,<PORT>[;[<PATTERN>[:...]]][;<PARAM>...]", 0, 0, "127.0.0.1,80", backends,  \
      ST_NONE,                                                                             \
      "Backend address; repeat for more. <PATTERN> is \"/path/\" (that\n"                  \
      "subtree, and \"/path\"), \"/path\" (exactly), \"host/path\" or \"host\"\n"        \
      "(= \"host/\"); none or empty means \"/\" (catch-all). Patterns with a\n"           \
      "host are tried first, then the longest match wins; a request that\n"               \
      "matches nothing gets 404. Backends with the same pattern form a\n"                 \
      "group used round-robin. <PARAM>: proto=h2 or proto=http/1.1\n"                     \
      "(default), tls, sni=<NAME>. \"HOST,PORT;;proto=h2\" is the\n"                      \
      "catch-all.")                                                                        \
    X(WORKERS, "Performance", "workers", 'n', K_NUM, "<N>", 1, 256, "usable CPUs",         \
      workers, ST_INT, "Number of worker threads (1-256). Usable CPUs: the affinity\n"     \
      "mask, bounded by a cgroup v2 cpu.max quota rounded up.")                            \
    X(BACKEND_CONNECTIONS_PER_HOST, "Performance", "backend-connections-per-host", 0,      \
      K_NUM, "<N>", 1, 65535, "8", backend_connections_per_host, ST_SIZE,                  \
      "Upper bound on the HTTP/2 sessions each worker opens to one\n"                     \
      "backend; past it, requests wait for a free stream (503 after\n"                    \
      "--backend-connect-timeout). HTTP/1.1 backends are not limited.")                   \
    X(RLIMIT_NOFILE, "Performance", "rlimit-nofile", 0, K_NUM, "<N>", 0, UINT64_MAX, "0",  \
      rlimit_nofile, ST_U64,                                                               \
      "Set the open-file limit (RLIMIT_NOFILE) to N; 0 raises the\n"                      \
      "soft limit to the hard limit.")                                                     \
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
      "2147483647).")                                                                      \
    X(FRONTEND_HTTP2_CONNECTION_WINDOW_SIZE, "HTTP/2",                                     \
      "frontend-http2-connection-window-size", 0, K_SIZE, "<SIZE>", 65535, I31, "65535",   \
      frontend_http2_connection_window_size, ST_I32,                                       \
      "Per-connection flow-control window for clients\n"                                  \
      "(65535-2147483647).")                                                               \
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
    X(LOG_LEVEL, "Logging", "log-level", 'L', K_LEVEL, "<LEVEL>", 0, 0, "NOTICE",          \
      log_level, ST_INT, "Minimum severity logged: INFO, NOTICE, WARN, ERROR or FATAL.")  \
    X(ERRORLOG_FILE, "Logging", "errorlog-file", 0, K_STR, "<PATH>", 0, 0, "stderr",       \
      errorlog_file, ST_STR, "Write the error log to PATH (\"-\" is stderr).")            \
    X(ADD_X_FORWARDED_FOR, "HTTP", "add-x-forwarded-for", 0, K_FLAG, NULL, 0, 0, NULL,      \
      add_x_forwarded_for, ST_BOOL,                                                        \
      "Append the client address to X-Forwarded-For in backend requests.")                \
    X(STRIP_INCOMING_X_FORWARDED_FOR, "HTTP", "strip-incoming-x-forwarded-for", 0, K_FLAG, \
      NULL, 0, 0, NULL, strip_incoming_x_forwarded_for, ST_BOOL,                           \
      "Remove X-Forwarded-For received from clients.")                                    \
    X(NO_VIA, "HTTP", "no-via", 0, K_FLAG, NULL, 0, 0, NULL, no_via, ST_BOOL,              \
      "Do not add a Via header field (one received is left alone).")                      \
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
    X(ACCESSLOG_FILE, "Observability", "accesslog-file", 0, K_STR, "<PATH>", 0, 0, NULL,    \
      accesslog_file, ST_STR,                                                              \
      "Write an access log line per request and per tunnel to PATH\n"                     \
      "(\"-\" or /dev/stdout for containers). SIGUSR1 reopens it.")                        \
    X(ACCESSLOG_FORMAT, "Observability", "accesslog-format", 0, K_STR, "<FORMAT>", 0, 0,    \
      NULL, accesslog_format, ST_STR,                                                      \
      "Access log line format with nghttpx's $variables (default:\n"                      \
      "nghttpx's default format).")                                                        \
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
      "5s", dns_lookup_timeout, ST_DBL, "Timeout for one DNS lookup of a CONNECT target.") \
    X(DNS_CACHE_TIMEOUT, "CONNECT", "dns-cache-timeout", 0, K_DUR, "<DURATION>", 0, 0,      \
      "10s", dns_cache_timeout, ST_DBL, "How long a resolved name is cached per worker.")  \
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

enum opt_id {
#define X(id, ...) OPT_##id,
    CFG_OPTIONS(X)
#undef X
    NUM_OPTS
};

struct opt_def {
    const char *group;
    const char *name;
    int short_name;
    enum opt_kind kind;
    const char *arg;
    uint64_t min, max;
    const char *deflt;
    size_t offset;
    enum opt_store store;
    const char *help;
};

static const struct opt_def opts[NUM_OPTS] = {
#define X(id, grp, nm, sn, kd, ar, mn, mx, df, field, st, hp) \
    [OPT_##id] = { grp, nm, sn, kd, ar, mn, mx, df, CONF_OFF(field), st, hp },
    CFG_OPTIONS(X)
#undef X
};

static bool takes_value(enum opt_kind kind)
{
    return kind != K_FLAG && kind != K_HELP && kind != K_VERSION;
}

/* getopt_long's val: the short letter, or 256 + id for long-only options. */
#define OPT_VAL(id, sn) ((sn) ? (sn) : 256 + OPT_##id)

static const struct option long_opts[NUM_OPTS + 1] = {
#define X(id, grp, nm, sn, kd, ...)                                               \
    { nm, (kd) == K_FLAG || (kd) == K_HELP || (kd) == K_VERSION ? no_argument      \
                                                                 : required_argument, \
      NULL, OPT_VAL(id, sn) },
    CFG_OPTIONS(X)
#undef X
    { NULL, 0, NULL, 0 },
};

static const struct opt_def *opt_by_val(int val)
{
    if (val >= 256 && val < 256 + NUM_OPTS)
        return &opts[val - 256];
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (val > 0 && opts[i].short_name == val)
            return &opts[i];
    }
    return NULL;
}

static const struct opt_def *opt_by_name(struct str name)
{
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (str_eq(name, str_cstr(opts[i].name)))
            return &opts[i];
    }
    return NULL;
}

/* State while building a config. Frontends and backends are collected here
 * and moved into the config at the end, so backend pointers in routes are
 * taken only once the array is final. */
struct loader {
    struct config *cfg;
    struct cfg_frontend *fes;
    size_t num_fes;
    struct cfg_backend_spec *bes;
    size_t num_bes;
    bool cmdline;  /* applying command-line options (else the file) */
    bool fes_from_cmdline, bes_from_cmdline;
    char *err;
    size_t err_len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct loader *ld, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(ld->err, ld->err_len, f, ap);
    va_end(ap);
    return -1;
}

static void free_frontends(struct cfg_frontend *fes, size_t num)
{
    for (size_t i = 0; i < num; i++)
        free(fes[i].host);
    free(fes);
}

static void free_backend_specs(struct cfg_backend_spec *bes, size_t num)
{
    for (size_t i = 0; i < num; i++)
        cfg_backend_spec_cleanup(&bes[i]);
    free(bes);
}

static void store(struct config *cfg, const struct opt_def *o, uint64_t u, double d,
                  const char *s)
{
    char *field = (char *)cfg + o->offset;
    switch (o->store) {
    case ST_NONE: break;
    case ST_INT: *(int *)(void *)field = (int)u; break;
    case ST_U32: *(uint32_t *)(void *)field = (uint32_t)u; break;
    case ST_I32: *(int32_t *)(void *)field = (int32_t)u; break;
    case ST_SIZE: *(size_t *)(void *)field = (size_t)u; break;
    case ST_U64: *(uint64_t *)(void *)field = u; break;
    case ST_DBL: *(double *)(void *)field = d; break;
    case ST_BOOL: *(bool *)(void *)field = u != 0; break;
    case ST_STR:
        free(*(char **)(void *)field);
        *(char **)(void *)field = xstrdup(s);
        break;
    }
}

/* Applies one option. where names it for messages: "--workers" or
 * "PATH:LINE: workers". value is NULL only for a command-line flag. */
static int apply(struct loader *ld, const struct opt_def *o, const char *value,
                 const char *where)
{
    char buf[256];
    const char *msg = NULL;
    uint64_t u = 0;
    double d = 0.;

    if (takes_value(o->kind) && value[0] == '\0')
        return fail(ld, "%s: missing value", where);
    switch (o->kind) {
    case K_FLAG: {
        bool b = true;
        if (value)
            msg = cfg_parse_flag(str_cstr(value), &b);
        u = b;
        break;
    }
    case K_STR:
    case K_CONF:
        break;
    case K_UPGRADES:
        msg = cfg_parse_upgrades(str_cstr(value));
        break;
    case K_NUM:
    case K_SIZE:
        if (o->kind == K_NUM) {
            msg = cfg_parse_uint(str_cstr(value), &u);
        } else {
            size_t sz;
            msg = cfg_parse_size(str_cstr(value), &sz);
            u = sz;
        }
        if (!msg && (u < o->min || u > o->max)) {
            snprintf(buf, sizeof(buf), "out of range (%llu-%llu)", (unsigned long long)o->min,
                     (unsigned long long)o->max);
            msg = buf;
        }
        break;
    case K_DUR:
        msg = cfg_parse_duration(str_cstr(value), &d);
        break;
    case K_LEVEL: {
        enum log_level lvl = LOG_NOTICE;
        if (log_parse_level(value, &lvl) != 0)
            msg = "expected INFO, NOTICE, WARN, ERROR or FATAL";
        u = (uint64_t)lvl;
        break;
    }
    case K_FRONTEND: {
        struct cfg_frontend fe;
        msg = cfg_parse_frontend(value, &fe, buf, sizeof(buf));
        if (msg)
            break;
        /* The command line wins: its -f list replaces the file's. */
        if (ld->cmdline && !ld->fes_from_cmdline) {
            free_frontends(ld->fes, ld->num_fes);
            ld->fes = NULL;
            ld->num_fes = 0;
            ld->fes_from_cmdline = true;
        }
        ld->fes = xrealloc(ld->fes, (ld->num_fes + 1) * sizeof(fe));
        ld->fes[ld->num_fes++] = fe;
        return 0;
    }
    case K_BACKEND: {
        struct cfg_backend_spec spec;
        msg = cfg_parse_backend(value, &spec, buf, sizeof(buf));
        if (msg)
            break;
        if (ld->cmdline && !ld->bes_from_cmdline) {
            free_backend_specs(ld->bes, ld->num_bes);
            ld->bes = NULL;
            ld->num_bes = 0;
            ld->bes_from_cmdline = true;
        }
        ld->bes = xrealloc(ld->bes, (ld->num_bes + 1) * sizeof(spec));
        ld->bes[ld->num_bes++] = spec;
        return 0;
    }
    case K_CRULE_ALLOW:
    case K_CRULE_DENY: {
        struct crule rule;
        msg = crule_parse(str_cstr(value), &rule);
        if (msg)
            break;
        if (!ld->cfg->connect_rules)
            ld->cfg->connect_rules = crule_set_new();
        crule_set_add(ld->cfg->connect_rules, &rule, o->kind == K_CRULE_DENY);
        return 0;
    }
    case K_HELP:
    case K_VERSION:
    case K_PROBE:
        return fail(ld, "%s: not allowed here", where);
    }
    if (msg)
        return fail(ld, "%s '%s': %s", where, value ? value : "", msg);
    store(ld->cfg, o, u, d, value);
    return 0;
}

static void set_defaults(struct loader *ld)
{
    for (size_t i = 0; i < NUM_OPTS; i++) {
        const struct opt_def *o = &opts[i];
        if (i == OPT_WORKERS || !o->deflt)
            continue;
        if (o->kind == K_NUM || o->kind == K_SIZE || o->kind == K_DUR || o->kind == K_LEVEL) {
            int rc = apply(ld, o, o->deflt, o->name);
            (void)rc;  /* the table's defaults parse; the unit tests check them */
        }
    }
    int n = cpus_usable();
    ld->cfg->workers = n > 256 ? 256 : n;
}

/* One NAME=VALUE line of the config file; line is NUL-terminated and ours
 * to modify. */
static int file_line(struct loader *ld, const char *path, size_t lineno, char *line)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        line[--len] = '\0';
    struct str s = str_trim(str_make(line, len));
    if (s.len == 0 || s.p[0] == '#')
        return 0;
    const char *eq = memchr(s.p, '=', s.len);
    if (!eq)
        return fail(ld, "%s:%zu: expected NAME=VALUE, got '%.*s'", path, lineno, (int)s.len,
                    s.p);
    struct str name = str_trim(str_make(s.p, (size_t)(eq - s.p)));
    struct str value = str_trim(str_make(eq + 1, (size_t)(s.p + s.len - eq - 1)));
    line[value.p - line + value.len] = '\0';
    const struct opt_def *o = opt_by_name(name);
    if (!o)
        return fail(ld, "%s:%zu: unknown option '%.*s'", path, lineno, (int)name.len, name.p);
    if (o->kind == K_CONF || o->kind == K_HELP || o->kind == K_VERSION || o->kind == K_PROBE)
        return fail(ld, "%s:%zu: %s is not allowed in a config file", path, lineno, o->name);
    char where[1024];
    snprintf(where, sizeof(where), "%s:%zu: %s", path, lineno, o->name);
    return apply(ld, o, value.p, where);
}

static int load_file(struct loader *ld, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(ld, "cannot open config file %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *data = xmalloc(cap);
    for (;;) {
        if (len + 1 == cap) {
            if (cap > CONF_FILE_MAX) {
                fclose(f);
                free(data);
                return fail(ld, "config file %s is larger than %u bytes", path, CONF_FILE_MAX);
            }
            cap *= 2;
            data = xrealloc(data, cap);
        }
        size_t n = fread(data + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    int read_err = ferror(f) ? errno : 0;
    fclose(f);
    if (read_err) {
        free(data);
        return fail(ld, "cannot read config file %s: %s", path, strerror(read_err));
    }
    data[len] = '\0';

    int rc = 0;
    size_t lineno = 0;
    char *line = data;
    while (rc == 0 && line < data + len) {
        lineno++;
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        char *end = nl ? nl : data + len;
        *end = '\0';
        if (memchr(line, '\0', (size_t)(end - line)))
            rc = fail(ld, "%s:%zu: NUL byte in line", path, lineno);
        else
            rc = file_line(ld, path, lineno, line);
        line = end + 1;
    }
    free(data);
    return rc;
}

static void print_help(FILE *out)
{
    fputs("Usage: h2gate [OPTIONS]... [<PRIVATE_KEY> <CERT>]\n"
          "HTTP/2 reverse proxy and CONNECT gateway.\n"
          "\n"
          "  <PRIVATE_KEY>\n"
          "              Path to the server's private key (PEM). Required unless\n"
          "              every frontend has \"no-tls\".\n"
          "  <CERT>      Path to the server's certificate chain (PEM). Required\n"
          "              unless every frontend has \"no-tls\".\n"
          "\n"
          "Options:\n"
          "\n",
          out);
    const char *group = NULL;
    for (size_t i = 0; i < NUM_OPTS; i++) {
        const struct opt_def *o = &opts[i];
        if (!group || strcmp(group, o->group) != 0) {
            group = o->group;
            fprintf(out, "%s%s:\n", i ? "\n" : "", group);
        }
        if (o->short_name)
            fprintf(out, "  -%c, --%s", o->short_name, o->name);
        else
            fprintf(out, "  --%s", o->name);
        if (o->arg)
            fprintf(out, "=%s", o->arg);
        fputc('\n', out);
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            int n = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(out, "              %.*s\n", n, p);
            p += n + (nl != NULL);
        }
        if (o->deflt)
            fprintf(out, "              Default: %s\n", o->deflt);
    }
    fputs("\n"
          "  <SIZE> is an integer with an optional unit K, M or G (powers of 1024,\n"
          "  any case): 16K is 16384 bytes.\n"
          "  <DURATION> is a number with an optional unit h, m, s or ms; no unit\n"
          "  means seconds: 500ms, 1.5s, 2m.\n"
          "  Signals: SIGTERM or SIGQUIT shut down gracefully (GOAWAY, in-flight\n"
          "  requests finish); SIGINT exits at once.\n",
          out);
}

/* Unknown option, or a value given to a flag ("--no-via=yes"). */
static int bad_option(struct loader *ld, int argc, char **argv)
{
    const struct opt_def *o = optopt ? opt_by_val(optopt) : NULL;
    if (o)
        return fail(ld, "--%s takes no value", o->name);
    if (optopt)
        return fail(ld, "unknown option '-%c'", optopt);
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    struct str name = str_cstr(arg);
    const char *eq = strchr(arg, '=');
    if (eq)
        name.len = (size_t)(eq - arg);
    if (str_has_prefix(name, STR_LIT("--")) && name.len > 2) {
        size_t num_prefixed = 0;
        for (size_t i = 0; i < NUM_OPTS; i++) {
            if (strncmp(opts[i].name, name.p + 2, name.len - 2) == 0)
                num_prefixed++;
        }
        if (num_prefixed > 1)
            return fail(ld, "ambiguous option '%.*s'", (int)name.len, name.p);
    }
    return fail(ld, "unknown option '%.*s'", (int)name.len, name.p);
}

static int resolve_backend(struct loader *ld, struct cfg_backend *be)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", be->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res;
    int rc = getaddrinfo(be->host, port, &hints, &res);
    if (rc != 0)
        return fail(ld, "backend %s,%u: cannot resolve %s: %s", be->host, be->port, be->host,
                    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    memcpy(&be->addr, res->ai_addr, res->ai_addrlen);
    be->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Defaults for lists, positional files, the TLS check, resolution, routes. */
static int finish(struct loader *ld, int num_pos, char **pos)
{
    struct config *cfg = ld->cfg;
    char buf[256];
    if (num_pos == 1)
        return fail(ld, "missing CERT: give both PRIVATE_KEY and CERT");
    if (num_pos > 2)
        return fail(ld, "unexpected argument '%s' (expected [PRIVATE_KEY CERT])", pos[2]);
    if (num_pos == 2) {
        free(cfg->private_key_file);
        free(cfg->cert_file);
        cfg->private_key_file = xstrdup(pos[0]);
        cfg->cert_file = xstrdup(pos[1]);
    }

    if (ld->num_fes == 0) {
        ld->fes = xcalloc(1, sizeof(*ld->fes));
        if (cfg_parse_frontend(opts[OPT_FRONTEND].deflt, &ld->fes[0], buf, sizeof(buf)))
            return fail(ld, "bad default frontend");
        ld->num_fes = 1;
    }
    if (ld->num_bes == 0) {
        ld->bes = xcalloc(1, sizeof(*ld->bes));
        if (cfg_parse_backend(opts[OPT_BACKEND].deflt, &ld->bes[0], buf, sizeof(buf)))
            return fail(ld, "bad default backend");
        ld->num_bes = 1;
    }

    cfg->frontends = ld->fes;
    cfg->num_frontends = ld->num_fes;
    ld->fes = NULL;
    ld->num_fes = 0;
    for (size_t i = 0; i < cfg->num_frontends; i++) {
        const struct cfg_frontend *fe = &cfg->frontends[i];
        if (fe->tls && (!cfg->private_key_file || !cfg->cert_file))
            return fail(ld,
                        "frontend %s,%u needs a private key and certificate: give "
                        "PRIVATE_KEY CERT, or add ;no-tls to the frontend",
                        fe->host, fe->port);
        for (size_t j = 0; j < i; j++) {
            /* SO_REUSEPORT would let both bind, and the kernel would
             * split connections between them. */
            const struct cfg_frontend *o = &cfg->frontends[j];
            if (o->port == fe->port && (strcmp(o->host, fe->host) == 0 ||
                                        strcmp(o->host, "*") == 0 || strcmp(fe->host, "*") == 0))
                return fail(ld, "frontends %s,%u and %s,%u share an address: give each its own port",
                            o->host, o->port, fe->host, fe->port);
        }
    }

    if (!cfg->client_cert_file != !cfg->client_private_key_file)
        return fail(ld, "--client-cert-file and --client-private-key-file go together");

    cfg->backends = xcalloc(ld->num_bes, sizeof(*cfg->backends));
    for (size_t i = 0; i < ld->num_bes; i++) {
        struct cfg_backend *be = &cfg->backends[i];
        *be = ld->bes[i].be;
        ld->bes[i].be.host = NULL;
        ld->bes[i].be.sni = NULL;
        be->index = i;
        cfg->num_backends = i + 1;
        if (resolve_backend(ld, be) != 0)
            return -1;
    }
    cfg_routes_build(cfg, ld->bes, ld->num_bes);
    return 0;
}

enum cfg_load_result cfg_load(struct config *cfg, int argc, char **argv, char *err,
                              size_t err_len)
{
    struct loader ld = { .cfg = cfg, .err = err, .err_len = err_len };
    /* Command-line options in order, applied after the file so they win. */
    const struct opt_def **cmd_opts = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*cmd_opts));
    const char **cmd_vals = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*cmd_vals));
    size_t num_cmd = 0;
    enum cfg_load_result result = CFG_ERROR;
    int rc = 0;

    err[0] = '\0';
    set_defaults(&ld);

    char short_opts[2 * NUM_OPTS + 2], *sp = short_opts;
    *sp++ = ':';  /* report a missing value as ':' rather than '?' */
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (!opts[i].short_name)
            continue;
        *sp++ = (char)opts[i].short_name;
        if (takes_value(opts[i].kind))
            *sp++ = ':';
    }
    *sp = '\0';

    /* optind = 0 makes glibc start over, so cfg_load can run again. */
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, short_opts, long_opts, NULL);
        if (c == -1)
            break;
        if (c == '?') {
            rc = bad_option(&ld, argc, argv);
            goto out;
        }
        if (c == ':') {
            const struct opt_def *o = opt_by_val(optopt);
            rc = fail(&ld, "--%s needs a value", o ? o->name : "?");
            goto out;
        }
        const struct opt_def *o = opt_by_val(c);
        if (o->kind == K_HELP) {
            print_help(stdout);
            result = CFG_EXIT_OK;
            goto out;
        }
        if (o->kind == K_VERSION) {
            puts("h2gate " H2G_VERSION);
            result = CFG_EXIT_OK;
            goto out;
        }
        if (o->kind == K_PROBE) {
            store(cfg, o, 0, 0., optarg);
            result = CFG_PROBE;
            goto out;
        }
        if (o->kind == K_CONF) {
            if (optarg[0] == '\0') {
                rc = fail(&ld, "--conf: missing value");
                goto out;
            }
            free(cfg->conf_file);
            cfg->conf_file = xstrdup(optarg);
            continue;
        }
        cmd_opts[num_cmd] = o;
        cmd_vals[num_cmd++] = o->kind == K_FLAG ? NULL : optarg;
    }

    if (cfg->conf_file && (rc = load_file(&ld, cfg->conf_file)) != 0)
        goto out;
    ld.cmdline = true;
    for (size_t i = 0; i < num_cmd && rc == 0; i++) {
        char where[128];
        snprintf(where, sizeof(where), "--%s", cmd_opts[i]->name);
        rc = apply(&ld, cmd_opts[i], cmd_vals[i], where);
    }
    if (rc == 0)
        rc = finish(&ld, argc - optind, argv + optind);
    if (rc == 0)
        result = CFG_RUN;

out:
    free(cmd_opts);
    free(cmd_vals);
    free_frontends(ld.fes, ld.num_fes);
    free_backend_specs(ld.bes, ld.num_bes);
    if (result != CFG_RUN && result != CFG_PROBE)
        cfg_cleanup(cfg);
    return result;
}

/* Options a reload cannot change in a running process: the threads, the
 * process limits, the error log, the admin listener, the access log file,
 * each worker's DNS channel, the pid file, the user the process runs as. */
static const enum opt_id fixed_opts[] = {
    OPT_WORKERS,         OPT_RLIMIT_NOFILE,      OPT_LOG_LEVEL,         OPT_ERRORLOG_FILE,
    OPT_ADMIN,           OPT_ACCESSLOG_FILE,     OPT_DNS_LOOKUP_TIMEOUT, OPT_DNS_CACHE_TIMEOUT,
    OPT_PID_FILE,        OPT_USER,
};

static size_t store_size(enum opt_store st)
{
    switch (st) {
    case ST_INT: return sizeof(int);
    case ST_U32: return sizeof(uint32_t);
    case ST_I32: return sizeof(int32_t);
    case ST_SIZE: return sizeof(size_t);
    case ST_U64: return sizeof(uint64_t);
    case ST_DBL: return sizeof(double);
    case ST_BOOL: return sizeof(bool);
    default: return 0;
    }
}

size_t cfg_keep_fixed(struct config *next, const struct config *cur, char *names, size_t len)
{
    size_t changed = 0, used = 0;
    if (len)
        names[0] = '\0';
    for (size_t i = 0; i < sizeof(fixed_opts) / sizeof(fixed_opts[0]); i++) {
        const struct opt_def *o = &opts[fixed_opts[i]];
        char *nf = (char *)next + o->offset;
        const char *cf = (const char *)cur + o->offset;
        bool differs;
        if (o->store == ST_STR) {
            char **ns = (char **)(void *)nf;
            const char *cs = *(const char *const *)(const void *)cf;
            differs = !(*ns == cs || (*ns && cs && strcmp(*ns, cs) == 0));
            if (differs) {
                free(*ns);
                *ns = cs ? xstrdup(cs) : NULL;
            }
        } else {
            differs = memcmp(nf, cf, store_size(o->store)) != 0;
            memcpy(nf, cf, store_size(o->store));
        }
        if (!differs)
            continue;
        changed++;
        if (used < len)
            used += (size_t)snprintf(names + used, len - used, "%s--%s", used ? ", " : "",
                                     o->name);
    }
    return changed;
}

void cfg_cleanup(struct config *cfg)
{
    free_frontends(cfg->frontends, cfg->num_frontends);
    for (size_t i = 0; i < cfg->num_backends; i++) {
        free(cfg->backends[i].host);
        free(cfg->backends[i].sni);
    }
    free(cfg->backends);
    for (size_t i = 0; i < cfg->num_routes; i++) {
        free(cfg->routes[i].host);
        free(cfg->routes[i].path);
        free(cfg->routes[i].backends);
    }
    free(cfg->routes);
    /* Every string option, straight from the table, so a new one cannot
     * be forgotten here. */
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (opts[i].store == ST_STR)
            free(*(char **)(void *)((char *)cfg + opts[i].offset));
    }
    crule_set_free(cfg->connect_rules);
    *cfg = (struct config){ 0 };
}
