/* virtio-net (virtio 1.2, 5.1): receiveq 0, transmitq 1, over a tap. */
#include "devices/virtio/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "devices/backend/tap.h"
#include "devices/virtio/vhost_net.h"

#define PCI_CLASS_NETWORK_ETHERNET 0x020000
/* struct virtio_net_config: mac[6], status, max_virtqueue_pairs, mtu */
#define NET_CONFIG_SIZE 12
#define NET_CONFIG_STATUS_OFF 6
#define NET_CONFIG_PAIRS_OFF 8
#define NET_CONFIG_MTU_OFF 10
/* packets moved per pass before the thread looks at its other fds */
#define NET_BATCH 64
#define BIT(n) (1ULL << (n))
#define RX VIRTIO_NET_RX_QUEUE
#define TX VIRTIO_NET_TX_QUEUE

struct mv_virtio_net {
	struct mv_virtio_pci *vp;
	struct mv_tap *tap;
	struct mv_vhost_net *vhost;
	char *id;
	uint8_t mac[6];
	bool mrg;                    /* MRG_RXBUF negotiated */
	/* I/O thread, device lock held */
	uint8_t *pkt;                /* a frame read from the tap, header first */
	size_t pkt_len;              /* 0: none waiting */
	bool tap_broken;             /* a read failed for good (tap deleted?) */
	struct mv_virtq_req req;
	struct iovec hdr_iov[VIRTIO_NET_HDR_LEN]; /* the first rx chain's header bytes */
	unsigned int nhdr_iov;
	struct virtq_used_elem used[VIRTIO_NET_QUEUE_SIZE];
	struct iovec tx_iov[1 + VIRTQ_MAX_SIZE];
	atomic_uint_fast64_t rx_packets, rx_bytes, tx_packets, tx_bytes; /* frames, headers excluded */
};

static struct mv_virtio_net *of(struct mv_virtio_pci *vp)
{
	return vp->p.opaque;
}

static bool live(const struct mv_virtio_pci *vp, unsigned int q)
{
	return vp->q[q].vq.ready && (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vp->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- transmit ------------------------------------------------------------- */

static const char *check_gso(const struct virtio_net_hdr *h, uint64_t f, uint64_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return h->gso_type || h->gso_size ? "gso_size or ECN without a gso type" : NULL;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(f & BIT(VIRTIO_NET_F_HOST_TSO4))) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(f & BIT(VIRTIO_NET_F_HOST_TSO6))) ||
	    (gso == VIRTIO_NET_HDR_GSO_UDP && !(f & BIT(VIRTIO_NET_F_HOST_UFO))))
		return "gso type not negotiated";
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6 && gso != VIRTIO_NET_HDR_GSO_UDP)
		return "unknown gso type";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(f & BIT(VIRTIO_NET_F_HOST_ECN)))
		return "ECN gso without HOST_ECN";
	if (!h->gso_size || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "gso without gso_size or without NEEDS_CSUM";
	if (h->hdr_len > frame_len)
		return "hdr_len past the frame";
	return NULL;
}

const char *virtio_net__check_tx_hdr(const struct virtio_net_hdr *h, uint64_t f, uint64_t frame_len)
{
	if (frame_len < VIRTIO_NET_MIN_FRAME || frame_len > VIRTIO_NET_MAX_FRAME)
		return "frame shorter than an Ethernet header or longer than 64 KiB";
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "flags other than NEEDS_CSUM";
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(f & BIT(VIRTIO_NET_F_CSUM)))
			return "NEEDS_CSUM without CSUM negotiated";
		if ((uint64_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return "checksum offsets past the frame";
	}
	return check_gso(h, f, frame_len);
}

/* Copies the header out of the chain's first bytes; the rest of the frame
 * goes to the tap from guest memory, behind that (checked) copy. */
static unsigned int tx_iov(struct mv_virtio_net *net, struct virtio_net_hdr *h)
{
	struct mv_virtq_req *req = &net->req;
	uint8_t *dst = (uint8_t *)h;
	size_t need = VIRTIO_NET_HDR_LEN;
	unsigned int n = 1, i = 0;

	for (; i < req->nout && need; i++) {
		size_t take = MIN(need, req->iov[i].iov_len);

		memcpy(dst + VIRTIO_NET_HDR_LEN - need, req->iov[i].iov_base, take);
		need -= take;
		if (take < req->iov[i].iov_len) {
			net->tx_iov[n++] = (struct iovec){ (uint8_t *)req->iov[i].iov_base + take,
							   req->iov[i].iov_len - take };
		}
	}
	for (; i < req->nout; i++)
		net->tx_iov[n++] = req->iov[i];
	h->num_buffers = 0;
	net->tx_iov[0] = (struct iovec){ h, VIRTIO_NET_HDR_LEN };
	return n;
}

/* One transmit chain: 0 done (sent or dropped), or what broke the queue. */
static const char *tx_one(struct mv_virtio_pci *vp, struct mv_virtio_net *net)
{
	struct mv_virtq_req *req = &net->req;
	struct virtio_net_hdr h;
	const char *bad;
	unsigned int n;

	if (req->nin)
		return "device-writable buffer on transmitq";
	if (req->out_len < VIRTIO_NET_HDR_LEN)
		return "transmit chain shorter than virtio_net_hdr";
	n = tx_iov(net, &h);
	bad = virtio_net__check_tx_hdr(&h, vp->driver_features, req->out_len - VIRTIO_NET_HDR_LEN);
	if (bad) {
		pr_debug("%s: packet dropped: %s", vp->pci.name, bad);
		virtio_pci__count(vp, 0, true);
	} else if (writev(net->tap->fd, net->tx_iov, (int)n) < 0) {
		pr_debug("%s: tap write: %s", vp->pci.name, strerror(errno));
		virtio_pci__count(vp, 0, true);
	} else {
		virtio_pci__count(vp, req->out_len - VIRTIO_NET_HDR_LEN, false);
		atomic_fetch_add(&net->tx_packets, 1);
		atomic_fetch_add(&net->tx_bytes, req->out_len - VIRTIO_NET_HDR_LEN);
	}
	return NULL;
}

static void tx_notify(struct mv_virtio_pci *vp, struct mv_virtio_net *net)
{
	struct mv_virtq *q = virtio_pci__vq(vp, TX);
	const char *bad = NULL;
	unsigned int pushed = 0;
	int ret;

	while (pushed < VIRTIO_NET_QUEUE_SIZE && (ret = virtq__pop(q, &net->req)) > 0) {
		bad = tx_one(vp, net);
		if (bad)
			break;
		virtq__push(q, net->req.head, 0);
		pushed++;
	}
	virtio_pci__queue_done(vp, TX, pushed, bad ? 0 : ret);
	if (bad)
		virtio_pci__needs_reset(vp, bad);
	else if (ret > 0) /* a full batch: go on after the other fds */
		virtio_pci__kick(vp, TX);
}

/* ---- receive -------------------------------------------------------------- */

/* Remembers where the first chain's header bytes are (num_buffers is
 * written there once the packet's chains are counted). */
static void save_hdr_iov(struct mv_virtio_net *net)
{
	const struct mv_virtq_req *req = &net->req;
	size_t left = VIRTIO_NET_HDR_LEN;

	net->nhdr_iov = 0;
	for (unsigned int i = req->nout; i < req->nout + req->nin && left; i++) {
		size_t take = MIN(left, req->iov[i].iov_len);

		net->hdr_iov[net->nhdr_iov++] = (struct iovec){ req->iov[i].iov_base, take };
		left -= take;
	}
}

static void put_num_buffers(struct mv_virtio_net *net, uint16_t nbuf)
{
	const uint8_t v[2] = { (uint8_t)nbuf, (uint8_t)(nbuf >> 8) };
	size_t off = 0;

	for (unsigned int i = 0; i < net->nhdr_iov; i++) {
		for (size_t j = 0; j < net->hdr_iov[i].iov_len; j++, off++)
			if (off >= 10 && off < 12)
				((uint8_t *)net->hdr_iov[i].iov_base)[j] = v[off - 10];
	}
}

enum rx_result { RX_DONE, RX_NO_BUFFERS, RX_BROKEN };

/* Places the waiting frame in the guest's receive chains. */
static enum rx_result rx_deliver(struct mv_virtio_pci *vp, struct mv_virtio_net *net, const char **bad)
{
	struct mv_virtq *q = virtio_pci__vq(vp, RX);
	unsigned int n = 0;
	size_t done = 0;
	int ret;

	while (done < net->pkt_len) {
		ret = virtq__pop(q, &net->req);
		if (ret <= 0 || n == q->size) { /* n == size: the ring can never hold it */
			virtq__unpop(q, (uint16_t)n);
			if (ret > 0)
				virtq__unpop(q, 1);
			if (ret < 0)
				return RX_BROKEN;
			if (n == q->size || ret > 0) {
				virtio_pci__count(vp, 0, true);
				net->pkt_len = 0;
				return RX_DONE;
			}
			return RX_NO_BUFFERS;
		}
		if (net->req.nout || net->req.in_len < VIRTIO_NET_HDR_LEN) {
			*bad = net->req.nout ? "device-readable buffer on receiveq"
					     : "receive buffer shorter than virtio_net_hdr";
			return RX_BROKEN;
		}
		if (!n)
			save_hdr_iov(net);
		if (!net->mrg && net->req.in_len < net->pkt_len) { /* does not fit: dropped */
			net->used[n++] = (struct virtq_used_elem){ net->req.head, 0 };
			virtio_pci__count(vp, 0, true);
			break;
		}
		net->used[n].id = net->req.head;
		net->used[n].len = (uint32_t)virtq__copy_to_req(&net->req, net->pkt + done, net->pkt_len - done);
		done += net->used[n++].len;
	}
	if (done == net->pkt_len) {
		put_num_buffers(net, (uint16_t)n);
		virtio_pci__count(vp, net->pkt_len - VIRTIO_NET_HDR_LEN, false);
		atomic_fetch_add(&net->rx_packets, 1);
		atomic_fetch_add(&net->rx_bytes, net->pkt_len - VIRTIO_NET_HDR_LEN);
	}
	virtq__push_n(q, net->used, n);
	net->pkt_len = 0;
	return RX_DONE;
}

/* Reads the next frame: true when one is waiting in net->pkt. */
static bool rx_read(struct mv_virtio_pci *vp, struct mv_virtio_net *net)
{
	ssize_t r;

	for (;;) {
		r = read(net->tap->fd, net->pkt, VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != EAGAIN) { /* e.g. EBADFD: the tap was deleted; poll would not stop */
				pr_warn_errno(errno, "%s: reading tap %s: the NIC receives nothing more", vp->pci.name,
					      net->tap->name);
				net->tap_broken = true;
			}
			return false;
		}
		if (r >= VIRTIO_NET_HDR_LEN + VIRTIO_NET_MIN_FRAME)
			break;
		if (r == 0) { /* end of file: no tap does that; a test's peer went away */
			net->tap_broken = true;
			return false;
		}
		virtio_pci__count(vp, 0, true); /* a runt: dropped */
	}
	memset(net->pkt + 10, 0, 2); /* num_buffers: ours to set */
	net->pkt_len = (size_t)r;
	return true;
}

/* Frames from the tap into the guest until the tap is empty (watch on), the
 * guest has no buffers (watch off until its next kick) or a batch is done. */
static void rx_work(struct mv_virtio_pci *vp, struct mv_virtio_net *net)
{
	enum rx_result res = RX_DONE;
	const char *bad = NULL;
	unsigned int pushed = 0;
	short watch = POLLIN;

	if (!live(vp, RX) || net->tap_broken) {
		virtio_pci__watch(vp, 0);
		return;
	}
	while (pushed < NET_BATCH) {
		if (!net->pkt_len && !rx_read(vp, net)) {
			watch = net->tap_broken ? 0 : POLLIN;
			break;
		}
		res = rx_deliver(vp, net, &bad);
		if (res != RX_DONE) {
			watch = 0;
			break;
		}
		pushed++;
	}
	virtio_pci__watch(vp, watch);
	virtio_pci__queue_done(vp, RX, pushed, res == RX_BROKEN && !bad ? -EBADMSG : 0);
	if (bad)
		virtio_pci__needs_reset(vp, bad);
}

/* ---- transport hooks ------------------------------------------------------- */

static void net_notify(struct mv_virtio_pci *vp, unsigned int qi)
{
	if (qi == RX)
		rx_work(vp, of(vp));
	else if (qi == TX)
		tx_notify(vp, of(vp));
}

static void net_fd_ready(struct mv_virtio_pci *vp, short revents)
{
	rx_work(vp, of(vp));
}

static unsigned int tun_offloads(uint64_t f)
{
	unsigned int t = 0;

	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t = TUN_F_CSUM;
	t |= f & BIT(VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
	t |= f & BIT(VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
	t |= f & BIT(VIRTIO_NET_F_GUEST_ECN) ? TUN_F_TSO_ECN : 0;
	t |= f & BIT(VIRTIO_NET_F_GUEST_UFO) ? TUN_F_UFO : 0;
	return t;
}

static int vhost_start(struct mv_virtio_pci *vp, struct mv_virtio_net *net)
{
	struct mv_vhost_ring rings[2];
	struct mv_err err = { "" };
	int ret;

	for (unsigned int i = 0; i < 2; i++) {
		const struct mv_virtio_queue *q = &vp->q[i];

		rings[i] = (struct mv_vhost_ring){
			.num = q->size, .base = q->vq.last_avail, .desc = q->desc, .avail = q->avail, .used = q->used,
			.kick = virtio_pci__queue_efd(vp, i), .call = virtio_pci__call_efd(vp, i),
		};
		if (!q->vq.ready || rings[i].call < 0) {
			virtio_pci__needs_reset(vp, "vhost needs both queues enabled with MSI-X vectors");
			return -EINVAL;
		}
	}
	ret = vhost_net__start(net->vhost, vp->p.mem, vp->driver_features, rings, 2, net->tap->fd, &err);
	if (ret < 0) {
		pr_err("%s: %s", vp->pci.name, err.msg);
		virtio_pci__needs_reset(vp, "vhost-net did not start");
	}
	return ret;
}

static void net_driver_ok(struct mv_virtio_pci *vp)
{
	struct mv_virtio_net *net = of(vp);
	int ret = tap__set_offload(net->tap, tun_offloads(vp->driver_features));

	if (ret < 0)
		pr_warn_errno(ret, "%s: TUNSETOFFLOAD on tap %s", vp->pci.name, net->tap->name);
	net->mrg = vp->driver_features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (net->vhost)
		(void)vhost_start(vp, net);
	else
		virtio_pci__watch(vp, POLLIN);
}

static void net_reset(struct mv_virtio_pci *vp)
{
	struct mv_virtio_net *net = of(vp);

	if (net->vhost)
		vhost_net__stop(net->vhost);
	virtio_pci__watch(vp, 0);
	net->pkt_len = 0;
	if (tap__set_offload(net->tap, 0) < 0)
		pr_debug("%s: clearing the tap's offloads failed", vp->pci.name);
}

static void net_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	uint8_t img[NET_CONFIG_SIZE] = { 0 };

	memcpy(img, of(vp)->mac, 6);
	img[NET_CONFIG_STATUS_OFF] = VIRTIO_NET_S_LINK_UP;
	img[NET_CONFIG_PAIRS_OFF] = 1;
	img[NET_CONFIG_MTU_OFF] = 1500 & 0xFF;
	img[NET_CONFIG_MTU_OFF + 1] = 1500 >> 8;
	memcpy(data, img + off, len);
}

static void net_info(struct mv_virtio_pci *vp, struct mv_pci_info *out)
{
	struct mv_virtio_net *net = of(vp);

	out->has_rxtx = true;
	out->rx_packets = atomic_load(&net->rx_packets);
	out->rx_bytes = atomic_load(&net->rx_bytes);
	out->tx_packets = atomic_load(&net->tx_packets);
	out->tx_bytes = atomic_load(&net->tx_bytes);
}

static const struct mv_virtio_ops net_ops = {
	.queue_notify = net_notify, .config_read = net_config_read, .driver_ok = net_driver_ok,
	.reset = net_reset, .fd_ready = net_fd_ready, .info = net_info,
};

/* ---- create / destroy ------------------------------------------------------- */

static uint64_t offered_features(const struct mv_virtio_net *net)
{
	unsigned int t = net->tap->offloads;
	uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
		     BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6);

	if (t & TUN_F_CSUM) {
		f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
		f |= t & TUN_F_TSO4 ? BIT(VIRTIO_NET_F_GUEST_TSO4) : 0;
		f |= t & TUN_F_TSO6 ? BIT(VIRTIO_NET_F_GUEST_TSO6) : 0;
		f |= t & TUN_F_TSO_ECN ? BIT(VIRTIO_NET_F_GUEST_ECN) : 0;
		f |= t & TUN_F_UFO ? BIT(VIRTIO_NET_F_GUEST_UFO) : 0;
	}
	if (net->vhost && !(net->vhost->features & BIT(VIRTIO_NET_F_MRG_RXBUF)))
		f &= ~BIT(VIRTIO_NET_F_MRG_RXBUF);
	return f;
}

static int open_backends(struct mv_virtio_net *net, const struct mv_virtio_net_config *cfg, struct mv_err *err)
{
	int ret;

	if (cfg->tap)
		ret = tap__open(cfg->tap, &net->tap, err);
	else
		ret = tap__from_fd(cfg->fd, cfg->fd_offloads, &net->tap, err);
	if (!ret && cfg->vhost)
		ret = vhost_net__open(cfg->tap, &net->vhost, err);
	return ret;
}

int virtio_net__create(const struct mv_virtio_env *env, const struct mv_virtio_net_config *cfg,
		       struct mv_virtio_net **out, struct mv_err *err)
{
	struct mv_virtio_params p = {
		.device_id = VIRTIO_ID_NET, .class_code = PCI_CLASS_NETWORK_ETHERNET, .type = "virtio-net",
		.nqueues = 2, .queue_size = VIRTIO_NET_QUEUE_SIZE, .config_size = NET_CONFIG_SIZE, .ops = &net_ops,
		.mem = env->mem, .host = env->host, .vm_fd = env->vm_fd, .router_for_tests = env->router,
		.no_thread = env->no_thread,
	};
	struct mv_virtio_net *net = calloc(1, sizeof(*net));
	int ret;

	if (!net)
		return err__set(err, -ENOMEM, "out of memory for virtio-net");
	net->id = strdup(cfg->id ? cfg->id : "net");
	net->pkt = malloc(VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME);
	memcpy(net->mac, cfg->mac, sizeof(net->mac));
	ret = !net->id || !net->pkt ? err__set(err, -ENOMEM, "out of memory for virtio-net") : 0;
	if (!ret)
		ret = open_backends(net, cfg, err);
	if (ret < 0)
		goto err_free;
	p.id = net->id;
	p.opaque = net;
	p.features = offered_features(net);
	p.watch_fd = net->tap->fd;
	p.external_queues = net->vhost ? BIT(RX) | BIT(TX) : 0;
	ret = virtio_pci__create(&p, &net->vp, err);
	if (ret < 0)
		goto err_free;
	*out = net;
	return 0;
err_free:
	virtio_net__destroy(net);
	return ret;
}

void virtio_net__destroy(struct mv_virtio_net *net)
{
	if (!net)
		return;
	virtio_pci__destroy(net->vp); /* no more guest accesses, I/O thread gone */
	vhost_net__close(net->vhost);
	if (!net->vp && net->tap && !net->tap->is_tap)
		net->tap->fd = -1; /* a test's fd stays the test's when create failed */
	tap__close(net->tap);
	free(net->pkt);
	free(net->id);
	free(net);
}

struct mv_virtio_pci *virtio_net__pci(struct mv_virtio_net *net)
{
	return net->vp;
}
