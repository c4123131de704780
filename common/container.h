/* Getting from an embedded member back to the struct that embeds it
 * (STYLE.md 10: watchers and list links live inside their owner). */
#ifndef H2G_COMMON_CONTAINER_H
#define H2G_COMMON_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
