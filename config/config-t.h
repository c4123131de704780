/* The immutable configuration, built once by cfg_load() in main and shared
 * read-only by every worker. */
#ifndef H2G_CONFIG_CONFIG_T_H
#define H2G_CONFIG_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum cfg_proto { CFG_PROTO_HTTP1 = 0, CFG_PROTO_H2 = 1 };

/* --accesslog-escape */
enum cfg_alog_escape { CFG_ALOG_ESCAPE_DEFAULT = 0, CFG_ALOG_ESCAPE_JSON = 1 };

struct cfg_frontend {
    char *host;  /* "*" means every address (IPv4 and IPv6); "unix:PATH" */
    uint16_t port;   /* 0 for "unix:PATH" (a UNIX domain socket) */
    bool tls;    /* false with ";no-tls" */
    bool proxyproto; /* ";proxyproto": a PROXY protocol header comes first */
};

/* A frontend for messages: "HOST,PORT" as -f spells it, or "unix:PATH":
 *   log_notice("frontend " CFG_FE_FMT ": ...", CFG_FE_ARGS(fe)); */
#define CFG_FE_FMT "%s%s%.0u"
#define CFG_FE_ARGS(fe) (fe)->host, (fe)->port ? "," : "", (unsigned)(fe)->port
/* A "unix:PATH" frontend's PATH (at most 107 bytes: spec.c checked), or
 * NULL for HOST,PORT. */
#define CFG_FE_UNIX_PATH(fe) ((fe)->port ? NULL : (const char *)(fe)->host + 5)

enum cfg_lb { CFG_LB_ROUND_ROBIN = 0, CFG_LB_LEAST_OUTSTANDING, CFG_LB_PEAK_EWMA };
enum cfg_affinity { CFG_AFFINITY_NONE = 0, CFG_AFFINITY_IP, CFG_AFFINITY_COOKIE };
enum cfg_cookie_secure { CFG_COOKIE_SECURE_AUTO = 0, CFG_COOKIE_SECURE_YES, CFG_COOKIE_SECURE_NO };

/* How a group (the members of one route) shares its traffic: the same for
 * every -b of the group (cfg_load checks). Strings owned by the route. */
struct cfg_group_policy {
    enum cfg_lb lb;                 /* ";lb=round-robin" (default), "least-outstanding"
                                     * or "peak-ewma" */
    enum cfg_affinity affinity;     /* ";affinity=none|ip|cookie" */
    char *cookie_name;              /* ";affinity-cookie-name=" (cookie: required) */
    char *cookie_path;              /* ";affinity-cookie-path=", or NULL */
    enum cfg_cookie_secure cookie_secure; /* ";affinity-cookie-secure=auto|yes|no" */
};

/* A member: one address of one -b. The identity fields (host to addr) are
 * what the backend registry compares; the others are this generation's
 * policy, so read them from the generation's cfg->backends[] or route,
 * never through a registry object (which keeps the values it was first
 * made with, and no strings of them). */
struct cfg_backend {
    char *host;            /* the -b's name, or "unix:PATH" for a UNIX domain
                            * socket (addr is then its sockaddr_un) */
    uint16_t port;         /* 1..65535; 0 for a UNIX domain socket */
    enum cfg_proto proto;  /* ";proto=http/1.1" (default) or ";proto=h2" */
    bool tls;              /* ";tls" */
    char *sni;             /* ";sni=NAME", or NULL */
    uint32_t weight;       /* ";weight=N", 1..256, default 1 */
    uint32_t fall, rise;   /* ";fall=N" (0: no passive health), ";rise=N" */
    char *health_path;     /* ";health=/PATH": active HTTP probe, or NULL */
    bool dns;              /* ";dns": re-resolved while running (proxy/dnswatch.h) */
    /* ";read-timeout=", ";write-timeout=": this member's, instead of
     * --backend-read-timeout / --backend-write-timeout (0: those). Like
     * health, read from the generation's copy (upool_use), never from the
     * interned object, so a reload can change them. */
    double read_timeout, write_timeout;
    bool redirect_if_not_tls; /* ";redirect-if-not-tls": moved to the route */
    struct cfg_group_policy group; /* parsed here, moved to the route */
    /* One address of the name (cfg_load() makes a member of each address
     * the name resolves to, config/resolve.h). */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    size_t index;          /* position in config.backends; once interned
                            * (config/registry.h), the stable slot */
    uint64_t serial;       /* once interned: the registry object's, unique
                            * in the process (a reused slot's differs) */
};

/* A member for the log: "HOST:PORT", or "unix:PATH" (C prints nothing
 * for a 0 with "%.0u"):
 *   log_info("backend " CFG_BE_FMT ": ...", CFG_BE_ARGS(be)); */
#define CFG_BE_FMT "%s%s%.0u"
#define CFG_BE_ARGS(be) (be)->host, (be)->port ? ":" : "", (unsigned)(be)->port

/* A route: a pattern and the round-robin group of backends it points at.
 * host is lower-cased and empty for path-only patterns; path always starts
 * with '/' (a host-only pattern is stored as host + "/", as nghttpx does,
 * which matches every path of that host). */
struct cfg_route {
    char *host;
    size_t host_len;
    bool wildcard;          /* host is "*SUFFIX" (nghttpx's wildcard host) */
    char *path;
    size_t path_len;
    struct cfg_backend **backends;  /* borrowed from config.backends, or the
                                     * registry's objects once interned */
    uint32_t *weights;              /* by member: its -b's weight */
    size_t num_backends;
    struct cfg_group_policy policy;
    bool redirect_if_not_tls;       /* a member's ";redirect-if-not-tls" */
};

struct crule_set;

/* One --error-page: the answers with code (400..599; 0 for "*") get the
 * file at path as their body. */
struct cfg_error_page {
    int code;
    char *path;
};

/* --add-forwarded parameters (RFC 7239), as bits. */
enum { CFG_FWD_BY = 1, CFG_FWD_FOR = 2, CFG_FWD_HOST = 4, CFG_FWD_PROTO = 8 };

/* One header field an option adds ("name: value" given; name lower-case). */
struct cfg_field {
    char *name;
    char *value;
};

struct cfg_fields {
    struct cfg_field *v;
    size_t num;
};

/* TLS protocol versions (the wire values). */
enum { CFG_TLS12 = 0x0303, CFG_TLS13 = 0x0304 };

/* --subcert: one more certificate, chosen by SNI. */
struct cfg_subcert {
    char *key_file;
    char *cert_file;
    char *ocsp_file;  /* ";ocsp=PATH": a DER OCSP response to staple, or NULL */
};

struct cfg_subcerts {
    struct cfg_subcert *v;
    size_t num;
};

/* A repeatable path option, in order. */
struct cfg_paths {
    char **v;
    size_t num;
};

/* A file read for --include, as it was read. */
struct cfg_text {
    char *path;
    char *text;
    size_t len;
};

struct config {
    struct cfg_frontend *frontends;
    size_t num_frontends;
    struct cfg_backend *backends;   /* every -b, in order */
    size_t num_backends;
    struct cfg_route *routes;       /* one per distinct pattern */
    size_t num_routes;
    size_t num_wildcard_routes;     /* of them, host patterns "*..." */
    char **dns_hosts;               /* the names of ;dns backends, each once */
    size_t num_dns_hosts;

    char *private_key_file;         /* positional PRIVATE_KEY */
    char *cert_file;                /* positional CERT */

    int workers;                                /* -n, default: CPUs */
    int log_level;                              /* enum log_level, default NOTICE */
    char *errorlog_file;                        /* NULL: stderr */
    bool errorlog_syslog;                       /* error log to syslog instead */
    int syslog_facility;                        /* code (common/syslog.h), default daemon */
    char *syslog_socket;                        /* NULL: /dev/log */
    char *conf_file;                            /* --conf, NULL if none */
    char *conf_text;                            /* the file as read, or NULL */
    size_t conf_len;
    char *api_backends;     /* the backendconfig API's text in force, or NULL */
    size_t api_backends_len;
    struct cfg_text *included;                  /* --include files as read, in order */
    size_t num_included;
    char *pid_file;                             /* --pid-file, NULL if none */
    bool check_config;                          /* -t: check and exit */

    uint32_t frontend_http2_max_concurrent_streams;  /* 100 */
    int32_t frontend_http2_window_size;              /* 65535 */
    int32_t frontend_http2_connection_window_size;   /* 65535 */
    /* HPACK dynamic table sizes (4K, as nghttpx): the encoder's bound
     * (nghttp2_option_set_max_deflate_dynamic_table_size), the decoder's
     * sent as SETTINGS_HEADER_TABLE_SIZE when not 4096. */
    double frontend_http2_session_sleep;             /* 1s; 0: never */
    size_t frontend_http2_encoder_dynamic_table_size;
    size_t frontend_http2_decoder_dynamic_table_size;
    size_t frontend_http2_glitch_budget;             /* 1000; 0: no glitch limit */
    size_t frontend_http2_glitch_refill;             /* 100 per second */
    bool no_http2_websocket;        /* no RFC 8441 extended CONNECT for clients */
    size_t padding;                 /* --padding: bytes per frame to clients, 0: none */
    bool no_server_push;            /* --no-server-push: no PUSH_PROMISE from Link preloads */
    char *allow_upgrade;            /* HTTP/1.1 Upgrade tokens carried besides websocket, or NULL */
    double frontend_read_timeout;                    /* 1m (seconds) */
    double frontend_write_timeout;                   /* 30s */
    double frontend_keep_alive_timeout;              /* 1m */
    double frontend_http2_read_timeout;              /* 3m */
    double frontend_http2_setting_timeout;           /* 10s */
    double stream_read_timeout;                      /* 0: off */
    double stream_write_timeout;                     /* 1m */

    double backend_connect_timeout;     /* 30s */
    double backend_read_timeout;        /* 1m */
    double backend_write_timeout;       /* 30s */
    double backend_keep_alive_timeout;  /* 2s, as nghttpx */
    size_t backend_connections_per_host; /* 0 (none): HTTP/2 sessions per backend per worker */
    size_t backend_http1_connections_per_host; /* 0 (none): HTTP/1.1 connections per member per worker */
    double backend_health_interval;     /* 5s between active checks */
    double backend_health_timeout;      /* 2s */
    double backend_max_backoff;         /* 2m: longest wait between checks of a down member */
    bool backend_fail_closed;           /* all members down: 503, not the longest-failed one */

    /* HTTP/2 and TLS backends */
    int32_t backend_http2_window_size;              /* 65535 */
    int32_t backend_http2_connection_window_size;   /* 2147483647 */
    uint32_t backend_http2_max_concurrent_streams;  /* 100 */
    size_t backend_http2_encoder_dynamic_table_size; /* 4K, as the frontend's */
    size_t backend_http2_decoder_dynamic_table_size; /* 4K */
    double backend_http2_settings_timeout;          /* 10s */
    char *cacert;                   /* --cacert, NULL: the system store */
    bool insecure;                  /* -k: do not verify backend certificates */
    char *client_private_key_file;  /* mutual TLS towards backends, or NULL */
    char *client_cert_file;
    char *client_ciphers;               /* TLS 1.2 suites towards backends; NULL: the default */
    char *tls13_client_ciphers;         /* only BoringSSL's fixed list is accepted */
    bool client_no_http2_cipher_block_list;

    /* TLS frontends */
    struct cfg_subcerts subcerts;       /* --subcert, in order */
    char *ocsp_file;                    /* --ocsp-file: the default certificate's, or NULL */
    uint32_t tls_min_proto_version;     /* CFG_TLS12 */
    uint32_t tls_max_proto_version;     /* CFG_TLS13 */
    uint64_t tls_dyn_rec_warmup_threshold; /* small records until; 0: full ones */
    double tls_dyn_rec_idle_timeout;    /* drained this long: small ones again */
    char *ciphers;                      /* TLS 1.2 suites; NULL: the default list */
    char *tls13_ciphers;                /* only BoringSSL's fixed list is accepted */
    bool no_http2_cipher_block_list;
    char *ecdh_curves;                  /* "X25519:P-256:P-384:P-521" */
    char *private_key_passwd_file;      /* NULL: keys are not encrypted */
    struct cfg_paths tls_ticket_key_files; /* the first encrypts, all decrypt */
    uint32_t tls_ticket_key_cipher;     /* AES key length: 16 (aes-128-cbc) or 32 */
    bool verify_client;                 /* require a client certificate */
    char *verify_client_cacert;         /* the CAs that sign client certificates */
    bool forward_client_cert;           /* Client-Cert, Client-Cert-Chain to backends */

    bool no_via;
    bool add_x_forwarded_for;
    bool strip_incoming_x_forwarded_for;
    bool no_add_x_forwarded_proto;
    bool no_strip_incoming_x_forwarded_proto;
    uint32_t add_forwarded;             /* CFG_FWD_* bits; 0: no Forwarded added */
    bool strip_incoming_forwarded;
    char *forwarded_by;                 /* NULL or "obfuscated", "ip", "_TOKEN" */
    bool forwarded_for_ip;              /* --forwarded-for=ip (else obfuscated) */
    struct cfg_fields add_request_headers;  /* --add-request-header, in order */
    struct cfg_fields add_response_headers; /* --add-response-header, in order */
    bool http2_no_cookie_crumbling;     /* Cookie to HTTP/2 backends as it came */
    char *altsvc;                       /* Alt-Svc value for HTTP/1.1 clients, or NULL */
    char *http2_altsvc;                 /* for HTTP/2 clients, or NULL */
    char *server_name;                  /* --server-name; NULL: "h2gate" */
    struct cfg_error_page *error_pages; /* --error-page, in order */
    size_t num_error_pages;
    bool no_server_rewrite;             /* pass the backend's Server as it is */
    bool no_location_rewrite;           /* pass the backend's Location as it is */
    bool require_http_scheme;           /* 400 unless https over TLS, http without */
    bool host_rewrite;                  /* Host/:authority: the backend's hostport */
    bool no_ocsp;                       /* staple nothing, read no OCSP file */
    uint32_t redirect_https_port;       /* 443: redirect-if-not-tls's port */
    size_t request_header_field_buffer; /* 64K */
    size_t max_request_header_fields;   /* 100 */
    size_t response_header_field_buffer; /* 64K */
    size_t max_response_header_fields;   /* 500 */

    /* CONNECT gateway (h2gate's own options) */
    struct crule_set *connect_rules;    /* NULL: every CONNECT is denied */
    char *connect_auth_file;            /* NULL: no authentication */
    double tunnel_connect_timeout;      /* 10s */
    double tunnel_idle_timeout;         /* 5m */
    double dns_lookup_timeout;          /* 5s */
    double dns_cache_timeout;           /* 10s */
    char *dns_server;                   /* --dns-server: c-ares server list, or NULL */
    size_t max_tunnels_per_connection;  /* 0: the stream limit */

    /* Observability */
    char *admin;                        /* "HOST,PORT" of the admin listener, or NULL */
    bool admin_api;                     /* nghttpx's backendconfig API on it */
    size_t api_max_request_body;
    char *accesslog_file;               /* NULL: no access log; "-": stdout */
    char *accesslog_format;             /* NULL: nghttpx's default */
    bool accesslog_syslog;              /* lines to syslog; accesslog_file ignored */
    bool accesslog_json;                /* the ready JSON format */
    int accesslog_escape;               /* enum cfg_alog_escape of accesslog_format */
    bool accesslog_write_early;

    int backlog;                        /* listen(2)'s, 65536 */
    int fastopen;                       /* TCP_FASTOPEN queue of TCP frontends, 0: off */
    size_t read_rate, read_burst;       /* per client connection, bytes; 0: no limit */
    size_t write_rate, write_burst;     /* (a burst of 0: one second's worth) */
    int backend_address_family;         /* AF_UNSPEC (auto), AF_INET or AF_INET6 */
    uint64_t rlimit_nofile;             /* 0: raise soft limit to hard limit */
    size_t worker_frontend_connections; /* 0: unlimited; else per worker */
    double io_collect_interval;         /* busy worker: wait between polls; 0: off */
    double listener_disable_timeout;    /* 30s; 0: until a client connection closes */
    uint64_t frontend_max_requests;     /* 0: unlimited; per client connection */
    double graceful_shutdown_timeout;   /* 30s, counted from the drain's start */
    double graceful_shutdown_accept_period; /* 0: SIGTERM drains at once */
    char *user;                         /* --user: drop to it after binding; NULL: stay */
    char *probe;                        /* --probe=URL (CFG_PROBE only) */
};

#endif
