/* virtio-mem (virtio 1.2, 5.15): see mem.h for the request rules. */
#include "devices/virtio/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MEM_QUEUE_SIZE 128
#define PCI_CLASS_MEMORY_OTHER 0x058000
#define REQ_SIZE 24

struct mv_virtio_mem {
	struct mv_virtio_pci *vp;
	const struct mv_guestmem *mem;
	struct mv_virtio_mem_config cfg;
	uint64_t nblocks;
	uint64_t *bitmap;            /* bit i: block i is plugged */
	uint64_t plugged, requested, usable;
	uint64_t nacks;
	struct mv_virtq_req req;
};

/* ---- the plug bitmap ------------------------------------------------------ */

static bool test_bit(const struct mv_virtio_mem *m, uint64_t i)
{
	return m->bitmap[i / 64] >> (i % 64) & 1;
}

static void set_bits(struct mv_virtio_mem *m, uint64_t first, uint64_t n, bool on)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (on)
			m->bitmap[i / 64] |= 1ULL << (i % 64);
		else
			m->bitmap[i / 64] &= ~(1ULL << (i % 64));
	}
}

/* How many of the n blocks from first are plugged. */
static uint64_t count_plugged(const struct mv_virtio_mem *m, uint64_t first, uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t i = first; i < first + n; i++)
		c += test_bit(m, i);
	return c;
}

/* ---- requests --------------------------------------------------------------- */

/* Whether [addr, addr + nb * block) is a non-empty, block-aligned range
 * inside the first `limit` bytes of the region; *first is its first block. */
static bool range_ok(const struct mv_virtio_mem *m, uint64_t addr, uint16_t nb, uint64_t limit, uint64_t *first)
{
	uint64_t bs = m->cfg.block_size, off;

	if (nb == 0 || addr < m->cfg.addr || (addr - m->cfg.addr) % bs)
		return false;
	off = addr - m->cfg.addr;
	if (off >= limit || (uint64_t)nb * bs > limit - off)
		return false;
	*first = off / bs;
	return true;
}

static void discard(struct mv_virtio_mem *m, uint64_t first, uint64_t n)
{
	uint64_t gpa = m->cfg.addr + first * m->cfg.block_size;
	int ret = guestmem__discard(m->mem, gpa, n * m->cfg.block_size);

	if (ret < 0)
		pr_warn("virtio-mem %s: discarding 0x%llx+0x%llx: %s", m->cfg.id, (unsigned long long)gpa,
			(unsigned long long)(n * m->cfg.block_size), strerror(-ret));
}

static uint16_t do_plug(struct mv_virtio_mem *m, const struct virtio_mem_req *r)
{
	uint64_t first, size = (uint64_t)r->nb_blocks * m->cfg.block_size;

	if (!range_ok(m, r->addr, r->nb_blocks, m->usable, &first) || count_plugged(m, first, r->nb_blocks))
		return VIRTIO_MEM_RESP_ERROR;
	if (m->plugged + size > m->requested) {
		m->nacks++;
		return VIRTIO_MEM_RESP_NACK;
	}
	set_bits(m, first, r->nb_blocks, true);
	m->plugged += size;
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t do_unplug(struct mv_virtio_mem *m, const struct virtio_mem_req *r)
{
	uint64_t first;

	if (!range_ok(m, r->addr, r->nb_blocks, m->usable, &first) ||
	    count_plugged(m, first, r->nb_blocks) != r->nb_blocks)
		return VIRTIO_MEM_RESP_ERROR;
	discard(m, first, r->nb_blocks);
	set_bits(m, first, r->nb_blocks, false);
	m->plugged -= (uint64_t)r->nb_blocks * m->cfg.block_size;
	return VIRTIO_MEM_RESP_ACK;
}

/* usable_region_size for the current requested_size; it shrinks only while
 * nothing is plugged (no plugged block may end up outside it). */
static void update_usable(struct mv_virtio_mem *m)
{
	uint64_t want = MIN(m->cfg.region_size, ALIGN_UP(m->requested + VIRTIO_MEM_USABLE_EXTENT, m->cfg.block_size));

	if (want > m->usable || m->plugged == 0)
		m->usable = want;
}

static uint16_t do_unplug_all(struct mv_virtio_mem *m)
{
	uint64_t i = 0;

	while (i < m->nblocks) {
		uint64_t run = 0;

		if (m->bitmap[i / 64] == 0 && i % 64 == 0) {
			i += 64;
			continue;
		}
		while (i + run < m->nblocks && test_bit(m, i + run))
			run++;
		if (run)
			discard(m, i, run);
		i += run + 1;
	}
	memset(m->bitmap, 0, ALIGN_UP(m->nblocks, 64) / 8);
	m->plugged = 0;
	update_usable(m);
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t do_state(struct mv_virtio_mem *m, const struct virtio_mem_req *r, uint16_t *state)
{
	uint64_t first, n;

	if (!range_ok(m, r->addr, r->nb_blocks, m->cfg.region_size, &first))
		return VIRTIO_MEM_RESP_ERROR;
	n = count_plugged(m, first, r->nb_blocks);
	*state = n == 0 ? VIRTIO_MEM_STATE_UNPLUGGED : n == r->nb_blocks ? VIRTIO_MEM_STATE_PLUGGED
									  : VIRTIO_MEM_STATE_MIXED;
	return VIRTIO_MEM_RESP_ACK;
}

void virtio_mem__handle(struct mv_virtio_mem *m, const struct virtio_mem_req *r, struct virtio_mem_resp *resp)
{
	uint64_t before = m->plugged;

	memset(resp, 0, sizeof(*resp));
	switch (r->type) {
	case VIRTIO_MEM_REQ_PLUG:
		resp->type = do_plug(m, r);
		break;
	case VIRTIO_MEM_REQ_UNPLUG:
		resp->type = do_unplug(m, r);
		break;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		resp->type = do_unplug_all(m);
		break;
	case VIRTIO_MEM_REQ_STATE:
		resp->type = do_state(m, r, &resp->state);
		break;
	default:
		resp->type = VIRTIO_MEM_RESP_ERROR;
		break;
	}
	if (m->plugged != before && m->cfg.changed)
		m->cfg.changed(m->cfg.opaque);
}

/* ---- the queue ----------------------------------------------------------------- */

/* Gathers the chain's device-readable bytes (up to len) into dst. */
static uint64_t gather(const struct mv_virtq_req *req, void *dst, uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < req->nout && done < len; i++) {
		uint64_t n = MIN(req->iov[i].iov_len, len - done);

		memcpy((uint8_t *)dst + done, req->iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static uint32_t one_request(struct mv_virtio_mem *m, struct mv_virtq_req *req)
{
	uint8_t raw[REQ_SIZE], out[VIRTIO_MEM_RESP_SIZE];
	struct virtio_mem_req r;
	struct virtio_mem_resp resp;

	if (req->out_len < REQ_SIZE || req->in_len < VIRTIO_MEM_RESP_SIZE || gather(req, raw, REQ_SIZE) != REQ_SIZE) {
		virtio_pci__count(m->vp, 0, true);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	memcpy(&r.type, raw, 2);
	memcpy(&r.addr, raw + 8, 8);
	memcpy(&r.nb_blocks, raw + 16, 2);
	virtio_mem__handle(m, &r, &resp);
	memset(out, 0, sizeof(out));
	memcpy(out, &resp.type, 2);
	memcpy(out + 8, &resp.state, 2);
	virtio_pci__count(m->vp, (uint64_t)r.nb_blocks * m->cfg.block_size, resp.type == VIRTIO_MEM_RESP_ERROR);
	return (uint32_t)virtq__copy_to_req(req, out, sizeof(out));
}

static void mem_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	struct mv_virtio_mem *m = vp->p.opaque;
	struct mv_virtq *q = virtio_pci__vq(vp, qi);
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, &m->req)) > 0) {
		virtq__push(q, m->req.head, one_request(m, &m->req));
		pushed++;
	}
	virtio_pci__queue_done(vp, qi, pushed, ret);
}

static void put64(uint8_t *b, unsigned int off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

static void mem_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct mv_virtio_mem *m = vp->p.opaque;
	uint8_t b[VIRTIO_MEM_CFG_SIZE] = { 0 };

	put64(b, VIRTIO_MEM_CFG_BLOCK_SIZE, m->cfg.block_size);
	put64(b, VIRTIO_MEM_CFG_ADDR, m->cfg.addr);
	put64(b, VIRTIO_MEM_CFG_REGION_SIZE, m->cfg.region_size);
	put64(b, VIRTIO_MEM_CFG_USABLE_SIZE, m->usable);
	put64(b, VIRTIO_MEM_CFG_PLUGGED_SIZE, m->plugged);
	put64(b, VIRTIO_MEM_CFG_REQUESTED_SIZE, m->requested);
	memcpy(data, b + off, len);
}

static const struct mv_virtio_ops mem_ops = { .queue_notify = mem_notify, .config_read = mem_config_read };

static int check_config(const struct mv_virtio_env *env, const struct mv_virtio_mem_config *c, struct mv_err *err)
{
	uint64_t bs = c->block_size;

	if (bs < 4096 || (bs & (bs - 1)))
		return err__set(err, -EINVAL, "virtio-mem: block size %llu is not a power of two >= 4K",
				(unsigned long long)bs);
	if (c->region_size == 0 || c->region_size % bs || c->addr % bs || c->requested % bs ||
	    c->requested > c->region_size)
		return err__set(err, -EINVAL, "virtio-mem: region 0x%llx+0x%llx, requested %llu: not multiples of "
				"the block size %llu or requested larger than the region",
				(unsigned long long)c->addr, (unsigned long long)c->region_size,
				(unsigned long long)c->requested, (unsigned long long)bs);
	if (!guestmem__range(env->mem, c->addr, c->region_size))
		return err__set(err, -EINVAL, "virtio-mem: region 0x%llx+0x%llx is not mapped guest memory",
				(unsigned long long)c->addr, (unsigned long long)c->region_size);
	return 0;
}

int virtio_mem__create(const struct mv_virtio_env *env, const struct mv_virtio_mem_config *cfg,
		       struct mv_virtio_mem **out, struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_MEM, .class_code = PCI_CLASS_MEMORY_OTHER, .type = "virtio-mem", .id = cfg->id,
		.nqueues = 1, .queue_size = MEM_QUEUE_SIZE, .ops = &mem_ops, .config_size = VIRTIO_MEM_CFG_SIZE,
		.mem = env->mem, .host = env->host, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread,
	};
	struct mv_virtio_mem *m;
	int ret = check_config(env, cfg, err);

	if (ret < 0)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return err__set(err, -ENOMEM, "out of memory for virtio-mem");
	m->cfg = *cfg;
	m->mem = env->mem;
	m->nblocks = cfg->region_size / cfg->block_size;
	m->bitmap = calloc(ALIGN_UP(m->nblocks, 64) / 64, 8);
	m->requested = cfg->requested;
	update_usable(m);
	if (!m->bitmap) {
		free(m);
		return err__set(err, -ENOMEM, "out of memory for virtio-mem's plug bitmap");
	}
	p.opaque = m;
	ret = virtio_pci__create(&p, &m->vp, err);
	if (ret < 0) {
		free(m->bitmap);
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void virtio_mem__destroy(struct mv_virtio_mem *m)
{
	if (!m)
		return;
	virtio_pci__destroy(m->vp);
	free(m->bitmap);
	free(m);
}

struct mv_virtio_pci *virtio_mem__pci(struct mv_virtio_mem *m)
{
	return m->vp;
}

int virtio_mem__resize(struct mv_virtio_mem *m, uint64_t requested, struct mv_err *err)
{
	if (requested % m->cfg.block_size || requested > m->cfg.region_size)
		return err__set(err, -EINVAL, "memory request %llu: not a multiple of the block size %llu or larger "
				"than the hotplug region (%llu)", (unsigned long long)requested,
				(unsigned long long)m->cfg.block_size, (unsigned long long)m->cfg.region_size);
	pthread_mutex_lock(&m->vp->lock);
	m->requested = requested;
	update_usable(m);
	virtio_pci__config_changed(m->vp);
	pthread_mutex_unlock(&m->vp->lock);
	return 0;
}

void virtio_mem__state(struct mv_virtio_mem *m, struct mv_virtio_mem_state *out)
{
	pthread_mutex_lock(&m->vp->lock);
	*out = (struct mv_virtio_mem_state){
		.addr = m->cfg.addr, .region_size = m->cfg.region_size, .block_size = m->cfg.block_size,
		.usable = m->usable, .plugged = m->plugged, .requested = m->requested, .nacks = m->nacks,
	};
	pthread_mutex_unlock(&m->vp->lock);
}
