/* cfg_load: the command line, the --conf file, defaults, the consistency
 * checks and backend address resolution, driven by the option table
 * (config/table.h); cfg_cleanup. */
#include "config/config.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cpus.h"
#include "common/log.h"
#include "common/syslog.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "config/connect_rule.h"
#include "config/options.h"
#include "config/parse.h"
#include "config/resolve.h"
#include "config/table.h"

/* A config file larger than this is a mistake (a log, a binary). */
#define CONF_FILE_MAX (1u << 20)

/* How deep files may nest: the --conf file and 8 levels of --include. */
#define INCLUDE_DEPTH_MAX 9

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
    const struct cfg_reuse *reuse;  /* cfg_load_again's, or NULL */
    /* The --conf and --include files being read, outermost first (the
     * loop check). */
    const char *including[INCLUDE_DEPTH_MAX];
    size_t depth;
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

static int load_include(struct loader *ld, const char *path, const char *where);

/* A frontend (-f): the command line's list replaces the file's. */
static void add_frontend(struct loader *ld, const struct cfg_frontend *fe)
{
    if (ld->cmdline && !ld->fes_from_cmdline) {
        free_frontends(ld->fes, ld->num_fes);
        ld->fes = NULL;
        ld->num_fes = 0;
        ld->fes_from_cmdline = true;
    }
    ld->fes = xrealloc(ld->fes, (ld->num_fes + 1) * sizeof(*fe));
    ld->fes[ld->num_fes++] = *fe;
}

/* A backend (-b): the command line's list replaces the file's. */
static void add_backend(struct loader *ld, const struct cfg_backend_spec *spec)
{
    if (ld->cmdline && !ld->bes_from_cmdline) {
        free_backend_specs(ld->bes, ld->num_bes);
        ld->bes = NULL;
        ld->num_bes = 0;
        ld->bes_from_cmdline = true;
    }
    ld->bes = xrealloc(ld->bes, (ld->num_bes + 1) * sizeof(*spec));
    ld->bes[ld->num_bes++] = *spec;
}

/* --altsvc: each one joins the field's list. Takes alt. */
static void add_altsvc(char **field, char *alt)
{
    if (*field) {
        char *joined = xmalloc(strlen(*field) + strlen(alt) + 3);
        sprintf(joined, "%s, %s", *field, alt);
        free(alt);
        alt = joined;
    }
    free(*field);
    *field = alt;
}

/* An option whose every use adds to a list (frontends, backends, rules,
 * fields, pages, certificates, Alt-Svc values, paths). Returns false for
 * other kinds; else *msg says what was wrong with value, or is NULL. */
static bool add_to_list(struct loader *ld, const struct opt_def *o, const char *value,
                        char *buf, size_t len, const char **msg)
{
    struct config *c = ld->cfg;
    void *field = (char *)c + o->offset;
    switch (o->kind) {
    case K_FRONTEND: {
        struct cfg_frontend fe;
        if (!(*msg = cfg_parse_frontend(value, &fe, buf, len)))
            add_frontend(ld, &fe);
        return true;
    }
    case K_BACKEND: {
        struct cfg_backend_spec spec;
        if (!(*msg = cfg_parse_backend(value, &spec, buf, len)))
            add_backend(ld, &spec);
        return true;
    }
    case K_CRULE_ALLOW:
    case K_CRULE_DENY: {
        struct crule rule;
        if ((*msg = crule_parse(str_cstr(value), &rule)))
            return true;
        if (!c->connect_rules)
            c->connect_rules = crule_set_new();
        crule_set_add(c->connect_rules, &rule, o->kind == K_CRULE_DENY);
        return true;
    }
    case K_FIELD: {
        struct cfg_field f;
        if (!(*msg = cfg_parse_field(str_cstr(value), &f)))
            cfg_fields_add(field, f);
        return true;
    }
    case K_ERROR_PAGE: {
        struct cfg_error_page page;
        if ((*msg = cfg_parse_error_page(str_cstr(value), &page)))
            return true;
        c->error_pages = xrealloc(c->error_pages, (c->num_error_pages + 1) * sizeof(page));
        c->error_pages[c->num_error_pages++] = page;
        return true;
    }
    case K_SUBCERT: {
        struct cfg_subcert sc;
        if (!(*msg = cfg_parse_subcert(str_cstr(value), &sc)))
            cfg_subcerts_add(&c->subcerts, sc);
        return true;
    }
    case K_ALTSVC: {
        char *alt = NULL;
        if (!(*msg = cfg_parse_altsvc(str_cstr(value), &alt)))
            add_altsvc(field, alt);
        return true;
    }
    case K_PATHS:
        *msg = NULL;
        cfg_paths_add(field, value);
        return true;
    default:
        return false;
    }
}

/* A number or size within the option's range. */
static const char *parse_number(const struct opt_def *o, const char *value, uint64_t *u,
                                char *buf, size_t len)
{
    const char *msg;
    if (o->kind == K_NUM) {
        msg = cfg_parse_uint(str_cstr(value), u);
    } else {
        size_t sz;
        msg = cfg_parse_size(str_cstr(value), &sz);
        *u = sz;
    }
    if (!msg && (*u < o->min || *u > o->max)) {
        snprintf(buf, len, "out of range (%llu-%llu)", (unsigned long long)o->min,
                 (unsigned long long)o->max);
        msg = buf;
    }
    return msg;
}

/* One of the words of choices (NULL-ended), case-insensitive or not:
 * *u becomes its value in values. */
static const char *parse_word(const char *value, const char *const *choices,
                              const uint64_t *values, bool nocase, const char *expected,
                              uint64_t *u)
{
    for (size_t i = 0; choices[i]; i++) {
        if ((nocase ? strcasecmp(value, choices[i]) : strcmp(value, choices[i])) == 0) {
            *u = values[i];
            return NULL;
        }
    }
    return expected;
}

/* A value kept in the option's field (store()): a number in *u or *d,
 * or the text itself. Returns what was wrong with it, or NULL. */
static const char *parse_value(const struct opt_def *o, const char *value, uint64_t *u,
                               double *d, char *buf, size_t len)
{
    static const char *const families[] = { "auto", "IPv4", "IPv6", NULL };
    static const uint64_t family_values[] = { AF_UNSPEC, AF_INET, AF_INET6 };
    static const char *const escapes[] = { "json", "default", NULL };
    static const uint64_t escape_values[] = { CFG_ALOG_ESCAPE_JSON, CFG_ALOG_ESCAPE_DEFAULT };
    const char *msg = NULL;
    switch (o->kind) {
    case K_FLAG: {
        bool b = true;
        if (value)
            msg = cfg_parse_flag(str_cstr(value), &b);
        *u = b;
        return msg;
    }
    case K_UPGRADES:
        return cfg_parse_upgrades(str_cstr(value));
    case K_NUM:
    case K_SIZE:
        return parse_number(o, value, u, buf, len);
    case K_DUR:
        return cfg_parse_duration(str_cstr(value), d);
    case K_LEVEL: {
        enum log_level lvl = LOG_NOTICE;
        if (log_parse_level(value, &lvl) != 0)
            msg = "expected INFO, NOTICE, WARN, ERROR or FATAL";
        *u = (uint64_t)lvl;
        return msg;
    }
    case K_FACILITY: {
        int code = syslog_facility_code(value);
        if (code < 0) {
            snprintf(buf, len, "unknown facility (expected %s)", syslog_facility_list());
            msg = buf;
        }
        *u = (uint64_t)(code < 0 ? 0 : code);
        return msg;
    }
    case K_FWD_PARAMS: {
        uint32_t bits = 0;
        msg = cfg_parse_forwarded_params(str_cstr(value), &bits);
        *u = bits;
        return msg;
    }
    case K_FWD_BY:
        return cfg_parse_forwarded_by(str_cstr(value));
    case K_FWD_FOR: {
        bool ip = false;
        msg = cfg_parse_forwarded_for(str_cstr(value), &ip);
        *u = ip;
        return msg;
    }
    case K_TLS_VERSION:
    case K_TICKET_CIPHER: {
        uint32_t v = 0;
        msg = o->kind == K_TLS_VERSION ? cfg_parse_tls_version(str_cstr(value), &v)
                                       : cfg_parse_ticket_cipher(str_cstr(value), &v);
        *u = v;
        return msg;
    }
    case K_FAMILY:
        return parse_word(value, families, family_values, true, "expected auto, IPv4 or IPv6", u);
    case K_ESCAPE:
        return parse_word(value, escapes, escape_values, false, "expected default or json", u);
    case K_STR:
    case K_CONF: /* the text itself */
        return NULL;
    case K_FRONTEND: /* add_to_list()'s */
    case K_BACKEND:
    case K_CRULE_ALLOW:
    case K_CRULE_DENY:
    case K_FIELD:
    case K_ERROR_PAGE:
    case K_SUBCERT:
    case K_ALTSVC:
    case K_PATHS:
    case K_INCLUDE: /* apply()'s */
    case K_HELP:
    case K_VERSION:
    case K_PROBE:
        break;
    }
    return NULL;
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

    if (cfg_takes_value(o->kind) && value[0] == '\0')
        return fail(ld, "%s: missing value", where);
    switch (o->kind) {
    case K_INCLUDE:
        return load_include(ld, value, where);
    case K_HELP:
    case K_VERSION:
    case K_PROBE:
        return fail(ld, "%s: not allowed here", where);
    default:
        break;
    }
    bool listed = add_to_list(ld, o, value, buf, sizeof(buf), &msg);
    if (!listed)
        msg = parse_value(o, value, &u, &d, buf, sizeof(buf));
    if (msg)
        return fail(ld, "%s '%s': %s", where, value ? value : "", msg);
    if (!listed)
        store(ld->cfg, o, u, d, value);
    return 0;
}

static void set_defaults(struct loader *ld)
{
    for (size_t i = 0; i < NUM_OPTS; i++) {
        const struct opt_def *o = &cfg_opts[i];
        if (i == OPT_WORKERS || !o->deflt)
            continue;
        if (o->kind == K_NUM || o->kind == K_SIZE || o->kind == K_DUR || o->kind == K_LEVEL ||
            o->kind == K_FACILITY || o->kind == K_ESCAPE || o->kind == K_FAMILY ||
            o->kind == K_TLS_VERSION ||
            o->kind == K_TICKET_CIPHER) {
            int rc = apply(ld, o, o->deflt, o->name);
            (void)rc;  /* the table's defaults parse; the unit tests check them */
        }
    }
    int n = cpus_usable();
    ld->cfg->workers = n > 256 ? 256 : n;
}

/* One NAME=VALUE line of the config file; line is NUL-terminated and ours
 * to modify. */
/* An option name h2gate does not know (without "--"), from the file at
 * path:lineno or (path NULL) the command line; nghttpx's get a reason. */
static int unknown(struct loader *ld, const char *path, size_t lineno, struct str name)
{
    char where[1040] = "";
    if (path)
        snprintf(where, sizeof(where), "%s:%zu: ", path, lineno);
    const char *why = cfg_nghttpx_only(name);
    if (why)
        return fail(ld, "%s%s%.*s is nghttpx's, not h2gate's: %s", where, path ? "" : "--",
                    (int)name.len, name.p, why);
    return fail(ld, "%sunknown option '%s%.*s'", where, path ? "" : "--", (int)name.len,
                name.p);
}

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
    const struct opt_def *o = cfg_opt_by_name(name);
    if (!o)
        return unknown(ld, path, lineno, name);
    if (o->kind == K_CONF || o->kind == K_HELP || o->kind == K_VERSION || o->kind == K_PROBE)
        return fail(ld, "%s:%zu: %s is not allowed in a config file", path, lineno, o->name);
    /* parse_file's line stays alive while an --include it names is read. */
    char where[1024];
    snprintf(where, sizeof(where), "%s:%zu: %s", path, lineno, o->name);
    return apply(ld, o, value.p, where);
}

static int parse_file(struct loader *ld, const char *path, char *data, size_t len);

/* len bytes and a NUL (the text may hold NULs: parse_file reports them). */
static char *dup_bytes(const char *p, size_t len)
{
    char *d = xmalloc(len + 1);
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

/* Reads the file at path whole into *data (a heap copy with a NUL after
 * its *len bytes). */
static int read_conf(struct loader *ld, const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(ld, "cannot open config file %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *d = xmalloc(cap);
    for (;;) {
        if (n + 1 == cap) {
            if (cap > CONF_FILE_MAX) {
                fclose(f);
                free(d);
                return fail(ld, "config file %s is larger than %u bytes", path, CONF_FILE_MAX);
            }
            cap *= 2;
            d = xrealloc(d, cap);
        }
        size_t got = fread(d + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    int read_err = ferror(f) ? errno : 0;
    fclose(f);
    if (read_err) {
        free(d);
        return fail(ld, "cannot read config file %s: %s", path, strerror(read_err));
    }
    d[n] = '\0';
    *data = d;
    *len = n;
    return 0;
}

static int load_file(struct loader *ld, const char *path)
{
    struct config *cfg = ld->cfg;
    char *data;
    size_t len;
    if (ld->reuse && ld->reuse->conf_text) {
        len = ld->reuse->conf_len;
        data = dup_bytes(ld->reuse->conf_text, len);
    } else if (read_conf(ld, path, &data, &len) != 0) {
        return -1;
    }
    free(cfg->conf_text);
    cfg->conf_text = dup_bytes(data, len);
    cfg->conf_len = len;
    ld->including[ld->depth++] = path;
    int rc = parse_file(ld, path, data, len);
    ld->depth--;
    return rc;
}

/* --include=PATH (where: the option's place, for errors): PATH's lines
 * applied here. A rebuild (ld->reuse) takes the text the running
 * configuration read, as for --conf. */
static int load_include(struct loader *ld, const char *path, const char *where)
{
    struct config *cfg = ld->cfg;
    if (ld->depth == INCLUDE_DEPTH_MAX)
        return fail(ld, "%s: files included more than %d deep", where, INCLUDE_DEPTH_MAX - 1);
    for (size_t i = 0; i < ld->depth; i++) {
        if (strcmp(ld->including[i], path) == 0)
            return fail(ld, "%s: %s includes itself", where, path);
    }
    const struct cfg_reuse *ru = ld->reuse;
    size_t k = cfg->num_included;
    char *data;
    size_t len;
    if (ru && k < ru->num_included && strcmp(ru->included[k].path, path) == 0) {
        len = ru->included[k].len;
        data = dup_bytes(ru->included[k].text, len);
    } else if (read_conf(ld, path, &data, &len) != 0) {
        char why[768];
        snprintf(why, sizeof(why), "%s", ld->err);
        return fail(ld, "%s: %s", where, why);
    }
    cfg->included = xrealloc(cfg->included, (k + 1) * sizeof(*cfg->included));
    cfg->included[k] = (struct cfg_text){ xstrdup(path), dup_bytes(data, len), len };
    cfg->num_included = k + 1;
    ld->including[ld->depth++] = path;
    int rc = parse_file(ld, path, data, len);
    ld->depth--;
    return rc;
}

/* Applies the lines of data (a heap copy of the file, taken over). */
static int parse_file(struct loader *ld, const char *path, char *data, size_t len)
{
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


/* nghttpx's backendconfig API (cfg_reuse.backends_text): the backend=
 * lines of text replace every backend the file and the command line
 * gave; other options are ignored, as by nghttpx; a line that is not
 * NAME=VALUE (or empty, or a comment) is an error. The text is kept in
 * cfg->api_backends for the rebuilds after it. */
static int api_backends(struct loader *ld, const char *text, size_t len)
{
    if (memchr(text, '\0', len))
        return fail(ld, "backendconfig: NUL byte in the body");
    free_backend_specs(ld->bes, ld->num_bes);
    ld->bes = NULL;
    ld->num_bes = 0;
    ld->cmdline = false;
    struct config *cfg = ld->cfg;
    cfg->api_backends = dup_bytes(text, len);
    cfg->api_backends_len = len;
    char *data = dup_bytes(text, len);
    int rc = 0;
    size_t lineno = 0;
    for (char *line = data, *end; rc == 0 && line < data + len; line = end + 1) {
        lineno++;
        end = memchr(line, '\n', (size_t)(data + len - line));
        end = end ? end : data + len;
        *end = '\0';
        struct str s = str_trim(str_cstr(line));
        if (s.len == 0 || s.p[0] == '#')
            continue;
        const char *eq = memchr(s.p, '=', s.len);
        if (!eq) {
            rc = fail(ld, "backendconfig:%zu: expected NAME=VALUE, got '%.*s'", lineno,
                      (int)s.len, s.p);
            break;
        }
        if (!str_eq(str_trim(str_make(s.p, (size_t)(eq - s.p))), STR_LIT("backend")))
            continue;
        struct str value = str_trim(str_make(eq + 1, (size_t)(s.p + s.len - eq - 1)));
        ((char *)value.p)[value.len] = '\0';
        char where[64];
        snprintf(where, sizeof(where), "backendconfig:%zu: backend", lineno);
        rc = apply(ld, &cfg_opts[OPT_BACKEND], value.p, where);
    }
    free(data);
    return rc;
}

/* Unknown option, or a value given to a flag ("--no-via=yes"). */
static int bad_option(struct loader *ld, int argc, char **argv)
{
    const struct opt_def *o = optopt ? cfg_opt_by_val(optopt) : NULL;
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
            if (strncmp(cfg_opts[i].name, name.p + 2, name.len - 2) == 0)
                num_prefixed++;
        }
        if (num_prefixed > 1)
            return fail(ld, "ambiguous option '%.*s'", (int)name.len, name.p);
    }
    if (str_has_prefix(name, STR_LIT("--")))
        return unknown(ld, NULL, 0, str_make(name.p + 2, name.len - 2));
    return fail(ld, "unknown option '%.*s'", (int)name.len, name.p);
}

/* Every address each -b name resolves to becomes a member
 * (config/members.c). */
static int resolve_backends(struct loader *ld)
{
    char buf[512];
    const char *msg =
        cfg_members_build(ld->cfg, ld->bes, ld->num_bes, ld->reuse, buf, sizeof(buf));
    return msg ? fail(ld, "%s", msg) : 0;
}

/* The TLS frontend options that depend on each other (config/tlsopts.c). */
static int check_tls(struct loader *ld)
{
    char buf[512];
    const char *msg = cfg_check_tls(ld->cfg, cfg_opts[OPT_CIPHERS].deflt, cfg_opts[OPT_ECDH_CURVES].deflt,
                                    cfg_opts[OPT_TLS13_CIPHERS].deflt, buf, sizeof(buf));
    return msg ? fail(ld, "%s", msg) : 0;
}

/* The positional PRIVATE_KEY CERT, both or neither. */
static int take_key_cert(struct loader *ld, int num_pos, char **pos)
{
    struct config *cfg = ld->cfg;
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
    return 0;
}

/* The default -f and -b when none was given. */
static int default_lists(struct loader *ld)
{
    char buf[256];
    if (ld->num_fes == 0) {
        ld->fes = xcalloc(1, sizeof(*ld->fes));
        if (cfg_parse_frontend(cfg_opts[OPT_FRONTEND].deflt, &ld->fes[0], buf, sizeof(buf)))
            return fail(ld, "bad default frontend");
        ld->num_fes = 1;
    }
    if (ld->num_bes == 0) {
        ld->bes = xcalloc(1, sizeof(*ld->bes));
        if (cfg_parse_backend(cfg_opts[OPT_BACKEND].deflt, &ld->bes[0], buf, sizeof(buf)))
            return fail(ld, "bad default backend");
        ld->num_bes = 1;
    }
    return 0;
}

/* The frontends move into cfg: each TLS one needs the key and
 * certificate, and no two may share an address. */
static int take_frontends(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    cfg->frontends = ld->fes;
    cfg->num_frontends = ld->num_fes;
    ld->fes = NULL;
    ld->num_fes = 0;
    for (size_t i = 0; i < cfg->num_frontends; i++) {
        const struct cfg_frontend *fe = &cfg->frontends[i];
        if (fe->tls && (!cfg->private_key_file || !cfg->cert_file))
            return fail(ld,
                        "frontend " CFG_FE_FMT " needs a private key and certificate: give "
                        "PRIVATE_KEY CERT, or add ;no-tls to the frontend",
                        CFG_FE_ARGS(fe));
        for (size_t j = 0; j < i; j++) {
            /* SO_REUSEPORT would let both bind, and the kernel would
             * split connections between them. */
            const struct cfg_frontend *o = &cfg->frontends[j];
            if (o->port == fe->port && (strcmp(o->host, fe->host) == 0 ||
                                        strcmp(o->host, "*") == 0 || strcmp(fe->host, "*") == 0))
                return fail(ld, "frontends " CFG_FE_FMT " and " CFG_FE_FMT " share an address: "
                                "give each its own %s", CFG_FE_ARGS(o), CFG_FE_ARGS(fe),
                            fe->port ? "port" : "path");
        }
    }
    return 0;
}

/* Options that only make sense together, or not at all together. */
static int check_combinations(struct loader *ld)
{
    const struct config *cfg = ld->cfg;
    if (cfg->accesslog_json && cfg->accesslog_format)
        return fail(ld, "--accesslog-json and --accesslog-format exclude each other: for a "
                        "JSON template of your own give --accesslog-format with "
                        "--accesslog-escape=json");
    if (cfg->accesslog_escape == CFG_ALOG_ESCAPE_JSON && !cfg->accesslog_format &&
        !cfg->accesslog_json)
        return fail(ld, "--accesslog-escape=json applies to an --accesslog-format template: "
                        "give one, or use --accesslog-json for the ready JSON format");
    if (!cfg->client_cert_file != !cfg->client_private_key_file)
        return fail(ld, "--client-cert-file and --client-private-key-file go together");
    if (check_tls(ld) < 0)
        return -1;
    for (size_t i = 0; i < ld->num_bes; i++) {
        const struct cfg_backend *be = &ld->bes[i].be;
        /* TLS names a server by SNI and checks its certificate against
         * that name; a socket path is no name. */
        if (be->addr.ss_family == AF_UNIX && be->tls && !be->sni && !cfg->insecure)
            return fail(ld, "backend %s: tls over a UNIX domain socket needs sni=NAME, the "
                            "name its certificate is checked against (or --insecure)", be->host);
    }
    return 0;
}

/* Defaults for lists, positional files, the checks, resolution, routes. */
static int finish(struct loader *ld, int num_pos, char **pos)
{
    if (take_key_cert(ld, num_pos, pos) < 0 || default_lists(ld) < 0 ||
        take_frontends(ld) < 0 || check_combinations(ld) < 0)
        return -1;
    return resolve_backends(ld);
}

enum cfg_load_result cfg_load(struct config *cfg, int argc, char **argv, char *err,
                              size_t err_len)
{
    return cfg_load_again(cfg, argc, argv, NULL, err, err_len);
}

/* The command line's options, in order, to apply after the file's. */
struct cmd_list {
    const struct opt_def **opts;
    const char **vals;
    size_t num;
};

/* Reads the command line: --conf into cfg, every other option into cmd.
 * Returns CFG_RUN to go on, CFG_EXIT_OK (--help, --version), CFG_PROBE,
 * or CFG_ERROR (ld->err says why). */
static enum cfg_load_result read_cmdline(struct loader *ld, int argc, char **argv,
                                         struct cmd_list *cmd)
{
    char short_opts[2 * NUM_OPTS + 2];
    cfg_short_options(short_opts);
    /* optind = 0 makes glibc start over, so cfg_load can run again. */
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, short_opts, cfg_long_opts, NULL);
        if (c == -1)
            return CFG_RUN;
        if (c == '?') {
            bad_option(ld, argc, argv);
            return CFG_ERROR;
        }
        const struct opt_def *o = cfg_opt_by_val(c == ':' ? optopt : c);
        if (c == ':') {
            fail(ld, "--%s needs a value", o ? o->name : "?");
            return CFG_ERROR;
        }
        switch (o->kind) {
        case K_HELP:
            cfg_print_help(stdout);
            return CFG_EXIT_OK;
        case K_VERSION:
            puts("h2gate " H2G_VERSION);
            return CFG_EXIT_OK;
        case K_PROBE:
            store(ld->cfg, o, 0, 0., optarg);
            return CFG_PROBE;
        case K_CONF:
            if (optarg[0] == '\0') {
                fail(ld, "--conf: missing value");
                return CFG_ERROR;
            }
            free(ld->cfg->conf_file);
            ld->cfg->conf_file = xstrdup(optarg);
            break;
        default:
            cmd->opts[cmd->num] = o;
            cmd->vals[cmd->num++] = o->kind == K_FLAG ? NULL : optarg;
        }
    }
}

enum cfg_load_result cfg_load_again(struct config *cfg, int argc, char **argv,
                                    const struct cfg_reuse *reuse, char *err, size_t err_len)
{
    struct loader ld = { .cfg = cfg, .err = err, .err_len = err_len, .reuse = reuse };
    size_t slots = (size_t)(argc > 0 ? argc : 1);
    struct cmd_list cmd = { xcalloc(slots, sizeof(*cmd.opts)), xcalloc(slots, sizeof(*cmd.vals)), 0 };

    err[0] = '\0';
    set_defaults(&ld);
    enum cfg_load_result result = read_cmdline(&ld, argc, argv, &cmd);
    if (result == CFG_RUN) {
        int rc = cfg->conf_file ? load_file(&ld, cfg->conf_file) : 0;
        /* The command line after the file, so that it wins. */
        ld.cmdline = true;
        for (size_t i = 0; i < cmd.num && rc == 0; i++) {
            char where[128];
            snprintf(where, sizeof(where), "--%s", cmd.opts[i]->name);
            rc = apply(&ld, cmd.opts[i], cmd.vals[i], where);
        }
        if (rc == 0 && reuse && reuse->backends_text)
            rc = api_backends(&ld, reuse->backends_text, reuse->backends_len);
        if (rc == 0)
            rc = finish(&ld, argc - optind, argv + optind);
        if (rc != 0)
            result = CFG_ERROR;
    }
    free(cmd.opts);
    free(cmd.vals);
    free_frontends(ld.fes, ld.num_fes);
    free_backend_specs(ld.bes, ld.num_bes);
    if (result != CFG_RUN && result != CFG_PROBE)
        cfg_cleanup(cfg);
    return result;
}

void cfg_cleanup(struct config *cfg)
{
    free(cfg->conf_text);
    free(cfg->api_backends);
    for (size_t i = 0; i < cfg->num_included; i++) {
        free(cfg->included[i].path);
        free(cfg->included[i].text);
    }
    free(cfg->included);
    for (size_t i = 0; i < cfg->num_dns_hosts; i++)
        free(cfg->dns_hosts[i]);
    free(cfg->dns_hosts);
    free_frontends(cfg->frontends, cfg->num_frontends);
    for (size_t i = 0; i < cfg->num_backends; i++) {
        free(cfg->backends[i].host);
        free(cfg->backends[i].sni);
        free(cfg->backends[i].health_path);
    }
    free(cfg->backends);
    for (size_t i = 0; i < cfg->num_routes; i++) {
        free(cfg->routes[i].host);
        free(cfg->routes[i].path);
        free(cfg->routes[i].backends);
        free(cfg->routes[i].weights);
        free(cfg->routes[i].policy.cookie_name);
        free(cfg->routes[i].policy.cookie_path);
    }
    free(cfg->routes);
    /* Every string option, straight from the table, so a new one cannot
     * be forgotten here. */
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (cfg_opts[i].store == ST_STR)
            free(*(char **)(void *)((char *)cfg + cfg_opts[i].offset));
    }
    crule_set_free(cfg->connect_rules);
    cfg_fields_cleanup(&cfg->add_request_headers);
    cfg_fields_cleanup(&cfg->add_response_headers);
    for (size_t i = 0; i < cfg->num_error_pages; i++)
        free(cfg->error_pages[i].path);
    free(cfg->error_pages);
    cfg_subcerts_cleanup(&cfg->subcerts);
    cfg_paths_cleanup(&cfg->tls_ticket_key_files);
    *cfg = (struct config){ 0 };
}
