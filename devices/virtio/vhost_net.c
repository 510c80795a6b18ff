/* vhost-net setup and teardown (linux/vhost.h ioctls). */
#include "devices/virtio/vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/jail.h"
#include "core/log.h"

#define VHOST_NET_DEV "/dev/vhost-net"

/* The key of the descriptor kept across the jail for the NIC on tap. */
static void kept_key(char *key, size_t n, const char *tap)
{
	snprintf(key, n, "vhost-net %s", tap);
}

static int open_dev(struct mv_err *err)
{
	int fd = open(VHOST_NET_DEV, O_RDWR | O_CLOEXEC), e = errno;

	if (fd < 0)
		return err__set(err, -e, "vhost = true: %s: %s%s", VHOST_NET_DEV, strerror(e),
				jail__active() ? " (the VMM is jailed: a NIC added after the jail with vhost = true needs "
						 "/dev/vhost-net in the jail directory, usable by its uid: "
						 "mknod -m 666 JAIL/dev/vhost-net c 10 238)"
				: e == ENOENT ? " (load the vhost_net module)" : "");
	return fd;
}

int vhost_net__keep(const struct mv_vm *owner, const char *tap, struct mv_err *err)
{
	char key[64];
	int fd = open_dev(err);

	if (fd < 0)
		return fd;
	kept_key(key, sizeof(key), tap);
	return jail__keep_fd(owner, key, fd, err);
}

/* A kept descriptor (v->kept_key set), or a new one. */
static int get_fd(struct mv_vhost_net *v, const char *tap, struct mv_err *err)
{
	int fd = -ENOENT;

	if (tap) {
		kept_key(v->kept_key, sizeof(v->kept_key), tap);
		fd = jail__take_kept(v->kept_key);
	}
	if (fd < 0)
		v->kept_key[0] = '\0';
	if (fd == -ENOENT)
		return open_dev(err);
	if (fd < 0)
		return err__set(err, fd, "vhost = true: the descriptor kept across the jail: %s", strerror(-fd));
	return fd;
}

static void put_fd(struct mv_vhost_net *v)
{
	close(v->fd);
	if (v->kept_key[0])
		jail__return_kept(v->kept_key);
}

int vhost_net__open(const char *tap, struct mv_vhost_net **out, struct mv_err *err)
{
	struct mv_vhost_net *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err__set(err, -ENOMEM, "out of memory for vhost-net");
	v->fd = get_fd(v, tap, err);
	if (v->fd < 0) {
		ret = v->fd;
		goto err_free;
	}
	/* a kept descriptor is owned from this process's first boot on
	 * (owner and worker are set here, inside the jail and its cgroup) */
	if (ioctl(v->fd, VHOST_SET_OWNER) < 0 && !(v->kept_key[0] && errno == EBUSY)) {
		ret = err__set(err, -errno, "vhost = true: VHOST_SET_OWNER: %s", strerror(errno));
		goto err_close;
	}
	if (ioctl(v->fd, VHOST_GET_FEATURES, &v->features) < 0) {
		ret = err__set(err, -errno, "vhost = true: VHOST_GET_FEATURES: %s", strerror(errno));
		goto err_close;
	}
	*out = v;
	return 0;
err_close:
	put_fd(v);
err_free:
	free(v);
	return ret;
}

static int set_mem_table(struct mv_vhost_net *v, const struct mv_guestmem *mem)
{
	struct vhost_memory *t = calloc(1, sizeof(*t) + mem->nregions * sizeof(t->regions[0]));
	int ret = 0;

	if (!t)
		return -ENOMEM;
	t->nregions = mem->nregions;
	for (unsigned int i = 0; i < mem->nregions; i++)
		t->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = mem->regions[i].gpa, .memory_size = mem->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->regions[i].hva,
		};
	if (ioctl(v->fd, VHOST_SET_MEM_TABLE, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

/* Host addresses of the three rings (their guest ranges were checked by
 * virtq__setup; checked again here). */
static int ring_addr(const struct mv_guestmem *mem, const struct mv_vhost_ring *r, unsigned int i,
		     struct vhost_vring_addr *a)
{
	void *desc = guestmem__range(mem, r->desc, 16ULL * r->num);
	void *avail = guestmem__range(mem, r->avail, 6 + 2ULL * r->num);
	void *used = guestmem__range(mem, r->used, 6 + 8ULL * r->num);

	if (!desc || !avail || !used)
		return -EFAULT;
	*a = (struct vhost_vring_addr){
		.index = i, .desc_user_addr = (uintptr_t)desc, .avail_user_addr = (uintptr_t)avail,
		.used_user_addr = (uintptr_t)used,
	};
	return 0;
}

static int start_ring(struct mv_vhost_net *v, const struct mv_guestmem *mem, const struct mv_vhost_ring *r,
		      unsigned int i, int tap_fd, const char **what)
{
	struct vhost_vring_state num = { .index = i, .num = r->num }, base = { .index = i, .num = r->base };
	struct vhost_vring_file kick = { .index = i, .fd = r->kick }, call = { .index = i, .fd = r->call };
	struct vhost_vring_file backend = { .index = i, .fd = tap_fd };
	struct vhost_vring_addr addr;
	int ret = ring_addr(mem, r, i, &addr);

	if (ret < 0) {
		*what = "ring outside guest memory";
		return ret;
	}
	if ((*what = "VHOST_SET_VRING_NUM", ioctl(v->fd, VHOST_SET_VRING_NUM, &num) < 0) ||
	    (*what = "VHOST_SET_VRING_BASE", ioctl(v->fd, VHOST_SET_VRING_BASE, &base) < 0) ||
	    (*what = "VHOST_SET_VRING_ADDR", ioctl(v->fd, VHOST_SET_VRING_ADDR, &addr) < 0) ||
	    (*what = "VHOST_SET_VRING_KICK", ioctl(v->fd, VHOST_SET_VRING_KICK, &kick) < 0) ||
	    (*what = "VHOST_SET_VRING_CALL", ioctl(v->fd, VHOST_SET_VRING_CALL, &call) < 0) ||
	    (*what = "VHOST_NET_SET_BACKEND", ioctl(v->fd, VHOST_NET_SET_BACKEND, &backend) < 0))
		return -errno;
	return 0;
}

int vhost_net__start(struct mv_vhost_net *v, const struct mv_guestmem *mem, uint64_t features,
		     const struct mv_vhost_ring *rings, unsigned int n, int tap_fd, struct mv_err *err)
{
	uint64_t f = features & v->features;
	const char *what = "VHOST_SET_FEATURES";
	int ret = 0;

	vhost_net__stop(v);
	if (ioctl(v->fd, VHOST_SET_FEATURES, &f) < 0)
		ret = -errno;
	if (!ret) {
		what = "VHOST_SET_MEM_TABLE";
		ret = set_mem_table(v, mem);
	}
	for (unsigned int i = 0; i < n && !ret; i++) {
		v->nrings_started = i + 1; /* stop undoes a half-started ring too */
		ret = start_ring(v, mem, &rings[i], i, tap_fd, &what);
	}
	if (ret < 0) {
		vhost_net__stop(v);
		return err__set(err, ret, "vhost-net: %s: %s", what, strerror(-ret));
	}
	return 0;
}

void vhost_net__stop(struct mv_vhost_net *v)
{
	for (unsigned int i = 0; i < v->nrings_started; i++) {
		struct vhost_vring_file backend = { .index = i, .fd = -1 };
		struct vhost_vring_state state = { .index = i };
		struct vhost_vring_file none = { .index = i, .fd = -1 };

		if (ioctl(v->fd, VHOST_NET_SET_BACKEND, &backend) < 0)
			pr_warn_errno(errno, "vhost-net: detaching ring %u from the tap", i);
		if (ioctl(v->fd, VHOST_GET_VRING_BASE, &state) < 0)
			pr_warn_errno(errno, "vhost-net: stopping ring %u", i);
		(void)ioctl(v->fd, VHOST_SET_VRING_KICK, &none);
		(void)ioctl(v->fd, VHOST_SET_VRING_CALL, &none);
	}
	v->nrings_started = 0;
}

void vhost_net__close(struct mv_vhost_net *v)
{
	if (!v)
		return;
	vhost_net__stop(v);
	put_fd(v);
	free(v);
}
