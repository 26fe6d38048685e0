/*
 * test_websession.c: sessions (tokens, CSRF, idle and absolute ends, the
 * oldest giving way) and the growing wait after failed sign-ins, with the
 * time given, so nothing here waits.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "testutil.h"
#include "websession.h"

static void
sessions(void **state)
{
	(void)state;
	struct websession_table *t = NULL;
	struct websession s, g;
	char tok[WEBSESSION_TOKEN_HEX + 1], tok2[WEBSESSION_TOKEN_HEX + 1];
	char wrong[WEBSESSION_TOKEN_HEX + 1];

	assert_int_equal(websession_table_new(2, 60000, 3600000, &t), 0);
	assert_int_equal(websession_create(t, "alice", 1, 1000, tok, &s), 0);
	assert_int_equal(strlen(tok), WEBSESSION_TOKEN_HEX);
	assert_int_equal(strlen(s.csrf), WEBSESSION_TOKEN_HEX);
	assert_true(strcmp(tok, s.csrf) != 0);
	assert_true(websession_get(t, tok, 2000, &g));
	assert_string_equal(g.user, "alice");
	assert_int_equal(g.roles, 1);
	/* CSRF: the session's own token only. */
	assert_true(websession_csrf_ok(&g, s.csrf));
	assert_false(websession_csrf_ok(&g, NULL));
	assert_false(websession_csrf_ok(&g, tok));
	assert_false(websession_csrf_ok(&g, "abc"));
	/* A token one character off, or cut short, is no session. */
	memcpy(wrong, tok, sizeof(wrong));
	wrong[5] = wrong[5] == 'a' ? 'b' : 'a';
	assert_false(websession_get(t, wrong, 2000, &g));
	wrong[5] = '\0';
	assert_false(websession_get(t, wrong, 2000, &g));
	assert_false(websession_get(t, NULL, 2000, &g));
	/* Idle: each use moves the end on; 60 s without one ends it. */
	assert_true(websession_get(t, tok, 61000, &g));
	assert_true(websession_get(t, tok, 120000, &g));
	assert_false(websession_get(t, tok, 180001, &g));
	assert_false(websession_get(t, tok, 180002, &g));
	/* Absolute: an hour, however busy. */
	assert_int_equal(websession_create(t, "bob", 2, 0, tok, NULL), 0);
	for (int64_t at = 50000; at < 3600000; at += 50000)
		assert_true(websession_get(t, tok, at, &g));
	assert_false(websession_get(t, tok, 3600000, &g));
	/* Signed out. */
	assert_int_equal(websession_create(t, "carol", 2, 4000000, tok, NULL), 0);
	websession_end(t, tok);
	assert_false(websession_get(t, tok, 4000001, &g));
	/* Full: the session used longest ago gives way. */
	assert_int_equal(websession_create(t, "d1", 1, 5000000, tok, NULL), 0);
	assert_int_equal(websession_create(t, "d2", 1, 5000010, tok2, NULL), 0);
	assert_true(websession_get(t, tok, 5000020, &g));
	assert_int_equal(websession_count(t, 5000020), 2);
	assert_int_equal(websession_create(t, "d3", 1, 5000030, wrong, NULL), 0);
	assert_true(websession_get(t, tok, 5000040, &g));
	assert_string_equal(g.user, "d1");
	assert_false(websession_get(t, tok2, 5000040, &g));
	assert_true(websession_get(t, wrong, 5000040, &g));
	assert_string_equal(g.user, "d3");
	/* A user name longer than a user's is refused. */
	assert_int_not_equal(websession_create(t, "0123456789012345678901234567890123456789"
						  "0123456789012345678901234567890",
					       1, 0, tok, NULL),
			     0);
	websession_table_free(&t);
	assert_null(t);
}

static void
signin_delay(void **state)
{
	(void)state;
	struct websession_table *t = NULL;

	assert_int_equal(websession_table_new(4, 60000, 3600000, &t), 0);
	assert_int_equal(websession_signin_wait(t, "alice", 0), 0);
	websession_signin_failed(t, "alice", 1000);
	assert_int_equal(websession_signin_wait(t, "alice", 1000), 1000);
	assert_int_equal(websession_signin_wait(t, "alice", 2000), 0);
	/* Others are not held back by alice's failures. */
	assert_int_equal(websession_signin_wait(t, "bob", 1000), 0);
	websession_signin_failed(t, "alice", 2000);
	assert_int_equal(websession_signin_wait(t, "alice", 2000), 2000);
	websession_signin_failed(t, "alice", 4000);
	assert_int_equal(websession_signin_wait(t, "alice", 4000), 4000);
	for (int i = 0; i < 10; i++)
		websession_signin_failed(t, "alice", 10000);
	assert_int_equal(websession_signin_wait(t, "alice", 10000), 60000);
	/* A success clears it. */
	websession_signin_ok(t, "alice");
	assert_int_equal(websession_signin_wait(t, "alice", 10000), 0);
	/* Many names: each keeps its own wait while there is room. */
	for (int i = 0; i < 300; i++) {
		char u[16];
		snprintf(u, sizeof(u), "u%d", i);
		websession_signin_failed(t, u, 20000);
	}
	assert_int_equal(websession_signin_wait(t, "u299", 20000), 1000);
	websession_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sessions),
		cmocka_unit_test(signin_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
