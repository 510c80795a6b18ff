/* virtio-rng (virtio 1.2, 5.4): one request queue; every device-writable
 * buffer the driver posts comes back filled from getrandom(). */
#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "core/log.h"

#define RNG_QUEUE_SIZE 256
#define PCI_CLASS_OTHER 0xFF0000

struct mv_virtio_rng {
	struct mv_virtio_pci *vp;
	struct mv_virtq_req req;
};

/* Fills [p, p+len) from the kernel's pool; the bytes actually filled. */
static uint64_t fill(void *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)p + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static void rng_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	struct mv_virtio_rng *rng = vp->p.opaque;
	struct mv_virtq *q = virtio_pci__vq(vp, qi);
	struct mv_virtq_req *req = &rng->req;
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, req)) > 0) {
		uint64_t len = 0;
		bool short_fill = false;

		for (unsigned int i = req->nout; i < req->nout + req->nin; i++) {
			uint64_t n = fill(req->iov[i].iov_base, req->iov[i].iov_len);

			len += n;
			if (n < req->iov[i].iov_len) {
				short_fill = true;
				break;
			}
		}
		virtq__push(q, req->head, (uint32_t)len);
		virtio_pci__count(vp, len, short_fill);
		pushed++;
	}
	virtio_pci__queue_done(vp, qi, pushed, ret);
}

static const struct mv_virtio_ops rng_ops = { .queue_notify = rng_notify };

int virtio_rng__create(const struct mv_virtio_env *env, const char *id, struct mv_virtio_rng **out,
		       struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_RNG, .class_code = PCI_CLASS_OTHER, .type = "virtio-rng", .id = id,
		.nqueues = 1, .queue_size = RNG_QUEUE_SIZE, .ops = &rng_ops,
		.mem = env->mem, .host = env->host, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread,
	};
	struct mv_virtio_rng *rng = calloc(1, sizeof(*rng));
	int ret;

	if (!rng)
		return err__set(err, -ENOMEM, "out of memory for virtio-rng");
	p.opaque = rng;
	ret = virtio_pci__create(&p, &rng->vp, err);
	if (ret < 0) {
		free(rng);
		return ret;
	}
	*out = rng;
	return 0;
}

void virtio_rng__destroy(struct mv_virtio_rng *rng)
{
	if (!rng)
		return;
	virtio_pci__destroy(rng->vp);
	free(rng);
}

struct mv_virtio_pci *virtio_rng__pci(struct mv_virtio_rng *rng)
{
	return rng->vp;
}
