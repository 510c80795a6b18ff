/* core.vm_* : the C side of the Lua VM object (lua/lib/api.lua builds the
 * user-facing methods on top). A handle is a full userdata over a struct
 * mv_vm; it is created before the VM so a failure leaves nothing behind. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "core/vm.h"
#include "devices/pci/host.h"
#include "lua/cfgread.h"
#include "lua/l_vm_jail.h"
#include "lua/state.h"

#define HANDLE_MT "moonvisor.vmhandle"

struct vmhandle {
	struct mv_vm *vm;   /* NULL once destroyed */
	char name[64];
	int self_ref;       /* registry ref to this userdata while the VM exists */
	bool watch_data;    /* dispatch "console_data" after each output batch */
	bool watch_hvc_data; /* the same for hvc0: "hvc_data" */
};

static int dispatch_ref = LUA_NOREF;

static struct vmhandle *check_handle(lua_State *L, int idx)
{
	struct vmhandle *h = luaL_checkudata(L, idx, HANDLE_MT);

	if (!h->vm)
		luaL_error(L, "vm '%s' was destroyed", h->name);
	mvlua__set_active_state(L);
	return h;
}

struct mv_vm *mvlua__check_vm(lua_State *L, int idx)
{
	return check_handle(L, idx)->vm;
}

/* ---- events from C to Lua ---------------------------------------------- */

static void push_stop_fields(lua_State *L, struct mv_vm *vm)
{
	lua_pushstring(L, vm__stop_reason_name(vm->stop_reason));
	lua_setfield(L, -2, "reason");
	lua_pushinteger(L, vm->stop_code);
	lua_setfield(L, -2, "code");
	if (vm->stop_message[0]) {
		lua_pushstring(L, vm->stop_message);
		lua_setfield(L, -2, "message");
	}
}

#define PANIC_CONSOLE_LINES 200

static void add_line(void *opaque, const char *line, size_t len)
{
	luaL_Buffer *b = opaque;

	luaL_addlstring(b, line, len);
	luaL_addchar(b, '\n');
}

static void set_reg(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void push_regs(lua_State *L, const struct kvm_regs *r, const struct kvm_sregs *s)
{
	lua_createtable(L, 0, 32);
	set_reg(L, "rax", r->rax), set_reg(L, "rbx", r->rbx), set_reg(L, "rcx", r->rcx);
	set_reg(L, "rdx", r->rdx), set_reg(L, "rsi", r->rsi), set_reg(L, "rdi", r->rdi);
	set_reg(L, "rsp", r->rsp), set_reg(L, "rbp", r->rbp), set_reg(L, "r8", r->r8);
	set_reg(L, "r9", r->r9), set_reg(L, "r10", r->r10), set_reg(L, "r11", r->r11);
	set_reg(L, "r12", r->r12), set_reg(L, "r13", r->r13), set_reg(L, "r14", r->r14);
	set_reg(L, "r15", r->r15), set_reg(L, "rip", r->rip), set_reg(L, "rflags", r->rflags);
	set_reg(L, "cr0", s->cr0), set_reg(L, "cr2", s->cr2), set_reg(L, "cr3", s->cr3);
	set_reg(L, "cr4", s->cr4), set_reg(L, "efer", s->efer), set_reg(L, "cs", s->cs.selector);
	set_reg(L, "ss", s->ss.selector), set_reg(L, "fs_base", s->fs.base), set_reg(L, "gs_base", s->gs.base);
	set_reg(L, "gdt_base", s->gdt.base), set_reg(L, "idt_base", s->idt.base);
}

/* ev.kind, ev.vcpu, ev.regs (absent if they could not be read) and
 * ev.console: the last lines of console output, newline-terminated, then
 * any line still being received. */
static void push_panic_fields(lua_State *L, struct mv_vm *vm)
{
	const struct mv_vm_panic *p = &vm->panic;
	luaL_Buffer b;
	const char *partial;
	size_t len;

	lua_pushstring(L, vm__panic_kind(p->events));
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, p->vcpu);
	lua_setfield(L, -2, "vcpu");
	if (p->have_regs) {
		push_regs(L, &p->regs, &p->sregs);
		lua_setfield(L, -2, "regs");
	}
	luaL_buffinit(L, &b);
	console__tail(vm->console, PANIC_CONSOLE_LINES, add_line, &b);
	partial = console__partial(vm->console, &len);
	luaL_addlstring(&b, partial, len);
	luaL_pushresult(&b);
	lua_setfield(L, -2, "console");
}

static bool dispatch(struct vmhandle *h, const char *event, const char *line, size_t len)
{
	lua_State *L = mvlua__active_state();
	bool result = true;

	if (!L || dispatch_ref == LUA_NOREF)
		return true;
	lua_rawgeti(L, LUA_REGISTRYINDEX, dispatch_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->self_ref);
	lua_pushstring(L, event);
	lua_createtable(L, 0, 4);
	lua_pushstring(L, event);
	lua_setfield(L, -2, "event");
	if (line) {
		lua_pushlstring(L, line, len);
		lua_setfield(L, -2, "line");
	}
	if (strcmp(event, "stopped") == 0)
		push_stop_fields(L, h->vm);
	else if (strcmp(event, "panic") == 0)
		push_panic_fields(L, h->vm);
	else if (strcmp(event, "reset") == 0) {
		lua_pushstring(L, h->vm->reset_reason);
		lua_setfield(L, -2, "reason");
	} else if (strncmp(event, "device_", 7) == 0)
		mvlua__push_device_event(L, h->vm);
	if (mvlua__pcall(L, 3, 1, "event dispatch")) {
		result = !(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
		lua_pop(L, 1);
	}
	return result;
}

static bool on_vm_event(void *opaque, struct mv_vm *vm, enum mv_vm_event ev)
{
	static const char *const names[] = { "started", "stopped", "paused", "resumed", "reset", "panic",
					     "device_added", "device_removed", "memory", "balloon_stats" };
	return dispatch(opaque, names[ev], NULL, 0);
}

static void on_console_data(void *opaque, struct mv_vm *vm)
{
	struct vmhandle *h = opaque;

	if (h->watch_data)
		dispatch(h, "console_data", NULL, 0);
}

static void on_console_line(void *opaque, struct mv_vm *vm, const char *line, size_t len)
{
	dispatch(opaque, "console", line, len);
}

static void on_hvc_data(void *opaque, struct mv_vm *vm)
{
	struct vmhandle *h = opaque;

	if (h->watch_hvc_data)
		dispatch(h, "hvc_data", NULL, 0);
}

static void on_hvc_line(void *opaque, struct mv_vm *vm, const char *line, size_t len)
{
	dispatch(opaque, "hvc", line, len);
}

/* ---- configuration table → struct mv_vm_config ------------------------- */

/* A console's sink: t[key] names it ("stdio", "null", "file", "socket"),
 * t[path_key] is the file or socket path. */
static void read_sink(lua_State *L, int t, const char *key, const char *path_key, struct mv_console_config *c)
{
	static const char *const sinks[] = { "stdio", "null", "file", "socket", NULL };
	char *sink = mvlua__field_strdup(L, t, key);

	c->sink = MV_CONSOLE_STDIO;
	for (int i = 0; sink && sinks[i]; i++)
		if (strcmp(sink, sinks[i]) == 0)
			c->sink = (enum mv_console_sink)i;
	c->path = mvlua__field_strdup(L, t, path_key);
	free(sink);
}

/* The table was validated and normalized by lua/lib/config.lua. */
static void read_config(lua_State *L, int t, struct mv_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = mvlua__field_strdup(L, t, "name");
	cfg->cpus = (unsigned int)mvlua__field_integer(L, t, "cpus", 1);
	cfg->memory = (uint64_t)mvlua__field_integer(L, t, "memory", 0);
	cfg->memopts.hugepages = mvlua__field_bool(L, t, "hugepages");
	cfg->memopts.shared = mvlua__field_bool(L, t, "shared");
	mvlua__read_device_lists(L, t, cfg);
	cfg->jail = mvlua__read_jail(L, t);
	mvlua__read_memory_config(L, t, cfg);
	cfg->kernel = mvlua__field_strdup(L, t, "kernel");
	cfg->kernel_unpack = mvlua__field_bool(L, t, "kernel_unpack");
	cfg->initrd = mvlua__field_strdup(L, t, "initrd");
	cfg->cmdline = mvlua__field_strdup(L, t, "cmdline");
	read_sink(L, t, "serial", "serial_path", &cfg->console);
	cfg->virtio_console = mvlua__field_bool(L, t, "virtio_console");
	if (cfg->virtio_console)
		read_sink(L, t, "hvc", "hvc_path", &cfg->hvc);
}

static int l_vm_new(lua_State *L)
{
	struct mv_vm_config cfg;
	struct mv_err err = { "" };
	struct vmhandle *h;

	luaL_checktype(L, 1, LUA_TTABLE);
	mvlua__set_active_state(L);
	h = lua_newuserdatauv(L, sizeof(*h), 0);
	memset(h, 0, sizeof(*h));
	h->self_ref = LUA_NOREF;
	luaL_setmetatable(L, HANDLE_MT);
	read_config(L, 1, &cfg);
	snprintf(h->name, sizeof(h->name), "%s", cfg.name ? cfg.name : "?");
	if (vm__create(mvlua__loop(), &cfg, &h->vm, &err) < 0) {
		vm__config_free(&cfg);
		lua_pushnil(L);
		lua_pushstring(L, err.msg);
		return 2;
	}
	lua_pushvalue(L, -1);
	h->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	h->vm->listener = (struct mv_vm_listener){
		.event = on_vm_event, .console_line = on_console_line, .console_data = on_console_data,
		.hvc_line = on_hvc_line, .hvc_data = on_hvc_data, .opaque = h,
	};
	return 1;
}

static int push_result(lua_State *L, int ret, const struct mv_err *err)
{
	if (ret < 0) {
		lua_pushnil(L);
		lua_pushstring(L, err->msg);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_vm_start(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_err err = { "" };

	return push_result(L, vm__start(h->vm, &err), &err);
}

static int l_vm_pause(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_err err = { "" };

	return push_result(L, vm__pause(h->vm, &err), &err);
}

static int l_vm_resume(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_err err = { "" };

	return push_result(L, vm__resume(h->vm, &err), &err);
}

static int l_vm_reset(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_err err = { "" };

	return push_result(L, vm__reset(h->vm, &err), &err);
}

static int l_vm_power_button(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_err err = { "" };

	return push_result(L, vm__power_button(h->vm, &err), &err);
}

static int l_vm_dump_memory(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	const char *path = luaL_checkstring(L, 2);
	struct mv_err err = { "" };

	return push_result(L, vm__dump_memory(h->vm, path, &err), &err);
}

static int l_vm_kill(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);

	vm__kill(h->vm, MV_STOP_KILLED, 0);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_vm_state(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);

	lua_pushstring(L, vm__state_name(h->vm->state));
	return 1;
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static int l_vm_info(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_vm *vm = h->vm;
	uint64_t exits[MV_EXIT__COUNT];

	lua_createtable(L, 0, 10);
	lua_pushstring(L, vm->cfg.name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, vm__state_name(vm->state));
	lua_setfield(L, -2, "state");
	set_int(L, "cpus", vm->cfg.cpus);
	set_int(L, "memory", (lua_Integer)vm->cfg.memory);
	set_int(L, "boots", vm->boots);
	lua_pushnumber(L, vm->state == MV_VM_RUNNING || vm->state == MV_VM_PAUSED
				  ? ev_now(vm->loop->ev) - vm->start_time : 0);
	lua_setfield(L, -2, "uptime");
	if (vm->state == MV_VM_STOPPED) {
		lua_pushstring(L, vm__stop_reason_name(vm->stop_reason));
		lua_setfield(L, -2, "stop_reason");
	}
	vm__exit_counts(vm, exits);
	lua_createtable(L, 0, MV_EXIT__COUNT);
	for (int k = 0; k < MV_EXIT__COUNT; k++)
		set_int(L, vm__exit_kind_name(k), (lua_Integer)exits[k]);
	lua_setfield(L, -2, "exits");
	return 1;
}

struct range_list {
	lua_State *L;
	const char *bus;
};

static void push_range(void *opaque, const struct mv_iorange *r)
{
	struct range_list *rl = opaque;
	lua_State *L = rl->L;

	lua_createtable(L, 0, 5);
	lua_pushstring(L, r->name ? r->name : "?");
	lua_setfield(L, -2, "id");
	lua_pushstring(L, rl->bus);
	lua_setfield(L, -2, "bus");
	set_int(L, "base", (lua_Integer)r->base);
	set_int(L, "size", (lua_Integer)r->len);
	set_int(L, "accesses", (lua_Integer)r->accesses);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* core.vm_ranges(h) -> { {id, bus = "pio"|"mmio", base, size, accesses} }:
 * the I/O ranges of the running machine (empty when stopped). */
static int l_vm_ranges(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_machine *m = h->vm->machine;
	struct range_list rl = { L, "pio" };

	lua_newtable(L);
	if (!m)
		return 1;
	iobus__foreach(&m->pio, push_range, &rl);
	rl.bus = "mmio";
	iobus__foreach(&m->mmio, push_range, &rl);
	return 1;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
	if (v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
	}
}

static void set_bool(lua_State *L, const char *k, bool v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* .queues = { {index, size, ready, ...} } for virtio devices (see struct
 * mv_queue_info); last_avail only where moonvisor serves the queue. */
static void push_queues(lua_State *L, const struct mv_pci_info *in)
{
	if (!in->nqueues)
		return;
	lua_createtable(L, (int)in->nqueues, 0);
	for (unsigned int i = 0; i < in->nqueues; i++) {
		const struct mv_queue_info *q = &in->queues[i];

		lua_createtable(L, 0, 14);
		set_int(L, "index", i);
		set_int(L, "size", q->size);
		set_bool(L, "ready", q->ready);
		set_bool(L, "vhost", q->in_kernel);
		set_int(L, "avail_idx", q->avail_idx);
		set_int(L, "used_idx", q->used_idx);
		if (!q->in_kernel)
			set_int(L, "last_avail", q->last_avail);
		if (q->event_idx) {
			set_int(L, "used_event", q->used_event);
			set_int(L, "avail_event", q->avail_event);
		} else {
			set_bool(L, "no_interrupt", q->no_interrupt);
		}
		if (q->vector != 0xFFFF) {
			set_int(L, "vector", q->vector);
			set_bool(L, "vector_masked", q->vector_masked);
			set_bool(L, "irq_pending", q->irq_pending);
		}
		set_bool(L, "kick_pending", q->kick_pending);
		if (!q->in_kernel) {
			set_int(L, "kicks", (lua_Integer)q->kicks);
			set_int(L, "avail_at_kick", q->avail_at_kick);
			set_int(L, "irqs", (lua_Integer)q->irqs);
			set_int(L, "used_at_irq", q->used_at_irq);
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "queues");
}

static void push_pci_dev(lua_State *L, unsigned int slot, struct mv_pci_dev *dev)
{
	struct mv_pci_info in = { 0 };
	char addr[16];

	if (dev->ops && dev->ops->info)
		dev->ops->info(dev, &in);
	lua_createtable(L, 0, 8);
	snprintf(addr, sizeof(addr), "0000:00:%02x.0", slot);
	set_str(L, "pci", addr);
	set_str(L, "id", in.id ? in.id : dev->name);
	set_str(L, "type", in.type);
	set_int(L, "vendor", pci__get16(dev, PCI_VENDOR_ID));
	set_int(L, "device", pci__get16(dev, PCI_DEVICE_ID));
	set_int(L, "requests", (lua_Integer)in.requests);
	set_int(L, "bytes", (lua_Integer)in.bytes);
	set_int(L, "errors", (lua_Integer)in.errors);
	if (in.has_rxtx) {
		set_int(L, "rx_packets", (lua_Integer)in.rx_packets);
		set_int(L, "rx_bytes", (lua_Integer)in.rx_bytes);
		set_int(L, "tx_packets", (lua_Integer)in.tx_packets);
		set_int(L, "tx_bytes", (lua_Integer)in.tx_bytes);
	}
	push_queues(L, &in);
	lua_newtable(L);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct mv_pci_bar *b = &dev->bars[i];

		if (!b->size)
			continue;
		lua_createtable(L, 0, 4);
		set_str(L, "bus", b->flags & PCI_BAR_IO ? "pio" : "mmio");
		set_int(L, "base", (lua_Integer)pci__bar_addr(dev, i));
		set_int(L, "size", (lua_Integer)b->size);
		lua_pushboolean(L, b->mapped);
		lua_setfield(L, -2, "mapped");
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	}
	lua_setfield(L, -2, "bars");
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* core.vm_pci_devices(h) -> { {pci = "0000:00:NN.0", id, type, vendor,
 * device, requests, bytes, errors, bars = { {bus, base, size, mapped} }} }
 * for the devices plugged into the running machine's slots 1-31. */
static int l_vm_pci_devices(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	struct mv_machine *m = h->vm->machine;

	lua_newtable(L);
	if (!m || !m->pci)
		return 1;
	for (unsigned int s = 1; s < PCI_HOST_SLOTS; s++) {
		struct mv_pci_dev *dev = pci_host__slot(m->pci, s);

		if (dev)
			push_pci_dev(L, s, dev);
	}
	return 1;
}

static void push_line(void *opaque, const char *line, size_t len)
{
	lua_State *L = opaque;

	lua_pushlstring(L, line, len);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* The console a core.vm_console_* call is about: argument idx "hvc" for
 * hvc0 (the virtio console), absent for the serial console. */
static struct mv_console *which_console(lua_State *L, struct vmhandle *h, int idx)
{
	if (lua_isnoneornil(L, idx))
		return h->vm->console;
	if (strcmp(luaL_checkstring(L, idx), "hvc") != 0)
		luaL_argerror(L, idx, "expected \"hvc\" or nothing");
	if (!h->vm->hvc)
		luaL_error(L, "vm '%s' has no virtio console", h->name);
	return h->vm->hvc;
}

static int l_vm_console_tail(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	lua_Integer n = luaL_optinteger(L, 2, 20);
	struct mv_console *c = which_console(L, h, 3);

	luaL_argcheck(L, n >= 0, 2, "must be >= 0");
	console__flush(c);
	lua_newtable(L);
	console__tail(c, (size_t)n, push_line, L);
	return 1;
}

static int l_vm_console_write(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);
	struct mv_console *c = which_console(L, h, 3);

	if (console__send(c, s, len) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, "console input buffer is full: the guest is not reading");
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_vm_console_partial(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);
	size_t len;
	const char *p = console__partial(which_console(L, h, 2), &len);

	lua_pushlstring(L, p, len);
	return 1;
}

static int l_vm_console_watch(lua_State *L)
{
	struct vmhandle *h = check_handle(L, 1);

	if (which_console(L, h, 3) == h->vm->hvc)
		h->watch_hvc_data = lua_toboolean(L, 2);
	else
		h->watch_data = lua_toboolean(L, 2);
	return 0;
}

static void release(lua_State *L, struct vmhandle *h)
{
	if (h->vm) {
		vm__destroy(h->vm);
		h->vm = NULL;
	}
	if (h->self_ref != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, h->self_ref);
		h->self_ref = LUA_NOREF;
	}
}

static int l_vm_destroy(lua_State *L)
{
	struct vmhandle *h = luaL_checkudata(L, 1, HANDLE_MT);

	mvlua__set_active_state(L);
	release(L, h);
	return 0;
}

static int l_handle_gc(lua_State *L)
{
	struct vmhandle *h = luaL_checkudata(L, 1, HANDLE_MT);

	/* only reached once unreferenced: never while the VM exists, or at exit */
	if (h->vm)
		vm__destroy(h->vm);
	h->vm = NULL;
	return 0;
}

static int l_set_dispatch(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_pushvalue(L, 1);
	if (dispatch_ref != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, dispatch_ref);
	dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static int l_count_active(lua_State *L)
{
	lua_pushinteger(L, vm__count_active());
	return 1;
}

static int l_exit_status(lua_State *L)
{
	lua_pushinteger(L, vm__exit_status());
	return 1;
}

void mvlua__register_vm(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "vm_new", l_vm_new }, { "vm_start", l_vm_start }, { "vm_pause", l_vm_pause },
		{ "vm_resume", l_vm_resume }, { "vm_reset", l_vm_reset }, { "vm_kill", l_vm_kill },
		{ "vm_power_button", l_vm_power_button }, { "vm_dump_memory", l_vm_dump_memory },
		{ "vm_state", l_vm_state }, { "vm_info", l_vm_info }, { "vm_ranges", l_vm_ranges },
		{ "vm_pci_devices", l_vm_pci_devices }, { "vm_destroy", l_vm_destroy },
		{ "vm_console_tail", l_vm_console_tail }, { "vm_console_write", l_vm_console_write },
		{ "vm_console_partial", l_vm_console_partial }, { "vm_console_watch", l_vm_console_watch },
		{ "set_dispatch", l_set_dispatch }, { "count_active", l_count_active },
		{ "exit_status", l_exit_status }, { NULL, NULL },
	};

	if (luaL_newmetatable(L, HANDLE_MT)) {
		lua_pushcfunction(L, l_handle_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
	mvlua__register_vm_hotplug(L);
	mvlua__register_vm_memory(L);
}
