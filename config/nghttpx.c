/* nghttpx's options that h2gate does not take: an nghttpx command line or
 * config file that carries one gets a message saying why, and what to
 * use instead, rather than a bare "unknown option". */
#include "config/parse.h"

#include <string.h>

static const struct {
    const char *name;   /* the option, or a family when it ends in '*' */
    const char *why;
} nghttpx_only[] = {
    { "http2-proxy", "h2gate is a reverse proxy and CONNECT gateway, not a forward proxy: "
                     "clients reach other hosts through CONNECT (--connect-allow)" },
    { "mruby-file", "h2gate runs no scripts: routes (-b patterns), --add-request-header, "
                    "--add-response-header, --host-rewrite and --error-page cover the usual uses" },
    { "ignore-per-pattern-mruby-error", "h2gate runs no scripts" },
    { "frontend-http3-*", "h2gate serves HTTP/1.1 and HTTP/2, not HTTP/3; announce an HTTP/3 "
                          "endpoint served elsewhere with --http2-altsvc" },
    { "frontend-quic-*", "h2gate serves HTTP/1.1 and HTTP/2, not HTTP/3 over QUIC" },
    { "quic-*", "h2gate serves HTTP/1.1 and HTTP/2, not HTTP/3 over QUIC" },
    { "worker-read-*", "nghttpx does not implement it either (its --help says so): drop it" },
    { "worker-write-*", "nghttpx does not implement it either (its --help says so): drop it" },
    { "tls-session-cache-memcached*", "h2gate has no memcached client: give every instance "
                                      "the same --tls-ticket-key-file for resumption across "
                                      "a fleet" },
    { "tls-ticket-key-memcached*", "h2gate has no memcached client: give every instance the "
                                   "same --tls-ticket-key-file and rotate the files yourself" },
    { "psk-secrets", "h2gate has no TLS pre-shared keys" },
    { "client-psk-secrets", "h2gate has no TLS pre-shared keys" },
    { "tls-max-early-data", "h2gate takes no TLS 1.3 early data (0-RTT): a resuming client "
                            "does a 1-RTT handshake" },
    { "tls-no-postpone-early-data", "h2gate takes no TLS 1.3 early data (0-RTT)" },
    { "no-strip-incoming-early-data", "h2gate takes no early data and never strips Early-Data: "
                                      "drop it, the field already passes" },
    { "tls-ktls", "BoringSSL has no kernel TLS" },
    { "dh-param-file", "BoringSSL has no DHE: the suites are ECDHE" },
    { "npn-list", "NPN is gone from TLS stacks: h2gate negotiates by ALPN (h2, http/1.1)" },
    { "tls-sct-dir", "h2gate sends no SCTs" },
    { "fetch-ocsp-response-file", "h2gate fetches no OCSP response: fetch one into a file "
                                  "with your own job and give it as --ocsp-file (or ;ocsp= of "
                                  "--subcert); a reload reads it again" },
    { "ocsp-update-interval", "h2gate fetches no OCSP response: see --ocsp-file" },
    { "ocsp-startup", "h2gate fetches no OCSP response: see --ocsp-file" },
    { "no-verify-ocsp", "h2gate fetches no OCSP response: see --ocsp-file" },
    { "verify-client-tolerate-expired", "h2gate does not accept expired client certificates" },
    { "backend-http-proxy-uri", "h2gate connects to backends directly" },
    { "backend-connections-per-frontend",
      "h2gate bounds backend connections per member and worker instead: "
      "--backend-http1-connections-per-host, --backend-connections-per-host" },
    { "backend-request-buffer", "h2gate's buffers follow the flow-control windows: see "
                                "--frontend-http2-window-size and --backend-http2-window-size" },
    { "backend-response-buffer", "h2gate's buffers follow the flow-control windows: see "
                                 "--frontend-http2-window-size and --backend-http2-window-size" },
    { "frontend-http2-optimize-*", "h2gate sizes its writes and windows itself" },
    { "frontend-http2-dump-*", "h2gate dumps no headers: use --accesslog-format with "
                               "$http_<name> fields, or -L INFO" },
    { "single-process", "h2gate is always one process (workers are threads): drop it" },
    { "single-thread", "h2gate's workers are threads beside the main one: use -n 1" },
    { "max-worker-processes", "h2gate reloads in place (SIGHUP), with no worker processes" },
    { "worker-process-grace-shutdown-period", "h2gate reloads in place (SIGHUP), with no "
                                              "worker processes" },
    { "no-kqueue", "h2gate runs on Linux (epoll): drop it" },
    { "rlimit-memlock", "h2gate locks no memory" },
    { "dns-max-try", "h2gate's lookups are bounded by --dns-lookup-timeout" },
};

const char *cfg_nghttpx_only(struct str name)
{
    for (size_t i = 0; i < sizeof(nghttpx_only) / sizeof(nghttpx_only[0]); i++) {
        struct str n = str_cstr(nghttpx_only[i].name);
        bool family = n.len && n.p[n.len - 1] == '*';
        if (family ? str_has_prefix(name, str_make(n.p, n.len - 1)) : str_eq(name, n))
            return nghttpx_only[i].why;
    }
    return NULL;
}
