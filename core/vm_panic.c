/* Guest panics (the loop-thread side of a pvpanic write) and memory dumps:
 * see vm__on_machine_panic and vm__dump_memory in core/vm.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/machine.h"
#include "core/vm.h"
#include "devices/platform/pvpanic.h"

/* ---- guest panics ------------------------------------------------------ */

/* On stderr: the console from a few lines before the last "Kernel panic"
 * line in the last PANIC_SCAN_LINES (the oops or sysrq line that led to
 * it), else the last PANIC_TAIL_LINES. */
#define PANIC_SCAN_LINES 200
#define PANIC_TAIL_LINES 20
#define PANIC_LEAD_LINES 8

const char *vm__panic_kind(uint8_t events)
{
	return events & PVPANIC_PANICKED ? "panicked" : "crash_loaded";
}

struct panic_lines {
	struct mv_vm *vm;
	size_t n;          /* lines seen */
	size_t panic_at;   /* index of the last "Kernel panic" line + 1, or 0 */
	size_t print_from; /* second pass: first index printed */
};

static void find_panic_line(void *opaque, const char *line, size_t len)
{
	struct panic_lines *pl = opaque;
	const char *hit = memmem(line, len, "Kernel panic", 12);

	pl->n++;
	if (!hit)
		return;
	pl->panic_at = pl->n;
	snprintf(pl->vm->stop_message, sizeof(pl->vm->stop_message), "%.*s", (int)(len - (size_t)(hit - line)),
		 hit);
}

static void print_panic_line(void *opaque, const char *line, size_t len)
{
	struct panic_lines *pl = opaque;

	if (pl->n++ >= pl->print_from)
		fprintf(stderr, "  | %.*s\n", (int)MIN(len, (size_t)MV_CONSOLE_LINE_MAX), line);
}

/* The guest's panic message (its last console lines) on stderr, and the
 * "Kernel panic" line (if any) as vm->stop_message. */
static void report_panic(struct mv_vm *vm, const char *what)
{
	struct panic_lines pl = { vm, 0, 0, 0 };
	const struct mv_vm_panic *p = &vm->panic;

	snprintf(vm->stop_message, sizeof(vm->stop_message), "guest %s", vm__panic_kind(p->events));
	fprintf(stderr, "moonvisor: vm '%s': guest %s (pvpanic, vCPU %u", vm->cfg.name, vm__panic_kind(p->events),
		p->vcpu);
	if (p->have_regs)
		fprintf(stderr, ", rip 0x%llx", (unsigned long long)p->regs.rip);
	fprintf(stderr, "); no \"panic\" handler: %s. Guest console:\n", what);
	console__flush(vm->console);
	console__tail(vm->console, PANIC_SCAN_LINES, find_panic_line, &pl);
	if (pl.panic_at)
		pl.print_from = pl.panic_at > PANIC_LEAD_LINES ? pl.panic_at - 1 - PANIC_LEAD_LINES : 0;
	else
		pl.print_from = pl.n > PANIC_TAIL_LINES ? pl.n - PANIC_TAIL_LINES : 0;
	pl.n = 0;
	console__tail(vm->console, PANIC_SCAN_LINES, print_panic_line, &pl);
	fflush(stderr);
}

/* The parked guest runs again. */
static void let_go(struct mv_vm *vm)
{
	if (machine__resume(vm->machine, NULL) < 0)
		pr_warn("vm '%s': resuming after the panic failed", vm->cfg.name);
}

/* The default without a handler: the VM stops (exit status 2), for either
 * kind; a script that wants a loaded crash kernel (kdump) to run registers
 * a "panic" handler that leaves a "crash_loaded" guest alone. */
static void default_panic_policy(struct mv_vm *vm)
{
	report_panic(vm, "stopping the VM (exit status 2)");
	vm__set_stopped(vm, MV_STOP_PANIC, 0);
}

void vm__on_machine_panic(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;
	uint32_t generation = (uint32_t)data;
	bool handled;

	if (!vm__same_machine(vm, generation))
		return; /* a panic of a machine that is already gone */
	vm->panic = vm->machine->panic;
	console__flush(vm->console);
	/* the writer parked the vCPUs; wait until they are, and stop the
	 * guest clock (as vm:pause does) while the handlers run */
	if (machine__pause(vm->machine, NULL) < 0)
		pr_warn("vm '%s': parking the vCPUs after the panic failed", vm->cfg.name);
	vm->panic_hold = true;
	handled = vm->listener.event && vm->listener.event(vm->listener.opaque, vm, MV_EV_PANIC);
	if (!vm__alive(vm))
		return; /* the handler destroyed the VM */
	vm->panic_hold = false;
	if (!vm__same_machine(vm, generation))
		return; /* the handler reset or killed the VM */
	if (!handled)
		default_panic_policy(vm);
	else if (vm->state == MV_VM_RUNNING)
		let_go(vm); /* it reboots or halts as its cmdline says */
	if (vm__same_machine(vm, generation))
		atomic_store(&vm->machine->panic_pending, false);
}

/* ---- memory dumps ------------------------------------------------------ */

static int write_core(struct mv_vm *vm, int fd, struct mv_err *err)
{
	struct mv_machine *m = vm->machine;
	struct mv_elfcore_cpu *cpus = calloc(m->ncpus, sizeof(*cpus));
	int ret;

	if (!cpus)
		return err__set(err, -ENOMEM, "out of memory");
	machine__cpu_states(m, cpus);
	ret = elfcore__write(fd, &m->mem, cpus, m->ncpus, err);
	free(cpus);
	return ret;
}

/* Writes the core to a temporary file next to path (mode 0600), then
 * renames it over path. */
static int dump_to(struct mv_vm *vm, const char *path, struct mv_err *err)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 8);
	int fd, ret;

	if (!tmp)
		return err__set(err, -ENOMEM, "out of memory");
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".XXXXXX", 8);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = err__set(err, -errno, "cannot create %s: %s", path, strerror(errno));
		goto out_free;
	}
	ret = write_core(vm, fd, err);
	if (!ret && fsync(fd) < 0 && errno != EINVAL)
		ret = err__set(err, -errno, "writing %s: %s", path, strerror(errno));
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = err__set(err, -errno, "cannot create %s: %s", path, strerror(errno));
	if (ret < 0)
		unlink(tmp);
out_free:
	free(tmp);
	return ret;
}

int vm__dump_memory(struct mv_vm *vm, const char *path, struct mv_err *err)
{
	bool pause = vm->state == MV_VM_RUNNING && !vm->panic_hold;
	int ret;

	if (vm->state != MV_VM_RUNNING && vm->state != MV_VM_PAUSED)
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	if (pause) {
		ret = machine__pause(vm->machine, err);
		if (ret < 0)
			return ret;
	}
	ret = dump_to(vm, path, err);
	if (pause && machine__resume(vm->machine, err) < 0)
		pr_warn("vm '%s': resuming after the dump failed", vm->cfg.name);
	if (ret < 0)
		err__prefix(err, "vm '%s': dump_memory", vm->cfg.name);
	return ret;
}
