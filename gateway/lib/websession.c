/*
 * websession.c: sign-in sessions and the delay after failures (see websession.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "piugw/error.h"
#include "websession.h"

#define DIGEST 32
#define THROTTLE_MAX 256 /* user names remembered with failures */
#define WAIT_MAX_MS 60000

struct slot {
	bool used;
	uint8_t digest[DIGEST]; /* BLAKE2b of the token */
	struct websession s;
};

struct throttle {
	char user[WEBSESSION_USER_MAX + 1];
	unsigned failures;
	int64_t until_ms;
};

struct websession_table {
	pthread_mutex_t mu;
	struct slot *slots;
	size_t max;
	int64_t idle_ms, max_ms;
	struct throttle th[THROTTLE_MAX];
};

/* See websession.h. */
int
websession_table_new(size_t max, int64_t idle_ms, int64_t max_ms, struct websession_table **outp)
{
	struct websession_table *t = calloc(1, sizeof(*t));

	*outp = NULL;
	if (t == NULL || max == 0 || (t->slots = calloc(max, sizeof(*t->slots))) == NULL) {
		free(t);
		return PIUGW_ENOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->max = max;
	t->idle_ms = idle_ms;
	t->max_ms = max_ms;
	*outp = t;
	return 0;
}

/* See websession.h. */
void
websession_table_free(struct websession_table **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	sodium_memzero((*tp)->slots, (*tp)->max * sizeof(*(*tp)->slots));
	free((*tp)->slots);
	pthread_mutex_destroy(&(*tp)->mu);
	free(*tp);
	*tp = NULL;
}

static bool
live(const struct websession_table *t, const struct slot *sl, int64_t now_ms)
{
	return sl->used && now_ms - sl->s.last_ms < t->idle_ms &&
	       now_ms - sl->s.created_ms < t->max_ms;
}

static void
digest_of(const char *token, uint8_t out[DIGEST])
{
	crypto_generichash(out, DIGEST, (const uint8_t *)token, strlen(token), NULL, 0);
}

/* See websession.h. */
int
websession_create(struct websession_table *t, const char *user, unsigned roles, int64_t now_ms,
		  char token[WEBSESSION_TOKEN_HEX + 1], struct websession *out)
{
	uint8_t raw[WEBSESSION_TOKEN_HEX / 2];
	struct slot *sl = NULL;

	if (strlen(user) > WEBSESSION_USER_MAX)
		return PIUGW_EINVAL;
	pthread_mutex_lock(&t->mu);
	/* A free or ended slot; else the one used longest ago. */
	for (size_t i = 0; i < t->max && sl == NULL; i++)
		if (!live(t, &t->slots[i], now_ms))
			sl = &t->slots[i];
	if (sl == NULL) {
		sl = &t->slots[0];
		for (size_t i = 1; i < t->max; i++)
			if (t->slots[i].s.last_ms < sl->s.last_ms)
				sl = &t->slots[i];
	}
	memset(sl, 0, sizeof(*sl));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, WEBSESSION_TOKEN_HEX + 1, raw, sizeof(raw));
	digest_of(token, sl->digest);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(sl->s.csrf, sizeof(sl->s.csrf), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	snprintf(sl->s.user, sizeof(sl->s.user), "%s", user);
	sl->s.roles = roles;
	sl->s.created_ms = sl->s.last_ms = now_ms;
	sl->used = true;
	if (out != NULL)
		*out = sl->s;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static struct slot *
find(struct websession_table *t, const char *token)
{
	uint8_t d[DIGEST];
	struct slot *found = NULL;

	if (token == NULL || strlen(token) != WEBSESSION_TOKEN_HEX)
		return NULL;
	digest_of(token, d);
	for (size_t i = 0; i < t->max; i++)
		if (t->slots[i].used && sodium_memcmp(t->slots[i].digest, d, DIGEST) == 0)
			found = &t->slots[i];
	return found;
}

/* See websession.h. */
bool
websession_get(struct websession_table *t, const char *token, int64_t now_ms,
	       struct websession *out)
{
	struct slot *sl;
	bool ok = false;

	pthread_mutex_lock(&t->mu);
	if ((sl = find(t, token)) != NULL) {
		if (live(t, sl, now_ms)) {
			sl->s.last_ms = now_ms;
			*out = sl->s;
			ok = true;
		} else {
			memset(sl, 0, sizeof(*sl));
		}
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

/* See websession.h. */
void
websession_end(struct websession_table *t, const char *token)
{
	struct slot *sl;

	pthread_mutex_lock(&t->mu);
	if ((sl = find(t, token)) != NULL)
		sodium_memzero(sl, sizeof(*sl));
	pthread_mutex_unlock(&t->mu);
}

/* See websession.h. */
bool
websession_csrf_ok(const struct websession *s, const char *csrf)
{
	return csrf != NULL && strlen(csrf) == WEBSESSION_TOKEN_HEX &&
	       sodium_memcmp(s->csrf, csrf, WEBSESSION_TOKEN_HEX) == 0;
}

/* See websession.h. */
size_t
websession_count(struct websession_table *t, int64_t now_ms)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->max; i++)
		n += live(t, &t->slots[i], now_ms);
	pthread_mutex_unlock(&t->mu);
	return n;
}

static struct throttle *
throttle_of(struct websession_table *t, const char *user, bool make, int64_t now_ms)
{
	struct throttle *free_one = NULL;

	for (size_t i = 0; i < THROTTLE_MAX; i++) {
		struct throttle *th = &t->th[i];
		if (th->failures > 0 && strcmp(th->user, user) == 0)
			return th;
		/* A name whose wait is long over is forgotten. */
		if (free_one == NULL &&
		    (th->failures == 0 || now_ms - th->until_ms > 10 * WAIT_MAX_MS))
			free_one = th;
	}
	if (!make)
		return NULL;
	if (free_one == NULL) /* full: the oldest wait gives way */
		for (size_t i = 0; i < THROTTLE_MAX; i++)
			if (free_one == NULL || t->th[i].until_ms < free_one->until_ms)
				free_one = &t->th[i];
	memset(free_one, 0, sizeof(*free_one));
	snprintf(free_one->user, sizeof(free_one->user), "%s", user);
	return free_one;
}

/* See websession.h. */
int64_t
websession_signin_wait(struct websession_table *t, const char *user, int64_t now_ms)
{
	struct throttle *th;
	int64_t w = 0;

	pthread_mutex_lock(&t->mu);
	if ((th = throttle_of(t, user, false, now_ms)) != NULL && th->until_ms > now_ms)
		w = th->until_ms - now_ms;
	pthread_mutex_unlock(&t->mu);
	return w;
}

/* See websession.h. */
void
websession_signin_failed(struct websession_table *t, const char *user, int64_t now_ms)
{
	struct throttle *th;
	int64_t w;

	pthread_mutex_lock(&t->mu);
	th = throttle_of(t, user, true, now_ms);
	th->failures++;
	w = th->failures > 7 ? WAIT_MAX_MS : (int64_t)1000 << (th->failures - 1);
	th->until_ms = now_ms + (w > WAIT_MAX_MS ? WAIT_MAX_MS : w);
	pthread_mutex_unlock(&t->mu);
}

/* See websession.h. */
void
websession_signin_ok(struct websession_table *t, const char *user)
{
	struct throttle *th;

	pthread_mutex_lock(&t->mu);
	if ((th = throttle_of(t, user, false, 0)) != NULL)
		memset(th, 0, sizeof(*th));
	pthread_mutex_unlock(&t->mu);
}
