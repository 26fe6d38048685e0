/*
 * encoding.h: Z85 (ZeroMQ RFC 32) for keys, in constant time.
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

#endif /* PIUGW_ENCODING_H */
