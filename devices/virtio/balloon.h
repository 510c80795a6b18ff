/* virtio-balloon (virtio 1.2, 5.5) on the modern PCI transport.
 *
 * Queues, numbered as Linux and QEMU do (absent ones take no number):
 *   0 inflateq   le32 page frame numbers (4 KiB pages) the guest gives up:
 *                their host pages are discarded (MADV_DONTNEED, or a
 *                punched hole in the memfd; not with hugepages, whose 2 MiB
 *                pages a 4 KiB balloon page cannot free)
 *   1 deflateq   pages the guest takes back: nothing to do (they fault in)
 *   2 statsq     (stats) device-driven statistics: the driver posts one
 *                buffer of {le16 tag, le64 value} entries and the device
 *                holds it; virtio_balloon__request_stats hands it back, the
 *                driver refills and reposts it, the device parses it
 *   2 or 3 reporting_vq  (free_page_reporting) free pages the guest
 *                reports: discarded like inflated pages, then returned
 * deflate_on_oom offers VIRTIO_BALLOON_F_DEFLATE_ON_OOM (the guest deflates
 * rather than OOM-kills). Configuration: num_pages (the host's target,
 * virtio_balloon__set_target), actual (the driver's).
 *
 * Every page frame number and buffer is checked against guest memory; a
 * bad one is skipped and counted as an error.
 *
 * Threads: queues on the I/O thread; the other calls from any thread; all
 * under the device lock. */
#ifndef MV_DEVICES_VIRTIO_BALLOON_H
#define MV_DEVICES_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_BALLOON 5

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_REPORTING 5

#define VIRTIO_BALLOON_Q_INFLATE 0
#define VIRTIO_BALLOON_Q_DEFLATE 1
#define VIRTIO_BALLOON_Q_STATS 2

#define VIRTIO_BALLOON_PFN_SHIFT 12
#define VIRTIO_BALLOON_CFG_NUM_PAGES 0
#define VIRTIO_BALLOON_CFG_ACTUAL 4
#define VIRTIO_BALLOON_CFG_SIZE 16

/* statistics tags (virtio 1.2, 5.5.6.3) */
enum {
	VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_SWAP_OUT, VIRTIO_BALLOON_S_MAJFLT, VIRTIO_BALLOON_S_MINFLT,
	VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, VIRTIO_BALLOON_S_AVAIL, VIRTIO_BALLOON_S_CACHES,
	VIRTIO_BALLOON_S_HTLB_PGALLOC, VIRTIO_BALLOON_S_HTLB_PGFAIL,
	VIRTIO_BALLOON_S_NR
};
#define VIRTIO_BALLOON_STAT_SIZE 10

struct mv_balloon_stats {
	uint64_t val[VIRTIO_BALLOON_S_NR];
	uint32_t present;       /* bit per tag the driver sent */
	uint64_t seq;           /* buffers parsed so far; 0: none yet */
};

struct mv_balloon_counters {
	uint32_t target_pages, actual_pages;
	uint64_t inflated, deflated;   /* pages */
	uint64_t reported;             /* bytes of free pages discarded */
};

struct mv_virtio_balloon_config {
	const char *id;
	bool stats;
	bool free_page_reporting;
	bool deflate_on_oom;
	/* I/O thread, device lock held: a statistics buffer was parsed. Must
	 * not call back into the device (post to the loop instead). */
	void (*stats_ready)(void *opaque);
	void *opaque;
};

struct mv_virtio_balloon;

int virtio_balloon__create(const struct mv_virtio_env *env, const struct mv_virtio_balloon_config *cfg,
			   struct mv_virtio_balloon **out, struct mv_err *err) MV_MUST_CHECK;
/* Unplugs and frees; NULL is ignored. */
void virtio_balloon__destroy(struct mv_virtio_balloon *b);
struct mv_virtio_pci *virtio_balloon__pci(struct mv_virtio_balloon *b);
/* The index of the free page reporting queue (-1: none). */
int virtio_balloon__reporting_queue(struct mv_virtio_balloon *b);

/* Any thread: asks the driver for fresh statistics (hands back the buffer
 * it holds, on the I/O thread). */
void virtio_balloon__request_stats(struct mv_virtio_balloon *b);
/* The latest statistics (seq 0: none yet). */
void virtio_balloon__stats(struct mv_virtio_balloon *b, struct mv_balloon_stats *out);
/* num_pages := pages (4 KiB) and a config interrupt. */
void virtio_balloon__set_target(struct mv_virtio_balloon *b, uint32_t pages);
void virtio_balloon__counters(struct mv_virtio_balloon *b, struct mv_balloon_counters *out);

#endif
