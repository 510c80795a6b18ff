/* rngfile: a virtio entropy device (virtio 1.2, 5.4) implemented entirely
 * as a plugin, on the host's virtio PCI transport: every buffer the
 * guest's virtio-rng driver posts comes back filled from `source`, a file
 * or character device opened when the device is created (default
 * /dev/urandom). A regular file is read from its start and wraps around
 * at its end, so a test can recognise its bytes in the guest's
 * /dev/hwrng. Distinct from the built-in rng = true (getrandom()).
 *
 * Options: source (path). Lua methods: dev:bytes() -> bytes handed to the
 * guest so far.
 *
 * Threads: create/destroy on the loop; queue_notify on the device's I/O
 * thread, whose seccomp list allows read and pread on open fds (not
 * open: the file is opened in create). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <moonvisor/plugin.h>

#define VIRTIO_ID_ENTROPY 4
#define PCI_CLASS_OTHER 0xFF0000
#define QUEUE_SIZE 256
#define CHUNK 4096
#define MAX_PER_CHAIN (64 * 1024)

static const struct mv_plugin_host *host;

struct rngfile {
	struct mv_plugin_dev *d;
	struct mv_plugin_virtio *v;
	int fd;
	int regular;        /* pread at off, wrapping at the end */
	uint64_t off;
	_Atomic uint64_t bytes;
	uint8_t buf[CHUNK];
};

/* up to len bytes from the source; 0 on error or an empty source */
static size_t fill(struct rngfile *s, size_t len)
{
	ssize_t n;

	for (int tries = 0; tries < 2; tries++) {
		n = s->regular ? pread(s->fd, s->buf, len, (off_t)s->off) : read(s->fd, s->buf, len);
		if (n < 0 && errno == EINTR) {
			tries--;
			continue;
		}
		if (n > 0) {
			s->off += (uint64_t)n;
			return (size_t)n;
		}
		if (n < 0 || !s->regular)
			return 0;
		s->off = 0; /* end of the file: wrap */
	}
	return 0;
}

/* one chain: fill its writable part (capped); returns bytes written */
static uint32_t serve(struct rngfile *s, struct mv_plugin_chain *c)
{
	uint64_t want, done = 0;

	host->chain_len(c, NULL, &want);
	if (want > MAX_PER_CHAIN)
		want = MAX_PER_CHAIN;
	while (done < want) {
		size_t n = fill(s, (size_t)(want - done < CHUNK ? want - done : CHUNK));

		if (!n || host->chain_write(c, done, s->buf, n) != n)
			break;
		done += n;
	}
	return (uint32_t)done;
}

static void queue_notify(void *opaque, struct mv_plugin_virtio *v, unsigned int q)
{
	struct rngfile *s = opaque;
	struct mv_plugin_chain *c;
	unsigned int pushed = 0;
	int ret;

	while ((ret = host->vq_pop(v, q, &c)) > 0) {
		uint32_t n = serve(s, c);

		host->vq_push(v, q, c, n);
		host->virtio_count(v, n, n == 0);
		atomic_fetch_add(&s->bytes, n);
		pushed++;
	}
	host->vq_done(v, q, pushed, ret);
}

static const struct mv_plugin_virtio_ops rng_ops = { .queue_notify = queue_notify };

static int m_bytes(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
		   struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	struct rngfile *s = opaque;

	result->type = MV_PLUGIN_INT;
	result->u.i = (int64_t)atomic_load(&s->bytes);
	return 0;
}

static int open_source(struct rngfile *s, const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	int err;

	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		err = errno;
		snprintf(errbuf, errlen, "source %s: %s", path, strerror(err));
		return -err;
	}
	if (fstat(s->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) ||
	    (S_ISREG(st.st_mode) && st.st_size == 0)) {
		snprintf(errbuf, errlen, "source %s: must be a non-empty file or a character device", path);
		close(s->fd);
		return -EINVAL;
	}
	s->regular = S_ISREG(st.st_mode);
	return 0;
}

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	const struct mv_plugin_virtio_desc vd = {
		.size = sizeof(vd), .device_id = VIRTIO_ID_ENTROPY, .class_code = PCI_CLASS_OTHER,
		.nqueues = 1, .queue_size = QUEUE_SIZE, .ops = &rng_ops,
	};
	struct mv_plugin_virtio_desc desc = vd;
	struct rngfile *s = calloc(1, sizeof(*s));
	const char *path;
	int ret;

	if (!s)
		return -ENOMEM;
	s->d = d;
	ret = host->config_string(d, "source", "/dev/urandom", &path);
	if (ret == 0)
		ret = open_source(s, path, errbuf, errlen);
	if (ret < 0) {
		free(s);
		return ret;
	}
	desc.opaque = s;
	ret = host->virtio_add(d, &desc, &s->v);
	if (ret == 0)
		ret = host->lua_method(d, "bytes", m_bytes, s);
	if (ret < 0) {
		snprintf(errbuf, errlen, "cannot create the virtio device");
		close(s->fd);
		free(s);
		return ret;
	}
	*state = s;
	return 0;
}

/* the virtio device (and its I/O thread) is gone already */
static void destroy(void *state)
{
	struct rngfile *s = state;

	close(s->fd);
	free(s);
}

static const struct mv_plugin_option options[] = {
	{ "source", MV_PLUGIN_STRING, "file or character device the entropy comes from (default /dev/urandom)" },
	{ NULL, MV_PLUGIN_NIL, NULL },
};

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type),
	.name = "virtio-rng-file",
	.help = "virtio entropy device fed from a file",
	.options = options,
	.create = create,
	.destroy = destroy,
} };

MV_PLUGIN_EXPORT("rngfile", "1.0", types, host, virtio_count)
