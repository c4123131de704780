/* The option table, --help, and what a reload may not change
 * (cfg_keep_fixed): everything that reads the table as a whole rather
 * than one option at a time (config.c). */
#include "config/table.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "config/config.h"

const struct opt_def cfg_opts[NUM_OPTS] = {
#define X(id, grp, nm, sn, kd, ar, mn, mx, df, field, st, hp) \
    [OPT_##id] = { grp, nm, sn, kd, ar, mn, mx, df, CONF_OFF(field), st, hp },
    CFG_OPTIONS(X)
#undef X
};

/* getopt_long's val: the short letter, or 256 + id for long-only options. */
#define OPT_VAL(id, sn) ((sn) ? (sn) : 256 + OPT_##id)

const struct option cfg_long_opts[NUM_OPTS + 1] = {
#define X(id, grp, nm, sn, kd, ...)                                               \
    { nm, (kd) == K_FLAG || (kd) == K_HELP || (kd) == K_VERSION ? no_argument      \
                                                                 : required_argument, \
      NULL, OPT_VAL(id, sn) },
    CFG_OPTIONS(X)
#undef X
    { NULL, 0, NULL, 0 },
};

const struct opt_def *cfg_opt_by_val(int val)
{
    if (val >= 256 && val < 256 + NUM_OPTS)
        return &cfg_opts[val - 256];
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (val > 0 && cfg_opts[i].short_name == val)
            return &cfg_opts[i];
    }
    return NULL;
}

const struct opt_def *cfg_opt_by_name(struct str name)
{
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (str_eq(name, str_cstr(cfg_opts[i].name)))
            return &cfg_opts[i];
    }
    return NULL;
}

/* getopt's short options: each short name, with ':' after those that
 * take a value. */
void cfg_short_options(char *out)
{
    *out++ = ':'; /* report a missing value as ':' rather than '?' */
    for (size_t i = 0; i < NUM_OPTS; i++) {
        if (!cfg_opts[i].short_name)
            continue;
        *out++ = (char)cfg_opts[i].short_name;
        if (cfg_takes_value(cfg_opts[i].kind))
            *out++ = ':';
    }
    *out = '\0';
}

/* "Default: VALUE", a long colon-separated list (--ciphers) cut after a
 * colon so every line fits in 80 columns. */
static void print_default(FILE *out, const char *v)
{
    const char *lead = "              Default: ";
    size_t col = strlen(lead);
    fputs(lead, out);
    while (*v) {
        size_t n = strcspn(v, ":");
        n += v[n] == ':';
        if (col > 23 && col + n > 79) {
            fputs("\n                       ", out);
            col = 23;
        }
        fprintf(out, "%.*s", (int)n, v);
        col += n;
        v += n;
    }
    fputc('\n', out);
}

void cfg_print_help(FILE *out)
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
        const struct opt_def *o = &cfg_opts[i];
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
            print_default(out, o->deflt);
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

/* Options a reload cannot change in a running process: the threads, the
 * process limits, the error log, the admin listener, the access log file
 * and the syslog destination (the writers are made once, at start), the
 * pid file, the user the process runs as. (The DNS options can change:
 * each resolver is renewed with the generation, dns_renew.) */
static const enum opt_id fixed_opts[] = {
    OPT_WORKERS,          OPT_RLIMIT_NOFILE,   OPT_LOG_LEVEL,       OPT_ERRORLOG_FILE,
    OPT_ADMIN,            OPT_ACCESSLOG_FILE,  OPT_PID_FILE,        OPT_USER,
    OPT_ERRORLOG_SYSLOG,  OPT_ACCESSLOG_SYSLOG, OPT_SYSLOG_FACILITY, OPT_SYSLOG_SOCKET,
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
        const struct opt_def *o = &cfg_opts[fixed_opts[i]];
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
