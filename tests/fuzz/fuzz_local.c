/*
 * fuzz_local.c: what piugwd does with one frame from its local API socket,
 * which any member of the socket's group can send: LocalRequest unpack, then
 * for a query the same checks as a partner's Query (policy_from_query).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "local.pb-c.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Piugw__LocalRequest *r;
	struct policy_request req = {0};
	char why[200];
	uint8_t *again;
	size_t len;

	if ((r = piugw__local_request__unpack(NULL, size, data)) == NULL)
		return 0;
	if (r->kind_case == PIUGW__LOCAL_REQUEST__KIND_QUERY && r->query->query != NULL) {
		why[0] = '\0';
		if (!policy_from_query(r->query->query, &req, why, sizeof(why)) && why[0] == '\0')
			abort(); /* a refusal always says why */
	}
	/* What we accept we can serialize again. */
	len = piugw__local_request__get_packed_size(r);
	if ((again = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	if (piugw__local_request__pack(r, again) != len)
		abort();
	free(again);
	piugw__local_request__free_unpacked(r, NULL);
	return 0;
}
