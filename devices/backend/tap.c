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

#include "core/log.h"

#define TUN_DEV "/dev/net/tun"

static bool tap_exists(const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return stat(path, &st) == 0;
}

/* What TUNSETIFF's errno means for the user. */
static int attach_error(int e, const char *name, bool existed, struct mv_err *err)
{
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

static int attach(struct mv_tap *tap, const char *name, struct mv_err *err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	bool existed = tap_exists(name);
	int hdr = TAP_VNET_HDR_LEN;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(tap->fd, TUNSETIFF, &ifr) < 0)
		return attach_error(errno, name, existed, err);
	tap->created = !existed;
	if (ioctl(tap->fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err__set(err, -errno, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
	if (tap->created) /* a warning: it is down and unconfigured */
		pr_warn("created tap %s (the VMM has CAP_NET_ADMIN); it is down and goes away with the VM: "
			"configure it on the host", name);
	else
		pr_info("attached to existing tap %s", name);
	return 0;
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
	struct mv_tap *tap;
	int ret;

	if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
		return err__set(err, -EINVAL, "tap name \"%s\" must be 1 to %d characters, no '/'", name ? name : "",
				IFNAMSIZ - 1);
	tap = calloc(1, sizeof(*tap));
	if (!tap)
		return err__set(err, -ENOMEM, "out of memory for tap %s", name);
	snprintf(tap->name, sizeof(tap->name), "%s", name);
	tap->is_tap = true;
	tap->fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tap->fd < 0) {
		ret = err__set(err, -errno, "tap %s: %s: %s%s", name, TUN_DEV, strerror(errno),
			       errno == ENOENT ? " (load the tun module)" : "");
		goto err_free;
	}
	ret = attach(tap, name, err);
	if (ret < 0)
		goto err_close;
	tap->offloads = probe_offloads(tap->fd);
	*out = tap;
	return 0;
err_close:
	close(tap->fd);
err_free:
	free(tap);
	return ret;
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
	if (!tap)
		return;
	if (tap->fd >= 0)
		close(tap->fd);
	free(tap);
}

int tap__set_offload(struct mv_tap *tap, unsigned int flags)
{
	if (!tap->is_tap)
		return 0;
	return ioctl(tap->fd, TUNSETOFFLOAD, (unsigned long)(flags & tap->offloads)) < 0 ? -errno : 0;
}
