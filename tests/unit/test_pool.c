/*
 * test_pool.c: pool_for runs every item exactly once, really side by side
 * when there are helpers, and one batch after another without mixing them.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "pool.h"
#include "testutil.h"

struct counts {
	atomic_int hits[1000];
	size_t n;
};

static void
count(void *arg, size_t i)
{
	struct counts *c = arg;

	assert_true(i < c->n);
	atomic_fetch_add(&c->hits[i], 1);
}

static void
every_item_once(void **state)
{
	static const size_t sizes[] = {0, 1, 2, 3, 64, 1000};
	(void)state;

	for (unsigned helpers = 0; helpers <= 3; helpers++) {
		struct pool *p;
		assert_int_equal(pool_new(helpers, &p), 0);
		assert_int_equal(pool_helpers(p), helpers);
		for (int round = 0; round < 50; round++) {
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				static struct counts c;
				c.n = sizes[s];
				for (size_t i = 0; i < c.n; i++)
					atomic_init(&c.hits[i], 0);
				pool_for(p, c.n, count, &c);
				/* pool_for returned: every item is done, each once. */
				for (size_t i = 0; i < c.n; i++)
					assert_int_equal(atomic_load(&c.hits[i]), 1);
			}
		}
		pool_free(p);
	}
	assert_true(pool_default_helpers() <= 3);
	pool_free(NULL);
}

/* Two items that can only finish if they run at the same time. */
struct meet {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int arrived;
	bool timed_out;
	pthread_t who[2];
};

static void
meet(void *arg, size_t i)
{
	struct meet *m = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&m->lock);
	m->who[i] = pthread_self();
	m->arrived++;
	pthread_cond_broadcast(&m->cond);
	while (m->arrived < 2 && !m->timed_out)
		if (pthread_cond_timedwait(&m->cond, &m->lock, &until) != 0)
			m->timed_out = true;
	pthread_mutex_unlock(&m->lock);
}

static void
runs_side_by_side(void **state)
{
	struct pool *p;
	struct meet m = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	(void)state;

	assert_int_equal(pool_new(1, &p), 0);
	pool_for(p, 2, meet, &m);
	assert_false(m.timed_out);
	assert_int_equal(m.arrived, 2);
	assert_false(pthread_equal(m.who[0], m.who[1]));
	pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_item_once),
		cmocka_unit_test(runs_side_by_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
