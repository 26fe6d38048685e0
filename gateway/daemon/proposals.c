/*
 * proposals.c: agreements proposed and co-signed over the mesh
 * (doc/protocol-notes.md section 5). What both sides judge and keep:
 *
 *   proposer   an administrator signs an agreement file and proposes it
 *              (piugw agreement propose); it goes to the other party as an
 *              AgreementProposal, sent again (outbound.c) until the other
 *              side holds it, then asked again until a person there decided;
 *   responder  the proposal is checked and held for a person (inbound.c);
 *              piugw agreement accept signs it there, and this gateway
 *              installs it; decline keeps the reason for the proposer;
 *   both       an accepted agreement is installed with both signatures, the
 *              .sig first, then the file, each replaced whole, and the
 *              configuration reloaded. Nothing is installed without a
 *              person's signature on this side: the proposer's made the
 *              proposal, the responder's accepted it.
 *
 * Every step leaves an audit record (callers make them with the row this
 * file fills). The files call downwards only: inbound.c, outbound.c and
 * localapi.c call this file; it calls gw.c and the library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agreement.h"
#include "directory.h"
#include "gw.h"
#include "piugw/error.h"

#define PROPOSAL_MAX_BYTES 65536
#define DAY_MS 86400000LL

/* A fresh reference: prefix and 12 hex digits ("AG-1A2B3C4D5E6F"). */
static void
new_ref(char *out, size_t size, const char *prefix)
{
	uint8_t r[6];

	randombytes_buf(r, sizeof(r));
	snprintf(out, size, "%s-%02X%02X%02X%02X%02X%02X", prefix, r[0], r[1], r[2], r[3], r[4],
		 r[5]);
}

/* Text from a person or a partner, made safe to keep and show: control bytes become '?'. */
static void
clean_text(char *out, size_t size, const char *in)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < size; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[size > 0 ? i : 0] = '\0';
}

static void
hex8(char out[17], const uint8_t *h)
{
	sodium_bin2hex(out, 17, h, 8);
}

/*
 * Parse bytes as an agreement between exactly us and peer (either way
 * round); NULL with why (the first problem) if it is not one.
 */
static struct agreement *
parse_between(struct gw *g, const uint8_t *bytes, size_t len, const char *peer, char *why,
	      size_t n)
{
	struct agreement *a = NULL;
	struct diag d;
	const char *self = policy_config(g->policy)->id;

	diag_init(&d);
	if (agreement_parse((const char *)bytes, len, "the proposed agreement", &a, &d) != 0) {
		snprintf(why, n, "the agreement does not parse: %s",
			 d.n > 0 ? d.lines[0] : "invalid");
		diag_clear(&d);
		return NULL;
	}
	diag_clear(&d);
	if (!agreement_has_party(a, self) || !agreement_has_party(a, peer) ||
	    strcmp(self, peer) == 0) {
		snprintf(why, n, "the agreement's parties are %s and %s: a proposal names exactly "
			 "its sender and its recipient (%s and %s)", a->parties[0], a->parties[1],
			 peer, self);
		agreement_free(&a);
		return NULL;
	}
	return a;
}

/* The agreement of this id we hold (from the files), or NULL. */
static const struct policy_agreement *
held(struct gw *g, const char *id)
{
	return policy_agreement(g->policy, id);
}

/* See gw.h. */
int
proposals_receive(struct gw *g, const char *peer, const struct envelope_header *h,
		  const Piugw__AgreementProposal *ap, struct state_proposal *row, char *why,
		  size_t n)
{
	uint8_t hash[AGREEMENT_HASH_BYTES];
	const struct directory_member *m = directory_member(policy_directory(g->policy), peer);
	const struct policy_agreement *pa;
	struct agreement *a = NULL;
	uint32_t recent = 0;
	int64_t now = gw_now_ms();
	int rc;

	memset(row, 0, sizeof(*row));
	if (ap->agreement.len == 0 || ap->agreement.len > PROPOSAL_MAX_BYTES ||
	    ap->signature.len != KEYS_SIGNATURE_BYTES ||
	    (ap->replaces_hash.len != 0 && ap->replaces_hash.len != AGREEMENT_HASH_BYTES)) {
		snprintf(why, n, "agreement must be 1 to %d bytes, signature 64 bytes, "
			 "replaces_hash empty or 32 bytes", PROPOSAL_MAX_BYTES);
		return PIUGW_EMALFORMED;
	}
	crypto_generichash(hash, sizeof(hash), ap->agreement.data, ap->agreement.len, NULL, 0);
	if (!h->has_agreement_hash ||
	    sodium_memcmp(hash, h->agreement_hash, AGREEMENT_HASH_BYTES) != 0) {
		snprintf(why, n, "the header's agreement_hash is not the hash of the proposed "
			 "agreement");
		return PIUGW_EMALFORMED;
	}
	if (m == NULL) {
		snprintf(why, n, "%s is not a member of the directory", peer);
		return PIUGW_EUNKNOWNSENDER;
	}
	/* The same agreement from the same member again: where it stands. */
	if ((rc = state_proposal_find(g->state, true, peer, hash, row)) == 0) {
		snprintf(why, n, "%s asked again: %s", row->ref,
			 row->state == STATE_PROPOSAL_HELD	 ? "held"
			 : row->state == STATE_PROPOSAL_ACCEPTED ? "accepted"
								 : "declined");
		return 0;
	}
	state_proposal_clear(row);
	if (rc != PIUGW_EUNKNOWNQUERY) {
		snprintf(why, n, "the proposals kept here could not be read");
		return PIUGW_EINTERNAL;
	}
	if ((a = parse_between(g, ap->agreement.data, ap->agreement.len, peer, why, n)) == NULL)
		return PIUGW_EMALFORMED;
	rc = PIUGW_EMALFORMED;
	if (strcmp(a->id, h->agreement_id) != 0) {
		snprintf(why, n, "the header's agreement_id is not the agreement's id (%s)", a->id);
		goto out;
	}
	if (!agreement_verify(a, m->keys.sign_pk, ap->signature.data)) {
		snprintf(why, n, "the proposer's signature over the agreement does not verify with "
			 "%s's signing key", peer);
		rc = PIUGW_EBADSIG;
		goto out;
	}
	pa = held(g, a->id);
	if (pa != NULL && sodium_memcmp(pa->a->hash, hash, AGREEMENT_HASH_BYTES) == 0) {
		snprintf(why, n, "%s already holds this very agreement", policy_config(g->policy)->id);
		goto out;
	}
	if (pa != NULL && (ap->replaces_hash.len == 0 ||
			   sodium_memcmp(pa->a->hash, ap->replaces_hash.data,
					 AGREEMENT_HASH_BYTES) != 0)) {
		/* PROTOCOL.md section 6: our hash, in hex, is the detail. */
		sodium_bin2hex(why, n < 65 ? n : 65, pa->a->hash, AGREEMENT_HASH_BYTES);
		rc = PIUGW_EAGREEMENTMISMATCH;
		goto out;
	}
	if (pa == NULL && ap->replaces_hash.len != 0) {
		snprintf(why, n, "no agreement %s is held here to be replaced", a->id);
		rc = PIUGW_ENOAGREEMENT;
		goto out;
	}
	if (state_proposal_count_since(g->state, peer, now - DAY_MS, &recent) != 0) {
		snprintf(why, n, "the proposals kept here could not be read");
		rc = PIUGW_EINTERNAL;
		goto out;
	}
	if (recent >= policy_config(g->policy)->proposals_per_day) {
		snprintf(why, n, "%u proposals from %s in the last 24 hours, the most this gateway "
			 "takes (limits.proposals_per_day)", recent, peer);
		rc = PIUGW_ERATELIMITED;
		goto out;
	}
	new_ref(row->ref, sizeof(row->ref), "AG");
	row->incoming = true;
	snprintf(row->peer, sizeof(row->peer), "%s", peer);
	snprintf(row->agreement_id, sizeof(row->agreement_id), "%s", a->id);
	memcpy(row->hash, hash, sizeof(row->hash));
	if ((row->has_replaces = ap->replaces_hash.len != 0))
		memcpy(row->replaces, ap->replaces_hash.data, sizeof(row->replaces));
	memcpy(row->proposer_sig, ap->signature.data, sizeof(row->proposer_sig));
	row->state = STATE_PROPOSAL_HELD;
	row->created_ms = row->updated_ms = now;
	if ((row->bytes = malloc(ap->agreement.len)) == NULL) {
		rc = PIUGW_ENOMEM;
		goto out;
	}
	memcpy(row->bytes, ap->agreement.data, ap->agreement.len);
	row->len = ap->agreement.len;
	if (state_proposal_put(g->state, row) != 0) {
		state_proposal_clear(row);
		snprintf(why, n, "the proposal could not be kept for a person to decide");
		rc = PIUGW_EINTERNAL;
		goto out;
	}
	{
		char h8[17];
		if (pa != NULL)
			hex8(h8, pa->a->hash);
		snprintf(why, n, "%s held for a person: %s%s", row->ref,
			 pa != NULL ? "an amendment of " : "a new agreement",
			 pa != NULL ? h8 : "");
	}
	gw_log(GW_INFO, "agreement_proposed", "peer=%s agreement=%s ref=%s amendment=%d", peer,
	       gw_esc(a->id), row->ref, pa != NULL);
	rc = 0;
out:
	agreement_free(&a);
	return rc;
}

/* See gw.h. */
void
proposals_response(const struct state_proposal *row, Piugw__AgreementResponse *r)
{
	r->reference = (char *)row->ref;
	switch (row->state) {
	case STATE_PROPOSAL_ACCEPTED:
		r->status = PIUGW__PROPOSAL_STATUS__PROPOSAL_ACCEPTED;
		r->signature.data = (uint8_t *)row->responder_sig;
		r->signature.len = sizeof(row->responder_sig);
		r->decided_at_ms = row->updated_ms;
		break;
	case STATE_PROPOSAL_DECLINED:
		r->status = PIUGW__PROPOSAL_STATUS__PROPOSAL_DECLINED;
		r->reason = (char *)row->detail;
		r->decided_at_ms = row->updated_ms;
		break;
	default:
		r->status = PIUGW__PROPOSAL_STATUS__PROPOSAL_HELD;
		break;
	}
}

/*
 * Install row's agreement with both signatures, where the agreement it
 * replaces lives (or ID.yaml in the agreements folder), and ask for a
 * reload. Both signatures are checked against the directory first.
 */
static int
install(struct gw *g, struct state_proposal *row, char *why, size_t n)
{
	const struct directory *dir = policy_directory(g->policy);
	const char *self = policy_config(g->policy)->id;
	const char *proposer = row->incoming ? row->peer : self;
	const char *responder = row->incoming ? self : row->peer;
	const struct directory_member *mp = directory_member(dir, proposer);
	const struct directory_member *mr = directory_member(dir, responder);
	const struct policy_agreement *pa;
	struct agreement_sigs sigs;
	struct agreement *a = NULL;
	struct diag d;
	char *path = NULL;
	int rc;

	memset(&sigs, 0, sizeof(sigs));
	diag_init(&d);
	if ((a = parse_between(g, row->bytes, row->len, row->peer, why, n)) == NULL)
		return PIUGW_EMALFORMED;
	if (mp == NULL || mr == NULL || !row->has_responder_sig ||
	    !agreement_verify(a, mp->keys.sign_pk, row->proposer_sig) ||
	    !agreement_verify(a, mr->keys.sign_pk, row->responder_sig)) {
		snprintf(why, n, "the two signatures do not both verify with the directory's keys");
		rc = PIUGW_EBADSIG;
		goto out;
	}
	/* Installed already (a second answer to the same proposal): nothing to do. */
	pa = held(g, a->id);
	if (pa != NULL && sodium_memcmp(pa->a->hash, row->hash, AGREEMENT_HASH_BYTES) == 0) {
		snprintf(row->installed, sizeof(row->installed), "%s", pa->path);
		rc = 0;
		goto out;
	}
	/* What was replaced is what the proposal said it replaces, still. */
	if ((pa == NULL) != !row->has_replaces ||
	    (pa != NULL && sodium_memcmp(pa->a->hash, row->replaces, AGREEMENT_HASH_BYTES) != 0)) {
		snprintf(why, n, "the agreement %s held here is no longer the one this proposal "
			 "replaces", a->id);
		rc = PIUGW_EAGREEMENTMISMATCH;
		goto out;
	}
	agreement_sigs_put(&sigs, proposer, row->proposer_sig);
	agreement_sigs_put(&sigs, responder, row->responder_sig);
	if ((rc = agreement_install(a, &sigs, policy_config(g->policy)->agreements_dir,
				    pa != NULL ? pa->path : NULL, &path, &d)) != 0) {
		snprintf(why, n, "not installed: %s (piugwd writes the agreements folder %s: it "
			 "must be the gateway user's)", d.n > 0 ? d.lines[0] : piugw_strerror(rc),
			 policy_config(g->policy)->agreements_dir);
		goto out;
	}
	snprintf(row->installed, sizeof(row->installed), "%s", path);
	g->reload_wanted = true;
	gw_log(GW_INFO, "agreement_installed", "agreement=%s peer=%s path=%s", gw_esc(a->id),
	       row->peer, gw_esc(path));
	rc = 0;
out:
	free(path);
	diag_clear(&d);
	agreement_free(&a);
	return rc;
}

/* See gw.h. */
int
proposals_make(struct gw *g, const Piugw__LocalPropose *lp, struct state_proposal *row,
	       bool *resendp, char *why, size_t n)
{
	const struct keys_public *self = keys_secret_public(g->keys);
	const struct policy_agreement *pa;
	struct agreement *a = NULL;
	uint8_t hash[AGREEMENT_HASH_BYTES];
	const char *peer;
	int rc;

	*resendp = false;
	memset(row, 0, sizeof(*row));
	if (lp->agreement.len == 0 || lp->agreement.len > PROPOSAL_MAX_BYTES ||
	    lp->signature.len != KEYS_SIGNATURE_BYTES) {
		snprintf(why, n, "an agreement of 1 to %d bytes and a 64-byte signature are needed",
			 PROPOSAL_MAX_BYTES);
		return PIUGW_EINVAL;
	}
	{
		struct diag d;
		diag_init(&d);
		rc = agreement_parse((const char *)lp->agreement.data, lp->agreement.len,
				     "the agreement", &a, &d);
		if (rc != 0)
			snprintf(why, n, "%s", d.n > 0 ? d.lines[0] : "the agreement does not parse");
		diag_clear(&d);
		if (rc != 0)
			return PIUGW_EINVAL;
	}
	rc = PIUGW_EINVAL;
	if (!agreement_has_party(a, self->id)) {
		snprintf(why, n, "%s is not a party to %s (%s and %s)", self->id, a->id,
			 a->parties[0], a->parties[1]);
		goto out;
	}
	peer = strcmp(a->parties[0], self->id) == 0 ? a->parties[1] : a->parties[0];
	if (strcmp(peer, self->id) == 0 ||
	    directory_member(policy_directory(g->policy), peer) == NULL) {
		snprintf(why, n, "%s, the other party, is not a member of the directory", peer);
		goto out;
	}
	if (!agreement_verify(a, self->sign_pk, lp->signature.data)) {
		snprintf(why, n, "the signature is not %s's over this file (sign it with this "
			 "gateway's secret certificate)", self->id);
		rc = PIUGW_EBADSIG;
		goto out;
	}
	memcpy(hash, a->hash, sizeof(hash));
	pa = held(g, a->id);
	if (pa != NULL && sodium_memcmp(pa->a->hash, hash, AGREEMENT_HASH_BYTES) == 0) {
		snprintf(why, n, "%s is this gateway's agreement %s already (%s)", a->id, a->id,
			 pa->path);
		goto out;
	}
	/* Proposed before: sent again, or installed again if that is what failed. */
	if ((rc = state_proposal_find(g->state, false, peer, hash, row)) == 0) {
		if (row->state == STATE_PROPOSAL_FAILED) {
			if ((rc = install(g, row, why, n)) == 0) {
				row->state = STATE_PROPOSAL_ACCEPTED;
				row->detail[0] = '\0';
			} else {
				char w[sizeof(row->detail)];
				snprintf(w, sizeof(w), "%s", why);
				snprintf(row->detail, sizeof(row->detail), "%s", w);
			}
			row->updated_ms = gw_now_ms();
			state_proposal_put(g->state, row);
			rc = 0;
			goto out;
		}
		if (row->state == STATE_PROPOSAL_ACCEPTED) {
			snprintf(why, n, "%s: accepted and installed already (%s)", row->ref,
				 row->installed);
			rc = PIUGW_EINVAL;
			state_proposal_clear(row);
			goto out;
		}
		/* Declined or refused: proposed anew, on the same row. */
		if (row->state != STATE_PROPOSAL_HELD && row->state != STATE_PROPOSAL_SENDING) {
			row->state = STATE_PROPOSAL_SENDING;
			row->detail[0] = '\0';
			row->their_ref[0] = '\0';
		}
		row->updated_ms = gw_now_ms();
		*resendp = true;
		rc = state_proposal_put(g->state, row) == 0 ? 0 : PIUGW_EINTERNAL;
		goto out;
	}
	state_proposal_clear(row);
	if (rc != PIUGW_EUNKNOWNQUERY) {
		snprintf(why, n, "the proposals kept here could not be read");
		rc = PIUGW_EINTERNAL;
		goto out;
	}
	new_ref(row->ref, sizeof(row->ref), "PR");
	snprintf(row->peer, sizeof(row->peer), "%s", peer);
	snprintf(row->agreement_id, sizeof(row->agreement_id), "%s", a->id);
	memcpy(row->hash, hash, sizeof(row->hash));
	if ((row->has_replaces = pa != NULL))
		memcpy(row->replaces, pa->a->hash, sizeof(row->replaces));
	memcpy(row->proposer_sig, lp->signature.data, sizeof(row->proposer_sig));
	row->state = STATE_PROPOSAL_SENDING;
	row->created_ms = row->updated_ms = gw_now_ms();
	if ((row->bytes = malloc(lp->agreement.len)) == NULL) {
		rc = PIUGW_ENOMEM;
		goto out;
	}
	memcpy(row->bytes, lp->agreement.data, lp->agreement.len);
	row->len = lp->agreement.len;
	if (state_proposal_put(g->state, row) != 0) {
		state_proposal_clear(row);
		snprintf(why, n, "the proposal could not be kept");
		rc = PIUGW_EINTERNAL;
		goto out;
	}
	*resendp = true;
	rc = 0;
out:
	agreement_free(&a);
	return rc;
}

/* See gw.h. */
int
proposals_answered(struct gw *g, const char *ref, const struct envelope_header *h,
		   const Piugw__Body *b, struct state_proposal *row, Piugw__AuditRecord *rec,
		   char *why, size_t n)
{
	const Piugw__AgreementResponse *r;
	int was, rc;

	if (state_proposal_get(g->state, ref, row) != 0 || row->incoming) {
		snprintf(why, n, "an answer about a proposal no longer kept (%s)", ref);
		return PIUGW_EUNKNOWNQUERY;
	}
	was = row->state;
	rec->event = PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_DECIDED;
	/* Decided already (an answer to a second copy of the same question): kept as it is. */
	if (was != STATE_PROPOSAL_SENDING && was != STATE_PROPOSAL_HELD) {
		snprintf(why, n, "%s: an answer about a proposal decided already, not used", ref);
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		return 0;
	}
	if (strcmp(h->agreement_id, row->agreement_id) != 0 || !h->has_agreement_hash ||
	    sodium_memcmp(h->agreement_hash, row->hash, AGREEMENT_HASH_BYTES) != 0) {
		snprintf(why, n, "bad answer: its agreement fields are not the proposal's");
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		return PIUGW_EMALFORMED;
	}
	if (b->kind_case == PIUGW__BODY__KIND_ERROR) {
		char detail[300];
		clean_text(detail, sizeof(detail), b->error->detail);
		row->state = STATE_PROPOSAL_REFUSED;
		snprintf(row->detail, sizeof(row->detail), "%s: %s",
			 piugw_wire_error_name((enum piugw_wire_error)b->error->code), detail);
		rec->refusal = (uint32_t)b->error->code;
		snprintf(why, n, "%s refused by %s's gateway: %s", row->ref, row->peer,
			 piugw_wire_error_name((enum piugw_wire_error)b->error->code));
		goto changed;
	}
	if (b->kind_case != PIUGW__BODY__KIND_AGREEMENT_RESPONSE) {
		snprintf(why, n, "bad answer: an AgreementProposal is answered AgreementResponse "
			 "or Error");
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		return PIUGW_EMALFORMED;
	}
	r = b->agreement_response;
	clean_text(row->their_ref, sizeof(row->their_ref), r->reference);
	switch (r->status) {
	case PIUGW__PROPOSAL_STATUS__PROPOSAL_HELD:
		row->state = STATE_PROPOSAL_HELD;
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_PROPOSED;
		snprintf(why, n, "%s held at %s as %s", row->ref, row->peer, row->their_ref);
		break;
	case PIUGW__PROPOSAL_STATUS__PROPOSAL_DECLINED:
		row->state = STATE_PROPOSAL_DECLINED;
		clean_text(row->detail, sizeof(row->detail), r->reason);
		snprintf(why, n, "%s declined at %s", row->ref, row->peer);
		break;
	case PIUGW__PROPOSAL_STATUS__PROPOSAL_ACCEPTED:
		if (r->signature.len != KEYS_SIGNATURE_BYTES) {
			snprintf(why, n, "bad answer: ACCEPTED without a 64-byte signature");
			rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
			return PIUGW_EMALFORMED;
		}
		memcpy(row->responder_sig, r->signature.data, sizeof(row->responder_sig));
		row->has_responder_sig = true;
		if ((rc = install(g, row, why, n)) != 0) {
			char w[sizeof(row->detail)];
			snprintf(w, sizeof(w), "%s", why);
			if (rc == PIUGW_EBADSIG) {
				/* Not a signature of theirs over these bytes: nothing changes. */
				row->has_responder_sig = false;
				snprintf(why, n, "bad answer: %s's signature does not verify", row->peer);
				rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
				return PIUGW_EBADSIG;
			}
			row->state = STATE_PROPOSAL_FAILED;
			snprintf(row->detail, sizeof(row->detail), "%s", w);
			snprintf(why, n, "%s accepted by %s, but %s", row->ref, row->peer, w);
			gw_log(GW_ERROR, "agreement_not_installed", "ref=%s agreement=%s why=%s",
			       row->ref, gw_esc(row->agreement_id), gw_esc(w));
			break;
		}
		row->state = STATE_PROPOSAL_ACCEPTED;
		row->detail[0] = '\0';
		snprintf(why, n, "%s accepted by %s as %s; installed", row->ref, row->peer,
			 row->their_ref);
		break;
	default:
		snprintf(why, n, "bad answer: an AgreementResponse of status %d", (int)r->status);
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		return PIUGW_EMALFORMED;
	}
changed:
	row->updated_ms = gw_now_ms();
	if (row->state != was)
		gw_log(GW_INFO, "agreement_proposal", "ref=%s peer=%s agreement=%s state=%d "
		       "detail=%s", row->ref, row->peer, gw_esc(row->agreement_id), row->state,
		       gw_esc(row->detail));
	return state_proposal_put(g->state, row) == 0 ? 0 : PIUGW_EINTERNAL;
}

/* See gw.h. */
int
proposals_decide(struct gw *g, const Piugw__LocalProposalDecision *dec, const char *who,
		 struct state_proposal *row, char *why, size_t n)
{
	const struct keys_public *self = keys_secret_public(g->keys);
	int rc;

	if ((rc = state_proposal_get(g->state, dec->reference, row)) != 0 || !row->incoming ||
	    row->state != STATE_PROPOSAL_HELD) {
		snprintf(why, n, "%s: %s", dec->reference,
			 rc != 0 || !row->incoming
				 ? "no such proposal received (see piugw agreement incoming)"
				 : "decided already");
		return rc == PIUGW_ESYSTEM ? PIUGW_EINTERNAL : PIUGW_EUNKNOWNQUERY;
	}
	snprintf(row->decided_by, sizeof(row->decided_by), "%s", who);
	row->updated_ms = gw_now_ms();
	if (!dec->accept) {
		if (dec->reason == NULL || dec->reason[0] == '\0') {
			snprintf(why, n, "a decline needs a reason (the proposer is told it)");
			return PIUGW_EINVAL;
		}
		clean_text(row->detail, sizeof(row->detail), dec->reason);
		row->state = STATE_PROPOSAL_DECLINED;
		snprintf(why, n, "%s declined", row->ref);
	} else {
		struct agreement *a = NULL;
		struct diag d;
		bool ok;

		diag_init(&d);
		ok = dec->signature.len == KEYS_SIGNATURE_BYTES &&
		     agreement_parse((const char *)row->bytes, row->len, "the proposal", &a, &d) ==
			     0 &&
		     agreement_verify(a, self->sign_pk, dec->signature.data);
		agreement_free(&a);
		diag_clear(&d);
		if (!ok) {
			snprintf(why, n, "the signature is not %s's over %s's bytes (sign it with this "
				 "gateway's secret certificate)", self->id, row->ref);
			return PIUGW_EBADSIG;
		}
		memcpy(row->responder_sig, dec->signature.data, sizeof(row->responder_sig));
		row->has_responder_sig = true;
		if ((rc = install(g, row, why, n)) != 0)
			return rc == PIUGW_EAGREEMENTMISMATCH ? rc : PIUGW_EINTERNAL;
		row->state = STATE_PROPOSAL_ACCEPTED;
		snprintf(why, n, "%s accepted; installed", row->ref);
	}
	gw_log(GW_INFO, dec->accept ? "agreement_accepted" : "agreement_declined",
	       "ref=%s peer=%s agreement=%s operator=%s", row->ref, row->peer,
	       gw_esc(row->agreement_id), gw_esc(who));
	return state_proposal_put(g->state, row) == 0 ? 0 : PIUGW_EINTERNAL;
}

/* See gw.h. */
void
proposals_record(const struct state_proposal *row, const char *who, Piugw__AuditRecord *r)
{
	r->peer = (char *)row->peer;
	r->agreement_id = (char *)row->agreement_id;
	r->agreement_hash.data = (uint8_t *)row->hash;
	r->agreement_hash.len = sizeof(row->hash);
	r->operator_ = (char *)who;
}

/* See gw.h. */
enum piugw_wire_error
proposals_wire_code(int rc)
{
	/* The caller's file or signature is wrong (EINVAL): not our failure. */
	enum piugw_wire_error w = rc == PIUGW_EINVAL ? PIUGW_WIRE_MALFORMED : piugw_error_wire_code(rc);

	return w == PIUGW_WIRE_NONE ? PIUGW_WIRE_MALFORMED : w;
}

/* See gw.h. */
Piugw__Proposal *
proposals_info(const struct state_proposal *row)
{
	Piugw__Proposal *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	piugw__proposal__init(p);
	p->reference = strdup(row->ref);
	p->incoming = row->incoming;
	p->peer = strdup(row->peer);
	p->agreement_id = strdup(row->agreement_id);
	p->state = (Piugw__ProposalState)row->state;
	p->detail = strdup(row->detail);
	p->their_reference = strdup(row->their_ref);
	p->decided_by = strdup(row->decided_by);
	p->installed_path = strdup(row->installed);
	p->created_at_ms = row->created_ms;
	p->updated_at_ms = row->updated_ms;
	if ((p->hash.data = malloc(sizeof(row->hash))) != NULL) {
		memcpy(p->hash.data, row->hash, sizeof(row->hash));
		p->hash.len = sizeof(row->hash);
	}
	if (row->has_replaces && (p->replaces_hash.data = malloc(sizeof(row->replaces))) != NULL) {
		memcpy(p->replaces_hash.data, row->replaces, sizeof(row->replaces));
		p->replaces_hash.len = sizeof(row->replaces);
	}
	if ((p->agreement.data = malloc(row->len ? row->len : 1)) != NULL) {
		memcpy(p->agreement.data, row->bytes, row->len);
		p->agreement.len = row->len;
	}
	if ((p->proposer_signature.data = malloc(KEYS_SIGNATURE_BYTES)) != NULL) {
		memcpy(p->proposer_signature.data, row->proposer_sig, KEYS_SIGNATURE_BYTES);
		p->proposer_signature.len = KEYS_SIGNATURE_BYTES;
	}
	if (row->has_responder_sig &&
	    (p->responder_signature.data = malloc(KEYS_SIGNATURE_BYTES)) != NULL) {
		memcpy(p->responder_signature.data, row->responder_sig, KEYS_SIGNATURE_BYTES);
		p->responder_signature.len = KEYS_SIGNATURE_BYTES;
	}
	return p;
}

/* See gw.h. */
void
proposals_reply_local(struct gw *g, const uint8_t *rid, size_t rid_len, uint64_t seq,
		      const struct state_proposal *row)
{
	Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
	Piugw__ProposalsReply pr = PIUGW__PROPOSALS_REPLY__INIT;
	Piugw__Proposal *p = proposals_info(row);

	if (p == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		return;
	}
	pr.proposals = &p;
	pr.n_proposals = 1;
	r.kind_case = PIUGW__LOCAL_REPLY__KIND_PROPOSALS;
	r.proposals = &pr;
	reply_local_durable(g, seq, rid, rid_len, &r);
	piugw__proposal__free_unpacked(p, NULL);
}

/* See gw.h. */
void
proposals_list(struct gw *g, const char *ref, Piugw__LocalReply *out)
{
	struct state_proposal *v = NULL;
	size_t nv = 0;
	Piugw__ProposalsReply *pr = calloc(1, sizeof(*pr));

	if (pr == NULL)
		return;
	piugw__proposals_reply__init(pr);
	out->kind_case = PIUGW__LOCAL_REPLY__KIND_PROPOSALS;
	out->proposals = pr;
	if (state_proposal_list(g->state, &v, &nv) != 0 || nv == 0)
		return;
	if ((pr->proposals = calloc(nv, sizeof(*pr->proposals))) != NULL)
		for (size_t i = 0; i < nv; i++)
			if ((ref == NULL || ref[0] == '\0' || strcmp(ref, v[i].ref) == 0) &&
			    (pr->proposals[pr->n_proposals] = proposals_info(&v[i])) != NULL)
				pr->n_proposals++;
	for (size_t i = 0; i < nv; i++)
		state_proposal_clear(&v[i]);
	free(v);
}
