#include "proxy/dashboard.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/sha.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/version.h"

#ifndef DASH_HTML_PATH
#error "DASH_HTML_PATH must name proxy/dashboard.html (the Makefile sets it)"
#endif

/* The page's bytes, placed in .rodata by the assembler: no generator, no
 * copy of the page as a C array to keep in step. The symbols are hidden,
 * so references stay PC-relative in every build (PIE, ASan, TSan, the
 * fuzzers' clang). Sanitizers do not instrument asm data; the page is
 * only ever read within [begin, end). */
__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        ".globl dash_html_begin\n"
        ".hidden dash_html_begin\n"
        "dash_html_begin:\n"
        ".incbin \"" DASH_HTML_PATH "\"\n"
        ".globl dash_html_end\n"
        ".hidden dash_html_end\n"
        "dash_html_end:\n"
        ".popsection\n");

extern const char dash_html_begin[] __attribute__((visibility("hidden")));
extern const char dash_html_end[] __attribute__((visibility("hidden")));

const char *dash_page(size_t *len)
{
    *len = (size_t)(dash_html_end - dash_html_begin);
    return dash_html_begin;
}

void dash_render(struct bufq *out)
{
    size_t len;
    const char *page = dash_page(&len);
    const char *mark = memmem(page, len, DASH_VERSION_MARK, strlen(DASH_VERSION_MARK));
    if (!mark) {
        bufq_append(out, page, len);
        return;
    }
    size_t before = (size_t)(mark - page);
    size_t skip = before + strlen(DASH_VERSION_MARK);
    bufq_append(out, page, before);
    bufq_append(out, H2G_VERSION, strlen(H2G_VERSION));
    bufq_append(out, page + skip, len - skip);
}

/* The CSP source for the bytes between the first open tag and the next
 * close tag: 'sha256-BASE64' into out (at least 64 bytes). Returns false
 * when the element is missing. */
static bool element_hash(const char *open, const char *close, char *out)
{
    size_t len;
    const char *page = dash_page(&len);
    const char *start = memmem(page, len, open, strlen(open));
    if (!start)
        return false;
    start += strlen(open);
    const char *end = memmem(start, len - (size_t)(start - page), close, strlen(close));
    if (!end)
        return false;
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)start, (size_t)(end - start), md);
    char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock((uint8_t *)b64, md, sizeof(md));
    snprintf(out, 64, "'sha256-%s'", b64);
    return true;
}

int dash_csp(char *buf, size_t len)
{
    char style[64], script[64];
    if (len < DASH_CSP_MAX || !element_hash("<style>", "</style>", style) ||
        !element_hash("<script>", "</script>", script))
        return H2G_ERR_INVAL;
    /* default-src 'self' covers connect-src (the /stats polls); img-src
     * adds data: for the page's inline icon only. */
    snprintf(buf, len,
             "default-src 'self'; script-src %s; style-src %s; img-src 'self' data:; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
             script, style);
    return 0;
}
