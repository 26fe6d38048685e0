/*
 * pool.h: helper threads for work that can run side by side, fork-join.
 *
 * The gateway's loop is one thread; pool_for() lets it spread a batch of
 * independent pieces of work (opening the envelopes that came in during one
 * turn: Ed25519 verification is the largest single cost of a message) over
 * itself and the pool's helpers, and returns when all are done. Nothing
 * else runs on the helpers, so fn needs only be safe to run on different
 * items at once.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_POOL_H
#define PIUGW_POOL_H

#include <stddef.h>

struct pool;

/*
 * A pool of `helpers` threads (0: pool_for runs everything on the caller).
 * Returns 0 or PIUGW_ENOMEM / PIUGW_ESYSTEM.
 */
int pool_new(unsigned helpers, struct pool **out);
/* Helpers for this machine: one fewer than the processors online, at most 3. */
unsigned pool_default_helpers(void);
unsigned pool_helpers(const struct pool *p);
/* Runs fn(arg, i) once for every i < n, on the caller and the helpers; returns when done. */
void pool_for(struct pool *p, size_t n, void (*fn)(void *arg, size_t i), void *arg);
/* Stops and joins the helpers. NULL is fine. */
void pool_free(struct pool *p);

#endif
