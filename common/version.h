/* The version h2gate reports: `h2gate --version`, the Server/Via names'
 * companions in /metrics (h2gate_build_info) and /stats. */
#ifndef H2G_COMMON_VERSION_H
#define H2G_COMMON_VERSION_H

#define H2G_VERSION "0.1.0"

#endif
