/*
 * test_state.c: the gateway's state.db on real SQLite files: the replay
 * rule of PROTOCOL.md section 8 (new, in progress, the same reply bytes for
 * a repeat, REPLAYED for other bytes), across a reopen and an upgrade from
 * schema 1, expiry, batched transactions.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "piugw/error.h"
#include "state.h"
#include "testutil.h"

struct fx {
	char *dir, *path;
	struct state *s;
};

static void
reopen(struct fx *f)
{
	struct diag d;

	state_close(&f->s);
	diag_init(&d);
	if (state_open(f->path, &f->s, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("state_open failed");
	}
	diag_clear(&d);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_tmpdir();
	f->path = tu_path(f->dir, "state.db");
	reopen(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	state_close(&f->s);
	free(f->path);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void
mid_of(uint8_t id[STATE_ID_BYTES], unsigned n)
{
	memset(id, 0xA5, STATE_ID_BYTES);
	memcpy(id, &n, sizeof(n));
}

static int
check(struct state *s, const char *sender, unsigned n, uint8_t hash_byte, int64_t now,
      uint8_t **reply, size_t *len)
{
	uint8_t id[STATE_ID_BYTES], h[STATE_HASH_BYTES];
	uint8_t *r = NULL;
	size_t l = 0;
	int seen = -1;

	mid_of(id, n);
	memset(h, hash_byte, sizeof(h));
	assert_int_equal(state_replay_check(s, sender, id, h, now, UINT64_MAX, &seen, &r, &l), 0);
	if (reply != NULL) {
		*reply = r;
		*len = l;
	} else {
		free(r);
	}
	return seen;
}

static void
set_reply(struct state *s, const char *sender, unsigned n, const char *bytes)
{
	uint8_t id[STATE_ID_BYTES];

	mid_of(id, n);
	assert_int_equal(
		state_replay_set_reply(s, sender, id, (const uint8_t *)bytes, strlen(bytes), 0), 0);
}

static void
assert_repeat(struct state *s, const char *sender, unsigned n, uint8_t hash_byte,
	      const char *bytes)
{
	uint8_t *r = NULL;
	size_t l = 0;

	assert_int_equal(check(s, sender, n, hash_byte, 1000, &r, &l), STATE_SEEN_REPEAT);
	assert_int_equal(l, strlen(bytes));
	assert_memory_equal(r, bytes, l);
	free(r);
}

static void
replay_rule(void **state)
{
	struct fx *f = *state;
	uint8_t id[STATE_ID_BYTES];

	assert_int_equal(check(f->s, "XA-PIU", 1, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	/* Same bytes while the answer is being made: dropped, not processed again. */
	assert_int_equal(check(f->s, "XA-PIU", 1, 1, 1001, NULL, NULL), STATE_SEEN_IN_PROGRESS);
	set_reply(f->s, "XA-PIU", 1, "reply one");
	assert_repeat(f->s, "XA-PIU", 1, 1, "reply one");
	/* Other bytes under the same id. */
	assert_int_equal(check(f->s, "XA-PIU", 1, 2, 1002, NULL, NULL), STATE_SEEN_REPLAYED);
	/* The same id from another sender is another request. */
	assert_int_equal(check(f->s, "XC-PIU", 1, 2, 1003, NULL, NULL), STATE_SEEN_NEW);
	assert_int_equal(check(f->s, "XC-PIU", 1, 1, 1003, NULL, NULL), STATE_SEEN_REPLAYED);
	/* A reply for a request never seen is refused, not invented. */
	mid_of(id, 99);
	assert_int_equal(state_replay_set_reply(f->s, "XA-PIU", id, (const uint8_t *)"x", 1, 0),
			 PIUGW_EUNKNOWNQUERY);
}

/*
 * A reply is kept in the turn's one commit, before its audit record is
 * durable: until it is, a repeat is IN_PROGRESS, never answered with it;
 * and a reply whose record never reached the log (a crash between the
 * commit and the flush) is undone on opening, its request then IN_PROGRESS.
 */
static void
replies_wait_for_their_audit_record(void **state)
{
	struct fx *f = *state;
	uint8_t id[STATE_ID_BYTES], h[STATE_HASH_BYTES], *r = NULL;
	size_t l = 0;
	int seen = -1;
	uint64_t n = 9;

	assert_int_equal(check(f->s, "XA-PIU", 1, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	assert_int_equal(check(f->s, "XA-PIU", 2, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	mid_of(id, 1);
	assert_int_equal(state_replay_set_reply(f->s, "XA-PIU", id, (const uint8_t *)"r1", 2, 40), 0);
	mid_of(id, 2);
	assert_int_equal(state_replay_set_reply(f->s, "XA-PIU", id, (const uint8_t *)"r2", 2, 41), 0);
	memset(h, 1, sizeof(h));
	mid_of(id, 1);
	assert_int_equal(state_replay_check(f->s, "XA-PIU", id, h, 1001, 39, &seen, &r, &l), 0);
	assert_int_equal(seen, STATE_SEEN_IN_PROGRESS);
	assert_null(r);
	assert_int_equal(state_replay_check(f->s, "XA-PIU", id, h, 1001, 40, &seen, &r, &l), 0);
	assert_int_equal(seen, STATE_SEEN_REPEAT);
	assert_memory_equal(r, "r1", 2);
	free(r);
	/* The log was found at 40 on opening: record 41 never was, nor its reply. */
	assert_int_equal(state_replay_unaudited(f->s, 40, &n), 0);
	assert_int_equal(n, 1);
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 1, 1, "r1");
	assert_int_equal(check(f->s, "XA-PIU", 2, 1, 1002, NULL, NULL), STATE_SEEN_IN_PROGRESS);
}

static void
survives_reopen_and_grows(void **state)
{
	struct fx *f = *state;
	char buf[32];

	/* Enough requests to grow the index several times. */
	for (unsigned i = 0; i < 5000; i++) {
		assert_int_equal(check(f->s, "XA-PIU", i, 7, 1000 + i, NULL, NULL), STATE_SEEN_NEW);
		if (i % 2 == 0) {
			snprintf(buf, sizeof(buf), "reply %u", i);
			set_reply(f->s, "XA-PIU", i, buf);
		}
	}
	reopen(f);
	for (unsigned i = 0; i < 5000; i += 7) {
		if (i % 2 == 0) {
			snprintf(buf, sizeof(buf), "reply %u", i);
			assert_repeat(f->s, "XA-PIU", i, 7, buf);
		} else {
			assert_int_equal(check(f->s, "XA-PIU", i, 7, 9000, NULL, NULL),
					 STATE_SEEN_IN_PROGRESS);
		}
		assert_int_equal(check(f->s, "XA-PIU", i, 8, 9000, NULL, NULL), STATE_SEEN_REPLAYED);
	}
}

static void
expiry_forgets_only_the_old(void **state)
{
	struct fx *f = *state;
	uint64_t gone = 0;

	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(check(f->s, "XA-PIU", i, 1, 1000 + i, NULL, NULL), STATE_SEEN_NEW);
	set_reply(f->s, "XA-PIU", 80, "kept");
	assert_int_equal(state_replay_expire(f->s, 1050, &gone), 0);
	assert_int_equal(gone, 50);
	/* Forgotten: new again. Kept: still answered with its bytes. */
	assert_int_equal(check(f->s, "XA-PIU", 10, 1, 5000, NULL, NULL), STATE_SEEN_NEW);
	assert_repeat(f->s, "XA-PIU", 80, 1, "kept");
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 80, 1, "kept");
	assert_int_equal(check(f->s, "XA-PIU", 10, 1, 5000, NULL, NULL), STATE_SEEN_IN_PROGRESS);
	assert_int_equal(check(f->s, "XA-PIU", 20, 1, 5000, NULL, NULL), STATE_SEEN_NEW);
	/* Everything old: all gone, and nothing to do the next time. */
	assert_int_equal(state_replay_expire(f->s, 100000, &gone), 0);
	assert_int_equal(gone, 52);
	assert_int_equal(state_replay_expire(f->s, 100000, &gone), 0);
	assert_int_equal(gone, 0);
	assert_int_equal(check(f->s, "XA-PIU", 80, 1, 5000, NULL, NULL), STATE_SEEN_NEW);
}

/* Rows written in batch mode are visible at once and on disk after state_commit(). */
static void
put_pending(struct state *s, const char *ref, int64_t received_ms)
{
	struct state_pending p;
	uint8_t q[] = {0x0a, 0x01, 0x41};

	memset(&p, 0, sizeof(p));
	snprintf(p.ref, sizeof(p.ref), "%s", ref);
	snprintf(p.peer, sizeof(p.peer), "XB-PIU");
	snprintf(p.agreement_id, sizeof(p.agreement_id), "XA-XB-1");
	p.received_ms = received_ms;
	p.status = STATE_PENDING;
	p.query = q;
	p.query_len = sizeof(q);
	assert_int_equal(state_pending_add(s, &p), 0);
}

static void
put_result(struct state *s, const char *id, int outcome, int64_t updated_ms)
{
	struct state_result r;
	uint8_t a[] = {0x08, 0x01};

	memset(&r, 0, sizeof(r));
	snprintf(r.request_id, sizeof(r.request_id), "%s", id);
	snprintf(r.peer, sizeof(r.peer), "XB-PIU");
	snprintf(r.agreement_id, sizeof(r.agreement_id), "XA-XB-1");
	r.outcome = outcome;
	r.sent_ms = 1;
	r.updated_ms = updated_ms;
	r.answer = a;
	r.answer_len = sizeof(a);
	assert_int_equal(state_result_put(s, &r), 0);
}

static bool
has_pending(struct state *s, const char *ref)
{
	struct state_pending p;
	int rc = state_pending_get(s, ref, &p);

	state_pending_clear(&p);
	return rc == 0;
}

static bool
has_result(struct state *s, const char *id)
{
	struct state_result r;
	int rc = state_result_get(s, id, &r);

	state_result_clear(&r);
	return rc == 0;
}

/* Kept answers go once old; answers still waiting and undecided requests stay. */
static void
kept_answers_expire(void **state)
{
	struct fx *f = *state;
	const int WAITING = 6, ANSWERED = 1;
	uint8_t res[] = {0x08, 0x02};
	uint64_t results = 99, decided = 99;

	put_pending(f->s, "AP-1", 100);
	put_pending(f->s, "AP-2", 200);
	put_pending(f->s, "AP-3", 300);
	assert_int_equal(state_pending_decide(f->s, "AP-1", STATE_APPROVED, res, sizeof(res), "a",
					      1000), 0);
	assert_int_equal(state_pending_decide(f->s, "AP-2", STATE_DENIED, res, sizeof(res), "a",
					      5000), 0);
	put_result(f->s, "r1", ANSWERED, 1000);
	put_result(f->s, "r2", WAITING, 1000);
	put_result(f->s, "r3", ANSWERED, 5000);

	assert_int_equal(state_kept_expire(f->s, 2000, WAITING, &results, &decided), 0);
	assert_int_equal(results, 1);
	assert_int_equal(decided, 1);
	assert_false(has_result(f->s, "r1"));
	assert_true(has_result(f->s, "r2"));
	assert_true(has_result(f->s, "r3"));
	assert_false(has_pending(f->s, "AP-1"));
	assert_true(has_pending(f->s, "AP-2"));
	assert_true(has_pending(f->s, "AP-3"));

	/* However old: what is still waiting or undecided stays, across a reopen too. */
	reopen(f);
	assert_int_equal(state_kept_expire(f->s, INT64_MAX, WAITING, &results, &decided), 0);
	assert_int_equal(results, 1);
	assert_int_equal(decided, 1);
	assert_false(has_result(f->s, "r3"));
	assert_true(has_result(f->s, "r2"));
	assert_false(has_pending(f->s, "AP-2"));
	assert_true(has_pending(f->s, "AP-3"));
	assert_int_equal(state_kept_expire(f->s, INT64_MAX, WAITING, NULL, NULL), 0);
}

/* Polls of an answer held for approval back off to every five minutes. */
static void
poll_schedule(void **state)
{
	(void)state;
	int64_t polls[64], n = 0, last = -1;

	/* A loop that looks every second for two hours. */
	for (int64_t now = 0; now <= 2 * 3600 * 1000; now += 1000) {
		if (state_poll_due(last, now, 1000)) {
			assert_true(n < 64);
			polls[n++] = now;
		}
		last = now;
	}
	/* First look, then at 1, 2, 4 ... 256 s, then every 300 s. */
	assert_int_equal(polls[0], 0);
	assert_int_equal(polls[1], 1000);
	assert_int_equal(polls[2], 2000);
	assert_int_equal(polls[3], 4000);
	assert_int_equal(polls[9], 256000);
	assert_int_equal(polls[10], 300000);
	assert_int_equal(polls[11], 600000);
	assert_int_equal(n, 10 + 24);
	/* A loop that looked last a while ago still catches the point it missed. */
	assert_true(state_poll_due(3000, 9000, 1000));
	assert_false(state_poll_due(4000, 7999, 1000));
	/* The first look after a start is always due. */
	assert_true(state_poll_due(-1, 123456, 1000));
}

static void
batch_commits_together(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	state_batch(f->s, true);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(check(f->s, "XA-PIU", i, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	assert_int_equal(check(f->s, "XA-PIU", 3, 1, 1000, NULL, NULL), STATE_SEEN_IN_PROGRESS);
	assert_int_equal(state_commit(f->s), 0);
	assert_int_equal(state_commit(f->s), 0); /* nothing open: nothing to do */
	set_reply(f->s, "XA-PIU", 3, "three");
	assert_int_equal(state_commit(f->s), 0);
	state_close(&f->s);
	/* Another connection sees the committed rows. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), sum(reply IS NOT NULL) FROM replay",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 10);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 3, 1, "three");
}

/* A state.db of schema 1 (replay keyed by sender and id) keeps its replay cache. */
static void
upgrade_from_schema_1(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	uint8_t id[STATE_ID_BYTES], h[STATE_HASH_BYTES];
	sqlite3_stmt *st;

	state_close(&f->s);
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE replay (sender TEXT NOT NULL, message_id BLOB NOT NULL,"
			     " req_hash BLOB NOT NULL, reply BLOB, received_ms INTEGER NOT NULL,"
			     " PRIMARY KEY (sender, message_id)) WITHOUT ROWID;"
			     "CREATE INDEX replay_age ON replay(received_ms);"
			     "CREATE TABLE pending (ref TEXT PRIMARY KEY, peer TEXT NOT NULL,"
			     " agreement_id TEXT NOT NULL, message_id BLOB NOT NULL,"
			     " received_ms INTEGER NOT NULL, status INTEGER NOT NULL, query BLOB NOT NULL,"
			     " result BLOB, decided_by TEXT, decided_ms INTEGER);"
			     "CREATE TABLE result (request_id TEXT PRIMARY KEY, peer TEXT NOT NULL,"
			     " agreement_id TEXT NOT NULL, approval_ref TEXT NOT NULL,"
			     " operator_uid INTEGER NOT NULL, outcome INTEGER NOT NULL,"
			     " sent_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, answer BLOB);"
			     "PRAGMA user_version=1;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	mid_of(id, 5);
	memset(h, 1, sizeof(h));
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO replay VALUES ('XA-PIU', ?, ?, 'old reply', 1000)",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, id, sizeof(id), SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, h, sizeof(h), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* A schema-1 file has no anchor yet: none is read, none is needed. */
	uint64_t aseq = 9;
	assert_int_equal(state_anchor_load(f->path, &aseq, h, NULL), 0);
	assert_int_equal(aseq, 0);
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 5, 1, "old reply");
	reopen(f); /* upgraded once: opening it again changes nothing */
	assert_repeat(f->s, "XA-PIU", 5, 1, "old reply");
	assert_int_equal(check(f->s, "XA-PIU", 6, 1, 2000, NULL, NULL), STATE_SEEN_NEW);
	assert_int_equal(state_anchor_set(f->s, 3, h, 1000), 0);
	assert_int_equal(state_anchor_load(f->path, &aseq, h, NULL), 0);
	assert_int_equal(aseq, 3);
}

/* A schema-3 file (before replies named their audit record) is upgraded in place. */
static void
schema_3_is_upgraded(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(check(f->s, "XA-PIU", 7, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	set_reply(f->s, "XA-PIU", 7, "kept reply");
	state_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE replay DROP COLUMN audit_seq;"
					  "PRAGMA user_version=3;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 7, 1, "kept reply");
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 7, 1, "kept reply");
}

/* A proposal row as proposals.c makes one. */
static void
proposal_of(struct state_proposal *p, const char *ref, bool incoming, const char *peer, int tag,
	    int64_t ms)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->ref, sizeof(p->ref), "%s", ref);
	p->incoming = incoming;
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	snprintf(p->agreement_id, sizeof(p->agreement_id), "XA-XB-%d", tag);
	memset(p->hash, tag, sizeof(p->hash));
	memset(p->proposer_sig, 0x5a, sizeof(p->proposer_sig));
	p->bytes = (uint8_t *)strdup("agreement: XA-XB\n");
	p->len = strlen((char *)p->bytes);
	p->state = incoming ? STATE_PROPOSAL_HELD : STATE_PROPOSAL_SENDING;
	p->created_ms = p->updated_ms = ms;
}

/*
 * Agreements proposed over the mesh, both ways: found by (direction,
 * member, hash) as a proposal asked again is, changed in place, listed
 * newest first, counted per member for the rate, and kept across a restart.
 */
static void
proposals_are_kept(void **state)
{
	struct fx *f = *state;
	struct state_proposal p, q, *v = NULL;
	size_t n = 0;
	uint32_t c = 9;

	proposal_of(&p, "AG-000000000001", true, "XA-PIU", 1, 1000);
	assert_int_equal(state_proposal_put(f->s, &p), 0);
	state_proposal_clear(&p);
	proposal_of(&p, "AG-000000000002", true, "XA-PIU", 2, 2000);
	p.has_replaces = true;
	memset(p.replaces, 7, sizeof(p.replaces));
	assert_int_equal(state_proposal_put(f->s, &p), 0);
	state_proposal_clear(&p);
	proposal_of(&p, "PR-000000000003", false, "XA-PIU", 1, 3000);
	assert_int_equal(state_proposal_put(f->s, &p), 0);
	/* Ours, not decided: the one still asked about (not those we received). */
	assert_int_equal(state_proposal_waiting(f->s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].ref, "PR-000000000003");
	state_proposal_clear(&v[0]);
	free(v);
	/* The same agreement from us and to us are two rows. */
	memset(q.hash, 0, sizeof(q.hash));
	assert_int_equal(state_proposal_find(f->s, true, "XA-PIU", p.hash, &q), 0);
	assert_string_equal(q.ref, "AG-000000000001");
	assert_false(q.has_replaces);
	assert_false(q.has_responder_sig);
	assert_int_equal(q.len, p.len);
	assert_memory_equal(q.bytes, p.bytes, p.len);
	state_proposal_clear(&q);
	assert_int_equal(state_proposal_find(f->s, false, "XA-PIU", p.hash, &q), 0);
	assert_string_equal(q.ref, "PR-000000000003");
	state_proposal_clear(&q);
	assert_int_equal(state_proposal_find(f->s, true, "XC-PIU", p.hash, &q),
			 PIUGW_EUNKNOWNQUERY);
	state_proposal_clear(&q);
	/* Decided: the same row, changed. */
	p.state = STATE_PROPOSAL_ACCEPTED;
	p.has_responder_sig = true;
	memset(p.responder_sig, 0x6b, sizeof(p.responder_sig));
	snprintf(p.installed, sizeof(p.installed), "/etc/piugw/agreements/XA-XB-1.yaml");
	p.updated_ms = 4000;
	assert_int_equal(state_proposal_put(f->s, &p), 0);
	state_proposal_clear(&p);
	reopen(f);
	assert_int_equal(state_proposal_get(f->s, "PR-000000000003", &q), 0);
	assert_int_equal(q.state, STATE_PROPOSAL_ACCEPTED);
	assert_true(q.has_responder_sig);
	assert_int_equal(q.responder_sig[63], 0x6b);
	assert_string_equal(q.installed, "/etc/piugw/agreements/XA-XB-1.yaml");
	assert_int_equal(q.updated_ms, 4000);
	state_proposal_clear(&q);
	assert_int_equal(state_proposal_get(f->s, "AG-000000000002", &q), 0);
	assert_true(q.has_replaces);
	assert_int_equal(q.replaces[31], 7);
	state_proposal_clear(&q);
	assert_int_equal(state_proposal_get(f->s, "AG-0000000000FF", &q), PIUGW_EUNKNOWNQUERY);
	state_proposal_clear(&q);
	assert_int_equal(state_proposal_list(f->s, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].ref, "PR-000000000003");
	assert_string_equal(v[2].ref, "AG-000000000001");
	for (size_t i = 0; i < n; i++)
		state_proposal_clear(&v[i]);
	free(v);
	/* Nothing of ours waits any more: the one we sent was accepted. */
	assert_int_equal(state_proposal_waiting(f->s, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	/* The rate counts what was received from the member since then. */
	assert_int_equal(state_proposal_count_since(f->s, "XA-PIU", 1500, &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(state_proposal_count_since(f->s, "XA-PIU", 0, &c), 0);
	assert_int_equal(c, 2);
	assert_int_equal(state_proposal_count_since(f->s, "XB-PIU", 0, &c), 0);
	assert_int_equal(c, 0);
	/* Waiting for a person here: the two received, not the one we sent. */
	assert_int_equal(state_proposal_count_held(f->s, &c), 0);
	assert_int_equal(c, 2);
}

/* A state.db of schema 4 (before proposals) gains their table, its rows intact. */
static void
schema_4_gains_proposals(void **state)
{
	struct fx *f = *state;
	struct state_proposal p;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(check(f->s, "XA-PIU", 7, 1, 1000, NULL, NULL), STATE_SEEN_NEW);
	set_reply(f->s, "XA-PIU", 7, "kept reply");
	state_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE proposal; PRAGMA user_version=4;", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_repeat(f->s, "XA-PIU", 7, 1, "kept reply");
	proposal_of(&p, "AG-000000000001", true, "XA-PIU", 1, 1000);
	assert_int_equal(state_proposal_put(f->s, &p), 0);
	state_proposal_clear(&p);
	state_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STATE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
	reopen(f);
}

/*
 * Lookouts and their notifications are kept, listed by side and state,
 * counted for max_in_force, found by the partner's reference; a fire key
 * is kept once; marks survive a reopen; schema 5 gains the tables.
 */
static void
lookouts_are_kept(void **state)
{
	struct fx *f = *state;
	struct state_lookout l, *v = NULL;
	struct state_notification nt, got;
	uint8_t key[STATE_HASH_BYTES] = {1, 2, 3};
	size_t n = 0;
	uint32_t c = 0;
	int64_t mark = 0;
	bool fired = true, has = false;
	sqlite3 *db = NULL;

	memset(&l, 0, sizeof(l));
	strcpy(l.ref, "LO-000000000001");
	l.incoming = true;
	strcpy(l.peer, "XA-PIU");
	strcpy(l.agreement_id, "XA-XB-1");
	l.place = (uint8_t *)strdup("place");
	l.place_len = 5;
	l.query_type = 1;
	l.state = STATE_LOOKOUT_ACTIVE;
	l.expires_ms = 5000;
	l.created_ms = l.updated_ms = 1000;
	assert_int_equal(state_lookout_put(f->s, &l), 0);
	strcpy(l.ref, "LK-000000000002");
	l.incoming = false;
	strcpy(l.their_ref, "LO-0000000000FF");
	l.created_ms = 2000;
	assert_int_equal(state_lookout_put(f->s, &l), 0);
	state_lookout_clear(&l);
	assert_int_equal(state_lookout_count(f->s, true, "XA-PIU", "XA-XB-1", &c), 0);
	assert_int_equal(c, 1); /* the partner's held here; ours is not counted */
	assert_int_equal(state_lookout_count(f->s, false, "XA-PIU", "XA-XB-1", &c), 0);
	assert_int_equal(c, 1); /* ours there */
	assert_int_equal(state_lookout_theirs(f->s, false, "XA-PIU", "LO-0000000000FF", &l), 0);
	assert_string_equal(l.ref, "LK-000000000002");
	assert_int_equal(l.place_len, 5);
	state_lookout_clear(&l);
	assert_int_equal(state_lookout_theirs(f->s, false, "XC-PIU", "LO-0000000000FF", &l),
			 PIUGW_EUNKNOWNQUERY);
	assert_int_equal(state_lookout_list(f->s, 1, STATE_LOOKOUT_ACTIVE, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].ref, "LO-000000000001");
	state_lookout_clear(&v[0]);
	free(v);

	memset(&nt, 0, sizeof(nt));
	strcpy(nt.ref, "NT-000000000001");
	strcpy(nt.peer, "XA-PIU");
	strcpy(nt.agreement_id, "XA-XB-1");
	strcpy(nt.lookout_ref, "LO-000000000001");
	nt.has_fire_key = true;
	memcpy(nt.fire_key, key, sizeof(key));
	nt.body = (uint8_t *)strdup("body");
	nt.body_len = 4;
	nt.state = STATE_NOTIFICATION_SENDING;
	nt.created_ms = nt.updated_ms = 3000;
	assert_int_equal(state_notification_fired(f->s, "LO-000000000001", key, &fired), 0);
	assert_false(fired);
	assert_int_equal(state_notification_put(f->s, &nt), 0);
	assert_int_equal(state_notification_fired(f->s, "LO-000000000001", key, &fired), 0);
	assert_true(fired);
	/* Once per key: another row with the same fire key is refused. */
	strcpy(nt.ref, "NT-000000000002");
	assert_int_not_equal(state_notification_put(f->s, &nt), 0);
	state_notification_clear(&nt);
	assert_int_equal(state_notification_get(f->s, "NT-000000000001", &got), 0);
	assert_int_equal(got.state, STATE_NOTIFICATION_SENDING);
	assert_memory_equal(got.body, "body", 4);
	state_notification_clear(&got);

	/* What is over goes after a while; a notification of a lookout in force stays. */
	{
		uint64_t nl = 9, nn = 9;
		assert_int_equal(state_lookout_get(f->s, "LK-000000000002", &l), 0);
		l.state = STATE_LOOKOUT_WITHDRAWN;
		l.updated_ms = 2000;
		assert_int_equal(state_lookout_put(f->s, &l), 0);
		state_lookout_clear(&l);
		assert_int_equal(state_notification_get(f->s, "NT-000000000001", &got), 0);
		got.state = STATE_NOTIFICATION_ACKED;
		assert_int_equal(state_notification_put(f->s, &got), 0);
		state_notification_clear(&got);
		assert_int_equal(state_lookouts_expire(f->s, 1500, &nl, &nn), 0);
		assert_int_equal(nl, 0); /* changed at 2000 */
		assert_int_equal(state_lookouts_expire(f->s, 9000, &nl, &nn), 0);
		assert_int_equal(nl, 1);
		assert_int_equal(nn, 0); /* LO-...01 is in force: its fire key stays */
		assert_int_equal(state_lookout_get(f->s, "LO-000000000001", &l), 0);
		l.state = STATE_LOOKOUT_EXPIRED;
		assert_int_equal(state_lookout_put(f->s, &l), 0);
		state_lookout_clear(&l);
		assert_int_equal(state_lookouts_expire(f->s, 9000, &nl, &nn), 0);
		assert_int_equal(nl, 1);
		assert_int_equal(nn, 1);
	}

	assert_int_equal(state_mark_get(f->s, "scan", &mark, &has), 0);
	assert_false(has);
	assert_int_equal(state_mark_set(f->s, "scan", 42), 0);
	reopen(f);
	assert_int_equal(state_mark_get(f->s, "scan", &mark, &has), 0);
	assert_true(has);
	assert_int_equal(mark, 42);

	/* A state.db of schema 5 gains the tables. */
	state_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE lookout; DROP TABLE notification; DROP TABLE "
					  "mark; PRAGMA user_version=5;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_int_equal(state_lookout_count(f->s, true, "XA-PIU", "XA-XB-1", &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(state_mark_get(f->s, "scan", &mark, &has), 0);
	assert_false(has);
}

/* Masked matches' references: the answerer's by reference, the asker's by place; a year. */
static void
masked_refs_are_kept(void **state)
{
	struct fx *f = *state;
	struct state_masked m, got;
	uint64_t n = 9;

	memset(&m, 0, sizeof(m));
	memset(m.ref, 7, sizeof(m.ref));
	m.answerer = true;
	strcpy(m.peer, "XA-PIU");
	strcpy(m.agreement_id, "XA-XB-1");
	strcpy(m.request_id, "00112233445566778899aabbccddeeff");
	m.match_no = 2;
	m.row_id = 42;
	m.created_ms = 1000;
	assert_int_equal(state_masked_put(f->s, &m), 0);
	m.answerer = false; /* the same reference at the other side's table */
	m.row_id = 0;
	m.created_ms = 5000;
	assert_int_equal(state_masked_put(f->s, &m), 0);
	assert_int_equal(state_masked_by_ref(f->s, m.ref, &got), 0);
	assert_true(got.answerer);
	assert_int_equal(got.row_id, 42);
	assert_int_equal(state_masked_by_match(f->s, m.request_id, 2, &got), 0);
	assert_false(got.answerer);
	assert_memory_equal(got.ref, m.ref, sizeof(m.ref));
	assert_int_equal(state_masked_by_match(f->s, m.request_id, 1, &got), PIUGW_EUNKNOWNQUERY);
	assert_int_equal(state_masked_expire(f->s, 2000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_masked_by_ref(f->s, m.ref, &got), PIUGW_EUNKNOWNQUERY);
	assert_int_equal(state_masked_by_match(f->s, m.request_id, 2, &got), 0);
}

/* PIUGW_ESYSTEM: a state database where none can be made says where and why. */
static void
a_state_that_cannot_be_made(void **state)
{
	struct fx *f = *state;
	struct state *s = NULL;
	struct diag d;
	char *p = tu_path(f->dir, "no/such/folder/state.db");

	diag_init(&d);
	assert_int_equal(state_open(p, &s, &d), PIUGW_ESYSTEM);
	assert_null(s);
	assert_true(tu_diag_has(&d, "no/such/folder/state.db: cannot create"));
	free(p);
	diag_clear(&d);
}

/* A partner's newest witnessed checkpoint, kept across a restart. */
static void
witnessed_checkpoints_are_kept(void **state)
{
	struct fx *f = *state;
	struct audit_checkpoint cp, got;

	assert_int_equal(state_witness_get(f->s, "XB-PIU", &got), 0);
	assert_int_equal(got.seq, 0);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.gateway_id, sizeof(cp.gateway_id), "XB-PIU");
	cp.seq = 9;
	cp.time_ms = 123;
	cp.first_seq = 5;
	memset(cp.head, 1, 32);
	memset(cp.signature, 2, 64);
	assert_int_equal(state_witness_set(f->s, "XB-PIU", &cp, 1000), 0);
	cp.seq = 19;
	assert_int_equal(state_witness_set(f->s, "XB-PIU", &cp, 2000), 0);
	reopen(f);
	assert_int_equal(state_witness_get(f->s, "XB-PIU", &got), 0);
	assert_memory_equal(&got, &cp, sizeof(cp));
	assert_int_equal(state_witness_get(f->s, "XC-PIU", &got), 0);
	assert_int_equal(got.seq, 0);
}

/* The audit log's anchor: read without a writer, kept in the batch, never moved back. */
static void
audit_anchor_only_moves_forward(void **state)
{
	struct fx *f = *state;
	uint8_t h[STATE_HASH_BYTES], got[STATE_HASH_BYTES];
	uint64_t seq = 1;
	char *none = tu_path(f->dir, "none.db");

	assert_int_equal(state_anchor_load(none, &seq, got, NULL), 0);
	assert_int_equal(seq, 0); /* a gateway that never ran */
	assert_int_equal(access(none, F_OK), -1); /* and reading made no file */
	free(none);
	assert_int_equal(state_anchor_load(f->path, &seq, got, NULL), 0);
	assert_int_equal(seq, 0);
	memset(h, 0xab, sizeof(h));
	state_batch(f->s, true);
	assert_int_equal(state_anchor_set(f->s, 100, h, 1), 0);
	/* Not committed yet: another reader sees none. */
	assert_int_equal(state_anchor_load(f->path, &seq, got, NULL), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(state_commit(f->s), 0);
	assert_int_equal(state_anchor_load(f->path, &seq, got, NULL), 0);
	assert_int_equal(seq, 100);
	assert_memory_equal(got, h, sizeof(h));
	memset(h, 0xcd, sizeof(h));
	assert_int_equal(state_anchor_set(f->s, 99, h, 2), 0); /* back: ignored */
	assert_int_equal(state_commit(f->s), 0);
	assert_int_equal(state_anchor_load(f->path, &seq, got, NULL), 0);
	assert_int_equal(seq, 100);
	assert_int_equal(got[0], 0xab);
	assert_int_equal(state_anchor_set(f->s, 101, h, 3), 0);
	assert_int_equal(state_commit(f->s), 0);
	reopen(f);
	assert_int_equal(state_anchor_load(f->path, &seq, got, NULL), 0);
	assert_int_equal(seq, 101);
	assert_int_equal(got[0], 0xcd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(replay_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(replies_wait_for_their_audit_record, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_3_is_upgraded, setup, teardown),
		cmocka_unit_test_setup_teardown(proposals_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_4_gains_proposals, setup, teardown),
		cmocka_unit_test_setup_teardown(lookouts_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(masked_refs_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(survives_reopen_and_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_forgets_only_the_old, setup, teardown),
		cmocka_unit_test_setup_teardown(batch_commits_together, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_answers_expire, setup, teardown),
		cmocka_unit_test(poll_schedule),
		cmocka_unit_test_setup_teardown(upgrade_from_schema_1, setup, teardown),
		cmocka_unit_test_setup_teardown(audit_anchor_only_moves_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(witnessed_checkpoints_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(a_state_that_cannot_be_made, setup, teardown),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
