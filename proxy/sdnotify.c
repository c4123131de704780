#include "proxy/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

int sdnotify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return 0;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t len = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sun.sun_path)) {
        log_warn("NOTIFY_SOCKET=%s: not a socket path or @abstract name", name);
        return -1;
    }
    memcpy(sun.sun_path, name, len);
    if (name[0] == '@')
        sun.sun_path[0] = '\0';
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warn("sd_notify: socket: %s", strerror(errno));
        return -1;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, sl);
    int e = errno;
    close(fd);
    if (n < 0) {
        log_warn("sd_notify to %s: %s", name, strerror(e));
        return -1;
    }
    return 1;
}
