/* core/http.c (request reader with limits, responses, error bodies),
 * core/remote_cmd.c (`moonvisor remote` commands -> requests) and the
 * JSON <-> Lua mapping of lua/l_json.c. */
#include <errno.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/http.h"
#include "core/remote_cmd.h"
#include "lua/json.h"

static struct mv_http_reader rd;

static size_t feed_str(const char *s)
{
	return http_reader__feed(&rd, s, strlen(s));
}

static int setup(void **state)
{
	http_reader__init(&rd, &MV_HTTP_DEFAULT_LIMITS);
	return 0;
}

static int teardown(void **state)
{
	http_reader__free(&rd);
	return 0;
}

static void test_get(void **state)
{
	const char *req = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n";

	assert_int_equal(feed_str(req), strlen(req));
	assert_true(rd.done);
	assert_int_equal(rd.status, 0);
	assert_string_equal(rd.method, "GET");
	assert_string_equal(rd.url, "/api/v1/vmm.ping");
	assert_int_equal(rd.body_len, 0);
	assert_true(rd.keep_alive);
}

static void test_put_body_split_bytewise(void **state)
{
	const char *req = "PUT /api/v1/vm.create HTTP/1.1\r\nContent-Type: application/json\r\n"
			  "Content-Length: 13\r\nConnection: close\r\n\r\n{\"cpus\": {}}\n";
	size_t n = strlen(req);

	for (size_t i = 0; i < n; i++) {
		assert_false(rd.done);
		assert_int_equal(http_reader__feed(&rd, req + i, 1), 1);
	}
	assert_true(rd.done);
	assert_string_equal(rd.method, "PUT");
	assert_int_equal(rd.body_len, 13);
	assert_string_equal(rd.body, "{\"cpus\": {}}\n");
	assert_false(rd.keep_alive);
}

static void test_pipelined(void **state)
{
	const char *two = "GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	size_t first = feed_str(two);

	assert_true(rd.done);
	assert_string_equal(rd.url, "/a");
	assert_int_equal(first, strlen("GET /a HTTP/1.1\r\n\r\n"));
	assert_int_equal(http_reader__feed(&rd, two + first, strlen(two) - first), 0); /* one at a time */
	http_reader__next(&rd);
	assert_int_equal(http_reader__feed(&rd, two + first, strlen(two) - first), strlen(two) - first);
	assert_true(rd.done);
	assert_string_equal(rd.method, "PUT");
	assert_string_equal(rd.url, "/b");
	assert_string_equal(rd.body, "{}");
}

static void test_expect_continue(void **state)
{
	feed_str("PUT /x HTTP/1.1\r\nX-Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	assert_false(rd.expect_continue); /* another header */
	http_reader__free(&rd);
	http_reader__init(&rd, &MV_HTTP_DEFAULT_LIMITS);
	feed_str("PUT /x HTTP/1.1\r\nContent-Length: 2\r\nEXPECT: 100-Continue\r\n\r\n");
	assert_true(rd.expect_continue);
	assert_false(rd.done);
	feed_str("{}");
	assert_true(rd.done);
	http_reader__next(&rd);
	assert_false(rd.expect_continue);
}

static void test_chunked_body(void **state)
{
	feed_str("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
	assert_true(rd.done);
	assert_string_equal(rd.body, "abcde");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET /x HTTP/1.1\r\nContent-Length: x\r\n\r\n", "\x01\x02\x03 / HTTP/1.1\r\n\r\n",
		"GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\n\r\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		http_reader__free(&rd);
		http_reader__init(&rd, &MV_HTTP_DEFAULT_LIMITS);
		feed_str(bad[i]);
		assert_false(rd.done);
		assert_true(rd.status == 400 || rd.status == 505);
		assert_true(rd.error[0] != '\0');
		/* nothing more is taken after an error */
		assert_int_equal(feed_str("GET / HTTP/1.1\r\n\r\n"), 0);
	}
}

static void test_limits(void **state)
{
	struct mv_http_limits lim = { .max_head = 512, .max_url = 64, .max_body = 16 };
	char big[2048];

	http_reader__free(&rd);
	http_reader__init(&rd, &lim);
	feed_str("PUT /x HTTP/1.1\r\nContent-Length: 17\r\n\r\n");
	assert_int_equal(rd.status, 413); /* refused before the body arrives */
	http_reader__free(&rd);

	http_reader__init(&rd, &lim);
	feed_str("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n");
	assert_int_equal(rd.status, 413);
	http_reader__free(&rd);

	http_reader__init(&rd, &lim);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	feed_str("GET /x HTTP/1.1\r\nX-Long: ");
	feed_str(big);
	assert_int_equal(rd.status, 431);
	http_reader__free(&rd);

	http_reader__init(&rd, &lim);
	feed_str("GET /");
	feed_str(big + sizeof(big) - 100);
	assert_int_equal(rd.status, 414);
}

static void test_response(void **state)
{
	size_t n;
	char *r = http__response(200, "{}", 2, true, &n), *t;

	assert_non_null(r);
	assert_int_equal(n, strlen("HTTP/1.1 200 OK\r\n") + strlen("Server: moonvisor API\r\n") +
				   strlen("Content-Type: application/json\r\n") + strlen("Content-Length: 2\r\n") +
				   strlen("Connection: keep-alive\r\n\r\n") + 2);
	assert_memory_equal(r, "HTTP/1.1 200 OK\r\n", 17);
	assert_memory_equal(r + n - 6, "\r\n\r\n{}", 6);
	free(r);
	r = http__response(204, NULL, 0, false, &n);
	t = strndup(r, n); /* responses are not NUL-terminated */
	assert_non_null(strstr(t, "HTTP/1.1 204 No Content\r\n"));
	assert_null(strstr(t, "Content-Type"));
	assert_non_null(strstr(t, "Connection: close\r\n"));
	free(t);
	free(r);
	assert_string_equal(http__reason(413), "Payload Too Large");
	assert_string_equal(http__reason(299), "Unknown");
}

static void test_error_body(void **state)
{
	char *b = http__error_body(400, "unknown field \"x\"\n");

	assert_string_equal(b, "[\"Bad Request\",\"unknown field \\\"x\\\"\\n\"]");
	free(b);
	assert_null(http__error_body(400, "\xff\xfe")); /* not UTF-8: the caller falls back */
}

static void build_ok(struct mv_remote_req *req, const char *method, const char *path, const char *body, int argc,
		     char **argv)
{
	char why[256] = "";

	assert_int_equal(remote_cmd__build(argc, argv, req, why, sizeof(why)), 0);
	assert_string_equal(req->method, method);
	assert_string_equal(req->path, path);
	if (body)
		assert_string_equal(req->body, body);
	else
		assert_null(req->body);
	free(req->body);
}

static void test_remote_commands(void **state)
{
	struct mv_remote_req req;
	char *ping[] = { "ping" }, *pause[] = { "pause" }, *disk[] = { "add-disk", "path=/a b,id=d1,readonly=on" };
	char *net[] = { "add-net", "tap=tap0,mac=52:54:00:00:00:01" }, *rm[] = { "remove-device", "d1" };
	char *resize[] = { "resize", "--memory", "1G" }, *resize2[] = { "resize", "--memory=512M", "--balloon", "0" };

	build_ok(&req, "GET", "/api/v1/vmm.ping", NULL, 1, ping);
	build_ok(&req, "PUT", "/api/v1/vm.pause", NULL, 1, pause);
	build_ok(&req, "PUT", "/api/v1/vm.add-disk", "{\"id\":\"d1\",\"path\":\"/a b\",\"readonly\":true}", 2, disk);
	build_ok(&req, "PUT", "/api/v1/vm.add-net", "{\"mac\":\"52:54:00:00:00:01\",\"tap\":\"tap0\"}", 2, net);
	build_ok(&req, "PUT", "/api/v1/vm.remove-device", "{\"id\":\"d1\"}", 2, rm);
	build_ok(&req, "PUT", "/api/v1/vm.resize", "{\"desired_ram\":1073741824}", 3, resize);
	build_ok(&req, "PUT", "/api/v1/vm.resize", "{\"desired_balloon\":0,\"desired_ram\":536870912}", 4, resize2);
}

static void build_fails(const char *expect, int argc, char **argv)
{
	struct mv_remote_req req;
	char why[256] = "";

	assert_int_equal(remote_cmd__build(argc, argv, &req, why, sizeof(why)), -EINVAL);
	if (!strstr(why, expect))
		fail_msg("expected '%s' in '%s'", expect, why);
}

static void test_remote_errors(void **state)
{
	char *none[] = { NULL }, *unk[] = { "frobnicate" }, *extra[] = { "ping", "x" };
	char *nokey[] = { "add-disk", "id=x" }, *badkey[] = { "add-disk", "path=/a,colour=red" };
	char *badbool[] = { "add-disk", "path=/a,readonly=maybe" }, *noeq[] = { "add-disk", "path" };
	char *size[] = { "resize", "--memory", "12Q" }, *nosize[] = { "resize", "--memory" };
	char *noopt[] = { "resize" }, *badopt[] = { "resize", "--cpus", "2" };

	build_fails("no command", 0, none);
	build_fails("unknown command 'frobnicate'", 1, unk);
	build_fails("ping takes no arguments", 2, extra);
	build_fails("path= is required", 2, nokey);
	build_fails("unknown key 'colour'", 2, badkey);
	build_fails("readonly=maybe: expected on or off", 2, badbool);
	build_fails("'path': expected key=value", 2, noeq);
	build_fails("12Q: not a size", 3, size);
	build_fails("--memory needs a size", 2, nosize);
	build_fails("give --memory SIZE", 1, noopt);
	build_fails("unknown option '--cpus'", 3, badopt);
}

/* JSON -> Lua -> JSON keeps types: integers stay integers, an empty array
 * stays an array, null members are left out. */
static void test_json_roundtrip(void **state)
{
	const char *in = "{\"a\":[],\"b\":{},\"c\":[1,2.5,\"x\",true],\"d\":null,\"e\":9007199254740993}";
	const char *want = "{\"a\":[],\"b\":{},\"c\":[1,2.5,\"x\",true],\"e\":9007199254740993}";
	lua_State *L = luaL_newstate();
	json_t *v = json_loads(in, 0, NULL), *back;
	char why[128] = "", *s;

	lua_newtable(L);
	mvlua__register_json(L); /* the array metatable */
	lua_pop(L, 1);
	assert_non_null(v);
	assert_int_equal(mvlua__json_push(L, v), 0);
	back = mvlua__json_from(L, -1, why, sizeof(why));
	assert_non_null(back);
	s = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, want);
	free(s);
	json_decref(back);
	json_decref(v);
	lua_pushcfunction(L, luaopen_base); /* a function has no JSON form */
	assert_null(mvlua__json_from(L, -1, why, sizeof(why)));
	assert_non_null(strstr(why, "no JSON form"));
	lua_close(L);
}

static void test_json_depth(void **state)
{
	char deep[2 * (MV_JSON_MAX_DEPTH + 2) + 1];
	lua_State *L = luaL_newstate();
	json_t *v;

	for (int i = 0; i < MV_JSON_MAX_DEPTH + 2; i++) {
		deep[i] = '[';
		deep[2 * (MV_JSON_MAX_DEPTH + 2) - 1 - i] = ']';
	}
	deep[sizeof(deep) - 1] = '\0';
	v = json_loads(deep, 0, NULL);
	assert_non_null(v);
	assert_int_equal(mvlua__json_push(L, v), -E2BIG);
	assert_int_equal(lua_gettop(L), 0);
	json_decref(v);
	lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_body_split_bytewise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_remote_commands),
		cmocka_unit_test(test_remote_errors),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
