#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mv_post {
	struct mv_post *next;
	mv_post_fn fn;
	void *arg;
	uint64_t data;
};

static void wake_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	loop__drain(w->data);
}

int loop__init(struct mv_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->ev = ev_default_loop(EVFLAG_AUTO);
	if (!l->ev)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	ev_async_init(&l->wake, wake_cb);
	l->wake.data = l;
	ev_async_start(l->ev, &l->wake);
	ev_unref(l->ev); /* the wake-up watcher alone does not keep the loop alive */
	l->owner = pthread_self();
	return 0;
}

void loop__destroy(struct mv_loop *l)
{
	if (!l->ev)
		return;
	loop__drain(l);
	ev_ref(l->ev);
	ev_async_stop(l->ev, &l->wake);
	pthread_mutex_destroy(&l->lock);
	l->ev = NULL;
}

int loop__post(struct mv_loop *l, mv_post_fn fn, void *arg, uint64_t data)
{
	struct mv_post *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	*p = (struct mv_post){ NULL, fn, arg, data };
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	pthread_mutex_unlock(&l->lock);
	ev_async_send(l->ev, &l->wake);
	return 0;
}

void loop__drain(struct mv_loop *l)
{
	struct mv_post *p;

	pthread_mutex_lock(&l->lock);
	p = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	while (p) {
		struct mv_post *next = p->next;
		p->fn(p->arg, p->data);
		free(p);
		p = next;
	}
}
