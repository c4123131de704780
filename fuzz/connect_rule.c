/* libFuzzer target: crule_parse and crule_parse_authority
 * (config/connect_rule.h), then crule_check_name / crule_check_addr on a
 * set built from the parsed rules.
 *
 * Input: byte 0 = flags (bit 0: rule A is a deny rule, bit 1: rule B is a
 * deny rule, bit 2: the address is IPv6), the rest split on '\n' into
 * RULE_A, RULE_B, AUTHORITY and ADDRESS (raw bytes: 4 or 16 used, zero
 * padded). Every field is an exact-size heap copy, not NUL-terminated.
 * Checks the header's promises, beyond "no sanitizer report":
 *   - a parsed rule is well formed (1..16 port ranges within 1-65535,
 *     lo <= hi; names NUL-terminated at name_len; CIDR prefixes in range
 *     with no host bits set);
 *   - a parsed authority's host lies inside the authority, port >= 1;
 *   - crule_check_name never disagrees with crule_check_addr: ALLOW means
 *     the address passes, DENY that it does not, and an IP-literal host
 *     gets ALLOW or DENY exactly as crule_check_addr says for itself;
 *   - an IPv4 address and its ::ffff:a.b.c.d form get the same answer;
 *   - a NULL set denies everything. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/connect_rule.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define NUM_FIELDS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const struct crule *r)
{
    CHECK(r->num_ports >= 1 && r->num_ports <= CRULE_MAX_PORT_RANGES);
    for (size_t i = 0; i < r->num_ports; i++)
        CHECK(r->ports[i].lo >= 1 && r->ports[i].lo <= r->ports[i].hi);
    switch (r->kind) {
    case CRULE_NAME:
    case CRULE_SUFFIX:
        CHECK(r->name_len >= 1 && r->name_len <= CRULE_MAX_NAME + 1);
        CHECK(r->name[r->name_len] == '\0' && strlen(r->name) == r->name_len);
        CHECK(r->kind == CRULE_NAME || (r->name[0] == '.' && r->name_len >= 2));
        for (size_t i = 0; i < r->name_len; i++)
            CHECK(!(r->name[i] >= 'A' && r->name[i] <= 'Z'));
        break;
    case CRULE_NET: {
        size_t bytes = r->family == AF_INET ? 4 : 16;
        CHECK(r->family == AF_INET || r->family == AF_INET6);
        CHECK(r->prefix <= bytes * 8);
        for (unsigned bit = r->prefix; bit < bytes * 8; bit++)
            CHECK(!(r->addr[bit / 8] & (0x80 >> (bit % 8))));
        break;
    }
    case CRULE_ANY:
        break;
    default:
        CHECK(!"unknown rule kind");
    }
}

/* host (as crule_parse_authority returned it, one trailing dot ignored) as
 * an IP literal, in ss; false for a name. */
static bool literal_addr(struct str host, struct sockaddr_storage *ss)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (host.len && host.p[host.len - 1] == '.')
        host.len--;
    if (host.len == 0 || host.len >= sizeof(buf))
        return false;
    memcpy(buf, host.p, host.len);
    buf[host.len] = '\0';
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

static void check_host(const struct crule_set *set, struct str host, uint16_t port,
                       const struct sockaddr_storage *given)
{
    CHECK(crule_check_name(NULL, host, port) == CRULE_DENY);
    CHECK(!crule_check_addr(NULL, host, (const struct sockaddr *)given, port));

    enum crule_verdict v = crule_check_name(set, host, port);
    CHECK(v == CRULE_DENY || v == CRULE_ALLOW || v == CRULE_NEED_ADDR);
    struct sockaddr_storage lit;
    if (literal_addr(host, &lit)) {
        CHECK(v != CRULE_NEED_ADDR);
        bool ok = crule_check_addr(set, host, (const struct sockaddr *)&lit, port);
        CHECK(ok == (v == CRULE_ALLOW));
        return;
    }
    bool ok = crule_check_addr(set, host, (const struct sockaddr *)given, port);
    if (v == CRULE_ALLOW)
        CHECK(ok);
    if (v == CRULE_DENY)
        CHECK(!ok);
    if (given->ss_family == AF_INET) {
        /* The same address in its IPv4-mapped IPv6 form. */
        const struct sockaddr_in *sin = (const struct sockaddr_in *)given;
        struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
        m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&m.sin6_addr.s6_addr[12], &sin->sin_addr, 4);
        CHECK(crule_check_addr(set, host, (const struct sockaddr *)&m, port) == ok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *rest = (const char *)data + 1;
    size_t rest_len = size - 1;

    /* Split into NUM_FIELDS fields on '\n'; the last one takes the rest. */
    char *field[NUM_FIELDS];
    size_t flen[NUM_FIELDS];
    for (int i = 0; i < NUM_FIELDS; i++) {
        const char *nl = i < NUM_FIELDS - 1 ? memchr(rest, '\n', rest_len) : NULL;
        flen[i] = nl ? (size_t)(nl - rest) : rest_len;
        field[i] = malloc(flen[i] ? flen[i] : 1);
        CHECK(field[i]);
        if (flen[i])
            memcpy(field[i], rest, flen[i]);
        rest += nl ? flen[i] + 1 : flen[i];
        rest_len -= nl ? flen[i] + 1 : flen[i];
    }

    struct crule_set *set = crule_set_new();
    for (int i = 0; i < 2; i++) {
        struct crule r;
        if (crule_parse(str_make(field[i], flen[i]), &r) == NULL) {
            check_rule(&r);
            crule_set_add(set, &r, flags & (1u << i));
        }
    }
    CHECK(crule_set_num(set, false) + crule_set_num(set, true) <= 2);
    CHECK(crule_set_num(NULL, false) == 0 && crule_set_num(NULL, true) == 0);

    struct sockaddr_storage given;
    memset(&given, 0, sizeof(given));
    uint8_t raw[16] = { 0 };
    memcpy(raw, field[3], flen[3] < 16 ? flen[3] : 16);
    if (flags & 4) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&given;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, raw, 16);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&given;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, raw, 4);
    }

    struct str authority = str_make(field[2], flen[2]);
    struct str host = STR_LIT("unset");
    uint16_t port = 7;
    if (crule_parse_authority(authority, &host, &port) == NULL) {
        CHECK(port >= 1);
        CHECK(host.len >= 1 && host.p >= authority.p &&
              host.p + host.len <= authority.p + authority.len);
        check_host(set, host, port, &given);
    } else {
        CHECK(host.p[0] == 'u' && host.len == 5 && port == 7); /* untouched */
    }

    crule_set_free(set);
    crule_set_free(NULL);
    for (int i = 0; i < NUM_FIELDS; i++)
        free(field[i]);
    return 0;
}
