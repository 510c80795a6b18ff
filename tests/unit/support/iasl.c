#include "tests/unit/support/iasl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_table(const char *dir, const void *table, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/table.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(table, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

char *iasl__disassemble(const void *table, size_t len, unsigned int flags)
{
	char dir[] = "/tmp/mv-iasl-test-XXXXXX", path[256], cmd[512], *dsl, *log;
	const char *clean = flags & IASL_ALLOW_WARNINGS ? " 0 Errors" : " 0 Errors, 0 Warnings";
	int rc;

	if (run("command -v iasl >/dev/null 2>&1") != 0)
		fail_msg("iasl not found: install acpica-tools (apt-get install acpica-tools)");
	assert_non_null(mkdtemp(dir));
	write_table(dir, table, len);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl %s table.dat >iasl.log 2>&1 && iasl -p recompiled table.dsl >>iasl.log 2>&1",
		 dir, flags & IASL_LEGACY ? "-dl" : "-d");
	rc = run(cmd);
	snprintf(path, sizeof(path), "%s/table.dsl", dir);
	dsl = read_text(path);
	snprintf(path, sizeof(path), "%s/iasl.log", dir);
	log = read_text(path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	if (rc != 0 || !dsl || !log || !strstr(log, clean) || strstr(dsl, "**** "))
		fail_msg("iasl failed (%d) or warned:\n%s\n%s", rc, log ? log : "", dsl ? dsl : "");
	free(log);
	return dsl;
}

void iasl__expect_in(const char *dsl, const char *what)
{
	if (!strstr(dsl, what)) {
		fprintf(stderr, "%s\n", dsl);
		fail_msg("disassembly lacks \"%s\"", what);
	}
}

void iasl__squeeze(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '/' && s[1] == '*') {
			char *end = strstr(s + 2, "*/");
			s = end ? end + 2 : s + strlen(s);
		} else if (s[0] == '/' && s[1] == '/') {
			s += strcspn(s, "\n");
		} else if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			s++;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}
