#include "proxy/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

int privdrop(const char *user, char *err, size_t err_len)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, err_len, "--user=%s: %s", user,
                 errno ? strerror(errno) : "no such user");
        return H2G_ERR_IO;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
        return 0;
    const char *step = "initgroups";
    if (initgroups(pw->pw_name, gid) != 0)
        goto fail;
    step = "setgid";
    if (setresgid(gid, gid, gid) != 0)
        goto fail;
    step = "setuid";
    if (setresuid(uid, uid, uid) != 0)
        goto fail;
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, err_len, "--user=%s: root could be regained after the drop", user);
        return H2G_ERR_IO;
    }
    return 0;
fail:
    snprintf(err, err_len, "--user=%s: %s: %s%s", user, step, strerror(errno),
             errno == EPERM ? " (start h2gate as root to use --user)" : "");
    return H2G_ERR_IO;
}
