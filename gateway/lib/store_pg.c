/*
 * store_pg.c: the traveller store in a PostgreSQL database (libpq), the
 * second backend of store_backend.h (issue 23), for a member whose
 * database administrators keep the data in PostgreSQL with their own
 * replication and backups. The same table and keys as store_sqlite.c; the
 * schema version in store_meta; statements prepared once per connection.
 *
 * Opened by store_open("postgresql:CONNINFO"); CONNINFO is libpq's
 * ("host=/run/postgresql dbname=piugw"): authentication by peer, a
 * certificate or a password file (passfile=), never a password in it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "piugw/error.h"
#include "store_backend.h"

#define KEY_COLS ", doc_key, name_key, flight_key, dob_key"
#define KEY_COL0 (3 + COL__COUNT + 1)

struct pg {
	PGconn *conn;
	bool hold;
	char err[512];
	char cols[2048];     /* "id, source, transferred_at, surname, ..." */
	char names[1024];    /* ", surname, given_names, ...": the columns alone */
	int64_t retry_at_ms; /* a broken connection: when to try again */
	int64_t backoff_ms;  /* 1 s, doubling to 30 s */
	int was;             /* the schema found at open (0: made then) */
	/*
	 * Rows added inside a transaction wait here and go in with COPY, a
	 * batch at a time (flush): at the commit, at BATCH_MAX rows, and
	 * before anything reads or deletes. Their ids are provisional
	 * (negative) until then; their selectors wait with them.
	 */
	unsigned depth;                  /* transactions and savepoints open */
	char *rows;                      /* COPY text of the rows waiting */
	size_t rows_len, rows_cap, nrows;
	char *sels;                      /* COPY text of their selectors */
	size_t sels_len, sels_cap;
	size_t marks[16][2];             /* rows_len, sels_len at each savepoint */
	uint64_t nrows_at[16];
	int64_t seq;                     /* the last provisional id given */
	uint64_t replaced_late;          /* rows a flush found stored already (store_replaced_late) */
	bool staged_tables;              /* the temporary tables exist on this connection */
};

#define BATCH_MAX 20000

static int prepare_all(struct pg *s, struct diag *d);

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The connection, made again if the server went away: at once the first
 * time, then at most once a backoff (1 s, doubling to 30 s), so that a
 * store that is down costs a query a refusal, not a wait. Statements are
 * prepared again on the new connection.
 */
static bool
alive(struct pg *s)
{
	int64_t now;

	if (PQstatus(s->conn) == CONNECTION_OK)
		return true;
	if ((now = mono_ms()) < s->retry_at_ms)
		return false;
	PQreset(s->conn);
	s->staged_tables = false;
	if (PQstatus(s->conn) == CONNECTION_OK && prepare_all(s, NULL) == 0) {
		s->backoff_ms = 0;
		s->err[0] = '\0';
		return true;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		const char *m = PQerrorMessage(s->conn);
		snprintf(s->err, sizeof(s->err), "%s", m != NULL && *m ? m : "cannot connect");
	}
	s->backoff_ms = s->backoff_ms == 0 ? 1000 : s->backoff_ms * 2 > 30000 ? 30000
										 : s->backoff_ms * 2;
	s->retry_at_ms = now + s->backoff_ms;
	return false;
}

/* The prepared statements, by name. */
enum {
	P_INSERT, P_INSERT_NEW, P_INSERT_SEL, P_DEL_SEL, P_DEL_ROW, P_DEL_BOOK_SEL, P_DEL_BOOK_ROW,
	P_Q0 /* + enum store_query */
};
#define P__COUNT (P_Q0 + STORE_Q__COUNT)

static const char *
pname(int p)
{
	static char names[P__COUNT][16];

	snprintf(names[p], sizeof(names[p]), "p%d", p);
	return names[p];
}

/* Remember what went wrong (for errmsg), one line. */
static void
remember(struct pg *s, const char *what)
{
	size_t n;

	snprintf(s->err, sizeof(s->err), "%s", what != NULL ? what : "PostgreSQL error");
	n = strlen(s->err);
	while (n > 0 && (s->err[n - 1] == '\n' || s->err[n - 1] == ' '))
		s->err[--n] = '\0';
}

/* Run sql (no parameters, no rows wanted): 0 or PIUGW_ESYSTEM, said in d. */
static int
exec(struct pg *s, const char *sql, struct diag *d)
{
	PGresult *r;

	if (!alive(s)) {
		if (d != NULL)
			diag_add(d, "the store (PostgreSQL) is unavailable: %s", s->err);
		return PIUGW_ESYSTEM;
	}
	r = PQexec(s->conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok) {
		remember(s, PQerrorMessage(s->conn));
		if (d != NULL)
			diag_add(d, "the store (PostgreSQL): %s", s->err);
	}
	PQclear(r);
	return ok ? 0 : PIUGW_ESYSTEM;
}

/* One row, one column, as text (NULL: none or an error). */
static PGresult *
one(struct pg *s, const char *sql, int n, const char *const *params)
{
	PGresult *r;

	if (!alive(s))
		return NULL;
	r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		remember(s, PQerrorMessage(s->conn));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
prepare(struct pg *s, int p, const char *sql, struct diag *d)
{
	PGresult *r = PQprepare(s->conn, pname(p), sql, 0, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok) {
		remember(s, PQerrorMessage(s->conn));
		if (d != NULL)
			diag_add(d, "the store (PostgreSQL): %s", s->err);
	}
	PQclear(r);
	return ok ? 0 : PIUGW_ESYSTEM;
}

static int
create_schema(struct pg *s, struct diag *d)
{
	char sql[6144], cols[1536];

	store_sql_cols(cols, sizeof(cols), " text");
	snprintf(sql, sizeof(sql),
		 "BEGIN;CREATE TABLE store_meta(version integer NOT NULL);"
		 "CREATE TABLE traveller(id bigint GENERATED ALWAYS AS IDENTITY "
		 "PRIMARY KEY, source smallint NOT NULL, transferred_at bigint NOT NULL, "
		 "doc_key text, name_key text, dob_key text, name_norm text, "
		 "locator_key text, flight_key text, record_key text%s);"
		 "CREATE INDEX t_doc ON traveller(doc_key, transferred_at);"
		 "CREATE INDEX t_name ON traveller(name_key, transferred_at, flight_key);"
		 "CREATE INDEX t_dob ON traveller(dob_key);"
		 "CREATE INDEX t_locator ON traveller(locator_key);"
		 "CREATE INDEX t_flight ON traveller(flight_key);"
		 "CREATE INDEX t_transferred ON traveller(transferred_at);"
		 "CREATE UNIQUE INDEX t_record ON traveller(record_key);"
		 "CREATE TABLE selector(traveller_id bigint NOT NULL, kind smallint NOT NULL, "
		 "value text NOT NULL);"
		 "CREATE INDEX s_value ON selector(kind, value);"
		 "CREATE INDEX s_traveller ON selector(traveller_id);"
		 "INSERT INTO store_meta(version) VALUES (%d);COMMIT;",
		 cols, STORE_SCHEMA_VERSION);
	if (exec(s, sql, d) != 0) {
		exec(s, "ROLLBACK", NULL);
		return PIUGW_ESYSTEM;
	}
	return 0;
}

/* Every statement, on this connection (again after it was made anew). */
static int
prepare_all(struct pg *s, struct diag *d)
{
	char sql[4096];
	size_t o;
	int ret;

	if ((ret = exec(s, "SET client_min_messages = warning", d)) != 0)
		return ret;
	o = (size_t)snprintf(sql, sizeof(sql),
			     "INSERT INTO traveller(" STORE_ROW_KEYS "%s) VALUES "
			     "($1,$2,$3,$4,$5,$6,$7,$8,$9",
			     s->names);
	for (int i = 0; i < COL__COUNT; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ",$%d", 10 + i);
	snprintf(sql + o, sizeof(sql) - o, ") RETURNING id");
	if ((ret = prepare(s, P_INSERT, sql, d)) != 0)
		return ret;
	/*
	 * A row that must be new: refused by the key's index without aborting
	 * the transaction (an error would, in PostgreSQL), told by no id.
	 */
	snprintf(sql + o, sizeof(sql) - o, ") ON CONFLICT (record_key) DO NOTHING RETURNING id");
	if ((ret = prepare(s, P_INSERT_NEW, sql, d)) != 0 ||
	    (ret = prepare(s, P_INSERT_SEL,
			   "INSERT INTO selector(traveller_id, kind, value) VALUES ($1,$2,$3)", d)) != 0 ||
	    (ret = prepare(s, P_DEL_SEL, "DELETE FROM selector WHERE traveller_id IN "
					 "(SELECT id FROM traveller WHERE record_key = $1)", d)) != 0 ||
	    (ret = prepare(s, P_DEL_ROW, "DELETE FROM traveller WHERE record_key = $1", d)) != 0 ||
	    (ret = prepare(s, P_DEL_BOOK_SEL,
			   "DELETE FROM selector WHERE traveller_id IN (SELECT id FROM traveller "
			   "WHERE source = 2 AND locator_key = $1 AND flight_key = $2)", d)) != 0 ||
	    (ret = prepare(s, P_DEL_BOOK_ROW,
			   "DELETE FROM traveller WHERE source = 2 AND locator_key = $1 AND "
			   "flight_key = $2", d)) != 0)
		return ret;
	/* Each query's parameters as pg_query passes them (params_of). */
	static const char *const where[STORE_Q__COUNT] = {
		[STORE_Q_DOC] = "doc_key = $1 ORDER BY transferred_at DESC",
		[STORE_Q_NAME] = "name_key = $1 ORDER BY transferred_at DESC",
		[STORE_Q_DOB] = "dob_key = $1",
		[STORE_Q_LOCATOR] = "locator_key = $1 ORDER BY surname",
		[STORE_Q_FLIGHT] = "flight_key = $1 ORDER BY surname",
		[STORE_Q_SELECTOR] = ("id IN (SELECT traveller_id FROM selector WHERE value = $1 "
				      "AND kind = $2) ORDER BY transferred_at DESC"),
		[STORE_Q_ID] = "id = $1",
	};
	for (int q = 0; q < STORE_Q__COUNT; q++) {
		if (q == STORE_Q_PERSON_DOC || q == STORE_Q_PERSON_NAME)
			snprintf(sql, sizeof(sql),
				 "SELECT id FROM traveller WHERE %s = $1 AND flight_key = $2",
				 q == STORE_Q_PERSON_DOC ? "doc_key" : "name_key");
		else
			snprintf(sql, sizeof(sql),
				 "SELECT %s, name_norm" KEY_COLS " FROM traveller WHERE %s", s->cols,
				 where[q]);
		if ((ret = prepare(s, P_Q0 + q, sql, d)) != 0)
			return ret;
	}
	return 0;
}

static void
pg_close(void *db)
{
	struct pg *s = db;

	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s->rows);
	free(s->sels);
	free(s);
}

static int
pg_open(const char *conninfo, void **dbp, struct diag *d)
{
	struct pg *s;
	PGresult *r;
	int version = 0, ret = PIUGW_ESYSTEM;

	*dbp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PIUGW_ENOMEM;
	/* Not waiting on a server that does not answer: 5 s unless the string says. */
	{
		const char *const keys[] = {"connect_timeout", "dbname", NULL};
		const char *const vals[] = {"5", conninfo, NULL};
		s->conn = PQconnectdbParams(keys, vals, 1);
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		remember(s, PQerrorMessage(s->conn));
		diag_add(d, "the store (PostgreSQL): cannot connect: %s", s->err);
		goto out;
	}
	/* Quiet: notices would go to stderr, in the daemon's log. */
	if ((ret = exec(s, "SET client_min_messages = warning", d)) != 0)
		goto out;
	r = one(s, "SELECT to_regclass('store_meta') IS NOT NULL", 0, NULL);
	if (r == NULL) {
		diag_add(d, "the store (PostgreSQL): %s", s->err);
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		PQclear(r);
		if ((r = one(s, "SELECT max(version) FROM store_meta", 0, NULL)) == NULL) {
			diag_add(d, "the store (PostgreSQL): %s", s->err);
			ret = PIUGW_ESYSTEM;
			goto out;
		}
		version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	}
	PQclear(r);
	s->was = version;
	if (version == 0 && (ret = create_schema(s, d)) != 0)
		goto out;
	if (version > STORE_SCHEMA_VERSION) {
		diag_add(d, "the store (PostgreSQL): schema %d is newer than this piugw knows (%d); "
			    "upgrade piugw",
			 version, STORE_SCHEMA_VERSION);
		ret = PIUGW_ECONFIG;
		goto out;
	}

	store_sql_cols(s->names, sizeof(s->names), "");
	snprintf(s->cols, sizeof(s->cols), "id, source, transferred_at%s", s->names);
	if ((ret = prepare_all(s, d)) != 0)
		goto out;
	*dbp = s;
	s = NULL;
	ret = 0;
out:
	pg_close(s);
	return ret;
}

/* ---- rows staged for COPY ---- */

/* Append v (NULL: \N) to a COPY text buffer, escaped, then sep. */
static bool
copy_put(char **buf, size_t *len, size_t *cap, const char *v, char sep)
{
	size_t need = (v != NULL ? 2 * strlen(v) : 2) + 2;

	if (*len + need > *cap) {
		size_t nc = *cap ? *cap : 1 << 16;
		char *nb;
		while (nc < *len + need)
			nc *= 2;
		if ((nb = realloc(*buf, nc)) == NULL)
			return false;
		*buf = nb;
		*cap = nc;
	}
	if (v == NULL) {
		memcpy(*buf + *len, "\\N", 2);
		*len += 2;
	} else {
		for (const char *c = v; *c != '\0'; c++) {
			char e = *c == '\\' ? '\\' : *c == '\t' ? 't' : *c == '\n' ? 'n' : *c == '\r' ? 'r' : 0;
			if (e != 0) {
				(*buf)[(*len)++] = '\\';
				(*buf)[(*len)++] = e;
			} else {
				(*buf)[(*len)++] = *c;
			}
		}
	}
	(*buf)[(*len)++] = sep;
	return true;
}

/* COPY len bytes of text into table. */
static int
copy_in(struct pg *s, const char *table, const char *text, size_t len)
{
	char sql[64];
	PGresult *r;
	int ok;

	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN", table);
	r = PQexec(s->conn, sql);
	ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (!ok) {
		remember(s, PQerrorMessage(s->conn));
		return PIUGW_ESYSTEM;
	}
	for (size_t at = 0; ok && at < len; at += 1 << 20) {
		size_t n = len - at < (size_t)1 << 20 ? len - at : (size_t)1 << 20;
		ok = PQputCopyData(s->conn, text + at, (int)n) == 1;
	}
	ok = PQputCopyEnd(s->conn, ok ? NULL : "piugw: the rows could not be sent") == 1 && ok;
	while ((r = PQgetResult(s->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ok = 0;
		PQclear(r);
	}
	if (!ok)
		remember(s, PQerrorMessage(s->conn));
	return ok ? 0 : PIUGW_ESYSTEM;
}

/*
 * The rows waiting go in: COPY into two temporary tables, then, in one
 * statement each, the stored rows of their record keys out (counted: they
 * were replaced), the last row of each key in, in the order they came, and
 * their selectors with their ids.
 */
static int
flush(struct pg *s)
{
	char sql[8192];
	PGresult *r;
	int ret;

	if (s->nrows == 0)
		return 0;
	if (!s->staged_tables) {
		char typed[1536];
		store_sql_cols(typed, sizeof(typed), " text");
		snprintf(sql, sizeof(sql),
			 "CREATE TEMP TABLE stage(seq bigint, source smallint, "
			 "transferred_at bigint, doc_key text, name_key text, dob_key text, "
			 "name_norm text, locator_key text, flight_key text, record_key text%s) "
			 "ON COMMIT DELETE ROWS;"
			 "CREATE TEMP TABLE stage_sel(seq bigint, kind smallint, value text) "
			 "ON COMMIT DELETE ROWS",
			 typed);
		if ((ret = exec(s, sql, NULL)) != 0)
			return ret;
		s->staged_tables = true;
	}
	if ((ret = exec(s, "TRUNCATE stage, stage_sel", NULL)) != 0 ||
	    (ret = copy_in(s, "stage", s->rows, s->rows_len)) != 0 ||
	    (ret = copy_in(s, "stage_sel", s->sels, s->sels_len)) != 0)
		return ret;
	/* Replaced: each row after the first of its key, and the first where the key is stored. */
	r = one(s,
		"SELECT (SELECT count(*) - count(DISTINCT record_key) FROM stage) + "
		"(SELECT count(DISTINCT s.record_key) FROM stage s WHERE EXISTS "
		"(SELECT 1 FROM traveller t WHERE t.record_key = s.record_key))",
		0, NULL);
	if (r == NULL)
		return PIUGW_ESYSTEM;
	s->replaced_late += strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	snprintf(sql, sizeof(sql),
		 "DELETE FROM selector WHERE traveller_id IN (SELECT t.id FROM traveller t "
		 "JOIN stage s ON t.record_key = s.record_key);"
		 "DELETE FROM traveller t USING stage s WHERE t.record_key = s.record_key;"
		 "WITH last AS (SELECT DISTINCT ON (record_key) * FROM stage "
		 "ORDER BY record_key, seq DESC), "
		 "ins AS (INSERT INTO traveller(" STORE_ROW_KEYS "%s) SELECT " STORE_ROW_KEYS
		 "%s FROM last ORDER BY seq RETURNING id, record_key) "
		 "INSERT INTO selector(traveller_id, kind, value) SELECT ins.id, ss.kind, ss.value "
		 "FROM ins JOIN last l ON l.record_key = ins.record_key "
		 "JOIN stage_sel ss ON ss.seq = l.seq",
		 s->names, s->names);
	if ((ret = exec(s, sql, NULL)) != 0)
		return ret;
	s->rows_len = s->sels_len = s->nrows = 0;
	/* What a savepoint opened since holds is in the tables now: its rollback takes it back. */
	memset(s->marks, 0, sizeof(s->marks));
	memset(s->nrows_at, 0, sizeof(s->nrows_at));
	return 0;
}

static void
unstage(struct pg *s)
{
	s->rows_len = s->sels_len = s->nrows = 0;
	s->replaced_late = 0;
}

static int
pg_begin(void *db, unsigned depth)
{
	struct pg *s = db;
	int ret = exec(s, depth == 0 ? "BEGIN" : "SAVEPOINT nest", NULL);

	if (ret == 0) {
		if (depth == 0)
			unstage(s);
		else if (depth < 16) {
			s->marks[depth][0] = s->rows_len;
			s->marks[depth][1] = s->sels_len;
			s->nrows_at[depth] = s->nrows;
		}
		s->depth = depth + 1;
	}
	return ret;
}

static int
pg_commit(void *db, unsigned depth)
{
	struct pg *s = db;
	int ret;

	s->depth = depth;
	if (depth > 0)
		return exec(s, "RELEASE SAVEPOINT nest", NULL);
	if ((ret = flush(s)) != 0) {
		unstage(s);
		exec(s, "ROLLBACK", NULL);
		return ret;
	}
	/* A commit that fails is a rollback in PostgreSQL: nothing half-done stays. */
	if ((ret = exec(s, "COMMIT", NULL)) != 0)
		s->replaced_late = 0;
	return ret;
}

static int
pg_rollback(void *db, unsigned depth)
{
	struct pg *s = db;

	s->depth = depth;
	if (depth > 0) {
		if (depth < 16) {
			s->rows_len = s->marks[depth][0];
			s->sels_len = s->marks[depth][1];
			s->nrows = s->nrows_at[depth];
		}
		return exec(s, "ROLLBACK TO SAVEPOINT nest; RELEASE SAVEPOINT nest", NULL);
	}
	unstage(s);
	return exec(s, "ROLLBACK", NULL);
}

/* See store_backend.h: what flushes found stored already, once (then 0). */
static uint64_t
pg_replaced_late(void *db)
{
	struct pg *s = db;
	uint64_t n = s->replaced_late;

	s->replaced_late = 0;
	return n;
}

static void
pg_read_hold(void *db, bool on)
{
	struct pg *s = db;

	s->hold = on;
	if (!on && PQtransactionStatus(s->conn) == PQTRANS_INTRANS)
		exec(s, "COMMIT", NULL);
}

/* Under read_hold, the searches share one snapshot (as SQLite's read transaction). */
static void
pg_snapshot(void *db)
{
	struct pg *s = db;

	if (s->hold && PQtransactionStatus(s->conn) == PQTRANS_IDLE)
		exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL);
}

/* Run prepared statement p with n text parameters; the result, or NULL (remembered). */
static PGresult *
run(struct pg *s, int p, int n, const char *const *params, ExecStatusType want)
{
	PGresult *r;

	if (!alive(s))
		return NULL;
	r = PQexecPrepared(s->conn, pname(p), n, params, NULL, NULL, 0);

	if (PQresultStatus(r) != want) {
		remember(s, PQerrorMessage(s->conn));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
pg_insert(void *db, const struct store_new_row *nr, bool replace, bool *replacedp, int64_t *idp,
	  struct diag *d)
{
	struct pg *s = db;
	const char *params[9 + COL__COUNT];
	char source[8], at[24];
	PGresult *r;

	if (replacedp != NULL)
		*replacedp = false;
	/* In a transaction, replacing: staged for COPY (flush). */
	if (replace && s->depth > 0) {
		char seq[24];
		const char *v[9] = {source, at, nr->doc_key, nr->name_key, nr->dob_key,
				    nr->name_norm, nr->locator_key, nr->flight_key, nr->record_key};
		bool ok;
		snprintf(seq, sizeof(seq), "%" PRId64, ++s->seq);
		snprintf(source, sizeof(source), "%d", nr->t->source);
		snprintf(at, sizeof(at), "%" PRId64, nr->t->transferred_at_ms);
		ok = copy_put(&s->rows, &s->rows_len, &s->rows_cap, seq, '\t');
		for (int i = 0; ok && i < 9; i++)
			ok = copy_put(&s->rows, &s->rows_len, &s->rows_cap, v[i], '\t');
		for (int i = 0; ok && i < COL__COUNT; i++)
			ok = copy_put(&s->rows, &s->rows_len, &s->rows_cap, nr->t->v[i],
				      i + 1 < COL__COUNT ? '\t' : '\n');
		if (!ok) {
			diag_add(d, "the store (PostgreSQL): out of memory");
			return PIUGW_ENOMEM;
		}
		s->nrows++;
		*idp = -s->seq;
		if (s->nrows >= BATCH_MAX && flush(s) != 0) {
			diag_add(d, "the store (PostgreSQL): %s", s->err);
			return PIUGW_ESYSTEM;
		}
		return 0;
	}
	if (flush(s) != 0) {
		diag_add(d, "the store (PostgreSQL): %s", s->err);
		return PIUGW_ESYSTEM;
	}
	if (replace) {
		PGresult *r1 = run(s, P_DEL_SEL, 1, &nr->record_key, PGRES_COMMAND_OK);
		PGresult *r2 = r1 != NULL ? run(s, P_DEL_ROW, 1, &nr->record_key, PGRES_COMMAND_OK)
					  : NULL;
		if (r2 != NULL && replacedp != NULL)
			*replacedp = strcmp(PQcmdTuples(r2), "0") != 0;
		PQclear(r1);
		if (r2 == NULL) {
			diag_add(d, "the store (PostgreSQL): %s", s->err);
			return PIUGW_ESYSTEM;
		}
		PQclear(r2);
	}
	snprintf(source, sizeof(source), "%d", nr->t->source);
	snprintf(at, sizeof(at), "%" PRId64, nr->t->transferred_at_ms);
	params[0] = source;
	params[1] = at;
	params[2] = nr->doc_key;
	params[3] = nr->name_key;
	params[4] = nr->dob_key;
	params[5] = nr->name_norm;
	params[6] = nr->locator_key;
	params[7] = nr->flight_key;
	params[8] = nr->record_key;
	for (int i = 0; i < COL__COUNT; i++)
		params[9 + i] = nr->t->v[i];
	if ((r = run(s, replace ? P_INSERT : P_INSERT_NEW, 9 + COL__COUNT, params,
		     PGRES_TUPLES_OK)) == NULL) {
		diag_add(d, "the store (PostgreSQL): %s", s->err);
		return PIUGW_ESYSTEM;
	}
	if (PQntuples(r) != 1) {
		/* Not new after all (a caller's mistake): refused by the key's index, said so. */
		PQclear(r);
		diag_add(d, "a record with this key is stored already");
		return PIUGW_EINVAL;
	}
	*idp = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int
pg_insert_selector(void *db, int64_t id, int kind, const char *value)
{
	struct pg *s = db;
	char ids[24], kinds[8];
	const char *params[3] = {ids, kinds, value};
	PGresult *r;

	snprintf(ids, sizeof(ids), "%" PRId64, id < 0 ? -id : id);
	snprintf(kinds, sizeof(kinds), "%d", kind);
	/* A staged row's (a provisional id): staged with it. */
	if (id < 0)
		return copy_put(&s->sels, &s->sels_len, &s->sels_cap, ids, '\t') &&
			       copy_put(&s->sels, &s->sels_len, &s->sels_cap, kinds, '\t') &&
			       copy_put(&s->sels, &s->sels_len, &s->sels_cap, value, '\n')
		       ? 0
		       : PIUGW_ENOMEM;
	if ((r = run(s, P_INSERT_SEL, 3, params, PGRES_COMMAND_OK)) == NULL)
		return PIUGW_ESYSTEM;
	PQclear(r);
	return 0;
}

static int
pg_delete_booking(void *db, const char *lk, const char *fk, uint64_t *np)
{
	struct pg *s = db;
	const char *params[2] = {lk, fk};
	PGresult *r;

	if (flush(s) != 0)
		return PIUGW_ESYSTEM;
	if ((r = run(s, P_DEL_BOOK_SEL, 2, params, PGRES_COMMAND_OK)) == NULL)
		return PIUGW_ESYSTEM;
	PQclear(r);
	if ((r = run(s, P_DEL_BOOK_ROW, 2, params, PGRES_COMMAND_OK)) == NULL)
		return PIUGW_ESYSTEM;
	*np = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

struct cursor {
	PGresult *r;
	int row;
};

static const char *
get(const struct cursor *c, int col)
{
	return PQgetisnull(c->r, c->row, col) ? NULL : PQgetvalue(c->r, c->row, col);
}

static const char *
pg_value(const struct store_row *r, int col)
{
	return get(r->cursor, 3 + col);
}

static int
pg_query(void *db, enum store_query q, const char *a, const char *b, int64_t n, store_row_fn fn,
	 void *ctx)
{
	struct pg *s = db;
	char num[24];
	const char *params[2] = {a, b};
	bool ids_only = q == STORE_Q_PERSON_DOC || q == STORE_Q_PERSON_NAME;
	struct cursor c = {NULL, 0};
	struct store_row r;
	int ret = 0, np = 1;

	if (flush(s) != 0)
		return PIUGW_ESYSTEM;
	snprintf(num, sizeof(num), "%" PRId64, n);
	/* A key ($1), a key and the flight ($1, $2), a value and its kind, or an id. */
	if (q == STORE_Q_SELECTOR) {
		params[1] = num;
		np = 2;
	} else if (q == STORE_Q_ID) {
		params[0] = num;
	} else if (ids_only) {
		np = 2;
	}
	if ((c.r = run(s, P_Q0 + q, np, params, PGRES_TUPLES_OK)) == NULL)
		return PIUGW_ESYSTEM;
	for (c.row = 0; c.row < PQntuples(c.r) && ret == 0; c.row++) {
		memset(&r, 0, sizeof(r));
		r.id = strtoll(PQgetvalue(c.r, c.row, 0), NULL, 10);
		if (!ids_only) {
			r.source = (int)strtol(PQgetvalue(c.r, c.row, 1), NULL, 10);
			r.transferred_at_ms = strtoll(PQgetvalue(c.r, c.row, 2), NULL, 10);
			r.value = pg_value;
			r.cursor = &c;
			r.name_norm = get(&c, 3 + COL__COUNT);
			r.doc_key = get(&c, KEY_COL0);
			r.name_key = get(&c, KEY_COL0 + 1);
			r.flight_key = get(&c, KEY_COL0 + 2);
			r.has_dob = get(&c, KEY_COL0 + 3) != NULL;
		}
		ret = fn(ctx, &r);
	}
	PQclear(c.r);
	return ret;
}

/* A count of a query without parameters. */
static int
number(struct pg *s, const char *sql, int n, const char *const *params, uint64_t *out)
{
	PGresult *r = one(s, sql, n, params);

	if (r == NULL)
		return PIUGW_ESYSTEM;
	*out = PQgetisnull(r, 0, 0) ? 0 : strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int
pg_count(void *db, uint64_t *np)
{
	if (flush(db) != 0)
		return PIUGW_ESYSTEM;
	return number(db, "SELECT count(*) FROM traveller", 0, NULL, np);
}

static int
pg_purge(void *db, int64_t before_ms, uint64_t *deletedp)
{
	struct pg *s = db;
	char at[24];
	const char *params[1] = {at};
	PGresult *r = NULL;
	int ret = PIUGW_ESYSTEM;

	snprintf(at, sizeof(at), "%" PRId64, before_ms);
	if (flush(s) != 0 || exec(s, "BEGIN", NULL) != 0)
		return PIUGW_ESYSTEM;
	r = PQexecParams(s->conn,
			 "DELETE FROM selector WHERE traveller_id IN "
			 "(SELECT id FROM traveller WHERE transferred_at < $1::bigint)",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto out;
	PQclear(r);
	r = PQexecParams(s->conn, "DELETE FROM traveller WHERE transferred_at < $1::bigint", 1,
			 NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto out;
	*deletedp = strtoull(PQcmdTuples(r), NULL, 10);
	ret = 0;
out:
	if (ret != 0)
		remember(s, PQerrorMessage(s->conn));
	PQclear(r);
	if (exec(s, ret == 0 ? "COMMIT" : "ROLLBACK", NULL) != 0)
		ret = PIUGW_ESYSTEM;
	if (ret != 0)
		*deletedp = 0;
	return ret;
}

static int
pg_stats(void *db, int64_t now_ms, struct store_stats *out)
{
	struct pg *s = db;
	const int64_t day = 86400000;
	char t1[24], t2[24], t3[24];
	const char *params[3] = {t1, t2, t3};
	PGresult *r;

	if (flush(s) != 0)
		return PIUGW_ESYSTEM;
	snprintf(t1, sizeof(t1), "%" PRId64, now_ms - 30 * day);
	snprintf(t2, sizeof(t2), "%" PRId64, now_ms - 183 * day);
	snprintf(t3, sizeof(t3), "%" PRId64, now_ms - 1826 * day);
	r = one(s,
		"SELECT count(*), count(*) FILTER (WHERE source = 1), "
		"count(*) FILTER (WHERE source = 2), "
		"count(*) FILTER (WHERE transferred_at >= $1::bigint), "
		"count(*) FILTER (WHERE transferred_at < $1::bigint AND transferred_at >= $2::bigint), "
		"count(*) FILTER (WHERE transferred_at < $2::bigint AND transferred_at >= $3::bigint), "
		"count(*) FILTER (WHERE transferred_at < $3::bigint), min(flight_date), "
		"max(flight_date) FROM traveller",
		3, params);
	if (r == NULL)
		return PIUGW_ESYSTEM;
	out->rows = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	out->api = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	out->pnr = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
	for (int i = 0; i < 4; i++)
		out->age_bands[i] = strtoull(PQgetvalue(r, 0, 3 + i), NULL, 10);
	if (!PQgetisnull(r, 0, 7))
		snprintf(out->first_flight, sizeof(out->first_flight), "%s", PQgetvalue(r, 0, 7));
	if (!PQgetisnull(r, 0, 8))
		snprintf(out->last_flight, sizeof(out->last_flight), "%s", PQgetvalue(r, 0, 8));
	PQclear(r);
	/* A person, as store_sqlite.c counts one. */
	return number(s,
		      "SELECT count(*) FROM (SELECT DISTINCT flight_key, "
		      "upper(coalesce(dep_airport, '')), "
		      "coalesce(doc_key, CASE WHEN dob_key IS NOT NULL THEN name_key END, "
		      "'row ' || id) FROM traveller) p",
		      0, NULL, &out->persons);
}

static int
pg_max_id(void *db, int64_t *idp)
{
	uint64_t v = 0;
	int ret = flush(db) != 0 ? PIUGW_ESYSTEM
				 : number(db, "SELECT coalesce(max(id), 0) FROM traveller", 0, NULL, &v);

	*idp = (int64_t)v;
	return ret;
}

static int
pg_keys_since(void *db, int64_t after, struct store_keys *out, size_t max, size_t *np)
{
	struct pg *s = db;
	char a[24], m[24];
	const char *params[2] = {a, m};
	PGresult *r;

	if (flush(s) != 0)
		return PIUGW_ESYSTEM;
	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(m, sizeof(m), "%zu", max);
	r = PQexecParams(s->conn,
			 "SELECT id, doc_key, name_key, dob_key, name_norm, flight_key FROM traveller "
			 "WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		remember(s, PQerrorMessage(s->conn));
		PQclear(r);
		return PIUGW_ESYSTEM;
	}
	for (int i = 0; i < PQntuples(r) && *np < max; i++) {
		struct store_keys *k = &out[(*np)++];
		k->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		/* A NULL comes back as "" from PQgetvalue. */
		snprintf(k->doc, sizeof(k->doc), "%s", PQgetvalue(r, i, 1));
		snprintf(k->name, sizeof(k->name), "%s", PQgetvalue(r, i, 2));
		snprintf(k->dob, sizeof(k->dob), "%s", PQgetvalue(r, i, 3));
		snprintf(k->name_norm, sizeof(k->name_norm), "%s", PQgetvalue(r, i, 4));
		snprintf(k->flight, sizeof(k->flight), "%s", PQgetvalue(r, i, 5));
	}
	PQclear(r);
	return 0;
}

static const char *
pg_errmsg(void *db)
{
	struct pg *s = db;

	if (s->err[0] == '\0')
		remember(s, PQerrorMessage(s->conn));
	return s->err;
}

/* The server takes writes: connected, and not a standby. */
static int
pg_writable(void *db)
{
	struct pg *s = db;
	PGresult *r = one(s, "SELECT pg_is_in_recovery()", 0, NULL);
	int ret = r != NULL && strcmp(PQgetvalue(r, 0, 0), "f") == 0 ? 0 : PIUGW_ESYSTEM;

	if (r != NULL && ret != 0)
		remember(s, "the server is a standby (read only)");
	PQclear(r);
	return ret;
}

static int
pg_schema_was(void *db)
{
	return ((struct pg *)db)->was;
}

/* NULL while the server is there; else what is wrong, in words. */
static const char *
pg_problem(void *db)
{
	struct pg *s = db;

	if (PQstatus(s->conn) == CONNECTION_OK)
		return NULL;
	(void)alive(s); /* a try, if its time has come */
	return PQstatus(s->conn) == CONNECTION_OK ? NULL : s->err;
}

const struct store_backend store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.read_hold = pg_read_hold,
	.snapshot = pg_snapshot,
	.insert = pg_insert,
	.insert_selector = pg_insert_selector,
	.delete_booking = pg_delete_booking,
	.query = pg_query,
	.count = pg_count,
	.purge = pg_purge,
	.stats = pg_stats,
	.max_id = pg_max_id,
	.keys_since = pg_keys_since,
	.errmsg = pg_errmsg,
	.writable = pg_writable,
	.problem = pg_problem,
	.schema_was = pg_schema_was,
	.replaced_late = pg_replaced_late,
};
