/* Entering the jail (core/jail.h). The order matters:
 *  1. checks that change nothing (root, one thread, no seccomp filter yet,
 *     not jailed for another VM);
 *  2. the VM's host resources opened and kept (jail_fds.c), the taps
 *     attached inside the jail's netns (entered and left again);
 *  3. network namespace (setns: needs CAP_SYS_ADMIN and the host path);
 *  4. cgroup (the host's cgroup2 path; the process has one thread, so all
 *     of it moves);
 *  5. resource limits (raising a hard limit needs CAP_SYS_RESOURCE);
 *  6. inherited descriptors closed;
 *  7. new mount namespace, the jail directory as its root;
 *  8. uid/gid, no supplementary groups, no capabilities in any set
 *     (effective, permitted, inheritable, ambient, bounding);
 *  9. PR_SET_NO_NEW_PRIVS.
 * Credentials are per thread in the kernel; with one thread there is no
 * other thread to bring along, and every thread created later (vCPUs, I/O
 * workers) inherits all of the above. */
#include "core/jail.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/jail_priv.h"
#include "core/kvm.h"
#include "core/log.h"
#include "core/vm.h"
#include "devices/backend/tap.h"
#include "devices/virtio/vhost_net.h"

static bool jailed;
static const struct mv_vm *jailed_for;  /* NULL once that VM is destroyed */
static char jailed_name[64];           /* its name */
static char broken[sizeof(((struct mv_err *)0)->msg)];   /* why a failed jail left the process half-way */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE }, { "memlock", RLIMIT_MEMLOCK }, { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC }, { "stack", RLIMIT_STACK },
};

int jail__rlimit_resource(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (strcmp(name, rlimit_names[i].name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

static const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "?";
}

void jail__config_free(struct mv_jail_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->root);
	free(cfg->netns);
	free(cfg->cgroup);
	free(cfg);
}

bool jail__active(void)
{
	return jailed || broken[0];
}

void jail__forget(const struct mv_vm *vm)
{
	if (jailed_for == vm)
		jailed_for = NULL;
	jail_fds__forget(vm);
}

/* "Name:\tvalue" of /proc/thread-self/status, or -1. */
static long status_field(const char *name)
{
	FILE *f = fopen("/proc/thread-self/status", "re");
	size_t n = strlen(name);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int check_process(const struct mv_jail_config *j, struct mv_err *err)
{
	struct stat st;
	long threads = status_field("Threads"), filter = status_field("Seccomp");

	if (geteuid() != 0)
		return err__set(err, -EPERM, "moonvisor runs as uid %u, not root: the jail needs root "
				"(namespaces, pivot_root, setuid), then drops to uid %u", (unsigned int)geteuid(), j->uid);
	if (threads < 0)
		return err__set(err, -ENOENT, "cannot read /proc/thread-self/status (is /proc mounted?)");
	if (threads != 1)
		return err__set(err, -EBUSY, "the process has %ld threads: the jail must come first, before any "
				"other VM of this process has started (start the jailed VM first)", threads);
	if (filter > 0)
		return err__set(err, -EPERM, "the loop's seccomp filter is already on: start a jailed VM in the "
				"script's top level, before its first wait (vm:wait, mv.sleep, ...)");
	if (stat(j->root, &st) < 0)
		return err__set(err, -errno, "chroot %s: %s", j->root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err__set(err, -ENOTDIR, "chroot %s is not a directory", j->root);
	return 0;
}

static int join_netns(const char *path, struct mv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return err__set(err, -errno, "netns %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0)
		ret = err__set(err, -errno, "netns %s: setns: %s", path, strerror(errno));
	close(fd);
	return ret;
}

static int keep_nics(const struct mv_vm *vm, struct mv_err *err)
{
	const struct mv_vm_config *c = &vm->cfg;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < c->nnets; i++) {
		const struct mv_net_config *n = &c->nets[i];

		ret = tap__keep(vm, n->tap, err);
		if (!ret && n->vhost)
			ret = vhost_net__keep(vm, n->tap, err);
		if (ret < 0)
			err__prefix(err, "nets[%u] '%s'", i + 1, n->id ? n->id : "?");
	}
	return ret;
}

/* Each NIC's tap is attached (TUNSETIFF, which the jailed uid may not do)
 * and kept, with a /dev/vhost-net for vhost = true. A tap lives in the
 * netns it is attached in: the process steps into the jail's netns for
 * this and back out, so a failure still changes nothing. */
static int keep_nets(const struct mv_vm *vm, struct mv_err *err)
{
	const char *netns = vm->cfg.jail->netns;
	int home, ret;

	if (!vm->cfg.nnets)
		return 0;
	if (!netns)
		return keep_nics(vm, err);
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return err__set(err, -errno, "/proc/thread-self/ns/net: %s", strerror(errno));
	ret = join_netns(netns, err);
	if (!ret)
		ret = keep_nics(vm, err);
	if (setns(home, CLONE_NEWNET) < 0) /* not expected: we came from there */
		snprintf(broken, sizeof(broken), "returning to the host's netns after attaching the taps: %s",
			 strerror(errno));
	close(home);
	return broken[0] && !ret ? err__set(err, -EPERM, "%s", broken) : ret;
}

/* What every boot opens again: kept across the jail (jail__open,
 * jail__take_kept). */
static int keep_resources(const struct mv_vm *vm, struct mv_err *err)
{
	const struct mv_vm_config *c = &vm->cfg;
	int ret = jail_fds__keep(vm, "kvm", MV_KVM_DEVICE, O_RDWR, err);

	if (!ret)
		ret = jail_fds__keep(vm, "kernel", c->kernel, O_RDONLY, err);
	if (!ret && c->initrd)
		ret = jail_fds__keep(vm, "initrd", c->initrd, O_RDONLY, err);
	for (unsigned int i = 0; !ret && i < c->ndisks; i++) {
		const struct mv_disk_config *d = &c->disks[i];
		char what[32];

		snprintf(what, sizeof(what), "disk '%s'", d->id);
		ret = jail_fds__keep(vm, what, d->path, (d->readonly ? O_RDONLY : O_RDWR) | (d->direct ? O_DIRECT : 0),
				     err);
	}
	return ret ? ret : keep_nets(vm, err);
}

static int join_cgroup(const char *dir, struct mv_err *err)
{
	char path[4096], pid[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err__set(err, -errno, "cgroup %s: %s%s", dir, strerror(errno),
				errno == ENOENT ? " (not a cgroup v2 directory: no cgroup.procs)" : "");
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (write(fd, pid, (size_t)n) != n)
		ret = err__set(err, -errno, "cgroup %s: moving pid %d in: %s", dir, (int)getpid(), strerror(errno));
	close(fd);
	return ret;
}

static int set_rlimits(const struct mv_jail_config *j, struct mv_err *err)
{
	for (unsigned int i = 0; i < j->nrlimits; i++) {
		const struct mv_jail_rlimit *r = &j->rlimits[i];
		rlim_t v = r->value == MV_JAIL_RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)r->value;
		struct rlimit rl = { v, v };

		if (setrlimit(r->resource, &rl) < 0)
			return err__set(err, -errno, "rlimits.%s = %llu: %s", rlimit_name(r->resource),
					(unsigned long long)r->value, strerror(errno));
	}
	return 0;
}

/* A private mount namespace whose root is the jail directory: pivot_root
 * (the old root detached, so nothing outside is reachable), or chroot
 * where pivot_root is refused (e.g. the current root is an initramfs). */
static int enter_root(const char *root, struct mv_err *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return err__set(err, -errno, "unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err__set(err, -errno, "making / private: %s", strerror(errno));
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err__set(err, -errno, "bind-mounting %s: %s", root, strerror(errno));
	if (chdir(root) < 0)
		return err__set(err, -errno, "chdir %s: %s", root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return err__set(err, -errno, "detaching the old root: %s", strerror(errno));
	} else {
		pr_debug("pivot_root into %s: %s; chroot instead", root, strerror(errno));
		if (chroot(".") < 0)
			return err__set(err, -errno, "chroot %s: %s", root, strerror(errno));
	}
	if (chdir("/") < 0)
		return err__set(err, -errno, "chdir / in %s: %s", root, strerror(errno));
	return 0;
}

/* uid/gid and no capabilities at all; checked afterwards. */
static int drop_privileges(const struct mv_jail_config *j, struct mv_err *err)
{
	int ret;

	capng_clear(CAPNG_SELECT_ALL);
	ret = capng_change_id((int)j->uid, (int)j->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (ret < 0)
		return err__set(err, -EPERM, "changing to uid %u gid %u and dropping capabilities failed "
				"(libcap-ng capng_change_id: %d)", j->uid, j->gid, ret);
	if (getuid() != j->uid || geteuid() != j->uid || getgid() != j->gid || getegid() != j->gid ||
	    getgroups(0, NULL) != 0)
		return err__set(err, -EPERM, "uid/gid did not change to %u/%u", j->uid, j->gid);
	if (capng_get_caps_process() < 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_AMBIENT) != CAPNG_NONE)
		return err__set(err, -EPERM, "capabilities are left after dropping them");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err__set(err, -errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}

/* Steps 3 to 9: no way back once the first one is done. */
static int apply(const struct mv_jail_config *j, struct mv_err *err)
{
	int ret = 0;

	if (j->netns)
		ret = join_netns(j->netns, err);
	if (!ret && j->cgroup)
		ret = join_cgroup(j->cgroup, err);
	if (!ret)
		ret = set_rlimits(j, err);
	if (!ret) {
		jail_fds__close_inherited();
		ret = enter_root(j->root, err);
	}
	if (!ret)
		ret = drop_privileges(j, err);
	return ret;
}

int jail__enter(struct mv_vm *vm, struct mv_err *err)
{
	const struct mv_jail_config *j = vm->cfg.jail;
	int ret;

	if (jailed_for == vm)
		return 0;
	if (broken[0])
		return err__set(err, -EPERM, "jail: an earlier jail failed half-way (%s); this process cannot run VMs", broken);
	if (jailed)
		return err__set(err, -EBUSY, "jail: the process is already jailed for vm '%s' (one jailed VM per process)",
				jailed_name);
	ret = check_process(j, err);
	if (!ret)
		ret = keep_resources(vm, err);
	if (ret < 0) {
		jail_fds__forget(vm);
		err__prefix(err, "jail");
		return ret;
	}
	ret = apply(j, err);
	if (ret < 0) {
		snprintf(broken, sizeof(broken), "%s", err ? err->msg : strerror(-ret));
		err__prefix(err, "jail");
		return ret;
	}
	jailed = true;
	jailed_for = vm;
	snprintf(jailed_name, sizeof(jailed_name), "%s", vm->cfg.name);
	pr_info("vm '%s': jailed in %s as uid %u gid %u%s%s", vm->cfg.name, j->root, j->uid, j->gid,
		j->netns ? ", netns " : "", j->netns ? j->netns : "");
	return 0;
}
