/* The admin listener's dashboard (GET / and GET /dashboard): one
 * self-contained page, proxy/dashboard.html, built into the binary by the
 * assembler's .incbin (dashboard.c; the Makefile names the file in
 * DASH_HTML_PATH and makes the object depend on it, since -MMD cannot see
 * an .incbin). The page's script polls /stats on the same origin; nothing
 * it needs comes from anywhere else.
 *
 * Contract with the file: its styles sit in exactly one <style> element
 * and its script in exactly one <script> element, both written without
 * attributes, because dash_csp() allows exactly the bytes between those
 * tags (by SHA-256); and the text DASH_VERSION_MARK appears once, where
 * dash_render() puts h2gate's version. Pure: no I/O, no loop. */
#ifndef H2G_PROXY_DASHBOARD_H
#define H2G_PROXY_DASHBOARD_H

#include <stddef.h>

#include "common/buf-t.h"

#define DASH_VERSION_MARK "@H2G_VERSION@"

/* Room dash_csp() needs, NUL included. */
#define DASH_CSP_MAX 512

/* The page as built in: *len bytes, not NUL-terminated, valid for the
 * life of the process. */
const char *dash_page(size_t *len);

/* Appends the page to out with DASH_VERSION_MARK replaced by H2G_VERSION
 * (common/version.h): what GET / answers. */
void dash_render(struct bufq *out);

/* Writes the page's Content-Security-Policy into buf (len bytes,
 * NUL-terminated on success): default-src 'self', the inline style and
 * script allowed by their SHA-256 (no 'unsafe-inline': only the bytes
 * built in may run, so a backend name that ever reached the page as
 * markup could not add a script), no framing, no base or form targets.
 * Returns 0, or H2G_ERR_INVAL when len < DASH_CSP_MAX or the page breaks
 * the contract above (no <style> or <script> element). */
int dash_csp(char *buf, size_t len);

#endif
