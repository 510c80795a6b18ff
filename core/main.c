/* moonvisor SCRIPT.lua [ARGS...]: run a Lua VM definition, then the event
 * loop until every VM has stopped. */
#include <getopt.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"
#include "lua/state.h"

#define EXIT_SCRIPT_ERROR 1

static int stop_signal;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: moonvisor [OPTIONS] SCRIPT.lua [ARGS...]\n"
		"\n"
		"Runs SCRIPT.lua, a Lua program that defines and starts virtual machines\n"
		"with require \"moonvisor\", then runs until every VM has stopped.\n"
		"ARGS are available to the script in the global table `arg`, as in lua(1).\n"
		"\n"
		"Options:\n"
		"  -v, --verbose   more log output (twice for debug output)\n"
		"  -q, --quiet     only errors\n"
		"  -V, --version   print the version and exit\n"
		"  -h, --help      print this help and exit\n"
		"\n"
		"Exit status: 0 when the guests powered off; 1 on a script, configuration\n"
		"or VMM error; 128+N when stopped by signal N (SIGINT, SIGTERM).\n"
		"\n"
		"With serial = \"stdio\" on a terminal, the console is raw: Ctrl-A x quits.\n"
		"Documentation: docs/ in the source tree.\n");
}

static void on_stop_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
	stop_signal = w->signum;
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

/* The script's top level runs as the main task (so it may wait), then the
 * loop runs until every VM has stopped: mv._main in lua/lib/api.lua. */
static int run_script(lua_State *L, int argc, char **argv, int script)
{
	int nargs = argc - script - 1;

	lua_getglobal(L, "require");
	lua_pushliteral(L, "moonvisor");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "_main");
	if (luaL_loadfile(L, argv[script]) != LUA_OK)
		return report_lua_error(L);
	luaL_checkstack(L, nargs, "too many arguments");
	for (int i = script + 1; i < argc; i++)
		lua_pushstring(L, argv[i]);
	if (lua_pcall(L, nargs + 1, 2, 0) != LUA_OK)
		return report_lua_error(L);
	if (lua_isnil(L, -2))
		return report_lua_error(L);
	lua_pop(L, 3);
	return 0;
}

static int parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int c, level = MV_LOG_WARN;

	while ((c = getopt_long(argc, argv, "+hVvq", opts, NULL)) != -1) {
		switch (c) {
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
	if (optind >= argc) {
		fprintf(stderr, "moonvisor: no script given\n\n");
		usage(stderr);
		exit(EXIT_SCRIPT_ERROR);
	}
	return optind;
}

int main(int argc, char **argv)
{
	int script = parse_options(argc, argv);
	ev_signal sigint, sigterm;
	struct mv_loop *loop;
	lua_State *L;
	int status;

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
	set_arg_table(L, argc, argv, script);
	status = run_script(L, argc, argv, script);
	if (status == 0)
		status = stop_signal ? 128 + stop_signal : vm__exit_status();
	lua_close(L);
	return status;
}
