/*
 * state.c: see state.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "fileio.h"
#include "piugw/error.h"
#include "state.h"

#define STATE_STMTS 64

/* One request in the replay index: a keyed hash of (sender, message_id) and its row. */
struct rp_entry {
	uint64_t h;
	int64_t id; /* 0: free slot */
};

struct state {
	sqlite3 *db;
	sqlite3_stmt *replay_get, *replay_put, *replay_reply;
	struct rp_entry *rp;  /* open addressing, linear probing; cap a power of 2 */
	size_t rp_cap, rp_n;
	uint8_t rp_key[crypto_shorthash_KEYBYTES];
	/* prepared once, by the address of their SQL text (always a literal) */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[STATE_STMTS];
	bool batch; /* writes join one transaction until state_commit() */
};

/*
 * The replay cache is written in arrival order (rowid), so that a batch of
 * requests dirties a page or two at the table's end instead of one random
 * page of a keyed B-tree each; the lookup by (sender, message_id) is an
 * index in memory, rebuilt from the table on open.
 */
#define REPLAY_TABLE \
	"CREATE TABLE replay (" \
	"  id INTEGER PRIMARY KEY, sender TEXT NOT NULL, message_id BLOB NOT NULL," \
	"  req_hash BLOB NOT NULL, reply BLOB, received_ms INTEGER NOT NULL," \
	"  audit_seq INTEGER NOT NULL DEFAULT 0);"

/* Version 1 kept the replay cache in a table keyed by (sender, message_id). */
static const char upgrade_1_2[] =
	"BEGIN;"
	"ALTER TABLE replay RENAME TO replay_1;"
	REPLAY_TABLE
	"INSERT INTO replay(sender, message_id, req_hash, reply, received_ms)"
	"  SELECT sender, message_id, req_hash, reply, received_ms FROM replay_1"
	"  ORDER BY received_ms;"
	"DROP TABLE replay_1;"
	"PRAGMA user_version=2;"
	"COMMIT;";

/*
 * Version 3 keeps the audit log's anchor: the newest record the gateway
 * made durable there, so that a log cut back or swapped is noticed (audit.h).
 */
#define ANCHOR_TABLE \
	"CREATE TABLE IF NOT EXISTS audit_anchor (" \
	"  id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash BLOB NOT NULL," \
	"  updated_ms INTEGER NOT NULL);"

#define WITNESS_TABLE \
	"CREATE TABLE IF NOT EXISTS witnessed (" \
	"  peer TEXT PRIMARY KEY, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL," \
	"  head BLOB NOT NULL, first_seq INTEGER NOT NULL, signature BLOB NOT NULL," \
	"  received_ms INTEGER NOT NULL);"

static const char upgrade_2_3[] =
	"BEGIN;" ANCHOR_TABLE WITNESS_TABLE "PRAGMA user_version=3;COMMIT;";

/*
 * Version 4: a reply in the replay cache names the audit record it waits
 * for, so that it is written in the turn's one commit, before the flush.
 */
static const char upgrade_3_4[] =
	"BEGIN;ALTER TABLE replay ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version=4;COMMIT;";

/*
 * Version 5: agreements proposed over the mesh, sent and received
 * (doc/protocol-notes.md section 5). No personal data: kept for good.
 */
#define PROPOSAL_TABLE \
	"CREATE TABLE IF NOT EXISTS proposal (" \
	"  ref TEXT PRIMARY KEY, incoming INTEGER NOT NULL, peer TEXT NOT NULL," \
	"  agreement_id TEXT NOT NULL, hash BLOB NOT NULL, replaces BLOB, bytes BLOB NOT NULL," \
	"  proposer_sig BLOB NOT NULL, responder_sig BLOB, state INTEGER NOT NULL," \
	"  detail TEXT NOT NULL DEFAULT '', their_ref TEXT NOT NULL DEFAULT ''," \
	"  decided_by TEXT NOT NULL DEFAULT '', installed TEXT NOT NULL DEFAULT ''," \
	"  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS proposal_key ON proposal(incoming, peer, hash);"

static const char upgrade_4_5[] = "BEGIN;" PROPOSAL_TABLE "PRAGMA user_version=5;COMMIT;";

/*
 * Version 6: lookouts (ours at partners, and partners' here), the
 * notifications sent and received, and the marks of work done (how far
 * the traveller store was checked against the lookouts). Lookouts and
 * notifications hold personal data: the identifiers looked out for, and
 * the notified person.
 */
#define LOOKOUT_TABLES \
	"CREATE TABLE IF NOT EXISTS lookout (" \
	"  ref TEXT PRIMARY KEY, incoming INTEGER NOT NULL, peer TEXT NOT NULL," \
	"  agreement_id TEXT NOT NULL, their_ref TEXT NOT NULL DEFAULT ''," \
	"  place BLOB NOT NULL, query_type INTEGER NOT NULL, state INTEGER NOT NULL," \
	"  expires_ms INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT ''," \
	"  operator TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL," \
	"  updated_ms INTEGER NOT NULL);" \
	"CREATE INDEX IF NOT EXISTS lookout_state ON lookout(incoming, state);" \
	"CREATE TABLE IF NOT EXISTS notification (" \
	"  ref TEXT PRIMARY KEY, incoming INTEGER NOT NULL, peer TEXT NOT NULL," \
	"  agreement_id TEXT NOT NULL, lookout_ref TEXT NOT NULL, their_id TEXT NOT NULL DEFAULT ''," \
	"  fire_key BLOB, body BLOB NOT NULL, env BLOB, env_ms INTEGER NOT NULL DEFAULT 0," \
	"  state INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT ''," \
	"  decided_by TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL," \
	"  updated_ms INTEGER NOT NULL);" \
	"CREATE INDEX IF NOT EXISTS notification_state ON notification(incoming, state);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS notification_fired ON notification(lookout_ref, fire_key);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS notification_theirs ON notification(peer, their_id) " \
	"  WHERE incoming = 1;" \
	"CREATE TABLE IF NOT EXISTS mark (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"

/*
 * Also version 6: masked matches that may be asked for again under a prior
 * authorisation (Art 12(3)): at the answerer, the opaque reference each
 * masked match was sent with and the store row it is; at the asker, which
 * match of which answer it was. No personal data (row ids, references).
 */
#define MASKED_TABLE \
	"CREATE TABLE IF NOT EXISTS masked (" \
	"  ref BLOB NOT NULL, answerer INTEGER NOT NULL, peer TEXT NOT NULL," \
	"  agreement_id TEXT NOT NULL, request_id TEXT NOT NULL, match_no INTEGER NOT NULL," \
	"  row_id INTEGER NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (answerer, ref));" \
	"CREATE INDEX IF NOT EXISTS masked_request ON masked(answerer, request_id, match_no);"

static const char upgrade_5_6[] = "BEGIN;" LOOKOUT_TABLES MASKED_TABLE
				  "PRAGMA user_version=6;COMMIT;";
static const char upgrade_5_6_pending[] =
	"ALTER TABLE pending ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;";

static const char schema[] =
	ANCHOR_TABLE
	WITNESS_TABLE
	REPLAY_TABLE
	PROPOSAL_TABLE
	LOOKOUT_TABLES
	MASKED_TABLE
	"CREATE TABLE IF NOT EXISTS pending ("
	"  ref TEXT PRIMARY KEY, peer TEXT NOT NULL, agreement_id TEXT NOT NULL,"
	"  message_id BLOB NOT NULL, received_ms INTEGER NOT NULL, status INTEGER NOT NULL,"
	"  query BLOB NOT NULL, result BLOB, decided_by TEXT, decided_ms INTEGER,"
	"  kind INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS pending_status ON pending(status, received_ms);"
	"CREATE TABLE IF NOT EXISTS result ("
	"  request_id TEXT PRIMARY KEY, peer TEXT NOT NULL, agreement_id TEXT NOT NULL,"
	"  approval_ref TEXT NOT NULL, operator_uid INTEGER NOT NULL, outcome INTEGER NOT NULL,"
	"  sent_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, answer BLOB);"
	"CREATE INDEX IF NOT EXISTS result_outcome ON result(outcome, sent_ms);";

static int exec(struct state *s, const char *sql, struct diag *d);

/* Has table a column of this name? (An upgrade adds one only where it is missing.) */
static bool
has_column(struct state *s, const char *table, const char *column)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	bool has = false;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK)
		while (!has && sqlite3_step(st) == SQLITE_ROW)
			has = sqlite3_column_text(st, 1) != NULL &&
			      strcmp((const char *)sqlite3_column_text(st, 1), column) == 0;
	sqlite3_finalize(st);
	return has;
}

static int
exec(struct state *s, const char *sql, struct diag *d)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		diag_add(d, "state database: %s", err != NULL ? err : "failed");
		sqlite3_free(err);
		return PIUGW_ESYSTEM;
	}
	return 0;
}

/* ---- the replay index (in memory) ---- */

static uint64_t
rp_hash(const struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES])
{
	uint8_t in[KEYS_ID_MAX + 1 + STATE_ID_BYTES], out[crypto_shorthash_BYTES];
	size_t n = strnlen(sender, KEYS_ID_MAX);
	uint64_t h = 0;

	memcpy(in, sender, n);
	in[n] = 0;
	memcpy(in + n + 1, id, STATE_ID_BYTES);
	crypto_shorthash(out, in, n + 1 + STATE_ID_BYTES, s->rp_key);
	for (size_t i = 0; i < sizeof(h); i++)
		h = h << 8 | out[i];
	return h;
}

/* Put (h, id) in t (cap a power of 2, never full). */
static void
rp_put(struct rp_entry *t, size_t cap, uint64_t h, int64_t id)
{
	size_t i = (size_t)h & (cap - 1);

	while (t[i].id != 0)
		i = (i + 1) & (cap - 1);
	t[i].h = h;
	t[i].id = id;
}

/* Rebuild the index with room for n more, keeping rows id >= min_id. */
static int
rp_rebuild(struct state *s, size_t more, int64_t min_id)
{
	size_t live = 0, cap = 1024;
	struct rp_entry *t;

	for (size_t i = 0; i < s->rp_cap; i++)
		live += s->rp[i].id >= min_id && s->rp[i].id != 0;
	while (cap < 2 * (live + more))
		cap *= 2;
	/* Expiring under steady traffic: keep the size rather than shrink and grow again. */
	if (min_id > 0 && s->rp_cap >= cap && s->rp_cap <= 4 * cap)
		cap = s->rp_cap;
	if ((t = calloc(cap, sizeof(*t))) == NULL)
		return PIUGW_ENOMEM;
	for (size_t i = 0; i < s->rp_cap; i++)
		if (s->rp[i].id != 0 && s->rp[i].id >= min_id)
			rp_put(t, cap, s->rp[i].h, s->rp[i].id);
	free(s->rp);
	s->rp = t;
	s->rp_cap = cap;
	s->rp_n = live;
	return 0;
}

static int
rp_add(struct state *s, uint64_t h, int64_t id)
{
	int ret;

	/* Load at most one half: probes stay short. */
	if (2 * (s->rp_n + 1) > s->rp_cap && (ret = rp_rebuild(s, s->rp_n + 1, 0)) != 0)
		return ret;
	rp_put(s->rp, s->rp_cap, h, id);
	s->rp_n++;
	return 0;
}

/*
 * The row of (sender, id), if any: its id, and replay_get left on it (the
 * caller resets it). The index only narrows the search: the row itself
 * must name the same sender and message id (rolled-back rows are gone).
 */
static int64_t
rp_find(struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES])
{
	uint64_t h;

	if (s->rp_cap == 0)
		return 0;
	h = rp_hash(s, sender, id);
	for (size_t i = (size_t)h & (s->rp_cap - 1); s->rp[i].id != 0; i = (i + 1) & (s->rp_cap - 1)) {
		sqlite3_stmt *st = s->replay_get;
		const unsigned char *who;
		const void *mid;

		if (s->rp[i].h != h)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, s->rp[i].id);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		who = sqlite3_column_text(st, 0);
		mid = sqlite3_column_blob(st, 1);
		if (who != NULL && strcmp((const char *)who, sender) == 0 && mid != NULL &&
		    sqlite3_column_bytes(st, 1) == STATE_ID_BYTES &&
		    memcmp(mid, id, STATE_ID_BYTES) == 0)
			return s->rp[i].id;
	}
	sqlite3_reset(s->replay_get);
	return 0;
}

/* Index every row from min_id on. */
static int
rp_load(struct state *s, int64_t min_id)
{
	sqlite3_stmt *st = NULL;
	int ret = 0, rc;

	if (sqlite3_prepare_v2(s->db, "SELECT id, sender, message_id FROM replay WHERE id >= ?", -1,
			       &st, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, min_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *who = sqlite3_column_text(st, 1);
		const void *mid = sqlite3_column_blob(st, 2);
		if (who == NULL || mid == NULL || sqlite3_column_bytes(st, 2) != STATE_ID_BYTES)
			continue;
		if ((ret = rp_add(s, rp_hash(s, (const char *)who, mid), sqlite3_column_int64(st, 0))) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = PIUGW_ESYSTEM;
	sqlite3_finalize(st);
	return ret;
}

/* See state.h. */
int
state_open(const char *path, struct state **outp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL, version = 0;
	struct state *s = NULL;
	sqlite3_stmt *st = NULL;

	*outp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PIUGW_ENOMEM;
	/* Kept answers hold personal data: the file is born closed. */
	if (path[0] != ':' && (ret = fileio_precreate_private(path, d)) != 0)
		goto out;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		diag_add(d, "%s: cannot open the state database: %s", path, sqlite3_errmsg(s->db));
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * WAL + synchronous=NORMAL: a committed row survives a crash of the
	 * process (kill -9), which is what the replay rule needs. SQLite
	 * checkpoints the WAL itself every thousand pages, after a commit, in
	 * the caller's thread. A thread of our own did it once a second before;
	 * measured twice in one run each (tests/bench/run --before, issue 17),
	 * that thread cost the paced p99 (18.2 against 7.7 ms, 21.2 against
	 * 12.9) and won nothing at full load.
	 */
	if ((ret = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			   "PRAGMA secure_delete=ON; PRAGMA wal_autocheckpoint=1000;", d)) != 0)
		goto out;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > STATE_SCHEMA_VERSION) {
		diag_add(d, "%s: state schema %d is newer than this piugwd knows (%d); upgrade piugw",
			 path, version, STATE_SCHEMA_VERSION);
		ret = PIUGW_ECONFIG;
		goto out;
	}
	/* Only a new or older file is written to here: opening a current one writes nothing. */
	if (version == 0 && ((ret = exec(s, schema, d)) != 0 ||
			     (ret = exec(s, "PRAGMA user_version=6", d)) != 0))
		goto out;
	/* Version 1's table is made anew, with the current columns: 4 at once. */
	if ((version == 1 && (ret = exec(s, upgrade_1_2, d)) != 0) ||
	    ((version == 1 || version == 2) && (ret = exec(s, upgrade_2_3, d)) != 0) ||
	    (version == 1 && (ret = exec(s, "PRAGMA user_version=4", d)) != 0) ||
	    ((version == 2 || version == 3) && (ret = exec(s, upgrade_3_4, d)) != 0) ||
	    (version >= 1 && version <= 4 && (ret = exec(s, upgrade_4_5, d)) != 0) ||
	    (version >= 1 && version <= 5 && !has_column(s, "pending", "kind") &&
	     (ret = exec(s, upgrade_5_6_pending, d)) != 0) ||
	    (version >= 1 && version <= 5 && (ret = exec(s, upgrade_5_6, d)) != 0)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (sqlite3_prepare_v3(s->db,
			       "SELECT sender, message_id, req_hash, reply, audit_seq FROM replay "
			       "WHERE id=?",
			       -1, SQLITE_PREPARE_PERSISTENT, &s->replay_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db,
			       "INSERT INTO replay(sender, message_id, req_hash, received_ms) "
			       "VALUES (?,?,?,?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &s->replay_put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "UPDATE replay SET reply=?, audit_seq=? WHERE id=?", -1,
			       SQLITE_PREPARE_PERSISTENT, &s->replay_reply, NULL) != SQLITE_OK) {
		diag_add(d, "%s: %s", path, sqlite3_errmsg(s->db));
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	randombytes_buf(s->rp_key, sizeof(s->rp_key));
	if ((ret = rp_load(s, 0)) != 0) {
		diag_add(d, "%s: cannot read the replay cache: %s", path, sqlite3_errmsg(s->db));
		goto out;
	}
	*outp = s;
	s = NULL;
	ret = 0;
out:
	state_close(&s);
	return ret;
}

/* See state.h. */
void
state_close(struct state **sp)
{
	struct state *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	sqlite3_finalize(s->replay_get);
	sqlite3_finalize(s->replay_put);
	sqlite3_finalize(s->replay_reply);
	for (size_t i = 0; i < STATE_STMTS; i++)
		sqlite3_finalize(s->stmts[i].st);
	free(s->rp);
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(s->db);
	free(s);
	*sp = NULL;
}

/* Copy a blob column into fresh memory (NULL, 0 for NULL). */
static int
column_blob(sqlite3_stmt *st, int col, uint8_t **outp, size_t *lenp)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	*outp = NULL;
	*lenp = 0;
	if (b == NULL || n <= 0)
		return 0;
	if ((*outp = malloc((size_t)n)) == NULL)
		return PIUGW_ENOMEM;
	memcpy(*outp, b, (size_t)n);
	*lenp = (size_t)n;
	return 0;
}

static void
column_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
}

/* The statement for sql (a literal), prepared on first use; NULL on error. */
static sqlite3_stmt *
prep(struct state *s, const char *sql)
{
	size_t i;

	for (i = 0; i < STATE_STMTS && s->stmts[i].sql != NULL; i++)
		if (s->stmts[i].sql == sql)
			return s->stmts[i].st;
	if (i == STATE_STMTS) /* more statements than slots: raise STATE_STMTS */
		return NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i].st,
			       NULL) != SQLITE_OK) {
		sqlite3_finalize(s->stmts[i].st);
		s->stmts[i].st = NULL;
		return NULL;
	}
	s->stmts[i].sql = sql;
	return s->stmts[i].st;
}

/* Make a statement from prep() ready for its next use. */
static void
done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* Run a statement from prep() that returns no rows. */
static int
run(sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return PIUGW_ESYSTEM;
	rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

/* Run a statement from prep() that counts (SELECT count(*) ...) into *np. */
static int
count_of(sqlite3_stmt *st, uint32_t *np)
{
	int ret = PIUGW_ESYSTEM;

	*np = 0;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*np = (uint32_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	done(st);
	return ret;
}

/* Before a write: in batch mode, open the batch's transaction if none is. */
static int
wtx(struct state *s)
{
	if (s->batch && sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	return 0;
}

/* See state.h. */
void
state_batch(struct state *s, bool on)
{
	s->batch = on;
}

/* See state.h. */
int
state_commit(struct state *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return PIUGW_ESYSTEM;
}

/* See state.h. */
int
state_replay_check(struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES],
		   const uint8_t req_hash[STATE_HASH_BYTES], int64_t now_ms, uint64_t durable_seq,
		   int *seenp, uint8_t **replyp, size_t *reply_lenp)
{
	int ret;
	sqlite3_stmt *st;

	*replyp = NULL;
	*reply_lenp = 0;
	if (rp_find(s, sender, id) != 0) {
		const void *h;

		st = s->replay_get; /* on the row */
		h = sqlite3_column_blob(st, 2);
		if (h == NULL || sqlite3_column_bytes(st, 2) != STATE_HASH_BYTES ||
		    sodium_memcmp(h, req_hash, STATE_HASH_BYTES) != 0) {
			*seenp = STATE_SEEN_REPLAYED;
		} else if (sqlite3_column_type(st, 3) == SQLITE_NULL ||
			   (uint64_t)sqlite3_column_int64(st, 4) > durable_seq) {
			*seenp = STATE_SEEN_IN_PROGRESS;
		} else {
			if ((ret = column_blob(st, 3, replyp, reply_lenp)) != 0) {
				sqlite3_reset(st);
				return ret;
			}
			*seenp = STATE_SEEN_REPEAT;
		}
		sqlite3_reset(st);
		return 0;
	}
	if ((ret = wtx(s)) != 0)
		return ret;
	st = s->replay_put;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, STATE_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, req_hash, STATE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
	done(st);
	if (ret == 0 && (ret = rp_add(s, rp_hash(s, sender, id), sqlite3_last_insert_rowid(s->db))) == 0)
		*seenp = STATE_SEEN_NEW;
	return ret;
}

/* See state.h. */
int
state_replay_set_reply(struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES],
		       const uint8_t *reply, size_t len, uint64_t audit_seq)
{
	sqlite3_stmt *st = s->replay_reply;
	int64_t row = rp_find(s, sender, id);
	int rc;

	sqlite3_reset(s->replay_get);
	if (row == 0)
		return PIUGW_EUNKNOWNQUERY;
	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	sqlite3_bind_blob(st, 1, reply, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)audit_seq);
	sqlite3_bind_int64(st, 3, row);
	rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

/* See state.h. */
int
state_replay_unaudited(struct state *s, uint64_t durable_seq, uint64_t *np)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (np != NULL)
		*np = 0;
	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE replay SET reply=NULL, audit_seq=0 WHERE audit_seq > ?", -1,
			       &st, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, (int64_t)durable_seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return PIUGW_ESYSTEM;
	if (np != NULL)
		*np = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

/* See state.h. */
int
state_replay_expire(struct state *s, int64_t before_ms, uint64_t *np)
{
	/* Rows are in arrival order: the first one young enough marks the cut. */
	sqlite3_stmt *st = prep(s, "SELECT coalesce((SELECT id FROM replay WHERE received_ms >= ? "
				   "ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM replay), 0)");
	int64_t cut = 0;
	int ret;

	if (np != NULL)
		*np = 0;
	if (st == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, before_ms);
	if (sqlite3_step(st) == SQLITE_ROW)
		cut = sqlite3_column_int64(st, 0);
	done(st);
	if (cut <= 0)
		return 0;
	if (wtx(s) != 0 || (st = prep(s, "DELETE FROM replay WHERE id < ?")) == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, cut);
	if ((ret = run(st)) != 0)
		return ret;
	if (np != NULL)
		*np = (uint64_t)sqlite3_changes(s->db);
	return rp_rebuild(s, 0, cut);
}

/* Run a DELETE of sql binding (int, before_ms); *np: rows deleted (may be NULL). */
static int
delete_counted(struct state *s, const char *sql, int v, int64_t before_ms, uint64_t *np)
{
	sqlite3_stmt *st;
	int ret;

	if (np != NULL)
		*np = 0;
	if (wtx(s) != 0 || (st = prep(s, sql)) == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int(st, 1, v);
	sqlite3_bind_int64(st, 2, before_ms);
	if ((ret = run(st)) != 0)
		return ret;
	if (np != NULL)
		*np = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

/* See state.h. */
int
state_kept_expire(struct state *s, int64_t before_ms, int keep_outcome, uint64_t *resultsp,
		  uint64_t *decidedp)
{
	int ret = delete_counted(s, "DELETE FROM result WHERE outcome <> ? AND updated_ms < ?",
				 keep_outcome, before_ms, resultsp);

	if (decidedp != NULL)
		*decidedp = 0;
	if (ret == 0)
		ret = delete_counted(s, "DELETE FROM pending WHERE status <> ? AND decided_ms < ?",
				     STATE_PENDING, before_ms, decidedp);
	return ret;
}

/*
 * Step st to the end, turning each row into one element of size elsize with
 * fill; on success *vp (malloc) and *np hold them. clear undoes one element.
 * Resets st.
 */
static int
collect_rows(sqlite3_stmt *st, size_t elsize, int (*fill)(sqlite3_stmt *, void *),
	     void (*clear)(void *), void **vp, size_t *np)
{
	uint8_t *v = NULL, *nv;
	size_t n = 0;
	int ret = 0, rc;

	*vp = NULL;
	*np = 0;
	if (st == NULL)
		return PIUGW_ESYSTEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(v, (n + 1) * elsize)) == NULL) {
			ret = PIUGW_ENOMEM;
			break;
		}
		v = nv;
		if ((ret = fill(st, v + n * elsize)) != 0)
			break;
		n++;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = PIUGW_ESYSTEM;
	done(st);
	if (ret != 0) {
		for (size_t i = 0; i < n; i++)
			clear(v + i * elsize);
		free(v);
		return ret;
	}
	*vp = v;
	*np = n;
	return 0;
}

/* ---- pending ---- */

/* See state.h. */
void
state_pending_clear(struct state_pending *p)
{
	if (p == NULL)
		return;
	if (p->query != NULL)
		sodium_memzero(p->query, p->query_len);
	if (p->result != NULL)
		sodium_memzero(p->result, p->result_len);
	free(p->query);
	free(p->result);
	memset(p, 0, sizeof(*p));
}

/* See state.h. */
int
state_pending_add(struct state *s, const struct state_pending *p)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO pending(ref, peer, agreement_id, message_id, "
				   "received_ms, status, query, kind) VALUES (?,?,?,?,?,0,?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, p->ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, p->message_id, STATE_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, p->received_ms);
		sqlite3_bind_blob(st, 6, p->query, (int)p->query_len, SQLITE_STATIC);
		sqlite3_bind_int(st, 7, p->kind);
	}
	return run(st);
}

#define PENDING_COLS "ref, peer, agreement_id, message_id, received_ms, status, query, " \
		     "result, decided_by, decided_ms, kind"

static int
pending_row(sqlite3_stmt *st, struct state_pending *p)
{
	const void *mid = sqlite3_column_blob(st, 3);
	int ret;

	memset(p, 0, sizeof(*p));
	column_text(st, 0, p->ref, sizeof(p->ref));
	column_text(st, 1, p->peer, sizeof(p->peer));
	column_text(st, 2, p->agreement_id, sizeof(p->agreement_id));
	if (mid != NULL && sqlite3_column_bytes(st, 3) == STATE_ID_BYTES)
		memcpy(p->message_id, mid, STATE_ID_BYTES);
	p->received_ms = sqlite3_column_int64(st, 4);
	p->status = sqlite3_column_int(st, 5);
	if ((ret = column_blob(st, 6, &p->query, &p->query_len)) != 0 ||
	    (ret = column_blob(st, 7, &p->result, &p->result_len)) != 0) {
		state_pending_clear(p);
		return ret;
	}
	column_text(st, 8, p->decided_by, sizeof(p->decided_by));
	p->decided_ms = sqlite3_column_int64(st, 9);
	p->kind = sqlite3_column_int(st, 10);
	return 0;
}

/* See state.h. */
int
state_pending_get(struct state *s, const char *ref, struct state_pending *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " PENDING_COLS " FROM pending WHERE ref=?");
	int ret, rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = pending_row(st, out);
	else
		ret = rc == SQLITE_DONE ? PIUGW_EUNKNOWNQUERY : PIUGW_ESYSTEM;
	done(st);
	return ret;
}

static int
pending_fill(sqlite3_stmt *st, void *p)
{
	return pending_row(st, p);
}

static void
pending_clear(void *p)
{
	state_pending_clear(p);
}

/* See state.h. */
int
state_pending_list(struct state *s, struct state_pending **vp, size_t *np)
{
	return collect_rows(prep(s, "SELECT " PENDING_COLS " FROM pending WHERE status=0 "
				    "ORDER BY received_ms"),
			    sizeof(**vp), pending_fill, pending_clear, (void **)vp, np);
}

/* See state.h. */
int
state_pending_count(struct state *s, uint32_t *np)
{
	return count_of(prep(s, "SELECT count(*) FROM pending WHERE status=0"), np);
}

/* See state.h. */
int
state_pending_decide(struct state *s, const char *ref, int status, const uint8_t *result,
		     size_t result_len, const char *by, int64_t now_ms)
{
	sqlite3_stmt *st = prep(s, "UPDATE pending SET status=?, result=?, decided_by=?, "
				   "decided_ms=? WHERE ref=? AND status=0");
	int ret;

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_int(st, 1, status);
		sqlite3_bind_blob(st, 2, result, (int)result_len, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms);
		sqlite3_bind_text(st, 5, ref, -1, SQLITE_STATIC);
	}
	if ((ret = run(st)) != 0)
		return ret;
	return sqlite3_changes(s->db) == 1 ? 0 : PIUGW_EUNKNOWNQUERY;
}

/* ---- agreements proposed over the mesh ---- */

/* See state.h. */
void
state_proposal_clear(struct state_proposal *p)
{
	free(p->bytes);
	p->bytes = NULL;
	p->len = 0;
}

#define PROPOSAL_COLS "ref, incoming, peer, agreement_id, hash, replaces, bytes, proposer_sig, " \
		      "responder_sig, state, detail, their_ref, decided_by, installed, created_ms, " \
		      "updated_ms"

static void
fixed_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t n, bool *hasp)
{
	const void *b = sqlite3_column_blob(st, col);
	bool has = b != NULL && (size_t)sqlite3_column_bytes(st, col) == n;

	if (has)
		memcpy(out, b, n);
	if (hasp != NULL)
		*hasp = has;
}

static int
proposal_row(sqlite3_stmt *st, struct state_proposal *p)
{
	memset(p, 0, sizeof(*p));
	column_text(st, 0, p->ref, sizeof(p->ref));
	p->incoming = sqlite3_column_int(st, 1) != 0;
	column_text(st, 2, p->peer, sizeof(p->peer));
	column_text(st, 3, p->agreement_id, sizeof(p->agreement_id));
	fixed_blob(st, 4, p->hash, sizeof(p->hash), NULL);
	fixed_blob(st, 5, p->replaces, sizeof(p->replaces), &p->has_replaces);
	if (column_blob(st, 6, &p->bytes, &p->len) != 0)
		return PIUGW_ENOMEM;
	fixed_blob(st, 7, p->proposer_sig, sizeof(p->proposer_sig), NULL);
	fixed_blob(st, 8, p->responder_sig, sizeof(p->responder_sig), &p->has_responder_sig);
	p->state = sqlite3_column_int(st, 9);
	column_text(st, 10, p->detail, sizeof(p->detail));
	column_text(st, 11, p->their_ref, sizeof(p->their_ref));
	column_text(st, 12, p->decided_by, sizeof(p->decided_by));
	column_text(st, 13, p->installed, sizeof(p->installed));
	p->created_ms = sqlite3_column_int64(st, 14);
	p->updated_ms = sqlite3_column_int64(st, 15);
	return 0;
}

static int
proposal_fill(sqlite3_stmt *st, void *p)
{
	return proposal_row(st, p);
}

static void
proposal_clear(void *p)
{
	state_proposal_clear(p);
}

/* See state.h. */
int
state_proposal_put(struct state *s, const struct state_proposal *p)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO proposal(" PROPOSAL_COLS
				   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, p->ref, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, p->incoming ? 1 : 0);
		sqlite3_bind_text(st, 3, p->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, p->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, p->hash, sizeof(p->hash), SQLITE_STATIC);
		if (p->has_replaces)
			sqlite3_bind_blob(st, 6, p->replaces, sizeof(p->replaces), SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, p->bytes, (int)p->len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, p->proposer_sig, sizeof(p->proposer_sig), SQLITE_STATIC);
		if (p->has_responder_sig)
			sqlite3_bind_blob(st, 9, p->responder_sig, sizeof(p->responder_sig),
					  SQLITE_STATIC);
		sqlite3_bind_int(st, 10, p->state);
		sqlite3_bind_text(st, 11, p->detail, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, p->their_ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, p->decided_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 14, p->installed, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 15, p->created_ms);
		sqlite3_bind_int64(st, 16, p->updated_ms);
	}
	return run(st);
}

static int
proposal_one(sqlite3_stmt *st, struct state_proposal *out)
{
	int ret, rc;

	if (st == NULL)
		return PIUGW_ESYSTEM;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = proposal_row(st, out);
	else
		ret = rc == SQLITE_DONE ? PIUGW_EUNKNOWNQUERY : PIUGW_ESYSTEM;
	done(st);
	return ret;
}

/* See state.h. */
int
state_proposal_get(struct state *s, const char *ref, struct state_proposal *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " PROPOSAL_COLS " FROM proposal WHERE ref=?");

	memset(out, 0, sizeof(*out));
	if (st != NULL)
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	return proposal_one(st, out);
}

/* See state.h. */
int
state_proposal_find(struct state *s, bool incoming, const char *peer,
		    const uint8_t hash[STATE_HASH_BYTES], struct state_proposal *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " PROPOSAL_COLS " FROM proposal "
				   "WHERE incoming=? AND peer=? AND hash=?");

	memset(out, 0, sizeof(*out));
	if (st != NULL) {
		sqlite3_bind_int(st, 1, incoming ? 1 : 0);
		sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, hash, STATE_HASH_BYTES, SQLITE_STATIC);
	}
	return proposal_one(st, out);
}

/* See state.h. */
int
state_proposal_waiting(struct state *s, struct state_proposal **vp, size_t *np)
{
	/* SENDING (1) and HELD (2): the ones still asked about. */
	return collect_rows(prep(s, "SELECT " PROPOSAL_COLS " FROM proposal "
				    "WHERE incoming=0 AND state IN (1, 2) ORDER BY created_ms"),
			    sizeof(**vp), proposal_fill, proposal_clear, (void **)vp, np);
}

/* See state.h. */
int
state_proposal_list(struct state *s, struct state_proposal **vp, size_t *np)
{
	return collect_rows(prep(s, "SELECT " PROPOSAL_COLS " FROM proposal "
				    "ORDER BY created_ms DESC, ref"),
			    sizeof(**vp), proposal_fill, proposal_clear, (void **)vp, np);
}

/* See state.h. */
int
state_proposal_count_held(struct state *s, uint32_t *np)
{
	return count_of(prep(s, "SELECT count(*) FROM proposal WHERE incoming=1 AND state=2"),
			np);
}

/* See state.h. */
int
state_proposal_count_since(struct state *s, const char *peer, int64_t since_ms, uint32_t *np)
{
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM proposal "
				   "WHERE incoming=1 AND peer=? AND created_ms>=?");

	if (st != NULL) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, since_ms);
	}
	return count_of(st, np);
}

/* ---- results ---- */

/* See state.h. */
void
state_result_clear(struct state_result *r)
{
	if (r == NULL)
		return;
	if (r->answer != NULL)
		sodium_memzero(r->answer, r->answer_len);
	free(r->answer);
	memset(r, 0, sizeof(*r));
}

/* See state.h. */
int
state_result_put(struct state *s, const struct state_result *r)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO result(request_id, peer, agreement_id, "
				   "approval_ref, operator_uid, outcome, sent_ms, updated_ms, answer) "
				   "VALUES (?,?,?,?,?,?,?,?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, r->request_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->approval_ref, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, r->operator_uid);
		sqlite3_bind_int(st, 6, r->outcome);
		sqlite3_bind_int64(st, 7, r->sent_ms);
		sqlite3_bind_int64(st, 8, r->updated_ms);
		sqlite3_bind_blob(st, 9, r->answer, (int)r->answer_len, SQLITE_STATIC);
	}
	return run(st);
}

#define RESULT_COLS "request_id, peer, agreement_id, approval_ref, operator_uid, outcome, " \
		    "sent_ms, updated_ms, answer"

static int
result_row(sqlite3_stmt *st, struct state_result *r)
{
	memset(r, 0, sizeof(*r));
	column_text(st, 0, r->request_id, sizeof(r->request_id));
	column_text(st, 1, r->peer, sizeof(r->peer));
	column_text(st, 2, r->agreement_id, sizeof(r->agreement_id));
	column_text(st, 3, r->approval_ref, sizeof(r->approval_ref));
	r->operator_uid = (uint32_t)sqlite3_column_int64(st, 4);
	r->outcome = sqlite3_column_int(st, 5);
	r->sent_ms = sqlite3_column_int64(st, 6);
	r->updated_ms = sqlite3_column_int64(st, 7);
	return column_blob(st, 8, &r->answer, &r->answer_len);
}

/* See state.h. */
int
state_result_get(struct state *s, const char *request_id, struct state_result *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " RESULT_COLS " FROM result WHERE request_id=?");
	int ret, rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = result_row(st, out);
	else
		ret = rc == SQLITE_DONE ? PIUGW_EUNKNOWNQUERY : PIUGW_ESYSTEM;
	done(st);
	return ret;
}

static int
result_fill(sqlite3_stmt *st, void *r)
{
	return result_row(st, r);
}

static void
result_clear(void *r)
{
	state_result_clear(r);
}

/* See state.h. */
int
state_result_list(struct state *s, int outcome, struct state_result **vp, size_t *np)
{
	sqlite3_stmt *st = prep(s, "SELECT " RESULT_COLS " FROM result WHERE outcome=? "
				   "ORDER BY sent_ms");

	if (st != NULL)
		sqlite3_bind_int(st, 1, outcome);
	return collect_rows(st, sizeof(**vp), result_fill, result_clear, (void **)vp, np);
}

/* See state.h. */
bool
state_poll_due(int64_t from, int64_t to, int64_t first)
{
	if (from < 0)
		return true;
	for (int64_t t = first > 0 ? first : 1; t < STATE_POLL_MAX_MS; t *= 2)
		if (from < t && t <= to)
			return true;
	return to >= 0 && from / STATE_POLL_MAX_MS != to / STATE_POLL_MAX_MS;
}

/* ---- the audit log's anchor ---- */

/* See state.h. */
int
state_anchor_load(const char *path, uint64_t *seqp, uint8_t hash[STATE_HASH_BYTES],
		  struct diag *d)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = 0, rc;

	*seqp = 0;
	memset(hash, 0, STATE_HASH_BYTES);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0; /* a gateway that never ran keeps none */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		diag_add(d, "%s: cannot open the state database: %s", path, sqlite3_errmsg(db));
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_anchor WHERE id = 1", -1, &st,
				NULL);
	if (rc != SQLITE_OK) {
		/* An older schema, not yet upgraded: no anchor was ever kept. */
		if (strstr(sqlite3_errmsg(db), "no such table") == NULL) {
			diag_add(d, "%s: %s", path, sqlite3_errmsg(db));
			ret = PIUGW_ESYSTEM;
		}
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != STATE_HASH_BYTES || sqlite3_column_int64(st, 0) < 0) {
			diag_add(d, "%s: the audit anchor is damaged", path);
			ret = PIUGW_ESYSTEM;
			goto out;
		}
		*seqp = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), STATE_HASH_BYTES);
	} else if (rc != SQLITE_DONE) {
		diag_add(d, "%s: %s", path, sqlite3_errmsg(db));
		ret = PIUGW_ESYSTEM;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

/* See state.h. */
int
state_anchor_set(struct state *s, uint64_t seq, const uint8_t hash[STATE_HASH_BYTES],
		 int64_t now_ms)
{
	static const char sql[] =
		"INSERT INTO audit_anchor(id, seq, hash, updated_ms) VALUES (1, ?, ?, ?) "
		"ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
		"updated_ms = excluded.updated_ms WHERE excluded.seq > audit_anchor.seq";
	sqlite3_stmt *st;

	if (wtx(s) != 0 || (st = prep(s, sql)) == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 2, hash, STATE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	return run(st);
}

/* ---- partners' checkpoints ---- */

/* See state.h. */
int
state_witness_get(struct state *s, const char *peer, struct audit_checkpoint *cp)
{
	static const char sql[] = "SELECT seq, time_ms, head, first_seq, signature FROM witnessed "
				  "WHERE peer = ?";
	sqlite3_stmt *st;
	int rc;

	memset(cp, 0, sizeof(*cp));
	if ((st = prep(s, sql)) == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 2) == 32 &&
	    sqlite3_column_bytes(st, 4) == 64) {
		snprintf(cp->gateway_id, sizeof(cp->gateway_id), "%s", peer);
		cp->seq = (uint64_t)sqlite3_column_int64(st, 0);
		cp->time_ms = sqlite3_column_int64(st, 1);
		memcpy(cp->head, sqlite3_column_blob(st, 2), 32);
		cp->first_seq = (uint64_t)sqlite3_column_int64(st, 3);
		memcpy(cp->signature, sqlite3_column_blob(st, 4), 64);
	}
	done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

/* See state.h. */
int
state_witness_set(struct state *s, const char *peer, const struct audit_checkpoint *cp,
		  int64_t now_ms)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO witnessed(peer, seq, time_ms, head, first_seq, signature, "
		"received_ms) VALUES (?,?,?,?,?,?,?)";
	sqlite3_stmt *st;

	if (wtx(s) != 0 || (st = prep(s, sql)) == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cp->seq);
	sqlite3_bind_int64(st, 3, cp->time_ms);
	sqlite3_bind_blob(st, 4, cp->head, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)cp->first_seq);
	sqlite3_bind_blob(st, 6, cp->signature, 64, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now_ms);
	return run(st);
}

/* ---- lookouts and notifications ---- */

#define LOOKOUT_COLS "ref, incoming, peer, agreement_id, their_ref, place, query_type, state, " \
		     "expires_ms, detail, operator, created_ms, updated_ms"

/* See state.h. */
void
state_lookout_clear(struct state_lookout *l)
{
	if (l == NULL)
		return;
	if (l->place != NULL)
		sodium_memzero(l->place, l->place_len);
	free(l->place);
	l->place = NULL;
	l->place_len = 0;
}

static int
lookout_fill(sqlite3_stmt *st, void *v)
{
	struct state_lookout *l = v;

	memset(l, 0, sizeof(*l));
	column_text(st, 0, l->ref, sizeof(l->ref));
	l->incoming = sqlite3_column_int(st, 1) != 0;
	column_text(st, 2, l->peer, sizeof(l->peer));
	column_text(st, 3, l->agreement_id, sizeof(l->agreement_id));
	column_text(st, 4, l->their_ref, sizeof(l->their_ref));
	if (column_blob(st, 5, &l->place, &l->place_len) != 0)
		return PIUGW_ENOMEM;
	l->query_type = sqlite3_column_int(st, 6);
	l->state = sqlite3_column_int(st, 7);
	l->expires_ms = sqlite3_column_int64(st, 8);
	column_text(st, 9, l->detail, sizeof(l->detail));
	column_text(st, 10, l->operator_name, sizeof(l->operator_name));
	l->created_ms = sqlite3_column_int64(st, 11);
	l->updated_ms = sqlite3_column_int64(st, 12);
	return 0;
}

static void
lookout_clear(void *v)
{
	state_lookout_clear(v);
}

/* See state.h. */
int
state_lookout_put(struct state *s, const struct state_lookout *l)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO lookout(" LOOKOUT_COLS
				   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, l->ref, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, l->incoming ? 1 : 0);
		sqlite3_bind_text(st, 3, l->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, l->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, l->their_ref, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 6, l->place != NULL ? (const void *)l->place : "", (int)l->place_len,
				  SQLITE_STATIC);
		sqlite3_bind_int(st, 7, l->query_type);
		sqlite3_bind_int(st, 8, l->state);
		sqlite3_bind_int64(st, 9, l->expires_ms);
		sqlite3_bind_text(st, 10, l->detail, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, l->operator_name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 12, l->created_ms);
		sqlite3_bind_int64(st, 13, l->updated_ms);
	}
	return run(st);
}

/*
 * The one row st selects into out (size bytes, zeroed first) with fill:
 * PIUGW_EUNKNOWNQUERY if there is none. Resets st.
 */
static int
one_row(sqlite3_stmt *st, void *out, size_t size, int (*fill)(sqlite3_stmt *, void *))
{
	int ret, rc;

	memset(out, 0, size);
	if (st == NULL)
		return PIUGW_ESYSTEM;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = fill(st, out);
	else
		ret = rc == SQLITE_DONE ? PIUGW_EUNKNOWNQUERY : PIUGW_ESYSTEM;
	done(st);
	return ret;
}

static int
lookout_one(sqlite3_stmt *st, struct state_lookout *out)
{
	return one_row(st, out, sizeof(*out), lookout_fill);
}

/* See state.h. */
int
state_lookout_get(struct state *s, const char *ref, struct state_lookout *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " LOOKOUT_COLS " FROM lookout WHERE ref=?");

	if (st != NULL)
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	return lookout_one(st, out);
}

/* See state.h. */
int
state_lookout_theirs(struct state *s, bool incoming, const char *peer, const char *their_ref,
		     struct state_lookout *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " LOOKOUT_COLS " FROM lookout "
				   "WHERE incoming=? AND peer=? AND their_ref=?");

	if (st != NULL) {
		sqlite3_bind_int(st, 1, incoming ? 1 : 0);
		sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, their_ref, -1, SQLITE_STATIC);
	}
	return lookout_one(st, out);
}

/* See state.h. */
int
state_lookout_list(struct state *s, int incoming, int state, struct state_lookout **vp,
		   size_t *np)
{
	sqlite3_stmt *st = prep(s, "SELECT " LOOKOUT_COLS " FROM lookout "
				   "WHERE (?1 < 0 OR incoming=?1) AND (?2 = -1 OR state=?2 OR "
				   "(?2 = -2 AND state IN (1, 2))) ORDER BY created_ms DESC, ref");

	if (st != NULL) {
		sqlite3_bind_int(st, 1, incoming);
		sqlite3_bind_int(st, 2, state);
	}
	return collect_rows(st, sizeof(**vp), lookout_fill, lookout_clear, (void **)vp, np);
}

/* See state.h. */
int
state_lookout_count(struct state *s, bool incoming, const char *peer, const char *agreement_id,
		    uint32_t *np)
{
	/* Active, suspended, and ours on their way (SENDING is never a partner's). */
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM lookout WHERE incoming=? AND peer=? "
				   "AND agreement_id=? AND state IN (1, 2, 3)");

	if (st != NULL) {
		sqlite3_bind_int(st, 1, incoming ? 1 : 0);
		sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, agreement_id, -1, SQLITE_STATIC);
	}
	return count_of(st, np);
}

#define NOTIFICATION_COLS "ref, incoming, peer, agreement_id, lookout_ref, their_id, fire_key, " \
			  "body, env, env_ms, state, detail, decided_by, created_ms, updated_ms"

/* See state.h. */
void
state_notification_clear(struct state_notification *n)
{
	if (n == NULL)
		return;
	if (n->body != NULL)
		sodium_memzero(n->body, n->body_len);
	free(n->body);
	free(n->env);
	n->body = n->env = NULL;
	n->body_len = n->env_len = 0;
}

static int
notification_fill(sqlite3_stmt *st, void *v)
{
	struct state_notification *n = v;

	memset(n, 0, sizeof(*n));
	column_text(st, 0, n->ref, sizeof(n->ref));
	n->incoming = sqlite3_column_int(st, 1) != 0;
	column_text(st, 2, n->peer, sizeof(n->peer));
	column_text(st, 3, n->agreement_id, sizeof(n->agreement_id));
	column_text(st, 4, n->lookout_ref, sizeof(n->lookout_ref));
	column_text(st, 5, n->their_id, sizeof(n->their_id));
	fixed_blob(st, 6, n->fire_key, sizeof(n->fire_key), &n->has_fire_key);
	if (column_blob(st, 7, &n->body, &n->body_len) != 0 ||
	    column_blob(st, 8, &n->env, &n->env_len) != 0) {
		state_notification_clear(n);
		return PIUGW_ENOMEM;
	}
	n->env_ms = sqlite3_column_int64(st, 9);
	n->state = sqlite3_column_int(st, 10);
	column_text(st, 11, n->detail, sizeof(n->detail));
	column_text(st, 12, n->decided_by, sizeof(n->decided_by));
	n->created_ms = sqlite3_column_int64(st, 13);
	n->updated_ms = sqlite3_column_int64(st, 14);
	return 0;
}

static void
notification_clear(void *v)
{
	state_notification_clear(v);
}

/* See state.h. */
int
state_notification_put(struct state *s, const struct state_notification *n)
{
	/*
	 * An upsert on ref, not INSERT OR REPLACE: that would drop another
	 * notification that fired for the same person and flight (fire_key)
	 * instead of refusing the second.
	 */
	sqlite3_stmt *st = prep(s, "INSERT INTO notification(" NOTIFICATION_COLS
				   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(ref) DO UPDATE SET "
				   "incoming=excluded.incoming, peer=excluded.peer, "
				   "agreement_id=excluded.agreement_id, lookout_ref=excluded.lookout_ref, "
				   "their_id=excluded.their_id, fire_key=excluded.fire_key, "
				   "body=excluded.body, env=excluded.env, env_ms=excluded.env_ms, "
				   "state=excluded.state, detail=excluded.detail, "
				   "decided_by=excluded.decided_by, created_ms=excluded.created_ms, "
				   "updated_ms=excluded.updated_ms");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, n->ref, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, n->incoming ? 1 : 0);
		sqlite3_bind_text(st, 3, n->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, n->lookout_ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, n->their_id, -1, SQLITE_STATIC);
		if (n->has_fire_key)
			sqlite3_bind_blob(st, 7, n->fire_key, sizeof(n->fire_key), SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, n->body != NULL ? (const void *)n->body : "", (int)n->body_len,
				  SQLITE_STATIC);
		if (n->env != NULL)
			sqlite3_bind_blob(st, 9, n->env, (int)n->env_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, n->env_ms);
		sqlite3_bind_int(st, 11, n->state);
		sqlite3_bind_text(st, 12, n->detail, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, n->decided_by, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 14, n->created_ms);
		sqlite3_bind_int64(st, 15, n->updated_ms);
	}
	return run(st);
}

static int
notification_one(sqlite3_stmt *st, struct state_notification *out)
{
	return one_row(st, out, sizeof(*out), notification_fill);
}

/* See state.h. */
int
state_notification_get(struct state *s, const char *ref, struct state_notification *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " NOTIFICATION_COLS " FROM notification WHERE ref=?");

	if (st != NULL)
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	return notification_one(st, out);
}

/* See state.h. */
int
state_notification_theirs(struct state *s, const char *peer, const char *their_id,
			  struct state_notification *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " NOTIFICATION_COLS " FROM notification "
				   "WHERE incoming=1 AND peer=? AND their_id=?");

	if (st != NULL) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, their_id, -1, SQLITE_STATIC);
	}
	return notification_one(st, out);
}

/* See state.h. */
int
state_notification_fired(struct state *s, const char *lookout_ref,
			 const uint8_t key[STATE_HASH_BYTES], bool *firedp)
{
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM notification "
				   "WHERE lookout_ref=? AND fire_key=?");
	uint32_t n = 0;
	int rc;

	if (st != NULL) {
		sqlite3_bind_text(st, 1, lookout_ref, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, key, STATE_HASH_BYTES, SQLITE_STATIC);
	}
	rc = count_of(st, &n);
	*firedp = n > 0;
	return rc;
}

/* See state.h. */
int
state_notification_list(struct state *s, int incoming, int state, struct state_notification **vp,
			size_t *np)
{
	sqlite3_stmt *st = prep(s, "SELECT " NOTIFICATION_COLS " FROM notification "
				   "WHERE (?1 < 0 OR incoming=?1) AND (?2 < 0 OR state=?2) "
				   "ORDER BY created_ms, ref");

	if (st != NULL) {
		sqlite3_bind_int(st, 1, incoming);
		sqlite3_bind_int(st, 2, state);
	}
	return collect_rows(st, sizeof(**vp), notification_fill, notification_clear, (void **)vp,
			    np);
}

/* See state.h. */
int
state_mark_get(struct state *s, const char *name, int64_t *valuep, bool *hasp)
{
	sqlite3_stmt *st = prep(s, "SELECT value FROM mark WHERE name=?");
	int rc;

	*valuep = 0;
	*hasp = false;
	if (st == NULL)
		return PIUGW_ESYSTEM;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*valuep = sqlite3_column_int64(st, 0);
		*hasp = true;
	}
	done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

/* See state.h. */
int
state_mark_set(struct state *s, const char *name, int64_t value)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO mark(name, value) VALUES (?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, value);
	}
	return run(st);
}

/* See state.h. */
int
state_lookouts_expire(struct state *s, int64_t before_ms, uint64_t *lookoutsp,
		      uint64_t *notificationsp)
{
	/* ?1 is unused by these two (delete_counted binds it): 0. */
	int ret = delete_counted(s, "DELETE FROM lookout WHERE ?1 = 0 AND updated_ms < ?2 "
				    "AND state IN (4, 5, 6)",
				 0, before_ms, lookoutsp);

	if (notificationsp != NULL)
		*notificationsp = 0;
	if (ret == 0)
		ret = delete_counted(s, "DELETE FROM notification WHERE ?1 = 0 AND updated_ms < ?2 "
					"AND state IN (3, 4, 5, 7) AND lookout_ref NOT IN "
					"(SELECT ref FROM lookout WHERE state IN (1, 2))",
				     0, before_ms, notificationsp);
	return ret;
}

/* See state.h. */
int
state_masked_put(struct state *s, const struct state_masked *m)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO masked(ref, answerer, peer, agreement_id, "
				   "request_id, match_no, row_id, created_ms) VALUES (?,?,?,?,?,?,?,?)");

	if (wtx(s) != 0)
		return PIUGW_ESYSTEM;
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, m->ref, sizeof(m->ref), SQLITE_STATIC);
		sqlite3_bind_int(st, 2, m->answerer ? 1 : 0);
		sqlite3_bind_text(st, 3, m->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m->agreement_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, m->request_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, (int)m->match_no);
		sqlite3_bind_int64(st, 7, m->row_id);
		sqlite3_bind_int64(st, 8, m->created_ms);
	}
	return run(st);
}

static int
masked_fill(sqlite3_stmt *st, void *v)
{
	struct state_masked *m = v;

	memset(m, 0, sizeof(*m));
	fixed_blob(st, 0, m->ref, sizeof(m->ref), NULL);
	m->answerer = sqlite3_column_int(st, 1) != 0;
	column_text(st, 2, m->peer, sizeof(m->peer));
	column_text(st, 3, m->agreement_id, sizeof(m->agreement_id));
	column_text(st, 4, m->request_id, sizeof(m->request_id));
	m->match_no = (uint32_t)sqlite3_column_int(st, 5);
	m->row_id = sqlite3_column_int64(st, 6);
	m->created_ms = sqlite3_column_int64(st, 7);
	return 0;
}

#define MASKED_COLS "ref, answerer, peer, agreement_id, request_id, match_no, row_id, created_ms"

/* See state.h. */
int
state_masked_by_ref(struct state *s, const uint8_t ref[STATE_ID_BYTES], struct state_masked *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " MASKED_COLS " FROM masked WHERE answerer=1 AND ref=?");

	if (st != NULL)
		sqlite3_bind_blob(st, 1, ref, STATE_ID_BYTES, SQLITE_STATIC);
	return one_row(st, out, sizeof(*out), masked_fill);
}

/* See state.h. */
int
state_masked_by_match(struct state *s, const char *request_id, uint32_t match_no,
		      struct state_masked *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " MASKED_COLS " FROM masked "
				   "WHERE answerer=0 AND request_id=? AND match_no=?");

	if (st != NULL) {
		sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)match_no);
	}
	return one_row(st, out, sizeof(*out), masked_fill);
}

/* See state.h. */
int
state_masked_expire(struct state *s, int64_t before_ms, uint64_t *np)
{
	return delete_counted(s, "DELETE FROM masked WHERE ?1 = 0 AND created_ms < ?2", 0,
			      before_ms, np);
}
