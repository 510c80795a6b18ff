/* Unpacking a bzImage on the host: the protected-mode payload of a bzImage
 * (boot protocol >= 2.08: payload_offset/payload_length) is the kernel's
 * vmlinux, compressed. When it is LZ4 (the "legacy" frame Linux's
 * CONFIG_KERNEL_LZ4 writes, as in Debian's amd64 kernels) it is
 * decompressed here with liblz4, and boot.c enters that vmlinux through
 * PVH instead of letting the guest decompress itself: in the nested test
 * VM that saves about 0.4 s of boot. Other compressions are left to the
 * guest (-ENOTSUP, not an error for the caller).
 *
 * The file is untrusted like any kernel: the payload must lie in the
 * file, every block's size within what is left, the output is bounded by
 * KUNPACK_MAX_OUT and by the size Linux appends to the payload, and the
 * result must add up to exactly that size. */
#include "core/x86/kimage.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/bootparams.h"

#define HDR_PAYLOAD_OFFSET 0x248       /* u32, from the start of the protected-mode code */
#define HDR_PAYLOAD_LENGTH 0x24c       /* u32 */
#define HDR_PROTOCOL_PAYLOAD 0x0208
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8u << 20)    /* a legacy block decompresses to at most 8 MiB */

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The payload's [off, off+len) in the file, checked. */
static int payload_range(const struct mv_kfile *kf, const struct mv_kimage *img, uint64_t *off, uint64_t *len,
			 struct mv_err *err)
{
	uint32_t poff = le32(img->head + HDR_PAYLOAD_OFFSET);
	uint32_t plen = le32(img->head + HDR_PAYLOAD_LENGTH);

	if (img->info.format != MV_KERNEL_BZIMAGE || img->info.protocol < HDR_PROTOCOL_PAYLOAD)
		return err__set(err, -ENOTSUP, "boot protocol older than 2.08 (no payload fields)");
	*off = (uint64_t)img->setup_size + poff;
	*len = plen;
	if (plen < 8 || *off > kf->size || *len > kf->size - *off)
		return err__set(err, -EINVAL, "payload (0x%x bytes at 0x%llx) is not inside the file", plen,
				(unsigned long long)*off);
	return 0;
}

/* Decompresses the LZ4 legacy stream in[0, n) into out[0, cap). The last
 * four bytes are the decompressed size Linux appends; streams may be
 * concatenated (the magic again between blocks). */
static int lz4_legacy(const uint8_t *in, uint64_t n, uint8_t *out, uint64_t cap, uint64_t *done,
		      struct mv_err *err)
{
	uint64_t pos = 4, end = n - 4;

	*done = 0;
	while (pos < end) {
		uint32_t blk;
		int got;

		if (end - pos < 4)
			return err__set(err, -EINVAL, "LZ4 block header cut at offset %llu", (unsigned long long)pos);
		blk = le32(in + pos);
		pos += 4;
		if (blk == LZ4_LEGACY_MAGIC)
			continue;
		if (blk == 0 || blk > end - pos || blk > LZ4_COMPRESSBOUND(LZ4_LEGACY_BLOCK))
			return err__set(err, -EINVAL, "LZ4 block of %u bytes at offset %llu does not fit the payload",
					blk, (unsigned long long)pos - 4);
		got = LZ4_decompress_safe((const char *)in + pos, (char *)out + *done, (int)blk,
					  (int)MIN(cap - *done, LZ4_LEGACY_BLOCK));
		if (got < 0)
			return err__set(err, -EINVAL, "LZ4 block at offset %llu is corrupt",
					(unsigned long long)pos - 4);
		*done += (uint64_t)got;
		pos += blk;
	}
	return 0;
}

static int decompress(const uint8_t *in, uint64_t n, void **out, size_t *out_len, struct mv_err *err)
{
	uint64_t want = le32(in + n - 4), done = 0;
	uint8_t *buf;
	int ret;

	if (le32(in) != LZ4_LEGACY_MAGIC)
		return err__set(err, -ENOTSUP, "payload is not LZ4 (magic %08x)", le32(in));
	if (want == 0 || want > KUNPACK_MAX_OUT)
		return err__set(err, -EINVAL, "payload claims %llu bytes unpacked, want 1 to %llu MiB",
				(unsigned long long)want, (unsigned long long)KUNPACK_MAX_OUT / MiB);
	buf = malloc(want);
	if (!buf)
		return err__set(err, -ENOMEM, "no memory for the %llu MiB unpacked kernel",
				(unsigned long long)want / MiB);
	ret = lz4_legacy(in, n, buf, want, &done, err);
	if (!ret && done != want)
		ret = err__set(err, -EINVAL, "payload unpacked to %llu bytes, its trailer says %llu",
			       (unsigned long long)done, (unsigned long long)want);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	*out_len = (size_t)want;
	return 0;
}

int kunpack__bzimage(const struct mv_kfile *kf, const struct mv_kimage *img, void **out, size_t *out_len,
		     struct mv_err *err)
{
	uint64_t off = 0, len = 0;
	uint8_t *payload;
	int ret;

	ret = payload_range(kf, img, &off, &len, err);
	if (ret < 0)
		return ret;
	payload = malloc(len);
	if (!payload)
		return err__set(err, -ENOMEM, "no memory for the %llu MiB payload", (unsigned long long)len / MiB);
	ret = kfile__read(kf, off, payload, len, err);
	if (!ret)
		ret = decompress(payload, len, out, out_len, err);
	free(payload);
	return ret;
}
