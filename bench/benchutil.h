/* Helpers the bench tools share (tunnel_client.c, ws_bench.c). */
#ifndef H2G_BENCH_BENCHUTIL_H
#define H2G_BENCH_BENCHUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The tool's name, first word of every error message. */
extern const char *bench_prog;
/* The tool's one epoll instance (ep_set). */
extern int epfd;

/* Prints "bench_prog: message" and exits 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xcalloc(size_t n, size_t size);
/* CLOCK_MONOTONIC in seconds. */
double now(void);
/* Soft open-file limit up to the hard one. */
void raise_nofile(void);
/* "N", "NK", "NM", "NG" (binary units); dies on anything else. */
uint64_t parse_size(const char *s);
/* "HOST:PORT" or "[V6]:PORT", numeric port; dies when unusable. */
void parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* Adds (add) or modifies fd's registration in epfd. */
void ep_set(int fd, void *ptr, uint32_t events, bool add);

#endif
