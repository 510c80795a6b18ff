/* HTTP/1.1 requests read from a byte stream (libhttp-parser underneath) and
 * responses written for them: the parsing half of the REST API server
 * (lua/l_api_server.c), kept free of sockets and Lua so the unit tests and
 * the fuzz target drive it directly. One reader per connection; it stops
 * after each complete request so pipelined requests are answered in order.
 * Every limit is checked while bytes arrive, never after buffering them. */
#ifndef MV_HTTP_H
#define MV_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

struct mv_http_limits {
	size_t max_head;  /* request line + headers, bytes (431 beyond) */
	size_t max_url;   /* request target, bytes (414 beyond) */
	size_t max_body;  /* body, bytes (413 beyond) */
};

#define MV_HTTP_DEFAULT_LIMITS ((struct mv_http_limits){ 16 * 1024, 4096, 1024 * 1024 })

struct mv_http_reader {
	http_parser p;
	struct mv_http_limits lim;
	/* the request, once done */
	const char *method;   /* "GET", "PUT", ... (static) */
	char *url;            /* NUL-terminated request target */
	char *body;           /* NUL-terminated; body_len bytes */
	size_t url_len, body_len, body_cap;
	size_t head_len;      /* request line and header bytes seen */
	bool keep_alive;
	bool expect_continue; /* "Expect: 100-continue": the client waits for
			       * "100 Continue" before sending its body */
	bool started;         /* bytes of a request have arrived */
	bool done;            /* a whole request is here */
	int status;           /* an error: the status to answer (400, 413, ...) */
	char error[160];      /* and why */
	/* header being read: only Expect matters */
	char field[16], value[16];
	size_t field_len, value_len;
	bool in_value;
};

void http_reader__init(struct mv_http_reader *r, const struct mv_http_limits *lim);
void http_reader__free(struct mv_http_reader *r);
/* Consumes bytes until a request is complete (r->done), an error is found
 * (r->status != 0: answer it and close) or len runs out. Returns how many
 * bytes were used; the rest belongs to the next request. */
size_t http_reader__feed(struct mv_http_reader *r, const char *data, size_t len);
/* After a done request: ready for the next one on the same connection. */
void http_reader__next(struct mv_http_reader *r);

/* "Not Found" for 404, ... ("Unknown" for codes it does not know). */
const char *http__reason(int status);
/* A whole response: status line, Server, Content-Type: application/json
 * (when there is a body), Content-Length, Connection. malloc'ed; NULL on
 * ENOMEM. */
char *http__response(int status, const char *body, size_t body_len, bool keep_alive, size_t *out_len);
/* A JSON error body in Cloud Hypervisor's shape: an array of messages,
 * outermost first: ["Bad Request", "<detail>"]. malloc'ed (NULL: ENOMEM). */
char *http__error_body(int status, const char *detail);

#endif
