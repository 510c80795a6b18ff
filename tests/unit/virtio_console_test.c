/* virtio-console (devices/virtio/console.c) behind the modern PCI
 * transport, driven as the guest's driver would: transmitq buffers reach
 * the output callback in order; host input fills posted receiveq buffers,
 * waits in the device while none are posted (or the driver is not ready)
 * and is delivered once they are; the input buffer is bounded; a
 * device-readable buffer on receiveq or a device-writable one on
 * transmitq puts the device in DEVICE_NEEDS_RESET without touching the
 * sink. No KVM: no ioeventfd, no I/O thread (virtio_pci__process). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "core/x86/layout.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x40000ULL
#define QSIZE 16
#define RING(q) (RAM_GPA + 0x1000 + 0x3000ULL * (q))
#define DESC(q) RING(q)
#define AVAIL(q) (RING(q) + 0x1000)
#define USED(q) (RING(q) + 0x2000)
#define BUF (RAM_GPA + 0x10000)
#define RXQ VIRTIO_CONSOLE_RX_QUEUE
#define TXQ VIRTIO_CONSOLE_TX_QUEUE

static unsigned int next_gsi = LAYOUT_MSI_GSI_BASE; /* distinct GSIs, across tests */

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtio_console *con;
	struct mv_virtio_pci *vp;
	pthread_mutex_t out_lock; /* the sink runs on the I/O thread in threaded tests */
	char out[8192];     /* what reached the sink */
	size_t out_len;
	unsigned int out_calls;
	struct vdrv_ring ring[2]; /* receiveq, transmitq */
};

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	struct fx *f = opaque;

	pthread_mutex_lock(&f->out_lock);
	assert_true(f->out_len + len <= sizeof(f->out));
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
	f->out_calls++;
	pthread_mutex_unlock(&f->out_lock);
}

static int create(void **state, bool no_thread)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, &next_gsi }, .no_thread = no_thread };
	struct mv_virtio_console_params cp = { .output = sink, .opaque = f };
	struct mv_err err;

	pthread_mutex_init(&f->out_lock, NULL);
	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	env.mem = &f->mem;
	assert_int_equal(virtio_console__create(&env, "console", &cp, &f->con, &err), 0);
	f->vp = virtio_console__pci(f->con);
	for (uint16_t q = 0; q < 2; q++)
		f->ring[q] = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = DESC(q), .avail = AVAIL(q),
						 .used = USED(q), .size = QSIZE };
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return create(state, true);
}

/* With the device's I/O thread: kicks are eventfd writes it polls. */
static int setup_thread(void **state)
{
	return create(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_console__destroy(f->con);
	pthread_mutex_destroy(&f->out_lock);
	free(f->ram);
	free(f);
	return 0;
}

/* What Linux's virtio_console does without MULTIPORT: VERSION_1, both
 * queues, DRIVER_OK. */
static void driver_ok(struct fx *f)
{
	assert_true(vdrv__negotiate(f->vp, 1ULL << VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__setup_queue(f->vp, RXQ, QSIZE, DESC(RXQ), AVAIL(RXQ), USED(RXQ));
	vdrv__setup_queue(f->vp, TXQ, QSIZE, DESC(TXQ), AVAIL(TXQ), USED(TXQ));
	vdrv__driver_ok(f->vp);
}

static void *at(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

/* Posts a chain of n buffers on queue q: buffer i at addrs[i], lens[i]
 * bytes, device-writable if write[i]. Returns the head. */
static uint16_t post_chain(struct fx *f, uint16_t q, unsigned int n, const uint64_t *addrs, const uint32_t *lens,
			   const bool *write)
{
	struct vdrv_seg s[QSIZE];

	for (unsigned int i = 0; i < n; i++)
		s[i] = (struct vdrv_seg){ addrs[i], lens[i], write[i] };
	return vdrv__post_chain(&f->ring[q], s, n);
}

static uint16_t post_tx(struct fx *f, uint64_t gpa, const char *s)
{
	uint64_t a = gpa;
	uint32_t l = (uint32_t)strlen(s);
	bool w = false;

	memcpy(at(f, gpa), s, l);
	return post_chain(f, TXQ, 1, &a, &l, &w);
}

static uint16_t post_rx(struct fx *f, uint64_t gpa, uint32_t len)
{
	uint64_t a = gpa;
	bool w = true;

	memset(at(f, gpa), 0, len);
	return post_chain(f, RXQ, 1, &a, &len, &w);
}

static uint16_t used_idx(struct fx *f, uint16_t q) { return vdrv__used_idx(&f->ring[q]); }
static struct virtq_used_elem used_elem(struct fx *f, uint16_t q, uint16_t i)
{
	return vdrv__used_elem(&f->ring[q], i);
}

static size_t input(struct fx *f, const char *s)
{
	return virtio_console__input(f->con, (const uint8_t *)s, strlen(s));
}

/* ---- tests ------------------------------------------------------------------ */

static void test_ids_and_config(void **state)
{
	struct fx *f = *state;
	struct mv_pci_info in = { 0 };

	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_DEVICE_ID, 2), 0x1043);
	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_CLASS_DEVICE, 2), 0x0780);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 2);
	/* cols, rows 0; max_nr_ports 1; no MULTIPORT/SIZE/EMERG_WRITE offered */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + 0, 4), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + 4, 4), 1);
	vdrv__wr(f->vp, VIRTIO_COMMON_DFSELECT, 0, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_DF, 4) & 7, 0);
	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_string_equal(in.type, "virtio-console");
	assert_string_equal(in.id, "console");
}

static void test_transmit_in_order(void **state)
{
	struct fx *f = *state;
	uint64_t a[2] = { BUF + 0x100, BUF + 0x200 };
	uint32_t l[2] = { 4, 6 };
	bool w[2] = { false, false };

	driver_ok(f);
	post_tx(f, BUF, "hello, ");
	memcpy(at(f, a[0]), "hvc0", 4);
	memcpy(at(f, a[1]), " line\n", 6);
	post_chain(f, TXQ, 2, a, l, w); /* one request, two buffers */
	post_tx(f, BUF + 0x300, "third\n");
	virtio_pci__process(f->vp, TXQ);
	f->out[f->out_len] = 0;
	assert_string_equal(f->out, "hello, hvc0 line\nthird\n");
	assert_int_equal(used_idx(f, TXQ), 3);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(used_elem(f, TXQ, i).len, 0);
	assert_int_equal(used_elem(f, TXQ, 1).id, 1);
	assert_int_equal(atomic_load(&f->vp->requests), 3);
	assert_int_equal(atomic_load(&f->vp->bytes), 23);
	assert_int_equal(atomic_load(&f->vp->errors), 0);
	assert_false(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	/* a kick with nothing new does nothing */
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(used_idx(f, TXQ), 3);
	assert_int_equal(f->out_len, 23);
}

static void test_receive_fills_posted_buffers(void **state)
{
	struct fx *f = *state;
	eventfd_t kicks = 0;

	driver_ok(f);
	post_rx(f, BUF, 4);
	post_rx(f, BUF + 0x100, 4);
	assert_int_equal(input(f, "0123456789"), 10);
	/* input kicks receiveq: the I/O thread would run it now */
	assert_int_equal(eventfd_read(f->vp->q[RXQ].efd, &kicks), 0);
	assert_true(kicks >= 1);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(used_elem(f, RXQ, 0).len, 4);
	assert_int_equal(used_elem(f, RXQ, 1).len, 4);
	assert_memory_equal(at(f, BUF), "0123", 4);
	assert_memory_equal(at(f, BUF + 0x100), "4567", 4);
	/* the rest waits for the next buffer */
	assert_int_equal(virtio_console__pending(f->con), 2);
	post_rx(f, BUF + 0x200, 64);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(used_elem(f, RXQ, 2).len, 2);
	assert_memory_equal(at(f, BUF + 0x200), "89", 2);
	assert_int_equal(virtio_console__pending(f->con), 0);
	/* a posted buffer is not taken while there is no input */
	post_rx(f, BUF + 0x300, 64);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(input(f, "x"), 1);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 4);
	assert_int_equal(used_elem(f, RXQ, 3).len, 1);
	assert_int_equal(*(char *)at(f, BUF + 0x300), 'x');
	assert_int_equal(atomic_load(&f->vp->bytes), 11);
	assert_int_equal(atomic_load(&f->vp->errors), 0);
}

static void test_receive_queued_until_buffers(void **state)
{
	struct fx *f = *state;

	/* before the driver is ready: kept */
	assert_int_equal(input(f, "early "), 6);
	virtio_pci__process(f->vp, RXQ);
	driver_ok(f);
	/* ready, but no buffers posted: still kept */
	assert_int_equal(input(f, "line\n"), 5);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(virtio_console__pending(f->con), 11);
	/* the guest posts a buffer and kicks: everything, in order */
	post_rx(f, BUF, 64);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 1);
	assert_int_equal(used_elem(f, RXQ, 0).len, 11);
	assert_memory_equal(at(f, BUF), "early line\n", 11);
	assert_int_equal(virtio_console__pending(f->con), 0);
}

static void test_input_is_bounded(void **state)
{
	struct fx *f = *state;
	static uint8_t big[VIRTIO_CONSOLE_RX_BUF + 100];

	memset(big, 'a', sizeof(big));
	driver_ok(f);
	assert_int_equal(virtio_console__input(f->con, big, sizeof(big)), VIRTIO_CONSOLE_RX_BUF);
	assert_int_equal(virtio_console__input(f->con, big, 1), 0);
	assert_int_equal(virtio_console__pending(f->con), VIRTIO_CONSOLE_RX_BUF);
	post_rx(f, BUF, 1000);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(virtio_console__pending(f->con), VIRTIO_CONSOLE_RX_BUF - 1000);
	assert_int_equal(virtio_console__input(f->con, big, sizeof(big)), 1000);
}

static void test_readable_buffer_on_receiveq(void **state)
{
	struct fx *f = *state;
	uint64_t a = BUF;
	uint32_t l = 16;
	bool w = false;

	driver_ok(f);
	post_chain(f, RXQ, 1, &a, &l, &w);
	assert_int_equal(input(f, "secret"), 6);
	virtio_pci__process(f->vp, RXQ);
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(atomic_load(&f->vp->errors), 1);
	/* the device stays quiet until reset; the input is kept */
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(virtio_console__pending(f->con), 6);
	/* after a reset and a proper buffer, the input arrives */
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	assert_int_equal(vdrv__status(f->vp), 0);
	memset(f->ram + 0x1000, 0, 0x6000); /* fresh rings */
	f->ring[RXQ].next_desc = f->ring[TXQ].next_desc = 0;
	driver_ok(f);
	post_rx(f, BUF, 16);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 1);
	assert_memory_equal(at(f, BUF), "secret", 6);
}

static void test_writable_buffer_on_transmitq(void **state)
{
	struct fx *f = *state;
	uint64_t a[2] = { BUF, BUF + 0x100 };
	uint32_t l[2] = { 5, 16 };
	bool w[2] = { false, true };

	driver_ok(f);
	memcpy(at(f, BUF), "leak?", 5);
	post_chain(f, TXQ, 2, a, l, w);
	virtio_pci__process(f->vp, TXQ);
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->out_len, 0);
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_int_equal(atomic_load(&f->vp->errors), 1);
	/* later kicks are ignored until the driver resets the device */
	post_tx(f, BUF + 0x200, "more");
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(f->out_len, 0);
}

static void test_broken_chain_on_transmitq(void **state)
{
	struct fx *f = *state;
	uint16_t *avail;

	driver_ok(f);
	post_tx(f, BUF, "ok\n");
	/* a buffer outside guest RAM */
	{
		uint64_t a = RAM_GPA + RAM_SIZE - 2;
		uint32_t l = 64;
		bool w = false;

		post_chain(f, TXQ, 1, &a, &l, &w);
	}
	virtio_pci__process(f->vp, TXQ);
	f->out[f->out_len] = 0;
	assert_string_equal(f->out, "ok\n");
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(f, TXQ), 1);
	/* an avail index far ahead: the queue is already broken, no walk */
	avail = at(f, AVAIL(TXQ));
	avail[1] = (uint16_t)(avail[1] + 1000);
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(f->out_len, 3);
}

static size_t out_len(struct fx *f)
{
	size_t n;

	pthread_mutex_lock(&f->out_lock);
	n = f->out_len;
	pthread_mutex_unlock(&f->out_lock);
	return n;
}

/* Waits up to 5 s for the I/O thread to get there. */
static bool wait_for(struct fx *f, uint16_t q, uint16_t used, size_t out)
{
	const struct timespec ms = { 0, 1000 * 1000 };

	for (int i = 0; i < 5000; i++) {
		if (used_idx(f, q) == used && out_len(f) >= out)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

struct rx_state {
	uint16_t posted, seen;   /* receive buffers posted / returned and read */
	char stream[4096];       /* what the guest received, in order */
	size_t len;
};

/* Reads the receive buffers the device returned (a buffer may be filled
 * only in part: the device delivers what it has), then posts fresh ones
 * until QSIZE are outstanding; descriptor i always uses BUF + 16 i. */
static void rx_cycle(struct fx *f, struct rx_state *r)
{
	while (r->seen != used_idx(f, RXQ)) {
		struct virtq_used_elem e = used_elem(f, RXQ, r->seen++);

		assert_true(e.id < QSIZE && e.len <= 16 && r->len + e.len <= sizeof(r->stream));
		memcpy(r->stream + r->len, at(f, BUF + 16ULL * e.id), e.len);
		r->len += e.len;
	}
	while ((uint16_t)(r->posted - r->seen) < QSIZE) {
		post_rx(f, BUF + 16ULL * f->ring[RXQ].next_desc, 16);
		r->posted++;
	}
	vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * RXQ, RXQ, 2);
}

/* The I/O thread for real: guest kicks through the notify region, host
 * input from this thread in small pieces while the guest recycles its
 * receive buffers; everything arrives, in order, both ways. */
static void test_io_thread_both_ways(void **state)
{
	const struct timespec ms = { 0, 1000 * 1000 };
	struct fx *f = *state;
	struct rx_state *r = calloc(1, sizeof(*r));
	char want_in[4096], want_out[512] = "", line[32];
	size_t sent = 0;

	driver_ok(f);
	rx_cycle(f, r);
	for (unsigned int round = 0; round < 40; round++) {
		snprintf(line, sizeof(line), "round %u\n", round);
		strcat(want_out, line);
		post_tx(f, BUF + 0x4000 + 0x40 * (round % 2), line);
		vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * TXQ, TXQ, 2);
		for (unsigned int i = 0; i < 100; i += 5, sent += 5) {
			for (unsigned int k = 0; k < 5; k++)
				want_in[sent + k] = (char)('A' + (sent + k) % 26);
			assert_int_equal(virtio_console__input(f->con, (const uint8_t *)want_in + sent, 5), 5);
		}
		for (int i = 0; i < 5000 && r->len < sent; i++) {
			rx_cycle(f, r);
			nanosleep(&ms, NULL);
		}
		assert_int_equal(r->len, sent);
		assert_true(wait_for(f, TXQ, (uint16_t)(round + 1), strlen(want_out)));
	}
	assert_memory_equal(r->stream, want_in, sent);
	pthread_mutex_lock(&f->out_lock);
	f->out[f->out_len] = 0;
	assert_string_equal(f->out, want_out);
	pthread_mutex_unlock(&f->out_lock);
	assert_int_equal(virtio_console__pending(f->con), 0);
	assert_int_equal(atomic_load(&f->vp->errors), 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fills_posted_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_queued_until_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffer_on_receiveq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_buffer_on_transmitq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_chain_on_transmitq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_thread_both_ways, setup_thread, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
