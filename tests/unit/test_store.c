/*
 * test_store.c: the traveller store on real rows in a real SQLite file:
 * every query type, fuzzy hits marked for review, co-travellers, retention,
 * statistics, and the disclosure filter's rules, checked down to the
 * serialized reply bytes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "body.pb-c.h"
#include "disclose.h"
#include "piugw/error.h"
#include "store.h"
#include "testutil.h"

#define DAY 86400000LL
static const int64_t NOW = 1811851200000LL; /* 2027-06-01 */

struct fx {
	char *dir, *path;
	struct store *s;
};

/* A row from "col=value|col=value" (values UTF-8). */
static void
put(struct store *s, int source, int64_t age_days, const char *spec)
{
	struct traveller t;
	struct diag d;
	char *copy = strdup(spec), *save = NULL;

	memset(&t, 0, sizeof(t));
	t.source = source;
	t.transferred_at_ms = NOW - age_days * DAY;
	for (char *kv = strtok_r(copy, "|", &save); kv != NULL; kv = strtok_r(NULL, "|", &save)) {
		char *eq = strchr(kv, '=');
		int col = store_col_by_name(kv, (size_t)(eq - kv));
		if (col < 0)
			fail_msg("no column '%.*s'", (int)(eq - kv), kv);
		t.v[col] = strdup(eq + 1);
	}
	diag_init(&d);
	if (store_insert(s, &t, NULL, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("insert refused: %s", spec);
	}
	diag_clear(&d);
	traveller_clear(&t);
	free(copy);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag d;

	diag_init(&d);
	f->dir = tu_tmpdir();
	f->path = tu_store(f->dir);
	assert_int_equal(store_open(f->path, &f->s, &d), 0);
	assert_int_equal(store_begin(f->s), 0);
	put(f->s, STORE_SOURCE_API, 2,
	    "surname=Müller|given_names=Anna|date_of_birth=1985-04-12|sex=F|nationality=XBA|"
	    "doc_type=P|doc_number=P1234567|doc_issuer=XBA|doc_expiry=2030-01-01|carrier=XB|"
	    "flight_number=0101|flight_date=2027-05-30|dep_airport=XBB|arr_airport=XAA|"
	    "record_locator=ABC123|phones=+00 555 0101|emails=Anna.M@example.org|"
	    "payment=VISA ************4242|frequent_flyer=XB 99887766|remarks=UMNR|"
	    "ssr=MOML;DIAB|seat=12A|bags=2");
	put(f->s, STORE_SOURCE_PNR, 2,
	    "surname=Müller|given_names=Jonas|date_of_birth=2015-01-01|carrier=XB|"
	    "flight_number=101|flight_date=2027-05-30|record_locator=abc123");
	put(f->s, STORE_SOURCE_API, 400, /* older than the masking age */
	    "surname=Ivanov|given_names=Sergey|date_of_birth=1970-07-07|doc_number=X7654321|"
	    "doc_issuer=XCA|carrier=XC|flight_number=7|flight_date=2026-04-20|"
	    "emails=sergey@example.org|payment=CASH|record_locator=ZZZ999");
	put(f->s, STORE_SOURCE_API, 10,
	    "surname=Garcia|given_names=Maria|date_of_birth=1990-02-02|doc_number=G1|doc_issuer=XBA|"
	    "carrier=XB|flight_number=202|flight_date=2027-05-22");
	assert_int_equal(store_commit(f->s), 0);
	diag_clear(&d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->s);
	free(f->path);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void
every_query_type(void **state)
{
	struct fx *f = *state;
	struct store_result r;

	/* Document: spaces and case as typed do not matter; issuer must agree. */
	assert_int_equal(store_search_document(f->s, "xba", "p 1234567", 10, &r), 0);
	assert_int_equal(r.total, 1);
	assert_string_equal(r.m[0].t.v[COL_GIVEN_NAMES], "Anna");
	assert_string_equal(r.m[0].matched_on, "document");
	store_result_clear(&r);
	assert_int_equal(store_search_document(f->s, "XCA", "P1234567", 10, &r), 0);
	assert_int_equal(r.total, 0);
	store_result_clear(&r);

	/* Exact name, normalised both sides. */
	assert_int_equal(store_search_name(f->s, "MUELLER", "ANNA", "1985-04-12", 10, &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	assert_int_equal(store_search_name(f->s, "Иванов", "Сергей", "1970-07-07", 10, &r), 0);
	assert_int_equal(r.total, 0); /* SERGEI vs SERGEY: exact says no... */
	store_result_clear(&r);
	/* ...fuzzy says yes, marked for review, with its score. */
	assert_int_equal(store_search_name_fuzzy(f->s, "Иванов", "Сергей", "1970-07-07", 0.88, 10,
						 &r), 0);
	assert_int_equal(r.total, 1);
	assert_true(r.m[0].needs_review);
	assert_true(r.m[0].score > 0.9 && r.m[0].score < 1.0);
	store_result_clear(&r);
	/* Swapped order, same date of birth. */
	assert_int_equal(store_search_name_fuzzy(f->s, "Anna", "Mueller", "1985-04-12", 0.88, 10,
						 &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	/* Another date of birth: not in the block. */
	assert_int_equal(store_search_name_fuzzy(f->s, "Mueller", "Anna", "1985-04-13", 0.5, 10, &r),
			 0);
	assert_int_equal(r.total, 0);
	store_result_clear(&r);

	/* Locator: both on the booking, case-insensitive. */
	assert_int_equal(store_search_locator(f->s, "abc123", 10, &r), 0);
	assert_int_equal(r.total, 2);
	store_result_clear(&r);
	/* Flight: BA0101 and BA101 are one flight. */
	assert_int_equal(store_search_flight(f->s, "xb", "101", "2027-05-30", 10, &r), 0);
	assert_int_equal(r.total, 2);
	store_result_clear(&r);
	/* Limit returns fewer but counts all. */
	assert_int_equal(store_search_flight(f->s, "XB", "0101", "2027-05-30", 1, &r), 0);
	assert_int_equal(r.total, 2);
	assert_int_equal(r.n, 1);
	store_result_clear(&r);
	/* Selectors, normalised. */
	assert_int_equal(store_search_selector(f->s, STORE_SEL_PHONE, "00 555-0101", 10, &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	assert_int_equal(store_search_selector(f->s, STORE_SEL_EMAIL, "ANNA.M@EXAMPLE.ORG", 10, &r),
			 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	assert_int_equal(store_search_selector(f->s, STORE_SEL_FREQUENT_FLYER, "xb-99887766", 10,
					       &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
}

static void
insert_refusals_say_why_without_personal_data(void **state)
{
	struct fx *f = *state;
	struct traveller t;
	struct diag d;

	memset(&t, 0, sizeof(t));
	diag_init(&d);
	t.source = STORE_SOURCE_API;
	t.transferred_at_ms = NOW;
	t.v[COL_SURNAME] = "Secretname";
	t.v[COL_DATE_OF_BIRTH] = "1985-13-45";
	t.v[COL_CARRIER] = "XB";
	t.v[COL_FLIGHT_NUMBER] = "1";
	t.v[COL_FLIGHT_DATE] = "2027-01-01";
	assert_int_equal(store_insert(f->s, &t, NULL, &d), PIUGW_EINVAL);
	assert_true(tu_diag_has(&d, "date_of_birth: not a real YYYY-MM-DD date"));
	assert_false(tu_diag_has(&d, "1985-13-45"));
	assert_false(tu_diag_has(&d, "Secretname"));
	/* Each element of fixed form, named, never its value. */
	struct {
		enum store_col col;
		const char *value, *why;
	} bad[] = {
		{COL_DATE_OF_BIRTH, "2027-06-02", "date_of_birth: after the data was transferred"},
		{COL_DOC_EXPIRY, "2031-13-45", "doc_expiry: not a real YYYY-MM-DD date"},
		{COL_DEP_TIME, "notatime", "dep_time: not a YYYY-MM-DDTHH:MM[:SS][Z] time"},
		{COL_ARR_TIME, "2027-01-01T24:00", "arr_time: not a YYYY-MM-DDTHH:MM[:SS][Z] time"},
		{COL_SEX, "Q", "sex: must be M, F, X or U"},
		{COL_NATIONALITY, "123456789", "nationality: not a state code"},
		{COL_DOC_ISSUER, "XAAA", "doc_issuer: not a state code"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct traveller u = t;
		u.v[COL_DATE_OF_BIRTH] = "1985-01-02";
		u.v[bad[i].col] = (char *)bad[i].value;
		assert_int_equal(store_insert(f->s, &u, NULL, &d), PIUGW_EINVAL);
		if (!tu_diag_has(&d, bad[i].why))
			fail_msg("%s: no '%s'", bad[i].value, bad[i].why);
		assert_false(tu_diag_has(&d, bad[i].value));
	}
	/* And the good forms of each go in. */
	{
		struct traveller u = t;
		u.v[COL_DATE_OF_BIRTH] = "1985-01-02";
		u.v[COL_DOC_EXPIRY] = "2031-12-31";
		u.v[COL_DEP_TIME] = "2027-01-01T23:59";
		u.v[COL_ARR_TIME] = "2027-01-02T00:10:00Z";
		u.v[COL_SEX] = "X";
		u.v[COL_NATIONALITY] = "D";
		u.v[COL_DOC_ISSUER] = "XAA";
		assert_int_equal(store_insert(f->s, &u, NULL, &d), 0);
	}
	t.v[COL_DATE_OF_BIRTH] = NULL;
	t.v[COL_FLIGHT_DATE] = NULL;
	assert_int_equal(store_insert(f->s, &t, NULL, &d), PIUGW_EINVAL);
	assert_true(tu_diag_has(&d, "one flight leg"));
	t.v[COL_SURNAME] = NULL;
	assert_int_equal(store_insert(f->s, &t, NULL, &d), PIUGW_EINVAL);
	assert_true(tu_diag_has(&d, "surname is missing"));
	diag_clear(&d);
}

static struct policy_decision
decision(vocab_set cats, int disclosure, uint32_t max_results, uint32_t mask_days)
{
	struct policy_decision dec;

	memset(&dec, 0, sizeof(dec));
	dec.categories = cats;
	dec.disclosure = disclosure;
	dec.max_results = max_results;
	dec.mask_after_days = mask_days;
	dec.handling_code = PIUGW__HANDLING_CODE__HANDLING_H2;
	dec.onward_transfer = PIUGW__ONWARD_TRANSFER__ONWARD_TRANSFER_FORBIDDEN;
	return dec;
}

/* The serialized reply, to check what really leaves the gateway. */
static uint8_t *
wire(const Piugw__QueryResult *q, size_t *lenp)
{
	uint8_t *b = malloc(piugw__query_result__get_packed_size(q) + 1);

	*lenp = piugw__query_result__pack(q, b);
	return b;
}

static bool
in_bytes(const uint8_t *b, size_t n, const char *s)
{
	return memmem(b, n, s, strlen(s)) != NULL;
}

static void
disclosure_rules(void **state)
{
	struct fx *f = *state;
	struct store_result r;
	Piugw__QueryResult *q = NULL;
	uint32_t masked = 0;
	size_t n;
	uint8_t *b;
	const vocab_set ID = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY);
	const vocab_set DOC = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_DOCUMENT);
	const vocab_set CONTACT = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_CONTACT);
	const vocab_set CO = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_CO_TRAVELLERS);
	const vocab_set REMARKS = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_REMARKS);
	vocab_set all = 0;

	for (const struct vocab *v = vocab_categories; v->name != NULL; v++)
		all |= VOCAB_BIT(v->value);

	/* Only the allowed categories: identity yes, payment and contact not even present. */
	struct policy_decision dec = decision(ID | DOC, PIUGW__DISCLOSURE__DISCLOSURE_FULL, 10, 183);
	assert_int_equal(store_search_document(f->s, "XBA", "P1234567", 10, &r), 0);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(q->status, PIUGW__RESULT_STATUS__RESULT_HIT);
	assert_int_equal(q->n_matches, 1);
	assert_non_null(q->matches[0]->api_identity);
	assert_string_equal(q->matches[0]->api_identity->surname, "Müller");
	assert_null(q->matches[0]->pnr_contact);
	assert_null(q->matches[0]->pnr_payment);
	assert_null(q->matches[0]->api_flight);
	assert_false(q->matches[0]->masked);
	assert_int_equal(q->handling_code, PIUGW__HANDLING_CODE__HANDLING_H2);
	b = wire(q, &n);
	assert_true(in_bytes(b, n, "P1234567"));
	assert_false(in_bytes(b, n, "4242"));          /* payment */
	assert_false(in_bytes(b, n, "example.org"));   /* contact */
	assert_false(in_bytes(b, n, "ABC123"));        /* booking */
	assert_false(in_bytes(b, n, "MOML"));          /* SSR */
	free(b);
	disclose_free(&q);

	/* Everything allowed: special-category SSR still never leaves. */
	dec = decision(all, PIUGW__DISCLOSURE__DISCLOSURE_FULL, 10, 183);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	b = wire(q, &n);
	assert_true(in_bytes(b, n, "4242"));
	assert_false(in_bytes(b, n, "MOML"));
	assert_false(in_bytes(b, n, "DIAB"));
	/* The co-traveller on the same booking and leg. */
	assert_non_null(q->matches[0]->pnr_co_travellers);
	assert_int_equal(q->matches[0]->pnr_co_travellers->count, 1);
	assert_string_equal(q->matches[0]->pnr_co_travellers->travellers[0]->given_names, "Jonas");
	free(b);
	disclose_free(&q);
	store_result_clear(&r);

	/* Older than mask_after_days: the Art 12(2) elements masked and flagged. */
	dec = decision(ID | DOC | CONTACT | REMARKS | CO | VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT) |
			       VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_BOOKING),
		       PIUGW__DISCLOSURE__DISCLOSURE_FULL, 10, 183);
	assert_int_equal(store_search_document(f->s, "XCA", "X7654321", 10, &r), 0);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(masked, 1);
	assert_true(q->matches[0]->masked);
	assert_string_equal(q->matches[0]->api_identity->surname, DISCLOSE_MASK);
	assert_string_equal(q->matches[0]->api_document->number, DISCLOSE_MASK);
	assert_string_equal(q->matches[0]->pnr_contact->emails[0], DISCLOSE_MASK);
	assert_string_equal(q->matches[0]->pnr_payment->forms_of_payment[0], DISCLOSE_MASK);
	/* Not in the Art 12(2) list: the booking reference stays. */
	assert_string_equal(q->matches[0]->pnr_booking->record_locator, "ZZZ999");
	assert_true(q->matches[0]->n_masked_categories >= 3);
	b = wire(q, &n);
	assert_false(in_bytes(b, n, "Ivanov"));
	assert_false(in_bytes(b, n, "X7654321"));
	assert_false(in_bytes(b, n, "sergey@"));
	assert_false(in_bytes(b, n, "CASH"));
	free(b);
	disclose_free(&q);
	/* With a longer masking age in the agreement, the same record is clear. */
	dec.mask_after_days = 500;
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(masked, 0);
	assert_string_equal(q->matches[0]->api_identity->surname, "Ivanov");
	disclose_free(&q);
	store_result_clear(&r);

	/* Hit/no-hit: the count, nothing else. */
	dec = decision(all, PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT, 10, 183);
	assert_int_equal(store_search_locator(f->s, "ABC123", 10, &r), 0);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(q->status, PIUGW__RESULT_STATUS__RESULT_HIT);
	assert_int_equal(q->match_count, 2);
	assert_int_equal(q->n_matches, 0);
	b = wire(q, &n);
	assert_false(in_bytes(b, n, "ller"));
	assert_false(in_bytes(b, n, "ABC123"));
	free(b);
	disclose_free(&q);

	/* max_results: at most that many, and the answer says it was cut. */
	dec = decision(ID, PIUGW__DISCLOSURE__DISCLOSURE_FULL, 1, 183);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(q->n_matches, 1);
	assert_int_equal(q->match_count, 2);
	assert_true(q->truncated);
	disclose_free(&q);
	store_result_clear(&r);

	/* No hit. */
	assert_int_equal(store_search_document(f->s, "XBA", "NOPE", 10, &r), 0);
	assert_int_equal(disclose_build(f->s, &r, &dec, NOW, &q, &masked), 0);
	assert_int_equal(q->status, PIUGW__RESULT_STATUS__RESULT_NO_HIT);
	assert_int_equal(q->n_matches, 0);
	disclose_free(&q);
	store_result_clear(&r);
}

static void
retention_and_stats(void **state)
{
	struct fx *f = *state;
	struct store_stats st;
	struct store_result r;
	uint64_t deleted = 0;

	assert_int_equal(store_stats(f->s, NOW, &st), 0);
	assert_int_equal(st.rows, 4);
	assert_int_equal(st.api, 3);
	assert_int_equal(st.pnr, 1);
	assert_int_equal(st.age_bands[0], 3); /* < 30 days */
	assert_int_equal(st.age_bands[2], 1); /* 183 days .. 5 years */
	assert_string_equal(st.first_flight, "2026-04-20");
	assert_string_equal(st.last_flight, "2027-05-30");
	assert_int_equal(store_purge(f->s, NOW - 365 * DAY, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(store_search_document(f->s, "XCA", "X7654321", 10, &r), 0);
	assert_int_equal(r.total, 0);
	store_result_clear(&r);
	/* Its selectors went with it. */
	assert_int_equal(store_search_selector(f->s, STORE_SEL_EMAIL, "sergey@example.org", 10, &r),
			 0);
	assert_int_equal(r.total, 0);
	store_result_clear(&r);

	/* The schema version is checked on open. */
	store_close(&f->s);
	struct diag d;
	diag_init(&d);
	assert_int_equal(store_open(f->path, &f->s, &d), 0);
	diag_clear(&d);
}

/*
 * A store of schema 2 (the person's indexes without the flight) is rebuilt
 * to 3 on open, its rows intact, and its person lookups then stay in the
 * index; one newer than this build knows is refused, named.
 */
static void
schema_2_is_upgraded(void **state)
{
	struct fx *f = *state;
	struct store_result r;
	struct diag d;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *plan = NULL;

	store_close(&f->s);
	if (tu_store_pg() != NULL) {
		/* PostgreSQL: schema 3 is its first; one newer is refused, named, all the same. */
		PGconn *c = PQconnectdb(tu_store_pg());
		PGresult *res = PQexec(c, "UPDATE store_meta SET version = 99");
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
		PQfinish(c);
		diag_init(&d);
		assert_int_equal(store_open(f->path, &f->s, &d), PIUGW_ECONFIG);
		assert_true(tu_diag_has(&d, "schema 99 is newer than this piugw knows (3)"));
		diag_clear(&d);
		return;
	}
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX t_name;"
					  "CREATE INDEX t_name ON traveller(name_key, transferred_at);"
					  "PRAGMA user_version = 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	diag_init(&d);
	assert_int_equal(store_open(f->path, &f->s, &d), 0);
	assert_int_equal(store_search_document(f->s, "XBA", "P1234567", 10, &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	store_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT id FROM traveller "
					    "INDEXED BY t_name WHERE name_key = 'x' AND flight_key = 'y'",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	plan = strdup((const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	assert_non_null(strstr(plan, "COVERING INDEX t_name"));
	free(plan);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->s, &d), PIUGW_ECONFIG);
	assert_true(tu_diag_has(&d, "schema 99 is newer than this piugw knows (3)"));
	diag_clear(&d);
}

/*
 * The asker's side: an answer may hold only what our terms let the partner
 * send us, what it declares itself, within max_results and the disclosure.
 */
static void
received_answers_are_checked(void **state)
{
	struct agreement_terms t;
	Piugw__QueryResult qr = PIUGW__QUERY_RESULT__INIT;
	Piugw__Match m = PIUGW__MATCH__INIT, *mp[2] = {&m, &m};
	Piugw__ApiIdentity id = PIUGW__API_IDENTITY__INIT;
	Piugw__PnrBooking bk = PIUGW__PNR_BOOKING__INIT;
	Piugw__PnrPayment pay = PIUGW__PNR_PAYMENT__INIT;
	Piugw__Category cats[3] = {PIUGW__CATEGORY__CATEGORY_API_IDENTITY,
				   PIUGW__CATEGORY__CATEGORY_API_DOCUMENT,
				   PIUGW__CATEGORY__CATEGORY_PNR_BOOKING};
	vocab_set arrived = 0;
	char why[300];

	(void)state;
	memset(&t, 0, sizeof(t));
	t.categories = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY) |
		       VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_DOCUMENT);
	t.disclosure = PIUGW__DISCLOSURE__DISCLOSURE_FULL;
	t.max_results = 1;
	m.api_identity = &id;
	qr.matches = mp;
	qr.n_matches = 1;
	qr.categories = cats;
	qr.n_categories = 2;
	assert_int_equal(disclose_check_received(&t, &qr, &arrived, why, sizeof(why)), 0);
	assert_int_equal(arrived, VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY));
	/* More than the terms allow: named, and what arrived still said. */
	m.pnr_booking = &bk;
	m.pnr_payment = &pay;
	assert_int_equal(disclose_check_received(&t, &qr, &arrived, why, sizeof(why)),
			 PIUGW_EMALFORMED);
	assert_non_null(strstr(why, "over-disclosed: pnr.booking,pnr.payment"));
	assert_true(arrived & VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT));
	/* Allowed by the terms, but not declared by the answer itself. */
	m.pnr_payment = NULL;
	t.categories |= VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_BOOKING);
	assert_int_equal(disclose_check_received(&t, &qr, NULL, why, sizeof(why)),
			 PIUGW_EMALFORMED);
	assert_non_null(strstr(why, "its own categories do not list"));
	qr.n_categories = 3;
	assert_int_equal(disclose_check_received(&t, &qr, NULL, why, sizeof(why)), 0);
	/* More records than max_results; any record under hit_no_hit. */
	qr.n_matches = 2;
	assert_int_equal(disclose_check_received(&t, &qr, NULL, why, sizeof(why)),
			 PIUGW_EMALFORMED);
	assert_non_null(strstr(why, "more than the 1"));
	qr.n_matches = 1;
	t.disclosure = PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT;
	assert_int_equal(disclose_check_received(&t, &qr, NULL, why, sizeof(why)),
			 PIUGW_EMALFORMED);
	assert_non_null(strstr(why, "only hit or no hit"));
	qr.n_matches = 0;
	assert_int_equal(disclose_check_received(&t, &qr, NULL, why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_query_type, setup, teardown),
		cmocka_unit_test_setup_teardown(insert_refusals_say_why_without_personal_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(disclosure_rules, setup, teardown),
		cmocka_unit_test(received_answers_are_checked),
		cmocka_unit_test_setup_teardown(retention_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_2_is_upgraded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
