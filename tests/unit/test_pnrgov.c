/*
 * test_pnrgov.c: PNRGOV fixtures written from the public structure of the
 * PADIS implementation guide (tests/fixtures/pnrgov): one push with every
 * segment kind the reader maps, an update that changes one booking and
 * cancels another, the quirks real senders have, bookings cut short or
 * malformed, a truncated file, a version this gateway does not read; and
 * sensitive data that never reaches the store file.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "import.h"
#include "num.h"
#include "piugw/error.h"
#include "sensitive.h"
#include "testutil.h"

static const int64_t NOW = 1811851200000LL; /* 2027-06-01 */

struct fx {
	char *dir, *path;
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag d;

	diag_init(&d);
	f->dir = tu_tmpdir();
	f->path = tu_path(f->dir, "store.db");
	assert_int_equal(store_open(f->path, &f->s, &d), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->s);
	tu_rmtree(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static struct import_stats
run(struct fx *f, const char *name, struct diag *d)
{
	struct import_stats st;

	tu_import_fixture(f->s, IMPORT_PNRGOV, PIUGW_FIXTURES_DIR "/pnrgov", name, NOW, &st, d);
	return st;
}

static size_t
on_booking(struct fx *f, const char *locator)
{
	struct store_result r;
	size_t n;

	assert_int_equal(store_search_locator(f->s, locator, 100, &r), 0);
	n = r.total;
	store_result_clear(&r);
	return n;
}

/* The traveller of this document (exactly one). */
static struct store_result
by_doc(struct fx *f, const char *issuer, const char *number)
{
	struct store_result r;

	assert_int_equal(store_search_document(f->s, issuer, number, 10, &r), 0);
	assert_int_equal(r.total, 1);
	return r;
}

#define V(t, c) ((t)->v[c] != NULL ? (t)->v[c] : "(null)")

/* One push: every segment kind mapped, three travellers and one more booking. */
static void
every_segment_of_a_booking(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;
	struct traveller *t;

	diag_init(&d);
	struct import_stats st = run(f, "booking.edi", &d);
	tu_diag_dump(&d);
	assert_int_equal(d.n, 1);
	assert_true(tu_diag_has(&d, "booking.edi: warning: 3 given names carried a title"));
	assert_int_equal(st.messages, 2); /* bookings */
	assert_int_equal(st.stored, 4);
	assert_int_equal(st.rejected, 0);
	/* AVML, WCHR, a free-text remark, the LTS history, KSML. */
	assert_int_equal(st.sensitive_dropped, 5);

	r = by_doc(f, "XBA", "P1234567");
	t = &r.m[0].t;
	assert_int_equal(t->source, STORE_SOURCE_PNR);
	assert_string_equal(V(t, COL_SURNAME), "MUELLER");
	assert_string_equal(V(t, COL_GIVEN_NAMES), "ANNA"); /* the document's, no title */
	assert_string_equal(V(t, COL_DATE_OF_BIRTH), "1985-04-12");
	assert_string_equal(V(t, COL_SEX), "F");
	assert_string_equal(V(t, COL_NATIONALITY), "XBA");
	assert_string_equal(V(t, COL_DOC_TYPE), "P");
	assert_string_equal(V(t, COL_DOC_EXPIRY), "2030-01-01");
	assert_string_equal(V(t, COL_RESIDENCE), "XBA");
	assert_string_equal(V(t, COL_CARRIER), "XB");
	assert_string_equal(V(t, COL_FLIGHT_NUMBER), "101");
	assert_string_equal(V(t, COL_FLIGHT_DATE), "2027-05-30");
	assert_string_equal(V(t, COL_DEP_AIRPORT), "XBB");
	assert_string_equal(V(t, COL_ARR_AIRPORT), "XAA");
	assert_string_equal(V(t, COL_DEP_TIME), "2027-05-30T10:00");
	assert_string_equal(V(t, COL_ARR_TIME), "2027-05-30T14:00");
	assert_string_equal(V(t, COL_RECORD_LOCATOR), "ABC123");
	assert_string_equal(V(t, COL_RESERVATION_DATE), "2027-04-15");
	assert_string_equal(V(t, COL_TICKET_DATE), "2027-04-15");
	assert_string_equal(V(t, COL_TICKETING), "ticket 2171234567890; fare T EUR 1200.00");
	assert_string_equal(V(t, COL_TRAVEL_STATUS), "HK");
	assert_string_equal(V(t, COL_ITINERARY), "XB101 XBB-XAA 2027-05-30;XB102 XAA-XBB 2027-06-05");
	assert_string_equal(V(t, COL_TRAVEL_DATES), "2027-05-30;2027-06-05");
	assert_string_equal(V(t, COL_EMAILS), "ANNA.MUELLER@EXAMPLE.XB"); /* "//" is "@" */
	assert_string_equal(V(t, COL_PHONES), "4930123456");
	assert_string_equal(V(t, COL_ADDRESS), "HAUPTSTRASSE 1, XBURG, XB, 10115");
	assert_string_equal(V(t, COL_BILLING_ADDRESS), "HAUPTSTRASSE 1, XBURG, XB, 10115");
	assert_string_equal(V(t, COL_PAYMENT), "CC VI XXXXXXXXXXXX1111 exp 0930"); /* as sent */
	assert_string_equal(V(t, COL_AGENCY), "99887766 1A XBB");
	assert_string_equal(V(t, COL_AGENT), "AG42");
	assert_string_equal(V(t, COL_FREQUENT_FLYER), "XB 12345678");
	assert_string_equal(V(t, COL_BAGS), "2");
	assert_string_equal(V(t, COL_SEAT), "12A"); /* this flight's, not XB102's 30C */
	assert_null(t->v[COL_SSR]);
	assert_null(t->v[COL_REMARKS]);
	/* Transferred: the UNB date and time. */
	assert_int_equal(t->transferred_at_ms,
			 (int64_t)num_days_from_civil(2027, 5, 30) * 86400000 + 12 * 3600000LL);
	store_result_clear(&r);

	/* Jonas: his own seat and document; the booking's contacts and itinerary. */
	r = by_doc(f, "XBA", "P7654321");
	t = &r.m[0].t;
	assert_string_equal(V(t, COL_SEAT), "12B");
	assert_string_equal(V(t, COL_DATE_OF_BIRTH), "2015-01-01");
	assert_string_equal(V(t, COL_EMAILS), "ANNA.MUELLER@EXAMPLE.XB");
	assert_null(t->v[COL_PAYMENT]); /* Anna's form of payment is hers */
	store_result_clear(&r);

	/* Lena: no document; the title stuck to her name removed; the UM remark. */
	assert_int_equal(store_search_locator(f->s, "ABC123", 10, &r), 0);
	assert_int_equal(r.total, 3);
	t = NULL;
	for (size_t i = 0; i < r.n; i++)
		if (strcmp(V(&r.m[i].t, COL_GIVEN_NAMES), "LENA") == 0)
			t = &r.m[i].t;
	assert_non_null(t);
	assert_string_equal(V(t, COL_REMARKS), "unaccompanied minor: UM08");
	assert_null(t->v[COL_DOC_NUMBER]);
	store_result_clear(&r);

	/* The other booking: a two-letter issuer kept as the carrier sent it. */
	r = by_doc(f, "XC", "C9876543");
	assert_string_equal(V(&r.m[0].t, COL_NATIONALITY), "XCA");
	assert_string_equal(V(&r.m[0].t, COL_PHONES), "2341234567");
	store_result_clear(&r);
	diag_clear(&d);
}

/* What is sensitive or unvouched is nowhere in the store's file, nor in what is said. */
static void
sensitive_data_never_enters_the_store(void **state)
{
	struct fx *f = *state;
	struct diag d;
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *never[] = {"AVML", "WCHR", "KSML", "DIET", "HISTORY"};

	diag_init(&d);
	run(f, "booking.edi", &d);
	store_close(&f->s);
	assert_int_equal(fileio_read(f->path, 1 << 26, 0, &buf, &len, NULL), 0);
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_null(memmem(buf, len, never[i], strlen(never[i])));
		assert_false(tu_diag_has(&d, never[i]));
	}
	/* ... while what was stored is there. */
	assert_non_null(memmem(buf, len, "ABC123", 6));
	fileio_free(buf, len, 0);
	assert_int_equal(store_open(f->path, &f->s, &d), 0);
	diag_clear(&d);

	/* The table: meals and health are sensitive; a document or a seat is not. */
	const char *what = NULL;
	assert_true(sensitive_ssr("MOML", &what));
	assert_string_equal(what, "meal (religion or health)");
	assert_true(sensitive_ssr("BLND", NULL));
	assert_false(sensitive_ssr("DOCS", NULL));
	assert_false(sensitive_ssr("SEAT", NULL));
	char out[64];
	assert_int_equal(sensitive_filter_list("AVML;UMNR;wchr;SEAT 12A", out, sizeof(out)), 2);
	assert_string_equal(out, "UMNR;SEAT 12A");
}

/*
 * An update (MSG :141) replaces the bookings it carries: ABC123 without
 * Lena and with a new phone; DEF456, cancelled on this flight (RPI XX),
 * leaves it. The same file twice changes nothing.
 */
static void
updates_and_cancellations(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;
	uint64_t n = 0;

	diag_init(&d);
	run(f, "booking.edi", &d);
	assert_int_equal(on_booking(f, "DEF456"), 1);
	diag_clear(&d);
	struct import_stats st = run(f, "update.edi", &d);
	tu_diag_dump(&d);
	assert_int_equal(d.n, 1); /* the titles */
	assert_int_equal(st.stored, 2);
	assert_int_equal(st.replaced, 2);
	assert_int_equal(st.removed, 2); /* Lena, and Chidi Okafor's cancelled booking */
	assert_int_equal(on_booking(f, "ABC123"), 2);
	assert_int_equal(on_booking(f, "DEF456"), 0);
	r = by_doc(f, "XBA", "P1234567");
	assert_string_equal(V(&r.m[0].t, COL_PHONES), "4930999999");
	store_result_clear(&r);
	/* Idempotent: again, the same store. */
	st = run(f, "update.edi", &d);
	assert_int_equal(st.stored, 2);
	assert_int_equal(st.replaced, 2);
	assert_int_equal(st.removed, 0);
	assert_int_equal(store_count(f->s, &n), 0);
	assert_int_equal(n, 2);
	st = run(f, "booking.edi", &d);
	st = run(f, "booking.edi", &d);
	assert_int_equal(st.replaced, 4);
	assert_int_equal(store_count(f->s, &n), 0);
	assert_int_equal(n, 4);
	diag_clear(&d);
}

/* What real senders do, accepted with a warning each. */
static void
quirks_accepted_with_warnings(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;

	diag_init(&d);
	struct import_stats st = run(f, "quirks.edi", &d);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.rejected, 0);
	assert_true(tu_diag_has(&d, "quirks.edi: warning: no UNA"));
	assert_true(tu_diag_has(&d, "quirks.edi: warning: spaces before segments"));
	assert_true(tu_diag_has(&d, "warning: EQN counts 3 bookings, the message has 1"));
	assert_true(tu_diag_has(&d, "warning: UNZ reference 44 is written otherwise than UNB's "
				    "000000044"));
	assert_true(tu_diag_has(&d, "warning: 1 given name carried a title"));
	/* A name that only looks like one with a title is left alone. */
	const char alex[] = "UNB+IATA:1+XB+XAPIU+270530:1200+8'UNH+1+PNRGOV:12:1:IA'MSG+:22'"
			    "TVL+300527:1000::1400+XBB+XAA+XB+101'SRC'RCI+XB:ALX001'"
			    "TIF+IVANOV+ALEXANDR:A:1'"
			    "SSR+DOCS:HK:1:XB:::::/P/XBA/P6660001/XBA/01JAN90/M/01JAN30+::1'"
			    "UNT+8+1'UNZ+1+8'";
	struct import_stats a;
	assert_int_equal(import_text(f->s, IMPORT_PNRGOV, alex, sizeof(alex) - 1, "alex", NOW, &a,
				     &d, NULL, NULL), 0);
	assert_int_equal(a.stored, 1);
	r = by_doc(f, "XBA", "P6660001");
	assert_string_equal(V(&r.m[0].t, COL_GIVEN_NAMES), "ALEXANDR");
	store_result_clear(&r);
	r = by_doc(f, "XBA", "P5550001"); /* a three-letter issuer, a two-letter nationality */
	assert_string_equal(V(&r.m[0].t, COL_NATIONALITY), "XB");
	assert_string_equal(V(&r.m[0].t, COL_GIVEN_NAMES), "CHARLES");
	store_result_clear(&r);
	diag_clear(&d);
}

/* A booking cut short or malformed is refused, named; the others are stored. */
static void
bad_bookings_refused_the_rest_kept(void **state)
{
	struct fx *f = *state;
	struct diag d;

	diag_init(&d);
	struct import_stats st = run(f, "cut.edi", &d);
	tu_diag_dump(&d);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.messages_rejected, 2);
	assert_int_equal(st.stored, 1);
	assert_true(tu_diag_has(&d, "cut.edi:7: booking rejected: a booking without its record "
				    "locator (RCI): cut short"));
	assert_true(tu_diag_has(&d, "cut.edi:14: booking rejected: SSR DOCS: the date of birth is "
				    "not DDMMMYY"));
	assert_int_equal(on_booking(f, "MNO345"), 1);
	assert_int_equal(on_booking(f, "JKL012"), 0);
	assert_false(tu_diag_has(&d, "BADDATE")); /* never personal data */
	diag_clear(&d);

	st = run(f, "truncated.edi", &d);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.messages_rejected, 1);
	assert_true(tu_diag_has(&d, "cut short: the last segment has no terminator"));
	assert_true(tu_diag_has(&d, "booking rejected: the message ends here (no UNT): cut short"));
	assert_int_equal(on_booking(f, "PQR678"), 0);
	diag_clear(&d);

	st = run(f, "version.edi", &d);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.messages_rejected, 2);
	assert_true(tu_diag_has(&d, "PNRGOV version 10.1: this gateway reads 11.1 to 15.1"));
	diag_clear(&d);

	/* Not EDIFACT at all, and a UNA that makes two separators one. */
	const char junk[] = "hello world", una[] = "UNA::.? 'UNB+IATA'";
	assert_int_equal(import_text(f->s, IMPORT_PNRGOV, junk, sizeof(junk) - 1, "junk", NOW, &st,
				     &d, NULL, NULL), 0);
	assert_int_equal(st.stored, 0);
	assert_int_equal(import_text(f->s, IMPORT_PNRGOV, una, sizeof(una) - 1, "una", NOW, &st, &d,
				     NULL, NULL), PIUGW_EMALFORMED);
	assert_true(tu_diag_has(&d, "una:1: the UNA declares the same character"));
	diag_clear(&d);
}

/* Release characters, NUL bytes and bytes that are not UTF-8 (strict edges). */
static void
bytes_that_are_not_text(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	struct store_result r;
	char *text;
	size_t len;
	const char *tmpl =
		"UNA:+.? 'UNB+IATA:1+XB+XAPIU+270530:1200+9'UNH+1+PNRGOV:15:1:IA'MSG+:22'"
		"TVL+300527:1000::1400+XBB+XAA+XB+101'"
		"SRC'RCI+XB:REL001'TIF+O?'NEIL+SEAN:A:1'"
		"SSR+DOCS:HK:1:XB:::::/P/XBA/P4440001/XBA/01JAN90/M/01JAN30/O?'NEIL/SEAN+::1'"
		"SRC'RCI+XB:NUL001'TIF+@@+ZED:A:1'"
		"SSR+DOCS:HK:1:XB:::::/P/XBA/P4440002/XBA/01JAN90/M/01JAN30+::1'"
		"UNT+12+1'UNZ+1+9'";

	diag_init(&d);
	/* Cut at NUL, or not UTF-8: refused, not stored as something else. */
	const char *bad[] = {"NU\001L", "\xff\xfe"};
	for (size_t i = 0; i < 2; i++) {
		const char *at = strstr(tmpl, "@@");
		len = strlen(tmpl) - 2 + strlen(bad[i]);
		text = malloc(len + 1);
		sprintf(text, "%.*s%s%s", (int)(at - tmpl), tmpl, bad[i], at + 2);
		if (i == 0)
			text[strstr(text, "NU\001L") - text + 2] = '\0'; /* a NUL inside the name */
		assert_int_equal(import_text(f->s, IMPORT_PNRGOV, text, len, "bytes", NOW, &st, &d,
					     NULL, NULL), 0);
		assert_int_equal(st.stored, 1);
		assert_int_equal(st.messages_rejected, 1);
		assert_true(tu_diag_has(&d, i == 0 ? "TIF segment holds a NUL byte"
						   : "TIF segment is not UTF-8"));
		free(text);
		diag_clear(&d);
	}
	r = by_doc(f, "XBA", "P4440001");
	assert_string_equal(V(&r.m[0].t, COL_SURNAME), "O'NEIL"); /* the release character */
	store_result_clear(&r);
	assert_int_equal(on_booking(f, "NUL001"), 0);
}

/* The PAXLST of the flight, as test_import reads it. */
static void
paxlst(struct fx *f, struct diag *d)
{
	struct import_stats st;

	tu_import_fixture(f->s, IMPORT_PAXLST, PIUGW_FIXTURES_DIR "/paxlst", "basic.edi", NOW, &st, d);
	assert_int_equal(st.stored, 3);
}

/*
 * One person, two sources: Anna Mueller's API (PAXLST) and PNR rows of
 * XB101 on 2027-05-30 are one match, with the elements of both, each from
 * its own source; a booking's search lists each traveller once; stats count
 * persons and rows apart; importing both again changes nothing.
 */
static void
one_person_across_api_and_pnr(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;
	struct store_stats ss;
	const struct store_match *m;

	diag_init(&d);
	paxlst(f, &d);
	run(f, "booking.edi", &d);
	for (int pass = 0; pass < 2; pass++) {
		r = by_doc(f, "XBA", "P1234567");
		m = &r.m[0];
		assert_int_equal(r.n, 1);
		assert_int_equal(m->rows, 2);
		assert_int_equal(m->sources, (1u << STORE_SOURCE_API) | (1u << STORE_SOURCE_PNR));
		/* API elements from the API row, PNR ones from the PNR row, the rest where found. */
		assert_int_equal(m->col_source[COL_DOC_NUMBER], STORE_SOURCE_API);
		assert_int_equal(m->col_source[COL_EMBARKATION], STORE_SOURCE_API); /* PAXLST only */
		assert_int_equal(m->col_source[COL_RECORD_LOCATOR], STORE_SOURCE_PNR);
		assert_int_equal(m->col_source[COL_EMAILS], STORE_SOURCE_PNR);
		assert_int_equal(m->col_source[COL_SEAT], STORE_SOURCE_PNR); /* not in the PAXLST */
		assert_string_equal(V(&m->t, COL_EMBARKATION), "XBB");
		assert_string_equal(V(&m->t, COL_EMAILS), "ANNA.MUELLER@EXAMPLE.XB");
		assert_string_equal(V(&m->t, COL_SEAT), "12A");
		store_result_clear(&r);
		/* By name and date of birth too: one match, both sources. */
		assert_int_equal(store_search_name(f->s, "MUELLER", "ANNA", "1985-04-12", 10, &r), 0);
		assert_int_equal(r.total, 1);
		assert_int_equal(r.m[0].rows, 2);
		store_result_clear(&r);
		/* The booking: Anna, Jonas (both sources) and Lena (PNR only), each once. */
		assert_int_equal(store_search_locator(f->s, "ABC123", 10, &r), 0);
		assert_int_equal(r.total, 3);
		assert_int_equal(r.n, 3);
		store_result_clear(&r);
		/* Co-travellers of Anna: Jonas and Lena, not Anna's own other row. */
		r = by_doc(f, "XBA", "P1234567");
		struct store_result co;
		assert_int_equal(store_co_travellers(f->s, &r.m[0].t, &co), 0);
		assert_int_equal(co.n, 2);
		store_result_clear(&co);
		store_result_clear(&r);
		assert_int_equal(store_stats(f->s, NOW, &ss), 0);
		assert_int_equal(ss.rows, 7);      /* 3 API, 4 PNR */
		assert_int_equal(ss.persons, 5);   /* Anna and Jonas once each */
		/* Again, both files: the same store. */
		paxlst(f, &d);
		run(f, "booking.edi", &d);
	}
	diag_clear(&d);
}

/* The ssr column of CSV and JSON Lines is filtered the same way. */
static void
csv_ssr_column_filtered(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	struct store_result r;
	const char csv[] = "source,surname,given_names,date_of_birth,doc_issuer,doc_number,carrier,"
			   "flight_number,flight_date,ssr\n"
			   "PNR,ROE,RAY,1970-01-01,XBA,P3330001,XB,101,2027-05-30,AVML;UMNR;MEDA\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, sizeof(csv) - 1, "csv", NOW, &st, &d,
				     NULL, NULL), 0);
	tu_diag_dump(&d);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.sensitive_dropped, 2);
	r = by_doc(f, "XBA", "P3330001");
	assert_string_equal(V(&r.m[0].t, COL_SSR), "UMNR");
	store_result_clear(&r);
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_segment_of_a_booking, setup, teardown),
		cmocka_unit_test_setup_teardown(sensitive_data_never_enters_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(updates_and_cancellations, setup, teardown),
		cmocka_unit_test_setup_teardown(quirks_accepted_with_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_bookings_refused_the_rest_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(bytes_that_are_not_text, setup, teardown),
		cmocka_unit_test_setup_teardown(csv_ssr_column_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(one_person_across_api_and_pnr, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
