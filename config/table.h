/* Internal to config/: the option table (config/options.h's X-macro
 * list made into one entry per option) that config.c's loader, --help and
 * cfg_keep_fixed read. proxy/ uses config.h only. */
#ifndef H2G_CONFIG_TABLE_H
#define H2G_CONFIG_TABLE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/str.h"
#include "config/options.h"

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

extern const struct opt_def cfg_opts[NUM_OPTS];

static inline bool cfg_takes_value(enum opt_kind kind)
{
    return kind != K_FLAG && kind != K_HELP && kind != K_VERSION;
}

/* getopt_long's options: val is the short letter, or 256 + the id for
 * a long-only option. */
extern const struct option cfg_long_opts[NUM_OPTS + 1];

/* The option getopt_long returned as val, or NULL. */
const struct opt_def *cfg_opt_by_val(int val);

/* The option of a long name (a --conf file's NAME=), or NULL. */
const struct opt_def *cfg_opt_by_name(struct str name);

/* getopt's short option string into out (2 * NUM_OPTS + 2 bytes): each
 * short name, ':' after those that take a value, a leading ':'. */
void cfg_short_options(char *out);

/* --help: every option of the table, by group, within 80 columns. */
void cfg_print_help(FILE *out);

#endif
