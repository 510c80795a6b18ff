/* The event loop (libev), owned by one thread: the only thread that touches
 * Lua. Other threads hand it work with loop__post. */
#ifndef MV_LOOP_H
#define MV_LOOP_H

#include <ev.h>
#include <pthread.h>
#include <stdint.h>

#include "core/compiler.h"

typedef void (*mv_post_fn)(void *arg, uint64_t data);

struct mv_post;

struct mv_loop {
	struct ev_loop *ev;
	ev_async wake;
	pthread_mutex_t lock;
	struct mv_post *head, *tail;
	pthread_t owner;
};

/* Uses libev's default loop (so SIGCHLD etc. work). */
int loop__init(struct mv_loop *l) MV_MUST_CHECK;
void loop__destroy(struct mv_loop *l);
/* Any thread: runs fn(arg, data) on the loop thread soon. Records are
 * drained in order, all at once. -ENOMEM if the record cannot be queued. */
int loop__post(struct mv_loop *l, mv_post_fn fn, void *arg, uint64_t data) MV_MUST_CHECK;
/* Runs queued records now (loop thread only; also done by the loop). */
void loop__drain(struct mv_loop *l);

#endif
