/* AML byte-code emitter: the buffer, encodings, names and PkgLength
 * objects. Encodings follow ACPI 6.x section 20.2 (AML grammar). */
#include "core/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0A, WORD_PREFIX = 0x0B,
	DWORD_PREFIX = 0x0C, STRING_PREFIX = 0x0D, QWORD_PREFIX = 0x0E, SCOPE_OP = 0x10,
	BUFFER_OP = 0x11, PACKAGE_OP = 0x12, METHOD_OP = 0x14, DUAL_NAME_PREFIX = 0x2E,
	MULTI_NAME_PREFIX = 0x2F, EXT_OP_PREFIX = 0x5B, ROOT_CHAR = 0x5C, PARENT_PREFIX = 0x5E,
	LOCAL0_OP = 0x60, ARG0_OP = 0x68, IF_OP = 0xA0, ELSE_OP = 0xA1, WHILE_OP = 0xA2, ONES_OP = 0xFF,
	/* after EXT_OP_PREFIX */
	FIELD_OP = 0x81, DEVICE_OP = 0x82,
};

void aml__fail(struct mv_aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static bool reserve(struct mv_aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *p;

	if (a->err)
		return false;
	if (n > SIZE_MAX / 4 - a->len) {
		aml__fail(a, -ENOMEM);
		return false;
	}
	while (cap < a->len + n)
		cap *= 2;
	if (cap == a->cap)
		return true;
	p = realloc(a->buf, cap);
	if (!p) {
		aml__fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml__init(struct mv_aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml__free(struct mv_aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

const uint8_t *aml__bytes(const struct mv_aml *a)
{
	return a->buf;
}

size_t aml__len(const struct mv_aml *a)
{
	return a->len;
}

int aml__error(const struct mv_aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : 0;
}

void aml__raw(struct mv_aml *a, const void *data, size_t len)
{
	if (!len || !reserve(a, len))
		return;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

void aml__u8(struct mv_aml *a, uint8_t v)
{
	aml__raw(a, &v, 1);
}

static void put_le(struct mv_aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml__raw(a, b, n);
}

void aml__u16(struct mv_aml *a, uint16_t v)
{
	put_le(a, v, 2);
}

void aml__u32(struct mv_aml *a, uint32_t v)
{
	put_le(a, v, 4);
}

void aml__u64(struct mv_aml *a, uint64_t v)
{
	put_le(a, v, 8);
}

void aml__align(struct mv_aml *a, size_t align)
{
	static const uint8_t zeros[64];

	if (!align || (align & (align - 1))) {
		aml__fail(a, -EINVAL);
		return;
	}
	while (!a->err && a->len % align)
		aml__raw(a, zeros, MIN(align - a->len % align, sizeof(zeros)));
}

void aml__patch(struct mv_aml *a, size_t off, const void *data, size_t len)
{
	if (a->err)
		return;
	if (off > a->len || len > a->len - off) {
		aml__fail(a, -EINVAL);
		return;
	}
	memcpy(a->buf + off, data, len);
}

static void insert(struct mv_aml *a, size_t at, const void *data, size_t n)
{
	if (!reserve(a, n))
		return;
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, data, n);
	a->len += n;
}

/* begin/end bookkeeping: every end must close the innermost begin. */
static size_t push(struct mv_aml *a)
{
	if (a->depth == AML_MAX_DEPTH)
		aml__fail(a, -EINVAL);
	else
		a->open[a->depth++] = a->len;
	return a->len;
}

static bool pop(struct mv_aml *a, size_t at)
{
	if (!a->depth || a->open[a->depth - 1] != at || at > a->len) {
		aml__fail(a, -EINVAL);
		return false;
	}
	a->depth--;
	return !a->err;
}

/* --- table header --- */

static void put_id(struct mv_aml *a, const char *s, size_t n)
{
	char b[8] = { 0 };

	if (strlen(s) != n)
		aml__fail(a, -EINVAL);
	memcpy(b, s, MIN(strlen(s), n));
	aml__raw(a, b, n);
}

size_t aml__table_begin(struct mv_aml *a, const char *sig, uint8_t revision)
{
	size_t at = push(a);

	put_id(a, sig, 4);
	aml__u32(a, 0); /* length */
	aml__u8(a, revision);
	aml__u8(a, 0); /* checksum */
	put_id(a, AML_OEM_ID, 6);
	put_id(a, AML_OEM_TABLE_ID, 8);
	aml__u32(a, AML_OEM_REVISION);
	put_id(a, AML_CREATOR_ID, 4);
	aml__u32(a, AML_CREATOR_REVISION);
	return at;
}

void aml__table_end(struct mv_aml *a, size_t at)
{
	uint32_t len;
	uint8_t sum = 0;
	size_t i;

	if (!pop(a, at))
		return;
	if (a->len - at < AML_TABLE_HEADER_LEN || a->len - at > UINT32_MAX) {
		aml__fail(a, -EINVAL);
		return;
	}
	len = (uint32_t)(a->len - at);
	for (i = 0; i < 4; i++)
		a->buf[at + 4 + i] = (uint8_t)(len >> (8 * i));
	a->buf[at + 9] = 0;
	for (i = at; i < a->len; i++)
		sum += a->buf[i];
	a->buf[at + 9] = (uint8_t)-sum;
}

/* --- encodings --- */

static const uint32_t pkglength_max[] = { 0x3F, 0xFFF, 0xFFFFF, 0xFFFFFFF };

static size_t encode_pkglength(uint8_t out[4], uint32_t v, unsigned int n)
{
	unsigned int i;

	if (n == 1) {
		out[0] = (uint8_t)v;
		return 1;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (v & 0x0F));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

void aml__pkglength(struct mv_aml *a, uint32_t value)
{
	uint8_t b[4];
	unsigned int n;

	for (n = 1; n <= 4; n++) {
		if (value <= pkglength_max[n - 1]) {
			aml__raw(a, b, encode_pkglength(b, value, n));
			return;
		}
	}
	aml__fail(a, -EINVAL);
}

/* Closes a PkgLength object: inserts at `at` the PkgLength covering itself,
 * `extra` and everything emitted since, then `extra`. */
static void pkg_end(struct mv_aml *a, size_t at, const uint8_t *extra, size_t nextra)
{
	uint8_t b[4 + 9];
	size_t body, n;

	if (!pop(a, at))
		return;
	body = a->len - at + nextra;
	for (n = 1; n <= 4; n++) {
		if (body + n <= pkglength_max[n - 1])
			break;
	}
	if (n > 4) {
		aml__fail(a, -EINVAL);
		return;
	}
	encode_pkglength(b, (uint32_t)(body + n), (unsigned int)n);
	if (nextra)
		memcpy(b + n, extra, nextra);
	insert(a, at, b, n + nextra);
}

static size_t encode_int(uint8_t out[9], uint64_t v)
{
	static const uint8_t prefix[] = { BYTE_PREFIX, WORD_PREFIX, 0, DWORD_PREFIX, 0, 0, 0, QWORD_PREFIX };
	unsigned int i, n;

	if (v == 0 || v == 1 || v == UINT64_MAX) {
		out[0] = v == 0 ? ZERO_OP : v == 1 ? ONE_OP : ONES_OP;
		return 1;
	}
	n = v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : v <= UINT32_MAX ? 4 : 8;
	out[0] = prefix[n - 1];
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml__int(struct mv_aml *a, uint64_t v)
{
	uint8_t b[9];

	aml__raw(a, b, encode_int(b, v));
}

void aml__zero(struct mv_aml *a)
{
	aml__u8(a, ZERO_OP);
}

void aml__one(struct mv_aml *a)
{
	aml__u8(a, ONE_OP);
}

void aml__ones(struct mv_aml *a)
{
	aml__u8(a, ONES_OP);
}

void aml__string(struct mv_aml *a, const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		if ((unsigned char)*p > 0x7F) {
			aml__fail(a, -EINVAL);
			return;
		}
	}
	aml__u8(a, STRING_PREFIX);
	aml__raw(a, s, strlen(s) + 1);
}

int aml__eisaid_encode(const char *id, uint32_t *out)
{
	uint32_t v = 0;
	unsigned int i;

	if (strlen(id) != 7)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		const char *hex = "0123456789ABCDEF", *d = id[i] ? strchr(hex, id[i]) : NULL;
		if (!d)
			return -EINVAL;
		v = (v << 4) | (uint32_t)(d - hex);
	}
	/* the 32-bit id is stored big-endian: swap for a little-endian DWord */
	*out = __builtin_bswap32(v);
	return 0;
}

void aml__eisaid(struct mv_aml *a, const char *id)
{
	uint32_t v;

	if (aml__eisaid_encode(id, &v) < 0) {
		aml__fail(a, -EINVAL);
		return;
	}
	aml__u8(a, DWORD_PREFIX);
	aml__u32(a, v);
}

void aml__local(struct mv_aml *a, unsigned int n)
{
	if (n > 7)
		aml__fail(a, -EINVAL);
	aml__u8(a, (uint8_t)(LOCAL0_OP + (n & 7)));
}

void aml__arg(struct mv_aml *a, unsigned int n)
{
	if (n > 6)
		aml__fail(a, -EINVAL);
	aml__u8(a, (uint8_t)(ARG0_OP + MIN(n, 6)));
}

/* --- names --- */

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

/* Length of the NameSeg at p (up to '.' or NUL), or 0 if it is invalid. */
static size_t seg_len(const char *p)
{
	size_t n;

	if (!lead_char(p[0]))
		return 0;
	for (n = 1; p[n] && p[n] != '.'; n++) {
		if (n == 4 || !(lead_char(p[n]) || (p[n] >= '0' && p[n] <= '9')))
			return 0;
	}
	return n;
}

static void put_seg(struct mv_aml *a, const char *p, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };

	memcpy(seg, p, n);
	aml__raw(a, seg, 4);
}

/* Counts the segments of a dotted path, 0 if it is invalid. */
static size_t count_segs(const char *p)
{
	size_t n = 0, len;

	for (;;) {
		len = seg_len(p);
		if (!len)
			return 0;
		n++;
		if (!p[len])
			return n;
		p += len + 1;
	}
}

void aml__path(struct mv_aml *a, const char *name)
{
	const char *p = name;
	size_t nsegs, len;

	if (*p == '\\') {
		aml__u8(a, ROOT_CHAR);
		p++;
	} else {
		for (; *p == '^'; p++)
			aml__u8(a, PARENT_PREFIX);
	}
	if (!*p && p != name) {
		aml__u8(a, 0); /* NullName */
		return;
	}
	nsegs = count_segs(p);
	if (!nsegs || nsegs > 255) {
		aml__fail(a, -EINVAL);
		return;
	}
	if (nsegs == 2) {
		aml__u8(a, DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml__u8(a, MULTI_NAME_PREFIX);
		aml__u8(a, (uint8_t)nsegs);
	}
	for (;;) {
		len = seg_len(p);
		put_seg(a, p, len);
		if (!p[len])
			break;
		p += len + 1;
	}
}

static void put_nameseg(struct mv_aml *a, const char *name)
{
	size_t len = seg_len(name);

	if (!len || name[len]) {
		aml__fail(a, -EINVAL);
		return;
	}
	put_seg(a, name, len);
}

/* --- named objects and blocks --- */

void aml__name(struct mv_aml *a, const char *name)
{
	aml__u8(a, NAME_OP);
	aml__path(a, name);
}

void aml__name_int(struct mv_aml *a, const char *name, uint64_t v)
{
	aml__name(a, name);
	aml__int(a, v);
}

void aml__name_string(struct mv_aml *a, const char *name, const char *s)
{
	aml__name(a, name);
	aml__string(a, s);
}

void aml__name_eisaid(struct mv_aml *a, const char *name, const char *id)
{
	aml__name(a, name);
	aml__eisaid(a, id);
}

static size_t block_begin(struct mv_aml *a, uint8_t op, const char *name)
{
	size_t at;

	if (op == DEVICE_OP || op == FIELD_OP)
		aml__u8(a, EXT_OP_PREFIX);
	aml__u8(a, op);
	at = push(a);
	if (name)
		aml__path(a, name);
	return at;
}

size_t aml__scope_begin(struct mv_aml *a, const char *name)
{
	return block_begin(a, SCOPE_OP, name);
}

void aml__scope_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

size_t aml__device_begin(struct mv_aml *a, const char *name)
{
	return block_begin(a, DEVICE_OP, name);
}

void aml__device_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

size_t aml__method_begin(struct mv_aml *a, const char *name, unsigned int nargs, bool serialized)
{
	size_t at = block_begin(a, METHOD_OP, name);

	if (nargs > 7)
		aml__fail(a, -EINVAL);
	aml__u8(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return at;
}

void aml__method_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

void aml__call(struct mv_aml *a, const char *name)
{
	aml__path(a, name);
}

size_t aml__package_begin(struct mv_aml *a, uint8_t nelems)
{
	size_t at = block_begin(a, PACKAGE_OP, NULL);

	aml__u8(a, nelems);
	return at;
}

void aml__package_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

size_t aml__buffer_begin(struct mv_aml *a)
{
	return block_begin(a, BUFFER_OP, NULL);
}

void aml__buffer_end(struct mv_aml *a, size_t at)
{
	uint8_t size[9];

	if (at > a->len) {
		aml__fail(a, -EINVAL);
		return;
	}
	pkg_end(a, at, size, encode_int(size, a->len - at));
}

void aml__buffer(struct mv_aml *a, const void *data, size_t len)
{
	size_t at = aml__buffer_begin(a);

	aml__raw(a, data, len);
	aml__buffer_end(a, at);
}

size_t aml__if_begin(struct mv_aml *a)
{
	return block_begin(a, IF_OP, NULL);
}

void aml__if_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

size_t aml__else_begin(struct mv_aml *a)
{
	return block_begin(a, ELSE_OP, NULL);
}

void aml__else_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

size_t aml__while_begin(struct mv_aml *a)
{
	return block_begin(a, WHILE_OP, NULL);
}

void aml__while_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}

/* --- fields --- */

size_t aml__field_begin(struct mv_aml *a, const char *region, uint8_t flags)
{
	size_t at = block_begin(a, FIELD_OP, region);

	if ((flags & 0x0F) > AML_FIELD_QWORD_ACC || (flags & 0x60) == 0x60 || (flags & 0x80))
		aml__fail(a, -EINVAL);
	aml__u8(a, flags);
	a->field_bits = 0;
	return at;
}

void aml__field_entry(struct mv_aml *a, const char *name, uint32_t bits)
{
	if (!bits)
		aml__fail(a, -EINVAL);
	put_nameseg(a, name);
	aml__pkglength(a, bits);
	a->field_bits += bits;
}

void aml__field_skip(struct mv_aml *a, uint32_t bits)
{
	if (!bits)
		return;
	aml__u8(a, 0x00); /* ReservedField */
	aml__pkglength(a, bits);
	a->field_bits += bits;
}

void aml__field_offset(struct mv_aml *a, uint32_t byte_offset)
{
	uint64_t bits = (uint64_t)byte_offset * 8;

	if (bits < a->field_bits || bits - a->field_bits > pkglength_max[3]) {
		aml__fail(a, -EINVAL);
		return;
	}
	aml__field_skip(a, (uint32_t)(bits - a->field_bits));
}

void aml__field_end(struct mv_aml *a, size_t at)
{
	pkg_end(a, at, NULL, 0);
}
