/* Proxy authentication for CONNECT (--connect-auth-file): an htpasswd
 * file of bcrypt ($2y$, $2b$, $2a$, as `htpasswd -B` writes them) and
 * SHA-512-crypt ($6$) entries, checked against
 * "Proxy-Authorization: Basic base64(user:pass)".
 *
 * The hashes are slow by design and crypt_r runs on the worker's loop, so
 * each worker keeps a bounded cache of credentials it has already
 * verified: a request with cached credentials costs one SHA-256 and a
 * constant-time compare. Only successes are cached. Passwords are never
 * logged nor kept: the cache holds SHA-256("user:pass"). */
#ifndef H2G_PROXY_AUTH_H
#define H2G_PROXY_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

/* The users of one htpasswd file; immutable after load, shared read-only
 * by all workers. */
struct auth_db;

/* Per-worker cache of verified credentials; one thread only. */
struct auth_cache;

enum auth_result {
    AUTH_OK,      /* known user, right password */
    AUTH_MISSING, /* no credentials, or not the Basic scheme: ask for them */
    AUTH_BAD,     /* Basic credentials that are malformed or wrong */
};

/* Reads the htpasswd file at path: one "user:hash" per line; empty lines
 * and lines starting with '#' are skipped; a trailing CR is ignored. Every
 * hash must be bcrypt or SHA-512-crypt in their standard encodings; a user
 * may appear once; the file must name at least one user. Returns the
 * database (free with auth_db_free), or NULL with "PATH:LINE: what is
 * wrong" (or "PATH: strerror") written to err (err_len bytes, truncated). */
struct auth_db *auth_db_load(const char *path, char *err, size_t err_len);

/* Number of users in db. */
size_t auth_db_num_users(const struct auth_db *db);

/* Frees db; NULL is a no-op. Every cache used with db must not be used
 * with it again afterwards. */
void auth_db_free(struct auth_db *db);

/* A cache of at most max_entries verified users (>= 1; 0 is taken as 1);
 * when full, the oldest entry is evicted. Never NULL. Used with one db at
 * a time: switching dbs empties it. */
struct auth_cache *auth_cache_new(size_t max_entries);

/* Frees cache; NULL is a no-op. */
void auth_cache_free(struct auth_cache *cache);

/* Number of crypt_r calls cache has made (for tests and stats). */
uint64_t auth_cache_num_crypts(const struct auth_cache *cache);

/* Number of users cache currently holds. */
size_t auth_cache_num_entries(const struct auth_cache *cache);

/* Checks the value of a Proxy-Authorization field (borrowed; STR_NULL or
 * empty when the field is absent):
 *   absent, empty, or a scheme other than Basic          -> AUTH_MISSING
 *   Basic with bad base64, no ':', a NUL byte, too long
 *   (over 1024 encoded bytes), unknown user, wrong
 *   password                                             -> AUTH_BAD
 *   known user and the right password                    -> AUTH_OK
 * The scheme is matched case-insensitively. A hit in cache whose SHA-256
 * matches (constant-time) answers AUTH_OK without crypt_r; otherwise
 * crypt_r runs and its result is compared in constant time with the
 * stored hash, and a success is cached. An unknown user answers without
 * crypt_r (so response time tells whether a user exists). db NULL answers
 * AUTH_BAD to any Basic credentials; cache may be NULL (no caching). */
enum auth_result auth_check(const struct auth_db *db, struct auth_cache *cache,
                            struct str proxy_authorization);

/* The Proxy-Authenticate value of a 407: Basic realm="h2gate". Static. */
const char *auth_challenge(void);

#endif
