#include "devices/virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

/* Ring layouts (2.7.6, 2.7.8): avail = flags, idx, ring[size], used_event;
 * used = flags, idx, elem[size] (8 bytes each), avail_event. */
static uint64_t avail_bytes(uint16_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t used_bytes(uint16_t size)
{
	return 6 + 8ULL * size;
}

static uint16_t *used_event(const struct mv_virtq *q)
{
	return &q->avail[2 + q->size];
}

static uint16_t *avail_event(const struct mv_virtq *q)
{
	return &q->used[2 + 4 * q->size];
}

static struct virtq_used_elem *used_elem(const struct mv_virtq *q, uint16_t i)
{
	return (struct virtq_used_elem *)((uint8_t *)q->used + 4 + 8ULL * (i % q->size));
}

void virtq__reset(struct mv_virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int virtq__setup(struct mv_virtq *q, const struct mv_guestmem *mem, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features)
{
	virtq__reset(q);
	if (!size || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if (desc % 16 || avail % 2 || used % 4)
		return -EINVAL;
	q->desc = guestmem__range(mem, desc, (uint64_t)size * VIRTQ_DESC_SIZE);
	q->avail = guestmem__range(mem, avail, avail_bytes(size));
	q->used = guestmem__range(mem, used, used_bytes(size));
	if (!q->desc || !q->avail || !q->used) {
		virtq__reset(q);
		return -EINVAL;
	}
	q->mem = mem;
	q->size = size;
	q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->ready = true;
	return 0;
}

static int broken(struct mv_virtq *q, const char *why)
{
	q->broken = true;
	q->why = why;
	return -EBADMSG;
}

/* One descriptor, read once from guest memory (the guest may change it
 * under us: everything is checked on this copy). */
static void read_desc(const struct virtq_desc *table, uint16_t i, struct virtq_desc *d)
{
	memcpy(d, &table[i], sizeof(*d));
}

static int enter_indirect(struct mv_virtq *q, const struct virtq_desc *d, const struct virtq_desc **table,
			  uint32_t *tsize)
{
	if (!q->indirect)
		return broken(q, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return broken(q, "indirect descriptor with NEXT set");
	if (!d->len || d->len % VIRTQ_DESC_SIZE || d->len / VIRTQ_DESC_SIZE > q->size)
		return broken(q, "indirect table length not a multiple of 16 up to the queue size");
	*table = guestmem__range(q->mem, d->addr, d->len);
	if (!*table)
		return broken(q, "indirect table outside guest memory");
	*tsize = d->len / VIRTQ_DESC_SIZE;
	return 0;
}

static int add_buffer(struct mv_virtq *q, struct mv_virtq_req *req, const struct virtq_desc *d)
{
	unsigned int n = req->nout + req->nin;
	void *p;

	if (!d->len)
		return broken(q, "zero-length buffer");
	p = guestmem__range(q->mem, d->addr, d->len);
	if (!p)
		return broken(q, "buffer outside guest memory");
	if (n >= VIRTQ_MAX_SIZE)
		return broken(q, "chain longer than the device supports");
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		req->nin++;
		req->in_len += d->len;
	} else if (req->nin) {
		return broken(q, "device-readable buffer after a device-writable one");
	} else {
		req->nout++;
		req->out_len += d->len;
	}
	req->iov[n] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	return 0;
}

/* Walks the chain at head: at most table-size steps per table, so a loop
 * ends as "too long". */
static int walk(struct mv_virtq *q, uint16_t head, struct mv_virtq_req *req)
{
	const struct virtq_desc *table = q->desc;
	uint32_t tsize = q->size, steps = 0, i = head;
	bool indirect = false;
	struct virtq_desc d;
	int ret;

	req->head = head;
	req->nout = req->nin = 0;
	req->out_len = req->in_len = 0;
	for (;;) {
		if (steps++ >= tsize)
			return broken(q, "descriptor chain loops or is longer than its table");
		read_desc(table, (uint16_t)i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return broken(q, "indirect table inside an indirect table");
			ret = enter_indirect(q, &d, &table, &tsize);
			if (ret < 0)
				return ret;
			indirect = true;
			steps = 0;
			i = 0;
			continue;
		}
		ret = add_buffer(q, req, &d);
		if (ret < 0)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= tsize)
			return broken(q, "next descriptor index out of range");
	}
}

int virtq__pop(struct mv_virtq *q, struct mv_virtq_req *req)
{
	uint16_t avail_idx, head;
	int ret;

	if (!q->ready)
		return -EINVAL;
	if (q->broken)
		return -EBADMSG;
	avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail && q->event_idx) {
		/* ask for a kick at the next buffer, then look again: the
		 * driver may have added one before it saw avail_event */
		__atomic_store_n(avail_event(q), q->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	}
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return broken(q, "available index moved more than the queue size ahead");
	head = __atomic_load_n(&q->avail[2 + q->last_avail % q->size], __ATOMIC_RELAXED);
	if (head >= q->size)
		return broken(q, "available ring names a descriptor out of range");
	ret = walk(q, head, req);
	if (ret < 0)
		return ret;
	q->last_avail++;
	return 1;
}

void virtq__push(struct mv_virtq *q, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e;

	if (!q->ready)
		return;
	e = used_elem(q, q->used_idx);
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	q->used_idx++;
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

void virtq__push_n(struct mv_virtq *q, const struct virtq_used_elem *e, unsigned int n)
{
	if (!q->ready || !n)
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct virtq_used_elem *u = used_elem(q, (uint16_t)(q->used_idx + i));

		__atomic_store_n(&u->id, e[i].id, __ATOMIC_RELAXED);
		__atomic_store_n(&u->len, e[i].len, __ATOMIC_RELAXED);
	}
	q->used_idx = (uint16_t)(q->used_idx + n);
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

void virtq__unpop(struct mv_virtq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

/* 2.7.10: whether new_idx passed event since old. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq__should_notify(struct mv_virtq *q)
{
	uint16_t old = q->signalled;
	bool valid = q->signalled_valid;

	if (!q->ready)
		return false;
	/* our used index store before the driver's used_event / flags load */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail[0], __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled = q->used_idx;
	q->signalled_valid = true;
	return !valid || need_event(__atomic_load_n(used_event(q), __ATOMIC_RELAXED), q->used_idx, old);
}

void virtq__read_words(const struct mv_virtq *q, struct mv_virtq_words *w)
{
	memset(w, 0, sizeof(*w));
	if (!__atomic_load_n(&q->ready, __ATOMIC_ACQUIRE) || !q->avail || !q->used)
		return;
	w->avail_flags = __atomic_load_n(&q->avail[0], __ATOMIC_RELAXED);
	w->avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_RELAXED);
	w->used_idx = __atomic_load_n(&q->used[1], __ATOMIC_RELAXED);
	if (q->event_idx) {
		w->used_event = __atomic_load_n(used_event(q), __ATOMIC_RELAXED);
		w->avail_event = __atomic_load_n(avail_event(q), __ATOMIC_RELAXED);
	}
}

uint64_t virtq__copy_to_req(struct mv_virtq_req *req, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	uint64_t done = 0;

	for (unsigned int i = req->nout; i < req->nout + req->nin && done < len; i++) {
		size_t n = MIN(req->iov[i].iov_len, len - done);

		memcpy(req->iov[i].iov_base, s + done, n);
		done += n;
	}
	return done;
}
