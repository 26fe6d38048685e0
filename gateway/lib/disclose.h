/*
 * disclose.h: the disclosure filter. Turns store matches and a policy
 * decision into the QueryResult that goes on the wire, with only what the
 * agreement allows: allowed categories only, at most max_results records,
 * hit/no-hit only when that is the disclosure mode, the Art 12(2) elements
 * masked on records older than mask_after_days, and special-category data
 * (meal and medical SSR codes) never.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_DISCLOSE_H
#define PIUGW_DISCLOSE_H

#include <stdint.h>

#include "body.pb-c.h"
#include "policy.h"
#include "store.h"

/*
 * Build *outp (free with disclose_free) from the matches of r. s is used to
 * find co-travellers when that category is allowed (may be NULL otherwise).
 * *masked_records counts records that were masked (for the audit).
 */
int disclose_build(struct store *s, const struct store_result *r,
		   const struct policy_decision *dec, int64_t now_ms, Piugw__QueryResult **outp,
		   uint32_t *masked_records);

void disclose_free(Piugw__QueryResult **qp);

/*
 * Where what disclose_build disclosed of r came from, for the audit record
 * (a person's elements may come from their API and their PNR rows, store.h):
 * "from API: api.identity, api.document; from PNR: pnr.booking" over the
 * categories the decision allows, of the matches it discloses. "" when
 * nothing is disclosed.
 */
void disclose_sources(const struct store_result *r, const struct policy_decision *dec, char *out,
		      size_t size);

/*
 * The asking side's check of a partner's answer (PROTOCOL.md section 11):
 * does qr hold only what t, our copy of the terms for our requests to that
 * partner, lets us receive, and only what qr itself declares (categories),
 * within max_results and the disclosure mode? 0 if so; else
 * PIUGW_EMALFORMED with why naming the excess. *arrivedp (may be NULL) gets
 * the categories present in its matches, whatever the verdict: what
 * actually arrived, for the audit record.
 */
int disclose_check_received(const struct agreement_terms *t, const Piugw__QueryResult *qr,
			    vocab_set *arrivedp, char *why, size_t whylen);

/* The text that replaces a masked element. */
#define DISCLOSE_MASK "***"

#endif /* PIUGW_DISCLOSE_H */
