/* seccomp filters, one allow-list per thread class (docs/security.md).
 *
 * Each thread installs its own filter (no TSYNC) once its set-up is done:
 * a vCPU thread right before its first KVM_RUN, the loop thread before the
 * event loop first runs (lua/sandbox.c). Threads inherit their creator's
 * filter, and filters stack: a vCPU thread started after the loop filter
 * runs under both, so the loop list is a superset of the vCPU list.
 *
 * Until seccomp__init is called (the Lua module in plain lua5.4, unit
 * tests) the mode is off and every seccomp__enter_* is a no-op. */
#ifndef MV_SECCOMP_H
#define MV_SECCOMP_H

#include <stdbool.h>

#include "core/compiler.h"
#include "core/err.h"

enum mv_seccomp_mode {
	MV_SECCOMP_OFF,
	MV_SECCOMP_LOG,  /* forbidden calls are allowed and logged by the kernel (audit) */
	MV_SECCOMP_ON,   /* forbidden calls kill the process (exit 128 + SIGSYS) */
};

/* The default of --seccomp: on, but log in AddressSanitizer builds, whose
 * exit-time leak check (LeakSanitizer) stops the threads with ptrace from
 * a cloned process, which no filter here allows. */
#if defined(__SANITIZE_ADDRESS__)
#define MV_SECCOMP_DEFAULT MV_SECCOMP_LOG
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MV_SECCOMP_DEFAULT MV_SECCOMP_LOG
#endif
#endif
#ifndef MV_SECCOMP_DEFAULT
#define MV_SECCOMP_DEFAULT MV_SECCOMP_ON
#endif

enum mv_seccomp_thread {
	MV_SECCOMP_LOOP,
	MV_SECCOMP_VCPU,
	/* I/O workers (device threads that wait on ioeventfds and process
	 * queues): call seccomp__enter(MV_SECCOMP_IO, name, ...) at the top of
	 * the thread, before touching guest memory. */
	MV_SECCOMP_IO,
};

/* "on", "log", "off" -> mode; -EINVAL otherwise. */
int seccomp__parse_mode(const char *s, enum mv_seccomp_mode *mode) MV_MUST_CHECK;
const char *seccomp__mode_name(enum mv_seccomp_mode mode);

/* Main thread, before any other thread exists: sets the mode, installs the
 * SIGSYS handler, resolves syscall names for it and reads the test hook
 * MV_TEST_SECCOMP_VIOLATE (docs/security.md). */
int seccomp__init(enum mv_seccomp_mode mode, struct mv_err *err) MV_MUST_CHECK;
enum mv_seccomp_mode seccomp__mode(void);

/* The calling thread's filter for its class; name ("loop", "mv-vcpu0")
 * is what a violation report calls the thread. Returns 0 at once when
 * the mode is off. */
int seccomp__enter(enum mv_seccomp_thread cls, const char *name, struct mv_err *err) MV_MUST_CHECK;

/* Test hook: if MV_TEST_SECCOMP_VIOLATE names this thread ("loop" or
 * "vcpu", which means vCPU 0), makes a forbidden system call (an execve
 * that cannot succeed). Called right after seccomp__enter. */
void seccomp__test_violation(const char *which);

/* core/seccomp_rules.c: adds the allow-list of cls to ctx. */
int seccomp_rules__add(void *ctx, enum mv_seccomp_thread cls, enum mv_seccomp_mode mode) MV_MUST_CHECK;

#endif
