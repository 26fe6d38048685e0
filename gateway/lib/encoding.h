/*
 * encoding.h: Z85 (ZeroMQ RFC 32) for keys, in constant time; big-endian
 * integers in frames.
 *
 * libzmq's zmq_z85_decode() looks characters up in a table indexed by the
 * secret itself; these functions touch the same memory whatever the input,
 * as wireguard-tools' encoding.c does for base64, because they also decode
 * secret keys. Hex goes through libsodium's constant-time sodium_hex2bin.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_ENCODING_H
#define PIUGW_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes (n a multiple of 4), without the NUL. */
#define Z85_LEN(n) ((n) / 4 * 5)

/*
 * Encode in_len bytes (a multiple of 4) into out, which holds at least
 * Z85_LEN(in_len) + 1 characters; out is NUL-terminated.
 * Returns 0, or PIUGW_EINVAL for a bad length.
 */
int z85_encode(char *out, size_t out_size, const uint8_t *in, size_t in_len);

/*
 * Decode exactly Z85_LEN(out_len) characters of in into out_len bytes.
 * Returns 0, or PIUGW_EINVAL if in_len is not Z85_LEN(out_len), a character
 * is not in the Z85 alphabet, or a group overflows 32 bits. On error out is
 * wiped.
 */
int z85_decode(uint8_t *out, size_t out_len, const char *in, size_t in_len);

/* Big-endian 16 and 32-bit integers, as the daemon's own frames carry them. */
static inline void
be16_put(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif /* PIUGW_ENCODING_H */
