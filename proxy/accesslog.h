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
 *                    the client's certificate (--verify-client): SHA-256 and
 *                    SHA-1 of its DER and its serial in lower-case hex, the
 *                    subject and issuer as RFC 2253 text; "-" without one
 *   $backend_host $backend_port                  "-" when no backend was used;
 *                    a UNIX domain socket backend is "unix:PATH" and "-"
 *   h2gate's own: $scheme; for tunnels $tunnel_target, $tunnel_bytes_in
 *   (client to target), $tunnel_bytes_out (target to client) and $duration
 *   (seconds, like $request_time); all "-" for non-tunnel entries except
 *   $duration.
 * Peer-supplied text (method, path, header values, authority, ALPN, SNI,
 * tunnel target) is escaped as nghttpx does: control bytes, '"', '\\',
 * DEL and bytes >= 0x80 become \xNN (lower-case hex). A line is cut at
 * ALOG_MAX_LINE bytes including its '\n' (nghttpx cuts at 4 KiB too),
 * which also keeps every line within PIPE_BUF for stdout pipes.
 *
 * JSON (h2gate's own; nghttpx has none). A format compiled with
 * ALOG_ESCAPE_JSON (--accesslog-escape=json, h2o's "escape: json") is a
 * JSON template: its literal text is the operator's and written as is;
 * every variable's value is JSON-escaped (proxy/alog_json.h: valid UTF-8
 * passes, control bytes and DEL become \u00XX or \n \t ..., '"' and
 * '\\' are escaped, a byte that is not UTF-8 becomes \u00XX of the
 * byte). What the default escaping writes as "-" (absent) is null; a
 * variable standing alone between two '"' ("$http_referer") takes the
 * quotes over, so it is "text" when present and null (no quotes) when
 * absent. Numbers ($status, $body_bytes_sent, ports, byte counts,
 * $request_time, $duration, $pid) are bare digits, so write them outside
 * quotes to get JSON numbers; $tls_session_reused is true or false.
 * alog_json_format() is the ready object of --accesslog-json. A JSON
 * line is never cut in the middle of the object: when it would pass
 * ALOG_MAX_LINE, text values are cut (at a character boundary, escapes
 * whole) so that the template's text and every number and time still
 * fit, and the line still parses; the cut is fair: values shorter than
 * an even share of the room stay whole, the longer ones are cut to that
 * share (so a huge path does not leave the user agent empty). A JSON template may hold at
 * most ALOG_MAX_LINE / 2 bytes of text and numbers, so values keep the
 * other half.
 *
 * The writer (proxy/alog_writer.c) writes to a file, or with
 * --accesslog-syslog sends each line to syslog as one datagram
 * (common/syslog.h: facility --syslog-facility, severity info, no
 * trailing newline). */
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
struct clientcert;

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
    const struct clientcert *client_cert; /* a verified client's, or NULL */
    struct str backend_host;      /* empty: no backend used; "unix:PATH" */
    uint16_t backend_port;        /* 0 for a UNIX domain socket: absent */
    const struct hdrs *req_headers; /* lower-case names (proxy/hdrs.h); may be NULL */
    bool is_tunnel;
    bool ext_connect;             /* RFC 8441 extended CONNECT: $path is :path */
    struct str tunnel_target;     /* "host:port" */
    uint64_t tunnel_bytes_up;     /* client to target */
    uint64_t tunnel_bytes_down;   /* target to client */
};

struct alog_format;
struct alog_writer;

enum alog_escape {
    ALOG_ESCAPE_DEFAULT, /* nghttpx's: \xNN, "-" for absent values */
    ALOG_ESCAPE_JSON,    /* a JSON template, see above */
};

/* The default format, nghttpx's (combined log format):
 * $remote_addr - - [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent" */
const char *alog_default_format(void);

/* The default format for tunnels when the user set no format: the default
 * followed by " $duration $tunnel_bytes_in $tunnel_bytes_out" (the target
 * is already in $request). */
const char *alog_default_tunnel_format(void);

/* The --accesslog-json object, one per line, for requests and tunnels
 * alike: time (ISO 8601), remote_addr, remote_port, server_port, method,
 * path, protocol, status, body_bytes_sent, request_time, host,
 * user_agent, referer, scheme, alpn, backend_host, backend_port,
 * tls_protocol, tls_cipher, tls_sni, tls_session_reused, tunnel_target,
 * tunnel_bytes_in, tunnel_bytes_out, pid. Compile it with
 * ALOG_ESCAPE_JSON. */
const char *alog_json_format(void);

/* Compiles fmt (copied; the caller keeps fmt) for the given escaping.
 * Returns the format, or NULL with a NUL-terminated message in err
 * (naming the offending variable, e.g. "unknown variable $foo") on an
 * unknown variable, an empty name or a missing '}', or (json) a template
 * with more than ALOG_MAX_LINE / 2 bytes of fixed text. Free with
 * alog_format_free(). A compiled format is read-only and may be shared
 * by all workers. */
struct alog_format *alog_format_compile_escaped(const char *fmt, enum alog_escape escape,
                                                char *err, size_t err_len);

/* alog_format_compile_escaped() with ALOG_ESCAPE_DEFAULT. */
struct alog_format *alog_format_compile(const char *fmt, char *err, size_t err_len);
void alog_format_free(struct alog_format *f);

/* Appends the line for e (ending in '\n', at most ALOG_MAX_LINE bytes). */
void alog_render(const struct alog_format *f, const struct alog_entry *e, struct bufq *out);

/* The same line written into buf; returns its length, '\n' included. */
size_t alog_render_line(const struct alog_format *f, const struct alog_entry *e,
                        char buf[ALOG_MAX_LINE]);

/* Opens a writer. path "-", "/dev/stdout" or "/proc/self/fd/1": standard
 * output; "/dev/stderr" or "/proc/self/fd/2": standard error; anything
 * else is opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640. Returns
 * the writer, or NULL with errno set when the file cannot be opened. */
struct alog_writer *alog_writer_new(const char *path);

/* Opens a writer that sends every line to syslog (--accesslog-syslog):
 * the datagram socket at socket_path (NULL: /dev/log), facility a code
 * of syslog_facility_code(), severity info. Returns the writer, or NULL
 * with errno set when no socket can be made; a socket with no receiver
 * yet is not an error (alog_writer_syslog_errno() says why): its lines
 * are dropped and counted until one appears. */
struct alog_writer *alog_writer_new_syslog(const char *socket_path, int facility);

/* 0, or the errno of a syslog writer's last failed connect. */
int alog_writer_syslog_errno(const struct alog_writer *w);

/* Renders e with f into the writer's buffer; flushes once more than
 * ALOG_FLUSH_BYTES are buffered. Never blocks on a lock. If the fd
 * refuses bytes (EAGAIN on a non-blocking stdout, disk full) and the
 * buffer is full, the line is dropped and counted. A syslog writer
 * never blocks either: a line the socket refuses at the flush (EAGAIN,
 * ENOBUFS: the receiver does not keep up; no receiver) is dropped and
 * counted. */
void alog_write(struct alog_writer *w, const struct alog_format *f, const struct alog_entry *e);

/* Writes every buffered line: to syslog one datagram per line (sendmmsg
 * batches; refused ones dropped and counted, always returns 0); to a
 * regular file in one write(2) per batch
 * of whole lines; to a pipe, tty or socket in writes of whole lines of at
 * most PIPE_BUF bytes (so they stay atomic). Never writes part of a line
 * unless the kernel itself takes a short write. Call once per loop
 * iteration. Returns 0, or H2G_ERR_IO (lines that could not be written
 * are dropped, except on EAGAIN where they stay buffered). */
int alog_writer_flush(struct alog_writer *w);

/* Log rotation (SIGUSR1): flushes, then reopens the path given to
 * alog_writer_new() (after a rename the new lines go to a new file).
 * Standard output and error are kept. A syslog writer connects its
 * socket again (a restarted daemon). Returns 0, or H2G_ERR_IO with the
 * old fd still in use. */
int alog_writer_reopen(struct alog_writer *w);

/* Access log lines lost so far: dropped by alog_write(), by a failed
 * write, or refused by the syslog socket. */
uint64_t alog_writer_num_dropped(const struct alog_writer *w);

/* Flushes and closes (standard output and error stay open). NULL: no-op. */
void alog_writer_free(struct alog_writer *w);

#endif
