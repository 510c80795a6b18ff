/* A PCI function: its 4 KiB configuration space, BARs and INTx line.
 *
 * Config space is an array of bytes plus two masks: wmask (bits the guest
 * may write) and w1cmask (bits a guest write of 1 clears, e.g. the status
 * register's error bits). A guest write stores (old & ~wmask) | (val & wmask)
 * and then clears val & w1cmask; everything else is read-only. The standard
 * type 0 header is set up by pci__init; devices add BARs and capabilities,
 * and may make more bytes writable with pci__set_wmask.
 *
 * BARs: pci__add_bar gives a BAR its size and type; sizing falls out of the
 * masks (writing all ones reads back ~(size - 1) | type bits). Whenever the
 * guest writes a BAR or the command register, each BAR is mapped on its
 * space's bus (struct mv_pci_space, given by the host in pci__attach) iff
 * decoding for its type is enabled (command bit 0 I/O, bit 1 memory) and
 * the whole BAR lies inside the space's window. A BAR that would overlap
 * another mapping stays unmapped until it moves. Accesses reach the
 * device's bar_read/bar_write ops (MSI-X table and PBA first, see msix.h).
 *
 * Threads: config accesses are serialised by the caller (the host's lock),
 * BAR accesses come from vCPU threads through the bus (a BAR being
 * unmapped waits for them), pci__set_intx from any thread. */
#ifndef MV_DEVICES_PCI_PCI_H
#define MV_DEVICES_PCI_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/iobus.h"
#include "core/irq.h"

#define PCI_CFG_SIZE 4096
#define PCI_CFG_STD_SIZE 256
#define PCI_NUM_BARS 6

/* Standard header registers (type 0). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0A
#define PCI_CACHE_LINE_SIZE 0x0C
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D
#define PCI_CAP_START 0x40

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
/* RW1C error bits: master data parity, signalled/received target abort,
 * received master abort, signalled system error, detected parity error. */
#define PCI_STATUS_W1C 0xF900

#define PCI_BAR_IO_FLAG 0x1
#define PCI_BAR_MEM_TYPE_64 0x4
#define PCI_BAR_MEM_PREFETCH 0x8

#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

/* pci__add_bar flags */
#define PCI_BAR_IO 0x1        /* I/O space (else memory) */
#define PCI_BAR_64 0x2        /* 64-bit memory BAR: takes index bar + 1 too */
#define PCI_BAR_PREFETCH 0x4  /* prefetchable memory */

struct mv_pci_dev;

/* One virtqueue's state as vm:info() shows it (to tell a stuck driver from
 * a stuck device). Indices are free-running 16-bit counters. */
struct mv_queue_info {
	uint16_t size;
	bool ready;
	bool in_kernel;         /* served by vhost: last_avail unknown here */
	uint16_t avail_idx;     /* the driver's, read from guest memory */
	uint16_t used_idx;      /* the device's, read from guest memory */
	uint16_t last_avail;    /* next available entry the device takes */
	uint16_t used_event, avail_event; /* EVENT_IDX words (0 without it) */
	bool event_idx;
	bool no_interrupt;      /* VIRTQ_AVAIL_F_NO_INTERRUPT (without EVENT_IDX) */
	uint16_t vector;        /* MSI-X vector, 0xFFFF: none */
	bool vector_masked;     /* the vector, or all of MSI-X, is masked */
	bool irq_pending;       /* signalled and not delivered yet */
	bool kick_pending;      /* a kick the device has not taken yet */
	uint64_t kicks;         /* kicks the device took (coalesced ones count) */
	uint16_t avail_at_kick; /* avail_idx when it took the last one */
	uint64_t irqs;          /* interrupts the device raised for the queue */
	uint16_t used_at_irq;   /* used_idx the last one was for */
};
#define MV_PCI_INFO_QUEUES 8

/* What vm:info() shows of a device beyond its address (all optional). */
struct mv_pci_info {
	const char *type;       /* e.g. "virtio-rng" */
	const char *id;         /* the user's name for it */
	uint64_t requests, bytes, errors;
	bool has_rxtx;          /* NICs: the split below is meaningful */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	unsigned int nqueues;   /* virtio: the first MV_PCI_INFO_QUEUES queues */
	struct mv_queue_info queues[MV_PCI_INFO_QUEUES];
};

struct mv_pci_dev_ops {
	/* Optional: after the generic read of [off, off+len) (within one
	 * DWord), may replace *val (live registers). */
	void (*cfg_read)(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t *val);
	/* Optional: after the generic masked write has been applied (and the
	 * BARs remapped); val is what the guest wrote, config space holds the
	 * result. Registers the device handles itself keep wmask 0. */
	void (*cfg_write)(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t val);
	/* Accesses inside a mapped BAR (off relative to its start, len 1-8,
	 * never past its end). vCPU threads. */
	void (*bar_read)(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len);
	void (*bar_write)(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len);
	/* Optional: the BAR was mapped at addr / unmapped from addr (e.g. to
	 * move ioeventfds). Called with the config lock held. */
	void (*bar_map)(struct mv_pci_dev *dev, unsigned int bar, uint64_t addr, bool mapped);
	/* Optional, any thread: type, id and counters for vm:info(). */
	void (*info)(struct mv_pci_dev *dev, struct mv_pci_info *out);
};

struct mv_pci_id {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint32_t class_code;   /* base class << 16 | sub class << 8 | prog-if */
	uint8_t revision;
	uint8_t intx_pin;      /* 0: none, 1-4: INTA#-INTD# */
};

/* Where a BAR type is decoded: a bus and the windows the host forwards to
 * it (a BAR is mapped only when it lies wholly inside one of them). */
struct mv_pci_window {
	uint64_t start, end;    /* [start, end) */
};
struct mv_pci_space {
	struct mv_iobus *bus;   /* NULL: never mapped */
	struct mv_pci_window win[2];
	unsigned int nwin;
};

/* What the host gives a device it plugs in. */
struct mv_pci_attach {
	struct mv_pci_space mem, io;
	struct mv_irq intx;     /* the shared INTx line */
	unsigned int intx_gsi;
	uint8_t slot;
};

struct mv_pci_bar {
	struct mv_pci_dev *dev;
	unsigned int index;
	uint64_t size;          /* 0: not implemented (or a 64-bit BAR's upper half) */
	unsigned int flags;     /* PCI_BAR_* */
	bool mapped;
	uint64_t mapped_at;
	char name[48];
};

struct mv_msix;

struct mv_pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
	const struct mv_pci_dev_ops *ops;
	void *opaque;
	char name[32];
	struct mv_pci_bar bars[PCI_NUM_BARS];
	uint8_t last_cap;       /* offset of the last capability, 0: none */
	uint16_t cap_free;      /* first free byte for the next capability */
	struct mv_msix *msix;   /* set by msix__create */
	bool attached;
	struct mv_pci_attach at;
	/* INTx */
	pthread_mutex_t intx_lock;
	bool intx_level;        /* what the device asks for */
	bool intx_out;          /* what the line was last set to */
	bool intx_disabled;     /* command register bit 10, copied under intx_lock */
	atomic_bool intx_status;
};

/* Fills in the header (vendor, device, class, header type 0, pin, ...).
 * Does not allocate; pair with pci__fini. name is used in messages. */
void pci__init(struct mv_pci_dev *dev, const struct mv_pci_id *id, const struct mv_pci_dev_ops *ops,
	       void *opaque, const char *name);
/* Unmaps every BAR. */
void pci__fini(struct mv_pci_dev *dev);

/* BAR `bar` (0-5; 0-4 for PCI_BAR_64) of `size` bytes: a power of two,
 * at least 16 (memory) or 4 (I/O, at most 256). -EINVAL for bad
 * arguments, -EBUSY if the BAR (or its upper half) is taken. */
int pci__add_bar(struct mv_pci_dev *dev, unsigned int bar, uint64_t size, unsigned int flags) MV_MUST_CHECK;
/* Firmware-style assignment: writes addr into the BAR (no remap until
 * pci__update_mappings or a guest write). -EINVAL if unaligned. */
int pci__set_bar_addr(struct mv_pci_dev *dev, unsigned int bar, uint64_t addr) MV_MUST_CHECK;
/* The address programmed in the BAR (whether mapped or not). */
uint64_t pci__bar_addr(const struct mv_pci_dev *dev, unsigned int bar);
/* Maps/unmaps BARs after the command register or BAR addresses changed. */
void pci__update_mappings(struct mv_pci_dev *dev);

/* Appends a capability of `len` bytes (>= 2: id, next) to the list in the
 * standard config space and returns its offset (DWord aligned) in *off.
 * -ENOSPC when it does not fit below 0x100. */
int pci__add_cap(struct mv_pci_dev *dev, uint8_t id, uint8_t len, uint16_t *off) MV_MUST_CHECK;
/* Offset of the first capability with this id that follows the one at
 * `from` in the list (from = 0: the whole list), 0 if none. The walk is
 * bounded: a looping list ends it. */
uint16_t pci__find_cap(const struct mv_pci_dev *dev, uint8_t id, uint16_t from);

/* Device-side access to config space (no masks, no hooks). */
uint8_t pci__get8(const struct mv_pci_dev *dev, uint32_t off);
uint16_t pci__get16(const struct mv_pci_dev *dev, uint32_t off);
uint32_t pci__get32(const struct mv_pci_dev *dev, uint32_t off);
void pci__set8(struct mv_pci_dev *dev, uint32_t off, uint8_t v);
void pci__set16(struct mv_pci_dev *dev, uint32_t off, uint16_t v);
void pci__set32(struct mv_pci_dev *dev, uint32_t off, uint32_t v);
/* Sets the write / write-1-to-clear masks of [off, off+len), len <= 4. */
void pci__set_wmask(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t mask);
void pci__set_w1cmask(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t mask);

/* Guest config accesses: len 1, 2 or 4 inside one DWord of [0, 4096);
 * anything else reads all ones / is ignored. */
uint32_t pci__cfg_read(struct mv_pci_dev *dev, uint32_t off, uint32_t len);
void pci__cfg_write(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t val);

/* Host side: plug in (remembering where BARs decode and the INTx line,
 * then mapping what is enabled) and unplug (unmapping, line low). */
void pci__attach(struct mv_pci_dev *dev, const struct mv_pci_attach *at);
void pci__detach(struct mv_pci_dev *dev);

/* Any thread: the device's INTx level. The line follows it unless the
 * command register's INTx disable bit is set; status bit 3 always does. */
void pci__set_intx(struct mv_pci_dev *dev, int level);

#endif
