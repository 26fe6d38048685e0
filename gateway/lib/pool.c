/*
 * pool.c: see pool.h.
 *
 * One job at a time: pool_for publishes (fn, arg, n), bumps a generation
 * number and wakes the helpers; everyone takes the next index from an
 * atomic counter until none is left; the caller waits until every helper
 * has finished the generation. Small batches (one item) never wake anyone.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "piugw/error.h"

#define POOL_HELPERS_MAX 3

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* helpers: a new generation, or stop */
	pthread_cond_t done;  /* caller: a helper finished the generation */
	pthread_t *threads;
	unsigned n;
	unsigned long gen;    /* under lock */
	unsigned busy;        /* helpers still on this generation, under lock */
	bool stop;            /* under lock */
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t total;
	atomic_size_t next;
};

static void
drain(struct pool *p)
{
	size_t i;

	while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->total)
		p->fn(p->arg, i);
}

static void *
helper_main(void *v)
{
	struct pool *p = v;
	unsigned long seen = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->lock);
		drain(p);
		pthread_mutex_lock(&p->lock);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* See pool.h. */
unsigned
pool_default_helpers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n - 1 > POOL_HELPERS_MAX ? POOL_HELPERS_MAX : (unsigned)(n - 1);
}

/* See pool.h. */
unsigned
pool_helpers(const struct pool *p)
{
	return p != NULL ? p->n : 0;
}

/* See pool.h. */
int
pool_new(unsigned helpers, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return PIUGW_ENOMEM;
	if (helpers > POOL_HELPERS_MAX)
		helpers = POOL_HELPERS_MAX;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->next, 0);
	if (helpers > 0 && (p->threads = calloc(helpers, sizeof(*p->threads))) == NULL) {
		pool_free(p);
		return PIUGW_ENOMEM;
	}
	for (; p->n < helpers; p->n++) {
		if (pthread_create(&p->threads[p->n], NULL, helper_main, p) != 0) {
			pool_free(p);
			return PIUGW_ESYSTEM;
		}
	}
	*out = p;
	return 0;
}

/* See pool.h. */
void
pool_for(struct pool *p, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	if (p == NULL || p->n == 0 || n < 2) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->total = n;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	p->busy = p->n;
	p->gen++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	drain(p);
	pthread_mutex_lock(&p->lock);
	while (p->busy > 0)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

/* See pool.h. */
void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
