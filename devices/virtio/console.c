/* virtio-console (virtio 1.2, 5.3), port 0 only: receiveq 0, transmitq 1. */
#include "devices/virtio/console.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_QUEUE_SIZE 128
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000
/* struct virtio_console_config: cols, rows (u16), max_nr_ports, emerg_wr (u32) */
#define CONSOLE_CONFIG_SIZE 12
#define CONSOLE_CONFIG_MAX_NR_PORTS_OFF 4

struct mv_virtio_console {
	struct mv_virtio_pci *vp;
	struct mv_virtio_console_params p;
	struct mv_virtq_req req;          /* I/O thread only */
	/* host input not yet in a guest buffer; rx_lock is taken after the
	 * device lock, and alone by virtio_console__input */
	pthread_mutex_t rx_lock;
	uint8_t rx[VIRTIO_CONSOLE_RX_BUF];
	size_t rx_len;
};

/* After a pass over a queue: interrupt if buffers were returned, and
 * DEVICE_NEEDS_RESET if the guest broke the queue (bad: a buffer of the
 * wrong direction; else what virtq__pop found). */
static void finish(struct mv_virtio_pci *vp, unsigned int qi, unsigned int pushed, int ret, const char *bad)
{
	virtio_pci__queue_done(vp, qi, pushed, bad ? 0 : ret);
	if (bad)
		virtio_pci__needs_reset(vp, bad);
}

/* Takes n bytes off the front of the input buffer (rx_lock held). */
static void rx_consume(struct mv_virtio_console *con, size_t n)
{
	memmove(con->rx, con->rx + n, con->rx_len - n);
	con->rx_len -= n;
}

/* Host input into the guest's receive buffers; a chain is taken only when
 * there is input for it. */
static void rx_notify(struct mv_virtio_pci *vp, struct mv_virtio_console *con)
{
	struct mv_virtq *q = virtio_pci__vq(vp, VIRTIO_CONSOLE_RX_QUEUE);
	struct mv_virtq_req *req = &con->req;
	const char *bad = NULL;
	unsigned int pushed = 0;
	int ret = 0;

	pthread_mutex_lock(&con->rx_lock);
	while (con->rx_len && (ret = virtq__pop(q, req)) > 0) {
		uint64_t n;

		if (req->nout) {
			bad = "device-readable buffer on receiveq";
			break;
		}
		n = virtq__copy_to_req(req, con->rx, con->rx_len);
		rx_consume(con, (size_t)n);
		virtq__push(q, req->head, (uint32_t)n);
		virtio_pci__count(vp, n, false);
		pushed++;
	}
	pthread_mutex_unlock(&con->rx_lock);
	finish(vp, VIRTIO_CONSOLE_RX_QUEUE, pushed, ret, bad);
}

/* Guest output: every readable buffer to the sink, in order. */
static void tx_notify(struct mv_virtio_pci *vp, struct mv_virtio_console *con)
{
	struct mv_virtq *q = virtio_pci__vq(vp, VIRTIO_CONSOLE_TX_QUEUE);
	struct mv_virtq_req *req = &con->req;
	const char *bad = NULL;
	unsigned int pushed = 0;
	int ret;

	while ((ret = virtq__pop(q, req)) > 0) {
		if (req->nin) {
			bad = "device-writable buffer on transmitq";
			break;
		}
		for (unsigned int i = 0; i < req->nout && con->p.output; i++)
			con->p.output(con->p.opaque, req->iov[i].iov_base, req->iov[i].iov_len);
		virtq__push(q, req->head, 0);
		virtio_pci__count(vp, req->out_len, false);
		pushed++;
	}
	finish(vp, VIRTIO_CONSOLE_TX_QUEUE, pushed, ret, bad);
}

static void console_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	struct mv_virtio_console *con = vp->p.opaque;

	if (qi == VIRTIO_CONSOLE_RX_QUEUE)
		rx_notify(vp, con);
	else if (qi == VIRTIO_CONSOLE_TX_QUEUE)
		tx_notify(vp, con);
}

/* cols = rows = 0 (no SIZE), max_nr_ports (meaningful with MULTIPORT
 * only, which is not offered), emerg_wr reads 0 and writes are ignored. */
static void console_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	uint8_t img[CONSOLE_CONFIG_SIZE] = { 0 };

	img[CONSOLE_CONFIG_MAX_NR_PORTS_OFF] = 1;
	memcpy(data, img + off, len);
}

static const struct mv_virtio_ops console_ops = {
	.queue_notify = console_notify, .config_read = console_config_read,
};

size_t virtio_console__input(struct mv_virtio_console *con, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&con->rx_lock);
	n = MIN(len, sizeof(con->rx) - con->rx_len);
	memcpy(con->rx + con->rx_len, buf, n);
	con->rx_len += n;
	pthread_mutex_unlock(&con->rx_lock);
	if (n)
		virtio_pci__kick(con->vp, VIRTIO_CONSOLE_RX_QUEUE);
	return n;
}

size_t virtio_console__pending(struct mv_virtio_console *con)
{
	size_t n;

	pthread_mutex_lock(&con->rx_lock);
	n = con->rx_len;
	pthread_mutex_unlock(&con->rx_lock);
	return n;
}

int virtio_console__create(const struct mv_virtio_env *env, const char *id,
			   const struct mv_virtio_console_params *cp, struct mv_virtio_console **out,
			   struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_CONSOLE, .class_code = PCI_CLASS_COMMUNICATION_OTHER,
		.type = "virtio-console", .id = id, .nqueues = 2, .queue_size = CONSOLE_QUEUE_SIZE,
		.config_size = CONSOLE_CONFIG_SIZE, .ops = &console_ops,
		.mem = env->mem, .host = env->host, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread,
	};
	struct mv_virtio_console *con = calloc(1, sizeof(*con));
	int ret;

	if (!con)
		return err__set(err, -ENOMEM, "out of memory for virtio-console");
	con->p = *cp;
	pthread_mutex_init(&con->rx_lock, NULL);
	p.opaque = con;
	ret = virtio_pci__create(&p, &con->vp, err);
	if (ret < 0) {
		pthread_mutex_destroy(&con->rx_lock);
		free(con);
		return ret;
	}
	*out = con;
	return 0;
}

void virtio_console__destroy(struct mv_virtio_console *con)
{
	if (!con)
		return;
	virtio_pci__destroy(con->vp);
	pthread_mutex_destroy(&con->rx_lock);
	free(con);
}

struct mv_virtio_pci *virtio_console__pci(struct mv_virtio_console *con)
{
	return con->vp;
}
