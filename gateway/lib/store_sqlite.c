/*
 * store_sqlite.c: the traveller store in one SQLite file (store_backend.h),
 * the default backend: prepared statements, WAL, the schema and its
 * upgrades.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fileio.h"
#include "piugw/error.h"
#include "store_backend.h"

/*
 * The two indexes a person is found by. Schema 3: the name's carries the
 * flight, so that a document lookup's probe for the same person's rows by
 * name (merge_persons) never leaves the index; the document's does not (a
 * third column on both cost a million-row import 13 %, measured).
 */
#define INDEX_DOC "CREATE INDEX t_doc ON traveller(doc_key, transferred_at);"
#define INDEX_NAME "CREATE INDEX t_name ON traveller(name_key, transferred_at, flight_key);"

/* Every search selects the row's keys after its columns and name_norm (person keys). */
#define KEY_COLS ", doc_key, name_key, flight_key, dob_key"
#define KEY_COL0 (3 + COL__COUNT + 1)

struct sq {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *insert, *insert_sel, *q[STORE_Q__COUNT], *begin, *commit, *rollback,
		*del_sel, *del_row, *del_book_sel, *del_book_row, *savepoint, *release;
	bool hold;           /* read_hold: searches share one read transaction */
	int was;             /* the schema found at open (0: made then) */
	char cols_sql[2048]; /* "id, source, transferred_at, surname, ..." */
};

static int
exec(struct sq *s, const char *sql, struct diag *d)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		if (d != NULL)
			diag_add(d, "%s: %s", s->path, err != NULL ? err : "SQLite error");
		sqlite3_free(err);
		return PIUGW_ESYSTEM;
	}
	return 0;
}

static int
prepare(struct sq *s, sqlite3_stmt **st, const char *sql, struct diag *d)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	return 0;
}

static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

static int
create_schema(struct sq *s, struct diag *d)
{
	char sql[4096], cols[1024];

	store_sql_cols(cols, sizeof(cols), " TEXT");
	snprintf(sql, sizeof(sql),
		 "BEGIN;CREATE TABLE traveller(id INTEGER PRIMARY KEY, "
		 "source INTEGER NOT NULL, transferred_at INTEGER NOT NULL, "
		 "doc_key TEXT, name_key TEXT, dob_key TEXT, name_norm TEXT, "
		 "locator_key TEXT, flight_key TEXT, record_key TEXT%s);"
		 /*
		  * (key, time): lookups come back newest first without a sort step
		  * (and the flight in the name's: INDEX_NAME)
		  */
		 INDEX_DOC INDEX_NAME
		 "CREATE INDEX t_dob ON traveller(dob_key);"
		 "CREATE INDEX t_locator ON traveller(locator_key);"
		 "CREATE INDEX t_flight ON traveller(flight_key);"
		 "CREATE INDEX t_transferred ON traveller(transferred_at);"
		 "CREATE UNIQUE INDEX t_record ON traveller(record_key);"
		 "CREATE TABLE selector(traveller_id INTEGER NOT NULL, kind INTEGER NOT NULL, "
		 "value TEXT NOT NULL);"
		 "CREATE INDEX s_value ON selector(kind, value);"
		 "CREATE INDEX s_traveller ON selector(traveller_id);"
		 "PRAGMA user_version = %d;COMMIT;",
		 cols, STORE_SCHEMA_VERSION);
	return exec(s, sql, d);
}

static void
sq_close(void *db)
{
	struct sq *s = db;

	if (s == NULL)
		return;
	sqlite3_stmt *all[] = {s->insert,       s->insert_sel,   s->begin,   s->commit,
			       s->rollback,     s->del_sel,      s->del_row, s->del_book_sel,
			       s->del_book_row, s->savepoint,    s->release};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	for (int i = 0; i < STORE_Q__COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

static int
sq_open(const char *path, void **dbp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL, version = 0;
	struct sq *s = NULL;
	sqlite3_stmt *st = NULL;
	char sql[4096], cols[1024];
	size_t o = 0;

	*dbp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return PIUGW_ENOMEM;
	}
	/* Personal data: the file is born closed to everyone but its owner. */
	if (path[0] != ':' && (ret = fileio_precreate_private(path, d)) != 0)
		goto out;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						  SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		diag_add(d, "%s: cannot open the store: %s", path, sqlite3_errmsg(s->db));
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * WAL for concurrent readers; a 128 MiB page cache and memory-mapped reads,
	 * because at a million travellers the seven indexes outgrow SQLite's 2 MiB
	 * default and every insert and lookup would go to the disk.
	 */
	if ((ret = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			   "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; "
			   "PRAGMA cache_size=-131072; PRAGMA mmap_size=1073741824; "
			   "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=16384;", d)) != 0)
		goto out;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	s->was = version;
	if (version == 0) {
		if ((ret = create_schema(s, d)) != 0)
			goto out;
	} else if (version > STORE_SCHEMA_VERSION) {
		diag_add(d, "%s: store schema %d is newer than this piugw knows (%d); upgrade piugw",
			 path, version, STORE_SCHEMA_VERSION);
		ret = PIUGW_ECONFIG;
		goto out;
	}
	/* Migrations from older schema versions, one step each. */
	if (version == 1) {
		/* Rows stored before have no key: only what is imported from now on is matched. */
		if ((ret = exec(s, "BEGIN;ALTER TABLE traveller ADD COLUMN record_key TEXT;"
				   "CREATE UNIQUE INDEX t_record ON traveller(record_key);"
				   "PRAGMA user_version = 2;COMMIT;", d)) != 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		version = 2;
	}
	if (version == 2) {
		/* The name's index gains the flight (rebuilt once: a while on a big store). */
		if ((ret = exec(s, "BEGIN;DROP INDEX t_name;" INDEX_NAME
				   "PRAGMA user_version = 3;COMMIT;", d)) != 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}

	store_sql_cols(cols, sizeof(cols), "");
	snprintf(s->cols_sql, sizeof(s->cols_sql), "id, source, transferred_at%s", cols);
	o = (size_t)snprintf(sql, sizeof(sql),
			     "INSERT INTO traveller(" STORE_ROW_KEYS "%s) VALUES (?,?,?,?,?,?,?,?,?",
			     cols);
	for (int i = 0; i < COL__COUNT; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ",?");
	snprintf(sql + o, sizeof(sql) - o, ")");
	if ((ret = prepare(s, &s->insert, sql, d)) != 0 ||
	    (ret = prepare(s, &s->insert_sel,
			   "INSERT INTO selector(traveller_id, kind, value) VALUES (?,?,?)", d)) != 0 ||
	    (ret = prepare(s, &s->begin, "BEGIN", d)) != 0 ||
	    (ret = prepare(s, &s->commit, "COMMIT", d)) != 0 ||
	    (ret = prepare(s, &s->rollback, "ROLLBACK", d)) != 0 ||
	    (ret = prepare(s, &s->savepoint, "SAVEPOINT nest", d)) != 0 ||
	    (ret = prepare(s, &s->release, "RELEASE nest", d)) != 0 ||
	    (ret = prepare(s, &s->del_sel, "DELETE FROM selector WHERE traveller_id IN "
					   "(SELECT id FROM traveller WHERE record_key = ?1)", d)) != 0 ||
	    (ret = prepare(s, &s->del_row, "DELETE FROM traveller WHERE record_key = ?1", d)) != 0 ||
	    (ret = prepare(s, &s->del_book_sel,
			   "DELETE FROM selector WHERE traveller_id IN (SELECT id FROM traveller "
			   "WHERE source = 2 AND locator_key = ?1 AND flight_key = ?2)", d)) != 0 ||
	    (ret = prepare(s, &s->del_book_row,
			   "DELETE FROM traveller WHERE source = 2 AND locator_key = ?1 AND "
			   "flight_key = ?2", d)) != 0)
		goto out;
#define SEL(which, where)                                                                          \
	snprintf(sql, sizeof(sql), "SELECT %s, name_norm" KEY_COLS " FROM traveller WHERE %s",      \
		 s->cols_sql,                                                                      \
		 where);                                                                           \
	if ((ret = prepare(s, &s->q[which], sql, d)) != 0)                                         \
		goto out;
	SEL(STORE_Q_DOC, "doc_key = ?1 ORDER BY transferred_at DESC")
	SEL(STORE_Q_NAME, "name_key = ?1 ORDER BY transferred_at DESC")
	SEL(STORE_Q_DOB, "dob_key = ?1")
	SEL(STORE_Q_LOCATOR, "locator_key = ?1 ORDER BY surname")
	SEL(STORE_Q_FLIGHT, "flight_key = ?1 ORDER BY surname")
	SEL(STORE_Q_SELECTOR, "id IN (SELECT traveller_id FROM selector WHERE kind = ?3 AND "
			      "value = ?1) ORDER BY transferred_at DESC")
	SEL(STORE_Q_ID, "id = ?3")
#undef SEL
	/*
	 * The other rows of one person on one flight (store.h): by the document's
	 * index, or by the name's (with the date of birth in it), narrowed to the
	 * flight (an OR of the two would walk every row of the flight instead).
	 * Each by its own index (without statistics SQLite would take the
	 * flight's), ids only: the row itself, found again, is not decoded; a
	 * row of someone else's is read by its id.
	 */
	if ((ret = prepare(s, &s->q[STORE_Q_PERSON_DOC], "SELECT id FROM traveller INDEXED BY t_doc "
				"WHERE doc_key = ?1 AND flight_key = ?2", d)) != 0 ||
	    (ret = prepare(s, &s->q[STORE_Q_PERSON_NAME], "SELECT id FROM traveller INDEXED BY t_name "
				"WHERE name_key = ?1 AND flight_key = ?2", d)) != 0)
		goto out;
	*dbp = s;
	s = NULL;
	ret = 0;
out:
	sq_close(s);
	return ret;
}

static int
sq_begin(void *db, unsigned depth)
{
	struct sq *s = db;

	/* Prepared once: a savepoint per PAXLST message or PNRGOV booking. */
	return step_done(depth == 0 ? s->begin : s->savepoint);
}

static int
sq_commit(void *db, unsigned depth)
{
	struct sq *s = db;

	if (depth > 0)
		return step_done(s->release);
	if (step_done(s->commit) == 0)
		return 0;
	/* A commit that failed (the disk is full) leaves nothing half-done behind. */
	if (!sqlite3_get_autocommit(s->db))
		step_done(s->rollback);
	return PIUGW_ESYSTEM;
}

static int
sq_rollback(void *db, unsigned depth)
{
	struct sq *s = db;

	if (depth > 0)
		return sqlite3_exec(s->db, "ROLLBACK TO nest; RELEASE nest", NULL, NULL, NULL) ==
				       SQLITE_OK
			       ? 0
			       : PIUGW_ESYSTEM;
	return step_done(s->rollback);
}

static void
sq_read_hold(void *db, bool on)
{
	struct sq *s = db;

	s->hold = on;
	if (!on && !sqlite3_get_autocommit(s->db))
		step_done(s->commit);
}

/* SQLite takes its snapshot and locks at the first read of a transaction. */
static void
sq_snapshot(void *db)
{
	struct sq *s = db;

	if (s->hold && sqlite3_get_autocommit(s->db))
		step_done(s->begin);
}

static int
sq_insert(void *db, const struct store_new_row *r, bool replace, bool *replacedp, int64_t *idp,
	  struct diag *d)
{
	struct sq *s = db;
	sqlite3_stmt *st = s->insert;
	const struct traveller *t = r->t;
	const char *keys[] = {r->doc_key, r->name_key, r->dob_key, r->name_norm, r->locator_key,
			      r->flight_key, r->record_key};

	if (replacedp != NULL)
		*replacedp = false;
	/* The same record again replaces what was stored of it. */
	if (replace) {
		sqlite3_bind_text(s->del_sel, 1, r->record_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->del_row, 1, r->record_key, -1, SQLITE_STATIC);
		if (step_done(s->del_sel) != 0 || step_done(s->del_row) != 0) {
			diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
			return PIUGW_ESYSTEM;
		}
		if (replacedp != NULL)
			*replacedp = sqlite3_changes(s->db) > 0;
	}
	sqlite3_bind_int(st, 1, t->source);
	sqlite3_bind_int64(st, 2, t->transferred_at_ms);
	for (int i = 0; i < 7; i++) {
		if (keys[i] == NULL)
			sqlite3_bind_null(st, 3 + i);
		else
			sqlite3_bind_text(st, 3 + i, keys[i], -1, SQLITE_STATIC);
	}
	for (int i = 0; i < COL__COUNT; i++) {
		if (t->v[i] == NULL)
			sqlite3_bind_null(st, 10 + i);
		else
			sqlite3_bind_text(st, 10 + i, t->v[i], -1, SQLITE_STATIC);
	}
	if (step_done(st) != 0) {
		/* Not new after all (a caller's mistake): refused by the key's index, said so. */
		if (!replace && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE) {
			diag_add(d, "a record with this key is stored already");
			return PIUGW_EINVAL;
		}
		diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	*idp = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
sq_insert_selector(void *db, int64_t id, int kind, const char *value)
{
	struct sq *s = db;

	sqlite3_bind_int64(s->insert_sel, 1, id);
	sqlite3_bind_int(s->insert_sel, 2, kind);
	sqlite3_bind_text(s->insert_sel, 3, value, -1, SQLITE_TRANSIENT);
	return step_done(s->insert_sel);
}

static int
sq_delete_booking(void *db, const char *lk, const char *fk, uint64_t *np)
{
	struct sq *s = db;
	sqlite3_stmt *st[2] = {s->del_book_sel, s->del_book_row};

	for (int i = 0; i < 2; i++) {
		sqlite3_bind_text(st[i], 1, lk, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[i], 2, fk, -1, SQLITE_STATIC);
		if (step_done(st[i]) != 0)
			return PIUGW_ESYSTEM;
	}
	*np = (uint64_t)sqlite3_changes64(s->db);
	return 0;
}

static const char *
text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static const char *
sq_value(const struct store_row *r, int col)
{
	return text(r->cursor, 3 + col);
}

static int
sq_query(void *db, enum store_query q, const char *a, const char *b, int64_t n, store_row_fn fn,
	 void *ctx)
{
	struct sq *s = db;
	sqlite3_stmt *st = s->q[q];
	struct store_row r;
	bool ids_only = q == STORE_Q_PERSON_DOC || q == STORE_Q_PERSON_NAME;
	int rc, ret = 0;

	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (q == STORE_Q_SELECTOR || q == STORE_Q_ID)
		sqlite3_bind_int64(st, 3, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(st, 0);
		if (!ids_only) {
			r.source = sqlite3_column_int(st, 1);
			r.transferred_at_ms = sqlite3_column_int64(st, 2);
			r.value = sq_value;
			r.cursor = st;
			r.name_norm = text(st, 3 + COL__COUNT);
			r.doc_key = text(st, KEY_COL0);
			r.name_key = text(st, KEY_COL0 + 1);
			r.flight_key = text(st, KEY_COL0 + 2);
			r.has_dob = sqlite3_column_type(st, KEY_COL0 + 3) != SQLITE_NULL;
		}
		if ((ret = fn(ctx, &r)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = PIUGW_ESYSTEM;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int
sq_count(void *db, uint64_t *np)
{
	struct sq *s = db;
	sqlite3_stmt *st = NULL;
	int ret = PIUGW_ESYSTEM;

	*np = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM traveller", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*np = (uint64_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

static int
sq_purge(void *db, int64_t before_ms, uint64_t *deletedp)
{
	struct sq *s = db;
	sqlite3_stmt *st = NULL;
	int ret = PIUGW_ESYSTEM;

	*deletedp = 0;
	if (exec(s, "BEGIN", NULL) != 0)
		return PIUGW_ESYSTEM;
	if (sqlite3_prepare_v2(s->db,
			       "DELETE FROM selector WHERE traveller_id IN "
			       "(SELECT id FROM traveller WHERE transferred_at < ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, before_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM traveller WHERE transferred_at < ?1", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, before_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	*deletedp = (uint64_t)sqlite3_changes64(s->db);
	ret = 0;
out:
	sqlite3_finalize(st);
	if (exec(s, ret == 0 ? "COMMIT" : "ROLLBACK", NULL) != 0)
		ret = PIUGW_ESYSTEM;
	if (ret != 0)
		*deletedp = 0;
	return ret;
}

static int
sq_stats(void *db, int64_t now_ms, struct store_stats *out)
{
	struct sq *s = db;
	sqlite3_stmt *st = NULL;
	const int64_t day = 86400000;
	int ret = PIUGW_ESYSTEM;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT count(*), sum(source = 1), sum(source = 2), "
			       "sum(transferred_at >= ?1), "
			       "sum(transferred_at < ?1 AND transferred_at >= ?2), "
			       "sum(transferred_at < ?2 AND transferred_at >= ?3), "
			       "sum(transferred_at < ?3), min(flight_date), max(flight_date) "
			       "FROM traveller",
			       -1, &st, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	sqlite3_bind_int64(st, 1, now_ms - 30 * day);
	sqlite3_bind_int64(st, 2, now_ms - 183 * day);
	sqlite3_bind_int64(st, 3, now_ms - 1826 * day);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->rows = (uint64_t)sqlite3_column_int64(st, 0);
		out->api = (uint64_t)sqlite3_column_int64(st, 1);
		out->pnr = (uint64_t)sqlite3_column_int64(st, 2);
		for (int i = 0; i < 4; i++)
			out->age_bands[i] = (uint64_t)sqlite3_column_int64(st, 3 + i);
		if (text(st, 7) != NULL)
			snprintf(out->first_flight, sizeof(out->first_flight), "%s", text(st, 7));
		if (text(st, 8) != NULL)
			snprintf(out->last_flight, sizeof(out->last_flight), "%s", text(st, 8));
		ret = 0;
	}
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * A person: on a leg of a flight, the document, else the name and date
	 * of birth, else the row (the search's rule, less the rows whose
	 * departure one of them leaves out).
	 */
	if (ret == 0 &&
	    (sqlite3_prepare_v2(s->db,
				"SELECT count(*) FROM (SELECT DISTINCT flight_key, "
				"upper(coalesce(dep_airport, '')), "
				"coalesce(doc_key, CASE WHEN dob_key IS NOT NULL THEN name_key END, "
				"'row ' || id) FROM traveller)",
				-1, &st, NULL) != SQLITE_OK ||
	     sqlite3_step(st) != SQLITE_ROW))
		ret = PIUGW_ESYSTEM;
	else if (ret == 0)
		out->persons = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ret;
}

static int
sq_max_id(void *db, int64_t *idp)
{
	struct sq *s = db;
	sqlite3_stmt *st = NULL;
	int ret = PIUGW_ESYSTEM;

	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM traveller", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*idp = sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

static int
sq_keys_since(void *db, int64_t after, struct store_keys *out, size_t max, size_t *np)
{
	struct sq *s = db;
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, doc_key, name_key, dob_key, name_norm, flight_key "
			       "FROM traveller WHERE id > ?1 ORDER BY id LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return PIUGW_ESYSTEM;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *np < max) {
		struct store_keys *k = &out[(*np)++];
		k->id = sqlite3_column_int64(st, 0);
#define KEYCOL(i, field) snprintf(k->field, sizeof(k->field), "%s", text(st, i) ? text(st, i) : "")
		KEYCOL(1, doc);
		KEYCOL(2, name);
		KEYCOL(3, dob);
		KEYCOL(4, name_norm);
		KEYCOL(5, flight);
#undef KEYCOL
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

static const char *
sq_errmsg(void *db)
{
	return sqlite3_errmsg(((struct sq *)db)->db);
}

static int
sq_writable(void *db)
{
	struct sq *s = db;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

static int
sq_schema_was(void *db)
{
	return ((struct sq *)db)->was;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.read_hold = sq_read_hold,
	.snapshot = sq_snapshot,
	.insert = sq_insert,
	.insert_selector = sq_insert_selector,
	.delete_booking = sq_delete_booking,
	.query = sq_query,
	.count = sq_count,
	.purge = sq_purge,
	.stats = sq_stats,
	.max_id = sq_max_id,
	.keys_since = sq_keys_since,
	.errmsg = sq_errmsg,
	.writable = sq_writable,
	.schema_was = sq_schema_was,
};
