/*
 * fuzz_body.c: body_unpack() on arbitrary bytes (the decrypted Sealed.body),
 * then for a Query the checks a partner's query goes through (policy_from_query),
 * for a Hello or HelloReply the audit checkpoints it carries (body_checkpoint_get),
 * and for an AgreementProposal the agreement it carries, parsed as the
 * responder parses it (agreement_parse).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "body.h"
#include "lookout.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_fire(void *arg, const struct lookout_entry *e, double score)
{
	(void)arg;
	(void)e;
	(void)score;
}

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
		if (b->kind_case == PIUGW__BODY__KIND_LOOKOUT_PLACE) {
			/* A lookout is judged as the Query it stands for, and indexed by its keys. */
			struct policy_request req = {0};
			struct lookout_index *ix = NULL;
			Piugw__Query q;
			char why[200] = "";
			lookout_as_query(b->lookout_place, &q);
			if (!policy_from_query(&q, &req, why, sizeof(why)) && why[0] == '\0')
				abort();
			if (lookout_index_new(&ix) == 0) {
				struct store_keys k;
				memset(&k, 0, sizeof(k));
				(void)lookout_index_add(ix, "LO-FUZZ", b->lookout_place, 0.9, 0);
				lookout_index_ready(ix);
				/* Matched against an empty row: nothing fires. */
				if (lookout_index_match(ix, &k, no_fire, NULL) != 0)
					abort();
				lookout_index_free(&ix);
			}
		}
		if (b->kind_case == PIUGW__BODY__KIND_AGREEMENT_PROPOSAL &&
		    b->agreement_proposal->agreement.len <= 65536) {
			struct agreement *a = NULL;
			struct diag d;
			diag_init(&d);
			int rc = agreement_parse((const char *)b->agreement_proposal->agreement.data,
						 b->agreement_proposal->agreement.len, "fuzz", &a, &d);
			/* A refusal says why; what is taken has two parties and its own hash. */
			if ((rc != 0 && d.n == 0) ||
			    (rc == 0 && (a->parties[0][0] == '\0' || a->parties[1][0] == '\0' ||
					 a->len != b->agreement_proposal->agreement.len)))
				abort();
			agreement_free(&a);
			diag_clear(&d);
		}
		const Piugw__AuditCheckpoint *cps[2] = {NULL, NULL};
		if (b->kind_case == PIUGW__BODY__KIND_HELLO) {
			cps[0] = b->hello->checkpoint;
			cps[1] = b->hello->witnessed;
		} else if (b->kind_case == PIUGW__BODY__KIND_HELLO_REPLY) {
			cps[0] = b->hello_reply->checkpoint;
			cps[1] = b->hello_reply->witnessed;
		}
		for (int i = 0; i < 2; i++) {
			struct audit_checkpoint cp;
			/* What is taken is in range: a signature input can be made of it. */
			if (cps[i] != NULL && body_checkpoint_get(cps[i], &cp) == 0 &&
			    (cp.seq == 0 || cp.first_seq > cp.seq || strlen(cp.gateway_id) > KEYS_ID_MAX))
				abort();
		}
		/* What we accept we can serialize again. */
		if (body_pack(b, &again, &len) != 0)
			abort();
		free(again);
	}
	body_free(&b);
	return 0;
}
