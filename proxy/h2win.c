#include "proxy/h2win.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proxy/h2mem.h"
#include "proxy/cconn.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* The client socket's smoothed RTT in seconds (TCP_INFO), at least
 * H2WIN_RTT_FLOOR (all a unix: frontend's client gets: TCP_INFO fails
 * there, and nothing of ti is read). Asked only when the floor alone does not settle the
 * question, and read again at most every H2WIN_RTT_REFRESH per stream (a
 * stream whose window stopped growing would ask at every half window). */
static double client_rtt(struct cconn *cc, struct xchg *x, double now)
{
    if (x->h2_rtt_at > 0 && now - x->h2_rtt_at < H2WIN_RTT_REFRESH)
        return x->h2_rtt;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    double rtt = H2WIN_RTT_FLOOR;
    if (getsockopt(cc->sock.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_rtt / 1e6 > rtt)
        rtt = ti.tcpi_rtt / 1e6;
    x->h2_rtt = rtt;
    x->h2_rtt_at = now;
    return rtt;
}

/* The growth of cc's open pipe streams, in all. A walk of the streams,
 * but only at a growth step (a few per stream in its life). */
static size_t conn_growth(const struct cconn *cc)
{
    size_t sum = 0;
    for (const struct xchg *x = cc->xchgs; x; x = x->next) {
        if (!x->closed)
            sum += x->h2_win_grown;
    }
    return sum;
}

/* The connection window is its configured size plus the growth of its
 * open pipe streams, never less than it was. */
static void grow_connection(struct cconn *cc, size_t growth)
{
    nghttp2_session *s = h2mem_session(cc);
    int64_t want = cc->w->cfg->frontend_http2_connection_window_size;
    if (want < NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        want = NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE;
    want += (int64_t)growth;
    if (want > NGHTTP2_MAX_WINDOW_SIZE)
        want = NGHTTP2_MAX_WINDOW_SIZE;
    if (want > nghttp2_session_get_effective_local_window_size(s))
        nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, (int32_t)want);
}

void h2win_consumed(struct cconn *cc, struct xchg *x, size_t n)
{
    nghttp2_session *s = h2mem_session(cc);
    double now = ev_now(cc->w->loop);
    if (x->h2_win_since <= 0) {
        /* The first credit: the clock starts here (the wait for the
         * target's connect is not the client's pace). */
        x->h2_win_since = now;
        x->h2_win_used = 0;
    }
    x->h2_win_used += n;
    int32_t win = nghttp2_session_get_stream_effective_local_window_size(s, x->stream_id);
    if (win <= 0 || x->h2_win_used < (size_t)win / 2)
        return;
    double took = now - x->h2_win_since;
    x->h2_win_since = now;
    x->h2_win_used = 0;
    if ((int64_t)win * 2 > H2WIN_STREAM_MAX)
        return;
    /* Half the window in under two round trips: the client had more to
     * send than the window let through. */
    if (took >= 2 * H2WIN_RTT_FLOOR && took >= 2 * client_rtt(cc, x, now))
        return;
    size_t growth = conn_growth(cc);
    if (growth + (size_t)win > H2WIN_CONN_GROWTH_MAX)
        return;
    if (nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, x->stream_id, win * 2) != 0)
        return;
    x->h2_win_grown += (size_t)win;
    grow_connection(cc, growth + (size_t)win);
    cconn_mark(cc);
}
