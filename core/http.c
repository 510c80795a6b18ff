#include "core/http.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct mv_http_reader *reader_of(http_parser *p)
{
	return p->data;
}

/* Sets the error to answer and stops the parser (a callback returning
 * nonzero makes http_parser_execute return at once). */
static int fail(struct mv_http_reader *r, int status, const char *why)
{
	if (!r->status) {
		r->status = status;
		snprintf(r->error, sizeof(r->error), "%s", why);
	}
	return -1;
}

static int count_head(struct mv_http_reader *r, size_t len)
{
	r->head_len += len;
	if (r->head_len > r->lim.max_head) {
		char why[96];
		snprintf(why, sizeof(why), "request line and headers are longer than %zu bytes", r->lim.max_head);
		return fail(r, 431, why);
	}
	return 0;
}

static int on_begin(http_parser *p)
{
	reader_of(p)->started = true;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct mv_http_reader *r = reader_of(p);
	char *url;

	if (count_head(r, len))
		return -1;
	if (r->url_len + len > r->lim.max_url) {
		char why[64];
		snprintf(why, sizeof(why), "request target is longer than %zu bytes", r->lim.max_url);
		return fail(r, 414, why);
	}
	url = realloc(r->url, r->url_len + len + 1);
	if (!url)
		return fail(r, 503, "out of memory");
	memcpy(url + r->url_len, at, len);
	r->url = url;
	r->url_len += len;
	url[r->url_len] = '\0';
	return 0;
}

/* Appends what fits (a longer name or value is not one we look for). */
static void keep(char *buf, size_t size, size_t *len, const char *at, size_t n)
{
	size_t room = size - 1 - MIN(*len, size - 1);

	memcpy(buf + MIN(*len, size - 1), at, MIN(n, room));
	*len += n;
	buf[MIN(*len, size - 1)] = '\0';
}

static void header_done(struct mv_http_reader *r)
{
	if (r->field_len == 6 && !strcasecmp(r->field, "expect") && r->value_len == 12 &&
	    !strcasecmp(r->value, "100-continue"))
		r->expect_continue = true;
	r->field_len = r->value_len = 0;
	r->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct mv_http_reader *r = reader_of(p);

	if (r->in_value)
		header_done(r);
	keep(r->field, sizeof(r->field), &r->field_len, at, len);
	return count_head(r, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct mv_http_reader *r = reader_of(p);

	r->in_value = true;
	keep(r->value, sizeof(r->value), &r->value_len, at, len);
	return count_head(r, len);
}

static int on_headers_complete(http_parser *p)
{
	struct mv_http_reader *r = reader_of(p);

	if (r->in_value)
		header_done(r);
	if (p->upgrade || p->method == HTTP_CONNECT)
		return fail(r, 400, "protocol upgrades and CONNECT are not supported");
	if (p->http_major != 1)
		return fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
	if (p->content_length != ULLONG_MAX && p->content_length > r->lim.max_body) {
		char why[96];
		snprintf(why, sizeof(why), "body of %llu bytes is larger than the limit of %zu bytes",
			 (unsigned long long)p->content_length, r->lim.max_body);
		return fail(r, 413, why);
	}
	if (!r->url)
		return fail(r, 400, "empty request target");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct mv_http_reader *r = reader_of(p);

	if (len > r->lim.max_body - r->body_len) {
		char why[64];
		snprintf(why, sizeof(why), "body is larger than the limit of %zu bytes", r->lim.max_body);
		return fail(r, 413, why);
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		char *b;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b)
			return fail(r, 503, "out of memory");
		r->body = b;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int on_complete(http_parser *p)
{
	struct mv_http_reader *r = reader_of(p);

	r->done = true;
	r->method = http_method_str((enum http_method)p->method);
	r->keep_alive = http_should_keep_alive(p);
	http_parser_pause(p, 1); /* one request at a time */
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

void http_reader__init(struct mv_http_reader *r, const struct mv_http_limits *lim)
{
	memset(r, 0, sizeof(*r));
	r->lim = *lim;
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
}

void http_reader__free(struct mv_http_reader *r)
{
	free(r->url);
	free(r->body);
	r->url = r->body = NULL;
}

static void clear_request(struct mv_http_reader *r)
{
	http_reader__free(r);
	r->url_len = r->body_len = r->body_cap = r->head_len = 0;
	r->method = NULL;
	r->keep_alive = r->expect_continue = r->started = r->done = r->in_value = false;
	r->field_len = r->value_len = 0;
}

void http_reader__next(struct mv_http_reader *r)
{
	clear_request(r);
	http_parser_pause(&r->p, 0);
}

size_t http_reader__feed(struct mv_http_reader *r, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	if (r->done || r->status || !len)
		return 0;
	n = http_parser_execute(&r->p, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&r->p);
	if (r->done || r->status)
		return n;
	if (e != HPE_OK) {
		char why[160];
		snprintf(why, sizeof(why), "malformed request: %s", http_errno_description(e));
		fail(r, e == HPE_HEADER_OVERFLOW ? 431 : 400, why);
	}
	return n;
}

const char *http__reason(int status)
{
	static const struct { int code; const char *text; } reasons[] = {
		{ 200, "OK" }, { 204, "No Content" }, { 400, "Bad Request" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" }, { 409, "Conflict" },
		{ 413, "Payload Too Large" }, { 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].code == status)
			return reasons[i].text;
	return "Unknown";
}

char *http__response(int status, const char *body, size_t body_len, bool keep_alive, size_t *out_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nServer: moonvisor API\r\n%sContent-Length: %zu\r\nConnection: %s\r\n\r\n",
			 status, http__reason(status), body_len ? "Content-Type: application/json\r\n" : "",
			 body_len, keep_alive ? "keep-alive" : "close");
	char *out = malloc((size_t)n + body_len);

	if (!out)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (body_len)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}

char *http__error_body(int status, const char *detail)
{
	json_t *j = json_pack("[ss]", http__reason(status), detail ? detail : "");
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}
