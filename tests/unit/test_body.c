/*
 * test_body.c: decoding message bodies from peers.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "body.h"
#include "piugw/error.h"
#include "testutil.h"

static void
every_kind_round_trips(void **state)
{
	(void)state;
	Piugw__Hello hello = PIUGW__HELLO__INIT;
	Piugw__HelloReply hr = PIUGW__HELLO_REPLY__INIT;
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__NameCriteria name = PIUGW__NAME_CRITERIA__INIT;
	Piugw__QueryResult qr = PIUGW__QUERY_RESULT__INIT;
	Piugw__Poll poll = PIUGW__POLL__INIT;
	Piugw__Error err = PIUGW__ERROR__INIT;
	Piugw__Body b = PIUGW__BODY__INIT, *back = NULL;
	uint8_t *buf;
	size_t len;

	hello.software = "piugw test";
	hr.received_at_ms = 42;
	name.surname = "MUELLER";
	name.date_of_birth = "1980-02-29";
	q.criteria_case = PIUGW__QUERY__CRITERIA_NAME_FUZZY;
	q.name_fuzzy = &name;
	qr.status = PIUGW__RESULT_STATUS__RESULT_PENDING;
	qr.approval_ref = "A-1";
	poll.approval_ref = "A-1";
	err.code = PIUGW__ERROR_CODE__ERROR_STALE;
	err.detail = "clock";

	for (int kind = 1; kind <= 6; kind++) {
		b = (Piugw__Body)PIUGW__BODY__INIT;
		b.kind_case = (Piugw__Body__KindCase)kind;
		switch (kind) {
		case PIUGW__BODY__KIND_HELLO: b.hello = &hello; break;
		case PIUGW__BODY__KIND_HELLO_REPLY: b.hello_reply = &hr; break;
		case PIUGW__BODY__KIND_QUERY: b.query = &q; break;
		case PIUGW__BODY__KIND_QUERY_RESULT: b.query_result = &qr; break;
		case PIUGW__BODY__KIND_POLL: b.poll = &poll; break;
		case PIUGW__BODY__KIND_ERROR: b.error = &err; break;
		default: break;
		}
		assert_int_equal(body_pack(&b, &buf, &len), 0);
		assert_int_equal(body_unpack(buf, len, &back), 0);
		assert_int_equal(back->kind_case, kind);
		if (kind == PIUGW__BODY__KIND_QUERY) {
			assert_int_equal(back->query->criteria_case, PIUGW__QUERY__CRITERIA_NAME_FUZZY);
			assert_string_equal(back->query->name_fuzzy->surname, "MUELLER");
		}
		body_free(&back);
		assert_null(back);
		free(buf);
	}
}

static void
refuses_bodies_that_do_not_parse_or_carry_no_kind(void **state)
{
	(void)state;
	Piugw__Body *b = (Piugw__Body *)1;
	/* Truncated length-delimited field; a tag with wire type 7; a kind from the future. */
	const uint8_t truncated[] = {0x1a, 0x10, 0x08};
	const uint8_t bad_wire[] = {0x0f, 0x00};
	const uint8_t future_kind[] = {0xfa, 0x01, 0x00}; /* field 31, empty */
	static uint8_t big[BODY_MAX_SIZE + 1];

	assert_int_equal(body_unpack(truncated, sizeof(truncated), &b), PIUGW_EMALFORMED);
	assert_null(b);
	assert_int_equal(body_unpack(bad_wire, sizeof(bad_wire), &b), PIUGW_EMALFORMED);
	assert_int_equal(body_unpack(future_kind, sizeof(future_kind), &b), PIUGW_EMALFORMED);
	assert_int_equal(body_unpack((const uint8_t *)"", 0, &b), PIUGW_EMALFORMED);
	assert_int_equal(body_unpack(big, sizeof(big), &b), PIUGW_ETOOLARGE);
	body_free(NULL);
}

/* An AuditCheckpoint from a peer: every field in range, or refused before any use. */
static void
checkpoint_fields_are_checked(void **state)
{
	struct audit_checkpoint cp, back;
	Piugw__AuditCheckpoint m;
	uint8_t *buf = NULL;
	size_t len;

	(void)state;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.gateway_id, sizeof(cp.gateway_id), "XA-PIU");
	cp.seq = 42;
	cp.time_ms = 1795870800123;
	cp.first_seq = 38;
	memset(cp.head, 0xab, 32);
	memset(cp.signature, 0xcd, 64);
	body_checkpoint_set(&m, &cp);
	/* Through the wire and back, inside a Hello. */
	Piugw__Hello h = PIUGW__HELLO__INIT;
	Piugw__Body b = PIUGW__BODY__INIT, *got = NULL;
	h.checkpoint = &m;
	b.kind_case = PIUGW__BODY__KIND_HELLO;
	b.hello = &h;
	assert_int_equal(body_pack(&b, &buf, &len), 0);
	assert_int_equal(body_unpack(buf, len, &got), 0);
	assert_non_null(got->hello->checkpoint);
	assert_null(got->hello->witnessed);
	assert_int_equal(body_checkpoint_get(got->hello->checkpoint, &back), 0);
	assert_memory_equal(&back, &cp, sizeof(cp));
	body_free(&got);
	free(buf);
	/* Each field out of range is refused. */
	assert_int_equal(body_checkpoint_get(NULL, &back), PIUGW_EMALFORMED);
	m.seq = 0;
	assert_int_equal(body_checkpoint_get(&m, &back), PIUGW_EMALFORMED);
	m.seq = 37; /* before its first_seq */
	assert_int_equal(body_checkpoint_get(&m, &back), PIUGW_EMALFORMED);
	m.seq = 42;
	m.head_hash.len = 31;
	assert_int_equal(body_checkpoint_get(&m, &back), PIUGW_EMALFORMED);
	m.head_hash.len = 32;
	m.signature.len = 63;
	assert_int_equal(body_checkpoint_get(&m, &back), PIUGW_EMALFORMED);
	m.signature.len = 64;
	m.gateway_id = (char *)"XA-PIU-WITH-A-NAME-FAR-TOO-LONG-FOR-AN-ID";
	assert_int_equal(body_checkpoint_get(&m, &back), PIUGW_EMALFORMED);
	m.gateway_id = (char *)"XA-PIU";
	assert_int_equal(body_checkpoint_get(&m, &back), 0);
}

/* Fields a newer peer adds are kept by protobuf: named, wherever they are. */
static void
unknown_fields_are_named(void **state)
{
	/* Body{hello{software "x", field 15 = 7}, field 30 = 1} */
	static const uint8_t buf[] = {0x0a, 0x05, 0x0a, 0x01, 'x', 0x78, 0x07, 0xf0, 0x01, 0x01};
	Piugw__Body *b = NULL;
	char names[64];

	(void)state;
	assert_int_equal(body_unpack(buf, sizeof(buf), &b), 0);
	assert_int_equal(body_unknown_fields(&b->base, names, sizeof(names)), 2);
	assert_string_equal(names, "Body.30, Hello.15");
	body_free(&b);
	/* None: an empty list. */
	static const uint8_t plain[] = {0x0a, 0x03, 0x0a, 0x01, 'x'};
	assert_int_equal(body_unpack(plain, sizeof(plain), &b), 0);
	assert_int_equal(body_unknown_fields(&b->base, names, sizeof(names)), 0);
	assert_string_equal(names, "");
	body_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_kind_round_trips),
		cmocka_unit_test(refuses_bodies_that_do_not_parse_or_carry_no_kind),
		cmocka_unit_test(checkpoint_fields_are_checked),
		cmocka_unit_test(unknown_fields_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
