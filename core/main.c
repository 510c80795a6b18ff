/* moonvisor SCRIPT.lua [ARGS...]: run a Lua VM definition, then the event
 * loop until every VM has stopped. -i adds a prompt on the terminal,
 * --control PATH a control socket; `moonvisor repl PATH` is the client. */
#include <getopt.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jail.h"
#include "core/log.h"
#include "core/remote.h"
#include "core/repl_client.h"
#include "core/seccomp.h"
#include "core/vm.h"
#include "lua/api_server.h"
#include "lua/repl.h"
#include "lua/state.h"

#define EXIT_SCRIPT_ERROR 1

struct options {
	int script;           /* index of SCRIPT.lua in argv */
	bool interactive;     /* -i */
	const char *control;  /* --control PATH */
	const char *api_socket;    /* --api-socket PATH */
	const char *event_monitor; /* --event-monitor PATH */
	enum mv_seccomp_mode seccomp; /* --seccomp=MODE */
};

static int stop_signal;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: moonvisor [OPTIONS] SCRIPT.lua [ARGS...]\n"
		"       moonvisor --api-socket PATH [OPTIONS] [SCRIPT.lua [ARGS...]]\n"
		"       moonvisor repl SOCKET\n"
		"       moonvisor remote --api-socket PATH COMMAND [ARGS]\n"
		"\n"
		"Runs SCRIPT.lua, a Lua program that defines and starts virtual machines\n"
		"with require \"moonvisor\", then runs until every VM has stopped.\n"
		"ARGS are available to the script in the global table `arg`, as in lua(1).\n"
		"\n"
		"Options:\n"
		"  -i, --interactive  after the script's top level, a Lua prompt on the\n"
		"                     terminal while the VMs run (see below)\n"
		"  --control PATH     serve REPL sessions on the Unix socket PATH (mode\n"
		"                     0600; clients of the same uid or root only)\n"
		"  --api-socket PATH  serve the REST API (Cloud Hypervisor's endpoints under\n"
		"                     /api/v1/, docs/api.md) on the Unix socket PATH (mode\n"
		"                     0600); the script is optional, and moonvisor runs\n"
		"                     until PUT /api/v1/vmm.shutdown or a signal\n"
		"  --event-monitor PATH  write every VM event to PATH, one JSON object\n"
		"                     per line\n"
		"  --seccomp=MODE     on (default; log in ASan builds): each thread runs\n"
		"                     under its own seccomp allow-list once set up (vCPU\n"
		"                     threads before the guest runs, the loop once the\n"
		"                     script's top level ends or first waits); a forbidden\n"
		"                     system call stops moonvisor with exit status 159 and\n"
		"                     a line naming the thread and the call. log: forbidden\n"
		"                     calls are allowed and logged by the kernel (dmesg,\n"
		"                     audit type=1326). off: no filters. Under on and log,\n"
		"                     os.execute, io.popen and loading C modules raise an\n"
		"                     error after set-up (docs/security.md).\n"
		"  -v, --verbose      more log output (twice for debug output)\n"
		"  -q, --quiet        only errors\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"The prompt (-i, and each `moonvisor repl SOCKET` session): Lua chunks\n"
		"run as tasks, so vm:wait() and mv.sleep() work; expressions print their\n"
		"values; `vm` is the script's first VM, `vms` all VMs by name, `mv` the\n"
		"module; Tab completes fields and methods (without running code); Ctrl-C\n"
		"cancels the running chunk or clears the line. With -i, Ctrl-D or `.quit`\n"
		"kills every VM and exits; stdin belongs to the prompt, so a \"stdio\"\n"
		"console only shows the guest's output (above the prompt) and the guest\n"
		"is reached with vm.console:write(...). `moonvisor repl SOCKET` attaches\n"
		"to --control SOCKET; with stdin not a terminal it runs each line and\n"
		"exits 0, 1 if a chunk failed, 2 if it could not connect.\n"
		"\n"
		"Exit status: 0 when the guests powered off; 1 on a script, configuration\n"
		"or VMM error; 2 when a guest panicked and no \"panic\" handler took it;\n"
		"128+N when stopped by signal N (SIGINT, SIGTERM); 159 (128+SIGSYS) when\n"
		"a seccomp filter caught a forbidden system call.\n"
		"\n"
		"With serial = \"stdio\" on a terminal, the console is raw: Ctrl-A x quits.\n"
		"Documentation: docs/ in the source tree.\n");
}

static void on_stop_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
	if (w->signum == SIGINT && repl__local_interrupt())
		return; /* Ctrl-C at the prompt: the chunk, not moonvisor */
	stop_signal = w->signum;
	repl__local_close();
	api_server__close();
	for (struct mv_vm *vm = vm__first(); vm; vm = vm->next)
		vm__kill(vm, MV_STOP_KILLED, 128 + w->signum);
}

static void set_arg_table(lua_State *L, int argc, char **argv, int script)
{
	lua_createtable(L, argc - script, script + 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

static int report_lua_error(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);

	fprintf(stderr, "moonvisor: %s\n", msg ? msg : "(error object is not a string)");
	lua_pop(L, 1);
	return EXIT_SCRIPT_ERROR;
}

/* -i: the chunk becomes repl.after_chunk(chunk, start_prompt). */
static void then_prompt(lua_State *L)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "moonvisor.repl");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "after_chunk");
	lua_remove(L, -2);
	lua_insert(L, -2);
	repl__push_local_start(L);
	lua_call(L, 2, 1);
}

/* The script's top level runs as the main task (so it may wait), then the
 * loop runs until every VM has stopped: mv._main in lua/lib/api.lua. */
static int run_script(lua_State *L, int argc, char **argv, const struct options *o)
{
	int script = o->script, nargs = argc - script - 1;

	lua_getglobal(L, "require");
	lua_pushliteral(L, "moonvisor");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "_main");
	if (script == 0) /* --api-socket without a script: an empty top level */
		luaL_loadstring(L, "");
	else if (luaL_loadfile(L, argv[script]) != LUA_OK)
		return report_lua_error(L);
	if (o->interactive)
		then_prompt(L);
	if (script == 0)
		nargs = 0;
	luaL_checkstack(L, nargs, "too many arguments");
	for (int i = script + 1; script > 0 && i < argc; i++)
		lua_pushstring(L, argv[i]);
	if (lua_pcall(L, nargs + 1, 2, 0) != LUA_OK)
		return report_lua_error(L);
	if (lua_isnil(L, -2))
		return report_lua_error(L);
	lua_pop(L, 3);
	return 0;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_CONTROL = 256, OPT_SECCOMP, OPT_API_SOCKET, OPT_EVENT_MONITOR };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' },
		{ "interactive", no_argument, NULL, 'i' }, { "control", required_argument, NULL, OPT_CONTROL },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
		{ "event-monitor", required_argument, NULL, OPT_EVENT_MONITOR }, { NULL, 0, NULL, 0 },
	};
	int c, level = MV_LOG_WARN;

	while ((c = getopt_long(argc, argv, "+hVvqi", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->interactive = true;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_API_SOCKET:
			o->api_socket = optarg;
			break;
		case OPT_EVENT_MONITOR:
			o->event_monitor = optarg;
			break;
		case OPT_SECCOMP:
			if (seccomp__parse_mode(optarg, &o->seccomp) < 0) {
				fprintf(stderr, "moonvisor: --seccomp=%s: expected on, log or off\n", optarg);
				exit(EXIT_SCRIPT_ERROR);
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("moonvisor %s (%s)\n", MV_VERSION, LUA_RELEASE);
			exit(0);
		case 'v':
			level = level < MV_LOG_DEBUG ? level + 1 : level;
			break;
		case 'q':
			level = MV_LOG_ERROR;
			break;
		default:
			usage(stderr);
			exit(EXIT_SCRIPT_ERROR);
		}
	}
	log__set_level((enum mv_log_level)level);
	if (optind >= argc && o->api_socket) {
		o->script = 0; /* no script: the API alone */
		return;
	}
	if (optind >= argc) {
		fprintf(stderr, "moonvisor: no script given\n\n");
		usage(stderr);
		exit(EXIT_SCRIPT_ERROR);
	}
	o->script = optind;
}

static int open_control(const char *path)
{
	struct mv_err err = { "" };

	if (!path || repl__server_open(path, &err) == 0)
		return 0;
	fprintf(stderr, "moonvisor: %s\n", err.msg);
	return EXIT_SCRIPT_ERROR;
}

/* mv.api.FN(path) from lua/lib/restapi.lua: nil, err is reported. */
static int call_api(lua_State *L, const char *fn, const char *path)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "moonvisor");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "api");
	lua_getfield(L, -1, fn);
	lua_pushstring(L, path);
	if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
		lua_replace(L, -3);
		lua_pop(L, 1);
		return report_lua_error(L);
	}
	if (lua_isnil(L, -2)) {
		lua_replace(L, -4);
		lua_pop(L, 2);
		return report_lua_error(L);
	}
	lua_pop(L, 4);
	return 0;
}

static int open_api(lua_State *L, const struct options *o)
{
	int status = 0;

	if (o->event_monitor)
		status = call_api(L, "event_monitor", o->event_monitor);
	if (status == 0 && o->api_socket)
		status = call_api(L, "listen", o->api_socket);
	return status;
}

static int start_seccomp(enum mv_seccomp_mode mode)
{
	struct mv_err err = { "" };

	if (seccomp__init(mode, &err) == 0)
		return 0;
	fprintf(stderr, "moonvisor: %s\n", err.msg);
	return EXIT_SCRIPT_ERROR;
}

/* -i: the prompt may outlive the script's loop; it runs under the filter. */
static int run_prompt(lua_State *L, const struct options *o)
{
	if (!o->interactive)
		return 0;
	lua_pushcfunction(L, mvlua__sandbox_enter);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		return report_lua_error(L);
	repl__local_run(L);
	return 0;
}

int main(int argc, char **argv)
{
	struct options opts = { .seccomp = MV_SECCOMP_DEFAULT };
	ev_signal sigint, sigterm;
	struct mv_loop *loop;
	lua_State *L;
	int status;

	if (argc >= 2 && strcmp(argv[1], "repl") == 0)
		return repl_client__main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "remote") == 0)
		return remote__main(argc - 1, argv + 1);
	jail__note_inherited_fds(); /* before we open anything */
	parse_options(argc, argv, &opts);
	if (start_seccomp(opts.seccomp) != 0)
		return EXIT_SCRIPT_ERROR;
	signal(SIGPIPE, SIG_IGN);
	L = luaL_newstate();
	if (!L) {
		fprintf(stderr, "moonvisor: cannot create a Lua state\n");
		return EXIT_SCRIPT_ERROR;
	}
	luaL_openlibs(L);
	luaL_requiref(L, "moonvisor", mvlua__open, 0);
	lua_pop(L, 1);
	loop = mvlua__loop();
	ev_signal_init(&sigint, on_stop_signal, SIGINT);
	ev_signal_init(&sigterm, on_stop_signal, SIGTERM);
	ev_signal_start(loop->ev, &sigint);
	ev_signal_start(loop->ev, &sigterm);
	ev_unref(loop->ev);
	ev_unref(loop->ev);
	set_arg_table(L, argc, argv, opts.script);
	if (opts.interactive)
		repl__local_claim();
	status = open_control(opts.control);
	if (status == 0)
		status = open_api(L, &opts);
	if (status == 0)
		status = run_script(L, argc, argv, &opts);
	if (status == 0)
		status = run_prompt(L, &opts);
	if (status == 0)
		status = stop_signal ? 128 + stop_signal : vm__exit_status();
	repl__local_close();
	repl__server_close();
	api_server__close();
	lua_close(L);
	return status;
}
