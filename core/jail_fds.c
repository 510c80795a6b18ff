/* The jail's descriptors: those kept open across it for every boot of the
 * jailed VM (jail__open and jail__take_kept hand out duplicates), and those the process
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
	char *path;                  /* or the key of jail__keep_fd */
	int flags;
	bool by_key;                 /* jail__keep_fd: not a path for jail__open */
	bool lent;                   /* by jail__take_kept */
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

static struct kept *find(const char *path, bool by_key, int flags)
{
	for (struct kept *k = kept_fds; k; k = k->next)
		if (k->by_key == by_key && strcmp(k->path, path) == 0 &&
		    (by_key || (k->flags & MATCH_FLAGS) == (flags & MATCH_FLAGS)))
			return k;
	return NULL;
}

/* Adds fd (closed on failure) under path or key. */
static int add(const struct mv_vm *owner, const char *path, bool by_key, int flags, int fd, struct mv_err *err)
{
	struct kept *k = calloc(1, sizeof(*k));

	if (!k || !(k->path = strdup(path))) {
		free(k);
		close(fd);
		return err__set(err, -ENOMEM, "out of memory");
	}
	k->owner = owner;
	k->flags = flags;
	k->by_key = by_key;
	k->fd = fd;
	k->next = kept_fds;
	kept_fds = k;
	return 0;
}

int jail_fds__keep(const struct mv_vm *owner, const char *what, const char *path, int flags, struct mv_err *err)
{
	int fd;

	if (find(path, false, flags))
		return 0;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return err__set(err, -errno, "%s %s: %s", what, path, strerror(errno));
	return add(owner, path, false, flags, fd, err);
}

int jail__keep_fd(const struct mv_vm *owner, const char *key, int fd, struct mv_err *err)
{
	if (find(key, true, 0)) {
		close(fd);
		return err__set(err, -EEXIST, "%s is kept already", key);
	}
	return add(owner, key, true, 0, fd, err);
}

static int dup_of(const struct kept *k)
{
	int fd = fcntl(k->fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int jail__take_kept(const char *key)
{
	struct kept *k = find(key, true, 0);
	int fd;

	if (!k)
		return -ENOENT;
	if (k->lent)
		return -EBUSY;
	fd = dup_of(k);
	k->lent = fd >= 0;
	return fd;
}

void jail__return_kept(const char *key)
{
	struct kept *k = find(key, true, 0);

	if (k)
		k->lent = false;
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
	const struct kept *k = find(path, false, flags);
	int fd;

	if (k)
		return dup_of(k);
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
