#include "common/err.h"

const char *h2g_strerror(int err)
{
    switch (err) {
    case H2G_OK:
        return "ok";
#define H2G_ERR_CASE(name, text) \
    case H2G_ERR_##name:         \
        return text;
        H2G_ERR_MAP(H2G_ERR_CASE)
#undef H2G_ERR_CASE
    default:
        return "unknown error";
    }
}
