/* Internal to config/: the value and address-spec parsers and the route
 * builder that config.c drives. proxy/ uses config.h only.
 *
 * Parsers follow config.h's convention: they return NULL on success or a
 * message saying what is wrong, without the option name or FILE:LINE (the
 * caller adds those). A message is either a string literal or written into
 * the caller's buf, so it stays valid as long as buf does. */
#ifndef H2G_CONFIG_PARSE_H
#define H2G_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"
#include "config/config-t.h"

/* Unsigned decimal digits only: "", "-1", "1x" and values over UINT64_MAX
 * are errors. Range checks are the caller's. */
const char *cfg_parse_uint(struct str s, uint64_t *out);

/* --allow-upgrade: comma-separated RFC 9110 tokens, at least one, never
 * h2c. */
const char *cfg_parse_upgrades(struct str s);

/* --add-forwarded: a comma-separated list of by, for, host, proto (at
 * least one) into CFG_FWD_* bits. */
const char *cfg_parse_forwarded_params(struct str s, uint32_t *out);

/* --forwarded-by: obfuscated, ip, or an RFC 7239 obfuscated node ("_"
 * then ALPHA / DIGIT / "." / "_" / "-"). */
const char *cfg_parse_forwarded_by(struct str s);

/* --forwarded-for: obfuscated or ip (*is_ip). */
const char *cfg_parse_forwarded_for(struct str s, bool *is_ip);

/* Why h2gate does not take nghttpx's option name (without "--") and
 * what to use instead, or NULL when nghttpx has no such option either. */
const char *cfg_nghttpx_only(struct str name);

/* nghttpx's --altsvc and --http2-altsvc, PROTOID,PORT[,HOST[,ORIGIN[,
 * PARAMS]]]: *out (heap) is the one Alt-Svc alternative it makes (RFC
 * 7838 §3), PROTOID="HOST:PORT" (HOST may be empty) then "; PARAMS".
 * ORIGIN names the origin of an ALTSVC frame, which h2gate does not send:
 * accepted, unused. NULL or the message. */
const char *cfg_parse_altsvc(struct str s, char **out);

/* "name: value" (--add-request-header): name a lower-case token that is
 * not a field h2gate writes itself or one that frames the message, value
 * without control characters (trimmed). out's strings are heap copies. */
const char *cfg_parse_field(struct str s, struct cfg_field *out);
void cfg_fields_add(struct cfg_fields *f, struct cfg_field field);

/* --error-page: "CODE=PATH" (CODE 400..599) or "*=PATH" (code 0); path a
 * heap copy. The file is read by the generation (proxy/gen.c). */
const char *cfg_parse_error_page(struct str s, struct cfg_error_page *out);
void cfg_fields_cleanup(struct cfg_fields *f);

/* --subcert: "KEYPATH:CERTPATH[;ocsp=PATH]" (the key path up to the first
 * ':'). out's strings are heap copies (cfg_subcerts_cleanup frees them
 * once added); on failure out owns nothing. */
const char *cfg_parse_subcert(struct str s, struct cfg_subcert *out);
void cfg_subcerts_add(struct cfg_subcerts *l, struct cfg_subcert c);
void cfg_subcerts_cleanup(struct cfg_subcerts *l);

/* --tls-min/max-proto-version: TLSv1.2 or TLSv1.3, any case, into
 * CFG_TLS12/CFG_TLS13 (TLS 1.1 and older are refused with their own
 * message). */
const char *cfg_parse_tls_version(struct str s, uint32_t *out);

/* --tls-ticket-key-cipher: aes-128-cbc or aes-256-cbc, as the AES key
 * length (16 or 32). */
const char *cfg_parse_ticket_cipher(struct str s, uint32_t *key_len);

/* A repeatable path option: appends a copy. */
void cfg_paths_add(struct cfg_paths *l, const char *path);
void cfg_paths_cleanup(struct cfg_paths *l);

/* Fills in the list defaults cfg lacks (the table's ciphers, for
 * --ciphers and --client-ciphers, and curves) and checks the TLS options
 * that depend on each other: min <= max, --tls13-ciphers and
 * --tls13-client-ciphers only their default, --verify-client with its CA file,
 * --forward-client-cert with --verify-client. NULL or the message. */
const char *cfg_check_tls(struct config *cfg, const char *ciphers, const char *curves,
                          const char *tls13_ciphers, char *buf, size_t len);

/* yes/true/1/on or no/false/0/off, any case. */
const char *cfg_parse_flag(struct str s, bool *out);

/* "HOST,PORT[;no-tls]". On success fills out; out->host is a heap copy the
 * caller owns (free()). On failure out owns nothing. */
const char *cfg_parse_frontend(const char *spec, struct cfg_frontend *out, char *buf,
                               size_t buf_len);

/* One pattern of a -b option, normalized: host lower-cased ("" for a
 * path-only pattern), path starting with '/' ("/" for a host alone). */
struct cfg_pattern {
    char *host;
    char *path;
};

/* A parsed -b before address resolution and grouping into routes. */
struct cfg_backend_spec {
    struct cfg_backend be;         /* host and sni owned; addr not yet set
                                    * (a unix:PATH's is: it is not resolved) */
    struct cfg_pattern *patterns;  /* owned; at least one */
    size_t num_patterns;
};

/* "HOST,PORT[;PATTERN[:PATTERN...]][;PARAM...]" as nghttpx reads it, with
 * "HOST,PORT;;PARAM" meaning the catch-all pattern; "unix:PATH" in place of
 * HOST,PORT is a UNIX domain socket (host "unix:PATH", port 0, addr its
 * sockaddr_un; no ;dns). On success *out owns
 * its strings (release with cfg_backend_spec_cleanup); on failure out owns
 * nothing. */
const char *cfg_parse_backend(const char *spec, struct cfg_backend_spec *out, char *buf,
                              size_t buf_len);

/* Frees what spec owns; safe on a zeroed spec and after ownership of
 * be.host/be.sni was moved out (pointers set to NULL). */
void cfg_backend_spec_cleanup(struct cfg_backend_spec *spec);

/* Normalizes the absolute path p[0..len) (p[0] == '/') into out, which has
 * room for len bytes: percent-encoded unreserved characters are decoded,
 * other percent-encodings get upper-case hex, "." and ".." segments are
 * resolved. Returns the new length (>= 1, <= len). */
size_t cfg_path_normalize(const char *p, size_t len, char *out);

/* Makes cfg->backends, the members of the specs bes[0..n): every
 * address of each -b name (looked up with cfg's DNS options, or from
 * reuse's answers for a rebuild; only those of
 * cfg->backend_address_family; a unix:PATH's own), and cfg->routes from
 * them (cfg_routes_build); lists the ;dns names in cfg->dns_hosts.
 * Returns NULL, or the error in buf (a name with no address, unless it
 * is a ;dns one, fails). config/members.c. */
struct cfg_reuse;
const char *cfg_members_build(struct config *cfg, const struct cfg_backend_spec *bes, size_t n,
                              const struct cfg_reuse *reuse, char *buf, size_t buf_len);

/* Builds cfg->routes from specs[i].patterns, where cfg->backends[first[i]]
 * .. [first[i] + count[i]) are the members (resolved addresses) of specs[i]:
 * one route per distinct (host, path), its members in command-line order,
 * its policy (lb=, affinity=...) that of its backends. Returns NULL, or the
 * error in buf when backends of one pattern disagree on the policy.
 * cfg->backends must not move afterwards. */
const char *cfg_routes_build(struct config *cfg, const struct cfg_backend_spec *specs,
                             size_t num_specs, const size_t *first, const size_t *count,
                             char *buf, size_t buf_len);

#endif
