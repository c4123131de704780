/* Command-line and config-file parsing. Pure: no sockets (except
 * the blocking lookups of backend names, config/resolve.h), no event loop. */
#ifndef H2G_CONFIG_CONFIG_H
#define H2G_CONFIG_CONFIG_H

#include <stddef.h>

#include "common/str.h"
#include "config/config-t.h"

enum cfg_load_result {
    CFG_RUN = 0,       /* cfg is complete: start the proxy */
    CFG_EXIT_OK = 1,   /* --help or --version was printed to stdout */
    CFG_PROBE = 2,     /* --probe=URL: only cfg->probe is set; run the probe,
                          then cfg_cleanup() */
    CFG_ERROR = -1,    /* err holds "what is wrong" (with FILE:LINE for the
                          config file); cfg is cleaned up */
};

/* Fills cfg (zeroed by the caller) from argv and the --conf file; the
 * command line wins over the file. Applies defaults, checks consistency
 * (a TLS frontend needs PRIVATE_KEY and CERT) and resolves backend
 * addresses. On CFG_RUN the caller owns cfg and frees it with
 * cfg_cleanup(). */
enum cfg_load_result cfg_load(struct config *cfg, int argc, char **argv, char *err,
                              size_t err_len);

/* A rebuild of the running configuration when only addresses changed (a
 * ;dns name's answer): the --conf text the running one was read from, not
 * the file (which may be half-edited), and the addresses of every backend
 * name, so nothing is looked up. The backendconfig API's rebuild (and
 * every rebuild after it) also gives its text, whose backends replace
 * those of the file and the command line. */
struct cfg_lookup;
struct cfg_reuse {
    const char *conf_text;     /* cfg->conf_text of the running config, or NULL */
    size_t conf_len;
    const struct cfg_text *included;   /* its --include files' texts */
    size_t num_included;
    const struct cfg_lookup *answers;  /* by host (config/resolve.h) */
    size_t num_answers;
    bool lookup;               /* resolve names as a first load does, not
                                  from answers (the API's new backends) */
    const char *backends_text; /* nghttpx's backendconfig API body: its
                                  backend= lines replace the others */
    size_t backends_len;
};
enum cfg_load_result cfg_load_again(struct config *cfg, int argc, char **argv,
                                    const struct cfg_reuse *reuse, char *err, size_t err_len);

/* Copies into next (a reloaded configuration) the options a running
 * process cannot change from cur (--workers, --admin, the log files...),
 * writing the names of those that differed, comma-separated, into names.
 * Returns how many differed. */
size_t cfg_keep_fixed(struct config *next, const struct config *cur, char *names, size_t len);

/* Frees everything cfg owns; cfg_cleanup on a zeroed struct is a no-op. */
void cfg_cleanup(struct config *cfg);

/* Value parsers. Each returns NULL on success, or a static message
 * ("invalid duration") for the caller to prefix with the option name and
 * FILE:LINE. */
/* "10s", "500ms", "1m", "2h", "1.5s", plain number = seconds. */
const char *cfg_parse_duration(struct str s, double *out);
/* "16K", "1M", "1G" (powers of 1024), plain number = bytes. */
const char *cfg_parse_size(struct str s, size_t *out);

/* The first protocol of an Upgrade field value (upgrade, e.g. "foo/2,
 * bar") that --allow-upgrade names, compared case-insensitively without
 * its version: a view into cfg (valid as long as cfg), or STR_NULL when
 * none is allowed. websocket is not the option's business. */
struct str cfg_upgrade_allowed(const struct config *cfg, struct str upgrade);

/* Route matching, nghttpx rules: host patterns (host compared
 * case-insensitively, port stripped) are tried before path-only ones; a path
 * pattern ending in '/' matches its subtree and the same path without the
 * trailing '/'; otherwise it matches exactly; the longest match wins. host
 * and path are the request's authority and path (the query is ignored).
 * Returns the route, or NULL when nothing matches (the caller answers 404). */
const struct cfg_route *cfg_route_match(const struct config *cfg, struct str host,
                                        struct str path);

#endif
