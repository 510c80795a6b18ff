/* Unit-test helpers around iasl (acpica-tools): disassemble an ACPI table
 * or AML blob and check that the listing compiles again. cmocka failures,
 * never skips: a missing iasl fails the test with how to install it. */
#ifndef MV_TESTS_IASL_H
#define MV_TESTS_IASL_H

#include <stddef.h>

#define IASL_LEGACY 0x1         /* iasl -dl: ASL 1.0 listing, else -d (ASL 2.0) */
#define IASL_ALLOW_WARNINGS 0x2 /* only errors fail the recompile */

/* The listing (malloc'ed; free it). */
char *iasl__disassemble(const void *table, size_t len, unsigned int flags);
/* Fails unless dsl contains what (prints the listing). */
void iasl__expect_in(const char *dsl, const char *what);
/* Drops comments and white space in place: the disassembler's layout is
 * not ours to test. */
void iasl__squeeze(char *s);

#endif
