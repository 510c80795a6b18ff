/* seccomp: modes, per-thread installation and the violation report. The
 * allow-lists themselves are in core/seccomp_rules.c. */
#include "core/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define MAX_NAMED_SYSCALL 512
#define EXIT_SECCOMP (128 + SIGSYS)
/* cannot exist: /proc refuses new files, so the test execve always fails */
#define TEST_EXEC_PATH "/proc/self/moonvisor-seccomp-test"

static enum mv_seccomp_mode mode = MV_SECCOMP_OFF;
static const char *violate;                      /* MV_TEST_SECCOMP_VIOLATE */
static const char *syscall_names[MAX_NAMED_SYSCALL];
static struct termios saved_tio;                 /* restored before exiting */
static bool have_tio;
static _Thread_local char thread_name[16];

static const char *const mode_names[] = { "off", "log", "on" };

int seccomp__parse_mode(const char *s, enum mv_seccomp_mode *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum mv_seccomp_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *seccomp__mode_name(enum mv_seccomp_mode m)
{
	return (size_t)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

enum mv_seccomp_mode seccomp__mode(void)
{
	return mode;
}

/* ---- the SIGSYS handler: async-signal-safe only ---------------------- */

struct sbuf {
	char b[256];
	size_t n;
};

static void put(struct sbuf *s, const char *str)
{
	while (*str && s->n < sizeof(s->b))
		s->b[s->n++] = *str++;
}

static void put_num(struct sbuf *s, unsigned long v)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && s->n < sizeof(s->b))
		s->b[s->n++] = d[--i];
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	unsigned int nr = (unsigned int)si->si_syscall;
	struct sbuf s = { .n = 0 };
	ssize_t ignored;

	(void)sig;
	(void)uc;
	put(&s, "moonvisor: seccomp: thread ");
	put(&s, thread_name[0] ? thread_name : "(unnamed)");
	put(&s, " made a forbidden system call: ");
	if (si->si_arch == AUDIT_ARCH_X86_64 && nr < MAX_NAMED_SYSCALL && syscall_names[nr])
		put(&s, syscall_names[nr]);
	else
		put(&s, si->si_arch == AUDIT_ARCH_X86_64 ? "?" : "(foreign syscall ABI)");
	put(&s, " (");
	put_num(&s, nr);
	put(&s, "); moonvisor stops (exit 159; docs/security.md)\n");
	ignored = write(STDERR_FILENO, s.b, s.n);
	(void)ignored;
	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	_exit(EXIT_SECCOMP);
}

/* ---- set-up ------------------------------------------------------------ */

static void resolve_names(void)
{
	for (int nr = 0; nr < MAX_NAMED_SYSCALL; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

int seccomp__init(enum mv_seccomp_mode m, struct mv_err *err)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	const struct scmp_version *v;

	mode = m;
	violate = getenv("MV_TEST_SECCOMP_VIOLATE");
	if (mode == MV_SECCOMP_OFF)
		return 0;
	v = seccomp_version();
	if (seccomp_api_get() < 3)
		return err__set(err, -ENOTSUP,
				"seccomp: libseccomp %u.%u.%u or the kernel lacks what --seccomp=%s needs (API level %d < 3); "
				"--seccomp=off runs without filters",
				v->major, v->minor, v->micro, seccomp__mode_name(mode), seccomp_api_get());
	resolve_names();
	/* glibc reads /etc/localtime on the first gmtime_r/timegm (the RTC,
	 * on a vCPU thread, which may not open files): now, then */
	tzset();
	have_tio = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err__set(err, -errno, "seccomp: SIGSYS handler: %s", strerror(errno));
	return 0;
}

int seccomp__enter(enum mv_seccomp_thread cls, const char *name, struct mv_err *err)
{
	uint32_t def = mode == MV_SECCOMP_ON ? SCMP_ACT_TRAP : SCMP_ACT_LOG;
	scmp_filter_ctx ctx;
	int ret;

	snprintf(thread_name, sizeof(thread_name), "%s", name);
	if (mode == MV_SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(def);
	if (!ctx)
		return err__set(err, -ENOMEM, "seccomp: cannot create the %s filter", name);
	/* i386 (int 0x80) and x32 calls: the same fate as a forbidden call */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, def);
	if (!ret)
		ret = seccomp_rules__add(ctx, cls, mode);
	if (ret < 0) {
		err__set(err, ret, "seccomp: building the %s filter: %s", name, strerror(-ret));
		goto out;
	}
	ret = seccomp_load(ctx);
	if (ret < 0)
		err__set(err, ret, "seccomp: installing the %s filter: %s", name, strerror(-ret));
	else
		pr_debug("%s: seccomp filter installed (%s)", name, seccomp__mode_name(mode));
out:
	seccomp_release(ctx);
	return ret;
}

void seccomp__test_violation(const char *which)
{
	static char *const argv[] = { "moonvisor-seccomp-test", NULL };

	if (!violate || strcmp(violate, which) != 0)
		return;
	pr_warn("MV_TEST_SECCOMP_VIOLATE=%s: %s calls execve", violate, thread_name);
	syscall(SYS_execve, TEST_EXEC_PATH, argv, argv + 1);
}
