/*
 * fuzz_keys.c: the certificate (ZPL) reader, public and secret.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keys_public pub;
	struct keys_secret *k = NULL;
	struct diag d;

	if (sodium_init() < 0)
		abort();
	diag_init(&d);
	(void)keys_public_parse((const char *)data, size, "fuzz", &pub, &d);
	(void)keys_secret_parse((const char *)data, size, "fuzz", &k, &d);
	keys_secret_free(&k);
	diag_clear(&d);
	return 0;
}
