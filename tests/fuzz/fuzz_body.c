/*
 * fuzz_body.c: body_unpack() on arbitrary bytes (the decrypted Sealed.body),
 * then for a Query the checks a partner's query goes through (policy_from_query).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "body.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Piugw__Body *b = NULL;
	uint8_t *again = NULL;
	size_t len = 0;

	if (body_unpack(data, size, &b) == 0) {
		if (b->kind_case == PIUGW__BODY__KIND_QUERY) {
			struct policy_request req = {0};
			char why[200] = "";
			if (!policy_from_query(b->query, &req, why, sizeof(why)) && why[0] == '\0')
				abort(); /* a refusal always says why */
		}
		/* What we accept we can serialize again. */
		if (body_pack(b, &again, &len) != 0)
			abort();
		free(again);
	}
	body_free(&b);
	return 0;
}
