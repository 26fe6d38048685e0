/*
 * lookouts.c: lookouts and notifications, both sides
 * (doc/protocol-notes.md section 6).
 *
 * The asker places a lookout at a partner (LookoutPlace), which holds it
 * until it expires or is withdrawn. The holder checks every row its
 * traveller store gains against the lookouts in force (an index by the
 * store's keys, lookout.h), a few thousand rows a turn, from the mark where
 * it stopped (state.db); a lookout fires once per person and flight. A fired
 * lookout is a Notification with what the terms' lookouts block allows,
 * sent at once or held for a person (notify: after_approval, and every
 * fuzzy match), then sent again, the same bytes, until the asker
 * acknowledges it. The asker keeps it as an alert for `piugw alerts`.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "disclose.h"
#include "envelope.pb-c.h"
#include "gw.h"
#include "lookout.h"
#include "piugw/error.h"
#include "vocab.h"

/* Rows of the store checked in one turn: about 10 ms of the loop. */
#define SCAN_BATCH 5000
/* How often expiry and suspension are looked at, and the store for new rows. */
#define SWEEP_MS 1000
#define SCAN_MARK "lookout_scan"

/* A local caller waiting for the answers to its lookouts, or for an alert. */
struct lk_wait {
	struct lk_wait *next;
	uint8_t rid[GW_CALLER_MAX];
	size_t rid_len;
	bool alerts;           /* piugw alerts --wait; else a place or a withdraw */
	bool all;              /* alerts: also the seen */
	char (*refs)[STATE_REF_MAX + 1]; /* our lookouts it waits for */
	size_t n, open;
	int64_t deadline_ms;
};

struct held {
	char ref[STATE_REF_MAX + 1];
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	Piugw__LookoutPlace *place;
};

struct gw_lookouts {
	struct lookout_index *ix;
	struct held *held;     /* the lookouts indexed (entry.user) */
	size_t nheld;
	bool dirty;            /* rebuild the index */
	bool have_mark;
	int64_t mark;          /* the store rows checked: up to this id */
	int64_t next_scan_ms;
	int64_t next_sweep_ms;
	int64_t last_send_round_ms;
	struct lk_wait *waits;
	/* The check of an import's rows, from its first batch to the last (logged). */
	int64_t catch_start_us;
	uint64_t catch_rows, catch_fired;
};

static struct gw_lookouts *
lk(struct gw *g)
{
	if (g->lookouts == NULL && (g->lookouts = calloc(1, sizeof(*g->lookouts))) != NULL)
		g->lookouts->dirty = true;
	return g->lookouts;
}

static void
new_ref(const char *prefix, char *out, size_t size)
{
	uint8_t rnd[6];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(out, size, "%s-%02X%02X%02X%02X%02X%02X", prefix, rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5]);
}

static bool
printable(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* The keyed digests of whom q searches for and r discloses, into rec (storage in d, v). */
static void
record_digests(struct gw *g, Piugw__AuditRecord *rec, const Piugw__Query *q,
	       const Piugw__QueryResult *r, uint8_t d[][AUDIT_DIGEST_BYTES], ProtobufCBinaryData *v,
	       size_t max)
{
	struct audit_digest_input *in = calloc(max, sizeof(*in));
	size_t nin = 0, n;

	rec->n_subject_digests = 0;
	if (in == NULL)
		return;
	if (q != NULL)
		nin += audit_query_digest_inputs(q, in);
	if (r != NULL && nin < max)
		nin += audit_result_digest_inputs(r, in + nin, max - nin);
	n = gw_digests(g, in, nin, d);
	for (size_t i = 0; i < n; i++) {
		v[i].data = d[i];
		v[i].len = AUDIT_DIGEST_BYTES;
	}
	rec->subject_digests = v;
	rec->n_subject_digests = n;
	free(in);
}

/* rec for the lookout row l (peer, agreement, purpose, case, query type). */
static void
record_of(Piugw__AuditRecord *rec, const struct state_lookout *l, const Piugw__LookoutPlace *lp,
	  const struct gw *g)
{
	const struct policy_agreement *pa = policy_agreement(g->policy, l->agreement_id);

	rec->peer = (char *)l->peer;
	rec->agreement_id = (char *)l->agreement_id;
	if (pa != NULL) {
		rec->agreement_hash.data = pa->a->hash;
		rec->agreement_hash.len = AGREEMENT_HASH_BYTES;
	}
	rec->outbound = !l->incoming;
	rec->query_type = (uint32_t)l->query_type;
	if (lp != NULL) {
		rec->purpose = (uint32_t)lp->purpose;
		rec->case_reference = lp->case_reference;
		rec->offence = (uint32_t)(lp->offence[0] ? vocab_offence(lp->offence,
									 strlen(lp->offence))
							 : 0);
		if ((int)rec->offence < 0)
			rec->offence = 0;
	}
}

static Piugw__LookoutPlace *
place_of(const struct state_lookout *l)
{
	return piugw__lookout_place__unpack(NULL, l->place_len, l->place);
}

/* Audit a step of lookout l (its query's digests, and r's if any). 0 or the error. */
static int
audit_step(struct gw *g, const struct state_lookout *l, int event, const char *detail,
	   const Piugw__QueryResult *r, int refusal, uint64_t *seqp)
{
	Piugw__AuditRecord rec = PIUGW__AUDIT_RECORD__INIT;
	Piugw__LookoutPlace *lp = place_of(l);
	Piugw__Query q;
	uint8_t d[8][AUDIT_DIGEST_BYTES];
	ProtobufCBinaryData v[8];
	int rc;

	rec.event = (Piugw__AuditEvent)event;
	record_of(&rec, l, lp, g);
	rec.detail = (char *)detail;
	rec.refusal = (uint32_t)refusal;
	if (lp != NULL)
		lookout_as_query(lp, &q);
	record_digests(g, &rec, lp != NULL ? &q : NULL, r, d, v, 8);
	if (r != NULL && r->n_matches > 0) {
		rec.categories = (uint32_t *)r->categories;
		rec.n_categories = r->n_categories;
		rec.record_count = (uint32_t)r->n_matches;
	}
	rc = gw_audit(g, &rec, seqp);
	if (lp != NULL)
		piugw__lookout_place__free_unpacked(lp, NULL);
	return rc;
}

/* ---- the asker's side: placing and withdrawing ours ---- */

static Piugw__Lookout *
lookout_info(const struct state_lookout *l)
{
	Piugw__Lookout *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	piugw__lookout__init(o);
	o->reference = strdup(l->ref);
	o->incoming = l->incoming;
	o->peer = strdup(l->peer);
	o->agreement_id = strdup(l->agreement_id);
	o->their_reference = strdup(l->their_ref);
	o->state = (Piugw__LookoutState)l->state;
	o->detail = strdup(l->detail);
	o->place = place_of(l);
	o->query_type = (Piugw__QueryType)l->query_type;
	/*
	 * A partner's lookout: whom it looks for stays in state.db, for the
	 * matching; operators here see its kind, purpose and case, and a
	 * person deciding a held notification sees the match itself.
	 */
	if (l->incoming && o->place != NULL) {
		if (o->place->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT)
			piugw__document_criteria__free_unpacked(o->place->document, NULL);
		else if (o->place->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_NAME)
			piugw__name_criteria__free_unpacked(o->place->name, NULL);
		else if (o->place->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY)
			piugw__name_criteria__free_unpacked(o->place->name_fuzzy, NULL);
		o->place->document = NULL; /* one pointer of the oneof's union */
		o->place->criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA__NOT_SET;
	}
	o->expires_at_ms = l->expires_ms;
	o->created_at_ms = l->created_ms;
	o->updated_at_ms = l->updated_ms;
	o->placed_by = strdup(l->operator_name);
	if (o->reference == NULL || o->peer == NULL || o->agreement_id == NULL ||
	    o->their_reference == NULL || o->detail == NULL || o->placed_by == NULL) {
		piugw__lookout__free_unpacked(o, NULL);
		return NULL;
	}
	return o;
}

/* Answer a waiting caller with the rows of refs. */
static void
reply_rows(struct gw *g, const uint8_t *rid, size_t rid_len, char (*refs)[STATE_REF_MAX + 1],
	   size_t n, uint64_t seq)
{
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__LookoutsReply *lr = calloc(1, sizeof(*lr));

	if (lr != NULL)
		piugw__lookouts_reply__init(lr);
	if (lr == NULL || (n > 0 && (lr->lookouts = calloc(n, sizeof(*lr->lookouts))) == NULL)) {
		free(lr);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct state_lookout l;
		if (state_lookout_get(g->state, refs[i], &l) == 0 &&
		    (lr->lookouts[lr->n_lookouts] = lookout_info(&l)) != NULL)
			lr->n_lookouts++;
		state_lookout_clear(&l);
	}
	reply.kind_case = PIUGW__LOCAL_REPLY__KIND_LOOKOUTS;
	reply.lookouts = lr;
	if (seq != 0)
		reply_local_durable(g, seq, rid, rid_len, &reply);
	else
		reply_local(g, rid, rid_len, &reply);
	piugw__lookouts_reply__free_unpacked(lr, NULL);
}

/* One of a waiting caller's lookouts is settled: answer it once all are. */
static void
wait_settled(struct gw *g, const char *ref, uint64_t seq)
{
	struct gw_lookouts *L = lk(g);

	for (struct lk_wait **pp = L != NULL ? &L->waits : NULL; pp != NULL && *pp != NULL;
	     pp = &(*pp)->next) {
		struct lk_wait *w = *pp;
		bool mine = false;
		if (w->alerts)
			continue;
		for (size_t i = 0; i < w->n && !mine; i++)
			mine = strcmp(w->refs[i], ref) == 0;
		if (!mine || --w->open > 0)
			continue;
		reply_rows(g, w->rid, w->rid_len, w->refs, w->n, seq);
		*pp = w->next;
		free(w->refs);
		free(w);
		return;
	}
}

static void on_place_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
			    const Piugw__Body *b, bool stale);
static void on_place_expired(struct gw *g, struct outreq *o);

/* Settle our lookout ref: state, detail, and its record. */
static void
settle_ours(struct gw *g, const char *ref, int state, const char *their_ref, int64_t expires_ms,
	    int event, int refusal, const char *detail)
{
	struct state_lookout l;
	uint64_t seq = 0;

	if (state_lookout_get(g->state, ref, &l) != 0) {
		state_lookout_clear(&l);
		wait_settled(g, ref, 0);
		return;
	}
	l.state = state;
	if (their_ref != NULL)
		snprintf(l.their_ref, sizeof(l.their_ref), "%s", their_ref);
	if (expires_ms > 0 && expires_ms < l.expires_ms)
		l.expires_ms = expires_ms;
	snprintf(l.detail, sizeof(l.detail), "%s", detail);
	l.updated_ms = gw_now_ms();
	if (state_lookout_put(g->state, &l) != 0)
		gw_log(GW_ERROR, "state", "problem=%s", gw_esc("a lookout could not be kept"));
	{
		char d[600];
		snprintf(d, sizeof(d), "%s%s%s: %s", l.ref, l.their_ref[0] ? " at the partner " : "",
			 l.their_ref, detail);
		if (audit_step(g, &l, event, d, NULL, refusal, &seq) != 0)
			seq = 0;
	}
	gw_log(GW_INFO, "lookout", "peer=%s ref=%s state=%d", l.peer, l.ref, state);
	state_lookout_clear(&l);
	wait_settled(g, ref, seq);
}

static void
on_place_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
		const Piugw__Body *b, bool stale)
{
	char why[400];

	if (stale) {
		settle_ours(g, o->request_id, STATE_LOOKOUT_REFUSED, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED, PIUGW_WIRE_STALE,
			    "the partner's answer is outside the freshness window (check the "
			    "clocks); place it again");
		return;
	}
	if (!outbound_reply_agreement_ok(o, h, b->kind_case == PIUGW__BODY__KIND_ERROR, why,
					 sizeof(why))) {
		settle_ours(g, o->request_id, STATE_LOOKOUT_REFUSED, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED, 0, why);
		return;
	}
	if (b->kind_case == PIUGW__BODY__KIND_ERROR) {
		snprintf(why, sizeof(why), "refused by %s: %s: %s", o->peer,
			 piugw_wire_error_name((enum piugw_wire_error)b->error->code),
			 b->error->detail);
		settle_ours(g, o->request_id, STATE_LOOKOUT_REFUSED, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED, (int)b->error->code, why);
		return;
	}
	if (b->kind_case != PIUGW__BODY__KIND_LOOKOUT_REPLY ||
	    b->lookout_reply->status != PIUGW__LOOKOUT_STATUS__LOOKOUT_ACTIVE ||
	    !printable(b->lookout_reply->reference, 1, STATE_REF_MAX)) {
		settle_ours(g, o->request_id, STATE_LOOKOUT_REFUSED, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED, 0,
			    "a bad answer: not a LookoutReply ACTIVE with a reference");
		return;
	}
	snprintf(why, sizeof(why), "held by %s%s", o->peer,
		 b->lookout_reply->held_for_review ? "; its notifications are seen by a person "
						     "there first"
						   : "");
	settle_ours(g, o->request_id, STATE_LOOKOUT_ACTIVE, b->lookout_reply->reference,
		    b->lookout_reply->expires_at_ms, PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_ACCEPTED, 0,
		    why);
}

static void
on_place_expired(struct gw *g, struct outreq *o)
{
	struct peer *p = gw_peer(g, o->peer);
	struct state_lookout l;

	/*
	 * Kept, and sent again until the partner takes it (resend_round), under
	 * the same asker_reference: held there once even if an answer was lost.
	 */
	if (state_lookout_get(g->state, o->request_id, &l) == 0 &&
	    l.state == STATE_LOOKOUT_SENDING) {
		snprintf(l.detail, sizeof(l.detail), "not delivered yet: %s; kept and sent again "
			 "until %s takes it", p == NULL || !p->connected ? "no connection to the "
									 "partner"
									   : "no answer before the deadline",
			 o->peer);
		l.updated_ms = gw_now_ms();
		(void)state_lookout_put(g->state, &l);
	}
	state_lookout_clear(&l);
	wait_settled(g, o->request_id, 0);
}

/* Send our lookout l (SENDING) again: the LookoutPlace it was, its own reference in it. */
static void
place_again(struct gw *g, const struct state_lookout *l, int64_t now)
{
	const struct policy_agreement *pa = policy_agreement(g->policy, l->agreement_id);
	Piugw__LookoutPlace *lp = place_of(l);
	Piugw__Body b = PIUGW__BODY__INIT;
	struct outreq *o;

	if (pa == NULL || lp == NULL || outbound_other_in_flight(g, on_place_answer, l->ref) != NULL) {
		if (lp != NULL)
			piugw__lookout_place__free_unpacked(lp, NULL);
		return;
	}
	b.kind_case = PIUGW__BODY__KIND_LOOKOUT_PLACE;
	b.lookout_place = lp;
	o = outbound_request(g, l->peer, pa->a->id, pa->a->hash, &b, NULL, 0, NULL,
			     now + (int64_t)policy_config(g->policy)->query_deadline_seconds * 1000,
			     on_place_answer, on_place_expired);
	if (o != NULL)
		snprintf(o->request_id, sizeof(o->request_id), "%.32s", l->ref);
	piugw__lookout_place__free_unpacked(lp, NULL);
}

/*
 * One lookout of ours to peer: judged by our copy of the terms (refused
 * here with the code the partner would give), kept, audited, sent.
 * 0 with *refp our reference, or the code with why.
 */
static int
place_one(struct gw *g, const char *peer, const char *agreement_id, const Piugw__LookoutPlace *in,
	  const char *who, bool fanout, char ref[STATE_REF_MAX + 1], char *why, size_t n)
{
	struct policy_request req;
	struct policy_decision dec;
	struct state_lookout l;
	Piugw__LookoutPlace lp = *in;
	Piugw__Query q;
	Piugw__Body b = PIUGW__BODY__INIT;
	int64_t now = gw_now_ms(), longest;
	struct outreq *o;
	uint32_t held = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	lookout_as_query(&lp, &q);
	if (!policy_from_query(&q, &req, why, n))
		return PIUGW_EMALFORMED;
	req.direction = POLICY_OUTBOUND;
	req.peer = peer;
	req.agreement_id = agreement_id != NULL && agreement_id[0] ? agreement_id : NULL;
	req.now_ms = now;
	req.lookout = true;
	memset(&l, 0, sizeof(l));
	new_ref("LK", l.ref, sizeof(l.ref));
	l.incoming = false;
	snprintf(l.peer, sizeof(l.peer), "%s", peer);
	snprintf(l.operator_name, sizeof(l.operator_name), "%s", who);
	l.query_type = req.query_type;
	l.created_ms = l.updated_ms = now;
	if ((rc = policy_decide(g->policy, NULL, &req, &dec)) == 0 &&
	    state_lookout_count(g->state, false, peer, dec.agreement->a->id, &held) == 0 &&
	    held >= dec.terms->lookouts.max_in_force) {
		rc = PIUGW_ETOOMANYLOOKOUTS;
		snprintf(dec.detail, sizeof(dec.detail),
			 "agreement %s allows %u lookouts of ours at %s at once, and we hold "
			 "them; withdraw one first (piugw lookout withdraw)",
			 dec.agreement->a->id, dec.terms->lookouts.max_in_force, peer);
	}
	if (dec.agreement != NULL)
		snprintf(l.agreement_id, sizeof(l.agreement_id), "%s", dec.agreement->a->id);
	if (rc == 0) {
		longest = now + (int64_t)dec.terms->lookouts.max_days * 86400000;
		if (lp.expires_at_ms == 0 || lp.expires_at_ms > longest)
			lp.expires_at_ms = longest;
	}
	l.expires_ms = lp.expires_at_ms;
	lp.asker_reference = l.ref;
	l.place_len = piugw__lookout_place__get_packed_size(&lp);
	if ((l.place = malloc(l.place_len ? l.place_len : 1)) == NULL)
		return PIUGW_ENOMEM;
	piugw__lookout_place__pack(&lp, l.place);
	if (rc != 0) {
		/*
		 * Stopped here: on record, as a query stopped here is; a partner
		 * a fan-out (--to all) leaves out because its terms allow no such
		 * lookout was not asked, and is not recorded.
		 */
		char d[400];
		snprintf(why, n, "%s", dec.detail);
		snprintf(d, sizeof(d), "stopped here: %s", dec.detail);
		if (l.agreement_id[0] != '\0' && (!fanout || rc == PIUGW_ETOOMANYLOOKOUTS))
			(void)audit_step(g, &l, PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED, d, NULL,
					 piugw_error_wire_code(rc), NULL);
		state_lookout_clear(&l);
		return rc;
	}
	l.state = STATE_LOOKOUT_SENDING;
	snprintf(l.detail, sizeof(l.detail), "sent to %s", peer);
	if (state_lookout_put(g->state, &l) != 0 ||
	    audit_step(g, &l, PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_PLACED, l.ref, NULL, 0, NULL) != 0) {
		snprintf(why, n, "the lookout could not be kept or recorded");
		state_lookout_clear(&l);
		return PIUGW_EINTERNAL;
	}
	b.kind_case = PIUGW__BODY__KIND_LOOKOUT_PLACE;
	b.lookout_place = &lp;
	o = outbound_request(g, peer, dec.agreement->a->id, dec.agreement->a->hash, &b, NULL, 0,
			     NULL, now + (int64_t)policy_config(g->policy)->query_deadline_seconds * 1000,
			     on_place_answer, on_place_expired);
	if (o == NULL) {
		snprintf(why, n, "the lookout could not be sealed");
		state_lookout_clear(&l);
		return PIUGW_EINTERNAL;
	}
	snprintf(o->request_id, sizeof(o->request_id), "%.32s", l.ref);
	snprintf(ref, STATE_REF_MAX + 1, "%s", l.ref);
	gw_log(GW_INFO, "lookout_placed", "peer=%s agreement=%s ref=%s", peer, l.agreement_id,
	       l.ref);
	state_lookout_clear(&l);
	return 0;
}

/* See gw.h. */
void
lookouts_local_place(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		     const Piugw__LocalLookoutPlace *lp)
{
	struct gw_lookouts *L = lk(g);
	struct lk_wait *w;
	char who[64], why[400], first_why[480] = "";
	char (*asked)[KEYS_ID_MAX + 1] = NULL;
	int first_rc = 0;
	size_t cap = policy_agreement_count(g->policy) + 1, nasked = 0;

	if (L == NULL || lp->lookout == NULL) {
		reply_local_error(g, rid, rid_len, L == NULL ? PIUGW_WIRE_INTERNAL
							     : PIUGW_WIRE_MALFORMED,
				  L == NULL ? "out of memory" : "a lookout to place is missing");
		return;
	}
	if (lp->lookout->expires_at_ms != 0 && lp->lookout->expires_at_ms <= gw_now_ms()) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "the lookout's expiry is not in the future");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->refs = calloc(cap, sizeof(*w->refs))) == NULL ||
	    (asked = calloc(cap, sizeof(*asked))) == NULL) {
		if (w != NULL)
			free(w->refs);
		free(w);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		return;
	}
	memcpy(w->rid, rid, rid_len);
	w->rid_len = rid_len;
	gw_user_name(uid, who, sizeof(who));
	if (strcmp(lp->to, "all") == 0) {
		/*
		 * Every partner whose terms let this lookout through, once (under
		 * the first of its agreements that does); the others are not asked.
		 */
		for (size_t i = 0; i < policy_agreement_count(g->policy) && w->n < cap; i++) {
			const struct policy_agreement *pa = policy_agreement_at(g->policy, i);
			bool dup = false;
			int rc;
			for (size_t k = 0; k < nasked; k++)
				dup |= strcmp(asked[k], pa->peer) == 0;
			if (dup)
				continue;
			rc = place_one(g, pa->peer, pa->a->id, lp->lookout, who, true, w->refs[w->n],
				       why, sizeof(why));
			if (rc == 0) {
				w->n++;
				snprintf(asked[nasked++], sizeof(asked[0]), "%s", pa->peer);
			}
			else if (first_rc == 0) {
				first_rc = rc;
				snprintf(first_why, sizeof(first_why), "%s: %s", pa->peer, why);
			}
		}
	} else {
		int rc = place_one(g, lp->to, lp->agreement_id, lp->lookout, who, false, w->refs[0],
				   why, sizeof(why));
		if (rc == 0)
			w->n = 1;
		else {
			first_rc = rc;
			snprintf(first_why, sizeof(first_why), "%s", why);
		}
	}
	free(asked);
	if (w->n == 0) {
		enum piugw_wire_error c = piugw_error_wire_code(first_rc);
		reply_local_error(g, rid, rid_len, c == PIUGW_WIRE_NONE ? PIUGW_WIRE_INTERNAL : c,
				  "%s", first_why[0] ? first_why
						     : "no partner's terms allow this lookout");
		free(w->refs);
		free(w);
		return;
	}
	w->open = w->n;
	w->next = L->waits;
	L->waits = w;
}

static void on_withdraw_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
			       const Piugw__Body *b, bool stale);
static void on_withdraw_expired(struct gw *g, struct outreq *o);

/* See gw.h. */
void
lookouts_local_withdraw(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
			const Piugw__LocalLookoutWithdraw *lw)
{
	struct gw_lookouts *L = lk(g);
	struct state_lookout l;
	const struct policy_agreement *pa;
	Piugw__LookoutWithdraw wd = PIUGW__LOOKOUT_WITHDRAW__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	struct outreq *o;
	struct lk_wait *w;

	(void)uid;
	if (state_lookout_get(g->state, lw->reference, &l) != 0 || l.incoming) {
		state_lookout_clear(&l);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
				  "no lookout of ours under %s (piugw lookout list)", gw_esc(lw->reference));
		return;
	}
	if (l.state != STATE_LOOKOUT_ACTIVE && l.state != STATE_LOOKOUT_SUSPENDED) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
				  "lookout %s is not in force at %s (it is %s)", l.ref, l.peer,
				  l.state == STATE_LOOKOUT_WITHDRAWN ? "withdrawn"
				  : l.state == STATE_LOOKOUT_EXPIRED ? "expired"
								     : "not placed");
		state_lookout_clear(&l);
		return;
	}
	pa = policy_agreement(g->policy, l.agreement_id);
	wd.reference = l.their_ref;
	b.kind_case = PIUGW__BODY__KIND_LOOKOUT_WITHDRAW;
	b.lookout_withdraw = &wd;
	if (L == NULL || pa == NULL || (w = calloc(1, sizeof(*w))) == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "%s",
				  pa == NULL ? "its agreement is no longer held here"
					     : "out of memory");
		state_lookout_clear(&l);
		return;
	}
	if ((w->refs = calloc(1, sizeof(*w->refs))) == NULL ||
	    (o = outbound_request(g, l.peer, pa->a->id, pa->a->hash, &b, NULL, 0, NULL,
				  gw_now_ms() + (int64_t)policy_config(g->policy)
							->query_deadline_seconds * 1000,
				  on_withdraw_answer, on_withdraw_expired)) == NULL) {
		free(w->refs);
		free(w);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the withdrawal could not be sealed");
		state_lookout_clear(&l);
		return;
	}
	snprintf(o->request_id, sizeof(o->request_id), "%.32s", l.ref);
	memcpy(w->rid, rid, rid_len);
	w->rid_len = rid_len;
	snprintf(w->refs[0], sizeof(w->refs[0]), "%s", l.ref);
	w->n = w->open = 1;
	w->next = L->waits;
	L->waits = w;
	state_lookout_clear(&l);
}

static void
on_withdraw_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
		   const Piugw__Body *b, bool stale)
{
	char why[400];

	if (stale || !outbound_reply_agreement_ok(o, h, b->kind_case == PIUGW__BODY__KIND_ERROR,
						  why, sizeof(why))) {
		if (stale)
			snprintf(why, sizeof(why), "the answer is outside the freshness window");
		goto not_withdrawn;
	}
	if (b->kind_case == PIUGW__BODY__KIND_LOOKOUT_REPLY &&
	    b->lookout_reply->status == PIUGW__LOOKOUT_STATUS__LOOKOUT_WITHDRAWN) {
		snprintf(why, sizeof(why), "withdrawn at %s", o->peer);
		settle_ours(g, o->request_id, STATE_LOOKOUT_WITHDRAWN, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_WITHDRAWN, 0, why);
		return;
	}
	/* The partner holds it no more (expired there): withdrawn all the same. */
	if (b->kind_case == PIUGW__BODY__KIND_ERROR &&
	    b->error->code == PIUGW__ERROR_CODE__ERROR_UNKNOWN_QUERY) {
		snprintf(why, sizeof(why), "%s holds it no more", o->peer);
		settle_ours(g, o->request_id, STATE_LOOKOUT_WITHDRAWN, NULL, 0,
			    PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_WITHDRAWN, PIUGW_WIRE_UNKNOWN_QUERY,
			    why);
		return;
	}
	if (b->kind_case == PIUGW__BODY__KIND_ERROR)
		snprintf(why, sizeof(why), "refused by %s: %s", o->peer,
			 piugw_wire_error_name((enum piugw_wire_error)b->error->code));
	else
		snprintf(why, sizeof(why), "a bad answer from %s", o->peer);
not_withdrawn:
	{
		struct gw_lookouts *L = lk(g);
		for (struct lk_wait **pp = L != NULL ? &L->waits : NULL; pp && *pp;
		     pp = &(*pp)->next)
			if (!(*pp)->alerts && (*pp)->n == 1 &&
			    strcmp((*pp)->refs[0], o->request_id) == 0) {
				struct lk_wait *w = *pp;
				reply_local_error(g, w->rid, w->rid_len, PIUGW_WIRE_INTERNAL,
						  "not withdrawn: %s; try again", why);
				*pp = w->next;
				free(w->refs);
				free(w);
				break;
			}
	}
}

static void
on_withdraw_expired(struct gw *g, struct outreq *o)
{
	Piugw__Error e = PIUGW__ERROR__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	struct envelope_header h;

	/* Told as a refusal: the lookout stays in force there and here. */
	memset(&h, 0, sizeof(h));
	snprintf(h.agreement_id, sizeof(h.agreement_id), "%s", o->agreement_id);
	h.has_agreement_hash = o->has_hash;
	memcpy(h.agreement_hash, o->agreement_hash, sizeof(h.agreement_hash));
	e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
	e.detail = (char *)"no answer before the deadline";
	b.kind_case = PIUGW__BODY__KIND_ERROR;
	b.error = &e;
	on_withdraw_answer(g, o, &h, &b, false);
}

/* See gw.h. */
void
lookouts_local_list(struct gw *g, const char *ref, Piugw__LocalReply *out)
{
	struct state_lookout *v = NULL;
	size_t n = 0;
	Piugw__LookoutsReply *lr = calloc(1, sizeof(*lr));

	if (lr == NULL)
		return;
	piugw__lookouts_reply__init(lr);
	if (state_lookout_list(g->state, -1, -1, &v, &n) == 0 && n > 0 &&
	    (lr->lookouts = calloc(n, sizeof(*lr->lookouts))) != NULL)
		for (size_t i = 0; i < n; i++)
			if ((ref == NULL || ref[0] == '\0' || strcmp(ref, v[i].ref) == 0) &&
			    (lr->lookouts[lr->n_lookouts] = lookout_info(&v[i])) != NULL)
				lr->n_lookouts++;
	for (size_t i = 0; i < n; i++)
		state_lookout_clear(&v[i]);
	free(v);
	/* How many notifications each has had. */
	{
		struct state_notification *nv = NULL;
		size_t nn = 0;
		if (state_notification_list(g->state, -1, -1, &nv, &nn) == 0)
			for (size_t i = 0; i < nn; i++) {
				for (size_t k = 0; k < lr->n_lookouts; k++)
					if (strcmp(lr->lookouts[k]->reference, nv[i].lookout_ref) ==
					    0)
						lr->lookouts[k]->notifications++;
				state_notification_clear(&nv[i]);
			}
		free(nv);
	}
	out->kind_case = PIUGW__LOCAL_REPLY__KIND_LOOKOUTS;
	out->lookouts = lr;
}

/* ---- the holder's side: partners' lookouts ---- */

/* See gw.h. */
int
lookouts_receive_place(struct gw *g, const char *peer, const struct envelope_header *h,
		       const Piugw__LookoutPlace *in, struct lookouts_answer *a,
		       Piugw__AuditRecord *rec, char *why, size_t n)
{
	struct policy_request req;
	struct policy_decision dec;
	struct state_lookout l;
	Piugw__LookoutPlace lp = *in;
	Piugw__Query q;
	int64_t now = gw_now_ms(), longest;
	uint32_t held = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	lookout_as_query(&lp, &q);
	if (!policy_from_query(&q, &req, why, n))
		return PIUGW_EMALFORMED;
	if (lp.expires_at_ms <= now) {
		snprintf(why, n, "expires_at_ms %lld is not in the future",
			 (long long)lp.expires_at_ms);
		return PIUGW_EMALFORMED;
	}
	req.direction = POLICY_INBOUND;
	req.peer = peer;
	req.agreement_id = h->agreement_id;
	req.agreement_hash = h->has_agreement_hash ? h->agreement_hash : NULL;
	req.now_ms = now;
	req.lookout = true;
	rec->query_type = (uint32_t)req.query_type;
	if ((rc = policy_decide(g->policy, NULL, &req, &dec)) != 0) {
		snprintf(why, n, "%s", dec.detail);
		return rc;
	}
	/* Sent again under the asker's reference (its answer was lost): held once. */
	if (lp.asker_reference[0] != '\0') {
		struct state_lookout dup;
		if (strlen(lp.asker_reference) > STATE_REF_MAX) {
			snprintf(why, n, "asker_reference is at most %d characters", STATE_REF_MAX);
			return PIUGW_EMALFORMED;
		}
		if (state_lookout_theirs(g->state, true, peer, lp.asker_reference, &dup) == 0 &&
		    (dup.state == STATE_LOOKOUT_ACTIVE || dup.state == STATE_LOOKOUT_SUSPENDED)) {
			snprintf(a->ref, sizeof(a->ref), "%s", dup.ref);
			lp.expires_at_ms = dup.expires_ms;
			state_lookout_clear(&dup);
			goto reply;
		}
		state_lookout_clear(&dup);
	}
	if (state_lookout_count(g->state, true, peer, dec.agreement->a->id, &held) != 0) {
		snprintf(why, n, "the lookouts held could not be counted");
		return PIUGW_EINTERNAL;
	}
	if (held >= dec.terms->lookouts.max_in_force) {
		snprintf(why, n, "agreement %s allows %s %u lookouts here at once; it holds %u",
			 dec.agreement->a->id, peer, dec.terms->lookouts.max_in_force, held);
		return PIUGW_ETOOMANYLOOKOUTS;
	}
	longest = now + (int64_t)dec.terms->lookouts.max_days * 86400000;
	if (lp.expires_at_ms > longest)
		lp.expires_at_ms = longest;
	memset(&l, 0, sizeof(l));
	new_ref("LO", l.ref, sizeof(l.ref));
	l.incoming = true;
	snprintf(l.peer, sizeof(l.peer), "%s", peer);
	snprintf(l.agreement_id, sizeof(l.agreement_id), "%s", dec.agreement->a->id);
	l.query_type = req.query_type;
	l.state = STATE_LOOKOUT_ACTIVE;
	l.expires_ms = lp.expires_at_ms;
	l.created_ms = l.updated_ms = now;
	l.place_len = piugw__lookout_place__get_packed_size(&lp);
	if ((l.place = malloc(l.place_len ? l.place_len : 1)) == NULL)
		return PIUGW_ENOMEM;
	piugw__lookout_place__pack(&lp, l.place);
	snprintf(l.detail, sizeof(l.detail), "held for %s", peer);
	snprintf(l.their_ref, sizeof(l.their_ref), "%s", lp.asker_reference);
	rc = state_lookout_put(g->state, &l);
	state_lookout_clear(&l);
	if (rc != 0) {
		snprintf(why, n, "the lookout could not be kept");
		return PIUGW_EINTERNAL;
	}
	if (lk(g) != NULL)
		g->lookouts->dirty = true;
	snprintf(a->ref, sizeof(a->ref), "%s", l.ref);
reply:
	a->ncats = 0;
	for (int c = 1; c < 32 && a->ncats < 32; c++)
		if (dec.categories & VOCAB_BIT(c))
			a->cats[a->ncats++] = (Piugw__Category)c;
	piugw__lookout_reply__init(&a->lr);
	a->lr.status = PIUGW__LOOKOUT_STATUS__LOOKOUT_ACTIVE;
	a->lr.reference = a->ref;
	a->lr.expires_at_ms = lp.expires_at_ms;
	a->lr.categories = a->cats;
	a->lr.n_categories = a->ncats;
	a->lr.held_for_review = dec.terms->lookouts.notify == VOCAB_NOTIFY_AFTER_APPROVAL;
	a->body.kind_case = PIUGW__BODY__KIND_LOOKOUT_REPLY;
	a->body.lookout_reply = &a->lr;
	rec->event = PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_ACCEPTED;
	rec->purpose = (uint32_t)lp.purpose;
	rec->case_reference = in->case_reference;
	snprintf(why, n, "%s until %lld", a->ref, (long long)lp.expires_at_ms);
	gw_log(GW_INFO, "lookout_held", "peer=%s agreement=%s ref=%s", peer, dec.agreement->a->id,
	       a->ref);
	return 0;
}

/* See gw.h. */
int
lookouts_receive_withdraw(struct gw *g, const char *peer, const struct envelope_header *h,
			  const Piugw__LookoutWithdraw *in, struct lookouts_answer *a,
			  Piugw__AuditRecord *rec, char *why, size_t n)
{
	struct state_lookout l;
	int rc;

	(void)h;
	if (state_lookout_get(g->state, in->reference, &l) != 0 || !l.incoming ||
	    strcmp(l.peer, peer) != 0 || strcmp(l.agreement_id, h->agreement_id) != 0) {
		state_lookout_clear(&l);
		snprintf(why, n, "no lookout of %s held here under that reference", peer);
		return PIUGW_EUNKNOWNQUERY;
	}
	if (l.state == STATE_LOOKOUT_ACTIVE || l.state == STATE_LOOKOUT_SUSPENDED) {
		l.state = STATE_LOOKOUT_WITHDRAWN;
		l.updated_ms = gw_now_ms();
		snprintf(l.detail, sizeof(l.detail), "withdrawn by %s", peer);
		if ((rc = state_lookout_put(g->state, &l)) != 0) {
			state_lookout_clear(&l);
			snprintf(why, n, "the withdrawal could not be kept");
			return PIUGW_EINTERNAL;
		}
		if (lk(g) != NULL)
			g->lookouts->dirty = true;
	}
	snprintf(a->ref, sizeof(a->ref), "%s", l.ref);
	piugw__lookout_reply__init(&a->lr);
	a->lr.status = PIUGW__LOOKOUT_STATUS__LOOKOUT_WITHDRAWN;
	a->lr.reference = a->ref;
	a->body.kind_case = PIUGW__BODY__KIND_LOOKOUT_REPLY;
	a->body.lookout_reply = &a->lr;
	rec->event = PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_WITHDRAWN;
	rec->query_type = (uint32_t)l.query_type;
	a->place = place_of(&l);
	snprintf(why, n, "%s", a->ref);
	state_lookout_clear(&l);
	return 0;
}

/* ---- firing: the store's new rows against the lookouts in force ---- */

static void
held_clear(struct gw_lookouts *L)
{
	for (size_t i = 0; i < L->nheld; i++)
		piugw__lookout_place__free_unpacked(L->held[i].place, NULL);
	free(L->held);
	L->held = NULL;
	L->nheld = 0;
	lookout_index_free(&L->ix);
}

/* The index of partners' lookouts in force, made anew from state.db. */
static int
index_build(struct gw *g, struct gw_lookouts *L)
{
	struct state_lookout *v = NULL;
	size_t n = 0;
	int rc;

	held_clear(L);
	if ((rc = lookout_index_new(&L->ix)) != 0 ||
	    (rc = state_lookout_list(g->state, 1, STATE_LOOKOUT_ACTIVE, &v, &n)) != 0)
		return rc;
	if (n > 0 && (L->held = calloc(n, sizeof(*L->held))) == NULL)
		rc = PIUGW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct held *h;
		const struct policy_agreement *pa = policy_agreement(g->policy, v[i].agreement_id);
		const struct agreement_terms *t =
			pa != NULL ? agreement_terms_for(pa->a, v[i].peer,
							 policy_config(g->policy)->id)
				   : NULL;
		if (rc == 0 && t != NULL) {
			h = &L->held[L->nheld];
			snprintf(h->ref, sizeof(h->ref), "%s", v[i].ref);
			snprintf(h->peer, sizeof(h->peer), "%s", v[i].peer);
			snprintf(h->agreement_id, sizeof(h->agreement_id), "%s", v[i].agreement_id);
			if ((h->place = place_of(&v[i])) != NULL &&
			    lookout_index_add(L->ix, h->ref, h->place, t->min_score, L->nheld) == 0)
				L->nheld++;
			else if (h->place != NULL)
				piugw__lookout_place__free_unpacked(h->place, NULL);
		}
		state_lookout_clear(&v[i]);
	}
	free(v);
	lookout_index_ready(L->ix);
	L->dirty = false;
	return rc;
}

struct fire_ctx {
	struct gw *g;
	const struct store_keys *k;
	size_t fired;
	bool failed;           /* a fire not recorded or kept: its row is checked again */
};

static Piugw__NotificationSource
source_of(unsigned sources)
{
	bool api = sources & (1u << STORE_SOURCE_API), pnr = sources & (1u << STORE_SOURCE_PNR);

	return api && pnr ? PIUGW__NOTIFICATION_SOURCE__SOURCE_API_AND_PNR
	       : pnr	  ? PIUGW__NOTIFICATION_SOURCE__SOURCE_PNR
			  : PIUGW__NOTIFICATION_SOURCE__SOURCE_API;
}

static void send_notification(struct gw *g, struct state_notification *nt, int64_t now);

/*
 * Lookout e fired on row k: the person on that flight, searched as the
 * lookout's query, disclosed as the terms' lookouts block allows, kept as a
 * notification (once per person and flight), then sent or held.
 */
static void
fire(void *arg, const struct lookout_entry *e, double score)
{
	struct fire_ctx *fc = arg;
	struct gw *g = fc->g;
	const struct held *h = &g->lookouts->held[e->user];
	struct policy_request req;
	struct policy_decision dec;
	struct store_result r, one;
	Piugw__QueryResult *qr = NULL;
	Piugw__Notification nt = PIUGW__NOTIFICATION__INIT;
	Piugw__NotifiedFlight fl = PIUGW__NOTIFIED_FLIGHT__INIT;
	struct state_notification row;
	struct state_lookout l;
	uint8_t key[LOOKOUT_FIRE_KEY_BYTES];
	size_t at = SIZE_MAX;
	uint32_t masked = 0;
	bool fired = false, hold;
	int64_t now = gw_now_ms();
	char detail[300];
	int rc;

	(void)score;
	lookout_fire_key(h->ref, fc->k, e->query_type, key);
	if (state_notification_fired(g->state, h->ref, key, &fired) != 0 || fired)
		return;
	/* Judged now: a suspended or ended agreement fires nothing (the sweep says so). */
	memset(&req, 0, sizeof(req));
	req.direction = POLICY_INBOUND;
	req.peer = h->peer;
	req.agreement_id = h->agreement_id;
	req.purpose = h->place->purpose;
	req.offence = h->place->offence[0] ? vocab_offence(h->place->offence,
							   strlen(h->place->offence))
					   : 0;
	if (req.offence < 0)
		req.offence = 0;
	req.query_type = e->query_type;
	req.has_justification = true;
	req.now_ms = now;
	req.lookout = true;
	if (policy_decide(g->policy, NULL, &req, &dec) != 0)
		return;
	memset(&r, 0, sizeof(r));
	switch (h->place->criteria_case) {
	case PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT:
		rc = store_search_document(g->store, h->place->document->issuing_state,
					   h->place->document->number, 64, &r);
		break;
	case PIUGW__LOOKOUT_PLACE__CRITERIA_NAME:
		rc = store_search_name(g->store, h->place->name->surname,
				       h->place->name->given_names, h->place->name->date_of_birth,
				       64, &r);
		break;
	default:
		rc = store_search_name_fuzzy(g->store, h->place->name_fuzzy->surname,
					     h->place->name_fuzzy->given_names,
					     h->place->name_fuzzy->date_of_birth, e->min_score, 64,
					     &r);
		break;
	}
	/* The match on this row's flight. */
	for (size_t i = 0; rc == 0 && i < r.n && at == SIZE_MAX; i++) {
		char fk[48];
		store_key_flight(r.m[i].t.v[COL_CARRIER], r.m[i].t.v[COL_FLIGHT_NUMBER],
				 r.m[i].t.v[COL_FLIGHT_DATE], fk, sizeof(fk));
		if (strcmp(fk, fc->k->flight) == 0)
			at = i;
	}
	if (rc != 0 || at == SIZE_MAX) {
		if (rc != 0)
			gw_log(GW_ERROR, "store_failed", "problem=%s",
			       gw_esc(store_errmsg(g->store)));
		store_result_clear(&r);
		return;
	}
	one.m = &r.m[at];
	one.n = one.total = 1;
	rc = disclose_build(g->store, &one, &dec, now, &qr, &masked);
	if (rc != 0 || qr->n_matches != 1) {
		store_result_clear(&r);
		disclose_free(&qr);
		return;
	}
	fl.carrier = r.m[at].t.v[COL_CARRIER] ? r.m[at].t.v[COL_CARRIER] : (char *)"";
	fl.flight_number = r.m[at].t.v[COL_FLIGHT_NUMBER] ? r.m[at].t.v[COL_FLIGHT_NUMBER]
							  : (char *)"";
	fl.departure_date = r.m[at].t.v[COL_FLIGHT_DATE] ? r.m[at].t.v[COL_FLIGHT_DATE]
							 : (char *)"";
	fl.departure_airport = r.m[at].t.v[COL_DEP_AIRPORT] ? r.m[at].t.v[COL_DEP_AIRPORT]
							    : (char *)"";
	fl.arrival_airport = r.m[at].t.v[COL_ARR_AIRPORT] ? r.m[at].t.v[COL_ARR_AIRPORT]
							  : (char *)"";
	memset(&row, 0, sizeof(row));
	new_ref("NT", row.ref, sizeof(row.ref));
	nt.notification_id = row.ref;
	nt.lookout_reference = (char *)h->ref;
	nt.match = qr->matches[0];
	nt.flight = &fl;
	nt.source = source_of(r.m[at].sources);
	nt.fired_at_ms = now;
	nt.categories = qr->categories;
	nt.n_categories = qr->n_categories;
	nt.handling_code = (Piugw__HandlingCode)dec.handling_code;
	nt.onward_transfer = (Piugw__OnwardTransfer)dec.onward_transfer;
	row.incoming = false;
	snprintf(row.peer, sizeof(row.peer), "%s", h->peer);
	snprintf(row.agreement_id, sizeof(row.agreement_id), "%s", h->agreement_id);
	snprintf(row.lookout_ref, sizeof(row.lookout_ref), "%s", h->ref);
	row.has_fire_key = true;
	memcpy(row.fire_key, key, sizeof(key));
	row.body_len = piugw__notification__get_packed_size(&nt);
	hold = dec.approval == VOCAB_APPROVAL_MANUAL || qr->matches[0]->needs_review;
	row.state = hold ? STATE_NOTIFICATION_HELD : STATE_NOTIFICATION_SENDING;
	row.created_ms = row.updated_ms = now;
	if ((row.body = malloc(row.body_len ? row.body_len : 1)) != NULL)
		piugw__notification__pack(&nt, row.body);
	/* The fire on record, with whom it discloses, before anything is kept or sent. */
	memset(&l, 0, sizeof(l));
	snprintf(l.ref, sizeof(l.ref), "%s", h->ref);
	l.incoming = true;
	snprintf(l.peer, sizeof(l.peer), "%s", h->peer);
	snprintf(l.agreement_id, sizeof(l.agreement_id), "%s", h->agreement_id);
	l.query_type = e->query_type;
	l.place_len = piugw__lookout_place__get_packed_size(h->place);
	if ((l.place = malloc(l.place_len ? l.place_len : 1)) != NULL)
		piugw__lookout_place__pack(h->place, l.place);
	snprintf(detail, sizeof(detail), "%s fired: notification %s, flight %s %s %s, %s%s", h->ref,
		 row.ref, fl.carrier, fl.flight_number, fl.departure_date,
		 nt.source == PIUGW__NOTIFICATION_SOURCE__SOURCE_API_AND_PNR ? "API and PNR"
		 : nt.source == PIUGW__NOTIFICATION_SOURCE__SOURCE_PNR	   ? "PNR"
									   : "API",
		 hold ? (qr->matches[0]->needs_review ? ", held: a fuzzy match is reviewed"
						      : ", held for approval")
		      : "");
	if (row.body == NULL || l.place == NULL ||
	    audit_step(g, &l, PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_FIRED, detail, qr, 0, NULL) != 0 ||
	    state_notification_put(g->state, &row) != 0) {
		gw_log(GW_ERROR, "lookout_fire_failed", "ref=%s problem=%s", h->ref,
		       gw_esc("not recorded or not kept: the row is checked again at the next "
			      "scan"));
		fc->failed = true;
	} else {
		fc->fired++;
		if (hold)
			(void)audit_step(g, &l, PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_HELD, row.ref,
					 NULL, 0, NULL);
		gw_log(GW_INFO, "lookout_fired", "peer=%s ref=%s notification=%s held=%d", h->peer,
		       h->ref, row.ref, hold);
		{
			char lb[128];
			snprintf(lb, sizeof(lb), "peer=\"%s\"", h->peer);
			metrics_add(g, "piugw_lookouts_fired_total", lb, 1);
		}
		if (!hold)
			send_notification(g, &row, now);
	}
	state_lookout_clear(&l);
	state_notification_clear(&row);
	disclose_free(&qr);
	store_result_clear(&r);
}

/* Check the rows stored since the mark: a batch a turn. */
static void
scan(struct gw *g, struct gw_lookouts *L, int64_t now)
{
	int64_t top = 0;
	struct store_keys *k;
	size_t n = 0;
	struct fire_ctx fc = {.g = g};

	if (store_max_id(g->store, &top) != 0)
		return;
	if (!L->have_mark) {
		bool has = false;
		if (state_mark_get(g->state, SCAN_MARK, &L->mark, &has) != 0)
			return;
		/* First start with lookouts: what the store held before fires nothing. */
		if (!has && state_mark_set(g->state, SCAN_MARK, top) != 0)
			return;
		if (!has)
			L->mark = top;
		L->have_mark = true;
	}
	if (top < L->mark) { /* a store made anew, or rows purged */
		L->mark = top;
		(void)state_mark_set(g->state, SCAN_MARK, top);
	}
	if (top == L->mark)
		return;
	if (L->dirty && index_build(g, L) != 0) {
		gw_log(GW_ERROR, "lookouts", "problem=%s", gw_esc("the index could not be built"));
		return;
	}
	if (lookout_index_count(L->ix) == 0) {
		L->mark = top;
		(void)state_mark_set(g->state, SCAN_MARK, top);
		return;
	}
	if ((k = malloc(SCAN_BATCH * sizeof(*k))) == NULL)
		return;
	if (store_keys_since(g->store, L->mark, k, SCAN_BATCH, &n) == 0) {
		size_t done = 0;
		/*
		 * Up to the row whose fire failed: it and those after it are
		 * checked again (what fired before it has its fire key kept).
		 */
		for (; done < n && !fc.failed; done++) {
			fc.k = &k[done];
			lookout_index_match(L->ix, &k[done], fire, &fc);
		}
		if (fc.failed)
			done--;
		if (done > 0) {
			L->mark = k[done - 1].id;
			(void)state_mark_set(g->state, SCAN_MARK, L->mark);
		}
		if (n == SCAN_BATCH && !fc.failed)
			L->next_scan_ms = now; /* more: the next turn */
		if (L->catch_start_us == 0)
			L->catch_start_us = gw_mono_us();
		L->catch_rows += done;
		L->catch_fired += fc.fired;
		/* Caught up: how long the rows of this import took to check, and what fired. */
		if (n < SCAN_BATCH && !fc.failed) {
			gw_log(GW_INFO, "lookouts_checked", "rows=%ju lookouts=%zu fired=%ju ms=%lld",
			       (uintmax_t)L->catch_rows, lookout_index_count(L->ix),
			       (uintmax_t)L->catch_fired,
			       (long long)((gw_mono_us() - L->catch_start_us) / 1000));
			L->catch_start_us = 0;
			L->catch_rows = L->catch_fired = 0;
		}
	}
	sodium_memzero(k, SCAN_BATCH * sizeof(*k));
	free(k);
}

/* ---- notifications: sending ours, receiving theirs ---- */

static void on_notify_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
			     const Piugw__Body *b, bool stale);

/*
 * Send nt (SENDING): the envelope it was sealed in, the same bytes, while
 * the asker's freshness window has room for it; else sealed anew under a
 * new message id (the notification_id stays: the asker keeps it once).
 */
static void
send_notification(struct gw *g, struct state_notification *nt, int64_t now)
{
	const struct policy_agreement *pa = policy_agreement(g->policy, nt->agreement_id);
	int64_t window = (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
	uint8_t mid[16];
	struct outreq *o;
	bool first = nt->env == NULL;

	if (pa == NULL || policy_agreement_state(pa, now, NULL, 0) != POLICY_IN_FORCE ||
	    outbound_other_in_flight(g, on_notify_answer, nt->ref) != NULL)
		return;
	if (nt->env == NULL || now - nt->env_ms > window / 2) {
		Piugw__Notification *b0 = piugw__notification__unpack(NULL, nt->body_len, nt->body);
		Piugw__Body b = PIUGW__BODY__INIT;
		uint8_t *env = NULL;
		size_t len = 0;
		if (b0 == NULL)
			return;
		b.kind_case = PIUGW__BODY__KIND_NOTIFICATION;
		b.notification = b0;
		if (gw_seal(g, nt->peer, NULL, pa->a->id, pa->a->hash, &b, mid, &env, &len) != 0) {
			piugw__notification__free_unpacked(b0, NULL);
			return;
		}
		piugw__notification__free_unpacked(b0, NULL);
		free(nt->env);
		nt->env = env;
		nt->env_len = len;
		nt->env_ms = now;
		nt->updated_ms = now;
		(void)state_notification_put(g->state, nt);
	}
	/* The message id is the envelope's: read it back from its header (clear text). */
	{
		Piugw__Envelope *e = piugw__envelope__unpack(NULL, nt->env_len, nt->env);
		struct envelope_header hh;
		int bad = e == NULL ||
			  envelope_header_parse(e->header.data, e->header.len, &hh) != 0;
		if (e != NULL)
			piugw__envelope__free_unpacked(e, NULL);
		if (bad)
			return;
		memcpy(mid, hh.message_id, sizeof(mid));
	}
	o = outbound_request(g, nt->peer, pa->a->id, pa->a->hash, NULL, nt->env, nt->env_len, mid,
			     now + (int64_t)policy_config(g->policy)->query_deadline_seconds * 1000,
			     on_notify_answer, NULL);
	if (o == NULL)
		return;
	snprintf(o->request_id, sizeof(o->request_id), "%.32s", nt->ref);
	if (first) {
		struct state_lookout l;
		char d[160];
		if (state_lookout_get(g->state, nt->lookout_ref, &l) == 0) {
			snprintf(d, sizeof(d), "%s notification %s sent", nt->lookout_ref, nt->ref);
			(void)audit_step(g, &l, PIUGW__AUDIT_EVENT__AUDIT_NOTIFIED, d, NULL, 0, NULL);
		}
		state_lookout_clear(&l);
	}
}

static void
on_notify_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
		 const Piugw__Body *b, bool stale)
{
	struct state_notification nt;
	struct state_lookout l;
	char why[400];
	int event = 0, refusal = 0;

	if (state_notification_get(g->state, o->request_id, &nt) != 0) {
		state_notification_clear(&nt);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (stale || !outbound_reply_agreement_ok(o, h, b->kind_case == PIUGW__BODY__KIND_ERROR,
						  why, sizeof(why))) {
		/* Sent again at the next round (sealed anew if its window has passed). */
		gw_log(GW_WARN, "notification_answer", "peer=%s ref=%s problem=%s", o->peer, nt.ref,
		       gw_esc(stale ? "outside the freshness window" : why));
		state_notification_clear(&nt);
		return;
	}
	if (b->kind_case == PIUGW__BODY__KIND_NOTIFICATION_ACK &&
	    strcmp(b->notification_ack->notification_id, nt.ref) == 0) {
		nt.state = STATE_NOTIFICATION_ACKED;
		snprintf(nt.detail, sizeof(nt.detail), "acknowledged by %s", o->peer);
		event = PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_ACKNOWLEDGED;
	} else if (b->kind_case == PIUGW__BODY__KIND_ERROR &&
		   b->error->code != PIUGW__ERROR_CODE__ERROR_INTERNAL &&
		   b->error->code != PIUGW__ERROR_CODE__ERROR_RATE_LIMITED &&
		   b->error->code != PIUGW__ERROR_CODE__ERROR_STALE) {
		nt.state = STATE_NOTIFICATION_REFUSED;
		snprintf(nt.detail, sizeof(nt.detail), "refused by %s: %s", o->peer,
			 piugw_wire_error_name((enum piugw_wire_error)b->error->code));
		event = PIUGW__AUDIT_EVENT__AUDIT_REFUSED;
		refusal = (int)b->error->code;
	} else {
		/* A passing failure there, or a bad answer: sent again at the next round. */
		gw_log(GW_WARN, "notification_answer", "peer=%s ref=%s problem=%s", o->peer, nt.ref,
		       gw_esc(b->kind_case == PIUGW__BODY__KIND_ERROR
				      ? piugw_wire_error_name((enum piugw_wire_error)b->error->code)
				      : "a bad answer"));
		state_notification_clear(&nt);
		return;
	}
	{
		char lb[160];
		snprintf(lb, sizeof(lb), "direction=\"sent\",peer=\"%s\",outcome=\"%s\"", o->peer,
			 nt.state == STATE_NOTIFICATION_ACKED ? "acknowledged" : "refused");
		metrics_add(g, "piugw_notifications_total", lb, 1);
	}
	nt.updated_ms = gw_now_ms();
	free(nt.env); /* acknowledged or refused: never sent again */
	nt.env = NULL;
	nt.env_len = 0;
	(void)state_notification_put(g->state, &nt);
	if (state_lookout_get(g->state, nt.lookout_ref, &l) == 0) {
		snprintf(why, sizeof(why), "%s notification %s: %s", nt.lookout_ref, nt.ref,
			 nt.detail);
		(void)audit_step(g, &l, event, why, NULL, refusal, NULL);
	}
	gw_log(GW_INFO, "notification", "peer=%s ref=%s state=%s", nt.peer, nt.ref, nt.detail);
	state_lookout_clear(&l);
	state_notification_clear(&nt);
}

/* Alerts for a waiting caller, or for a list (all: the seen too). */
static void
alerts_reply(struct gw *g, const uint8_t *rid, size_t rid_len, bool all, const char *only)
{
	struct state_notification *v = NULL;
	size_t n = 0;
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__AlertsReply *ar = calloc(1, sizeof(*ar));

	if (ar == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		return;
	}
	piugw__alerts_reply__init(ar);
	if (state_notification_list(g->state, 1, -1, &v, &n) == 0 && n > 0 &&
	    (ar->alerts = calloc(n, sizeof(*ar->alerts))) != NULL)
		for (size_t i = 0; i < n; i++) {
			Piugw__Alert *a;
			struct state_lookout l;
			if ((only != NULL ? strcmp(v[i].ref, only) != 0
					  : !all && v[i].state != STATE_NOTIFICATION_NEW) ||
			    (a = calloc(1, sizeof(*a))) == NULL)
				continue;
			piugw__alert__init(a);
			a->reference = strdup(v[i].ref);
			a->peer = strdup(v[i].peer);
			a->agreement_id = strdup(v[i].agreement_id);
			a->lookout_reference = strdup(v[i].lookout_ref);
			a->seen_by = strdup(v[i].decided_by);
			a->case_reference = NULL;
			if (state_lookout_get(g->state, v[i].lookout_ref, &l) == 0) {
				Piugw__LookoutPlace *lp = place_of(&l);
				if (lp != NULL) {
					a->case_reference = strdup(lp->case_reference);
					piugw__lookout_place__free_unpacked(lp, NULL);
				}
			}
			state_lookout_clear(&l);
			if (a->case_reference == NULL)
				a->case_reference = strdup("");
			a->notification = piugw__notification__unpack(NULL, v[i].body_len, v[i].body);
			a->state = (Piugw__NotificationState)v[i].state;
			a->received_at_ms = v[i].created_ms;
			ar->alerts[ar->n_alerts++] = a;
			if (a->reference == NULL || a->peer == NULL || a->agreement_id == NULL ||
			    a->lookout_reference == NULL || a->seen_by == NULL ||
			    a->case_reference == NULL || a->notification == NULL) {
				piugw__alert__free_unpacked(a, NULL);
				ar->alerts[--ar->n_alerts] = NULL;
			}
		}
	for (size_t i = 0; i < n; i++)
		state_notification_clear(&v[i]);
	free(v);
	reply.kind_case = PIUGW__LOCAL_REPLY__KIND_ALERTS;
	reply.alerts = ar;
	reply_local(g, rid, rid_len, &reply);
	piugw__alerts_reply__free_unpacked(ar, NULL);
}

/* A new alert: every caller waiting for one gets the list. */
static void
alerts_wake(struct gw *g)
{
	struct gw_lookouts *L = lk(g);

	for (struct lk_wait **pp = L != NULL ? &L->waits : NULL; pp != NULL && *pp != NULL;) {
		struct lk_wait *w = *pp;
		if (!w->alerts) {
			pp = &w->next;
			continue;
		}
		alerts_reply(g, w->rid, w->rid_len, w->all, NULL);
		*pp = w->next;
		free(w->refs);
		free(w);
	}
}

/* See gw.h. */
int
lookouts_receive_notification(struct gw *g, const char *peer, const struct envelope_header *h,
			      const Piugw__Notification *in, struct lookouts_answer *a,
			      Piugw__AuditRecord *rec, char *why, size_t n)
{
	const struct policy_agreement *pa = NULL;
	const struct agreement_terms *t = NULL;
	struct state_lookout l;
	struct state_notification row, seen;
	vocab_set listed = 0;
	int rc;

	if (!printable(in->notification_id, 1, STATE_REF_MAX) ||
	    !printable(in->lookout_reference, 1, STATE_REF_MAX) || in->match == NULL ||
	    in->flight == NULL) {
		snprintf(why, n, "a notification has an id and a lookout reference (1 to 64 "
				 "printable ASCII), a match and a flight");
		return PIUGW_EMALFORMED;
	}
	if ((rc = policy_agreement_check(g->policy, h->agreement_id, peer,
					 h->has_agreement_hash ? h->agreement_hash : NULL,
					 policy_config(g->policy)->id, peer, gw_now_ms(), &pa, &t,
					 why, n)) != 0)
		return rc;
	snprintf(a->ref, sizeof(a->ref), "%s", in->notification_id);
	piugw__notification_ack__init(&a->na);
	a->na.notification_id = a->ref;
	a->body.kind_case = PIUGW__BODY__KIND_NOTIFICATION_ACK;
	a->body.notification_ack = &a->na;
	rec->outbound = true;
	/* Sent again (a lost acknowledgement): acknowledged again, kept once. */
	if (state_notification_theirs(g->state, peer, in->notification_id, &seen) == 0) {
		rec->event = PIUGW__AUDIT_EVENT__AUDIT_NOTIFIED;
		snprintf(why, n, "%s notification %s again: kept already as %s", seen.lookout_ref,
			 in->notification_id, seen.ref);
		state_notification_clear(&seen);
		return 0;
	}
	state_notification_clear(&seen);
	if (state_lookout_theirs(g->state, false, peer, in->lookout_reference, &l) != 0 ||
	    strcmp(l.agreement_id, pa->a->id) != 0) {
		state_lookout_clear(&l);
		snprintf(why, n, "no lookout of ours at %s under that reference", peer);
		return PIUGW_EUNKNOWNQUERY;
	}
	if (l.state != STATE_LOOKOUT_ACTIVE && l.state != STATE_LOOKOUT_SUSPENDED) {
		snprintf(why, n, "our lookout %s is %s", l.ref,
			 l.state == STATE_LOOKOUT_WITHDRAWN ? "withdrawn" : "no longer in force");
		state_lookout_clear(&l);
		return PIUGW_EUNKNOWNQUERY;
	}
	/* Only what the terms' lookouts block allows, and what the notification lists. */
	for (size_t i = 0; i < in->n_categories; i++)
		if ((int)in->categories[i] > 0 && (int)in->categories[i] < 32)
			listed |= VOCAB_BIT(in->categories[i]);
	{
		const ProtobufCMessage *m = &in->match->base;
		const ProtobufCMessageDescriptor *d = m->descriptor;
		for (unsigned f = 0; f < d->n_fields; f++) {
			const ProtobufCFieldDescriptor *fd = &d->fields[f];
			int cat = (int)fd->id - 9; /* api_identity = 10 is category 1 ... */
			if (fd->id < 10 || fd->id > 22)
				continue;
			if (*(const ProtobufCMessage *const *)((const uint8_t *)m + fd->offset) == NULL)
				continue;
			if (!(t->lookouts.categories & VOCAB_BIT(cat)) || !(listed & VOCAB_BIT(cat))) {
				snprintf(why, n, "the notification carries %s, which the terms of "
						 "agreement %s do not allow in a notification",
					 vocab_name(vocab_categories, cat), pa->a->id);
				state_lookout_clear(&l);
				return PIUGW_EMALFORMED;
			}
		}
	}
	memset(&row, 0, sizeof(row));
	new_ref("AL", row.ref, sizeof(row.ref));
	row.incoming = true;
	snprintf(row.peer, sizeof(row.peer), "%s", peer);
	snprintf(row.agreement_id, sizeof(row.agreement_id), "%s", pa->a->id);
	snprintf(row.lookout_ref, sizeof(row.lookout_ref), "%s", l.ref);
	snprintf(row.their_id, sizeof(row.their_id), "%s", in->notification_id);
	row.state = STATE_NOTIFICATION_NEW;
	row.created_ms = row.updated_ms = gw_now_ms();
	row.body_len = piugw__notification__get_packed_size(in);
	if ((row.body = malloc(row.body_len ? row.body_len : 1)) == NULL) {
		state_lookout_clear(&l);
		return PIUGW_ENOMEM;
	}
	piugw__notification__pack(in, row.body);
	rc = state_notification_put(g->state, &row);
	rec->event = PIUGW__AUDIT_EVENT__AUDIT_NOTIFIED;
	rec->query_type = (uint32_t)l.query_type;
	{
		Piugw__LookoutPlace *lp = place_of(&l);
		if (lp != NULL) {
			snprintf(a->case_ref, sizeof(a->case_ref), "%s", lp->case_reference);
			rec->case_reference = a->case_ref;
			rec->purpose = (uint32_t)lp->purpose;
			piugw__lookout_place__free_unpacked(lp, NULL);
		}
	}
	snprintf(why, n, "%s notification %s received as %s", l.ref, in->notification_id, row.ref);
	gw_log(GW_INFO, "alert", "peer=%s lookout=%s alert=%s", peer, l.ref, row.ref);
	state_notification_clear(&row);
	state_lookout_clear(&l);
	if (rc != 0) {
		snprintf(why, n, "the notification could not be kept");
		return PIUGW_EINTERNAL;
	}
	{
		char lb[128];
		snprintf(lb, sizeof(lb), "direction=\"received\",peer=\"%s\",outcome=\"kept\"", peer);
		metrics_add(g, "piugw_notifications_total", lb, 1);
	}
	alerts_wake(g);
	return 0;
}

/* See gw.h. */
void
lookouts_local_alerts(struct gw *g, const uint8_t *rid, size_t rid_len,
		      const Piugw__LocalAlerts *la)
{
	struct gw_lookouts *L = lk(g);
	struct state_notification *v = NULL;
	size_t n = 0, fresh = 0;
	struct lk_wait *w;

	if (la->wait_ms > 0 && L != NULL && state_notification_list(g->state, 1,
								     STATE_NOTIFICATION_NEW, &v,
								     &n) == 0) {
		fresh = n;
		for (size_t i = 0; i < n; i++)
			state_notification_clear(&v[i]);
		free(v);
		if (fresh == 0 && (w = calloc(1, sizeof(*w))) != NULL) {
			memcpy(w->rid, rid, rid_len);
			w->rid_len = rid_len;
			w->alerts = true;
			w->all = la->all;
			w->deadline_ms = gw_now_ms() + la->wait_ms;
			w->next = L->waits;
			L->waits = w;
			return;
		}
	}
	alerts_reply(g, rid, rid_len, la->all, NULL);
}

/* See gw.h. */
void
lookouts_local_seen(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		    const Piugw__LocalAlertSeen *s)
{
	struct state_notification nt;
	Piugw__AuditRecord rec = PIUGW__AUDIT_RECORD__INIT;
	char who[64], d[200];
	uint64_t seq = 0;

	if (state_notification_get(g->state, s->reference, &nt) != 0 || !nt.incoming) {
		state_notification_clear(&nt);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
				  "no alert under %s (piugw alerts --all)", gw_esc(s->reference));
		return;
	}
	gw_user_name(uid, who, sizeof(who));
	if (nt.state == STATE_NOTIFICATION_NEW) {
		nt.state = STATE_NOTIFICATION_SEEN;
		snprintf(nt.decided_by, sizeof(nt.decided_by), "%s", who);
		nt.updated_ms = gw_now_ms();
		rec.event = PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_ACKNOWLEDGED;
		rec.outbound = true;
		rec.peer = nt.peer;
		rec.agreement_id = nt.agreement_id;
		rec.operator_ = who;
		snprintf(d, sizeof(d), "%s alert %s seen", nt.lookout_ref, nt.ref);
		rec.detail = d;
		if (state_notification_put(g->state, &nt) != 0 || gw_audit(g, &rec, &seq) != 0) {
			state_notification_clear(&nt);
			reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
					  "the alert could not be marked seen");
			return;
		}
	}
	state_notification_clear(&nt);
	(void)seq;
	alerts_reply(g, rid, rid_len, true, s->reference);
}

/* ---- held notifications: approvals ---- */

/* See gw.h. */
void
lookouts_pending(struct gw *g, Piugw__PendingReply *pr)
{
	struct state_notification *v = NULL;
	size_t n = 0;
	Piugw__PendingItem **nv;

	if (state_notification_list(g->state, 0, STATE_NOTIFICATION_HELD, &v, &n) != 0 || n == 0)
		goto out;
	if ((nv = realloc(pr->items, (pr->n_items + n) * sizeof(*nv))) == NULL)
		goto out;
	pr->items = nv;
	for (size_t i = 0; i < n; i++) {
		Piugw__PendingItem *it = calloc(1, sizeof(*it));
		struct state_lookout l;
		Piugw__LookoutPlace *lp = NULL;
		Piugw__Notification *nt = piugw__notification__unpack(NULL, v[i].body_len,
									  v[i].body);
		if (it == NULL) {
			if (nt != NULL)
				piugw__notification__free_unpacked(nt, NULL);
			continue;
		}
		piugw__pending_item__init(it);
		if (state_lookout_get(g->state, v[i].lookout_ref, &l) == 0)
			lp = place_of(&l);
		it->approval_ref = strdup(v[i].ref);
		it->peer = strdup(v[i].peer);
		it->agreement_id = strdup(v[i].agreement_id);
		it->purpose = lp != NULL ? lp->purpose : 0;
		it->offence = strdup(lp != NULL ? lp->offence : "");
		it->case_reference = strdup(lp != NULL ? lp->case_reference : "");
		it->justification = strdup(lp != NULL ? lp->justification : "");
		it->query_type = (Piugw__QueryType)l.query_type;
		it->received_at_ms = v[i].created_ms;
		it->kind = strdup("notification");
		it->lookout_reference = strdup(v[i].lookout_ref);
		it->needs_review = nt != NULL && nt->match != NULL && nt->match->needs_review;
		it->score = nt != NULL && nt->match != NULL ? nt->match->score : 0;
		if (lp != NULL)
			piugw__lookout_place__free_unpacked(lp, NULL);
		if (nt != NULL)
			piugw__notification__free_unpacked(nt, NULL);
		state_lookout_clear(&l);
		pr->items[pr->n_items++] = it;
	}
out:
	for (size_t i = 0; i < n; i++)
		state_notification_clear(&v[i]);
	free(v);
}

/* See gw.h. */
bool
lookouts_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec, uint32_t uid,
		Piugw__LocalReply *out, uint64_t *seqp)
{
	struct state_notification nt;
	struct state_lookout l;
	Piugw__DecisionReply *dr;
	char who[64], d[400];
	int64_t now = gw_now_ms();

	if (state_notification_get(g->state, dec->approval_ref, &nt) != 0 || nt.incoming) {
		state_notification_clear(&nt);
		return false; /* not a notification's: a query's */
	}
	if (nt.state != STATE_NOTIFICATION_HELD) {
		state_notification_clear(&nt);
		return false;
	}
	gw_user_name(uid, who, sizeof(who));
	nt.state = approve ? STATE_NOTIFICATION_SENDING : STATE_NOTIFICATION_DENIED;
	snprintf(nt.decided_by, sizeof(nt.decided_by), "%s", who);
	snprintf(nt.detail, sizeof(nt.detail), "%s", approve ? "approved" : dec->reason);
	nt.updated_ms = now;
	(void)state_notification_put(g->state, &nt);
	memset(&l, 0, sizeof(l));
	if (state_lookout_get(g->state, nt.lookout_ref, &l) == 0) {
		Piugw__AuditRecord rec = PIUGW__AUDIT_RECORD__INIT;
		rec.event = PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_DECIDED;
		record_of(&rec, &l, NULL, g);
		rec.operator_ = who;
		snprintf(d, sizeof(d), "%s notification %s %s", nt.lookout_ref, nt.ref,
			 approve ? "approved" : "denied");
		rec.detail = d;
		if (gw_audit(g, &rec, seqp) != 0)
			*seqp = 0;
	}
	state_lookout_clear(&l);
	if (approve)
		send_notification(g, &nt, now);
	if ((dr = calloc(1, sizeof(*dr))) != NULL) {
		piugw__decision_reply__init(dr);
		dr->approval_ref = strdup(nt.ref);
		dr->status = approve ? PIUGW__RESULT_STATUS__RESULT_HIT
				     : PIUGW__RESULT_STATUS__RESULT_DENIED;
		dr->match_count = 1;
		out->kind_case = PIUGW__LOCAL_REPLY__KIND_DECISION;
		out->decision = dr;
	}
	state_notification_clear(&nt);
	return true;
}

/* ---- timers: expiry, suspension, sending, scanning ---- */

/* Lookouts expired or whose agreement came out of force (or back), on both sides. */
static void
sweep(struct gw *g, struct gw_lookouts *L, int64_t now)
{
	struct state_lookout *v = NULL;
	size_t n = 0;

	if (state_lookout_list(g->state, -1, STATE_LOOKOUTS_IN_FORCE, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct state_lookout *l = &v[i];
		const struct policy_agreement *pa;
		char why[256] = "", d[600];
		bool in_force;
		int event = 0;
		if (l->state != STATE_LOOKOUT_ACTIVE && l->state != STATE_LOOKOUT_SUSPENDED)
			continue;
		pa = policy_agreement(g->policy, l->agreement_id);
		in_force = pa != NULL &&
			   policy_agreement_state(pa, now, why, sizeof(why)) == POLICY_IN_FORCE;
		if (pa == NULL)
			snprintf(why, sizeof(why), "the agreement is no longer held");
		if (l->expires_ms <= now) {
			l->state = STATE_LOOKOUT_EXPIRED;
			event = PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_EXPIRED;
			snprintf(l->detail, sizeof(l->detail), "expired");
		} else if (l->state == STATE_LOOKOUT_ACTIVE && !in_force) {
			l->state = STATE_LOOKOUT_SUSPENDED;
			event = PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_SUSPENDED;
			snprintf(l->detail, sizeof(l->detail), "suspended: %s", why);
		} else if (l->state == STATE_LOOKOUT_SUSPENDED && in_force) {
			l->state = STATE_LOOKOUT_ACTIVE;
			event = PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_SUSPENDED;
			snprintf(l->detail, sizeof(l->detail), "resumed: its agreement is in force");
		} else {
			continue;
		}
		l->updated_ms = now;
		if (state_lookout_put(g->state, l) != 0)
			continue;
		snprintf(d, sizeof(d), "%s %s", l->ref, l->detail);
		(void)audit_step(g, l, event, d, NULL, 0, NULL);
		gw_log(GW_INFO, "lookout", "peer=%s ref=%s detail=%s", l->peer, l->ref,
		       gw_esc(l->detail));
		if (l->incoming)
			L->dirty = true;
	}
	for (size_t i = 0; i < n; i++)
		state_lookout_clear(&v[i]);
	free(v);
}

/*
 * Ours not acknowledged yet, and our lookouts not delivered yet: sent again
 * at the ages of the polls (state_poll_due).
 */
/* Is something made at since_ms due again now (since the last round)? */
static bool
resend_due(const struct gw *g, const struct gw_lookouts *L, int64_t since_ms, int64_t now)
{
	return state_poll_due(L->last_send_round_ms == 0 ? -1 : L->last_send_round_ms - since_ms,
			      now - since_ms, policy_config(g->policy)->retry_interval_ms);
}

static void
resend_round(struct gw *g, struct gw_lookouts *L, int64_t now)
{
	struct state_notification *v = NULL;
	struct state_lookout *lv = NULL;
	size_t n = 0, nl = 0;

	if (state_lookout_list(g->state, 0, STATE_LOOKOUT_SENDING, &lv, &nl) == 0)
		for (size_t i = 0; i < nl; i++) {
			if (resend_due(g, L, lv[i].created_ms, now))
				place_again(g, &lv[i], now);
			state_lookout_clear(&lv[i]);
		}
	free(lv);
	if (state_notification_list(g->state, 0, STATE_NOTIFICATION_SENDING, &v, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			if (resend_due(g, L, v[i].updated_ms, now))
				send_notification(g, &v[i], now);
			state_notification_clear(&v[i]);
		}
	free(v);
	L->last_send_round_ms = now;
}

/* See gw.h. */
void
lookouts_timers(struct gw *g, int64_t now)
{
	struct gw_lookouts *L = lk(g);

	if (L == NULL || g->draining)
		return;
	for (struct lk_wait **pp = &L->waits; *pp != NULL;) {
		struct lk_wait *w = *pp;
		if (w->alerts && now >= w->deadline_ms) {
			alerts_reply(g, w->rid, w->rid_len, w->all, NULL);
			*pp = w->next;
			free(w->refs);
			free(w);
			continue;
		}
		pp = &w->next;
	}
	if (now >= L->next_sweep_ms) {
		sweep(g, L, now);
		resend_round(g, L, now);
		L->next_sweep_ms = now + SWEEP_MS;
		if (L->next_scan_ms > now + SWEEP_MS)
			L->next_scan_ms = now;
	}
	if (now >= L->next_scan_ms) {
		L->next_scan_ms = now + SWEEP_MS;
		scan(g, L, now);
	}
}

/* See gw.h. */
int64_t
lookouts_next_timer(const struct gw *g)
{
	const struct gw_lookouts *L = g->lookouts;
	int64_t t = INT64_MAX;

	if (L == NULL)
		return gw_now_ms();
	t = L->next_sweep_ms < L->next_scan_ms ? L->next_sweep_ms : L->next_scan_ms;
	for (const struct lk_wait *w = L->waits; w != NULL; w = w->next)
		if (w->alerts && w->deadline_ms < t)
			t = w->deadline_ms;
	return t;
}

/* See gw.h. */
void
lookouts_store_changed(struct gw *g)
{
	/* (None yet: the first timer makes them, and scans at once.) */
	if (g->lookouts != NULL)
		g->lookouts->next_scan_ms = 0;
}

/* See gw.h. */
void
lookouts_policy_changed(struct gw *g)
{
	if (g->lookouts != NULL) {
		g->lookouts->next_sweep_ms = 0;
		g->lookouts->dirty = true;
	}
}

/* See gw.h. */
void
lookouts_free(struct gw *g)
{
	struct gw_lookouts *L = g->lookouts;

	if (L == NULL)
		return;
	held_clear(L);
	while (L->waits != NULL) {
		struct lk_wait *w = L->waits;
		L->waits = w->next;
		free(w->refs);
		free(w);
	}
	free(L);
	g->lookouts = NULL;
}

/* See gw.h. */
void
lookouts_status(struct gw *g, Piugw__StatusReply *sr)
{
	struct state_lookout *v = NULL;
	struct state_notification *nv = NULL;
	size_t n = 0, nn = 0;

	if (state_lookout_list(g->state, -1, STATE_LOOKOUT_ACTIVE, &v, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			if (v[i].incoming)
				sr->lookouts_held++;
			else
				sr->lookouts_placed++;
			state_lookout_clear(&v[i]);
		}
	free(v);
	if (state_notification_list(g->state, -1, -1, &nv, &nn) == 0)
		for (size_t i = 0; i < nn; i++) {
			if (nv[i].state == STATE_NOTIFICATION_NEW)
				sr->alerts_new++;
			else if (nv[i].state == STATE_NOTIFICATION_SENDING)
				sr->notifications_unacked++;
			state_notification_clear(&nv[i]);
		}
	free(nv);
}
