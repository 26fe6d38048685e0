/*
 * test_import.c: PAXLST fixtures written from the public segment layout
 * (several messages, passengers and crew, several legs, unusual separators
 * and the release character, a count mismatch, a bad UNT, a truncated
 * interchange), and CSV and JSON Lines with their mistakes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "fileio.h"
#include "import.h"
#include "num.h"
#include "piugw/error.h"
#include "testutil.h"

static const int64_t NOW = 1811851200000LL; /* 2027-06-01 */

struct fx {
	char *dir;
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *p;
	struct diag d;

	diag_init(&d);
	f->dir = tu_tmpdir();
	p = tu_store(f->dir);
	assert_int_equal(store_open(p, &f->s, &d), 0);
	free(p);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->s);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static struct import_stats
run_fixture(struct fx *f, const char *name, struct diag *d)
{
	struct import_stats st;

	tu_import_fixture(f->s, IMPORT_PAXLST, PIUGW_FIXTURES_DIR "/paxlst", name, NOW, &st, d);
	return st;
}

static size_t
count_doc(struct fx *f, const char *issuer, const char *number)
{
	struct store_result r;
	size_t n;

	assert_int_equal(store_search_document(f->s, issuer, number, 100, &r), 0);
	n = r.total;
	store_result_clear(&r);
	return n;
}

static void
paxlst_basic(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;

	diag_init(&d);
	struct import_stats st = run_fixture(f, "basic.edi", &d);
	tu_diag_dump(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.stored, 3); /* two passengers, one crew member */
	assert_int_equal(st.rejected, 0);
	assert_int_equal(store_search_document(f->s, "XBA", "P1234567", 10, &r), 0);
	assert_int_equal(r.total, 1);
	struct traveller *t = &r.m[0].t;
	assert_string_equal(t->v[COL_SURNAME], "MUELLER");
	assert_string_equal(t->v[COL_GIVEN_NAMES], "ANNA");
	assert_string_equal(t->v[COL_DATE_OF_BIRTH], "1985-04-12");
	assert_string_equal(t->v[COL_SEX], "F");
	assert_string_equal(t->v[COL_NATIONALITY], "XBA");
	assert_string_equal(t->v[COL_DOC_EXPIRY], "2030-01-01");
	assert_string_equal(t->v[COL_CARRIER], "XB");
	assert_string_equal(t->v[COL_FLIGHT_NUMBER], "101");
	assert_string_equal(t->v[COL_FLIGHT_DATE], "2027-05-30");
	assert_string_equal(t->v[COL_DEP_AIRPORT], "XBB");
	assert_string_equal(t->v[COL_ARR_AIRPORT], "XAA");
	assert_string_equal(t->v[COL_DEP_TIME], "2027-05-30T10:00");
	assert_string_equal(t->v[COL_RECORD_LOCATOR], "ABC123");
	assert_int_equal(t->source, STORE_SOURCE_API);
	/* transferred: the UNB date and time, 2027-05-30 12:00 UTC */
	assert_int_equal(t->transferred_at_ms,
			 (int64_t)num_days_from_civil(2027, 5, 30) * 86400000 + 12 * 3600000LL);
	store_result_clear(&r);
	/* A child born 2015 stays in this century; the crew member is stored too. */
	assert_int_equal(store_search_name(f->s, "MUELLER", "JONAS", "2015-01-01", 10, &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	assert_int_equal(count_doc(f, "XCA", "C0001111"), 1);
	diag_clear(&d);
}

static void
paxlst_multileg_and_separators(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct store_result r;

	diag_init(&d);
	struct import_stats st = run_fixture(f, "multileg.edi", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(st.stored, 2); /* one passenger on two legs */
	assert_int_equal(count_doc(f, "XCA", "X7654321"), 2);
	assert_int_equal(store_search_flight(f->s, "XB", "202", "2027-05-30", 10, &r), 0);
	assert_int_equal(r.total, 2);
	store_result_clear(&r);

	st = run_fixture(f, "separators.edi", &d);
	tu_diag_dump(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(st.stored, 1);
	assert_int_equal(store_search_document(f->s, "XBA", "P5555555", 10, &r), 0);
	assert_int_equal(r.total, 1);
	/* The release character kept the terminator inside the name. */
	assert_string_equal(r.m[0].t.v[COL_SURNAME], "O~BRIEN");
	assert_string_equal(r.m[0].t.v[COL_RECORD_LOCATOR], "QQQ111");
	store_result_clear(&r);
	diag_clear(&d);
}

static void
paxlst_bad_messages_rejected_whole(void **state)
{
	struct fx *f = *state;
	struct diag d;

	diag_init(&d);
	/* CNT says 3, the message lists 2: the whole message goes, the next one stays. */
	struct import_stats st = run_fixture(f, "count-mismatch.edi", &d);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.messages_rejected, 1);
	assert_int_equal(st.stored, 1);
	assert_true(tu_diag_has(&d, "count-mismatch.edi:31: message rejected: CNT+42 counts 3, "
				    "the message lists 2"));
	assert_int_equal(count_doc(f, "XBA", "P1234567"), 0); /* nothing half-written */
	assert_int_equal(count_doc(f, "XCA", "X7654321"), 1);
	assert_false(tu_diag_has(&d, "MUELLER"));
	diag_clear(&d);

	st = run_fixture(f, "bad-unt.edi", &d);
	assert_int_equal(st.messages_rejected, 1);
	assert_true(tu_diag_has(&d, "message rejected: UNT counts"));
	diag_clear(&d);

	/* Cut short: the complete message is stored, the cut one is not. */
	st = run_fixture(f, "truncated.edi", &d);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.messages_rejected, 1);
	assert_true(tu_diag_has(&d, "cut short"));
	assert_true(tu_diag_has(&d, "the message is incomplete (no UNT)"));
	diag_clear(&d);

	/* Not EDIFACT at all. */
	const char junk[] = "hello world";
	assert_int_equal(import_text(f->s, IMPORT_PAXLST, junk, sizeof(junk) - 1, "junk", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.stored, 0);
	diag_clear(&d);
}

static void
csv_rows(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	struct store_result r;
	const char *csv =
		"source,transferred_at,surname,given_names,date_of_birth,doc_number,doc_issuer,"
		"carrier,flight_number,flight_date,address,phones\n"
		"PNR,2027-05-29T08:30:00Z,Lefèvre,François,1977-03-03,F111,XDA,XD,9,2027-05-29,"
		"\"12 Rue de la Paix, Paris\",+00 555 0199;+00 555 0198\n"
		"API,2027-05-29,Smith,\"John \"\"Jack\"\"\",1980-01-01,S222,XEA,XE,10,2027-05-29,,\n"
		"API,2027-05-29,NoFlight,X,1980-01-01,S333,XEA,,,,,\n"
		"API,2027-05-29,Short,row\n"
		"XYZ,2027-05-29,Bad,Source,1980-01-01,S444,XEA,XE,10,2027-05-29,,\n"
		"\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, strlen(csv), "t.csv", NOW, &st, &d, NULL,
				     NULL), 0);
	assert_int_equal(st.stored, 2);
	assert_int_equal(st.rejected, 3);
	assert_true(tu_diag_has(&d, "t.csv:4: row rejected: a row is one flight leg"));
	assert_true(tu_diag_has(&d, "t.csv:5: row rejected: 4 fields, the header has 12"));
	assert_true(tu_diag_has(&d, "t.csv:6: row rejected: source must be API or PNR"));
	assert_false(tu_diag_has(&d, "NoFlight"));
	assert_int_equal(store_search_document(f->s, "XDA", "F111", 10, &r), 0);
	assert_int_equal(r.total, 1);
	assert_string_equal(r.m[0].t.v[COL_ADDRESS], "12 Rue de la Paix, Paris");
	assert_int_equal(r.m[0].t.source, STORE_SOURCE_PNR);
	assert_int_equal(r.m[0].t.transferred_at_ms, (int64_t)num_days_from_civil(2027, 5, 29) *
							     86400000 + 8 * 3600000LL + 1800000);
	store_result_clear(&r);
	assert_int_equal(store_search_selector(f->s, STORE_SEL_PHONE, "005550198", 10, &r), 0);
	assert_int_equal(r.total, 1);
	store_result_clear(&r);
	assert_int_equal(store_search_document(f->s, "XEA", "S222", 10, &r), 0);
	assert_string_equal(r.m[0].t.v[COL_GIVEN_NAMES], "John \"Jack\"");
	store_result_clear(&r);
	diag_clear(&d);

	/* An unknown column refuses the whole file: a typo must not drop data silently. */
	const char *bad = "surname,flght_number\nX,1\n";
	assert_int_equal(import_text(f->s, IMPORT_CSV, bad, strlen(bad), "b.csv", NOW, &st, &d, NULL,
				     NULL), PIUGW_EMALFORMED);
	assert_int_equal(st.stored, 0);
	assert_true(tu_diag_has(&d, "b.csv:1: unknown column 'flght_number' (did you mean "
				    "flight_number?)"));
	diag_clear(&d);
}

/* Headers as spreadsheet programs and people write them. */
static void
csv_headers(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	const char *bom = "\xEF\xBB\xBFsource,transferred_at,surname,carrier,flight_number,"
			  "flight_date\nAPI,2027-05-29,Bom,XD,9,2027-05-29\n";
	const char *doc = "surname,document_number\nX,1\n";
	const char *twice = "surname,surname,carrier\nX,Y,XD\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, bom, strlen(bom), "bom.csv", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.stored, 1);
	assert_int_equal(import_text(f->s, IMPORT_CSV, doc, strlen(doc), "d.csv", NOW, &st, &d, NULL,
				     NULL), PIUGW_EMALFORMED);
	assert_true(tu_diag_has(&d, "d.csv:1: unknown column 'document_number' (did you mean "
				    "doc_number?)"));
	assert_int_equal(import_text(f->s, IMPORT_CSV, twice, strlen(twice), "t.csv", NOW, &st, &d,
				     NULL, NULL), PIUGW_EMALFORMED);
	assert_true(tu_diag_has(&d, "t.csv:1: column 'surname' is named twice (columns 1 and 2)"));
	diag_clear(&d);
}

/* Bytes that are not text: the row or message goes, with the reason, in every format. */
static void
bad_bytes_are_rejected(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	static const char csv[] = "source,transferred_at,surname,carrier,flight_number,flight_date\n"
				  "API,2027-05-29,BAD\xff\xfe,XD,9,2027-05-29\n"
				  "API,2027-05-29,MUEL\0LER,XD,9,2027-05-29\n"
				  "API,2027-05-29,GOOD,XD,9,2027-05-29\n";
	static const char jl[] = "{\"source\":\"API\",\"surname\":\"A\\u0000B\",\"carrier\":\"XD\","
				 "\"flight_number\":\"9\",\"flight_date\":\"2027-05-29\"}\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, sizeof(csv) - 1, "b.csv", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.rejected, 2);
	assert_true(tu_diag_has(&d, "b.csv:2: row rejected: field 'surname' is not UTF-8"));
	assert_true(tu_diag_has(&d, "b.csv:3: row rejected: a field holds a NUL byte"));
	assert_int_equal(import_text(f->s, IMPORT_JSONL, jl, sizeof(jl) - 1, "b.jsonl", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.rejected, 1);
	/* PAXLST: a NUL inside a name. */
	char *path = tu_path(PIUGW_FIXTURES_DIR "/paxlst", "basic.edi");
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read(path, 1 << 20, 0, &buf, &len, NULL), 0);
	char *at = memmem(buf, len, "MUELLER", 7);
	assert_non_null(at);
	at[4] = '\0';
	assert_int_equal(import_text(f->s, IMPORT_PAXLST, (char *)buf, len, "n.edi", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_true(st.messages_rejected >= 1);
	assert_true(tu_diag_has(&d, "segment holds a NUL byte"));
	at[4] = '\xff';
	assert_int_equal(import_text(f->s, IMPORT_PAXLST, (char *)buf, len, "u.edi", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_true(tu_diag_has(&d, "segment is not UTF-8"));
	fileio_free(buf, len, 0);
	free(path);
	diag_clear(&d);
}

static void
jsonl_rows(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	const char *jl =
		"{\"source\":\"API\",\"surname\":\"Иванов\",\"given_names\":\"Сергей\","
		"\"date_of_birth\":\"1970-07-07\",\"doc_number\":\"R1\",\"doc_issuer\":\"XRA\","
		"\"carrier\":\"XR\",\"flight_number\":\"1\",\"flight_date\":\"2027-05-01\",\"bags\":2}\n"
		"not json\n"
		"[1,2]\n"
		"{\"source\":\"API\",\"surnme\":\"X\"}\n"
		"{\"source\":\"API\",\"surname\":\"X\",\"surname\":\"Y\"}\n"
		"{\"source\":\"API\",\"surname\":{\"a\":1}}\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_JSONL, jl, strlen(jl), "t.jsonl", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.rejected, 5);
	assert_true(tu_diag_has(&d, "t.jsonl:2: row rejected: not a JSON object"));
	assert_true(tu_diag_has(&d, "t.jsonl:3: row rejected: not a JSON object"));
	assert_true(tu_diag_has(&d, "t.jsonl:4: row rejected: unknown field 'surnme'"));
	assert_true(tu_diag_has(&d, "t.jsonl:5: row rejected: not a JSON object (duplicate"));
	assert_true(tu_diag_has(&d, "t.jsonl:6: row rejected: field 'surname' must be a string"));
	assert_int_equal(count_doc(f, "XRA", "R1"), 1);
	diag_clear(&d);
	assert_int_equal(import_format_by_name("paxlst"), IMPORT_PAXLST);
	assert_int_equal(import_format_by_name("xml"), -1);
}

/* The same records again are replaced, never added: by record_id, else by the natural key. */
static void
imports_are_idempotent(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	uint64_t n0, n1;
	const char *csv =
		"record_id,source,transferred_at,surname,given_names,date_of_birth,doc_number,"
		"doc_issuer,carrier,flight_number,flight_date,dep_airport\n"
		",API,2027-05-29,Lefevre,Francois,1977-03-03,F111,XDA,XD,9,2027-05-29,XAA\n"
		",API,2027-05-29,Lefevre,Francois,1977-03-03,F111,XDA,XD,9,2027-05-29,XBB\n"
		",API,2027-05-29,Smith,John,1980-01-01,,,XE,10,2027-05-29,XAA\n"
		"R-1,PNR,2027-05-29,Roe,Richard,1970-05-06,,,XE,10,2027-05-29,XAA\n"
		"R-2,PNR,2027-05-29,Roe,Richard,1970-05-06,,,XE,10,2027-05-29,XAA\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, strlen(csv), "a.csv", NOW, &st, &d, NULL,
				     NULL), 0);
	assert_int_equal(st.stored, 5); /* two legs, a name without a document, two record ids */
	assert_int_equal(st.replaced, 0);
	assert_int_equal(store_count(f->s, &n0), 0);
	assert_int_equal(n0, 5);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, strlen(csv), "a.csv", NOW, &st, &d, NULL,
				     NULL), 0);
	assert_int_equal(st.stored, 5);
	assert_int_equal(st.replaced, 5);
	assert_int_equal(store_count(f->s, &n1), 0);
	assert_int_equal(n1, n0);
	assert_int_equal(count_doc(f, "XDA", "F111"), 2);
	/* The same passenger written otherwise (case, spacing) is the same record. */
	const char *again = "source,transferred_at,surname,given_names,date_of_birth,doc_number,"
			    "doc_issuer,carrier,flight_number,flight_date,dep_airport\n"
			    "API,2027-05-30,LEFEVRE,FRANCOIS,1977-03-03,f 111,xda,xd,9,2027-05-29,xaa\n";
	assert_int_equal(import_text(f->s, IMPORT_CSV, again, strlen(again), "b.csv", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(store_count(f->s, &n1), 0);
	assert_int_equal(n1, n0);
	/* PAXLST twice: each passenger once per leg. */
	struct import_stats p1 = run_fixture(f, "basic.edi", &d);
	assert_int_equal(store_count(f->s, &n0), 0);
	struct import_stats p2 = run_fixture(f, "basic.edi", &d);
	assert_int_equal(store_count(f->s, &n1), 0);
	assert_int_equal(n1, n0);
	assert_int_equal(p2.replaced, p1.stored);
	diag_clear(&d);
}

/* A transfer time to come would escape masking and retention: refused, row and reason. */
static void
future_transfer_is_refused(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	const char *csv = "source,transferred_at,surname,carrier,flight_number,flight_date\n"
			  "API,2099-01-01,Future,XD,9,2027-05-29\n"
			  "API,2027-06-01T00:04:00Z,Skewed,XD,9,2027-05-29\n"
			  "API,2027-05-29,Past,XD,9,2027-05-29\n";

	diag_init(&d);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, strlen(csv), "f.csv", NOW, &st, &d, NULL,
				     NULL), 0);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.stored, 2); /* four minutes ahead: a sender's clock, taken */
	assert_true(tu_diag_has(&d, "f.csv:2: row rejected: transferred_at is in the future"));
	diag_clear(&d);
	/* PAXLST: the interchange's date (UNB 2027-05-30) ahead of this clock. */
	char *path = tu_path(PIUGW_FIXTURES_DIR "/paxlst", "basic.edi");
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read(path, 1 << 20, 0, &buf, &len, NULL), 0);
	assert_int_equal(import_text(f->s, IMPORT_PAXLST, (char *)buf, len, "basic.edi",
				     NOW - 5LL * 86400000, &st, &d, NULL, NULL), 0);
	assert_int_equal(st.stored, 0);
	assert_true(st.messages_rejected > 0);
	assert_true(tu_diag_has(&d, "(UNB) are in the future"));
	fileio_free(buf, len, 0);
	free(path);
	diag_clear(&d);
}

/* The details of PAXLST as carriers get them wrong. */
static void
paxlst_details(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	char *path = tu_path(PIUGW_FIXTURES_DIR "/paxlst", "basic.edi");
	uint8_t *buf = NULL;
	size_t len = 0;

	diag_init(&d);
	assert_int_equal(fileio_read(path, 1 << 20, 0, &buf, &len, NULL), 0);
	/* A segment over the limit in the first message: that message goes, named; the next stays. */
	{
		const char *at = memmem(buf, len, "BGM+745'", 8);
		size_t pre = (size_t)(at - (const char *)buf) + 8, big = 5000;
		char *t = malloc(len + big + 16);
		memcpy(t, buf, pre);
		memcpy(t + pre, "FTX+AAI+++", 10);
		memset(t + pre + 10, 'X', big);
		memcpy(t + pre + 10 + big, "'", 1);
		memcpy(t + pre + 11 + big, buf + pre, len - pre);
		assert_int_equal(import_text(f->s, IMPORT_PAXLST, t, len + big + 11, "big.edi", NOW,
					     &st, &d, NULL, NULL), 0);
		assert_int_equal(st.messages, 2);
		assert_int_equal(st.messages_rejected, 1);
		assert_true(st.stored > 0);
		assert_true(tu_diag_has(&d, "is longer than 4094 bytes"));
		assert_false(tu_diag_has(&d, "truncated interchange"));
		free(t);
	}
	diag_clear(&d);
	/* A UNA whose terminator is the element separator: refused, not "0 messages". */
	{
		char *t = malloc(len);
		memcpy(t, buf, len);
		t[8] = '+';
		assert_int_equal(import_text(f->s, IMPORT_PAXLST, t, len, "una.edi", NOW, &st, &d,
					     NULL, NULL), PIUGW_EMALFORMED);
		assert_true(tu_diag_has(&d, "the UNA declares the same character for two of the "
					    "separators"));
		free(t);
	}
	diag_clear(&d);
	/* In functional groups (UNG..UNE), UNZ counts the groups: no false warning. */
	{
		const char *unh = memmem(buf, len, "UNH+", 4), *unz = memmem(buf, len, "UNZ+2+", 6);
		size_t a = (size_t)(unh - (const char *)buf), z = (size_t)(unz - (const char *)buf);
		char *t = malloc(len + 200);
		size_t o = 0;
		memcpy(t, buf, a);
		o = a;
		o += (size_t)sprintf(t + o, "UNG+PAXLST+XB:ZZ+XA:ZZ+270530:1200+1+UN+D:05B'");
		memcpy(t + o, unh, z - a);
		o += z - a;
		o += (size_t)sprintf(t + o, "UNE+2+1'UNZ+1+000001'");
		assert_int_equal(import_text(f->s, IMPORT_PAXLST, t, o, "ung.edi", NOW, &st, &d, NULL,
					     NULL), 0);
		assert_int_equal(st.messages, 2);
		assert_false(tu_diag_has(&d, "UNZ counts"));
		free(t);
	}
	fileio_free(buf, len, 0);
	free(path);
	diag_clear(&d);
}

/* A two-digit year of birth is never read as a date to come. */
static void
paxlst_birth_century(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	struct store_result r;
	char *path = tu_path(PIUGW_FIXTURES_DIR "/paxlst", "basic.edi");
	uint8_t *buf = NULL;
	size_t len = 0;

	diag_init(&d);
	assert_int_equal(fileio_read(path, 1 << 20, 0, &buf, &len, NULL), 0);
	char *at = memmem(buf, len, "DTM+329:850412", 14);
	assert_non_null(at);
	memcpy(at + 8, "270901", 6); /* NOW is 2027-06-01: 2027-09-01 is to come */
	assert_int_equal(import_text(f->s, IMPORT_PAXLST, (char *)buf, len, "c.edi", NOW, &st, &d,
				     NULL, NULL), 0);
	assert_int_equal(store_search_document(f->s, "XBA", "P1234567", 10, &r), 0);
	assert_true(r.n >= 1);
	assert_string_equal(r.m[0].t.v[COL_DATE_OF_BIRTH], "1927-09-01");
	store_result_clear(&r);
	fileio_free(buf, len, 0);
	free(path);
	diag_clear(&d);
}

/* A file is stored whole or not at all: a store that fails midway keeps nothing of it. */
static void
a_failed_file_stores_nothing(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct import_stats st;
	uint64_t n0, n1;
	const char *csv = "source,transferred_at,surname,carrier,flight_number,flight_date\n"
			  "API,2027-05-29,First,XD,9,2027-05-29\n"
			  "API,2027-05-29,Second,XD,9,2027-05-29\n";

	diag_init(&d);
	assert_int_equal(store_count(f->s, &n0), 0);
	/* A trigger that fails the second row stands in for a disk that fills up. */
	store_close(&f->s);
	char *p;
	if (tu_store_pg() != NULL) {
		PGconn *c = PQconnectdb(tu_store_pg());
		PGresult *res = PQexec(c, "CREATE OR REPLACE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN "
					  "IF NEW.surname = 'Second' THEN RAISE EXCEPTION "
					  "'could not extend file: No space left on device'; END IF; "
					  "RETURN NEW; END $$ LANGUAGE plpgsql;"
					  "CREATE TRIGGER disk_full BEFORE INSERT ON traveller FOR EACH ROW "
					  "EXECUTE FUNCTION full_disk();");
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
		PQfinish(c);
		assert_true(asprintf(&p, "postgresql:%s", tu_store_pg()) > 0);
	} else {
		sqlite3 *db;
		p = tu_path(f->dir, "store.db");
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER full BEFORE INSERT ON traveller "
						  "WHEN NEW.surname = 'Second' BEGIN SELECT RAISE(ABORT, "
						  "'database or disk is full'); END;", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_open(p, &f->s, &d), 0);
	free(p);
	assert_int_equal(import_text(f->s, IMPORT_CSV, csv, strlen(csv), "x.csv", NOW, &st, &d, NULL,
				     NULL), PIUGW_ESYSTEM);
	assert_int_equal(st.stored, 0);
	assert_int_equal(store_count(f->s, &n1), 0);
	assert_int_equal(n1, n0); /* "First" went with the file */
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(paxlst_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(paxlst_multileg_and_separators, setup, teardown),
		cmocka_unit_test_setup_teardown(paxlst_bad_messages_rejected_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(csv_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(jsonl_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(imports_are_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(csv_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(paxlst_birth_century, setup, teardown),
		cmocka_unit_test_setup_teardown(paxlst_details, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_bytes_are_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(future_transfer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_file_stores_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
