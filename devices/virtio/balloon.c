/* virtio-balloon (virtio 1.2, 5.5): see balloon.h. */
#include "devices/virtio/balloon.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define BALLOON_QUEUE_SIZE 128
#define PCI_CLASS_OTHER 0xFF0000
#define PAGE 4096ULL

struct mv_virtio_balloon {
	struct mv_virtio_pci *vp;
	const struct mv_guestmem *mem;
	struct mv_virtio_balloon_config cfg;
	int stats_q, report_q;       /* queue indexes, -1: absent */
	bool holding;                /* the driver's stats buffer is ours */
	uint16_t held_head;
	atomic_bool want_stats;
	struct mv_balloon_stats stats;
	struct mv_balloon_counters c;
	bool discard_warned;
	struct mv_virtq_req req;
};

static void discard_failed(struct mv_virtio_balloon *b, int ret)
{
	if (b->discard_warned)
		return;
	b->discard_warned = true;
	pr_warn("virtio-balloon %s: host pages not freed (%s)%s", b->cfg.id, strerror(-ret),
		ret == -EINVAL ? ": hugepage-backed memory is not freed page by page" : "");
}

/* Discards the pages of one inflate buffer, coalescing runs of frames. */
static void inflate(struct mv_virtio_balloon *b, const struct iovec *iov)
{
	const uint8_t *p = iov->iov_base;
	uint64_t n = iov->iov_len / 4, run_start = 0, run_len = 0;

	for (uint64_t i = 0; i <= n; i++) {
		uint32_t pfn = 0;

		if (i < n)
			memcpy(&pfn, p + i * 4, 4);
		if (i < n && run_len && pfn == run_start + run_len) {
			run_len++;
			continue;
		}
		if (run_len) {
			int ret = guestmem__discard(b->mem, run_start << VIRTIO_BALLOON_PFN_SHIFT, run_len * PAGE);

			if (ret == -EFAULT)
				virtio_pci__count(b->vp, 0, true);
			else if (ret < 0)
				discard_failed(b, ret);
		}
		run_start = pfn;
		run_len = i < n;
	}
	b->c.inflated += n;
}

static void pages_notify(struct mv_virtio_balloon *b, struct mv_virtq *q, unsigned int qi, bool is_inflate)
{
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, &b->req)) > 0) {
		for (unsigned int i = 0; i < b->req.nout; i++) {
			if (is_inflate)
				inflate(b, &b->req.iov[i]);
			else
				b->c.deflated += b->req.iov[i].iov_len / 4;
		}
		virtio_pci__count(b->vp, b->req.out_len, false);
		virtq__push(q, b->req.head, 0);
		pushed++;
	}
	virtio_pci__queue_done(b->vp, qi, pushed, ret);
}

static void parse_stats(struct mv_virtio_balloon *b, const struct mv_virtq_req *req)
{
	uint8_t e[VIRTIO_BALLOON_STAT_SIZE];
	unsigned int seg = 0;
	size_t at = 0;

	b->stats.present = 0;
	for (;;) {
		size_t got = 0;

		while (got < sizeof(e) && seg < req->nout) {
			size_t n = MIN(sizeof(e) - got, req->iov[seg].iov_len - at);

			memcpy(e + got, (uint8_t *)req->iov[seg].iov_base + at, n);
			got += n;
			at += n;
			if (at == req->iov[seg].iov_len)
				seg++, at = 0;
		}
		if (got < sizeof(e))
			break;
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, e, 2);
		memcpy(&val, e + 2, 8);
		if (tag < VIRTIO_BALLOON_S_NR) {
			b->stats.val[tag] = val;
			b->stats.present |= 1u << tag;
		}
	}
	b->stats.seq++;
}

static void stats_notify(struct mv_virtio_balloon *b, struct mv_virtq *q, unsigned int qi)
{
	unsigned int pushed = 0;
	int ret;

	if (b->holding && atomic_exchange(&b->want_stats, false)) {
		virtq__push(q, b->held_head, 0);
		b->holding = false;
		pushed++;
	}
	while ((ret = virtq__pop(q, &b->req)) > 0) {
		if (b->holding) { /* a second buffer: give the older one back */
			virtq__push(q, b->held_head, 0);
			pushed++;
		}
		parse_stats(b, &b->req);
		virtio_pci__count(b->vp, b->req.out_len, b->req.out_len < VIRTIO_BALLOON_STAT_SIZE);
		b->holding = true;
		b->held_head = b->req.head;
		if (b->cfg.stats_ready)
			b->cfg.stats_ready(b->cfg.opaque);
	}
	virtio_pci__queue_done(b->vp, qi, pushed, ret);
}

static void report_notify(struct mv_virtio_balloon *b, struct mv_virtq *q, unsigned int qi)
{
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, &b->req)) > 0) {
		bool bad = b->req.nout > 0;

		for (unsigned int i = b->req.nout; i < b->req.nout + b->req.nin; i++) {
			int r = guestmem__discard_hva(b->mem, b->req.iov[i].iov_base, b->req.iov[i].iov_len);

			if (r == 0)
				b->c.reported += b->req.iov[i].iov_len;
			else if (r == -EINVAL && b->req.iov[i].iov_len % PAGE == 0)
				discard_failed(b, r);
			else
				bad = true;
		}
		virtio_pci__count(b->vp, b->req.in_len, bad);
		virtq__push(q, b->req.head, 0);
		pushed++;
	}
	virtio_pci__queue_done(b->vp, qi, pushed, ret);
}

static void balloon_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	struct mv_virtio_balloon *b = vp->p.opaque;
	struct mv_virtq *q = virtio_pci__vq(vp, qi);

	if (qi == VIRTIO_BALLOON_Q_INFLATE || qi == VIRTIO_BALLOON_Q_DEFLATE)
		pages_notify(b, q, qi, qi == VIRTIO_BALLOON_Q_INFLATE);
	else if ((int)qi == b->stats_q)
		stats_notify(b, q, qi);
	else if ((int)qi == b->report_q)
		report_notify(b, q, qi);
}

static void balloon_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct mv_virtio_balloon *b = vp->p.opaque;
	uint8_t c[VIRTIO_BALLOON_CFG_SIZE] = { 0 };

	memcpy(c + VIRTIO_BALLOON_CFG_NUM_PAGES, &b->c.target_pages, 4);
	memcpy(c + VIRTIO_BALLOON_CFG_ACTUAL, &b->c.actual_pages, 4);
	memcpy(data, c + off, len);
}

static void balloon_config_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	struct mv_virtio_balloon *b = vp->p.opaque;
	uint8_t c[4];

	/* only actual (le32) is the driver's to write */
	if (off < VIRTIO_BALLOON_CFG_ACTUAL || off + len > VIRTIO_BALLOON_CFG_ACTUAL + 4)
		return;
	memcpy(c, &b->c.actual_pages, 4);
	memcpy(c + (off - VIRTIO_BALLOON_CFG_ACTUAL), data, len);
	memcpy(&b->c.actual_pages, c, 4);
}

static void balloon_reset(struct mv_virtio_pci *vp)
{
	struct mv_virtio_balloon *b = vp->p.opaque;

	b->holding = false;
}

static const struct mv_virtio_ops balloon_ops = {
	.queue_notify = balloon_notify, .config_read = balloon_config_read,
	.config_write = balloon_config_write, .reset = balloon_reset,
};

int virtio_balloon__create(const struct mv_virtio_env *env, const struct mv_virtio_balloon_config *cfg,
			   struct mv_virtio_balloon **out, struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_BALLOON, .class_code = PCI_CLASS_OTHER, .type = "virtio-balloon", .id = cfg->id,
		.nqueues = 2, .queue_size = BALLOON_QUEUE_SIZE, .ops = &balloon_ops,
		.config_size = VIRTIO_BALLOON_CFG_SIZE, .mem = env->mem, .host = env->host, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread,
	};
	struct mv_virtio_balloon *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return err__set(err, -ENOMEM, "out of memory for virtio-balloon");
	b->cfg = *cfg;
	b->mem = env->mem;
	b->stats_q = b->report_q = -1;
	if (cfg->stats) {
		p.features |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
		b->stats_q = (int)p.nqueues++;
	}
	if (cfg->free_page_reporting) {
		p.features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
		b->report_q = (int)p.nqueues++;
	}
	if (cfg->deflate_on_oom)
		p.features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	p.opaque = b;
	ret = virtio_pci__create(&p, &b->vp, err);
	if (ret < 0) {
		free(b);
		return ret;
	}
	*out = b;
	return 0;
}

void virtio_balloon__destroy(struct mv_virtio_balloon *b)
{
	if (!b)
		return;
	virtio_pci__destroy(b->vp);
	free(b);
}

struct mv_virtio_pci *virtio_balloon__pci(struct mv_virtio_balloon *b)
{
	return b->vp;
}

int virtio_balloon__reporting_queue(struct mv_virtio_balloon *b)
{
	return b->report_q;
}

void virtio_balloon__request_stats(struct mv_virtio_balloon *b)
{
	if (b->stats_q < 0)
		return;
	atomic_store(&b->want_stats, true);
	virtio_pci__kick(b->vp, (unsigned int)b->stats_q);
}

void virtio_balloon__stats(struct mv_virtio_balloon *b, struct mv_balloon_stats *out)
{
	pthread_mutex_lock(&b->vp->lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->vp->lock);
}

void virtio_balloon__set_target(struct mv_virtio_balloon *b, uint32_t pages)
{
	pthread_mutex_lock(&b->vp->lock);
	b->c.target_pages = pages;
	virtio_pci__config_changed(b->vp);
	pthread_mutex_unlock(&b->vp->lock);
}

void virtio_balloon__counters(struct mv_virtio_balloon *b, struct mv_balloon_counters *out)
{
	pthread_mutex_lock(&b->vp->lock);
	*out = b->c;
	pthread_mutex_unlock(&b->vp->lock);
}
