/* Token buckets of a client connection: see ratelimit.h. */
#include "proxy/ratelimit.h"

#include <stdlib.h>

#include "common/buf-t.h"
#include "common/xalloc.h"
#include "config/config-t.h"

static void bucket_init(struct rl_bucket *b, size_t rate, size_t burst, double now)
{
    b->rate = (double)rate;
    b->burst = (double)(burst ? burst : rate);
    b->tokens = b->burst;
    b->at = now;
}

struct ratelimit *ratelimit_new(const struct config *cfg, double now)
{
    if (!cfg->read_rate && !cfg->write_rate)
        return NULL;
    struct ratelimit *r = xcalloc(1, sizeof(*r));
    bucket_init(&r->b[RL_READ], cfg->read_rate, cfg->read_burst, now);
    bucket_init(&r->b[RL_WRITE], cfg->write_rate, cfg->write_burst, now);
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    free(r);
}

static void refill(struct rl_bucket *b, double now)
{
    if (now > b->at) {
        b->tokens += b->rate * (now - b->at);
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->at = now;
}

size_t ratelimit_allow(struct ratelimit *r, enum rl_dir d, size_t want, double now)
{
    struct rl_bucket *b = &r->b[d];
    if (b->rate == 0)
        return want;
    refill(b, now);
    if (b->tokens < 1)
        return 0;
    return b->tokens < (double)want ? (size_t)b->tokens : want;
}

void ratelimit_took(struct ratelimit *r, enum rl_dir d, size_t n)
{
    struct rl_bucket *b = &r->b[d];
    if (b->rate > 0)
        b->tokens -= (double)n;
}

double ratelimit_wait(struct ratelimit *r, enum rl_dir d, double now)
{
    struct rl_bucket *b = &r->b[d];
    if (b->rate == 0)
        return now;
    refill(b, now);
    /* One record's worth, or a second's, or the burst: whichever is least
     * (a wait past a second would let --frontend-write-timeout, which
     * counts time without progress, run out on a slow rate). */
    double enough = b->burst < BUF_RECORD_SIZE ? b->burst : BUF_RECORD_SIZE;
    if (b->rate < enough)
        enough = b->rate;
    double at = now + (enough - b->tokens) / b->rate;
    if (at <= now)
        at = now;
    if (!r->wake_at || at < r->wake_at)
        r->wake_at = at;
    return at;
}
