/* moonvisor device plugins: the one public header.
 *
 * A plugin is a shared object that exports one function, MV_PLUGIN_ENTRY
 * ("mv_plugin_init"), of type mv_plugin_init_fn. moonvisor dlopen()s it
 * (RTLD_NOW | RTLD_LOCAL), calls the entry with its host API table, and
 * gets back the plugin's description: its name, version, the ABI it was
 * built against and the device types it provides. Each device type has a
 * create function, called once per device instance and per boot of the VM
 * (a guest reboot destroys every device and creates it again), which
 * claims resources (port I/O, MMIO, a PCI function, a virtio device, ACPI
 * tables) through the host API.
 *
 * Versioning: MV_PLUGIN_ABI_MAJOR changes when anything here changes
 * incompatibly; a plugin built for another major is refused (the message
 * names both versions). MV_PLUGIN_ABI_MINOR grows when members are
 * appended to a table. Every table starts with a `size` member: the host
 * reads only the members that fit in the plugin's size, and a plugin must
 * check host->size before using a member added in a later minor version
 * (MV_PLUGIN_HAS(host, member)).
 *
 * Handles are opaque: a plugin never sees host structures, only the
 * struct mv_plugin_* pointers below, valid until the device is destroyed.
 *
 * Threads (each callback says where it runs):
 *   - LOOP: the event loop thread, which also runs Lua. create/destroy,
 *     timers, fd watches, posted work, Lua methods run here.
 *   - VCPU: a vCPU thread (port-I/O, MMIO, PCI config/BAR accesses). Do
 *     little here: no blocking, no Lua, no timers.
 *   - IO: a virtio device's own I/O thread (queue_notify).
 *   Host functions say which threads may call them; only host->post may be
 *   called from any thread, including threads the plugin starts itself.
 *
 * Security (docs/security.md): every thread runs under a seccomp
 * allow-list once the script's top level has run. A plugin may not map
 * executable memory, fork, exec, or open files from VCPU or IO threads;
 * open what it needs in create (LOOP, before the guest runs) and read it
 * later. A plugin that needs a thread of its own starts it with
 * host->thread_start, which puts the I/O threads' allow-list on it before
 * running the plugin's function; threads started with pthread_create
 * directly are not supported (they inherit whatever filter the creating
 * thread has, which may kill the process on the first file open). A
 * plugin thread may call host->post, host->log and the guest memory
 * functions, nothing else.
 *
 * Guest memory: only through mem_read/mem_write (and the virtio chain
 * accessors), which check the whole [gpa, gpa + len) range against guest
 * RAM. The guest is hostile: bound every guest-supplied length and index.
 *
 * Building a plugin against an installed moonvisor:
 *   cc -shared -fPIC $(pkg-config --cflags moonvisor-plugin) dev.c -o dev.so
 * docs/plugins.md walks through one. */
#ifndef MOONVISOR_PLUGIN_H
#define MOONVISOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* snprintf, in MV_PLUGIN_EXPORT */

#ifdef __cplusplus
extern "C" {
#endif

#define MV_PLUGIN_ABI_MAJOR 1
#define MV_PLUGIN_ABI_MINOR 0
#define MV_PLUGIN_ENTRY "mv_plugin_init"

/* Whether a table of the given size has `member` (minor-version checks). */
#define MV_PLUGIN_HAS(tbl, member) \
	((tbl)->size >= offsetof(__typeof__(*(tbl)), member) + sizeof((tbl)->member))

/* Opaque handles. */
struct mv_plugin_dev;     /* one device instance (one boot of it) */
struct mv_plugin_timer;
struct mv_plugin_watch;
struct mv_plugin_pci;     /* a PCI function owned by a device */
struct mv_plugin_virtio;  /* a virtio device owned by a device */
struct mv_plugin_chain;   /* one virtio descriptor chain popped from a queue */

enum mv_plugin_log_level { MV_PLUGIN_LOG_ERROR, MV_PLUGIN_LOG_WARN, MV_PLUGIN_LOG_INFO, MV_PLUGIN_LOG_DEBUG };

/* Values: configuration options, event fields, Lua method arguments and
 * results. Strings are NUL-terminated and owned by whoever passes them
 * (copy what you keep). */
enum mv_plugin_type_tag { MV_PLUGIN_NIL, MV_PLUGIN_BOOL, MV_PLUGIN_INT, MV_PLUGIN_NUMBER, MV_PLUGIN_STRING };

struct mv_plugin_value {
	enum mv_plugin_type_tag type;
	union {
		int b;
		int64_t i;
		double n;
		const char *s;
	} u;
};

/* An event field: key = value. */
struct mv_plugin_field {
	const char *key;
	struct mv_plugin_value value;
};

/* A configuration option a device type accepts (the Lua table's keys
 * other than plugin and type). Unknown keys and values of another type
 * are refused when the VM is configured, naming the option. MV_PLUGIN_INT
 * options take Lua integers; MV_PLUGIN_NUMBER options any number. */
struct mv_plugin_option {
	const char *name;
	enum mv_plugin_type_tag type;
	const char *help;        /* one line, shown in error messages */
};

/* Port-I/O and MMIO regions. off is relative to the region's base, len is
 * 1, 2, 4 or 8 and [off, off + len) lies inside the region. VCPU. */
struct mv_plugin_io_ops {
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t len);
};

/* A PCI function (host->pci_add). */
#define MV_PLUGIN_BAR_IO 0x1     /* I/O space BAR (else 32-bit memory) */
#define MV_PLUGIN_BAR_64 0x2     /* 64-bit memory BAR: uses index bar + 1 too */
#define MV_PLUGIN_BAR_PREFETCH 0x4

struct mv_plugin_pci_ops {
	/* Optional, VCPU: config space reads of [off, off+len) (one DWord) may
	 * replace *val; writes are applied to the host's copy first (only
	 * bytes made writable by pci_set_wmask change), then reported. */
	void (*cfg_read)(void *opaque, uint32_t off, uint32_t len, uint32_t *val);
	void (*cfg_write)(void *opaque, uint32_t off, uint32_t len, uint32_t val);
	/* VCPU: accesses inside BAR `bar` (never the MSI-X table or PBA). */
	void (*bar_read)(void *opaque, unsigned int bar, uint64_t off, void *data, uint32_t len);
	void (*bar_write)(void *opaque, unsigned int bar, uint64_t off, const void *data, uint32_t len);
};

struct mv_plugin_pci_desc {
	uint32_t size;           /* sizeof(struct mv_plugin_pci_desc) */
	uint16_t vendor, device, subsys_vendor, subsys;
	uint32_t class_code;     /* base << 16 | sub << 8 | prog-if */
	uint8_t revision;
	uint8_t intx_pin;        /* 0: none, 1: INTA# */
	struct {
		uint64_t size;   /* 0: none; else a power of two (>= 16 memory, 4..256 I/O) */
		uint32_t flags;  /* MV_PLUGIN_BAR_* */
	} bars[6];
	/* MSI-X: nvectors > 0 adds the capability, its table and PBA in
	 * memory BAR msix_bar, which the host sizes itself (leave its size
	 * 0 in bars[]). */
	unsigned int msix_vectors;
	unsigned int msix_bar;
	const struct mv_plugin_pci_ops *ops;
	void *opaque;
};

/* A virtio device on the host's modern virtio PCI transport
 * (host->virtio_add). The host runs feature negotiation, queue set-up,
 * notifications (ioeventfd) and interrupts (MSI-X / INTx). */
struct mv_plugin_virtio_ops {
	/* IO (the device's own I/O thread, device lock held): queue q was
	 * kicked by the driver, or by host->virtio_kick. Pop chains, fill
	 * them, push them back, then call host->vq_done once. */
	void (*queue_notify)(void *opaque, struct mv_plugin_virtio *v, unsigned int q);
	/* Optional, VCPU, device lock held: the device configuration space
	 * ([off, off+len) inside config_size). */
	void (*config_read)(void *opaque, uint32_t off, void *data, uint32_t len);
	void (*config_write)(void *opaque, uint32_t off, const void *data, uint32_t len);
};

struct mv_plugin_virtio_desc {
	uint32_t size;           /* sizeof(struct mv_plugin_virtio_desc) */
	uint16_t device_id;      /* virtio device id (4: entropy, 3: console, ...) */
	uint32_t class_code;     /* PCI class code */
	unsigned int nqueues;    /* 1..64 */
	uint16_t queue_size;     /* largest queue offered: power of two, <= 1024 */
	uint64_t features;       /* device feature bits (VERSION_1 and ring features are added) */
	uint32_t config_size;    /* device configuration bytes, <= 4096 */
	const struct mv_plugin_virtio_ops *ops;
	void *opaque;
};

/* A Lua method on the device's handle: dev:NAME(args...). LOOP. Return 0
 * with *result set (MV_PLUGIN_NIL for none; a string result must stay
 * valid until the next call), or a negative errno with errbuf filled: the
 * Lua caller gets nil, message. */
typedef int (*mv_plugin_method_fn)(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
				   struct mv_plugin_value *result, char *errbuf, size_t errlen);

enum mv_plugin_request { MV_PLUGIN_REQ_RESET = 1, MV_PLUGIN_REQ_POWEROFF };

/* fd watch events */
#define MV_PLUGIN_READ 0x1
#define MV_PLUGIN_WRITE 0x2

/* The host API. Functions returning int return 0 or a negative errno. */
struct mv_plugin_host {
	uint32_t size;           /* sizeof(struct mv_plugin_host) of the host */
	uint16_t abi_major, abi_minor;
	const char *version;     /* moonvisor's version string */

	/* Any thread but a plugin's own: a log line prefixed with the plugin
	 * and device names. level: enum mv_plugin_log_level. */
	void (*log)(struct mv_plugin_dev *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* The device's id (the user's "id" option, else "<type><n>"). */
	const char *(*dev_id)(struct mv_plugin_dev *d);

	/* Configuration (LOOP, in create): the option's value, or *out =
	 * dflt when the user did not set it. -ENOENT if the type does not
	 * declare the option, -EINVAL if it was declared with another type.
	 * Strings stay valid while the device exists. */
	int (*config_bool)(struct mv_plugin_dev *d, const char *name, int dflt, int *out);
	int (*config_int)(struct mv_plugin_dev *d, const char *name, int64_t dflt, int64_t *out);
	int (*config_number)(struct mv_plugin_dev *d, const char *name, double dflt, double *out);
	int (*config_string)(struct mv_plugin_dev *d, const char *name, const char *dflt, const char **out);

	/* Resources (LOOP, in create; released when the device is destroyed).
	 * -EEXIST when the range overlaps another device's (the log names
	 * it), -EINVAL for len 0 or an address overflow. */
	int (*pio_register)(struct mv_plugin_dev *d, uint64_t base, uint64_t len, const struct mv_plugin_io_ops *ops,
			    void *opaque);
	int (*mmio_register)(struct mv_plugin_dev *d, uint64_t base, uint64_t len,
			     const struct mv_plugin_io_ops *ops, void *opaque);
	/* An extra ACPI table (LOOP, in create of a device configured in
	 * mv.vm{ devices = ... }; -EBUSY at runtime): the host writes the
	 * 36-byte header (signature, length, revision, checksum, OEM ids)
	 * and appends `body`. */
	int (*acpi_add_table)(struct mv_plugin_dev *d, const char signature[4], uint8_t revision, const void *body,
			      uint32_t len);
	/* VCPU, LOOP: an ISA interrupt line (GSI 0-15: 3, 7, 10, 11 are free)
	 * to level 1 or 0. */
	void (*irq_set)(struct mv_plugin_dev *d, unsigned int gsi, int level);

	/* Guest RAM, range-checked: -EFAULT unless all of [gpa, gpa + len)
	 * is RAM. VCPU, IO, LOOP, plugin threads (while the device exists). */
	int (*mem_read)(struct mv_plugin_dev *d, uint64_t gpa, void *dst, uint64_t len);
	int (*mem_write)(struct mv_plugin_dev *d, uint64_t gpa, const void *src, uint64_t len);

	/* The event loop (LOOP). A timer fires after `after` seconds, then
	 * every `every` seconds if every > 0; fd watches report
	 * MV_PLUGIN_READ/WRITE readiness. Cancel them before destroy returns,
	 * or the host cancels them after it. */
	struct mv_plugin_timer *(*timer_start)(struct mv_plugin_dev *d, double after, double every,
					       void (*fn)(void *opaque), void *opaque);
	void (*timer_stop)(struct mv_plugin_timer *t);
	struct mv_plugin_watch *(*fd_watch)(struct mv_plugin_dev *d, int fd, int events,
					    void (*fn)(void *opaque, int fd, int revents), void *opaque);
	void (*fd_unwatch)(struct mv_plugin_watch *w);
	/* ANY thread: runs fn(opaque, data) on the loop thread soon, unless
	 * the device is destroyed first (then it is dropped). -ENOMEM if it
	 * could not be queued. */
	int (*post)(struct mv_plugin_dev *d, void (*fn)(void *opaque, uint64_t data), void *opaque, uint64_t data);
	/* Starts a plugin thread under the I/O threads' seccomp allow-list.
	 * LOOP. The plugin joins it (pthread_join on *out) in destroy. */
	int (*thread_start)(struct mv_plugin_dev *d, const char *name, void *(*fn)(void *arg), void *arg,
			    unsigned long *out);

	/* LOOP: an event Lua receives as vm:on("plugin:<name>", fn(ev)): ev
	 * holds the fields plus ev.event, ev.device (the id) and ev.vm. The
	 * fields are copied and the event queued: Lua runs after emit
	 * returns (a handler may destroy the device, e.g. vm:kill()). */
	int (*emit)(struct mv_plugin_dev *d, const char *name, const struct mv_plugin_field *fields, unsigned int n);
	/* LOOP, in create: dev:<name>(...) on the device's Lua handle. */
	int (*lua_method)(struct mv_plugin_dev *d, const char *name, mv_plugin_method_fn fn, void *opaque);
	/* VCPU, IO, LOOP: asks the VMM to reset or power off the guest (as
	 * if the guest did). */
	void (*request)(struct mv_plugin_dev *d, enum mv_plugin_request req, const char *why);

	/* A PCI function in the lowest free slot (LOOP, in create). */
	int (*pci_add)(struct mv_plugin_dev *d, const struct mv_plugin_pci_desc *desc, struct mv_plugin_pci **out);
	/* VCPU, LOOP: config space (device side, no masks) and write masks. */
	uint32_t (*pci_cfg_get)(struct mv_plugin_pci *p, uint32_t off, uint32_t len);
	void (*pci_cfg_set)(struct mv_plugin_pci *p, uint32_t off, uint32_t len, uint32_t val);
	void (*pci_set_wmask)(struct mv_plugin_pci *p, uint32_t off, uint32_t len, uint32_t mask);
	/* VCPU, IO, LOOP: INTx level; an MSI-X vector (-EAGAIN when MSI-X
	 * is disabled: use INTx). */
	void (*pci_set_intx)(struct mv_plugin_pci *p, int level);
	int (*pci_msix_notify)(struct mv_plugin_pci *p, unsigned int vector);

	/* A virtio device in the lowest free PCI slot (LOOP, in create). */
	int (*virtio_add)(struct mv_plugin_dev *d, const struct mv_plugin_virtio_desc *desc,
			  struct mv_plugin_virtio **out);
	/* Queue access, IO only (inside queue_notify). vq_pop takes the next
	 * available chain: 1 (*out set), 0 none, -EBADMSG the driver broke
	 * the queue (the device then needs a reset; stop and call vq_done),
	 * -EBUSY if the queue's previous chain was not pushed yet. Chains
	 * are walked by the host's bounded walker: at most queue-size
	 * descriptors, every buffer checked against guest RAM. */
	int (*vq_pop)(struct mv_plugin_virtio *v, unsigned int q, struct mv_plugin_chain **out);
	/* The chain's device-readable and device-writable byte counts. */
	void (*chain_len)(const struct mv_plugin_chain *c, uint64_t *readable, uint64_t *writable);
	/* Copies from the readable part at `off` / into the writable part at
	 * `off`; returns the bytes copied (short at the end of the part). */
	uint64_t (*chain_read)(struct mv_plugin_chain *c, uint64_t off, void *dst, uint64_t len);
	uint64_t (*chain_write)(struct mv_plugin_chain *c, uint64_t off, const void *src, uint64_t len);
	/* Gives the chain back to the driver with `written` bytes written. */
	void (*vq_push)(struct mv_plugin_virtio *v, unsigned int q, struct mv_plugin_chain *c, uint32_t written);
	/* End of a pass over queue q: interrupts the driver if `pushed` > 0,
	 * flags DEVICE_NEEDS_RESET if `ret` (the last vq_pop) was -EBADMSG. */
	void (*vq_done)(struct mv_plugin_virtio *v, unsigned int q, unsigned int pushed, int ret);
	/* ANY of LOOP, IO, VCPU: run queue_notify for q on the I/O thread. */
	void (*virtio_kick)(struct mv_plugin_virtio *v, unsigned int q);
	/* IO or config callbacks: the device configuration changed. */
	void (*virtio_config_changed)(struct mv_plugin_virtio *v);
	/* Counts a request for vm:info() (bytes, or an error). */
	void (*virtio_count)(struct mv_plugin_virtio *v, uint64_t bytes, int error);
};

/* A device type. create (LOOP) builds one instance: it reads its options,
 * claims resources and returns 0 with *state set, or a negative errno
 * with errbuf saying why; on failure it frees what it allocated itself,
 * and the host unwinds what it registered (regions, tables, PCI and
 * virtio devices, timers, watches, methods). destroy (LOOP) runs once
 * the guest can no longer reach the device (its regions, PCI function
 * and virtio device, with its I/O thread, are gone already): it joins
 * its own threads and frees its state; the host then drops the timers,
 * watches and methods left. Instances are created at every boot and
 * destroyed at every reset and power-off. */
struct mv_plugin_type {
	uint32_t size;           /* sizeof(struct mv_plugin_type) */
	const char *name;        /* the Lua table's type = "..." */
	const char *help;        /* one line */
	const struct mv_plugin_option *options; /* ends with { NULL } */
	int (*create)(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen);
	void (*destroy)(void *state);
};

struct mv_plugin_desc {
	uint32_t size;           /* sizeof(struct mv_plugin_desc) */
	uint16_t abi_major, abi_minor; /* MV_PLUGIN_ABI_MAJOR/MINOR built against */
	const char *name;        /* events are "plugin:<name>" */
	const char *version;
	const struct mv_plugin_type *types;
	unsigned int ntypes;
};

/* The entry point: keep `host` (valid until the process exits) and
 * return the description (static storage), or NULL with errbuf filled to
 * refuse loading. Called once per process and path, LOOP. */
typedef const struct mv_plugin_desc *(*mv_plugin_init_fn)(const struct mv_plugin_host *host, char *errbuf,
							  size_t errlen);

/* The usual entry point, optional (a plugin may write mv_plugin_init
 * itself; docs/plugins.md does). At file scope:
 *
 *   static const struct mv_plugin_host *host;
 *   static const struct mv_plugin_type types[] = { ... };
 *   MV_PLUGIN_EXPORT("ticker", "0.1", types, host, lua_method)
 *
 * defines the description (NAME, VERSION, every entry of the TYPES array,
 * this header's ABI) and mv_plugin_init, which refuses a host of another
 * ABI major or one without NEWEST -- the newest host member the plugin
 * calls -- with "needs plugin ABI M.m", else stores the host table in
 * HOST and returns the description. */
#define MV_PLUGIN_EXPORT(NAME, VERSION, TYPES, HOST, NEWEST)                                                \
	static const struct mv_plugin_desc mv_plugin_desc_ = {                                                 \
		.size = sizeof(struct mv_plugin_desc),                                                          \
		.abi_major = MV_PLUGIN_ABI_MAJOR,                                                               \
		.abi_minor = MV_PLUGIN_ABI_MINOR,                                                               \
		.name = (NAME),                                                                                 \
		.version = (VERSION),                                                                           \
		.types = (TYPES),                                                                               \
		.ntypes = sizeof(TYPES) / sizeof((TYPES)[0]),                                                   \
	};                                                                                                     \
	const struct mv_plugin_desc *mv_plugin_init(const struct mv_plugin_host *h, char *errbuf, size_t errlen); \
	const struct mv_plugin_desc *mv_plugin_init(const struct mv_plugin_host *h, char *errbuf, size_t errlen)  \
	{                                                                                                      \
		if (h->abi_major != MV_PLUGIN_ABI_MAJOR || !MV_PLUGIN_HAS(h, NEWEST)) {                         \
			snprintf(errbuf, errlen, "needs plugin ABI %d.%d", MV_PLUGIN_ABI_MAJOR, MV_PLUGIN_ABI_MINOR); \
			return NULL;                                                                            \
		}                                                                                               \
		(HOST) = h;                                                                                     \
		return &mv_plugin_desc_;                                                                        \
	}

#ifdef __cplusplus
}
#endif

#endif
