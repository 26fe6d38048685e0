/*
 * store.h: the traveller store (DESIGN.md section 5): one SQLite file, or a
 * PostgreSQL database (store_backend.h).
 *
 * One row is one person on one flight leg, from API or PNR, with the time
 * the carrier transferred it. A search returns one match per person: the
 * rows of one leg of a flight (carrier, number, date, and the departure
 * where both rows give it) with the same document, or the same name and
 * date of birth, are one person, whichever source each came from, and
 * their elements are joined (store_match.col_source). Every element is a
 * column of the table below, which also says which category it belongs to
 * and whether Art 12(2) of
 * Directive 2016/681 masks it after mask_after_days; imports, searches, the
 * disclosure filter and masking all work from that one table.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_STORE_H
#define PIUGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define STORE_SCHEMA_VERSION 3

enum store_col {
	/* api.identity */
	COL_SURNAME, COL_GIVEN_NAMES, COL_DATE_OF_BIRTH, COL_SEX, COL_NATIONALITY,
	/* api.document */
	COL_DOC_TYPE, COL_DOC_NUMBER, COL_DOC_ISSUER, COL_DOC_EXPIRY,
	/* api.flight */
	COL_CARRIER, COL_FLIGHT_NUMBER, COL_FLIGHT_DATE, COL_DEP_AIRPORT, COL_DEP_TIME,
	COL_ARR_AIRPORT, COL_ARR_TIME,
	/* api.travel */
	COL_EMBARKATION, COL_DEBARKATION, COL_FINAL_DESTINATION, COL_SEAT, COL_BAGS,
	COL_RESIDENCE, COL_BIRTHPLACE,
	/* pnr.booking */
	COL_RECORD_LOCATOR, COL_RESERVATION_DATE, COL_TICKET_DATE, COL_TRAVEL_DATES,
	COL_TICKETING, COL_TRAVEL_STATUS,
	/* pnr.contact */
	COL_ADDRESS, COL_PHONES, COL_EMAILS,
	/* pnr.payment */
	COL_PAYMENT, COL_BILLING_ADDRESS,
	/* pnr.itinerary */
	COL_ITINERARY,
	/* pnr.agency */
	COL_AGENCY, COL_AGENT,
	/* pnr.frequent_flyer */
	COL_FREQUENT_FLYER,
	/* pnr.seat_baggage */
	COL_BAG_TAGS,
	/* pnr.remarks */
	COL_REMARKS,
	/* special service requests: stored for the carrier's record, never disclosed */
	COL_SSR,
	COL__COUNT
};

struct store_col_info {
	const char *name;  /* column and import field name */
	int category;      /* vocab_categories value; 0: never disclosed */
	bool masked;       /* Art 12(2): masked after mask_after_days */
};

extern const struct store_col_info store_cols[COL__COUNT];

/* The column called name, or -1. */
int store_col_by_name(const char *name, size_t len);

enum store_source { STORE_SOURCE_API = 1, STORE_SOURCE_PNR = 2 };

struct traveller {
	int64_t id;
	int source;
	int64_t transferred_at_ms;
	char *record_id;     /* the sender's id of the record, if it gives one; owned */
	char *v[COL__COUNT]; /* NULL or a value; owned by the traveller */
};

/* Free the values of t (not t itself). */
void traveller_clear(struct traveller *t);

struct store;

/*
 * Open (creating and migrating) the store at path: a SQLite file (WAL
 * mode), or with "postgresql:CONNINFO" a PostgreSQL database (libpq's
 * connection string; store_pg.c).
 */
int store_open(const char *path, struct store **outp, struct diag *d);
void store_close(struct store **sp);

/*
 * Transactions, nested: the outermost is a transaction (an import holds one
 * per file: all of it is stored or none), the ones inside it savepoints (a
 * PAXLST message is stored whole or not at all). Commit and rollback end
 * the innermost.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/*
 * With on, the searches that follow share one read transaction (one
 * snapshot, one round of file locks) until store_read_hold(s, false) ends
 * it: the daemon holds it for a turn of its loop. Writers in other
 * processes (an import) go on meanwhile; the searches see the store as it
 * was at the first of them.
 */
void store_read_hold(struct store *s, bool on);

/*
 * Check t and add it. Refuses (PIUGW_EINVAL, reason in d) a row without a
 * surname, a bad date of birth, or no flight. Personal data never goes to d.
 *
 * Imports are idempotent: each row has a natural key, the sender's
 * record_id where it gives one, else (source, carrier, flight, date,
 * departure airport, and the document, or the name and date of birth); a
 * row whose key is stored already replaces that row (*replacedp true, may
 * be NULL), so a file imported twice, or again after an import cut short,
 * holds each record once.
 */
int store_insert(struct store *s, const struct traveller *t, bool *replacedp, struct diag *d);

/*
 * Remove a booking from a flight: every PNR row with this record locator on
 * this flight (carrier, number, YYYY-MM-DD), before its new state is stored
 * or because it was cancelled. Joins the caller's transaction. *deletedp how
 * many rows went.
 */
int store_delete_booking(struct store *s, const char *locator, const char *carrier,
			 const char *flight_number, const char *date, uint64_t *deletedp);

/* The checks of store_insert alone, nothing written: 0 or PIUGW_EINVAL with why in d. */
int store_check(const struct traveller *t, struct diag *d);

/*
 * The same, for a record known to be new: its booking was just removed
 * (store_delete_booking), so its key is not looked up first. A record whose
 * key is stored after all is refused (PIUGW_EINVAL), never stored twice.
 */
int store_insert_new(struct store *s, const struct traveller *t, struct diag *d);

/* How many rows the store holds. */
int store_count(struct store *s, uint64_t *np);

/* ---- search ---- */

struct store_match {
	struct traveller t;  /* the person's elements, joined from every row of them */
	double score;        /* 1.0 exact */
	bool needs_review;   /* every fuzzy hit */
	const char *matched_on;
	/*
	 * Where each element came from (STORE_SOURCE_*; 0: none): the API
	 * row's for api.* elements and the PNR row's for pnr.* ones where both
	 * have them. t.source is the first row's; t.transferred_at_ms the
	 * oldest row's (masking goes by the oldest); sources a bit
	 * (1 << STORE_SOURCE_*) per source joined.
	 */
	uint8_t col_source[COL__COUNT];
	unsigned sources;
	unsigned rows;       /* how many rows were joined */
	void *pkey;          /* the store's: its person key, as stored (freed by store_result_clear) */
};

struct store_result {
	struct store_match *m;
	size_t n;          /* returned (at most limit) */
	size_t total;      /* found */
};

void store_result_clear(struct store_result *r);

/* Each searches by one query type; limit caps what is returned, total counts all. */
int store_search_document(struct store *s, const char *issuer, const char *number, size_t limit,
			  struct store_result *out);
int store_search_name(struct store *s, const char *surname, const char *given,
		      const char *date_of_birth, size_t limit, struct store_result *out);
int store_search_name_fuzzy(struct store *s, const char *surname, const char *given,
			    const char *date_of_birth, double min_score, size_t limit,
			    struct store_result *out);
int store_search_locator(struct store *s, const char *locator, size_t limit,
			 struct store_result *out);
int store_search_flight(struct store *s, const char *carrier, const char *flight_number,
			const char *date, size_t limit, struct store_result *out);
enum store_selector { STORE_SEL_PHONE = 1, STORE_SEL_EMAIL = 2, STORE_SEL_FREQUENT_FLYER = 3 };
int store_search_selector(struct store *s, enum store_selector kind, const char *value,
			  size_t limit, struct store_result *out);

/*
 * The person of row id, joined as a search joins them (an answer's masked
 * match asked for again under an authorisation): one match, or none.
 */
int store_search_row(struct store *s, int64_t id, struct store_result *out);
/* The names of the others on the same booking (for pnr.co_travellers). */
int store_co_travellers(struct store *s, const struct traveller *t, struct store_result *out);

/* SQLite's words for the last failure on s (e.g. "database disk image is malformed"). */
const char *store_errmsg(struct store *s);

/* 0 if a write transaction can be started now (health check), else an error. */
int store_writable(struct store *s);
/*
 * NULL while the store can be reached; else why not, in words (a
 * PostgreSQL server that went away: the store tries again by itself, at
 * most once a backoff of 1 to 30 s). A SQLite file: always NULL.
 */
const char *store_problem(struct store *s);
/*
 * After the commit of a file: records the store found stored already once
 * they went in (PostgreSQL adds a file's rows in batches with COPY, and
 * store_insert cannot say it of each then). Add it to what store_insert
 * said; taken once.
 */
uint64_t store_replaced_late(struct store *s);
/* The schema version the store had when it was opened (0: it was made then). */
int store_schema_was(const struct store *s);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *s);

/* ---- retention and statistics ---- */

/* Delete rows transferred before before_ms; *deletedp how many. */
int store_purge(struct store *s, int64_t before_ms, uint64_t *deletedp);

struct store_stats {
	uint64_t rows, api, pnr;
	uint64_t persons;      /* rows of one person on one flight counted once (store_match) */
	uint64_t age_bands[4]; /* < 30 days, < 183 days (masking), < 5 years, older */
	char first_flight[11], last_flight[11];
};
int store_stats(struct store *s, int64_t now_ms, struct store_stats *out);

/* ---- lookouts: rows stored since a mark, by the keys the searches use ---- */

#define STORE_KEY_NAME_MAX (2 * 256 + 24)
struct store_keys {
	int64_t id;
	char doc[96];                      /* "issuer:number" as normalised, or "" */
	char name[STORE_KEY_NAME_MAX];     /* "surname|given|yyyymmdd" */
	char dob[16];                      /* "yyyymmdd" */
	char name_norm[256];               /* "given surname", normalised (fuzzy scoring) */
	char flight[48];                   /* "carriernumber|yyyymmdd" */
};

/* The keys as the store makes them from what a search (or a lookout) gives. */
void store_key_document(const char *issuer, const char *number, char *out, size_t size);
void store_key_name(const char *surname, const char *given, const char *dob, char *out,
		    size_t size);
void store_key_dob(const char *dob, char *out, size_t size);
void store_key_full_name(const char *surname, const char *given, char out[256]);
void store_key_flight(const char *carrier, const char *number, const char *date, char *out,
		      size_t size);
/* The highest row id (0: none). Rows are numbered as stored: a replaced row gets a new id. */
int store_max_id(struct store *s, int64_t *idp);
/* Up to max rows with id > after, in id order, into out; *np how many. */
int store_keys_since(struct store *s, int64_t after, struct store_keys *out, size_t max,
		     size_t *np);

/* ---- selectors, normalised as stored and as searched ---- */

/* "+44 (20) 7946-0958" -> "442079460958"; emails lower-cased; FF "BA 12345678" -> "BA12345678". */
size_t store_selector_norm(enum store_selector kind, const char *in, char *out, size_t out_size);

#endif /* PIUGW_STORE_H */
