/* Split virtqueues (devices/virtio/virtqueue.c) against a hostile driver:
 * rings and buffers are built by hand in a fake guest RAM, and every
 * malformed chain must break the queue (never crash, never spin) while
 * well-formed ones come out exactly as posted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x40000ULL
#define QSIZE 8
#define DESC (RAM_GPA + 0x1000)
#define AVAIL (RAM_GPA + 0x2000)
#define USED (RAM_GPA + 0x3000)
#define BUF (RAM_GPA + 0x10000)
#define TABLE (RAM_GPA + 0x8000)   /* indirect tables */

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtq q;
	struct mv_virtq_req req;
	uint16_t avail_idx;
};

static void *at(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

static void set_desc_in(struct fx *f, uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(at(f, table + 16ULL * i), &d, sizeof(d));
}

static void set_desc(struct fx *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_in(f, DESC, i, addr, len, flags, next);
}

static uint16_t *avail(struct fx *f)
{
	return at(f, AVAIL);
}

static uint16_t *used16(struct fx *f)
{
	return at(f, USED);
}

static void post(struct fx *f, uint16_t head)
{
	avail(f)[2 + f->avail_idx % QSIZE] = head;
	avail(f)[1] = ++f->avail_idx;
}

static int setup_features(void **state, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	assert_int_equal(virtq__setup(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED, features), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_features(state, (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
}

static int setup_event_idx(void **state)
{
	return setup_features(state, (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static void expect_broken(struct fx *f, const char *why_part)
{
	assert_int_equal(virtq__pop(&f->q, &f->req), -EBADMSG);
	assert_true(f->q.broken);
	assert_non_null(strstr(f->q.why, why_part));
	/* and it stays broken */
	assert_int_equal(virtq__pop(&f->q, &f->req), -EBADMSG);
}

static void test_setup_rejects_bad_rings(void **state)
{
	struct fx *f = *state;
	struct mv_virtq q;

	assert_int_equal(virtq__setup(&q, &f->mem, 6, DESC, AVAIL, USED, 0), -EINVAL);        /* not 2^n */
	assert_int_equal(virtq__setup(&q, &f->mem, 2048, DESC, AVAIL, USED, 0), -EINVAL);     /* too big */
	assert_int_equal(virtq__setup(&q, &f->mem, QSIZE, DESC + 8, AVAIL, USED, 0), -EINVAL); /* align */
	assert_int_equal(virtq__setup(&q, &f->mem, QSIZE, DESC, AVAIL + 1, USED, 0), -EINVAL);
	assert_int_equal(virtq__setup(&q, &f->mem, QSIZE, DESC, AVAIL, USED + 2, 0), -EINVAL);
	assert_int_equal(virtq__setup(&q, &f->mem, QSIZE, DESC, AVAIL, RAM_GPA + RAM_SIZE - 16, 0), -EINVAL);
	assert_int_equal(virtq__setup(&q, &f->mem, QSIZE, UINT64_MAX - 15, AVAIL, USED, 0), -EINVAL);
	assert_false(q.ready);
	assert_int_equal(virtq__pop(&q, &f->req), -EINVAL);
}

static void test_empty_queue(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtq__pop(&f->q, &f->req), 0);
	assert_false(f->q.broken);
}

static void test_chain_and_used_ring(void **state)
{
	struct fx *f = *state;

	memcpy(at(f, BUF), "hello", 5);
	set_desc(f, 3, BUF, 5, VIRTQ_DESC_F_NEXT, 5);
	set_desc(f, 5, BUF + 0x100, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 0x200, 32, VIRTQ_DESC_F_WRITE, 0);
	post(f, 3);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(f->req.head, 3);
	assert_int_equal(f->req.nout, 1);
	assert_int_equal(f->req.nin, 2);
	assert_int_equal(f->req.out_len, 5);
	assert_int_equal(f->req.in_len, 96);
	assert_memory_equal(f->req.iov[0].iov_base, "hello", 5);
	assert_ptr_equal(f->req.iov[1].iov_base, at(f, BUF + 0x100));
	assert_ptr_equal(f->req.iov[2].iov_base, at(f, BUF + 0x200));
	assert_int_equal(virtq__copy_to_req(&f->req, "0123456789", 10), 10);
	assert_memory_equal(at(f, BUF + 0x100), "0123456789", 10);
	assert_int_equal(virtq__pop(&f->q, &f->req), 0);

	virtq__push(&f->q, 3, 10);
	assert_int_equal(used16(f)[1], 1);
	struct virtq_used_elem *e = at(f, USED + 4);
	assert_int_equal(e->id, 3);
	assert_int_equal(e->len, 10);
	/* the used ring wraps at the queue size */
	for (int i = 0; i < QSIZE; i++)
		virtq__push(&f->q, (uint16_t)i, (uint32_t)i);
	assert_int_equal(used16(f)[1], QSIZE + 1);
	assert_int_equal(e->id, QSIZE - 1); /* slot 0 again */
}

static void test_loop_is_broken(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	post(f, 0);
	expect_broken(f, "loops");
}

static void test_self_loop_is_broken(void **state)
{
	struct fx *f = *state;

	set_desc(f, 2, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	post(f, 2);
	expect_broken(f, "loops");
}

static void test_chain_of_queue_size_is_fine(void **state)
{
	struct fx *f = *state;

	for (uint16_t i = 0; i < QSIZE; i++)
		set_desc(f, i, BUF + 16ULL * i, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	post(f, 0);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(f->req.nout, QSIZE);
}

static void test_out_of_range_addresses(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, RAM_GPA + RAM_SIZE - 8, 16, 0, 0); /* crosses the end of RAM */
	post(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_address_overflow(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, UINT64_MAX - 4, 16, VIRTQ_DESC_F_WRITE, 0);
	post(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_below_ram(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x1000, 16, 0, 0);
	post(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_zero_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 0, VIRTQ_DESC_F_WRITE, 0);
	post(f, 0);
	expect_broken(f, "zero-length");
}

static void test_wrong_direction(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, 0, 0);
	post(f, 0);
	expect_broken(f, "device-readable buffer after a device-writable");
}

static void test_head_and_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	post(f, 0);
	expect_broken(f, "next descriptor index out of range");

	virtq__reset(&f->q);
	f->avail_idx = 0;
	assert_int_equal(virtq__setup(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED, 0), 0);
	post(f, QSIZE + 3);
	expect_broken(f, "out of range");
}

static void test_avail_index_jumping_ahead(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, 0, 0);
	for (int i = 0; i < QSIZE; i++)
		post(f, 0);
	/* exactly a full ring is fine */
	for (int i = 0; i < QSIZE; i++)
		assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(virtq__pop(&f->q, &f->req), 0);
	avail(f)[1] = (uint16_t)(f->avail_idx + QSIZE + 1);
	expect_broken(f, "more than the queue size");
}

static void test_avail_index_wraps(void **state)
{
	struct fx *f = *state;

	/* 16-bit indices wrap: 65535 -> 0 is one entry, not a jump */
	f->q.last_avail = 0xFFFF;
	f->q.used_idx = 0xFFFF;
	f->avail_idx = 0xFFFF;
	set_desc(f, 4, BUF, 16, 0, 0);
	post(f, 4);
	assert_int_equal(avail(f)[1], 0);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(f->req.head, 4);
	assert_int_equal(f->q.last_avail, 0);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;

	set_desc_in(f, TABLE, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc_in(f, TABLE, 2, BUF + 0x100, 100, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, 6, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 6);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(f->req.head, 6);
	assert_int_equal(f->req.nout, 1);
	assert_int_equal(f->req.nin, 1);
	assert_int_equal(f->req.in_len, 100);
}

static void test_indirect_inside_indirect(void **state)
{
	struct fx *f = *state;

	set_desc_in(f, TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc_in(f, TABLE + 0x100, 0, BUF, 16, 0, 0);
	set_desc(f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "indirect table inside an indirect table");
}

static void test_indirect_bad_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "multiple of 16");
}

static void test_indirect_too_long(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, TABLE, (QSIZE + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "multiple of 16");
}

static void test_indirect_loop(void **state)
{
	struct fx *f = *state;

	set_desc_in(f, TABLE, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc_in(f, TABLE, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	set_desc(f, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "loops");
}

static void test_indirect_table_outside_ram(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, RAM_GPA + RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "indirect table outside guest memory");
}

static void test_indirect_needs_feature(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtq__setup(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED, 0), 0);
	set_desc_in(f, TABLE, 0, BUF, 16, 0, 0);
	set_desc(f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_broken(f, "without VIRTIO_RING_F_INDIRECT_DESC");
}

static void test_indirect_with_next(void **state)
{
	struct fx *f = *state;

	set_desc_in(f, TABLE, 0, BUF, 16, 0, 0);
	set_desc(f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	post(f, 0);
	expect_broken(f, "NEXT");
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;

	virtq__push(&f->q, 0, 0);
	assert_true(virtq__should_notify(&f->q));
	avail(f)[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq__push(&f->q, 0, 0);
	assert_false(virtq__should_notify(&f->q));
}

static void test_event_idx_suppression(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &avail(f)[2 + QSIZE];

	avail(f)[0] = VIRTQ_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	*used_event = 2; /* interrupt when used idx passes 2, i.e. reaches 3 */
	virtq__push(&f->q, 0, 0);
	assert_true(virtq__should_notify(&f->q)); /* the first one always goes out */
	virtq__push(&f->q, 0, 0);
	assert_false(virtq__should_notify(&f->q)); /* used idx 2 */
	virtq__push(&f->q, 0, 0);
	assert_true(virtq__should_notify(&f->q));  /* 3: passed 2 */
	virtq__push(&f->q, 0, 0);
	assert_false(virtq__should_notify(&f->q)); /* 4: event still 2 */
	*used_event = 5;
	virtq__push(&f->q, 0, 0);
	virtq__push(&f->q, 0, 0);
	assert_true(virtq__should_notify(&f->q));  /* 6 passed 5 in one batch */
	assert_false(virtq__should_notify(&f->q)); /* nothing new */
}

static void test_event_idx_publishes_avail_event(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event = &used16(f)[2 + 4 * QSIZE];

	*avail_event = 0xAAAA;
	assert_int_equal(virtq__pop(&f->q, &f->req), 0);
	assert_int_equal(*avail_event, 0);
	set_desc(f, 0, BUF, 16, 0, 0);
	post(f, 0);
	post(f, 0);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(virtq__pop(&f->q, &f->req), 1);
	assert_int_equal(virtq__pop(&f->q, &f->req), 0);
	assert_int_equal(*avail_event, 2); /* kick me when entry 2 is added */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup_rejects_bad_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_and_used_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_is_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_loop_is_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_of_queue_size_is_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_below_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_and_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jumping_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_inside_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_bad_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_table_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_needs_feature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_with_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppression, setup_event_idx, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_publishes_avail_event, setup_event_idx, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
