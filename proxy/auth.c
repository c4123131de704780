#include "proxy/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

#include "common/xalloc.h"

/* A credential file past this size is surely a mistake. */
#define MAX_FILE_SIZE (64u << 20)
/* Bounds what a client makes us decode and hash; real headers are far
 * shorter. */
#define MAX_ENCODED 1024
#define MAX_DECODED (MAX_ENCODED / 4 * 3)

struct auth_user {
    char *name; /* NUL-terminated, name_len bytes */
    size_t name_len;
    char *hash; /* NUL-terminated, hash_len bytes */
    size_t hash_len;
    unsigned line;
};

struct auth_db {
    struct auth_user *users; /* sorted by (name bytes, length) */
    size_t num_users;
};

struct cache_entry {
    uint32_t user;   /* index into db->users */
    int32_t next;    /* next entry in the same bucket, or -1 */
    uint8_t digest[SHA256_DIGEST_LENGTH]; /* SHA-256 of "user:pass" */
};

struct auth_cache {
    const struct auth_db *db; /* the db the entries index into */
    struct cache_entry *entries;
    size_t max_entries;
    size_t num_entries;
    size_t oldest;      /* once full, the next entry to evict (FIFO ring) */
    int32_t *buckets;   /* heads of chains, -1 when empty */
    size_t num_buckets; /* power of two */
    uint64_t num_crypts;
    /* Big (about 32 KB); libxcrypt wants it zeroed before first use only. */
    struct crypt_data crypt;
};

static int cmp_name(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c)
        return c;
    return (a_len > b_len) - (a_len < b_len);
}

static int cmp_users(const void *a, const void *b)
{
    const struct auth_user *x = a, *y = b;
    return cmp_name(x->name, x->name_len, y->name, y->name_len);
}

static bool is_b64(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '/';
}

static bool all_b64(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_b64(p[i]))
            return false;
    return true;
}

/* "$2y$NN$" + 22 salt + 31 hash characters, cost 04..31. */
static bool valid_bcrypt(struct str h)
{
    if (h.len != 60 || h.p[0] != '$' || h.p[1] != '2' || h.p[3] != '$' || h.p[6] != '$')
        return false;
    if (h.p[2] != 'y' && h.p[2] != 'b' && h.p[2] != 'a')
        return false;
    if (h.p[4] < '0' || h.p[4] > '3' || h.p[5] < '0' || h.p[5] > '9')
        return false;
    int cost = (h.p[4] - '0') * 10 + (h.p[5] - '0');
    return cost >= 4 && cost <= 31 && all_b64(h.p + 7, 53);
}

/* "$6$" ["rounds=N$"] salt (1..16 characters) "$" 86 hash characters. */
static bool valid_sha512(struct str h)
{
    if (h.len < 3 || memcmp(h.p, "$6$", 3) != 0)
        return false;
    struct str s = str_make(h.p + 3, h.len - 3);
    if (str_has_prefix(s, STR_LIT("rounds="))) {
        size_t i = 7;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
            i++;
        if (i == 7 || i > 7 + 10 || i >= s.len || s.p[i] != '$')
            return false;
        s = str_make(s.p + i + 1, s.len - i - 1);
    }
    const char *dollar = memchr(s.p, '$', s.len);
    if (!dollar)
        return false;
    size_t salt_len = (size_t)(dollar - s.p);
    if (salt_len < 1 || salt_len > 16)
        return false;
    for (size_t i = 0; i < salt_len; i++)
        if (s.p[i] == ':' || s.p[i] == ' ' || s.p[i] == '\t')
            return false;
    struct str hash = str_make(dollar + 1, s.len - salt_len - 1);
    return hash.len == 86 && all_b64(hash.p, hash.len);
}

/* Reads the whole file into a heap buffer. */
static char *slurp(const char *path, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_SIZE) {
                snprintf(err, err_len, "%s: file too large", path);
                goto fail;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, err_len, "%s: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

static void free_users(struct auth_user *users, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        free(users[i].name);
        if (users[i].hash) {
            OPENSSL_cleanse(users[i].hash, users[i].hash_len);
            free(users[i].hash);
        }
    }
    free(users);
}

/* One USER:HASH line: its name and hash, or what is wrong with it. */
static const char *parse_line(struct str line, struct str *name, struct str *hash)
{
    const char *colon = memchr(line.p, ':', line.len);
    if (memchr(line.p, '\0', line.len))
        return "NUL byte in line";
    if (!colon)
        return "expected USER:HASH";
    *name = str_make(line.p, (size_t)(colon - line.p));
    *hash = str_make(colon + 1, line.len - name->len - 1);
    if (name->len == 0)
        return "empty user name";
    if (str_has_prefix(*hash, STR_LIT("$2y$")) || str_has_prefix(*hash, STR_LIT("$2b$")) ||
        str_has_prefix(*hash, STR_LIT("$2a$")))
        return valid_bcrypt(*hash) ? NULL : "malformed bcrypt hash";
    if (str_has_prefix(*hash, STR_LIT("$6$")))
        return valid_sha512(*hash) ? NULL : "malformed SHA-512-crypt hash";
    return "unsupported hash: use bcrypt (htpasswd -B) or SHA-512-crypt ($6$)";
}

/* Sorts users by name; false (with err) when a name comes twice. */
static bool sort_unique(struct auth_user *users, size_t num, const char *path, char *err,
                        size_t err_len)
{
    qsort(users, num, sizeof(*users), cmp_users);
    for (size_t i = 1; i < num; i++) {
        if (cmp_users(&users[i - 1], &users[i]) == 0) {
            const struct auth_user *a = &users[i - 1], *b = &users[i];
            unsigned first = a->line < b->line ? a->line : b->line;
            unsigned second = a->line < b->line ? b->line : a->line;
            snprintf(err, err_len, "%s:%u: duplicate user \"%s\" (first on line %u)", path,
                     second, a->name, first);
            return false;
        }
    }
    return true;
}

struct auth_db *auth_db_load(const char *path, char *err, size_t err_len)
{
    size_t len;
    char *text = slurp(path, &len, err, err_len);
    if (!text)
        return NULL;
    struct auth_user *users = NULL;
    size_t num = 0, cap = 0;
    unsigned line_no = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct str line = str_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
        p = nl ? nl + 1 : end;
        line_no++;
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        if (line.len == 0 || line.p[0] == '#')
            continue;
        struct str name = STR_NULL, hash = STR_NULL;
        const char *why = parse_line(line, &name, &hash);
        if (why) {
            snprintf(err, err_len, "%s:%u: %s", path, line_no, why);
            goto fail;
        }
        if (num == cap) {
            cap = cap ? cap * 2 : 16;
            users = xrealloc(users, cap * sizeof(*users));
        }
        users[num++] = (struct auth_user){
            .name = xstrndup(name.p, name.len),
            .name_len = name.len,
            .hash = xstrndup(hash.p, hash.len),
            .hash_len = hash.len,
            .line = line_no,
        };
    }
    if (num == 0) {
        snprintf(err, err_len, "%s: no users", path);
        goto fail;
    }
    if (!sort_unique(users, num, path, err, err_len))
        goto fail;
    OPENSSL_cleanse(text, len);
    free(text);
    struct auth_db *db = xcalloc(1, sizeof(*db));
    db->users = users;
    db->num_users = num;
    return db;
fail:
    free_users(users, num);
    OPENSSL_cleanse(text, len);
    free(text);
    return NULL;
}

size_t auth_db_num_users(const struct auth_db *db)
{
    return db ? db->num_users : 0;
}

void auth_db_free(struct auth_db *db)
{
    if (!db)
        return;
    free_users(db->users, db->num_users);
    free(db);
}

static long find_user(const struct auth_db *db, const char *name, size_t name_len)
{
    size_t lo = 0, hi = db->num_users;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct auth_user *u = &db->users[mid];
        int c = cmp_name(name, name_len, u->name, u->name_len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

struct auth_cache *auth_cache_new(size_t max_entries)
{
    if (max_entries == 0)
        max_entries = 1;
    if (max_entries > (1u << 24))
        max_entries = 1u << 24;
    struct auth_cache *c = xcalloc(1, sizeof(*c));
    c->max_entries = max_entries;
    c->entries = xcalloc(max_entries, sizeof(*c->entries));
    c->num_buckets = 1;
    while (c->num_buckets < max_entries)
        c->num_buckets *= 2;
    c->buckets = xmalloc(c->num_buckets * sizeof(*c->buckets));
    for (size_t i = 0; i < c->num_buckets; i++)
        c->buckets[i] = -1;
    return c;
}

void auth_cache_free(struct auth_cache *cache)
{
    if (!cache)
        return;
    OPENSSL_cleanse(cache->entries, cache->max_entries * sizeof(*cache->entries));
    free(cache->entries);
    free(cache->buckets);
    OPENSSL_cleanse(&cache->crypt, sizeof(cache->crypt));
    free(cache);
}

uint64_t auth_cache_num_crypts(const struct auth_cache *cache)
{
    return cache ? cache->num_crypts : 0;
}

size_t auth_cache_num_entries(const struct auth_cache *cache)
{
    return cache ? cache->num_entries : 0;
}

static size_t bucket_of(const struct auth_cache *c, uint32_t user)
{
    return (size_t)((user * 2654435761u) & (c->num_buckets - 1));
}

static void cache_reset(struct auth_cache *c, const struct auth_db *db)
{
    c->db = db;
    c->num_entries = 0;
    c->oldest = 0;
    for (size_t i = 0; i < c->num_buckets; i++)
        c->buckets[i] = -1;
}

static struct cache_entry *cache_find(struct auth_cache *c, uint32_t user)
{
    for (int32_t i = c->buckets[bucket_of(c, user)]; i >= 0; i = c->entries[i].next)
        if (c->entries[i].user == user)
            return &c->entries[i];
    return NULL;
}

static void cache_unlink(struct auth_cache *c, int32_t idx)
{
    int32_t *link = &c->buckets[bucket_of(c, c->entries[idx].user)];
    while (*link != idx)
        link = &c->entries[*link].next;
    *link = c->entries[idx].next;
}

static void cache_put(struct auth_cache *c, uint32_t user, const uint8_t *digest)
{
    struct cache_entry *e = cache_find(c, user);
    if (!e) {
        int32_t idx;
        if (c->num_entries < c->max_entries) {
            idx = (int32_t)c->num_entries++;
        } else {
            idx = (int32_t)c->oldest;
            c->oldest = (c->oldest + 1) % c->max_entries;
            cache_unlink(c, idx);
        }
        e = &c->entries[idx];
        e->user = user;
        size_t b = bucket_of(c, user);
        e->next = c->buckets[b];
        c->buckets[b] = idx;
    }
    memcpy(e->digest, digest, SHA256_DIGEST_LENGTH);
}

/* The credentials of a Basic field, decoded into buf (MAX_DECODED + 1
 * bytes). Returns AUTH_OK with *len set, or the answer to give. */
static enum auth_result decode_basic(struct str v, uint8_t *buf, size_t *len)
{
    v = str_trim(v);
    if (v.len == 0 || !v.p)
        return AUTH_MISSING;
    size_t i = 0;
    while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
        i++;
    if (!str_ieq(str_make(v.p, i), STR_LIT("Basic")))
        return AUTH_MISSING;
    struct str token = str_trim(str_make(v.p + i, v.len - i));
    if (token.len == 0 || token.len > MAX_ENCODED)
        return AUTH_BAD;
    size_t n = 0;
    if (!EVP_DecodeBase64(buf, &n, MAX_DECODED, (const uint8_t *)token.p, token.len))
        return AUTH_BAD;
    if (memchr(buf, '\0', n) || !memchr(buf, ':', n))
        return AUTH_BAD;
    buf[n] = '\0';
    *len = n;
    return AUTH_OK;
}

enum auth_result auth_check(const struct auth_db *db, struct auth_cache *cache,
                            struct str proxy_authorization)
{
    uint8_t buf[MAX_DECODED + 1];
    size_t len = 0;
    enum auth_result r = decode_basic(proxy_authorization, buf, &len);
    if (r != AUTH_OK)
        goto out;
    r = AUTH_BAD;
    if (!db)
        goto out;
    const char *creds = (const char *)buf;
    size_t user_len = (size_t)((const uint8_t *)memchr(buf, ':', len) - buf);
    long idx = find_user(db, creds, user_len);
    if (idx < 0)
        goto out;
    const struct auth_user *u = &db->users[idx];
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(buf, len, digest);
    if (cache) {
        if (cache->db != db)
            cache_reset(cache, db);
        struct cache_entry *e = cache_find(cache, (uint32_t)idx);
        if (e && CRYPTO_memcmp(e->digest, digest, sizeof(digest)) == 0) {
            r = AUTH_OK;
            goto out;
        }
    }
    /* A cached user with another password still goes through crypt_r:
     * bcrypt ignores bytes past the 72nd, so two different passwords can
     * both be right. */
    struct crypt_data local;
    struct crypt_data *cd = cache ? &cache->crypt : &local;
    if (!cache)
        memset(&local, 0, sizeof(local));
    else
        cache->num_crypts++;
    const char *out = crypt_r(creds + user_len + 1, u->hash, cd);
    if (out && strlen(out) == u->hash_len && CRYPTO_memcmp(out, u->hash, u->hash_len) == 0) {
        r = AUTH_OK;
        if (cache)
            cache_put(cache, (uint32_t)idx, digest);
    }
    OPENSSL_cleanse(cd->output, sizeof(cd->output));
    OPENSSL_cleanse(digest, sizeof(digest));
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    return r;
}

const char *auth_challenge(void)
{
    return "Basic realm=\"h2gate\"";
}
