/*
 * test_report.c: the oversight report from records as the daemon writes
 * them: each query counted once with its final outcome (a pending answer
 * and a poll's, an approval), refusals by side and code, answer and
 * approval times, disclosures by category, the period's bounds; nothing of
 * a record's case, operator or digests in any of the three renderings; a
 * partner's text escaped in the HTML.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "testutil.h"

#define DAY 86400000LL
#define T0 1795737600000LL /* 2026-11-28 00:00 UTC */

static uint64_t seq;

static void
rec(struct report *r, int64_t t, int event, const char *peer, int mid, bool outbound,
    uint32_t refusal, const char *detail, uint32_t records)
{
	Piugw__AuditRecord a = PIUGW__AUDIT_RECORD__INIT;
	uint8_t m[16] = {0};
	uint32_t cats[] = {PIUGW__CATEGORY__CATEGORY_API_IDENTITY,
			   PIUGW__CATEGORY__CATEGORY_API_DOCUMENT};
	uint8_t dg[32] = {0xAB};
	ProtobufCBinaryData dv = {32, dg};

	m[0] = (uint8_t)mid;
	a.seq = ++seq;
	a.time_ms = t;
	a.event = (Piugw__AuditEvent)event;
	a.peer = (char *)peer;
	a.agreement_id = (char *)"XA-XB-1";
	a.message_id.data = m;
	a.message_id.len = mid ? 16 : 0;
	a.outbound = outbound;
	a.refusal = refusal;
	a.detail = (char *)(detail != NULL ? detail : "");
	a.record_count = records;
	a.categories = cats;
	a.n_categories = records > 0 ? 2 : 0;
	a.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	a.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT;
	a.case_reference = (char *)"SMITH-JOHN-CASE";
	a.operator_ = (char *)"alice";
	a.subject_digests = &dv;
	a.n_subject_digests = 1;
	report_add(r, &a);
}

static char *
render(const json_t *j, int which)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (which == 0)
		assert_int_equal(json_dumpf(j, f, JSON_INDENT(1)), 0);
	else if (which == 1)
		assert_int_equal(report_write_csv(j, f), 0);
	else
		assert_int_equal(report_write_html(j, f), 0);
	fclose(f);
	return buf;
}

static void
counts_each_exchange_once(void **state)
{
	(void)state;
	struct report *r = NULL;
	struct audit_verify_report vr;
	uint8_t head[32];
	uint64_t first, last;
	json_t *j, *xb, *sent, *recv;

	memset(&vr, 0, sizeof(vr));
	memset(head, 0x11, sizeof(head));
	vr.verdict = AUDIT_COMPLETE;
	seq = 0;
	assert_int_equal(report_new(T0, T0 + DAY, &r), 0);
	/* Before the period: a query sent, answered in it (its time counts). */
	rec(r, T0 - 1000, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT, "XB-PIU", 1, true, 0, NULL, 0);
	rec(r, T0 + 1000, PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED, "XB-PIU", 1, true, 0, "hit", 2);
	/* Pending at the partner, polled twice, then denied. */
	rec(r, T0 + 2000, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT, "XB-PIU", 2, true, 0, NULL, 0);
	rec(r, T0 + 2010, PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED, "XB-PIU", 2, true, 0,
	    "pending at the partner", 0);
	rec(r, T0 + 3000, PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED, "XB-PIU", 2, true, 0,
	    "pending at the partner", 0);
	rec(r, T0 + 9000, PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED, "XB-PIU", 2, true, 0,
	    "denied", 0);
	/* Refused by the partner, and one stopped here. */
	rec(r, T0 + 10000, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT, "XB-PIU", 3, true, 0, NULL, 0);
	rec(r, T0 + 10050, PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED, "XB-PIU", 3, true,
	    PIUGW__ERROR_CODE__ERROR_RATE_LIMITED, NULL, 0);
	rec(r, T0 + 11000, PIUGW__AUDIT_EVENT__AUDIT_REFUSED, "XB-PIU", 4, true,
	    PIUGW__ERROR_CODE__ERROR_PURPOSE_NOT_ALLOWED, "stopped locally", 0);
	/* Theirs: answered (a hit/no-hit hit), held then approved, refused here. */
	rec(r, T0 + 20000, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED, "XB-PIU", 5, false, 0,
	    "hit/no-hit answer: hit", 0);
	rec(r, T0 + 21000, PIUGW__AUDIT_EVENT__AUDIT_PENDING, "XB-PIU", 6, false, 0, "AP-1", 0);
	rec(r, T0 + 26000, PIUGW__AUDIT_EVENT__AUDIT_APPROVED, "", 6, false, 0, NULL, 1);
	rec(r, T0 + 27000, PIUGW__AUDIT_EVENT__AUDIT_REFUSED, "XB-PIU", 7, false,
	    PIUGW__ERROR_CODE__ERROR_JUSTIFICATION_REQUIRED, "JUSTIFICATION_REQUIRED", 0);
	/* A change, with text to escape; and a record after the period. */
	rec(r, T0 + 30000, PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED, "XB-PIU", 0, false, 0,
	    "agreement <b>suspended</b> here", 0);
	rec(r, T0 + DAY + 1, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT, "XB-PIU", 8, true, 0, NULL, 0);

	report_range(r, &first, &last);
	assert_int_equal(first, 2);
	assert_int_equal(last, 14);
	j = report_json(r, "XA-PIU", &vr, head, T0 + DAY);
	xb = json_array_get(json_object_get(j, "partners"), 0);
	assert_string_equal(json_string_value(json_object_get(xb, "partner")), "XB-PIU");
	sent = json_object_get(xb, "queries_sent");
	recv = json_object_get(xb, "queries_received");
	/* Three sent in the period and one stopped here; outcomes once each. */
	assert_int_equal(json_integer_value(json_object_get(sent, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "outcomes"), "hit")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "outcomes"), "pending")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "outcomes"), "denied")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "refused_by_partner"), "RATE_LIMITED")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "stopped_here"), "PURPOSE_NOT_ALLOWED")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sent, "records_by_category"), "api.identity")), 2);
	/* Answer times: 2000 (from before the period), 7000 (to the final answer), 50. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(xb, "answer_time_ms"), "count")), 3);
	assert_true(json_real_value(json_object_get(json_object_get(xb, "answer_time_ms"), "median")) == 2000.0);
	assert_int_equal(json_integer_value(json_object_get(recv, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(recv, "outcomes"), "hit")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(recv, "outcomes"), "pending")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(recv, "refused_here"), "JUSTIFICATION_REQUIRED")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(xb, "approvals"), "approved")), 1);
	assert_true(json_real_value(json_object_get(json_object_get(json_object_get(xb, "approvals"), "waiting_ms"), "median")) == 5000.0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "log"), "head_hash")),
			    "1111111111111111111111111111111111111111111111111111111111111111");

	/* No case, operator or digest in any rendering; partner text escaped in HTML. */
	for (int w = 0; w < 3; w++) {
		char *out = render(j, w);
		assert_null(strstr(out, "SMITH"));
		assert_null(strstr(out, "alice"));
		assert_null(strstr(out, "abab"));
		if (w == 2) {
			assert_null(strstr(out, "<b>suspended"));
			assert_non_null(strstr(out, "&lt;b&gt;suspended"));
			assert_null(strstr(out, "<script"));
			assert_null(strstr(out, "http"));
		}
		if (w == 1)
			assert_non_null(strstr(out, "partner,XB-PIU,queries_sent.outcomes.hit,1\n"));
		free(out);
	}
	json_decref(j);
	report_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_each_exchange_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
