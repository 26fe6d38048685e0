/*
 * test_webreq.c: piugw-web's JSON bodies into local API requests: what
 * each route accepts, built as the CLI builds it, and the precise refusal
 * of each mistake a national system's programmer can make.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "testutil.h"
#include "webreq.h"

static const int64_t now = 1795564800000; /* 2026-11-28 */

static json_t *
js(const char *text)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	return j;
}

static void
queries(void **state)
{
	(void)state;
	struct webreq_query q;
	struct webreq_err e = {0};
	json_t *b;

	b = js("{\"to\":\"XB-PIU\",\"purpose\":\"terrorism\",\"case_reference\":\"C-1\","
	       "\"justification\":\"j\",\"document\":{\"number\":\"P1\",\"issuing_state\":\"XAA\"},"
	       "\"categories\":[\"api.identity\"],\"max_results\":3,\"deadline_seconds\":9}");
	assert_true(webreq_query(b, now, &q, &e));
	assert_string_equal(q.lq.to, "XB-PIU");
	assert_int_equal(q.lq.deadline_ms, 9000);
	assert_int_equal(q.q.purpose, PIUGW__PURPOSE__PURPOSE_TERRORISM);
	assert_int_equal(q.q.criteria_case, PIUGW__QUERY__CRITERIA_DOCUMENT);
	assert_string_equal(q.q.document->number, "P1");
	assert_int_equal(q.q.n_categories, 1);
	assert_int_equal(q.q.categories[0], PIUGW__CATEGORY__CATEGORY_API_IDENTITY);
	assert_int_equal(q.q.max_results, 3);
	json_decref(b);

	b = js("{\"to\":\"all\",\"purpose\":\"serious_crime\",\"offence\":\"SC05\","
	       "\"name\":{\"surname\":\"X\",\"date_of_birth\":\"1985-03-04\",\"fuzzy\":true}}");
	assert_true(webreq_query(b, now, &q, &e));
	assert_int_equal(q.q.criteria_case, PIUGW__QUERY__CRITERIA_NAME_FUZZY);
	assert_string_equal(q.q.offence, "SC05");
	json_decref(b);
}

static void
mistakes(void **state)
{
	(void)state;
	static const struct {
		const char *body, *expect;
	} cases[] = {
		{"[]", "a query is a JSON object"},
		{"{\"to\":\"XB-PIU\",\"purpose\":\"terrorism\",\"documnet\":{}}",
		 "unknown key 'documnet' in a query (known: to, purpose"},
		{"{\"purpose\":\"terrorism\",\"document\":{\"number\":\"1\",\"issuing_state\":\"X\"}}",
		 "name the partner in 'to'"},
		{"{\"to\":\"X\",\"purpose\":\"curiosity\"}", "purpose is one of terrorism"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\"}", "give exactly one of document, name"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"document\":{\"number\":\"1\",\"issuing_state\":"
		 "\"X\"},\"name\":{}}",
		 "give exactly one of"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"document\":\"P1\"}", "document is an object"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"document\":{\"number\":\"P1\"}}",
		 "document needs its number and issuing_state"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"document\":{\"number\":\"P1\",\"issuing_state\":"
		 "\"XAAA\"}}",
		 "document.issuing_state is a string of at most 3 characters"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"name\":{\"surname\":\"A\",\"date_of_birth\":"
		 "\"1985-02-30\"}}",
		 "a real date_of_birth"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"name\":{\"surname\":\"A\",\"date_of_birth\":"
		 "\"2030-01-01\"}}",
		 "name.date_of_birth is in the future"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"name\":{\"surname\":\"A\",\"date_of_birth\":"
		 "\"1985-01-01\",\"fuzzy\":\"yes\"}}",
		 "name.fuzzy is true or false"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"flight\":{\"carrier\":\"XB\",\"flight_number\":"
		 "\"1\"}}",
		 "flight needs carrier, flight_number and a real departure_date"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"locator\":{\"record_locator\":\"AB\"},"
		 "\"categories\":[\"api.everything\"]}",
		 "categories: each is one of"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"locator\":{\"record_locator\":\"AB\"},"
		 "\"max_results\":0}",
		 "max_results is a whole number from 1 to 10000"},
		{"{\"to\":\"X\",\"purpose\":\"terrorism\",\"locator\":{\"record_locator\":\"AB\"},"
		 "\"case_reference\":7}",
		 "case_reference is a string of at most 64 characters"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct webreq_query q;
		struct webreq_err e = {0};
		json_t *b = js(cases[i].body);

		assert_false(webreq_query(b, now, &q, &e));
		assert_int_equal(e.status, 400);
		assert_string_equal(e.code, "MALFORMED");
		if (strstr(e.detail, cases[i].expect) == NULL)
			fail_msg("case %zu: \"%s\", not \"%s\"", i, e.detail, cases[i].expect);
		json_decref(b);
	}
}

static void
other_routes(void **state)
{
	(void)state;
	struct webreq_lookout l;
	Piugw__LocalDecision d;
	Piugw__LocalAuditSubject s;
	struct webreq_err e = {0};
	const char *user, *pw;
	json_t *b;

	b = js("{\"to\":\"XB-PIU\",\"purpose\":\"terrorism\",\"name\":{\"surname\":\"A\","
	       "\"date_of_birth\":\"1985-01-01\"},\"expires_days\":30}");
	assert_true(webreq_lookout(b, now, &l, &e));
	assert_int_equal(l.p.criteria_case, PIUGW__LOOKOUT_PLACE__CRITERIA_NAME);
	assert_true(l.p.expires_at_ms == now + 30 * 86400000LL);
	json_decref(b);
	b = js("{\"to\":\"XB-PIU\",\"purpose\":\"terrorism\",\"locator\":{\"record_locator\":\"A\"}}");
	assert_false(webreq_lookout(b, now, &l, &e));
	assert_non_null(strstr(e.detail, "unknown key 'locator' in a lookout"));
	json_decref(b);

	assert_true(webreq_decision(NULL, true, "AP-1", &d, &e));
	assert_string_equal(d.approval_ref, "AP-1");
	assert_false(webreq_decision(NULL, false, "AP-1", &d, &e));
	assert_string_equal(e.code, "JUSTIFICATION_REQUIRED");
	b = js("{\"reason\":\"no\"}");
	assert_true(webreq_decision(b, false, "AP-1", &d, &e));
	assert_string_equal(d.reason, "no");
	json_decref(b);

	b = js("{\"document\":\"P1\",\"issuer\":\"XAA\",\"limit\":7}");
	assert_true(webreq_subject(b, &s, &e));
	assert_int_equal(s.limit, 7);
	json_decref(b);

	b = js("{\"user\":\"ana\",\"password\":\"pw\"}");
	assert_true(webreq_signin(b, &user, &pw, &e));
	assert_string_equal(user, "ana");
	json_decref(b);
	/* A name that cannot be a user's fails as a wrong password would: nothing told. */
	b = js("{\"user\":\"../etc\",\"password\":\"pw\"}");
	assert_false(webreq_signin(b, &user, &pw, &e));
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "SIGN_IN_FAILED");
	json_decref(b);
	b = js("{\"user\":\"ana\"}");
	assert_false(webreq_signin(b, &user, &pw, &e));
	assert_int_equal(e.status, 400);
	json_decref(b);
}

static void
routes(void **state)
{
	(void)state;
	char arg[96];

	assert_true(webreq_route_match("/v1/session", "/v1/session", arg, sizeof(arg)));
	assert_false(webreq_route_match("/v1/session", "/v1/session/", arg, sizeof(arg)));
	assert_true(webreq_route_match("/v1/pending/{r}/approve", "/v1/pending/AP-1A/approve", arg,
				       sizeof(arg)));
	assert_string_equal(arg, "AP-1A");
	assert_false(webreq_route_match("/v1/pending/{r}/approve", "/v1/pending//approve", arg,
					sizeof(arg)));
	assert_false(webreq_route_match("/v1/pending/{r}/approve", "/v1/pending/../approve", arg,
					sizeof(arg)));
	assert_false(webreq_route_match("/v1/pending/{r}/approve", "/v1/pending/a%2Fb/approve", arg,
					sizeof(arg)));
	assert_false(webreq_route_match("/v1/queries/{id}", "/v1/queries/a/b", arg, sizeof(arg)));
	assert_false(webreq_route_match("/v1/queries/{id}", "/v1/queries/", arg, sizeof(arg)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queries),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(other_routes),
		cmocka_unit_test(routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
