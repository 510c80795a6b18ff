/* virtio-rng on the modern PCI transport: entropy from getrandom(). */
#ifndef MV_DEVICES_VIRTIO_RNG_H
#define MV_DEVICES_VIRTIO_RNG_H

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

/* What a machine gives every virtio device it creates. */
struct mv_virtio_env {
	const struct mv_guestmem *mem;
	struct mv_pci_host *host;       /* NULL: not plugged (tests) */
	int vm_fd;                      /* -1: no ioeventfd (tests) */
	struct mv_msi_router router;    /* used when host is NULL */
	bool no_thread;                 /* tests drive virtio_pci__process */
};

struct mv_virtio_rng;

int virtio_rng__create(const struct mv_virtio_env *env, const char *id, struct mv_virtio_rng **out,
		       struct mv_err *err) MV_MUST_CHECK;
/* Unplugs and frees; NULL is ignored. */
void virtio_rng__destroy(struct mv_virtio_rng *rng);
struct mv_virtio_pci *virtio_rng__pci(struct mv_virtio_rng *rng);

#endif
