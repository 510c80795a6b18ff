/* virtio-rng on the modern PCI transport: entropy from getrandom(). */
#ifndef MV_DEVICES_VIRTIO_RNG_H
#define MV_DEVICES_VIRTIO_RNG_H

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

struct mv_virtio_rng;

int virtio_rng__create(const struct mv_virtio_env *env, const char *id, struct mv_virtio_rng **out,
		       struct mv_err *err) MV_MUST_CHECK;
/* Unplugs and frees; NULL is ignored. */
void virtio_rng__destroy(struct mv_virtio_rng *rng);
struct mv_virtio_pci *virtio_rng__pci(struct mv_virtio_rng *rng);

#endif
