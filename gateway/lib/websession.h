/*
 * websession.h: the web console's sign-in sessions, and the delay after a
 * failed sign-in. Thread-safe (one mutex); time is the caller's (now_ms),
 * so that the rules are tested without waiting.
 *
 * A session is named by a 256-bit random token, kept only as its BLAKE2b
 * digest (a copy of the table, or a timing of its lookups, gives no
 * session away). Each session has its own CSRF token, which every request
 * that changes something carries in a header the browser sends only from
 * our own pages. A session ends after idle_ms without a request, after
 * max_ms in any case, or when signed out.
 *
 * Failed sign-ins for one user name make the next wait 1, 2, 4 ... up to
 * 60 seconds; a success clears it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_WEBSESSION_H
#define PIUGW_WEBSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBSESSION_TOKEN_HEX 64 /* 32 random bytes in hex */
#define WEBSESSION_USER_MAX 64

struct websession_table;

struct websession {
	char user[WEBSESSION_USER_MAX + 1];
	unsigned roles; /* WEB_ROLE_* */
	char csrf[WEBSESSION_TOKEN_HEX + 1];
	int64_t created_ms, last_ms;
};

/* A table of at most max sessions (the oldest is ended for a new one when full). */
int websession_table_new(size_t max, int64_t idle_ms, int64_t max_ms,
			 struct websession_table **outp);
void websession_table_free(struct websession_table **tp);

/* A new session for user: its token (the cookie's value) and *out. */
int websession_create(struct websession_table *t, const char *user, unsigned roles,
		      int64_t now_ms, char token[WEBSESSION_TOKEN_HEX + 1], struct websession *out);
/* The session of token, in force at now_ms (and then counted as used): true with *out. */
bool websession_get(struct websession_table *t, const char *token, int64_t now_ms,
		    struct websession *out);
/* End the session of token (nothing if none). */
void websession_end(struct websession_table *t, const char *token);
/* Does csrf (a request header; NULL: none) match the session's? In constant time. */
bool websession_csrf_ok(const struct websession *s, const char *csrf);
/* Sessions in force at now_ms. */
size_t websession_count(struct websession_table *t, int64_t now_ms);

/* Milliseconds user must wait before a sign-in is tried (0: now). */
int64_t websession_signin_wait(struct websession_table *t, const char *user, int64_t now_ms);
void websession_signin_failed(struct websession_table *t, const char *user, int64_t now_ms);
void websession_signin_ok(struct websession_table *t, const char *user);

#endif /* PIUGW_WEBSESSION_H */
