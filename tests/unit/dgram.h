/* Shared by the unit tests of the syslog writers: a Unix datagram
 * receiver standing in for syslogd. Each test program includes it once
 * (static inline). Needs <cmocka.h> included before it. */
#ifndef H2G_TESTS_UNIT_DGRAM_H
#define H2G_TESTS_UNIT_DGRAM_H

#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound at path (an old one there replaced). */
static inline int dgram_receiver(const char *path)
{
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    return fd;
}

#endif
