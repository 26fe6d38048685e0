/*
 * fuzz_minisign.c: minisign public keys, signatures (verified with a fixed
 * key over a fixed message) and unencrypted secret keys.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct minisign_pubkey pk = {{1, 2, 3, 4, 5, 6, 7, 8}, {9}};
	struct minisign_pubkey out;
	struct minisign_seckey *k = NULL;
	char *tc = NULL;
	struct diag d;

	if (sodium_init() < 0)
		abort();
	diag_init(&d);
	(void)minisign_pubkey_parse((const char *)data, size, "fuzz", &out, &d);
	(void)minisign_verify(&pk, (const uint8_t *)"directory", 9, (const char *)data, size,
			      "fuzz", &tc, &d);
	free(tc);
	/* Encrypted keys would run scrypt (slow); the parser up to it is what matters. */
	if (minisign_seckey_encrypted((const char *)data, size) == 0)
		(void)minisign_seckey_parse((const char *)data, size, "fuzz", NULL, &k, &d);
	minisign_seckey_free(&k);
	diag_clear(&d);
	return 0;
}
