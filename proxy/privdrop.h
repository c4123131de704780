/* --user=USER (nghttpx's option): after the listeners are bound and the
 * keys read as root, become USER for good. */
#ifndef H2G_PROXY_PRIVDROP_H
#define H2G_PROXY_PRIVDROP_H

#include <stddef.h>

/* Takes USER's supplementary groups (initgroups), primary group and user
 * ID, real, effective and saved, then checks that root cannot be regained.
 * Call before any thread starts. Already USER (uid and gid): nothing to
 * do. Returns 0, or H2G_ERR_IO with a message in err: an unknown user,
 * not started as root, any step failing. The caller must then exit: a
 * half-dropped process must not serve. */
int privdrop(const char *user, char *err, size_t err_len);

#endif
