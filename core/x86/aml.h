/* An AML byte-code emitter (ACPI 6.x, section 20.2) and a little byte buffer
 * for whole ACPI tables.
 *
 * Everything appends to a growable buffer. Nothing fails on the spot: the
 * first error (allocation failure, a bad name, a value that does not fit,
 * an unbalanced begin/end) is remembered and reported by aml__error(),
 * checked once at the end.
 *
 * Objects with a PkgLength come in begin/end pairs; the length is computed
 * and inserted when the end is emitted:
 *
 *	size_t sb = aml__scope_begin(a, "\\_SB_");
 *	size_t dev = aml__device_begin(a, "COM1");
 *	aml__name_eisaid(a, "_HID", "PNP0501");
 *	aml__device_end(a, dev);
 *	aml__scope_end(a, sb);
 *
 * Operators are emitted in prefix order, as AML stores them: the function
 * emits the opcode, the caller then emits the operands in the order given
 * in the comment. `Store (Local0, \FOO)` is
 *
 *	aml__store(a); aml__local(a, 0); aml__path(a, "\\FOO");
 *
 * A "target" operand is a name, LocalN/ArgN, or aml__zero() for none.
 *
 * Names are ASL-style strings: "\\" root prefix, "^" parent prefixes, then
 * dot-separated segments of 1-4 chars [A-Z_][A-Z0-9_]* (padded with '_':
 * "S8" is "S8__").
 *
 * aml.c: buffer, encodings, names, PkgLength objects; aml_ops.c: operators,
 * regions, mutexes; aml_res.c: resource descriptors. */
#ifndef MV_X86_AML_H
#define MV_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

#define AML_MAX_DEPTH 32

struct mv_aml {
	uint8_t *buf;
	size_t len, cap;
	int err;                       /* first error, 0 if none */
	unsigned int depth;            /* open begin/end pairs */
	size_t open[AML_MAX_DEPTH];    /* their `at`, innermost last */
	uint32_t field_bits;           /* bit position inside the open Field */
};

void aml__init(struct mv_aml *a);
void aml__free(struct mv_aml *a);
const uint8_t *aml__bytes(const struct mv_aml *a);
size_t aml__len(const struct mv_aml *a);
/* 0, -ENOMEM, or -EINVAL (bad name or value, unbalanced begin/end). */
int aml__error(const struct mv_aml *a) MV_MUST_CHECK;
/* Records an error (keeps the first): for hooks that find bad input. */
void aml__fail(struct mv_aml *a, int err);

/* Raw little-endian data, for table bodies. */
void aml__raw(struct mv_aml *a, const void *data, size_t len);
void aml__u8(struct mv_aml *a, uint8_t v);
void aml__u16(struct mv_aml *a, uint16_t v);
void aml__u32(struct mv_aml *a, uint32_t v);
void aml__u64(struct mv_aml *a, uint64_t v);
/* Zero padding up to a multiple of `align` (a power of two). */
void aml__align(struct mv_aml *a, size_t align);
/* Overwrites already emitted bytes [off, off+len). */
void aml__patch(struct mv_aml *a, size_t off, const void *data, size_t len);

/* ACPI system description table header (36 bytes) with moonvisor's OEM
 * identity; end fills in the length and checksum. */
#define AML_OEM_ID "MOONVS"
#define AML_OEM_TABLE_ID "MOONVISR"
#define AML_OEM_REVISION 1
#define AML_CREATOR_ID "MVSR"
#define AML_CREATOR_REVISION 1
#define AML_TABLE_HEADER_LEN 36
size_t aml__table_begin(struct mv_aml *a, const char *sig, uint8_t revision);
void aml__table_end(struct mv_aml *a, size_t at);

/* Encodings. aml__pkglength emits `value` as a PkgLength as-is (1-4 bytes,
 * smallest form); it is also the bit width encoding inside a Field. */
void aml__pkglength(struct mv_aml *a, uint32_t value);
void aml__path(struct mv_aml *a, const char *name);
void aml__zero(struct mv_aml *a);
void aml__one(struct mv_aml *a);
void aml__ones(struct mv_aml *a);
/* Zero, One, Ones (UINT64_MAX) or the smallest Byte/Word/DWord/QWord const. */
void aml__int(struct mv_aml *a, uint64_t v);
void aml__string(struct mv_aml *a, const char *s);
/* "PNP0501" as a compressed EISA id DWord constant. */
void aml__eisaid(struct mv_aml *a, const char *id);
int aml__eisaid_encode(const char *id, uint32_t *out) MV_MUST_CHECK;
void aml__local(struct mv_aml *a, unsigned int n); /* Local0-7 */
void aml__arg(struct mv_aml *a, unsigned int n);   /* Arg0-6 */

/* Named objects and blocks. */
void aml__name(struct mv_aml *a, const char *name); /* then: the value */
void aml__name_int(struct mv_aml *a, const char *name, uint64_t v);
void aml__name_string(struct mv_aml *a, const char *name, const char *s);
void aml__name_eisaid(struct mv_aml *a, const char *name, const char *id);
size_t aml__scope_begin(struct mv_aml *a, const char *name);
void aml__scope_end(struct mv_aml *a, size_t at);
size_t aml__device_begin(struct mv_aml *a, const char *name);
void aml__device_end(struct mv_aml *a, size_t at);
size_t aml__method_begin(struct mv_aml *a, const char *name, unsigned int nargs, bool serialized);
void aml__method_end(struct mv_aml *a, size_t at);
/* A method call: the name, then its arguments. */
void aml__call(struct mv_aml *a, const char *name);
size_t aml__package_begin(struct mv_aml *a, uint8_t nelems); /* then: nelems objects */
void aml__package_end(struct mv_aml *a, size_t at);
size_t aml__buffer_begin(struct mv_aml *a); /* then: raw bytes; the size is computed */
void aml__buffer_end(struct mv_aml *a, size_t at);
void aml__buffer(struct mv_aml *a, const void *data, size_t len);
size_t aml__if_begin(struct mv_aml *a); /* then: predicate, body */
void aml__if_end(struct mv_aml *a, size_t at);
size_t aml__else_begin(struct mv_aml *a); /* right after an If's end */
void aml__else_end(struct mv_aml *a, size_t at);
size_t aml__while_begin(struct mv_aml *a); /* then: predicate, body */
void aml__while_end(struct mv_aml *a, size_t at);

/* Operators (operands follow, in this order; in aml_ops.c). */
void aml__return(struct mv_aml *a);   /* value */
void aml__store(struct mv_aml *a);    /* source, target */
void aml__notify(struct mv_aml *a);   /* object, value */
void aml__lequal(struct mv_aml *a);   /* x, y */
void aml__lless(struct mv_aml *a);    /* x, y */
void aml__lgreater(struct mv_aml *a); /* x, y */
void aml__land(struct mv_aml *a);     /* x, y */
void aml__lor(struct mv_aml *a);      /* x, y */
void aml__lnot(struct mv_aml *a);     /* x */
void aml__add(struct mv_aml *a);      /* x, y, target */
void aml__subtract(struct mv_aml *a); /* x, y, target */
void aml__and(struct mv_aml *a);      /* x, y, target */
void aml__or(struct mv_aml *a);       /* x, y, target */
void aml__shift_left(struct mv_aml *a);  /* x, count, target */
void aml__shift_right(struct mv_aml *a); /* x, count, target */
void aml__increment(struct mv_aml *a);   /* name */
void aml__decrement(struct mv_aml *a);   /* name */
void aml__index(struct mv_aml *a);    /* package/buffer, index, target */
void aml__derefof(struct mv_aml *a);  /* reference */
void aml__create_dword_field(struct mv_aml *a); /* buffer, byte index, then aml__path(new name) */
void aml__create_qword_field(struct mv_aml *a); /* buffer, byte index, then aml__path(new name) */

/* Operation regions (aml_ops.c) and fields. */
enum mv_aml_region_space {
	AML_SYSTEM_MEMORY = 0,
	AML_SYSTEM_IO = 1,
	AML_PCI_CONFIG = 2,
};
void aml__opregion(struct mv_aml *a, const char *name, enum mv_aml_region_space space, uint64_t offset,
		   uint64_t len);
/* Field flags: one access type, optionally Lock and an update rule. */
#define AML_FIELD_ANY_ACC 0x00
#define AML_FIELD_BYTE_ACC 0x01
#define AML_FIELD_WORD_ACC 0x02
#define AML_FIELD_DWORD_ACC 0x03
#define AML_FIELD_QWORD_ACC 0x04
#define AML_FIELD_LOCK 0x10
#define AML_FIELD_WRITE_AS_ONES 0x20
#define AML_FIELD_WRITE_AS_ZEROS 0x40
size_t aml__field_begin(struct mv_aml *a, const char *region, uint8_t flags);
void aml__field_entry(struct mv_aml *a, const char *name, uint32_t bits); /* one NameSeg */
void aml__field_skip(struct mv_aml *a, uint32_t bits);          /* unnamed bits */
void aml__field_offset(struct mv_aml *a, uint32_t byte_offset); /* ASL Offset(): forward only */
void aml__field_end(struct mv_aml *a, size_t at);

/* Synchronization. Acquire is an expression (true on timeout); 0xFFFF waits
 * forever. */
void aml__mutex(struct mv_aml *a, const char *name, uint8_t sync_level);
void aml__acquire(struct mv_aml *a, const char *name, uint16_t timeout_ms);
void aml__release(struct mv_aml *a, const char *name);

/* Resource templates (ACPI 6.x, 6.4; in aml_res.c): a Buffer of descriptors closed by an
 * EndTag with checksum 0. */
size_t aml__restemplate_begin(struct mv_aml *a);
void aml__restemplate_end(struct mv_aml *a, size_t at);
/* IO(Decode16, base, base, 1, len) */
void aml__res_io(struct mv_aml *a, uint16_t base, uint8_t len);
/* Interrupt flags for IRQ and Interrupt descriptors (default: level,
 * active-high, exclusive, not wake capable). */
#define AML_IRQ_EDGE 0x01
#define AML_IRQ_ACTIVE_LOW 0x02
#define AML_IRQ_SHARED 0x04
#define AML_IRQ_WAKE 0x08
void aml__res_irq_noflags(struct mv_aml *a, uint8_t irq); /* ISA IRQ 0-15, edge, active-high */
void aml__res_irq(struct mv_aml *a, uint8_t irq, uint8_t flags);
/* Interrupt(ResourceConsumer, ...) { gsi } */
void aml__res_ext_irq(struct mv_aml *a, uint32_t gsi, uint8_t flags);
/* Memory32Fixed(ReadWrite/ReadOnly, base, len) */
void aml__res_mem32_fixed(struct mv_aml *a, uint32_t base, uint32_t len, bool rw);

/* Address space descriptors: WordBusNumber, DWordMemory, QWordMemory, ... */
enum mv_aml_addr_space {
	AML_ADDR_MEMORY = 0,
	AML_ADDR_IO = 1,
	AML_ADDR_BUS = 2,
};
/* general flags */
#define AML_ADDR_CONSUMER 0x01  /* else ResourceProducer */
#define AML_ADDR_MIN_FIXED 0x04
#define AML_ADDR_MAX_FIXED 0x08
/* type-specific flags for AML_ADDR_MEMORY */
#define AML_MEM_RW 0x01
#define AML_MEM_CACHEABLE 0x02
#define AML_MEM_WRITE_COMBINING 0x04
#define AML_MEM_PREFETCHABLE 0x06
/* type-specific flags for AML_ADDR_IO */
#define AML_IO_ENTIRE_RANGE 0x03
struct mv_aml_addr {
	enum mv_aml_addr_space space;
	uint8_t flags;       /* AML_ADDR_* general flags */
	uint8_t type_flags;  /* AML_MEM_* or AML_IO_*, 0 for bus numbers */
	uint64_t granularity, min, max, translation, length;
};
void aml__res_word(struct mv_aml *a, const struct mv_aml_addr *r);
void aml__res_dword(struct mv_aml *a, const struct mv_aml_addr *r);
void aml__res_qword(struct mv_aml *a, const struct mv_aml_addr *r);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, ..., min, max, ...) */
void aml__res_bus(struct mv_aml *a, uint16_t min, uint16_t max);
/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...) */
void aml__res_io_range(struct mv_aml *a, uint16_t min, uint16_t max);
/* A producer memory window [base, base+size): DWordMemory if it lies below
 * 4 GiB, else QWordMemory. type_flags: AML_MEM_*. */
void aml__res_mem(struct mv_aml *a, uint64_t base, uint64_t size, uint8_t type_flags);

#endif
