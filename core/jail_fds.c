/* The jail's descriptors: those kept open across it for every boot of the
 * jailed VM (jail__open hands out duplicates), and those the process
 * inherited (closed when it enters the jail). */
#include "core/jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jail_priv.h"
#include "core/log.h"

#define MATCH_FLAGS (O_ACCMODE | O_DIRECT)
#define MAX_INHERITED 256

struct kept {
	const struct mv_vm *owner;
	char *path;
	int flags;
	int fd;
	struct kept *next;
};

struct inherited {
	int fd;
	dev_t dev;
	ino_t ino;
};

static struct kept *kept_fds;
static struct inherited inherited[MAX_INHERITED];
static unsigned int ninherited;

int jail_fds__keep(const struct mv_vm *owner, const char *what, const char *path, int flags, struct mv_err *err)
{
	struct kept *k;
	int fd;

	for (k = kept_fds; k; k = k->next)
		if (strcmp(k->path, path) == 0 && (k->flags & MATCH_FLAGS) == (flags & MATCH_FLAGS))
			return 0;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return err__set(err, -errno, "%s %s: %s", what, path, strerror(errno));
	k = calloc(1, sizeof(*k));
	if (!k || !(k->path = strdup(path))) {
		free(k);
		close(fd);
		return err__set(err, -ENOMEM, "out of memory");
	}
	k->owner = owner;
	k->flags = flags;
	k->fd = fd;
	k->next = kept_fds;
	kept_fds = k;
	return 0;
}

void jail_fds__forget(const struct mv_vm *vm)
{
	struct kept **pp = &kept_fds;

	while (*pp) {
		struct kept *k = *pp;

		if (k->owner != vm) {
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		close(k->fd);
		free(k->path);
		free(k);
	}
}

int jail__open(const char *path, int flags)
{
	int fd;

	for (const struct kept *k = kept_fds; k; k = k->next)
		if (strcmp(k->path, path) == 0 && (k->flags & MATCH_FLAGS) == (flags & MATCH_FLAGS)) {
			fd = fcntl(k->fd, F_DUPFD_CLOEXEC, 0);
			return fd < 0 ? -errno : fd;
		}
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

void jail__note_inherited_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && ninherited < MAX_INHERITED) {
		struct stat st;
		int fd = atoi(e->d_name);

		if (fd <= STDERR_FILENO || fd == dirfd(d) || fstat(fd, &st) < 0)
			continue;
		inherited[ninherited++] = (struct inherited){ fd, st.st_dev, st.st_ino };
	}
	closedir(d);
}

/* Closes the inherited descriptors that are still what they were (the
 * number may have been closed and reused for one of ours meanwhile). */
void jail_fds__close_inherited(void)
{
	for (unsigned int i = 0; i < ninherited; i++) {
		struct stat st;

		if (fstat(inherited[i].fd, &st) == 0 && st.st_dev == inherited[i].dev && st.st_ino == inherited[i].ino) {
			pr_debug("closing inherited descriptor %d", inherited[i].fd);
			close(inherited[i].fd);
		}
	}
	ninherited = 0;
}
