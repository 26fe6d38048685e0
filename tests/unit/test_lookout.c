/*
 * test_lookout.c: the index of lookouts in force against the rows a real
 * store gained (store_keys_since): exact documents and names however they
 * were typed, fuzzy names blocked by date of birth and held to the score,
 * rows without a key, several lookouts on one key, the fire key that makes a
 * lookout fire once per person and flight.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "lookout.h"
#include "piugw/error.h"
#include "store.h"
#include "testutil.h"

#define NOW 1811851200000LL /* 2027-06-01 */

struct hits {
	char refs[16][LOOKOUT_REF_MAX + 1];
	double score[16];
	size_t n;
};

static void
hit(void *arg, const struct lookout_entry *e, double score)
{
	struct hits *h = arg;

	if (h->n < 16) {
		strcpy(h->refs[h->n], e->ref);
		h->score[h->n++] = score;
	}
}

static bool
has(const struct hits *h, const char *ref)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->refs[i], ref) == 0)
			return true;
	return false;
}

static void
put(struct store *s, const char *surname, const char *given, const char *dob, const char *doc,
    const char *issuer, const char *flight, const char *date)
{
	struct traveller t;
	struct diag d;

	memset(&t, 0, sizeof(t));
	t.source = STORE_SOURCE_API;
	t.transferred_at_ms = NOW;
	t.v[COL_SURNAME] = strdup(surname);
	t.v[COL_GIVEN_NAMES] = strdup(given);
	t.v[COL_DATE_OF_BIRTH] = strdup(dob);
	if (doc != NULL) {
		t.v[COL_DOC_NUMBER] = strdup(doc);
		t.v[COL_DOC_ISSUER] = strdup(issuer);
		t.v[COL_DOC_TYPE] = strdup("P");
	}
	t.v[COL_CARRIER] = strdup("XB");
	t.v[COL_FLIGHT_NUMBER] = strdup(flight);
	t.v[COL_FLIGHT_DATE] = strdup(date);
	diag_init(&d);
	if (store_insert(s, &t, NULL, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("insert refused");
	}
	diag_clear(&d);
	traveller_clear(&t);
}

static void
add_doc(struct lookout_index *ix, const char *ref, const char *number, const char *issuer)
{
	Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;

	dc.number = (char *)number;
	dc.issuing_state = (char *)issuer;
	lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
	lp.document = &dc;
	assert_int_equal(lookout_index_add(ix, ref, &lp, 0.9, 0), 0);
}

static void
add_name(struct lookout_index *ix, const char *ref, bool fuzzy, const char *surname,
	 const char *given, const char *dob, double min_score)
{
	Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
	Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;

	nc.surname = (char *)surname;
	nc.given_names = (char *)given;
	nc.date_of_birth = (char *)dob;
	lp.criteria_case = fuzzy ? PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY
				 : PIUGW__LOOKOUT_PLACE__CRITERIA_NAME;
	if (fuzzy)
		lp.name_fuzzy = &nc;
	else
		lp.name = &nc;
	assert_int_equal(lookout_index_add(ix, ref, &lp, min_score, 0), 0);
}

/* The rows after mark, each matched: the hits of row i in h[i]. */
static size_t
match_since(struct store *s, int64_t mark, const struct lookout_index *ix, struct hits *h,
	    size_t max, struct store_keys *k)
{
	size_t n = 0;

	assert_int_equal(store_keys_since(s, mark, k, max, &n), 0);
	for (size_t i = 0; i < n; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		lookout_index_match(ix, &k[i], hit, &h[i]);
	}
	return n;
}

static void
matches_new_rows_as_the_searches_do(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_store(dir);
	struct store *s = NULL;
	struct lookout_index *ix = NULL;
	struct diag d;
	struct hits h[8];
	struct store_keys *k = calloc(8, sizeof(*k));
	int64_t mark = 0;
	size_t n;

	diag_init(&d);
	assert_int_equal(store_open(path, &s, &d), 0);
	put(s, "OLD", "ROW", "1970-01-01", "P0000001", "XBA", "101", "2027-05-30");
	assert_int_equal(store_max_id(s, &mark), 0);
	assert_true(mark > 0);

	assert_int_equal(lookout_index_new(&ix), 0);
	add_doc(ix, "LO-DOC", "p 123 4567", "xba");      /* typed otherwise: same key */
	add_doc(ix, "LO-DOC2", "P1234567", "XBA");        /* two lookouts on one key */
	add_doc(ix, "LO-OTHERSTATE", "P1234567", "XCA");  /* another issuer: another document */
	add_name(ix, "LO-NAME", false, "Müller", "Jonas", "2015-01-01", 0);
	add_name(ix, "LO-FUZZY", true, "Petrowa", "Olga", "1979-03-03", 0.85);
	add_name(ix, "LO-STRICT", true, "Petrowa", "Olga", "1979-03-03", 0.999);
	lookout_index_ready(ix);
	assert_int_equal(lookout_index_count(ix), 6);

	put(s, "MUELLER", "ANNA", "1985-04-12", "P1234567", "XBA", "101", "2027-05-30");
	put(s, "MUELLER", "JONAS", "2015-01-01", NULL, NULL, "101", "2027-05-30");
	put(s, "PETROVA", "OLGA", "1979-03-03", NULL, NULL, "101", "2027-05-30");
	put(s, "PETROVA", "OLGA", "1980-03-03", NULL, NULL, "101", "2027-05-30"); /* other date */
	put(s, "SOMEONE", "ELSE", "1990-01-01", NULL, NULL, "101", "2027-05-30");

	n = match_since(s, mark, ix, h, 8, k);
	assert_int_equal(n, 5); /* the row before the mark is not among them */
	assert_int_equal(h[0].n, 2);
	assert_true(has(&h[0], "LO-DOC") && has(&h[0], "LO-DOC2"));
	assert_false(has(&h[0], "LO-OTHERSTATE"));
	assert_int_equal(h[1].n, 1);
	assert_true(has(&h[1], "LO-NAME")); /* Müller = MUELLER (ICAO 9303) */
	assert_int_equal(h[2].n, 1);
	assert_true(has(&h[2], "LO-FUZZY"));
	assert_true(h[2].score[0] >= 0.85 && h[2].score[0] < 1.0);
	assert_int_equal(h[3].n, 0); /* blocked by date of birth */
	assert_int_equal(h[4].n, 0);

	/* Once per person and flight: the same key for the same, another for another flight. */
	{
		uint8_t a[32], b[32], c[32];
		struct store_keys other = k[0];
		lookout_fire_key("LO-DOC", &k[0], PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT, a);
		lookout_fire_key("LO-DOC", &k[0], PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT, b);
		assert_memory_equal(a, b, 32);
		snprintf(other.flight, sizeof(other.flight), "XB102|20270605");
		lookout_fire_key("LO-DOC", &other, PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT, c);
		assert_memory_not_equal(a, c, 32);
		lookout_fire_key("LO-DOC2", &k[0], PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT, c);
		assert_memory_not_equal(a, c, 32);
	}
	lookout_index_free(&ix);
	store_close(&s);
	free(k);
	diag_clear(&d);
	free(path);
	tu_rmtree(dir);
}

static void
refuses_a_lookout_without_criteria(void **state)
{
	(void)state;
	struct lookout_index *ix = NULL;
	Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
	Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;
	Piugw__Query q;

	assert_int_equal(lookout_index_new(&ix), 0);
	assert_int_equal(lookout_index_add(ix, "LO-X", &lp, 0.9, 0), PIUGW_EMALFORMED);
	/* A fuzzy name without a date of birth blocks nothing: refused, never "matches all". */
	nc.surname = (char *)"PETROVA";
	lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY;
	lp.name_fuzzy = &nc;
	assert_int_equal(lookout_index_add(ix, "LO-X", &lp, 0.9, 0), PIUGW_EMALFORMED);
	assert_int_equal(lookout_index_count(ix), 0);
	/* The Query it stands for carries the same criteria. */
	lp.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	lp.case_reference = (char *)"C-1";
	lookout_as_query(&lp, &q);
	assert_int_equal(q.criteria_case, PIUGW__QUERY__CRITERIA_NAME_FUZZY);
	assert_ptr_equal(q.name_fuzzy, &nc);
	assert_int_equal(q.purpose, PIUGW__PURPOSE__PURPOSE_TERRORISM);
	assert_string_equal(q.case_reference, "C-1");
	lookout_index_free(&ix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_new_rows_as_the_searches_do),
		cmocka_unit_test(refuses_a_lookout_without_criteria),
	};

	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
