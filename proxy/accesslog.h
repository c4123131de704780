/* Access log: nghttpx-compatible formats (--accesslog-format), rendering
 * of one exchange or tunnel into one line, and a per-worker buffered
 * writer. Formatting is pure (no I/O); the writer owns one fd and is used
 * by one worker only, so no lock is taken anywhere: whole lines go out with
 * one write(2) each batch, and O_APPEND keeps several workers' batches to
 * the same file from overwriting each other.
 *
 * Variables (names are case-insensitive; ${name} form also accepted):
 *   $remote_addr $remote_port $server_port       client address, ports
 *   $time_local      01/Feb/2024:10:20:30 +0000 (request start, local time)
 *   $time_iso8601    2024-02-01T10:20:30.123Z / ...+09:00
 *   $request         METHOD PATH PROTOCOL ("CONNECT host:443 HTTP/2")
 *   $method $path $path_without_query $protocol_version
 *   $status $body_bytes_sent
 *   $http_<name>     request header <name>, '_' read as '-' ("-" if absent);
 *                    $http_host is :authority, else the Host header
 *   $request_time    seconds with millisecond resolution ("0.042")
 *   $pid $alpn
 *   $tls_cipher $tls_protocol $tls_session_id $tls_session_reused $tls_sni
 *                    ("-" on cleartext; $ssl_cipher, $ssl_protocol,
 *                    $ssl_session_id, $ssl_session_reused are aliases)
 *   $tls_client_fingerprint_sha256 $tls_client_fingerprint_sha1
 *   $tls_client_subject_name $tls_client_issuer_name $tls_client_serial
 *                    accepted for nghttpx compatibility; always "-" (h2gate
 *                    does not ask for client certificates)
 *   $backend_host $backend_port                  "-" when no backend was used
 *   h2gate's own: $scheme; for tunnels $tunnel_target, $tunnel_bytes_in
 *   (client to target), $tunnel_bytes_out (target to client) and $duration
 *   (seconds, like $request_time); all "-" for non-tunnel entries except
 *   $duration.
 * Peer-supplied text (method, path, header values, authority, ALPN, SNI,
 * tunnel target) is escaped as nghttpx does: control bytes, '"', '\\',
 * DEL and bytes >= 0x80 become \xNN (lower-case hex). A line is cut at
 * ALOG_MAX_LINE bytes including its '\n' (nghttpx cuts at 4 KiB too),
 * which also keeps every line within PIPE_BUF for stdout pipes. */
#ifndef H2G_PROXY_ACCESSLOG_H
#define H2G_PROXY_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "common/str.h"
#include "proxy/hdrs-t.h"

#define ALOG_MAX_LINE 4096
/* The writer flushes once this many bytes of whole lines are buffered. */
#define ALOG_FLUSH_BYTES 16384

/* What one log line is made of. Plain data filled by the proxy; every
 * view and pointer is borrowed for the duration of the call. */
struct alog_entry {
    struct str remote_addr;       /* textual IP, no brackets */
    uint16_t remote_port;
    uint16_t server_port;         /* local port of the frontend */
    double start_time;            /* unix time the request head began; 0: now */
    double request_time_s;        /* request processing time; tunnels: lifetime */
    struct str method, path, authority, scheme;
    const char *protocol;         /* "HTTP/2", "HTTP/1.1", "HTTP/1.0"; NULL: "-" */
    int status;
    uint64_t body_bytes_sent;     /* response body bytes sent to the client */
    const char *alpn;             /* "h2", "http/1.1", ...; NULL: "-" */
    const char *tls_protocol;     /* e.g. "TLSv1.3"; NULL on cleartext */
    const char *tls_cipher;       /* e.g. "TLS_AES_128_GCM_SHA256"; NULL on cleartext */
    struct str tls_sni;           /* empty: none */
    const uint8_t *tls_session_id; /* may be NULL */
    size_t tls_session_id_len;
    bool tls_session_reused;
    struct str backend_host;      /* empty: no backend used */
    uint16_t backend_port;
    const struct hdrs *req_headers; /* lower-case names (proxy/hdrs.h); may be NULL */
    bool is_tunnel;
    bool ext_connect;             /* RFC 8441 extended CONNECT: $path is :path */
    struct str tunnel_target;     /* "host:port" */
    uint64_t tunnel_bytes_up;     /* client to target */
    uint64_t tunnel_bytes_down;   /* target to client */
};

struct alog_format;
struct alog_writer;

/* The default format, nghttpx's (combined log format):
 * $remote_addr - - [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent" */
const char *alog_default_format(void);

/* The default format for tunnels when the user set no format: the default
 * followed by " $duration $tunnel_bytes_in $tunnel_bytes_out" (the target
 * is already in $request). */
const char *alog_default_tunnel_format(void);

/* Compiles fmt (copied; the caller keeps fmt). Returns the format, or NULL
 * with a NUL-terminated message in err (naming the offending variable, e.g.
 * "unknown variable $foo") on an unknown variable, an empty name or a
 * missing '}'. Free with alog_format_free(). A compiled format is
 * read-only and may be shared by all workers. */
struct alog_format *alog_format_compile(const char *fmt, char *err, size_t err_len);
void alog_format_free(struct alog_format *f);

/* Appends the line for e (ending in '\n', at most ALOG_MAX_LINE bytes). */
void alog_render(const struct alog_format *f, const struct alog_entry *e, struct bufq *out);

/* Opens a writer. path "-", "/dev/stdout" or "/proc/self/fd/1": standard
 * output; "/dev/stderr" or "/proc/self/fd/2": standard error; anything
 * else is opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640. Returns
 * the writer, or NULL with errno set when the file cannot be opened. */
struct alog_writer *alog_writer_new(const char *path);

/* Renders e with f into the writer's buffer; flushes once more than
 * ALOG_FLUSH_BYTES are buffered. Never blocks on a lock. If the fd
 * refuses bytes (EAGAIN on a non-blocking stdout, disk full) and the
 * buffer is full, the line is dropped and counted. */
void alog_write(struct alog_writer *w, const struct alog_format *f, const struct alog_entry *e);

/* Writes every buffered line: to a regular file in one write(2) per batch
 * of whole lines; to a pipe, tty or socket in writes of whole lines of at
 * most PIPE_BUF bytes (so they stay atomic). Never writes part of a line
 * unless the kernel itself takes a short write. Call once per loop
 * iteration. Returns 0, or H2G_ERR_IO (lines that could not be written
 * are dropped, except on EAGAIN where they stay buffered). */
int alog_writer_flush(struct alog_writer *w);

/* Log rotation (SIGUSR1): flushes, then reopens the path given to
 * alog_writer_new() (after a rename the new lines go to a new file).
 * Standard output and error are kept. Returns 0, or H2G_ERR_IO with the
 * old fd still in use. */
int alog_writer_reopen(struct alog_writer *w);

/* Lines dropped so far (see alog_write()). */
uint64_t alog_writer_num_dropped(const struct alog_writer *w);

/* Flushes and closes (standard output and error stay open). NULL: no-op. */
void alog_writer_free(struct alog_writer *w);

#endif
