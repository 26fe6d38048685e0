/*
 * fuzz_directory.c: the member directory (after its signature verified).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct directory *dir = NULL;
	struct diag d;

	if (sodium_init() < 0)
		abort();
	diag_init(&d);
	(void)directory_parse((const char *)data, size, "fuzz", &dir, &d);
	directory_free(&dir);
	diag_clear(&d);
	return 0;
}
