/*
 * test_error.c: the error table names every code and maps the wire codes
 * of PROTOCOL.md section 7 one to one.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "body.pb-c.h"
#include "piugw/error.h"
#include "testutil.h"

static const int all_codes[] = {
#define CODE(name, value, wire, msg) name,
	PIUGW_ERRORS(CODE)
#undef CODE
};

static void
every_code_has_a_distinct_name_and_message(void **state)
{
	(void)state;
	size_t n = sizeof(all_codes) / sizeof(all_codes[0]);

	for (size_t i = 0; i < n; i++) {
		assert_true(all_codes[i] <= 0);
		assert_string_not_equal(piugw_strerror(all_codes[i]), "unknown error");
		assert_true(strncmp(piugw_error_name(all_codes[i]), "PIUGW_", 6) == 0);
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(all_codes[i], all_codes[j]);
	}
	assert_string_equal(piugw_strerror(-9999), "unknown error");
	assert_string_equal(piugw_error_name(PIUGW_EBADSIG), "PIUGW_EBADSIG");
}

static void
unknown_codes_map_to_internal_never_to_success(void **state)
{
	(void)state;
	assert_int_equal(piugw_error_wire_code(-9999), PIUGW_WIRE_INTERNAL);
	assert_int_equal(piugw_error_wire_code(PIUGW_EBADSIG), PIUGW_WIRE_BAD_SIGNATURE);
	assert_int_equal(piugw_error_wire_code(PIUGW_EDECRYPT), PIUGW_WIRE_BAD_SIGNATURE);
	assert_int_equal(piugw_error_wire_code(PIUGW_ESENDERMISMATCH), PIUGW_WIRE_UNKNOWN_SENDER);
	assert_int_equal(piugw_error_wire_code(PIUGW_EKEYFILE), PIUGW_WIRE_NONE);
}

/*
 * Every wire code of section 7 is reached by at least one library code, and
 * its number and name agree with ErrorCode in body.proto.
 */
static void
wire_codes_match_the_schema(void **state)
{
	(void)state;
	for (int w = PIUGW_WIRE_MALFORMED; w <= PIUGW_WIRE_INTERNAL; w++) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(&piugw__error_code__descriptor, w);
		bool reached = false;

		assert_non_null(v);
		/* ERROR_<NAME> in the schema, <NAME> in PROTOCOL.md. */
		assert_string_equal(v->name + strlen("ERROR_"), piugw_wire_error_name(w));
		for (size_t i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++)
			if ((int)piugw_error_wire_code(all_codes[i]) == w)
				reached = true;
		if (!reached)
			fail_msg("wire code %s has no library error", piugw_wire_error_name(w));
	}
	assert_int_equal(piugw__error_code__descriptor.n_values, PIUGW_WIRE_INTERNAL + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_a_distinct_name_and_message),
		cmocka_unit_test(unknown_codes_map_to_internal_never_to_success),
		cmocka_unit_test(wire_codes_match_the_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
