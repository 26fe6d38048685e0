/*
 * unmask.c: lawful unmasking, both sides (doc/protocol-notes.md section 7).
 *
 * After mask_after_days the elements Art 12(2) of Directive 2016/681 names
 * are masked in every answer. Art 12(3) allows them to be disclosed again
 * only where necessary for a specific case and approved beforehand by a
 * judicial or other independent authority. The asker names a masked match
 * of an earlier answer and the authorisation it holds (piugw unmask); the
 * answerer always holds the request for a person of its authorisers' role,
 * who records the authority's decision and lets the unmasked record go or
 * refuses it; the asker collects the decision as any held answer.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "disclose.h"
#include "gw.h"
#include "piugw/error.h"
#include "vocab.h"

/* Printable, no control character, 1 to max bytes. */
static bool
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/*
 * May requester ask responder for unmasked data under agreement_id, for
 * purpose? 0 with *pap and *tp, or the code with why.
 */
static int
terms_allow(struct gw *g, const char *agreement_id, const char *peer, const char *requester,
	    const char *responder, int purpose, const uint8_t *hash,
	    const struct policy_agreement **pap, const struct agreement_terms **tp, char *why,
	    size_t n)
{
	const struct policy_agreement *pa = NULL;
	int rc;

	if ((rc = policy_agreement_check(g->policy, agreement_id, peer, hash, requester, responder,
					 gw_now_ms(), &pa, tp, why, n)) != 0)
		return rc;
	if (!(*tp)->unmasking_allowed) {
		snprintf(why, n, "agreement %s does not allow masked data to be disclosed again "
			 "(its terms from %s to %s say unmasking: forbidden, or nothing)",
			 pa->a->id, requester, responder);
		return PIUGW_EUNMASKING;
	}
	if (!((*tp)->purposes & VOCAB_BIT(purpose))) {
		snprintf(why, n, "agreement %s does not allow the purpose %s", pa->a->id,
			 vocab_name(vocab_purposes, purpose));
		return PIUGW_EPURPOSE;
	}
	*pap = pa;
	return 0;
}

/* ---- the asker ---- */

static void on_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
		      const Piugw__Body *b, bool stale);
static void on_expired(struct gw *g, struct outreq *o);

/* Reply to o's caller with one answer, and keep it for piugw results if it waits. */
static void
settle(struct gw *g, struct outreq *o, Piugw__PeerAnswer *a, const char *approval_ref)
{
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__QueryReply qr = PIUGW__QUERY_REPLY__INIT;
	Piugw__PeerAnswer *v[1] = {a};
	size_t len = piugw__peer_answer__get_packed_size(a);
	uint8_t *buf = malloc(len ? len : 1);
	struct state_result r;

	if (buf != NULL && a->outcome == PIUGW__OUTCOME__OUTCOME_WAITING) {
		/* Polled in the background from now on, as any answer held for approval. */
		piugw__peer_answer__pack(a, buf);
		memset(&r, 0, sizeof(r));
		snprintf(r.request_id, sizeof(r.request_id), "%s", a->request_id);
		snprintf(r.peer, sizeof(r.peer), "%s", a->peer);
		snprintf(r.agreement_id, sizeof(r.agreement_id), "%s", a->agreement_id);
		snprintf(r.approval_ref, sizeof(r.approval_ref), "%s", approval_ref);
		r.operator_uid = o->uid;
		r.outcome = (int)a->outcome;
		r.sent_ms = a->sent_at_ms;
		r.updated_ms = gw_now_ms();
		r.answer = buf;
		r.answer_len = len;
		if (state_result_put(g->state, &r) != 0)
			gw_log(GW_ERROR, "state", "problem=%s request=%s",
			       gw_esc("an unmasking request could not be kept to be polled"),
			       a->request_id);
	}
	free(buf);
	if (o->caller != NULL) {
		qr.answers = v;
		qr.n_answers = 1;
		reply.kind_case = PIUGW__LOCAL_REPLY__KIND_QUERY;
		reply.query = &qr;
		reply_local(g, o->caller, o->caller_len, &reply);
	}
}

static void
on_answer(struct gw *g, struct outreq *o, const struct envelope_header *h, const Piugw__Body *b,
	  bool stale)
{
	Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	Piugw__Error e = PIUGW__ERROR__INIT;
	const char *approval_ref = "";
	char detail[400], why[300];

	a.peer = o->peer;
	a.request_id = o->request_id;
	a.agreement_id = o->agreement_id;
	a.sent_at_ms = o->first_ms;
	a.answered_at_ms = gw_now_ms();
	r.event = PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED;
	r.outbound = true;
	r.peer = o->peer;
	r.agreement_id = o->agreement_id;
	r.message_id.data = o->mid;
	r.message_id.len = sizeof(o->mid);
	snprintf(why, sizeof(why), "not a PENDING answer or an Error");
	if (stale ||
	    !outbound_reply_agreement_ok(o, h, b->kind_case == PIUGW__BODY__KIND_ERROR, why,
					 sizeof(why)) ||
	    (b->kind_case != PIUGW__BODY__KIND_ERROR &&
	     (b->kind_case != PIUGW__BODY__KIND_QUERY_RESULT ||
	      b->query_result->status != PIUGW__RESULT_STATUS__RESULT_PENDING ||
	      b->query_result->n_matches > 0))) {
		/* The first answer to an unmasking is PENDING (or an Error), nothing else. */
		snprintf(detail, sizeof(detail), "%s's answer to an unmasking request was refused "
			 "here: %s", o->peer, stale ? "it is outside the freshness window" : why);
		e.code = PIUGW__ERROR_CODE__ERROR_MALFORMED;
		e.detail = detail;
		a.outcome = PIUGW__OUTCOME__OUTCOME_BAD_ANSWER;
		a.error = &e;
		a.decided_here = true;
		r.refusal = PIUGW__ERROR_CODE__ERROR_MALFORMED;
		r.detail = detail;
	} else if (b->kind_case == PIUGW__BODY__KIND_ERROR) {
		a.outcome = PIUGW__OUTCOME__OUTCOME_REFUSED;
		a.error = b->error;
		r.refusal = (uint32_t)b->error->code;
		r.detail = (char *)"unmasking refused by the partner";
	} else {
		a.outcome = PIUGW__OUTCOME__OUTCOME_WAITING;
		a.result = b->query_result;
		approval_ref = b->query_result->approval_ref;
		r.detail = (char *)"unmasking held for an authoriser at the partner";
	}
	(void)gw_audit(g, &r, NULL);
	settle(g, o, &a, approval_ref);
}

static void
on_expired(struct gw *g, struct outreq *o)
{
	Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
	struct peer *p = gw_peer(g, o->peer);

	a.peer = o->peer;
	a.request_id = o->request_id;
	a.agreement_id = o->agreement_id;
	a.sent_at_ms = o->first_ms;
	a.answered_at_ms = gw_now_ms();
	a.outcome = p == NULL || !p->connected ? PIUGW__OUTCOME__OUTCOME_PEER_UNREACHABLE
					       : PIUGW__OUTCOME__OUTCOME_TIMEOUT;
	a.detail = (char *)"no answer to the unmasking request before the deadline; ask again";
	settle(g, o, &a, "");
}

/* See gw.h. */
void
unmask_local(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
	     const Piugw__LocalUnmask *lu)
{
	struct state_masked k;
	const struct policy_agreement *pa = NULL;
	const struct agreement_terms *t = NULL;
	Piugw__UnmaskRequest ur = PIUGW__UNMASK_REQUEST__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	uint8_t qmid[16];
	char who[64], why[400], detail[600];
	struct outreq *o;
	int rc;

	if (!text_ok(lu->authorisation_reference, 128) || !text_ok(lu->authority, 200) ||
	    !text_ok(lu->justification, 4000) ||
	    (lu->case_reference[0] != '\0' && !text_ok(lu->case_reference, 128))) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "an unmasking needs the authorisation's reference (at most 128 "
				  "characters), the authority (200) and the reason, without control "
				  "characters");
		return;
	}
	if (state_masked_by_match(g->state, lu->request_id, lu->match, &k) != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
				  "no masked match %u of request %s is known here: only a match "
				  "that came masked can be asked for again (piugw results shows "
				  "which)", lu->match, gw_esc(lu->request_id));
		return;
	}
	gw_user_name(uid, who, sizeof(who));
	if ((rc = terms_allow(g, k.agreement_id, k.peer, policy_config(g->policy)->id, k.peer,
			      lu->purpose, NULL, &pa, &t, why, sizeof(why))) != 0) {
		enum piugw_wire_error w = piugw_error_wire_code(rc);
		/* Stopped here, by our copy of the terms: on record, as a query stopped here. */
		r.event = PIUGW__AUDIT_EVENT__AUDIT_UNMASK_REQUESTED;
		r.outbound = true;
		r.peer = k.peer;
		r.agreement_id = k.agreement_id;
		r.purpose = (uint32_t)lu->purpose;
		r.case_reference = lu->case_reference;
		r.operator_ = who;
		r.refusal = (uint32_t)w;
		snprintf(detail, sizeof(detail), "stopped here: match %u of request %s: %s", lu->match,
			 k.request_id, why);
		r.detail = detail;
		(void)gw_audit(g, &r, NULL);
		reply_local_error(g, rid, rid_len, w == PIUGW_WIRE_NONE ? PIUGW_WIRE_INTERNAL : w,
				  "stopped here: %s", why);
		return;
	}
	sodium_hex2bin(qmid, sizeof(qmid), k.request_id, strlen(k.request_id), NULL, NULL, NULL);
	ur.record_ref.data = k.ref;
	ur.record_ref.len = sizeof(k.ref);
	ur.query_message_id.data = qmid;
	ur.query_message_id.len = sizeof(qmid);
	ur.authorisation_reference = lu->authorisation_reference;
	ur.authority = lu->authority;
	ur.justification = lu->justification;
	ur.case_reference = lu->case_reference;
	ur.purpose = lu->purpose;
	ur.requested_by = who;
	b.kind_case = PIUGW__BODY__KIND_UNMASK_REQUEST;
	b.unmask_request = &ur;
	o = outbound_request(g, k.peer, pa->a->id, pa->a->hash, &b, NULL, 0, NULL,
			     gw_now_ms() + (int64_t)policy_config(g->policy)->query_deadline_seconds *
						   1000,
			     on_answer, on_expired);
	if (o == NULL || (o->caller = malloc(rid_len)) == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the unmasking request could not be sealed");
		return;
	}
	memcpy(o->caller, rid, rid_len);
	o->caller_len = rid_len;
	o->uid = uid;
	r.event = PIUGW__AUDIT_EVENT__AUDIT_UNMASK_REQUESTED;
	r.outbound = true;
	r.peer = k.peer;
	r.agreement_id = pa->a->id;
	r.agreement_hash.data = pa->a->hash;
	r.agreement_hash.len = AGREEMENT_HASH_BYTES;
	r.message_id.data = o->mid;
	r.message_id.len = sizeof(o->mid);
	r.purpose = (uint32_t)lu->purpose;
	r.case_reference = lu->case_reference;
	r.operator_ = who;
	snprintf(detail, sizeof(detail), "match %u of request %s; authorisation %s (%s)", lu->match,
		 k.request_id, lu->authorisation_reference, lu->authority);
	r.detail = detail;
	(void)gw_audit(g, &r, NULL);
	gw_log(GW_INFO, "unmask_requested", "peer=%s request=%s match=%u", k.peer, k.request_id,
	       lu->match);
}

/* ---- the answerer ---- */

/*
 * The person behind masked reference m, disclosed as the terms t allow and
 * unmasked (the authorisation is why): one match. disclose_free *qrp.
 */
static int
unmasked(struct gw *g, const struct state_masked *m, const struct agreement_terms *t,
	 Piugw__QueryResult **qrp)
{
	struct store_result r;
	struct policy_decision dec;
	uint32_t masked = 0;
	int rc;

	memset(&dec, 0, sizeof(dec));
	dec.categories = t->categories;
	dec.max_results = 1;
	dec.mask_after_days = UINT32_MAX / 2; /* nothing masked: Art 12(3), authorised */
	dec.disclosure = PIUGW__DISCLOSURE__DISCLOSURE_FULL;
	dec.handling_code = t->handling_code;
	dec.onward_transfer = t->onward_transfer;
	if ((rc = store_search_row(g->store, m->row_id, &r)) != 0)
		return rc;
	if (r.n == 0) {
		store_result_clear(&r);
		return PIUGW_EUNKNOWNQUERY;
	}
	rc = disclose_build(g->store, &r, &dec, gw_now_ms(), qrp, &masked);
	store_result_clear(&r);
	return rc;
}

/* See gw.h. */
int
unmask_receive(struct gw *g, const char *peer, const uint8_t mid[16],
	       const struct envelope_header *h, const Piugw__UnmaskRequest *in,
	       struct unmask_answer *a, Piugw__AuditRecord *rec, Piugw__QueryResult **personp,
	       char *why, size_t n)
{
	const struct policy_agreement *pa = NULL;
	const struct agreement_terms *t = NULL;
	struct state_masked k;
	struct state_pending p;
	uint8_t rnd[6];
	int rc;

	*personp = NULL;
	rec->purpose = (uint32_t)in->purpose;
	rec->case_reference = in->case_reference;
	if (in->record_ref.len != sizeof(k.ref) || in->query_message_id.len != 16 ||
	    !text_ok(in->authorisation_reference, 128) || !text_ok(in->authority, 200) ||
	    !text_ok(in->justification, 4000) || !text_ok(in->requested_by, 64) ||
	    (in->case_reference[0] != '\0' && !text_ok(in->case_reference, 128))) {
		snprintf(why, n, "an UnmaskRequest has a 16-byte record_ref and query_message_id, "
				 "an authorisation reference (1 to 128 characters), the authority "
				 "(1 to 200), a justification and requested_by (1 to 64), without "
				 "control characters");
		return PIUGW_EMALFORMED;
	}
	if ((rc = terms_allow(g, h->agreement_id, peer, peer, policy_config(g->policy)->id,
			      in->purpose, h->has_agreement_hash ? h->agreement_hash : NULL, &pa,
			      &t, why, n)) != 0)
		return rc;
	if (state_masked_by_ref(g->state, in->record_ref.data, &k) != 0 ||
	    strcmp(k.peer, peer) != 0 || strcmp(k.agreement_id, pa->a->id) != 0) {
		snprintf(why, n, "no masked match sent to %s under that reference", peer);
		return PIUGW_EUNKNOWNQUERY;
	}
	/* Whom it is about, for the record (not sent until an authoriser decides). */
	if (unmasked(g, &k, t, personp) != 0)
		*personp = NULL;
	memset(&p, 0, sizeof(p));
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(p.ref, sizeof(p.ref), "UM-%02X%02X%02X%02X%02X%02X", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5]);
	p.kind = STATE_PENDING_UNMASK;
	snprintf(p.peer, sizeof(p.peer), "%s", peer);
	snprintf(p.agreement_id, sizeof(p.agreement_id), "%s", pa->a->id);
	memcpy(p.message_id, mid, sizeof(p.message_id));
	p.received_ms = gw_now_ms();
	p.query_len = piugw__unmask_request__get_packed_size(in);
	if ((p.query = malloc(p.query_len ? p.query_len : 1)) == NULL)
		return PIUGW_ENOMEM;
	piugw__unmask_request__pack(in, p.query);
	rc = state_pending_add(g->state, &p);
	snprintf(a->ref, sizeof(a->ref), "%s", p.ref);
	state_pending_clear(&p);
	if (rc != 0) {
		snprintf(why, n, "the request could not be held for an authoriser");
		return PIUGW_EINTERNAL;
	}
	piugw__query_result__init(&a->qr);
	a->qr.status = PIUGW__RESULT_STATUS__RESULT_PENDING;
	a->qr.approval_ref = a->ref;
	a->qr.handling_code = (Piugw__HandlingCode)t->handling_code;
	a->qr.disclosure = PIUGW__DISCLOSURE__DISCLOSURE_FULL;
	a->qr.onward_transfer = (Piugw__OnwardTransfer)t->onward_transfer;
	piugw__body__init(&a->body);
	a->body.kind_case = PIUGW__BODY__KIND_QUERY_RESULT;
	a->body.query_result = &a->qr;
	rec->event = PIUGW__AUDIT_EVENT__AUDIT_UNMASK_REQUESTED;
	rec->agreement_id = pa->a->id;
	snprintf(why, n, "%s held for an authoriser: match %u of request %s; authorisation %s "
		 "(%s), requested by %s", a->ref, k.match_no, k.request_id,
		 in->authorisation_reference, in->authority, in->requested_by);
	gw_log(GW_INFO, "unmask_held", "peer=%s ref=%s", peer, a->ref);
	return 0;
}

/* See gw.h. */
bool
unmask_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec, uint32_t uid,
	      Piugw__LocalReply *out, uint64_t *seqp)
{
	struct state_pending p;
	struct state_masked k;
	Piugw__UnmaskRequest *ur = NULL;
	Piugw__QueryResult *qr = NULL, denied = PIUGW__QUERY_RESULT__INIT;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	const struct policy_agreement *pa = NULL;
	const struct agreement_terms *t = NULL;
	Piugw__DecisionReply *dr;
	uint8_t *buf = NULL;
	size_t len = 0;
	char who[64], why[400], detail[700];
	bool asked_approval = approve;
	int rc;

	if (state_pending_get(g->state, dec->approval_ref, &p) != 0 ||
	    p.kind != STATE_PENDING_UNMASK) {
		state_pending_clear(&p);
		return false; /* not an unmasking's: a query's, or a notification's */
	}
	*seqp = 0;
	gw_user_name(uid, who, sizeof(who));
	out->kind_case = PIUGW__LOCAL_REPLY__KIND_ERROR;
	if ((out->error = calloc(1, sizeof(*out->error))) == NULL)
		goto done;
	piugw__local_error__init(out->error);
	out->error->code = PIUGW__ERROR_CODE__ERROR_UNKNOWN_SENDER;
	if (!policy_may_authorise(g->policy, uid)) {
		snprintf(why, sizeof(why), "%s is not in a group of authorisers (piugwd.yaml "
			 "authorisers): only they decide an unmasking", who);
		goto refused;
	}
	if ((ur = piugw__unmask_request__unpack(NULL, p.query_len, p.query)) == NULL) {
		out->error->code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
		snprintf(why, sizeof(why), "the held request could not be read");
		goto refused;
	}
	if (strcmp(ur->requested_by, who) == 0) {
		snprintf(why, sizeof(why), "%s asked for this unmasking and cannot also authorise "
			 "it: another authoriser must", who);
		goto refused;
	}
	if (p.status != STATE_PENDING) {
		out->error->code = PIUGW__ERROR_CODE__ERROR_UNKNOWN_QUERY;
		snprintf(why, sizeof(why), "%s is decided already", p.ref);
		goto refused;
	}
	if (approve && !text_ok(dec->authorisation, 128)) {
		out->error->code = PIUGW__ERROR_CODE__ERROR_JUSTIFICATION_REQUIRED;
		snprintf(why, sizeof(why), "approving an unmasking records the authority's decision "
			 "as you checked it: --authorisation REF");
		goto refused;
	}
	rc = terms_allow(g, p.agreement_id, p.peer, p.peer, policy_config(g->policy)->id,
			 ur->purpose, NULL, &pa, &t, why, sizeof(why));
	if (approve && rc == 0 &&
	    (state_masked_by_ref(g->state, ur->record_ref.data, &k) != 0 ||
	     (rc = unmasked(g, &k, t, &qr)) != 0)) {
		approve = false;
		snprintf(why, sizeof(why), "the record is no longer held here");
	} else if (approve && rc != 0) {
		approve = false; /* the terms changed since: refused, saying why */
	}
	if (approve) {
		len = piugw__query_result__get_packed_size(qr);
		if ((buf = malloc(len ? len : 1)) != NULL)
			piugw__query_result__pack(qr, buf);
	} else {
		denied.status = PIUGW__RESULT_STATUS__RESULT_DENIED;
		/* Asked to approve but it cannot go (gone, or the terms changed): why. */
		denied.denial_reason = asked_approval ? why : (char *)dec->reason;
		denied.approval_ref = p.ref;
		len = piugw__query_result__get_packed_size(&denied);
		if ((buf = malloc(len ? len : 1)) != NULL)
			piugw__query_result__pack(&denied, buf);
	}
	if (buf == NULL ||
	    state_pending_decide(g->state, p.ref, approve ? STATE_APPROVED : STATE_DENIED, buf,
				 len, who, gw_now_ms()) != 0) {
		out->error->code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
		snprintf(why, sizeof(why), "the decision could not be kept");
		goto refused;
	}
	/* On record: the references, the person who recorded them, and what goes. */
	r.event = PIUGW__AUDIT_EVENT__AUDIT_UNMASK_DECIDED;
	r.peer = p.peer;
	r.agreement_id = p.agreement_id;
	r.message_id.data = p.message_id;
	r.message_id.len = sizeof(p.message_id);
	r.purpose = (uint32_t)ur->purpose;
	r.case_reference = ur->case_reference;
	r.operator_ = who;
	snprintf(detail, sizeof(detail), "%s %s: authorisation %s (%s); %s%s", p.ref,
		 approve ? "approved" : "refused", ur->authorisation_reference, ur->authority,
		 approve ? "decision checked: " : "", approve ? dec->authorisation : "");
	r.detail = detail;
	{
		uint8_t d[8][AUDIT_DIGEST_BYTES];
		ProtobufCBinaryData dv[8];
		size_t nd = approve ? gw_result_digests(g, qr, d, 8) : 0;
		for (size_t i = 0; i < nd; i++) {
			dv[i].data = d[i];
			dv[i].len = AUDIT_DIGEST_BYTES;
		}
		r.subject_digests = dv;
		r.n_subject_digests = nd;
		if (approve) {
			r.categories = (uint32_t *)qr->categories;
			r.n_categories = qr->n_matches > 0 ? qr->n_categories : 0;
			r.record_count = (uint32_t)qr->n_matches;
		}
		if (gw_audit(g, &r, seqp) != 0)
			*seqp = 0;
	}
	gw_log(GW_INFO, "unmask_decided", "peer=%s ref=%s approved=%d operator=%s", p.peer, p.ref,
	       approve, gw_esc(who));
	piugw__local_error__free_unpacked(out->error, NULL);
	out->error = NULL;
	out->kind_case = PIUGW__LOCAL_REPLY__KIND__NOT_SET;
	if ((dr = calloc(1, sizeof(*dr))) != NULL) {
		piugw__decision_reply__init(dr);
		dr->approval_ref = strdup(p.ref);
		dr->status = approve ? PIUGW__RESULT_STATUS__RESULT_HIT
				     : PIUGW__RESULT_STATUS__RESULT_DENIED;
		dr->match_count = approve ? (uint32_t)qr->n_matches : 0;
		out->kind_case = PIUGW__LOCAL_REPLY__KIND_DECISION;
		out->decision = dr;
	}
	goto done;
refused:
	gw_log(GW_WARN, "unmask_decision_refused", "ref=%s operator=%s why=%s", p.ref, gw_esc(who),
	       gw_esc(why));
	out->error->detail = strdup(why);
done:
	free(buf);
	disclose_free(&qr);
	if (ur != NULL)
		piugw__unmask_request__free_unpacked(ur, NULL);
	state_pending_clear(&p);
	return true;
}

/* See gw.h. */
void
unmask_pending_item(const struct state_pending *p, Piugw__PendingItem *it)
{
	Piugw__UnmaskRequest *ur = piugw__unmask_request__unpack(NULL, p->query_len, p->query);

	it->kind = strdup("unmask");
	if (ur == NULL)
		return;
	it->purpose = ur->purpose;
	it->case_reference = strdup(ur->case_reference);
	it->justification = strdup(ur->justification);
	it->authorisation_reference = strdup(ur->authorisation_reference);
	it->authority = strdup(ur->authority);
	it->requested_by = strdup(ur->requested_by);
	piugw__unmask_request__free_unpacked(ur, NULL);
}
