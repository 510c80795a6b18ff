/* Bounded reads from a kernel or initrd file, or from a memory buffer. */
#include "core/x86/kimage.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jail.h"

int kfile__open(struct mv_kfile *kf, const char *path, struct mv_err *err)
{
	struct stat st;
	int ret;

	memset(kf, 0, sizeof(*kf));
	kf->path = path;
	kf->fd = jail__open(path, O_RDONLY | O_CLOEXEC);
	if (kf->fd < 0)
		return err__set(err, kf->fd, "%s", strerror(-kf->fd));
	if (fstat(kf->fd, &st) < 0) {
		ret = err__set(err, -errno, "%s", strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err__set(err, -EINVAL, "not a regular file");
		goto err_close;
	}
	kf->size = (uint64_t)st.st_size;
	return 0;
err_close:
	kfile__close(kf);
	return ret;
}

void kfile__from_buffer(struct mv_kfile *kf, const char *name, const void *buf, size_t len)
{
	*kf = (struct mv_kfile){ .path = name, .fd = -1, .buf = buf, .size = len };
}

void kfile__close(struct mv_kfile *kf)
{
	if (kf->fd >= 0)
		close(kf->fd);
	kf->fd = -1;
}

static int read_fd(const struct mv_kfile *kf, uint64_t off, uint8_t *dst, uint64_t len, struct mv_err *err)
{
	while (len) {
		size_t chunk = (size_t)MIN(len, 1ULL << 30);
		ssize_t n = pread(kf->fd, dst, chunk, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err__set(err, -errno, "reading at offset 0x%llx: %s", (unsigned long long)off,
					strerror(errno));
		if (n == 0)
			return err__set(err, -EIO, "file shrank to 0x%llx bytes while being read",
					(unsigned long long)off);
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int kfile__read(const struct mv_kfile *kf, uint64_t off, void *dst, uint64_t len, struct mv_err *err)
{
	if (off > kf->size || len > kf->size - off)
		return err__set(err, -ERANGE, "read of 0x%llx bytes at offset 0x%llx is beyond the end of the file (%llu bytes)",
				(unsigned long long)len, (unsigned long long)off, (unsigned long long)kf->size);
	if (len == 0)
		return 0;
	if (kf->fd < 0) {
		memcpy(dst, kf->buf + off, (size_t)len);
		return 0;
	}
	return read_fd(kf, off, dst, len, err);
}

int kfile__read_to_guest(const struct mv_kfile *kf, uint64_t off, uint64_t len, const struct mv_guestmem *mem,
			 uint64_t gpa, struct mv_err *err)
{
	void *dst = guestmem__range(mem, gpa, len);

	if (!dst)
		return err__set(err, -EFAULT, "[0x%llx, +0x%llx) is not guest RAM", (unsigned long long)gpa,
				(unsigned long long)len);
	return kfile__read(kf, off, dst, len, err);
}
