/* moonvisor remote: see core/remote.h. One request per connection
 * (Connection: close); the answer is read with libhttp-parser. */
#include "core/remote.h"

#include <errno.h>
#include <getopt.h>
#include <http_parser.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/remote_cmd.h"
#include "core/usock.h"

#define EXIT_USAGE 1
#define EXIT_NO_SERVER 2
#define MAX_ANSWER (64 * 1024 * 1024)
#define TIMEOUT_MS (10 * 60 * 1000) /* vm.shutdown, vm.remove-device may wait */

struct answer {
	int status;
	bool done;
	char *body;
	size_t len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: moonvisor remote --api-socket PATH COMMAND [ARGS]\n"
		"\n"
		"Sends one request to the REST API of `moonvisor --api-socket PATH` and\n"
		"prints the answer's JSON body. Commands:\n"
		"  ping | info | counters                 GET vmm.ping, vm.info, vm.counters\n"
		"  create FILE                            PUT vm.create (a VmConfig JSON file, - for stdin)\n"
		"  boot | pause | resume | shutdown | reboot | power-button | delete\n"
		"  add-disk path=IMAGE[,id=ID][,readonly=on][,direct=on][,serial=S]\n"
		"  add-net tap=TAP[,mac=MAC][,id=ID]\n"
		"  remove-device ID\n"
		"  resize --memory SIZE [--balloon SIZE]  (SIZE: bytes or 512M, 1G, ...)\n"
		"  shutdown-vmm                           PUT vmm.shutdown\n"
		"\n"
		"Exit status: 0 for a 2xx answer, 4 for 4xx, 5 for 5xx (the error body\n"
		"goes to stderr), 2 if the server cannot be reached, 1 for a usage error.\n");
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	((struct answer *)p->data)->status = (int)p->status_code;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct answer *a = p->data;
	char *b;

	if (a->len + len > MAX_ANSWER || !(b = realloc(a->body, a->len + len + 1)))
		return -1;
	memcpy(b + a->len, at, len);
	a->body = b;
	a->len += len;
	b[a->len] = '\0';
	return 0;
}

static int on_done(http_parser *p)
{
	struct answer *a = p->data;

	a->status = (int)p->status_code;
	a->done = true;
	return 0;
}

static int send_request(int fd, const struct mv_remote_req *req)
{
	size_t blen = req->body ? strlen(req->body) : 0;
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n%sContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 req->method, req->path, blen ? "Content-Type: application/json\r\n" : "", blen);
	int ret = fdio__write_all(fd, head, (size_t)n);

	if (ret == 0 && blen)
		ret = fdio__write_all(fd, req->body, blen);
	return ret;
}

/* Reads the answer; 0 or a message in why. */
static int read_answer(int fd, struct answer *a, char *why, size_t size)
{
	static const http_parser_settings settings = {
		.on_status = on_status, .on_body = on_body, .on_message_complete = on_done,
	};
	http_parser p;
	char buf[16384];

	http_parser_init(&p, HTTP_RESPONSE);
	p.data = a;
	while (!a->done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&pfd, 1, TIMEOUT_MS) == 0) {
			snprintf(why, size, "no answer within %d s", TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, size, "%s", strerror(errno));
			return -EIO;
		}
		if (http_parser_execute(&p, &settings, buf, (size_t)n) != (size_t)n || (n == 0 && !a->done)) {
			snprintf(why, size, "%s", n == 0 ? "the server closed the connection without an answer"
							  : http_errno_description(HTTP_PARSER_ERRNO(&p)));
			return -EPROTO;
		}
	}
	return 0;
}

static int print_answer(const struct answer *a)
{
	bool ok = a->status >= 200 && a->status < 300;
	FILE *out = ok ? stdout : stderr;

	if (!ok)
		fprintf(stderr, "moonvisor remote: HTTP %d%s", a->status, a->len ? ": " : "\n");
	if (a->len) {
		fwrite(a->body, 1, a->len, out);
		if (a->body[a->len - 1] != '\n')
			fputc('\n', out);
	}
	if (ok)
		return 0;
	return a->status >= 500 ? 5 : 4;
}

static int run(const char *path, const struct mv_remote_req *req)
{
	struct answer a = { 0 };
	char why[256] = "";
	int fd = usock__connect(path), status;

	if (fd < 0) {
		fprintf(stderr, "moonvisor remote: cannot connect to %s: %s\n", path, strerror(-fd));
		return EXIT_NO_SERVER;
	}
	if (send_request(fd, req) < 0 || read_answer(fd, &a, why, sizeof(why)) < 0) {
		if (a.done == false && why[0] == '\0')
			snprintf(why, sizeof(why), "%s", strerror(errno));
		fprintf(stderr, "moonvisor remote: %s: %s\n", path, why);
		close(fd);
		free(a.body);
		return EXIT_NO_SERVER;
	}
	close(fd);
	status = print_answer(&a);
	free(a.body);
	return status;
}

int remote__main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api-socket", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct mv_remote_req req;
	const char *path = NULL;
	char why[256] = "";
	int c, status;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 's') {
			path = optarg;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "moonvisor remote: --api-socket PATH is required\n\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (remote_cmd__build(argc - optind, argv + optind, &req, why, sizeof(why)) < 0) {
		fprintf(stderr, "moonvisor remote: %s\n\n", why);
		usage(stderr);
		return EXIT_USAGE;
	}
	status = run(path, &req);
	free(req.body);
	return status;
}
