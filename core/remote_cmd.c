#include "core/remote_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

MV_PRINTF(3, 4)
static int bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* "key=value,key=value" into obj; keys[] lists the string keys, bools[]
 * the on/off ones. */
static int parse_kv(const char *arg, json_t *obj, const char *const *keys, const char *const *bools, char *why,
		    size_t size)
{
	char *copy = strdup(arg), *save = NULL, *item;
	int ret = 0;

	if (!copy)
		return bad(why, size, "out of memory");
	for (item = strtok_r(copy, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		bool found = false, b;
		if (!eq) {
			ret = bad(why, size, "'%s': expected key=value", item);
			break;
		}
		*eq = '\0';
		for (const char *const *k = keys; *k && !found; k++)
			if (!strcmp(*k, item)) {
				found = true;
				json_object_set_new(obj, item, json_string(eq + 1));
			}
		for (const char *const *k = bools; *k && !found; k++)
			if (!strcmp(*k, item)) {
				found = true;
				if (parse_bool(eq + 1, &b) < 0)
					ret = bad(why, size, "%s=%s: expected on or off", item, eq + 1);
				else
					json_object_set_new(obj, item, json_boolean(b));
			}
		if (!found && !ret)
			ret = bad(why, size, "unknown key '%s'", item);
	}
	free(copy);
	return ret;
}

static int take_body(struct mv_remote_req *req, json_t *obj, char *why, size_t size)
{
	req->body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	return req->body ? 0 : bad(why, size, "cannot encode the request (invalid UTF-8?)");
}

static int device_cmd(const char *cmd, int argc, char **argv, struct mv_remote_req *req, char *why, size_t size)
{
	static const char *const disk_keys[] = { "path", "id", "serial", NULL };
	static const char *const disk_bools[] = { "readonly", "direct", NULL };
	static const char *const net_keys[] = { "tap", "mac", "id", NULL };
	static const char *const none[] = { NULL };
	bool disk = !strcmp(cmd, "add-disk");
	json_t *obj;
	int ret;

	if (argc != 2)
		return bad(why, size, "%s takes one argument: %s", cmd, disk ? "path=IMAGE[,id=ID][,readonly=on][,direct=on][,serial=S]" : "tap=TAP[,mac=MAC][,id=ID]");
	obj = json_object();
	ret = parse_kv(argv[1], obj, disk ? disk_keys : net_keys, disk ? disk_bools : none, why, size);
	if (ret == 0 && !json_object_get(obj, disk ? "path" : "tap"))
		ret = bad(why, size, "%s: %s= is required", cmd, disk ? "path" : "tap");
	if (ret < 0) {
		json_decref(obj);
		return ret;
	}
	return take_body(req, obj, why, size);
}

static int size_opt(const char *name, const char *v, json_t *obj, const char *key, char *why, size_t size)
{
	uint64_t n;

	if (!v)
		return bad(why, size, "resize: %s needs a size (like 1G)", name);
	if (size__parse(v, &n) < 0 || n > (uint64_t)INT64_MAX)
		return bad(why, size, "resize: %s %s: not a size (use bytes or 512M, 1G, ...)", name, v);
	json_object_set_new(obj, key, json_integer((json_int_t)n));
	return 0;
}

/* resize --memory SIZE [--balloon SIZE] (also --memory=SIZE) */
static int resize_cmd(int argc, char **argv, struct mv_remote_req *req, char *why, size_t size)
{
	json_t *obj = json_object();
	int ret = 0;

	for (int i = 1; i < argc && !ret; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (n == 8 && !strncmp(a, "--memory", n))
			ret = size_opt("--memory", v, obj, "desired_ram", why, size);
		else if (n == 9 && !strncmp(a, "--balloon", n))
			ret = size_opt("--balloon", v, obj, "desired_balloon", why, size);
		else
			ret = bad(why, size, "resize: unknown option '%s' (--memory SIZE, --balloon SIZE)", a);
	}
	if (!ret && json_object_size(obj) == 0)
		ret = bad(why, size, "resize: give --memory SIZE and/or --balloon SIZE");
	if (ret) {
		json_decref(obj);
		return ret;
	}
	return take_body(req, obj, why, size);
}

static int file_body(const char *path, struct mv_remote_req *req, char *why, size_t size)
{
	json_error_t jerr;
	json_t *v = strcmp(path, "-") ? json_load_file(path, 0, &jerr) : json_loadf(stdin, 0, &jerr);

	if (!v)
		return bad(why, size, "%s: %s (line %d)", path, jerr.text, jerr.line);
	return take_body(req, v, why, size);
}

int remote_cmd__build(int argc, char **argv, struct mv_remote_req *req, char *why, size_t size)
{
	static const struct { const char *cmd, *method, *path; } simple[] = {
		{ "ping", "GET", "vmm.ping" }, { "info", "GET", "vm.info" }, { "counters", "GET", "vm.counters" },
		{ "boot", "PUT", "vm.boot" }, { "pause", "PUT", "vm.pause" }, { "resume", "PUT", "vm.resume" },
		{ "shutdown", "PUT", "vm.shutdown" }, { "reboot", "PUT", "vm.reboot" },
		{ "power-button", "PUT", "vm.power-button" }, { "delete", "PUT", "vm.delete" },
		{ "shutdown-vmm", "PUT", "vmm.shutdown" },
	};
	const char *cmd = argc > 0 ? argv[0] : NULL;

	memset(req, 0, sizeof(*req));
	if (!cmd)
		return bad(why, size, "no command given");
	req->method = "PUT";
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
		if (!strcmp(cmd, simple[i].cmd)) {
			if (argc != 1)
				return bad(why, size, "%s takes no arguments", cmd);
			req->method = simple[i].method;
			snprintf(req->path, sizeof(req->path), "/api/v1/%s", simple[i].path);
			return 0;
		}
	snprintf(req->path, sizeof(req->path), "/api/v1/vm.%s", cmd);
	if (!strcmp(cmd, "add-disk") || !strcmp(cmd, "add-net"))
		return device_cmd(cmd, argc, argv, req, why, size);
	if (!strcmp(cmd, "resize"))
		return resize_cmd(argc, argv, req, why, size);
	if (!strcmp(cmd, "create")) {
		if (argc != 2)
			return bad(why, size, "create takes one argument: a VmConfig JSON file (- for stdin)");
		return file_body(argv[1], req, why, size);
	}
	if (!strcmp(cmd, "remove-device")) {
		json_t *obj;
		if (argc != 2)
			return bad(why, size, "remove-device takes one argument: the device's id");
		obj = json_pack("{ss}", "id", argv[1]);
		if (!obj)
			return bad(why, size, "remove-device: the id is not valid UTF-8");
		return take_body(req, obj, why, size);
	}
	return bad(why, size, "unknown command '%s'", cmd);
}
