/* The jail (docs/security.md "How to run jailed"): once every host
 * resource a VM needs is open, the process joins a network namespace and
 * a cgroup, sets resource limits, closes the descriptors it inherited,
 * moves into a new mount namespace whose root is the jail directory
 * (pivot_root, chroot if that is refused), becomes uid/gid with no
 * supplementary groups and no capabilities (libcap-ng), and sets
 * PR_SET_NO_NEW_PRIVS. All of it is process-wide and one-way: one jail
 * per process, entered by the first start of its VM while the process
 * has a single thread (before any vCPU or I/O thread, before the loop's
 * seccomp filter).
 *
 * What the VM opens again on every boot (/dev/kvm, kernel, initrd, disk
 * images, each NIC's tap and vhost-net) is opened once before the jail
 * and kept: jail__open (by path) and jail__take_kept (by key) hand out
 * duplicates of those; any other path (hotplugged disks and NICs, Lua's
 * io.open, vm:dump_memory) resolves inside the jail, as the jailed uid. */
#ifndef MV_JAIL_H
#define MV_JAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"

#define MV_JAIL_MAX_RLIMITS 16
#define MV_JAIL_RLIM_INFINITY UINT64_MAX

struct mv_jail_rlimit {
	int resource;     /* RLIMIT_* */
	uint64_t value;   /* soft and hard limit; MV_JAIL_RLIM_INFINITY */
};

/* Strings malloc'ed; validated by lua/lib/jail_config.lua. */
struct mv_jail_config {
	char *root;       /* the jail directory (jail.chroot): absolute */
	uint32_t uid, gid;
	char *netns;      /* NULL: stay in the current network namespace */
	char *cgroup;     /* NULL: stay; else a cgroup v2 directory */
	struct mv_jail_rlimit rlimits[MV_JAIL_MAX_RLIMITS];
	unsigned int nrlimits;
};

struct mv_vm;

void jail__config_free(struct mv_jail_config *cfg);
/* RLIMIT_* for a name ("nofile", "fsize", ...); -1 if unknown. */
int jail__rlimit_resource(const char *name);

/* Loop thread, before vm's machine is built: enters vm->cfg.jail (a no-op
 * once done for vm). Fails without changing anything when the process is
 * not root, has other threads, runs under a seccomp filter, is already
 * jailed for another VM or a resource cannot be opened; a failure of a
 * later step leaves the process half-jailed, and every later call fails. */
int jail__enter(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;
/* Whether the process is jailed. */
bool jail__active(void);
/* Closes what was kept open for vm (vm__destroy). */
void jail__forget(const struct mv_vm *vm);

/* open(path, flags) for the resources a machine opens on every boot: a
 * duplicate (close-on-exec) of the descriptor kept at jail time for the
 * same path and access mode (O_ACCMODE, O_DIRECT), else open() itself.
 * Returns the descriptor or -errno. */
int jail__open(const char *path, int flags) MV_MUST_CHECK;

/* Descriptors that are not a path opened again (a tap attached by name,
 * /dev/vhost-net): jail__keep_fd keeps fd (taken over, also on failure;
 * closed by jail__forget) under key ("tap NAME") for owner's boots, while
 * the jail is entered. jail__take_kept lends out a duplicate
 * (close-on-exec, same open file) of the one kept under key until
 * jail__return_kept(key): -EBUSY while it is lent (two NICs on one tap),
 * -ENOENT if nothing is kept under key. */
int jail__keep_fd(const struct mv_vm *owner, const char *key, int fd, struct mv_err *err) MV_MUST_CHECK;
int jail__take_kept(const char *key) MV_MUST_CHECK;
void jail__return_kept(const char *key);

/* main(), first thing: remembers the descriptors above 2 that the process
 * inherited, which jail__enter closes. */
void jail__note_inherited_fds(void);

#endif
