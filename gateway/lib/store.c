/*
 * store.c: see store.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "body.pb-c.h"
#include "match.h"
#include "num.h"
#include "fileio.h"
#include "piugw/error.h"
#include "store.h"

#define CAT(x) PIUGW__CATEGORY__CATEGORY_##x
#define FIELD_MAX 1024

const struct store_col_info store_cols[COL__COUNT] = {
	[COL_SURNAME] = {"surname", CAT(API_IDENTITY), true},
	[COL_GIVEN_NAMES] = {"given_names", CAT(API_IDENTITY), true},
	[COL_DATE_OF_BIRTH] = {"date_of_birth", CAT(API_IDENTITY), true},
	[COL_SEX] = {"sex", CAT(API_IDENTITY), true},
	[COL_NATIONALITY] = {"nationality", CAT(API_IDENTITY), true},
	[COL_DOC_TYPE] = {"doc_type", CAT(API_DOCUMENT), true},
	[COL_DOC_NUMBER] = {"doc_number", CAT(API_DOCUMENT), true},
	[COL_DOC_ISSUER] = {"doc_issuer", CAT(API_DOCUMENT), true},
	[COL_DOC_EXPIRY] = {"doc_expiry", CAT(API_DOCUMENT), true},
	[COL_CARRIER] = {"carrier", CAT(API_FLIGHT), true},
	[COL_FLIGHT_NUMBER] = {"flight_number", CAT(API_FLIGHT), true},
	[COL_FLIGHT_DATE] = {"flight_date", CAT(API_FLIGHT), true},
	[COL_DEP_AIRPORT] = {"dep_airport", CAT(API_FLIGHT), true},
	[COL_DEP_TIME] = {"dep_time", CAT(API_FLIGHT), true},
	[COL_ARR_AIRPORT] = {"arr_airport", CAT(API_FLIGHT), true},
	[COL_ARR_TIME] = {"arr_time", CAT(API_FLIGHT), true},
	[COL_EMBARKATION] = {"embarkation", CAT(API_TRAVEL), true},
	[COL_DEBARKATION] = {"debarkation", CAT(API_TRAVEL), true},
	[COL_FINAL_DESTINATION] = {"final_destination", CAT(API_TRAVEL), true},
	[COL_SEAT] = {"seat", CAT(API_TRAVEL), true},
	[COL_BAGS] = {"bags", CAT(API_TRAVEL), true},
	[COL_RESIDENCE] = {"residence", CAT(API_TRAVEL), true},
	[COL_BIRTHPLACE] = {"birthplace", CAT(API_TRAVEL), true},
	[COL_RECORD_LOCATOR] = {"record_locator", CAT(PNR_BOOKING), false},
	[COL_RESERVATION_DATE] = {"reservation_date", CAT(PNR_BOOKING), false},
	[COL_TICKET_DATE] = {"ticket_date", CAT(PNR_BOOKING), false},
	[COL_TRAVEL_DATES] = {"travel_dates", CAT(PNR_BOOKING), false},
	[COL_TICKETING] = {"ticketing", CAT(PNR_BOOKING), false},
	[COL_TRAVEL_STATUS] = {"travel_status", CAT(PNR_BOOKING), false},
	[COL_ADDRESS] = {"address", CAT(PNR_CONTACT), true},
	[COL_PHONES] = {"phones", CAT(PNR_CONTACT), true},
	[COL_EMAILS] = {"emails", CAT(PNR_CONTACT), true},
	[COL_PAYMENT] = {"payment", CAT(PNR_PAYMENT), true},
	[COL_BILLING_ADDRESS] = {"billing_address", CAT(PNR_PAYMENT), true},
	[COL_ITINERARY] = {"itinerary", CAT(PNR_ITINERARY), false},
	[COL_AGENCY] = {"agency", CAT(PNR_AGENCY), false},
	[COL_AGENT] = {"agent", CAT(PNR_AGENCY), false},
	[COL_FREQUENT_FLYER] = {"frequent_flyer", CAT(PNR_FREQUENT_FLYER), true},
	[COL_BAG_TAGS] = {"bag_tags", CAT(PNR_SEAT_BAGGAGE), false},
	[COL_REMARKS] = {"remarks", CAT(PNR_REMARKS), true},
	[COL_SSR] = {"ssr", 0, true},
};

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

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *insert, *insert_sel, *by_doc, *by_name, *by_dob, *by_locator, *by_flight,
		*by_sel, *by_person_doc, *by_person_name, *by_id, *begin, *commit, *rollback,
		*del_sel, *del_row, *del_book_sel, *del_book_row, *savepoint, *release;
	unsigned depth;      /* store_begin nesting: 0 none, 1 a transaction, more savepoints */
	bool hold;           /* store_read_hold: searches share one read transaction */
	char cols_sql[2048]; /* "id, source, transferred_at, surname, ..." */
};

/* See store.h. */
int
store_col_by_name(const char *name, size_t len)
{
	for (int i = 0; i < COL__COUNT; i++)
		if (strlen(store_cols[i].name) == len && memcmp(store_cols[i].name, name, len) == 0)
			return i;
	return -1;
}

/* See store.h. */
void
traveller_clear(struct traveller *t)
{
	free(t->record_id);
	t->record_id = NULL;
	for (int i = 0; i < COL__COUNT; i++) {
		free(t->v[i]);
		t->v[i] = NULL;
	}
}

/* Drop what a match holds. */
static void
match_clear(struct store_match *m)
{
	traveller_clear(&m->t);
	free(m->pkey);
	m->pkey = NULL;
}

/* See store.h. */
void
store_result_clear(struct store_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		match_clear(&r->m[i]);
	free(r->m);
	memset(r, 0, sizeof(*r));
}

static int
exec(struct store *s, const char *sql, struct diag *d)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		diag_add(d, "%s: %s", s->path, err != NULL ? err : "SQLite error");
		sqlite3_free(err);
		return PIUGW_ESYSTEM;
	}
	return 0;
}

static int
prepare(struct store *s, sqlite3_stmt **st, const char *sql, struct diag *d)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	return 0;
}

static int
create_schema(struct store *s, struct diag *d)
{
	char sql[4096];
	size_t o = 0;

	o += (size_t)snprintf(sql + o, sizeof(sql) - o,
			      "BEGIN;CREATE TABLE traveller(id INTEGER PRIMARY KEY, "
			      "source INTEGER NOT NULL, transferred_at INTEGER NOT NULL, "
			      "doc_key TEXT, name_key TEXT, dob_key TEXT, name_norm TEXT, "
			      "locator_key TEXT, flight_key TEXT, record_key TEXT");
	for (int i = 0; i < COL__COUNT; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s TEXT", store_cols[i].name);
	snprintf(sql + o, sizeof(sql) - o,
		 ");"
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
		 STORE_SCHEMA_VERSION);
	return exec(s, sql, d);
}

/* See store.h. */
void
store_close(struct store **sp)
{
	struct store *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	sqlite3_stmt *all[] = {s->insert, s->insert_sel, s->by_doc, s->by_name, s->by_dob,
			       s->by_locator, s->by_flight, s->by_sel, s->by_person_doc,
			       s->by_person_name, s->by_id, s->begin, s->commit, s->rollback,
			       s->del_sel, s->del_row, s->del_book_sel, s->del_book_row,
			       s->savepoint, s->release};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	*sp = NULL;
}

/* See store.h. */
int
store_open(const char *path, struct store **outp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL, version = 0;
	struct store *s = NULL;
	sqlite3_stmt *st = NULL;
	char sql[4096];
	size_t o = 0;

	*outp = NULL;
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

	o += (size_t)snprintf(s->cols_sql + o, sizeof(s->cols_sql) - o,
			      "id, source, transferred_at");
	for (int i = 0; i < COL__COUNT; i++)
		o += (size_t)snprintf(s->cols_sql + o, sizeof(s->cols_sql) - o, ", %s",
				      store_cols[i].name);

	o = (size_t)snprintf(sql, sizeof(sql),
			     "INSERT INTO traveller(source, transferred_at, doc_key, name_key, "
			     "dob_key, name_norm, locator_key, flight_key, record_key");
	for (int i = 0; i < COL__COUNT; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s", store_cols[i].name);
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") VALUES (?,?,?,?,?,?,?,?,?");
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
#define SEL(stmt, where)                                                                           \
	snprintf(sql, sizeof(sql), "SELECT %s, name_norm" KEY_COLS " FROM traveller WHERE %s",      \
		 s->cols_sql,                                                                      \
		 where);                                                                           \
	if ((ret = prepare(s, &s->stmt, sql, d)) != 0)                                             \
		goto out;
	SEL(by_doc, "doc_key = ?1 ORDER BY transferred_at DESC")
	SEL(by_name, "name_key = ?1 ORDER BY transferred_at DESC")
	SEL(by_dob, "dob_key = ?1")
	SEL(by_locator, "locator_key = ?1 ORDER BY surname")
	SEL(by_flight, "flight_key = ?1 ORDER BY surname")
	SEL(by_sel, "id IN (SELECT traveller_id FROM selector WHERE kind = ?1 AND value = ?2) "
		    "ORDER BY transferred_at DESC")
	/*
	 * The other rows of one person on one flight (store.h): by the document's
	 * index, or by the name's (with the date of birth in it), narrowed to the
	 * flight (an OR of the two would walk every row of the flight instead).
	 */
#undef SEL
	/*
	 * Each by its own index (without statistics SQLite would take the
	 * flight's), ids only: the row itself, found again, is not decoded; a
	 * row of someone else's is read by its id (by_id).
	 */
	if ((ret = prepare(s, &s->by_person_doc, "SELECT id FROM traveller INDEXED BY t_doc "
				"WHERE doc_key = ?1 AND flight_key = ?2", d)) != 0 ||
	    (ret = prepare(s, &s->by_person_name, "SELECT id FROM traveller INDEXED BY t_name "
				"WHERE name_key = ?1 AND flight_key = ?2", d)) != 0)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT %s, name_norm" KEY_COLS " FROM traveller WHERE id = ?1",
		 s->cols_sql);
	if ((ret = prepare(s, &s->by_id, sql, d)) != 0)
		goto out;
	*outp = s;
	s = NULL;
	ret = 0;
out:
	store_close(&s);
	return ret;
}

static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	(void)s;
	return rc == SQLITE_DONE ? 0 : PIUGW_ESYSTEM;
}

/* See store.h. */
int
store_begin(struct store *s)
{
	/* Prepared once: a savepoint per PAXLST message or PNRGOV booking. */
	int rc = step_done(s, s->depth == 0 ? s->begin : s->savepoint);

	if (rc == 0)
		s->depth++;
	return rc;
}

/* See store.h. */
int
store_commit(struct store *s)
{
	if (s->depth == 0)
		return PIUGW_EINVAL;
	if (--s->depth > 0)
		return step_done(s, s->release);
	if (step_done(s, s->commit) == 0)
		return 0;
	/* A commit that failed (the disk is full) leaves nothing half-done behind. */
	if (!sqlite3_get_autocommit(s->db))
		step_done(s, s->rollback);
	return PIUGW_ESYSTEM;
}

/* See store.h. */
int
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return PIUGW_EINVAL;
	if (--s->depth > 0)
		return sqlite3_exec(s->db, "ROLLBACK TO nest; RELEASE nest", NULL, NULL, NULL) ==
				       SQLITE_OK
			       ? 0
			       : PIUGW_ESYSTEM;
	return step_done(s, s->rollback);
}

/* See store.h. */
int
store_count(struct store *s, uint64_t *np)
{
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

/* See store.h. */
void
store_read_hold(struct store *s, bool on)
{
	s->hold = on;
	if (!on && !sqlite3_get_autocommit(s->db))
		step_done(s, s->commit);
}

/*
 * Before a search: under store_read_hold, open the read transaction the
 * searches share (SQLite takes its snapshot and locks at the first read).
 */
static void
snapshot(struct store *s)
{
	if (s->hold && sqlite3_get_autocommit(s->db))
		step_done(s, s->begin);
}

/* ---- keys ---- */

static void
doc_key(const char *issuer, const char *number, char *out, size_t size)
{
	char iss[16], num[64];

	match_document(issuer, iss, sizeof(iss));
	match_document(number, num, sizeof(num));
	snprintf(out, size, "%s:%s", iss, num);
}

static void
dob_key(const char *dob, char *out, size_t size)
{
	match_document(dob, out, size); /* digits only: 1985-04-12 -> 19850412 */
}

static void
name_key(const char *surname, const char *given, const char *dob, char *out, size_t size)
{
	char sn[MATCH_NAME_MAX], gn[MATCH_NAME_MAX], db[16];

	match_normalise(surname, sn, 0);
	match_normalise(given, gn, 0);
	dob_key(dob, db, sizeof(db));
	snprintf(out, size, "%s|%s|%s", sn, gn, db);
}

static void
full_name(const char *surname, const char *given, char *out)
{
	char both[2 * MATCH_NAME_MAX + 2];

	snprintf(both, sizeof(both), "%s %s", given != NULL ? given : "",
		 surname != NULL ? surname : "");
	match_normalise(both, out, 0);
}

static void
flight_key(const char *carrier, const char *number, const char *date, char *out, size_t size)
{
	char c[8], n[16], dt[16];
	const char *p;

	match_document(carrier, c, sizeof(c));
	match_document(number, n, sizeof(n));
	for (p = n; *p == '0' && p[1] != '\0'; p++)
		; /* BA0123 and BA123 are one flight */
	match_document(date, dt, sizeof(dt));
	snprintf(out, size, "%s%s|%s", c, p, dt);
}

/* See store.h. */
size_t
store_selector_norm(enum store_selector kind, const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	for (; in != NULL && *in && o + 1 < out_size; in++) {
		char c = *in;
		if (kind == STORE_SEL_EMAIL) {
			if (c == ' ')
				continue;
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			out[o++] = c;
		} else if (kind == STORE_SEL_PHONE) {
			if (c >= '0' && c <= '9')
				out[o++] = c;
		} else {
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				out[o++] = c;
		}
	}
	if (out_size > 0)
		out[o] = '\0';
	return o;
}

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Add one selector row per ';'-separated value of a list column. */
static int
insert_selectors(struct store *s, int64_t id, enum store_selector kind, const char *list)
{
	char item[FIELD_MAX], norm[FIELD_MAX];

	while (!empty(list)) {
		size_t l = strcspn(list, ";");
		if (l >= sizeof(item))
			l = sizeof(item) - 1;
		memcpy(item, list, l);
		item[l] = '\0';
		if (store_selector_norm(kind, item, norm, sizeof(norm)) > 0) {
			sqlite3_bind_int64(s->insert_sel, 1, id);
			sqlite3_bind_int(s->insert_sel, 2, (int)kind);
			sqlite3_bind_text(s->insert_sel, 3, norm, -1, SQLITE_TRANSIENT);
			if (step_done(s, s->insert_sel) != 0)
				return PIUGW_ESYSTEM;
		}
		list += l;
		if (*list == ';')
			list++;
	}
	return 0;
}

/*
 * The natural key of t (see store.h), as 32 hex digits of a BLAKE2b digest:
 * what identifies a record again, whatever file it comes in.
 */
static void
record_key(const struct traveller *t, const char *dk, const char *nk, char out[33])
{
	static const enum store_col leg[] = {COL_CARRIER, COL_FLIGHT_NUMBER, COL_FLIGHT_DATE,
					     COL_DEP_AIRPORT};
	crypto_generichash_state st;
	uint8_t h[16], z = 0, src = (uint8_t)t->source;
	char buf[64];

	/* Each field ends with 0x00, so that no two tuples give the same input. */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	if (!empty(t->record_id)) {
		crypto_generichash_update(&st, (const uint8_t *)"id", 3);
		crypto_generichash_update(&st, (const uint8_t *)t->record_id, strlen(t->record_id));
	} else {
		crypto_generichash_update(&st, (const uint8_t *)"leg", 4);
		crypto_generichash_update(&st, &src, 1);
		for (size_t i = 0; i < sizeof(leg) / sizeof(leg[0]); i++) {
			match_document(t->v[leg[i]], buf, sizeof(buf));
			crypto_generichash_update(&st, (const uint8_t *)buf, strlen(buf));
			crypto_generichash_update(&st, &z, 1);
		}
		/* The passenger: the document, or else the name and date of birth. */
		const char *who = dk[0] != '\0' ? dk : nk;
		crypto_generichash_update(&st, (const uint8_t *)(dk[0] != '\0' ? "doc" : "name"), 4);
		crypto_generichash_update(&st, (const uint8_t *)who, strlen(who));
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 33, h, sizeof(h));
}

/* An ICAO Doc 9303 / ISO 3166 state code: one to three letters ("D", "XAA", "xaa"). */
static bool
state_code_ok(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z')))
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM", then ":SS" and "Z" if present. */
static bool
time_ok(const char *v)
{
	size_t n = strlen(v);
	int32_t day;

	if (n < 16 || !num_parse_date(v, 10, &day) || v[10] != 'T' || v[13] != ':' ||
	    v[11] < '0' || v[11] > '2' || v[12] < '0' || v[12] > '9' || v[14] < '0' ||
	    v[14] > '5' || v[15] < '0' || v[15] > '9' || (v[11] == '2' && v[12] > '3'))
		return false;
	v += 16;
	if (*v == ':' && v[1] >= '0' && v[1] <= '5' && v[2] >= '0' && v[2] <= '9')
		v += 3;
	if (*v == 'Z')
		v++;
	return *v == '\0';
}

/* The elements whose form is fixed: a row with one out of form is refused, named. */
static int
values_ok(const struct traveller *t, struct diag *d)
{
	static const enum store_col states[] = {COL_NATIONALITY, COL_DOC_ISSUER, COL_RESIDENCE};
	static const enum store_col times[] = {COL_DEP_TIME, COL_ARR_TIME};
	const char *sex = t->v[COL_SEX];
	int32_t day;

	if (!empty(sex) && (sex[1] != '\0' || strchr("MFXU", sex[0]) == NULL)) {
		diag_add(d, "sex: must be M, F, X or U");
		return PIUGW_EINVAL;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!empty(t->v[states[i]]) && !state_code_ok(t->v[states[i]])) {
			diag_add(d, "%s: not a state code (ISO 3166 alpha-3 or ICAO, e.g. XAA or D)",
				 store_cols[states[i]].name);
			return PIUGW_EINVAL;
		}
	if (!empty(t->v[COL_DOC_EXPIRY]) &&
	    !num_parse_date(t->v[COL_DOC_EXPIRY], strlen(t->v[COL_DOC_EXPIRY]), &day)) {
		diag_add(d, "doc_expiry: not a real YYYY-MM-DD date");
		return PIUGW_EINVAL;
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (!empty(t->v[times[i]]) && !time_ok(t->v[times[i]])) {
			diag_add(d, "%s: not a YYYY-MM-DDTHH:MM[:SS][Z] time",
				 store_cols[times[i]].name);
			return PIUGW_EINVAL;
		}
	return 0;
}

/* See store.h. */
int
store_check(const struct traveller *t, struct diag *d)
{
	int32_t day = 0;
	int ret;

	if (t->source != STORE_SOURCE_API && t->source != STORE_SOURCE_PNR) {
		diag_add(d, "source must be API or PNR");
		return PIUGW_EINVAL;
	}
	if (t->transferred_at_ms <= 0) {
		diag_add(d, "transferred_at is missing");
		return PIUGW_EINVAL;
	}
	if (empty(t->v[COL_SURNAME])) {
		diag_add(d, "the surname is missing");
		return PIUGW_EINVAL;
	}
	if (!empty(t->v[COL_DATE_OF_BIRTH]) &&
	    !num_parse_date(t->v[COL_DATE_OF_BIRTH], strlen(t->v[COL_DATE_OF_BIRTH]), &day)) {
		/* Never the value itself: it is personal data. */
		diag_add(d, "date_of_birth: not a real YYYY-MM-DD date");
		return PIUGW_EINVAL;
	}
	/* Nobody is born after the carrier sent their data. */
	if (!empty(t->v[COL_DATE_OF_BIRTH]) && day > num_day_of_ms(t->transferred_at_ms)) {
		diag_add(d, "date_of_birth: after the data was transferred (in the future)");
		return PIUGW_EINVAL;
	}
	if ((ret = values_ok(t, d)) != 0)
		return ret;
	if (empty(t->v[COL_CARRIER]) || empty(t->v[COL_FLIGHT_NUMBER]) ||
	    empty(t->v[COL_FLIGHT_DATE]) ||
	    !num_parse_date(t->v[COL_FLIGHT_DATE], strlen(t->v[COL_FLIGHT_DATE]), &day)) {
		diag_add(d, "a row is one flight leg: carrier, flight_number and flight_date "
			    "(YYYY-MM-DD) are required");
		return PIUGW_EINVAL;
	}
	for (int i = 0; i < COL__COUNT; i++) {
		if (t->v[i] != NULL && strlen(t->v[i]) >= FIELD_MAX) {
			diag_add(d, "%s is longer than %d bytes", store_cols[i].name, FIELD_MAX - 1);
			return PIUGW_EINVAL;
		}
	}
	if (!empty(t->record_id) && strlen(t->record_id) >= FIELD_MAX) {
		diag_add(d, "record_id is longer than %d bytes", FIELD_MAX - 1);
		return PIUGW_EINVAL;
	}
	return 0;
}

/* Check t and add it; replace: first remove the record of its key (store_insert). */
static int
insert_row(struct store *s, const struct traveller *t, bool replace, bool *replacedp,
	   struct diag *d)
{
	char dk[96], nk[2 * MATCH_NAME_MAX + 24], bk[16], nn[MATCH_NAME_MAX], lk[32], fk[48];
	char rk[33];
	int64_t id;
	int ret;

	if (replacedp != NULL)
		*replacedp = false;
	if ((ret = store_check(t, d)) != 0)
		return ret;
	doc_key(t->v[COL_DOC_ISSUER], t->v[COL_DOC_NUMBER], dk, sizeof(dk));
	name_key(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], t->v[COL_DATE_OF_BIRTH], nk, sizeof(nk));
	dob_key(t->v[COL_DATE_OF_BIRTH], bk, sizeof(bk));
	full_name(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], nn);
	match_document(t->v[COL_RECORD_LOCATOR], lk, sizeof(lk));
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], fk,
		   sizeof(fk));
	record_key(t, empty(t->v[COL_DOC_NUMBER]) ? "" : dk, nk, rk);

	/* The same record again replaces what was stored of it. */
	if (replace) {
		sqlite3_bind_text(s->del_sel, 1, rk, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->del_row, 1, rk, -1, SQLITE_STATIC);
		if (step_done(s, s->del_sel) != 0 || step_done(s, s->del_row) != 0) {
			diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
			return PIUGW_ESYSTEM;
		}
		if (replacedp != NULL)
			*replacedp = sqlite3_changes(s->db) > 0;
	}

	sqlite3_stmt *st = s->insert;
	sqlite3_bind_int(st, 1, t->source);
	sqlite3_bind_int64(st, 2, t->transferred_at_ms);
	if (empty(t->v[COL_DOC_NUMBER]))
		sqlite3_bind_null(st, 3);
	else
		sqlite3_bind_text(st, 3, dk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, nk, -1, SQLITE_TRANSIENT);
	if (bk[0] == '\0')
		sqlite3_bind_null(st, 5);
	else
		sqlite3_bind_text(st, 5, bk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, nn, -1, SQLITE_TRANSIENT);
	if (lk[0] == '\0')
		sqlite3_bind_null(st, 7);
	else
		sqlite3_bind_text(st, 7, lk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, fk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, rk, -1, SQLITE_TRANSIENT);
	for (int i = 0; i < COL__COUNT; i++) {
		if (t->v[i] == NULL)
			sqlite3_bind_null(st, 10 + i);
		else
			sqlite3_bind_text(st, 10 + i, t->v[i], -1, SQLITE_STATIC);
	}
	if (step_done(s, st) != 0) {
		diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	id = sqlite3_last_insert_rowid(s->db);
	if (insert_selectors(s, id, STORE_SEL_PHONE, t->v[COL_PHONES]) != 0 ||
	    insert_selectors(s, id, STORE_SEL_EMAIL, t->v[COL_EMAILS]) != 0 ||
	    insert_selectors(s, id, STORE_SEL_FREQUENT_FLYER, t->v[COL_FREQUENT_FLYER]) != 0) {
		diag_add(d, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	return 0;
}

/* See store.h. */
int
store_insert(struct store *s, const struct traveller *t, bool *replacedp, struct diag *d)
{
	return insert_row(s, t, true, replacedp, d);
}

/* See store.h. */
int
store_insert_new(struct store *s, const struct traveller *t, struct diag *d)
{
	int rc = insert_row(s, t, false, NULL, d);

	/* Not new after all (a caller's mistake): refused by the key's index, said so. */
	if (rc == PIUGW_ESYSTEM && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE) {
		diag_add(d, "a record with this key is stored already");
		return PIUGW_EINVAL;
	}
	return rc;
}

/* ---- search ---- */

/* What one row is one person by on its flight (store.h). */
struct person_key {
	char fk[48], dep[16], dk[96], nk[2 * MATCH_NAME_MAX + 24];
	bool has_dk, has_nk;
};


static void
column_copy(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(out, size, "%s", v != NULL ? (const char *)v : "");
}

/* The person key of a row as stored: nothing normalised again. */
static void
stored_key(sqlite3_stmt *st, const struct traveller *t, struct person_key *k)
{
	column_copy(st, KEY_COL0, k->dk, sizeof(k->dk));
	column_copy(st, KEY_COL0 + 1, k->nk, sizeof(k->nk));
	column_copy(st, KEY_COL0 + 2, k->fk, sizeof(k->fk));
	k->has_dk = k->dk[0] != '\0';
	k->has_nk = sqlite3_column_type(st, KEY_COL0 + 3) != SQLITE_NULL && k->nk[0] != '\0';
	match_document(t->v[COL_DEP_AIRPORT], k->dep, sizeof(k->dep));
}


/* Read the current row of st into m, with its person key. */
static int
row(sqlite3_stmt *st, struct store_match *m)
{
	memset(m, 0, sizeof(*m));
	m->t.id = sqlite3_column_int64(st, 0);
	m->t.source = sqlite3_column_int(st, 1);
	m->t.transferred_at_ms = sqlite3_column_int64(st, 2);
	for (int i = 0; i < COL__COUNT; i++) {
		const unsigned char *v = sqlite3_column_text(st, 3 + i);
		if (v != NULL && (m->t.v[i] = strdup((const char *)v)) == NULL) {
			traveller_clear(&m->t);
			return PIUGW_ENOMEM;
		}
	}
	if ((m->pkey = malloc(sizeof(struct person_key))) == NULL) {
		traveller_clear(&m->t);
		return PIUGW_ENOMEM;
	}
	stored_key(st, &m->t, m->pkey);
	m->score = 1.0;
	m->rows = 1;
	m->sources = 1u << (m->t.source & 7);
	for (int i = 0; i < COL__COUNT; i++)
		m->col_source[i] = m->t.v[i] != NULL ? (uint8_t)m->t.source : 0;
	return 0;
}

/* ---- one person, many rows ---- */

static void
person_key(const struct traveller *t, struct person_key *k)
{
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], k->fk,
		   sizeof(k->fk));
	match_document(t->v[COL_DEP_AIRPORT], k->dep, sizeof(k->dep));
	k->has_dk = !empty(t->v[COL_DOC_NUMBER]);
	doc_key(t->v[COL_DOC_ISSUER], t->v[COL_DOC_NUMBER], k->dk, sizeof(k->dk));
	/* A name alone is not a person: with the date of birth only. */
	k->has_nk = !empty(t->v[COL_DATE_OF_BIRTH]) && !empty(t->v[COL_SURNAME]);
	name_key(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], t->v[COL_DATE_OF_BIRTH], k->nk,
		 sizeof(k->nk));
}

static bool
same_person(const struct person_key *a, const struct person_key *b)
{
	/* One leg of a flight: the same departure, where both rows say it. */
	return strcmp(a->fk, b->fk) == 0 &&
	       (a->dep[0] == '\0' || b->dep[0] == '\0' || strcmp(a->dep, b->dep) == 0) &&
	       ((a->has_dk && b->has_dk && strcmp(a->dk, b->dk) == 0) ||
		(a->has_nk && b->has_nk && strcmp(a->nk, b->nk) == 0));
}

/* The source whose elements of column c come first: API for api.*, PNR for pnr.*. */
static int
own_source(int c)
{
	int cat = store_cols[c].category;
	return cat >= 1 && cat <= 4 ? STORE_SOURCE_API : STORE_SOURCE_PNR;
}

/* Join row b (taken: its values move) into the person a. */
static void
fold(struct store_match *a, struct traveller *b)
{
	for (int c = 0; c < COL__COUNT; c++) {
		if (b->v[c] == NULL)
			continue;
		if (a->t.v[c] == NULL ||
		    (a->col_source[c] != own_source(c) && b->source == own_source(c))) {
			free(a->t.v[c]);
			a->t.v[c] = b->v[c];
			b->v[c] = NULL;
			a->col_source[c] = (uint8_t)b->source;
		}
	}
	a->sources |= 1u << (b->source & 7);
	a->rows++;
	if (b->transferred_at_ms < a->t.transferred_at_ms)
		a->t.transferred_at_ms = b->transferred_at_ms;
	traveller_clear(b);
}

/*
 * One match per person: the rows of r of one person joined, then each
 * person's other rows in the store (the PNR of an API match, and the other
 * way round) joined too. *mergedp how many rows of r went into another.
 */
#define PERSON_ROWS_MAX 16
/* What a search found every row of already: its own key need not be looked up again. */
enum { FOUND_BY_DOC = 1, FOUND_BY_NAME = 2 };

static int
merge_persons(struct store *s, struct store_result *r, int found_by, size_t *mergedp)
{
	struct person {
		struct person_key k;
		int64_t ids[PERSON_ROWS_MAX]; /* the rows joined */
		unsigned nids;
	} *p;
	size_t n = 0;
	int ret = 0;

	*mergedp = 0;
	if (r->n == 0)
		return 0;
	if ((p = calloc(r->n, sizeof(*p))) == NULL)
		return PIUGW_ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct person_key ki;
		size_t j;
		if (r->m[i].pkey != NULL)
			ki = *(struct person_key *)r->m[i].pkey;
		else
			person_key(&r->m[i].t, &ki);
		for (j = 0; j < n && !same_person(&p[j].k, &ki); j++)
			;
		if (j < n && p[j].nids < PERSON_ROWS_MAX) {
			p[j].ids[p[j].nids++] = r->m[i].t.id;
			fold(&r->m[j], &r->m[i].t);
			free(r->m[i].pkey);
			r->m[i].pkey = NULL;
			(*mergedp)++;
			continue;
		}
		p[n].k = ki;
		p[n].ids[0] = r->m[i].t.id;
		p[n].nids = 1;
		if (n != i)
			r->m[n] = r->m[i];
		n++;
	}
	r->n = n;
	/* Their rows the search did not find (another source, found by the other key). */
	for (size_t i = 0; i < r->n && ret == 0; i++) {
		for (int half = 0; half < 2 && ret == 0; half++) {
			sqlite3_stmt *st = half == 0 ? s->by_person_doc : s->by_person_name;
			int rc;
			if (half == 0 ? !p[i].k.has_dk || (found_by & FOUND_BY_DOC)
				      : !p[i].k.has_nk || (found_by & FOUND_BY_NAME))
				continue;
			sqlite3_bind_text(st, 1, half == 0 ? p[i].k.dk : p[i].k.nk, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, p[i].k.fk, -1, SQLITE_STATIC);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
				struct store_match other;
				int64_t id = sqlite3_column_int64(st, 0);
				bool seen = false;
				for (unsigned x = 0; x < p[i].nids && !seen; x++)
					seen = p[i].ids[x] == id;
				if (seen || p[i].nids == PERSON_ROWS_MAX)
					continue;
				sqlite3_bind_int64(s->by_id, 1, id);
				rc = sqlite3_step(s->by_id);
				if (rc != SQLITE_ROW || row(s->by_id, &other) != 0) {
					sqlite3_reset(s->by_id);
					ret = rc == SQLITE_ROW ? PIUGW_ENOMEM : PIUGW_ESYSTEM;
					break;
				}
				sqlite3_reset(s->by_id);
				/* Another leg of the same flight is another row, not this person's. */
				if (!same_person(&p[i].k, other.pkey)) {
					match_clear(&other);
					continue;
				}
				p[i].ids[p[i].nids++] = id;
				fold(&r->m[i], &other.t);
				match_clear(&other);
			}
			if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
				ret = PIUGW_ESYSTEM;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
		}
	}
	free(p);
	return ret;
}

static int
result_push(struct store_result *r, size_t *cap)
{
	if (r->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct store_match *nm = realloc(r->m, nc * sizeof(*nm));
		if (nm == NULL)
			return PIUGW_ENOMEM;
		r->m = nm;
		*cap = nc;
	}
	return 0;
}

/*
 * Run a bound statement: every row counted, persons joined (merge_persons),
 * the first `limit` kept. Twice as many rows as asked are read before the
 * join, so that rows of one person do not leave fewer than limit matches;
 * total counts the persons among them and every row past them.
 */
static int
collect(struct store *s, sqlite3_stmt *st, size_t limit, const char *matched_on, int found_by,
	struct store_result *out)
{
	size_t cap = 0, keep = limit < SIZE_MAX / 4 ? 2 * limit + 2 : limit, merged = 0;
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->total++;
		if (out->n >= keep)
			continue;
		if ((ret = result_push(out, &cap)) != 0 || (ret = row(st, &out->m[out->n])) != 0)
			break;
		out->m[out->n++].matched_on = matched_on;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = PIUGW_ESYSTEM;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret == 0 && (ret = merge_persons(s, out, found_by, &merged)) == 0) {
		out->total -= merged;
		while (out->n > limit)
			match_clear(&out->m[--out->n]);
	}
	if (ret != 0)
		store_result_clear(out);
	return ret;
}

/* See store.h. */
int
store_search_document(struct store *s, const char *issuer, const char *number, size_t limit,
		      struct store_result *out)
{
	char dk[96];

	snapshot(s);
	doc_key(issuer, number, dk, sizeof(dk));
	sqlite3_bind_text(s->by_doc, 1, dk, -1, SQLITE_TRANSIENT);
	return collect(s, s->by_doc, limit, "document", FOUND_BY_DOC, out);
}

/* See store.h. */
int
store_search_name(struct store *s, const char *surname, const char *given,
		  const char *date_of_birth, size_t limit, struct store_result *out)
{
	char nk[2 * MATCH_NAME_MAX + 24];

	snapshot(s);
	name_key(surname, given, date_of_birth, nk, sizeof(nk));
	sqlite3_bind_text(s->by_name, 1, nk, -1, SQLITE_TRANSIENT);
	return collect(s, s->by_name, limit, "name+date_of_birth", FOUND_BY_NAME, out);
}

static int
cmp_score(const void *a, const void *b)
{
	double x = ((const struct store_match *)a)->score, y = ((const struct store_match *)b)->score;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* See store.h. Blocked by date of birth, which also survives swapped name order. */
int
store_search_name_fuzzy(struct store *s, const char *surname, const char *given,
			const char *date_of_birth, double min_score, size_t limit,
			struct store_result *out)
{
	char bk[16], want[MATCH_NAME_MAX];
	size_t cap = 0;
	int rc, ret = 0;

	snapshot(s);
	memset(out, 0, sizeof(*out));
	dob_key(date_of_birth, bk, sizeof(bk));
	full_name(surname, given, want);
	if (bk[0] == '\0' || want[0] == '\0')
		return 0;
	sqlite3_bind_text(s->by_dob, 1, bk, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s->by_dob)) == SQLITE_ROW) {
		const char *nn = (const char *)sqlite3_column_text(s->by_dob, 3 + COL__COUNT);
		double score = nn != NULL ? match_name_score(want, nn) : 0.0;
		if (score < min_score)
			continue;
		if ((ret = result_push(out, &cap)) != 0 || (ret = row(s->by_dob, &out->m[out->n])) != 0)
			break;
		out->m[out->n].score = score;
		out->m[out->n].needs_review = true; /* a person reviews every automated fuzzy hit */
		out->m[out->n++].matched_on = "name_fuzzy+date_of_birth";
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = PIUGW_ESYSTEM;
	sqlite3_reset(s->by_dob);
	if (ret != 0) {
		store_result_clear(out);
		return ret;
	}
	if (out->n > 1)
		qsort(out->m, out->n, sizeof(*out->m), cmp_score);
	/* The best-scoring row of each person leads; its other rows join it. */
	{
		size_t merged = 0;
		if ((ret = merge_persons(s, out, 0, &merged)) != 0) {
			store_result_clear(out);
			return ret;
		}
	}
	out->total = out->n;
	while (out->n > limit)
		match_clear(&out->m[--out->n]);
	return 0;
}

/* See store.h. */
int
store_search_locator(struct store *s, const char *locator, size_t limit, struct store_result *out)
{
	char lk[32];

	snapshot(s);
	match_document(locator, lk, sizeof(lk));
	sqlite3_bind_text(s->by_locator, 1, lk, -1, SQLITE_TRANSIENT);
	return collect(s, s->by_locator, limit, "record_locator", 0, out);
}

/* See store.h. */
int
store_search_flight(struct store *s, const char *carrier, const char *flight_number,
		    const char *date, size_t limit, struct store_result *out)
{
	char fk[48];

	snapshot(s);
	flight_key(carrier, flight_number, date, fk, sizeof(fk));
	sqlite3_bind_text(s->by_flight, 1, fk, -1, SQLITE_TRANSIENT);
	return collect(s, s->by_flight, limit, "flight", 0, out);
}

/* See store.h. */
int
store_search_selector(struct store *s, enum store_selector kind, const char *value, size_t limit,
		      struct store_result *out)
{
	char norm[FIELD_MAX];
	static const char *const on[] = {"", "phone", "email", "frequent_flyer"};

	snapshot(s);
	if (kind < STORE_SEL_PHONE || kind > STORE_SEL_FREQUENT_FLYER)
		return PIUGW_EINVAL;
	if (store_selector_norm(kind, value, norm, sizeof(norm)) == 0) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	sqlite3_bind_int(s->by_sel, 1, (int)kind);
	sqlite3_bind_text(s->by_sel, 2, norm, -1, SQLITE_TRANSIENT);
	return collect(s, s->by_sel, limit, on[kind], 0, out);
}

/* See store.h. */
int
store_co_travellers(struct store *s, const struct traveller *t, struct store_result *out)
{
	struct store_result all;
	int ret;

	snapshot(s);
	memset(out, 0, sizeof(*out));
	if (empty(t->v[COL_RECORD_LOCATOR]))
		return 0;
	if ((ret = store_search_locator(s, t->v[COL_RECORD_LOCATOR], 100, &all)) != 0)
		return ret;
	/* The same booking, the same leg (normalised as the flight search does), not them. */
	char mine[48], theirs[48];
	struct person_key me, them;
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], mine,
		   sizeof(mine));
	person_key(t, &me);
	for (size_t i = 0; i < all.n; i++) {
		struct store_match *m = &all.m[i];
		flight_key(m->t.v[COL_CARRIER], m->t.v[COL_FLIGHT_NUMBER], m->t.v[COL_FLIGHT_DATE],
			   theirs, sizeof(theirs));
		if (m->pkey != NULL)
			them = *(const struct person_key *)m->pkey;
		else
			person_key(&m->t, &them);
		/* Not them, however their rows were joined (by id or as one person). */
		if (m->t.id == t->id || same_person(&me, &them) || strcmp(mine, theirs) != 0) {
			match_clear(m);
			continue;
		}
		all.m[out->n++] = *m;
	}
	out->m = all.m;
	out->total = out->n;
	return 0;
}

/* ---- retention and statistics ---- */

/* See store.h. */
int
store_purge(struct store *s, int64_t before_ms, uint64_t *deletedp)
{
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

/* See store.h. */
int
store_delete_booking(struct store *s, const char *locator, const char *carrier,
		     const char *flight_number, const char *date, uint64_t *deletedp)
{
	sqlite3_stmt *st[2] = {s->del_book_sel, s->del_book_row};
	char lk[32], fk[48];

	*deletedp = 0;
	match_document(locator, lk, sizeof(lk));
	flight_key(carrier, flight_number, date, fk, sizeof(fk));
	if (lk[0] == '\0')
		return PIUGW_EINVAL;
	for (int i = 0; i < 2; i++) {
		sqlite3_bind_text(st[i], 1, lk, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[i], 2, fk, -1, SQLITE_STATIC);
		if (step_done(s, st[i]) != 0)
			return PIUGW_ESYSTEM;
	}
	*deletedp = (uint64_t)sqlite3_changes64(s->db);
	return 0;
}

/* See store.h. */
int
store_stats(struct store *s, int64_t now_ms, struct store_stats *out)
{
	sqlite3_stmt *st = NULL;
	const int64_t day = 86400000;
	int ret = PIUGW_ESYSTEM;

	memset(out, 0, sizeof(*out));
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
		if (sqlite3_column_text(st, 7) != NULL)
			snprintf(out->first_flight, sizeof(out->first_flight), "%s",
				 (const char *)sqlite3_column_text(st, 7));
		if (sqlite3_column_text(st, 8) != NULL)
			snprintf(out->last_flight, sizeof(out->last_flight), "%s",
				 (const char *)sqlite3_column_text(st, 8));
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

/* See store.h. */
const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* See store.h. */
int
store_writable(struct store *s)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return PIUGW_ESYSTEM;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

/* ---- lookouts ---- */

/* See store.h. */
void
store_key_document(const char *issuer, const char *number, char *out, size_t size)
{
	doc_key(issuer, number, out, size);
}

/* See store.h. */
void
store_key_name(const char *surname, const char *given, const char *dob, char *out, size_t size)
{
	name_key(surname, given, dob, out, size);
}

/* See store.h. */
void
store_key_dob(const char *dob, char *out, size_t size)
{
	dob_key(dob, out, size);
}

/* See store.h. */
void
store_key_full_name(const char *surname, const char *given, char out[MATCH_NAME_MAX])
{
	full_name(surname, given, out);
}

/* See store.h. */
void
store_key_flight(const char *carrier, const char *number, const char *date, char *out, size_t size)
{
	flight_key(carrier, number, date, out, size);
}

/* See store.h. */
int
store_max_id(struct store *s, int64_t *idp)
{
	sqlite3_stmt *st = NULL;
	int ret = PIUGW_ESYSTEM;

	*idp = 0;
	snapshot(s);
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM traveller", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*idp = sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* See store.h. */
int
store_keys_since(struct store *s, int64_t after, struct store_keys *out, size_t max, size_t *np)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*np = 0;
	snapshot(s);
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
		const unsigned char *c;
		k->id = sqlite3_column_int64(st, 0);
#define KEYCOL(i, field)                                                                           \
	c = sqlite3_column_text(st, i);                                                            \
	snprintf(k->field, sizeof(k->field), "%s", c != NULL ? (const char *)c : "")
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

/* See store.h. */
int
store_search_row(struct store *s, int64_t id, struct store_result *out)
{
	snapshot(s);
	sqlite3_bind_int64(s->by_id, 1, id);
	return collect(s, s->by_id, 1, "record", 0, out);
}
