/* AML operators, operation regions and mutexes: opcodes without a
 * PkgLength (ACPI 6.x sections 19.6 and 20.2.5). */
#include "core/x86/aml.h"

#include <errno.h>

enum {
	RETURN_OP = 0xA4, STORE_OP = 0x70, NOTIFY_OP = 0x86, LEQUAL_OP = 0x93, LLESS_OP = 0x95,
	LGREATER_OP = 0x94, LAND_OP = 0x90, LOR_OP = 0x91, LNOT_OP = 0x92, ADD_OP = 0x72,
	SUBTRACT_OP = 0x74, AND_OP = 0x7B, OR_OP = 0x7D, SHIFT_LEFT_OP = 0x79, SHIFT_RIGHT_OP = 0x7A,
	INCREMENT_OP = 0x75, DECREMENT_OP = 0x76, INDEX_OP = 0x88, DEREF_OF_OP = 0x83,
	CREATE_DWORD_FIELD_OP = 0x8A, CREATE_QWORD_FIELD_OP = 0x8F,
	EXT_OP_PREFIX = 0x5B,
	/* after EXT_OP_PREFIX */
	MUTEX_OP = 0x01, ACQUIRE_OP = 0x23, RELEASE_OP = 0x27, OPREGION_OP = 0x80,
};

void aml__return(struct mv_aml *a) { aml__u8(a, RETURN_OP); }
void aml__store(struct mv_aml *a) { aml__u8(a, STORE_OP); }
void aml__notify(struct mv_aml *a) { aml__u8(a, NOTIFY_OP); }
void aml__lequal(struct mv_aml *a) { aml__u8(a, LEQUAL_OP); }
void aml__lless(struct mv_aml *a) { aml__u8(a, LLESS_OP); }
void aml__lgreater(struct mv_aml *a) { aml__u8(a, LGREATER_OP); }
void aml__land(struct mv_aml *a) { aml__u8(a, LAND_OP); }
void aml__lor(struct mv_aml *a) { aml__u8(a, LOR_OP); }
void aml__lnot(struct mv_aml *a) { aml__u8(a, LNOT_OP); }
void aml__add(struct mv_aml *a) { aml__u8(a, ADD_OP); }
void aml__subtract(struct mv_aml *a) { aml__u8(a, SUBTRACT_OP); }
void aml__and(struct mv_aml *a) { aml__u8(a, AND_OP); }
void aml__or(struct mv_aml *a) { aml__u8(a, OR_OP); }
void aml__shift_left(struct mv_aml *a) { aml__u8(a, SHIFT_LEFT_OP); }
void aml__shift_right(struct mv_aml *a) { aml__u8(a, SHIFT_RIGHT_OP); }
void aml__increment(struct mv_aml *a) { aml__u8(a, INCREMENT_OP); }
void aml__decrement(struct mv_aml *a) { aml__u8(a, DECREMENT_OP); }
void aml__index(struct mv_aml *a) { aml__u8(a, INDEX_OP); }
void aml__derefof(struct mv_aml *a) { aml__u8(a, DEREF_OF_OP); }
void aml__create_dword_field(struct mv_aml *a) { aml__u8(a, CREATE_DWORD_FIELD_OP); }
void aml__create_qword_field(struct mv_aml *a) { aml__u8(a, CREATE_QWORD_FIELD_OP); }

/* --- operation regions and mutexes --- */

static void ext_op(struct mv_aml *a, uint8_t op)
{
	aml__u8(a, EXT_OP_PREFIX);
	aml__u8(a, op);
}

void aml__opregion(struct mv_aml *a, const char *name, enum mv_aml_region_space space, uint64_t offset,
		   uint64_t len)
{
	ext_op(a, OPREGION_OP);
	aml__path(a, name);
	aml__u8(a, (uint8_t)space);
	aml__int(a, offset);
	aml__int(a, len);
}

void aml__mutex(struct mv_aml *a, const char *name, uint8_t sync_level)
{
	if (sync_level > 15)
		aml__fail(a, -EINVAL);
	ext_op(a, MUTEX_OP);
	aml__path(a, name);
	aml__u8(a, sync_level & 0x0F);
}

void aml__acquire(struct mv_aml *a, const char *name, uint16_t timeout_ms)
{
	ext_op(a, ACQUIRE_OP);
	aml__path(a, name);
	aml__u16(a, timeout_ms);
}

void aml__release(struct mv_aml *a, const char *name)
{
	ext_op(a, RELEASE_OP);
	aml__path(a, name);
}
