/*
 * fuzz_agreement.c: agreement files and their signature files.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "agreement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agreement *a = NULL;
	struct agreement_sigs s;
	struct diag d;

	if (sodium_init() < 0)
		abort();
	diag_init(&d);
	(void)agreement_parse((const char *)data, size, "fuzz", &a, &d);
	agreement_free(&a);
	if (agreement_sigs_parse((const char *)data, size, "fuzz", &s, &d) == 0) {
		char *text = agreement_sigs_format(&s);
		free(text);
	}
	diag_clear(&d);
	return 0;
}
