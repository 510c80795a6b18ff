/* MSI-X (PCI Local Bus 3.0, 6.8.2) for a struct mv_pci_dev.
 *
 * msix__create adds the capability (table size, table and PBA BAR/offset;
 * Message Control's function mask and enable bits writable) and from then
 * on pci.c routes config writes to the capability and accesses to the
 * table and PBA here. Table entries reset masked.
 *
 * Delivery: each vector owns an eventfd. A vector is "live" while MSI-X is
 * enabled and neither the function nor the vector is masked: it then has a
 * GSI whose MSI route carries the entry's address/data (taken from the
 * router on first use, updated when the guest rewrites the entry) and its
 * eventfd is bound to that GSI with an irqfd, so msix__notify (any thread)
 * or any other writer of the eventfd (vhost) makes KVM inject it directly.
 * When not live the irqfd is unbound and writes accumulate in the eventfd:
 * the PBA reads the vector pending, and binding the irqfd again on unmask
 * fires it.
 *
 * Threads: table/PBA accesses on vCPU threads, config writes under the
 * host's config lock, msix__notify anywhere; a mutex orders the first two.
 * Unmap the BARs (pci__detach) before msix__destroy. */
#ifndef MV_DEVICES_PCI_MSIX_H
#define MV_DEVICES_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/irqroute.h"
#include "devices/pci/pci.h"

#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16
#define MSIX_CAP_LEN 12
/* Message Control bits */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_CTRL_SIZE_MASK 0x07FF
/* Vector Control bit */
#define MSIX_VECTOR_MASKED 0x1

struct mv_msix_params {
	unsigned int nvectors;          /* 1-2048 */
	unsigned int table_bar;         /* a memory BAR of the device */
	uint32_t table_off;             /* 8-byte aligned */
	unsigned int pba_bar;
	uint32_t pba_off;               /* 8-byte aligned */
	struct mv_msi_router router;
};

struct mv_msix;

static inline uint32_t msix__table_size(unsigned int nvectors)
{
	return nvectors * MSIX_ENTRY_SIZE;
}

static inline uint32_t msix__pba_size(unsigned int nvectors)
{
	return (nvectors + 63) / 64 * 8;
}

/* Adds the capability to dev (whose BARs must exist and hold the table and
 * PBA without overlap) and creates the eventfds. */
int msix__create(struct mv_pci_dev *dev, const struct mv_msix_params *p, struct mv_msix **out,
		 struct mv_err *err) MV_MUST_CHECK;
/* Unbinds irqfds, frees routes, closes eventfds; NULL is ignored. */
void msix__destroy(struct mv_msix *x);

/* Any thread: signals a vector. 0 when sent (delivered now, or pending
 * while masked), -EAGAIN when MSI-X is disabled (use INTx), -EINVAL for a
 * vector past the table. */
int msix__notify(struct mv_msix *x, unsigned int vector) MV_MUST_CHECK;
/* The vector's eventfd, for other writers (vhost call fds); -1 if none. */
int msix__eventfd(const struct mv_msix *x, unsigned int vector);
bool msix__enabled(const struct mv_msix *x);
/* For diagnostics (any thread): whether the vector cannot fire (it, or
 * MSI-X as a whole, is masked or disabled) and whether it was signalled
 * and not delivered (its eventfd has a count no irqfd took). -EINVAL for a
 * vector out of range. */
int msix__vector_state(struct mv_msix *x, unsigned int vector, bool *masked, bool *pending);
/* Offset of the capability in config space. */
uint16_t msix__cap_offset(const struct mv_msix *x);

/* pci.c's hooks: a BAR access (true if it hit the table or PBA) and a
 * config write (reacts if it touched Message Control). */
bool msix__bar_access(struct mv_msix *x, unsigned int bar, uint64_t off, void *data, uint32_t len, bool is_write);
void msix__cfg_written(struct mv_msix *x, uint32_t off, uint32_t len);

#endif
