/* Tap backend: /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR. */
#include "devices/backend/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jail.h"
#include "core/log.h"

#define TUN_DEV "/dev/net/tun"

static bool tap_exists(const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return stat(path, &st) == 0;
}

/* Advice for a jailed VMM (its uid has no CAP_NET_ADMIN, its root is the
 * jail directory): what a NIC added after the jail needs. */
static const char *jailed_hint(char *buf, size_t n, const char *name)
{
	if (!jail__active())
		return "";
	snprintf(buf, n, " (the VMM is jailed as uid %u: a NIC added after the jail needs /dev/net/tun in the jail "
		 "directory, usable by that uid (mknod -m 666 JAIL/dev/net/tun c 10 200), and a persistent tap in the "
		 "VM's netns that belongs to it: ip tuntap add dev %s mode tap user %u vnet_hdr)",
		 (unsigned int)getuid(), name, (unsigned int)getuid());
	return buf;
}

/* What TUNSETIFF's errno means for the user. */
static int attach_error(int e, const char *name, bool existed, struct mv_err *err)
{
	char hint[400];

	if (e == EPERM && jail__active())
		return err__set(err, -e, "tap %s: permission denied%s", name, jailed_hint(hint, sizeof(hint), name));
	if (e == EPERM && !existed)
		return err__set(err, -e, "tap %s does not exist, and creating it needs CAP_NET_ADMIN "
				"(create it first: ip tuntap add dev %s mode tap user $USER vnet_hdr)", name, name);
	if (e == EPERM)
		return err__set(err, -e, "tap %s: permission denied (it belongs to another user: "
				"ip tuntap add ... user $USER, or run with CAP_NET_ADMIN)", name);
	if (e == EBUSY)
		return err__set(err, -e, "tap %s is busy (another process is attached to it)", name);
	if (e == EINVAL && existed)
		return err__set(err, -e, "%s is not a tap that takes IFF_TAP|IFF_NO_PI|IFF_VNET_HDR "
				"(a tun device, a multi-queue tap or not a tun/tap interface?)", name);
	return err__set(err, -e, "tap %s: TUNSETIFF: %s", name, strerror(e));
}

static int setup(int fd, const char *name, bool existed, bool *created, struct mv_err *err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = TAP_VNET_HDR_LEN;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return attach_error(errno, name, existed, err);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err__set(err, -errno, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
	/* only a tap the kernel just made for us is not persistent (a
	 * single-queue one cannot exist without an attached descriptor);
	 * /sys/class/net may show another netns or be absent (the jail) */
	*created = ioctl(fd, TUNGETIFF, &ifr) == 0 ? !(ifr.ifr_flags & IFF_PERSIST) : !existed;
	if (*created) /* a warning: it is down and unconfigured */
		pr_warn("created tap %s (the VMM has CAP_NET_ADMIN); it is down and goes away with the VM: "
			"configure it on the host", name);
	else
		pr_info("attached to existing tap %s", name);
	return 0;
}

/* /dev/net/tun attached to tap name: the descriptor (non-blocking), or
 * -errno. */
static int attach(const char *name, bool *created, struct mv_err *err)
{
	bool existed = tap_exists(name);
	char hint[400];
	int fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC), e = errno, ret;

	if (fd < 0)
		return err__set(err, -e, "tap %s: %s: %s%s", name, TUN_DEV, strerror(e),
				jail__active() ? jailed_hint(hint, sizeof(hint), name)
					       : e == ENOENT ? " (load the tun module)" : "");
	ret = setup(fd, name, existed, created, err);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

static int check_name(const char *name, struct mv_err *err)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
		return err__set(err, -EINVAL, "tap name \"%s\" must be 1 to %d characters, no '/'", name ? name : "",
				IFNAMSIZ - 1);
	return 0;
}

/* The key of a tap's descriptor kept across the jail. */
static void kept_key(char *key, size_t n, const char *name)
{
	snprintf(key, n, "tap %s", name);
}

int tap__keep(const struct mv_vm *owner, const char *name, struct mv_err *err)
{
	char key[8 + IFNAMSIZ];
	bool created;
	int fd = check_name(name, err);

	if (fd < 0)
		return fd;
	fd = attach(name, &created, err);
	if (fd < 0)
		return fd;
	kept_key(key, sizeof(key), name);
	return jail__keep_fd(owner, key, fd, err);
}

static bool takes(int fd, unsigned int flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) == 0;
}

/* The TUN_F_* flags this tap takes: CSUM first (the rest need it), ECN
 * only with TSO. */
static unsigned int probe_offloads(int fd)
{
	unsigned int ok = 0;

	if (!takes(fd, TUN_F_CSUM))
		return 0;
	ok = TUN_F_CSUM;
	ok |= takes(fd, TUN_F_CSUM | TUN_F_TSO4) ? TUN_F_TSO4 : 0;
	ok |= takes(fd, TUN_F_CSUM | TUN_F_TSO6) ? TUN_F_TSO6 : 0;
	ok |= takes(fd, TUN_F_CSUM | TUN_F_UFO) ? TUN_F_UFO : 0;
	if ((ok & (TUN_F_TSO4 | TUN_F_TSO6)) && takes(fd, TUN_F_CSUM | (ok & (TUN_F_TSO4 | TUN_F_TSO6)) | TUN_F_TSO_ECN))
		ok |= TUN_F_TSO_ECN;
	if (!takes(fd, ok))
		ok &= ~(unsigned int)TUN_F_UFO;
	(void)takes(fd, 0);
	return ok;
}

int tap__open(const char *name, struct mv_tap **out, struct mv_err *err)
{
	char key[8 + IFNAMSIZ];
	struct mv_tap *tap;
	bool created = false, kept;
	int fd = check_name(name, err);

	if (fd < 0)
		return fd;
	kept_key(key, sizeof(key), name);
	fd = jail__take_kept(key);
	kept = fd >= 0;
	if (kept)
		pr_debug("tap %s: the descriptor kept across the jail", name);
	else if (fd == -ENOENT)
		fd = attach(name, &created, err);
	else if (fd == -EBUSY)
		return err__set(err, fd, "tap %s is busy (another NIC of this VM is attached to it)", name);
	else
		return err__set(err, fd, "tap %s: duplicating the descriptor kept across the jail: %s", name,
				strerror(-fd));
	if (fd < 0)
		return fd;
	tap = calloc(1, sizeof(*tap));
	if (!tap) {
		close(fd);
		if (kept)
			jail__return_kept(key);
		return err__set(err, -ENOMEM, "out of memory for tap %s", name);
	}
	snprintf(tap->name, sizeof(tap->name), "%s", name);
	tap->is_tap = true;
	tap->created = created;
	tap->kept = kept;
	tap->fd = fd;
	tap->offloads = probe_offloads(fd); /* and all off, whatever an earlier boot left */
	*out = tap;
	return 0;
}

int tap__from_fd(int fd, unsigned int offloads, struct mv_tap **out, struct mv_err *err)
{
	struct mv_tap *tap = calloc(1, sizeof(*tap));

	if (!tap)
		return err__set(err, -ENOMEM, "out of memory for a tap");
	tap->fd = fd;
	tap->offloads = offloads;
	snprintf(tap->name, sizeof(tap->name), "fd%d", fd);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int ret = err__set(err, -errno, "tap fd %d: O_NONBLOCK: %s", fd, strerror(errno));

		free(tap);
		return ret;
	}
	*out = tap;
	return 0;
}

void tap__close(struct mv_tap *tap)
{
	char key[8 + IFNAMSIZ];

	if (!tap)
		return;
	if (tap->fd >= 0)
		close(tap->fd);
	if (tap->kept) {
		kept_key(key, sizeof(key), tap->name);
		jail__return_kept(key);
	}
	free(tap);
}

int tap__set_offload(struct mv_tap *tap, unsigned int flags)
{
	if (!tap->is_tap)
		return 0;
	return ioctl(tap->fd, TUNSETOFFLOAD, (unsigned long)(flags & tap->offloads)) < 0 ? -errno : 0;
}
