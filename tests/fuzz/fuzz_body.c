/*
 * fuzz_body.c: body_unpack() on arbitrary bytes (the decrypted Sealed.body).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Piugw__Body *b = NULL;
	uint8_t *again = NULL;
	size_t len = 0;

	if (body_unpack(data, size, &b) == 0) {
		/* What we accept we can serialize again. */
		if (body_pack(b, &again, &len) != 0)
			abort();
		free(again);
	}
	body_free(&b);
	return 0;
}
