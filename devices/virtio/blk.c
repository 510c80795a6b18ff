/* virtio-blk (see blk.h): configuration space, the request queue, and
 * the checks every request passes before it reaches the image. */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/backend/raw.h"

#define PCI_CLASS_STORAGE_SCSI 0x010000
#define HDR_SIZE 16
#define SEG_SIZE 16
#define MAX_SEG_SECTORS (1u << 22) /* 2 GiB per discard / write-zeroes segment */

struct mv_virtio_blk {
	struct mv_virtio_pci *vp;
	struct mv_raw *raw;
	char id[VIRTIO_BLK_ID_BYTES];
	uint64_t capacity;           /* 512-byte sectors */
	uint32_t blk_size;
	struct mv_virtq_req req;
	struct iovec data[VIRTQ_MAX_SIZE];
};

/* A request as parsed: header, data iovecs and where the status goes. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	struct iovec *data;
	unsigned int ndata;
	uint64_t len;                /* data bytes */
	uint8_t *status;
};

/* Copies len bytes at byte `at` of iov[0..n) into dst; false if short. */
static bool gather(void *dst, const struct iovec *iov, unsigned int n, uint64_t at, uint64_t len)
{
	uint8_t *d = dst;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t take;

		if (at >= iov[i].iov_len) {
			at -= iov[i].iov_len;
			continue;
		}
		take = MIN(iov[i].iov_len - at, len);
		memcpy(d, (uint8_t *)iov[i].iov_base + at, take);
		d += take;
		len -= take;
		at = 0;
	}
	return len == 0;
}

/* iov[0..n) without its first `skip` and last `trim` bytes, into dst. */
static unsigned int slice(struct iovec *dst, const struct iovec *iov, unsigned int n, uint64_t skip, uint64_t trim)
{
	unsigned int k = 0;
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (skip + trim >= total)
		return 0;
	total -= skip + trim;
	for (unsigned int i = 0; i < n && total; i++) {
		uint64_t len = iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		dst[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		dst[k].iov_len = (size_t)MIN(len - skip, total);
		total -= dst[k].iov_len;
		skip = 0;
		k++;
	}
	return k;
}

static bool in_range(const struct mv_virtio_blk *blk, uint64_t sector, uint64_t nsectors)
{
	return sector <= blk->capacity && nsectors <= blk->capacity - sector;
}

/* ---- request types ----------------------------------------------------------- */

static int do_rw(struct mv_virtio_blk *blk, const struct blk_req *r)
{
	int ret;

	if (r->len % VIRTIO_BLK_SECTOR || !in_range(blk, r->sector, r->len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (r->type == VIRTIO_BLK_T_OUT && blk->raw->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!r->len)
		return VIRTIO_BLK_S_OK;
	if (r->type == VIRTIO_BLK_T_IN)
		ret = raw__preadv(blk->raw, r->data, r->ndata, r->sector * VIRTIO_BLK_SECTOR);
	else
		ret = raw__pwritev(blk->raw, r->data, r->ndata, r->sector * VIRTIO_BLK_SECTOR);
	if (ret < 0) {
		pr_debug("%s: %s of %llu bytes at sector %llu: %s", blk->vp->pci.name,
			 r->type == VIRTIO_BLK_T_IN ? "read" : "write", (unsigned long long)r->len,
			 (unsigned long long)r->sector, strerror(-ret));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* FLUSH carries no data; read-only images have nothing to flush. */
static int do_flush(struct mv_virtio_blk *blk, const struct blk_req *r)
{
	if (r->len)
		return VIRTIO_BLK_S_IOERR;
	return raw__flush(blk->raw) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static int do_get_id(struct mv_virtio_blk *blk, const struct blk_req *r)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < r->ndata && done < VIRTIO_BLK_ID_BYTES; i++) {
		size_t n = (size_t)MIN(r->data[i].iov_len, VIRTIO_BLK_ID_BYTES - done);

		memcpy(r->data[i].iov_base, blk->id + done, n);
		done += n;
	}
	return VIRTIO_BLK_S_OK;
}

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* DISCARD and WRITE_ZEROES: every segment is checked before any is done. */
static int do_segments(struct mv_virtio_blk *blk, const struct blk_req *r)
{
	struct blk_seg seg[VIRTIO_BLK_MAX_DISCARD_SEG];
	uint32_t allowed = r->type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WZ_F_UNMAP : 0;
	unsigned int n = (unsigned int)(r->len / SEG_SIZE);
	int ret = 0;

	if (!r->len || r->len % SEG_SIZE || r->len / SEG_SIZE > VIRTIO_BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	if (!gather(seg, r->data, r->ndata, 0, r->len))
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < n; i++) {
		if (seg[i].flags & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (seg[i].num_sectors > MAX_SEG_SECTORS || !in_range(blk, seg[i].sector, seg[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	if (blk->raw->readonly)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < n && !ret; i++) {
		uint64_t off = seg[i].sector * VIRTIO_BLK_SECTOR, len = (uint64_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR;

		if (!len)
			continue;
		if (r->type == VIRTIO_BLK_T_DISCARD)
			ret = raw__discard(blk->raw, off, len);
		else
			ret = raw__write_zeroes(blk->raw, off, len, seg[i].flags & VIRTIO_BLK_WZ_F_UNMAP);
	}
	if (ret < 0)
		pr_debug("%s: request type %u: %s", blk->vp->pci.name, r->type, strerror(-ret));
	return ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* ---- parsing ------------------------------------------------------------------ */

/* The data of each type is on one side; the other side holds exactly the
 * header (readable) or the status byte (writable). */
static int execute(struct mv_virtio_blk *blk, struct blk_req *r, const struct mv_virtq_req *req)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (req->out_len != HDR_SIZE)
			return VIRTIO_BLK_S_IOERR;
		r->ndata = slice(blk->data, req->iov + req->nout, req->nin, 0, 1);
		r->len = req->in_len - 1;
		return r->type == VIRTIO_BLK_T_IN ? do_rw(blk, r) : do_get_id(blk, r);
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (req->in_len != 1)
			return VIRTIO_BLK_S_IOERR;
		r->ndata = slice(blk->data, req->iov, req->nout, HDR_SIZE, 0);
		r->len = req->out_len - HDR_SIZE;
		if (r->type == VIRTIO_BLK_T_OUT)
			return do_rw(blk, r);
		if (r->type == VIRTIO_BLK_T_FLUSH)
			return do_flush(blk, r);
		return do_segments(blk, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int virtio_blk__handle(struct mv_virtio_blk *blk, struct mv_virtq_req *req, uint32_t *written)
{
	struct blk_req r = { .data = blk->data };
	const struct iovec *last;
	uint8_t hdr[HDR_SIZE];
	int status;

	*written = 0;
	if (!req->nin || !req->in_len)
		return -1; /* nowhere to put the status */
	last = &req->iov[req->nout + req->nin - 1];
	r.status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (req->out_len < HDR_SIZE || !gather(hdr, req->iov, req->nout, 0, HDR_SIZE)) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		memcpy(&r.type, hdr, 4);
		memcpy(&r.sector, hdr + 8, 8);
		status = execute(blk, &r, req);
	}
	*r.status = (uint8_t)status;
	*written = req->in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)req->in_len;
	return status;
}

/* ---- the queue ----------------------------------------------------------------- */

static void blk_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	struct mv_virtio_blk *blk = vp->p.opaque;
	struct mv_virtq *q = virtio_pci__vq(vp, qi);
	struct mv_virtq_req *req = &blk->req;
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, req)) > 0) {
		uint32_t written;
		int status = virtio_blk__handle(blk, req, &written);
		uint64_t bytes = req->out_len + req->in_len;

		virtq__push(q, req->head, written);
		virtio_pci__count(vp, bytes > HDR_SIZE + 1 ? bytes - HDR_SIZE - 1 : 0, status != VIRTIO_BLK_S_OK);
		pushed++;
	}
	virtio_pci__queue_done(vp, qi, pushed, ret);
}

static void put(uint8_t *img, uint32_t off, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

static void blk_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct mv_virtio_blk *blk = vp->p.opaque;
	uint8_t img[VIRTIO_BLK_CFG_SIZE] = { 0 };

	put(img, VIRTIO_BLK_CFG_CAPACITY, blk->capacity, 8);
	put(img, VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_QUEUE_SIZE - 2, 4);
	put(img, VIRTIO_BLK_CFG_BLK_SIZE, blk->blk_size, 4);
	put(img, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, MAX_SEG_SECTORS, 4);
	put(img, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	put(img, VIRTIO_BLK_CFG_DISCARD_ALIGN, blk->blk_size / VIRTIO_BLK_SECTOR, 4);
	put(img, VIRTIO_BLK_CFG_MAX_WZ_SECTORS, MAX_SEG_SECTORS, 4);
	put(img, VIRTIO_BLK_CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	img[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
	if (off < sizeof(img) && len <= sizeof(img) - off)
		memcpy(data, img + off, len);
	else
		memset(data, 0, len);
}

/* Nothing is writable (no CONFIG_WCE). */
static void blk_config_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
}

static const struct mv_virtio_ops blk_ops = {
	.queue_notify = blk_notify, .config_read = blk_config_read, .config_write = blk_config_write,
};

/* ---- create / destroy ----------------------------------------------------------- */

static uint64_t features(const struct mv_raw *raw)
{
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);

	if (raw->readonly)
		return f | (1ULL << VIRTIO_BLK_F_RO);
	return f | (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

int virtio_blk__create(const struct mv_virtio_env *env, const struct mv_virtio_blk_config *cfg,
		       struct mv_virtio_blk **out, struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_BLOCK, .class_code = PCI_CLASS_STORAGE_SCSI, .type = "virtio-blk",
		.id = cfg->id, .nqueues = 1, .queue_size = VIRTIO_BLK_QUEUE_SIZE, .config_size = VIRTIO_BLK_CFG_SIZE,
		.ops = &blk_ops, .mem = env->mem, .host = env->host, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread,
	};
	const char *serial = cfg->serial ? cfg->serial : cfg->id;
	struct mv_virtio_blk *blk = calloc(1, sizeof(*blk));
	int ret;

	if (!cfg->path || !cfg->id) {
		free(blk);
		return err__set(err, -EINVAL, "virtio-blk: a disk needs an id and a path");
	}
	if (!blk)
		return err__set(err, -ENOMEM, "out of memory for virtio-blk");
	ret = raw__open(cfg->path, cfg->readonly, cfg->direct, &blk->raw, err);
	if (ret < 0)
		goto err_free;
	if (serial)
		memcpy(blk->id, serial, MIN(strlen(serial), sizeof(blk->id)));
	blk->capacity = blk->raw->size / VIRTIO_BLK_SECTOR;
	blk->blk_size = cfg->direct && blk->raw->dio_offset_align > VIRTIO_BLK_SECTOR ? blk->raw->dio_offset_align
										     : VIRTIO_BLK_SECTOR;
	p.features = features(blk->raw);
	p.opaque = blk;
	ret = virtio_pci__create(&p, &blk->vp, err);
	if (ret < 0)
		goto err_close;
	*out = blk;
	return 0;

err_close:
	raw__close(blk->raw);
err_free:
	free(blk);
	if (err)
		err__prefix(err, "disk '%s'", cfg->id ? cfg->id : "?");
	return ret;
}

void virtio_blk__destroy(struct mv_virtio_blk *blk)
{
	if (!blk)
		return;
	virtio_pci__destroy(blk->vp);
	raw__close(blk->raw);
	free(blk);
}

struct mv_virtio_pci *virtio_blk__pci(struct mv_virtio_blk *blk)
{
	return blk->vp;
}
