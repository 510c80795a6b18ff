#include "core/usock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

/* A leftover socket nobody listens on is removed; anything else stays. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, const char *what, struct mv_err *err)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err__set(err, -errno, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return err__set(err, -EEXIST, "%s %s: exists and is not a socket", what, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err__set(err, -errno, "%s: %s", what, strerror(errno));
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (ret == 0)
		return err__set(err, -EADDRINUSE, "%s %s: another process is serving it", what, path);
	unlink(path);
	return 0;
}

int usock__listen(const char *path, int backlog, const char *what, struct mv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err__set(err, -ENAMETOOLONG, "%s path '%s' is too long (at most %zu bytes)", what, path,
				sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	ret = clear_stale(path, &sa, what, err);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err__set(err, -errno, "%s: %s", what, strerror(errno));
	old_mask = umask(0177); /* 0600 from the start: no window for others */
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (ret < 0) {
		ret = -errno;
		goto err_close_fd;
	}
	if (chmod(path, 0600) < 0 || listen(fd, backlog) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink(path);
err_close_fd:
	close(fd);
	return err__set(err, ret, "%s %s: %s", what, path, strerror(-ret));
}

bool usock__peer_allowed(int fd, const char *what, char *why, size_t size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(why, size, "cannot check peer credentials: %s", strerror(errno));
		return false;
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return true;
	snprintf(why, size, "permission denied: uid %u may not use this %s (only uid %u and root)",
		 (unsigned int)cred.uid, what, (unsigned int)geteuid());
	pr_warn("%s: refused a client with uid %u", what, (unsigned int)cred.uid);
	return false;
}

int usock__connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
