/*
 * test_encoding.c: our constant-time Z85 against ZeroMQ RFC 32's example and
 * against libzmq's own encoder and decoder.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "encoding.h"
#include "piugw/error.h"
#include "testutil.h"

static void
rfc32_example(void **state)
{
	(void)state;
	const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
	char out[11];
	uint8_t back[8];

	assert_int_equal(z85_encode(out, sizeof(out), hello, 8), 0);
	assert_string_equal(out, "HelloWorld");
	assert_int_equal(z85_decode(back, 8, "HelloWorld", 10), 0);
	assert_memory_equal(back, hello, 8);
}

static void
agrees_with_libzmq_on_random_keys(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		uint8_t key[64], ours[64], theirs[64];
		char a[81], b[81];
		size_t n = (i % 2) ? 32 : 64;

		randombytes_buf(key, n);
		assert_int_equal(z85_encode(a, sizeof(a), key, n), 0);
		assert_non_null(zmq_z85_encode(b, key, n));
		assert_string_equal(a, b);
		assert_int_equal(z85_decode(ours, n, a, strlen(a)), 0);
		assert_non_null(zmq_z85_decode(theirs, b));
		assert_memory_equal(ours, theirs, n);
		assert_memory_equal(ours, key, n);
	}
}

static void
refuses_bad_input(void **state)
{
	(void)state;
	uint8_t out[4] = {1, 2, 3, 4};
	char small[5];

	/* Not in the alphabet: space, quote, backslash, comma, DEL, high bytes. */
	assert_int_equal(z85_decode(out, 4, "Hell ", 5), PIUGW_EINVAL);
	assert_true(sodium_is_zero(out, 4)); /* wiped on error */
	assert_int_equal(z85_decode(out, 4, "Hell\"", 5), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 4, "Hel\\o", 5), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 4, "He,lo", 5), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 4, "\x7fHell", 5), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 4, "\xc3\xa4" "ell", 5), PIUGW_EINVAL);
	/* "#####" is 85^5 - 1, above 2^32 - 1; "%nSc0" is exactly 2^32 - 1. */
	assert_int_equal(z85_decode(out, 4, "#####", 5), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 4, "%nSc0", 5), 0);
	assert_int_equal(out[0] & out[1] & out[2] & out[3], 0xff);
	assert_int_equal(z85_decode(out, 4, "%nSc1", 5), PIUGW_EINVAL);
	/* Wrong lengths. */
	assert_int_equal(z85_decode(out, 4, "Hello", 4), PIUGW_EINVAL);
	assert_int_equal(z85_decode(out, 3, "Hello", 5), PIUGW_EINVAL);
	assert_int_equal(z85_encode(small, sizeof(small), out, 4), PIUGW_EINVAL);
	assert_int_equal(z85_encode(small, sizeof(small), out, 3), PIUGW_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc32_example),
		cmocka_unit_test(agrees_with_libzmq_on_random_keys),
		cmocka_unit_test(refuses_bad_input),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
