/* Raw disk images (see raw.h). */
#include "devices/backend/raw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/jail.h"
#include "core/log.h"

#define DIO_DEFAULT_ALIGN 512
#define ZERO_CHUNK (64u << 10)

/* statx(STATX_DIOALIGN) through the raw system call: glibc 2.36's struct
 * statx does not name the fields yet. Kernel layout: stx_mask at 0,
 * stx_dio_mem_align at 152, stx_dio_offset_align at 156. */
static void dio_alignment(struct mv_raw *raw)
{
	_Alignas(8) uint8_t buf[256] = { 0 };
	uint32_t mask, mem, off;

	raw->dio_mem_align = raw->dio_offset_align = DIO_DEFAULT_ALIGN;
	if (syscall(SYS_statx, raw->fd, "", AT_EMPTY_PATH, 0x2000U /* STATX_DIOALIGN */, buf) < 0)
		return;
	memcpy(&mask, buf, 4);
	memcpy(&mem, buf + 152, 4);
	memcpy(&off, buf + 156, 4);
	if (!(mask & 0x2000U) || !mem || !off)
		return;
	raw->dio_mem_align = mem;
	raw->dio_offset_align = off;
}

static int lock_image(struct mv_raw *raw, struct mv_err *err)
{
	if (flock(raw->fd, (raw->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return err__set(err, -EBUSY, "%s is locked by another process (another VM?): %s", raw->path,
				raw->readonly ? "it is open for writing there"
					      : "a writable disk needs the image to itself");
	return err__set(err, -errno, "%s: cannot lock: %s", raw->path, strerror(errno));
}

static int size_image(struct mv_raw *raw, struct mv_err *err)
{
	struct stat st;
	off_t end;

	if (fstat(raw->fd, &st) < 0)
		return err__set(err, -errno, "%s: %s", raw->path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err__set(err, -EINVAL, "%s is not a regular file or a block device", raw->path);
	raw->is_blockdev = S_ISBLK(st.st_mode);
	end = lseek(raw->fd, 0, SEEK_END); /* block devices too, no ioctl */
	if (end < 0)
		return err__set(err, -errno, "%s: %s", raw->path, strerror(errno));
	raw->size = (uint64_t)end;
	return 0;
}

static int setup_direct(struct mv_raw *raw, struct mv_err *err)
{
	dio_alignment(raw);
	if (raw->dio_mem_align > RAW_BOUNCE_SIZE || raw->dio_offset_align > RAW_BOUNCE_SIZE ||
	    (raw->dio_mem_align & (raw->dio_mem_align - 1)))
		return err__set(err, -EINVAL, "%s: unusable direct I/O alignment %u/%u", raw->path,
				raw->dio_mem_align, raw->dio_offset_align);
	raw->bounce = aligned_alloc(raw->dio_mem_align < 4096 ? 4096 : raw->dio_mem_align, RAW_BOUNCE_SIZE);
	if (!raw->bounce)
		return err__set(err, -ENOMEM, "out of memory for %s's bounce buffer", raw->path);
	return 0;
}

int raw__open(const char *path, bool readonly, bool direct, struct mv_raw **out, struct mv_err *err)
{
	struct mv_raw *raw = calloc(1, sizeof(*raw));
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	int ret;

	if (!raw || !(raw->path = strdup(path))) {
		free(raw);
		return err__set(err, -ENOMEM, "out of memory opening %s", path);
	}
	raw->readonly = readonly;
	raw->direct = direct;
	raw->dio_mem_align = raw->dio_offset_align = 1;
	raw->fd = jail__open(path, flags);
	if (raw->fd < 0) {
		ret = raw->fd;
		err__set(err, ret, "%s: %s%s", path, strerror(-ret),
			 direct && ret == -EINVAL ? " (direct = true: the file system refuses O_DIRECT)" : "");
		goto err_free;
	}
	ret = lock_image(raw, err);
	if (!ret)
		ret = size_image(raw, err);
	if (!ret && direct)
		ret = setup_direct(raw, err);
	if (ret < 0)
		goto err_free;
	*out = raw;
	return 0;

err_free:
	raw__close(raw);
	return ret;
}

void raw__close(struct mv_raw *raw)
{
	if (!raw)
		return;
	if (raw->fd >= 0)
		close(raw->fd); /* drops the flock */
	free(raw->bounce);
	free(raw->path);
	free(raw);
}

/* ---- plain transfers --------------------------------------------------------- */

/* Copies at most IOV_MAX entries of iov, skipping the first `skip` bytes. */
static unsigned int iov_tail(struct iovec *dst, const struct iovec *iov, unsigned int n, uint64_t skip)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		dst[k].iov_base = (char *)iov[i].iov_base + skip;
		dst[k].iov_len = iov[i].iov_len - skip;
		skip = 0;
		k++;
	}
	return k;
}

static uint64_t iov_total(const struct iovec *iov, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static int plain_rw(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	struct iovec cur[IOV_MAX];
	uint64_t total = iov_total(iov, n), done = 0;

	if (n > IOV_MAX)
		return -EINVAL;
	while (done < total) {
		unsigned int k = iov_tail(cur, iov, n, done);
		ssize_t r = write ? pwritev(raw->fd, cur, (int)k, (off_t)(off + done))
				  : preadv(raw->fd, cur, (int)k, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the image shrank under us */
		done += (uint64_t)r;
	}
	return 0;
}

/* ---- direct I/O ---------------------------------------------------------------- */

static bool dio_aligned(const struct mv_raw *raw, const struct iovec *iov, unsigned int n)
{
	uint64_t m = raw->dio_mem_align - 1;

	for (unsigned int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base & m) || (iov[i].iov_len & m))
			return false;
	return true;
}

/* Copies between the bounce buffer and iov at byte `at` of the iovecs. */
static void bounce_copy(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t at, size_t len,
			bool to_iov)
{
	char *b = raw->bounce;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t take;

		if (at >= iov[i].iov_len) {
			at -= iov[i].iov_len;
			continue;
		}
		take = MIN(iov[i].iov_len - at, len);
		if (to_iov)
			memcpy((char *)iov[i].iov_base + at, b, take);
		else
			memcpy(b, (char *)iov[i].iov_base + at, take);
		b += take;
		len -= take;
		at = 0;
	}
}

static int bounced_rw(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	uint64_t total = iov_total(iov, n);

	for (uint64_t done = 0; done < total;) {
		size_t len = (size_t)MIN(total - done, (uint64_t)RAW_BOUNCE_SIZE);
		struct iovec b = { raw->bounce, len };
		int ret;

		if (write)
			bounce_copy(raw, iov, n, done, len, false);
		ret = plain_rw(raw, &b, 1, off + done, write);
		if (ret < 0)
			return ret;
		if (!write)
			bounce_copy(raw, iov, n, done, len, true);
		done += len;
	}
	return 0;
}

static int rw(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	if (raw->direct && (off % raw->dio_offset_align || iov_total(iov, n) % raw->dio_offset_align))
		return -EINVAL;
	if (raw->direct && !dio_aligned(raw, iov, n))
		return bounced_rw(raw, iov, n, off, write);
	return plain_rw(raw, iov, n, off, write);
}

int raw__preadv(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off)
{
	return rw(raw, iov, n, off, false);
}

int raw__pwritev(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off)
{
	if (raw->readonly)
		return -EROFS;
	return rw(raw, iov, n, off, true);
}

int raw__flush(struct mv_raw *raw)
{
	if (raw->readonly)
		return 0;
	return fdatasync(raw->fd) < 0 ? -errno : 0;
}

/* ---- deallocation and zeroes --------------------------------------------------- */

int raw__discard(struct mv_raw *raw, uint64_t off, uint64_t len)
{
	if (raw->readonly)
		return -EROFS;
	if (fallocate(raw->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

static int write_zero_bytes(struct mv_raw *raw, uint64_t off, uint64_t len)
{
	static const char zeroes[ZERO_CHUNK];

	while (len) {
		uint64_t n = MIN(len, (uint64_t)ZERO_CHUNK);
		struct iovec v = { (void *)zeroes, (size_t)n };
		/* O_DIRECT: the zero page array may be unaligned; rw bounces it */
		int ret = rw(raw, &v, 1, off, true);

		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int raw__write_zeroes(struct mv_raw *raw, uint64_t off, uint64_t len, bool unmap)
{
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;

	if (raw->readonly)
		return -EROFS;
	if (fallocate(raw->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return write_zero_bytes(raw, off, len);
}
