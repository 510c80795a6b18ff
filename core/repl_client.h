/* `moonvisor repl SOCKET`: a REPL attached to the control socket of a
 * running `moonvisor --control SOCKET` (protocol: lua/l_repl_server.c).
 * On a terminal it edits lines locally (libedit) while the server
 * evaluates; otherwise it sends stdin line by line and exits once the last
 * chunk has finished: 0, 1 if a chunk failed, 2 if it could not connect. */
#ifndef MV_REPL_CLIENT_H
#define MV_REPL_CLIENT_H

/* argv[0] is "repl". Returns the exit status. */
int repl_client__main(int argc, char **argv);

#endif
