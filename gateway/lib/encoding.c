/*
 * encoding.c: constant-time Z85; see encoding.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <sodium.h>

#include "encoding.h"
#include "piugw/error.h"

static const char z85_alphabet[85] = "0123456789"
				     "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     ".-:+=^!/*?&<>()[]{}@%$#";

/* 0xffffffff if a == b, else 0; a and b below 256. No branch on the data. */
static uint32_t
ct_eq_mask(uint32_t a, uint32_t b)
{
	uint32_t d = a ^ b;
	return (uint32_t)0 - ((d - 1) >> 31);
}

/* The alphabet character for digit d (0..84), scanning the whole alphabet. */
static char
z85_char(uint32_t d)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < 85; i++)
		c |= (uint32_t)(unsigned char)z85_alphabet[i] & ct_eq_mask(d, i);
	return (char)c;
}

/* The digit of character c, and *valid cleared if c is not in the alphabet. */
static uint32_t
z85_digit(unsigned char c, uint32_t *valid)
{
	uint32_t v = 0, found = 0;
	for (uint32_t i = 0; i < 85; i++) {
		uint32_t m = ct_eq_mask(c, (unsigned char)z85_alphabet[i]);
		v |= i & m;
		found |= m;
	}
	*valid &= found;
	return v;
}

/* See encoding.h. */
int
z85_encode(char *out, size_t out_size, const uint8_t *in, size_t in_len)
{
	if (in_len % 4 != 0 || out_size < Z85_LEN(in_len) + 1)
		return PIUGW_EINVAL;
	for (size_t i = 0, o = 0; i < in_len; i += 4) {
		uint32_t value = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 |
				 (uint32_t)in[i + 2] << 8 | (uint32_t)in[i + 3];
		for (int k = 4; k >= 0; k--) {
			out[o + (size_t)k] = z85_char(value % 85);
			value /= 85;
		}
		o += 5;
	}
	out[Z85_LEN(in_len)] = '\0';
	return 0;
}

/* See encoding.h. */
int
z85_decode(uint8_t *out, size_t out_len, const char *in, size_t in_len)
{
	uint32_t valid = 0xffffffffu;

	if (out_len % 4 != 0 || in_len != Z85_LEN(out_len))
		return PIUGW_EINVAL;
	for (size_t i = 0, o = 0; i < in_len; i += 5, o += 4) {
		uint64_t value = 0;
		for (size_t k = 0; k < 5; k++)
			value = value * 85 + z85_digit((unsigned char)in[i + k], &valid);
		/* A group above 2^32 - 1 is invalid; fold the test into the mask. */
		valid &= ct_eq_mask((uint32_t)(value >> 32) != 0, 0);
		out[o] = (uint8_t)(value >> 24);
		out[o + 1] = (uint8_t)(value >> 16);
		out[o + 2] = (uint8_t)(value >> 8);
		out[o + 3] = (uint8_t)value;
	}
	if (valid == 0) {
		sodium_memzero(out, out_len);
		return PIUGW_EINVAL;
	}
	return 0;
}
