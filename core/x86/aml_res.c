/* Resource template descriptors for _CRS/_PRS (ACPI 6.x section 6.4). */
#include "core/x86/aml.h"

#include <errno.h>

size_t aml__restemplate_begin(struct mv_aml *a)
{
	return aml__buffer_begin(a);
}

void aml__restemplate_end(struct mv_aml *a, size_t at)
{
	aml__u8(a, 0x79); /* EndTag, small item 0xF, length 1 */
	aml__u8(a, 0x00); /* checksum: 0 means "treat as correct" */
	aml__buffer_end(a, at);
}

void aml__res_io(struct mv_aml *a, uint16_t base, uint8_t len)
{
	aml__u8(a, 0x47); /* I/O port, small item 0x8, length 7 */
	aml__u8(a, 0x01); /* decodes 16 bit addresses */
	aml__u16(a, base);
	aml__u16(a, base);
	aml__u8(a, 1);
	aml__u8(a, len);
}

void aml__res_irq_noflags(struct mv_aml *a, uint8_t irq)
{
	if (irq > 15)
		aml__fail(a, -EINVAL);
	aml__u8(a, 0x22); /* IRQ, small item 0x4, length 2 */
	aml__u16(a, (uint16_t)(1u << (irq & 15)));
}

void aml__res_irq(struct mv_aml *a, uint8_t irq, uint8_t flags)
{
	uint8_t info = (uint8_t)((flags & AML_IRQ_EDGE ? 0x01 : 0) | (flags & AML_IRQ_ACTIVE_LOW ? 0x08 : 0) |
				 (flags & AML_IRQ_SHARED ? 0x10 : 0) | (flags & AML_IRQ_WAKE ? 0x20 : 0));

	if (irq > 15)
		aml__fail(a, -EINVAL);
	aml__u8(a, 0x23); /* IRQ, small item 0x4, length 3 */
	aml__u16(a, (uint16_t)(1u << (irq & 15)));
	aml__u8(a, info);
}

void aml__res_ext_irq(struct mv_aml *a, uint32_t gsi, uint8_t flags)
{
	uint8_t info = (uint8_t)(0x01 /* consumer */ | (flags & AML_IRQ_EDGE ? 0x02 : 0) |
				 (flags & AML_IRQ_ACTIVE_LOW ? 0x04 : 0) | (flags & AML_IRQ_SHARED ? 0x08 : 0) |
				 (flags & AML_IRQ_WAKE ? 0x10 : 0));

	aml__u8(a, 0x89); /* Extended Interrupt, large item 0x9 */
	aml__u16(a, 6);
	aml__u8(a, info);
	aml__u8(a, 1); /* one interrupt */
	aml__u32(a, gsi);
}

void aml__res_mem32_fixed(struct mv_aml *a, uint32_t base, uint32_t len, bool rw)
{
	aml__u8(a, 0x86); /* 32-bit Fixed Memory Range, large item 0x6 */
	aml__u16(a, 9);
	aml__u8(a, rw ? 1 : 0);
	aml__u32(a, base);
	aml__u32(a, len);
}

static void put_value(struct mv_aml *a, uint64_t v, unsigned int width)
{
	if (width == 2)
		aml__u16(a, (uint16_t)v);
	else if (width == 4)
		aml__u32(a, (uint32_t)v);
	else
		aml__u64(a, v);
}

/* Word/DWord/QWord Address Space Descriptor: `width` bytes per value. */
static void res_addr(struct mv_aml *a, uint8_t tag, unsigned int width, const struct mv_aml_addr *r)
{
	const uint64_t v[] = { r->granularity, r->min, r->max, r->translation, r->length };
	uint64_t lim = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
	unsigned int i;

	aml__u8(a, tag);
	aml__u16(a, (uint16_t)(3 + 5 * width));
	aml__u8(a, (uint8_t)r->space);
	aml__u8(a, r->flags & 0x0F);
	aml__u8(a, r->type_flags);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		if (v[i] > lim)
			aml__fail(a, -EINVAL);
		put_value(a, v[i], width);
	}
}

void aml__res_word(struct mv_aml *a, const struct mv_aml_addr *r)
{
	res_addr(a, 0x88, 2, r);
}

void aml__res_dword(struct mv_aml *a, const struct mv_aml_addr *r)
{
	res_addr(a, 0x87, 4, r);
}

void aml__res_qword(struct mv_aml *a, const struct mv_aml_addr *r)
{
	res_addr(a, 0x8A, 8, r);
}

static void res_range(struct mv_aml *a, enum mv_aml_addr_space space, uint8_t type_flags, uint64_t min,
		      uint64_t max)
{
	struct mv_aml_addr r = {
		.space = space, .flags = AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED, .type_flags = type_flags,
		.min = min, .max = max, .length = max - min + 1,
	};

	if (max < min || (min == 0 && max == UINT64_MAX)) {
		aml__fail(a, -EINVAL);
		return;
	}
	if (max <= UINT16_MAX && space != AML_ADDR_MEMORY)
		aml__res_word(a, &r);
	else if (max <= UINT32_MAX)
		aml__res_dword(a, &r);
	else
		aml__res_qword(a, &r);
}

void aml__res_bus(struct mv_aml *a, uint16_t min, uint16_t max)
{
	res_range(a, AML_ADDR_BUS, 0, min, max);
}

void aml__res_io_range(struct mv_aml *a, uint16_t min, uint16_t max)
{
	res_range(a, AML_ADDR_IO, AML_IO_ENTIRE_RANGE, min, max);
}

void aml__res_mem(struct mv_aml *a, uint64_t base, uint64_t size, uint8_t type_flags)
{
	if (!size || base + size - 1 < base) {
		aml__fail(a, -EINVAL);
		return;
	}
	res_range(a, AML_ADDR_MEMORY, type_flags, base, base + size - 1);
}
