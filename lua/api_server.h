/* lua/l_api_server.c: the REST API's HTTP server (see there). */
#ifndef MV_LUA_API_SERVER_H
#define MV_LUA_API_SERVER_H

#include <lua.h>

/* core.api_listen, api_respond, api_close, api_listening, api_clients,
 * getpid on the core table on top of the stack. */
void mvlua__register_api_server(lua_State *L);
/* Closes the socket and every client (a last flush of pending answers). */
void api_server__close(void);

#endif
