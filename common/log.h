/* Error log: one line per call, written with a single write(2) so lines
 * from several workers never interleave. No lock is taken. With
 * --errorlog-syslog (log_use_syslog) each line is one syslog datagram
 * instead (common/syslog.h), without the time stamp (syslog adds its
 * own): "LEVEL [tag] message", severity INFO 6, NOTICE 5, WARN 4,
 * ERROR 3, FATAL 2 (crit), as nghttpx maps them. */
#ifndef H2G_COMMON_LOG_H
#define H2G_COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Parses "INFO", "NOTICE", "WARN", "ERROR" or "FATAL" (any case).
 * Returns 0 and sets *out, or -1. */
int log_parse_level(const char *s, enum log_level *out);

/* Sets the minimum level and the destination. path NULL or "-" means
 * stderr. Returns 0, or a negative h2g_err when the file cannot be opened
 * (the destination is then unchanged). Called by main before workers
 * start; not while other threads log. */
int log_open(enum log_level min, const char *path);

/* Sends every later line to syslog: the datagram socket at socket_path
 * (NULL: /dev/log), facility (syslog_facility_code()). Called by main
 * after log_open, before workers start. Returns 0, or -1 with errno set
 * when the socket cannot be made; when it is made but nothing listens
 * yet, returns 0 with *connect_errno set (else 0): lines are dropped
 * until a receiver appears. */
int log_use_syslog(const char *socket_path, int facility, int *connect_errno);

/* Reopens the file given to log_open (log rotation); any thread, while
 * others log: the descriptor number stays the same (dup2), so a line
 * being written goes whole to the old file or to the new one. Returns 0
 * (also when logging to stderr) or H2G_ERR_IO (the old file stays).
 * With syslog: connects the socket again (a restarted daemon). */
int log_reopen(void);

/* Tags every line this thread writes, e.g. "w0"; pass NULL for main. */
void log_set_thread_tag(const char *tag);

enum log_level log_min_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_ENABLED(lvl) ((lvl) >= log_min_level())
#define log_info(...) \
    do { if (LOG_ENABLED(LOG_INFO)) log_msg(LOG_INFO, __VA_ARGS__); } while (0)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
