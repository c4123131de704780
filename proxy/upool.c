#include "proxy/upool.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/stats.h"
#include "config/config.h"
#include "proxy/sock.h"
#include "proxy/tls.h"
#include "proxy/worker.h"

int upool_connect(struct worker *w, const struct cfg_backend *be, struct sock *s,
                  const struct sock_handler *h)
{
    int rc = sock_connect(s, w->loop, (const struct sockaddr *)&be->addr, be->addr_len, h);
    if (rc < 0) {
        log_info("backend %s:%u: connect: %s", be->host, be->port, strerror(errno));
        stats_backend_connect_failure(w->stats, (long)be->index);
        return rc;
    }
    if (be->tls)
        sock_start_tls(s, tls_upstream_new(&w->tls_up, be, s->fd));
    stats_backend_conn_opened(w->stats);
    return 0;
}

void upool_connect_done(struct worker *w, const struct cfg_backend *be, int err, double started)
{
    if (err)
        stats_backend_connect_failure(w->stats, (long)be->index);
    else
        stats_backend_connect(w->stats, (long)be->index, ev_now(w->loop) - started);
}
