/*
 * store_backend.h: what a traveller store's backend does for store.c
 * (internal to libpiugw). store.c keeps everything that is the same
 * whatever holds the rows: the columns and their categories, the checks
 * of a row, the keys a person is found by (documents, names, flights,
 * record keys, selectors, all normalised), the joining of rows into
 * persons, fuzzy scoring. A backend keeps the rows: it creates and
 * upgrades its schema, inserts a row with its keys, runs the few queries
 * below and hands each row back, and keeps transactions.
 *
 * SQLite (store_sqlite.c) is the default; PostgreSQL (store_pg.c) is
 * opened by store_open("postgresql:CONNINFO").
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_STORE_BACKEND_H
#define PIUGW_STORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "store.h"

/*
 * A stored row as a backend reads it: valid until the callback returns.
 * Its columns are read only when asked for (value): most rows a search
 * reads are counted or scored, not kept.
 */
struct store_row {
	int64_t id;
	int source;
	int64_t transferred_at_ms;
	const char *name_norm, *doc_key, *name_key, *flight_key;
	bool has_dob; /* dob_key is set */
	/* Column col of the row (NULL: none). */
	const char *(*value)(const struct store_row *r, int col);
	void *cursor; /* the backend's */
};

/* A row to add, with the keys store.c made of it (NULL: none). */
struct store_new_row {
	const struct traveller *t;
	const char *doc_key, *name_key, *dob_key, *name_norm, *locator_key, *flight_key;
	const char *record_key;
};

/* The keys a row is stored with, before its columns (store_new_row's order). */
#define STORE_ROW_KEYS                                                                     \
	"source, transferred_at, doc_key, name_key, dob_key, name_norm, locator_key, "     \
	"flight_key, record_key"

/* The columns in SQL, each after ", " and before each ("" or " TEXT"), into out. */
void store_sql_cols(char *out, size_t size, const char *each);

/* The queries a search runs: a and b are text keys, n a number. */
enum store_query {
	STORE_Q_DOC,         /* a: doc_key, newest first */
	STORE_Q_NAME,        /* a: name_key, newest first */
	STORE_Q_DOB,         /* a: dob_key */
	STORE_Q_LOCATOR,     /* a: locator_key, by surname */
	STORE_Q_FLIGHT,      /* a: flight_key, by surname */
	STORE_Q_SELECTOR,    /* n: kind, a: value, newest first */
	STORE_Q_ID,          /* n: id */
	STORE_Q_PERSON_DOC,  /* a: doc_key, b: flight_key; rows with their id only */
	STORE_Q_PERSON_NAME, /* a: name_key, b: flight_key; rows with their id only */
	STORE_Q__COUNT
};

/* Each row of a query; anything but 0 stops the query and is returned. */
typedef int (*store_row_fn)(void *ctx, const struct store_row *r);

struct store_backend {
	const char *name;
	/* Open (creating or upgrading the schema) what `where` names: 0 with *dbp. */
	int (*open)(const char *where, void **dbp, struct diag *d);
	void (*close)(void *db);
	/* depth: store.c's nesting before a begin, after a commit or rollback's decrement. */
	int (*begin)(void *db, unsigned depth);
	int (*commit)(void *db, unsigned depth);
	int (*rollback)(void *db, unsigned depth);
	void (*read_hold)(void *db, bool on);
	/* Before a search: under read_hold, the one read transaction the searches share. */
	void (*snapshot)(void *db);
	/*
	 * Add a row, *idp its id. With replace, first remove the rows of its
	 * record_key (*replacedp: there were some); without, a row of a key
	 * stored already is refused (PIUGW_EINVAL, said so).
	 */
	int (*insert)(void *db, const struct store_new_row *r, bool replace, bool *replacedp,
		      int64_t *idp, struct diag *d);
	int (*insert_selector)(void *db, int64_t id, int kind, const char *value);
	/* The PNR rows of a booking on a flight leg (and their selectors). */
	int (*delete_booking)(void *db, const char *locator_key, const char *flight_key,
			      uint64_t *np);
	int (*query)(void *db, enum store_query q, const char *a, const char *b, int64_t n,
		     store_row_fn fn, void *ctx);
	int (*count)(void *db, uint64_t *np);
	int (*purge)(void *db, int64_t before_ms, uint64_t *np);
	int (*stats)(void *db, int64_t now_ms, struct store_stats *out);
	int (*max_id)(void *db, int64_t *idp);
	int (*keys_since)(void *db, int64_t after, struct store_keys *out, size_t max, size_t *np);
	const char *(*errmsg)(void *db);
	int (*writable)(void *db);
	/* NULL while the rows can be reached; else why not (a server that went away). */
	const char *(*problem)(void *db);
	/* The schema version the store had when opened (0: none, made by the open). */
	int (*schema_was)(void *db);
	/*
	 * Rows a backend that adds them in batches (PostgreSQL's COPY) found
	 * stored already once they went in: insert said false for them. Taken
	 * once (then 0); NULL: insert always says.
	 */
	uint64_t (*replaced_late)(void *db);
};

extern const struct store_backend store_sqlite;
extern const struct store_backend store_pg;

#endif /* PIUGW_STORE_BACKEND_H */
