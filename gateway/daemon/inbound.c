/*
 * inbound.c: the answering side of piugwd. A message from a partner goes
 * through the receiving rules of PROTOCOL.md section 8 in order; every
 * message, accepted or refused, leaves one audit record, and no reply
 * leaves before that record is durable: replies wait in g->turn.deferred for
 * the turn's one durable step (gw_turn_end), then go (inbound_send_ready).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "body.h"
#include "disclose.h"
#include "gw.h"
#include "lookout.h"
#include "piugw/error.h"
#include "vocab.h"

/*
 * Subject digests collected for one audit record: the inputs first, as the
 * query and then its answer give them, then all digested at once by the
 * key holder when the record is made (digests_finish): one round trip.
 */
#define DIGESTS_MAX 64
struct digests {
	struct audit_digest_input *in; /* DIGESTS_MAX + 2: the query's, then the answer's */
	size_t nin;
	ProtobufCBinaryData v[DIGESTS_MAX];
	uint8_t d[DIGESTS_MAX][AUDIT_DIGEST_BYTES];
	size_t n;
};

/* The inputs of the exchange being handled: one at a time, 50 KB, not on the stack. */
static struct audit_digest_input digest_inputs[DIGESTS_MAX + 2];

static void
digests_init(struct digests *ds)
{
	ds->in = digest_inputs;
	ds->nin = ds->n = 0;
}

/* The identifiers a query searches for. */
static void
digests_of_query(struct digests *ds, const Piugw__Query *q)
{
	ds->nin += audit_query_digest_inputs(q, &ds->in[ds->nin]);
}

/* The persons an answer discloses (document and name + date of birth). */
static void
digests_of_result(struct digests *ds, const Piugw__QueryResult *r)
{
	ds->nin += audit_result_digest_inputs(r, &ds->in[ds->nin], DIGESTS_MAX + 2 - ds->nin);
}

/* Digest the inputs collected, each once (none if the key holder fails: gw_audit refuses). */
static void
digests_finish(struct gw *g, struct digests *ds)
{
	uint8_t d[DIGESTS_MAX + 2][AUDIT_DIGEST_BYTES];
	size_t n = gw_digests(g, ds->in, ds->nin, d);

	for (size_t i = 0; i < n && ds->n < DIGESTS_MAX; i++) {
		size_t j = 0;
		while (j < ds->n && memcmp(ds->d[j], d[i], AUDIT_DIGEST_BYTES) != 0)
			j++;
		if (j < ds->n)
			continue;
		memcpy(ds->d[ds->n], d[i], AUDIT_DIGEST_BYTES);
		ds->v[ds->n].data = ds->d[ds->n];
		ds->v[ds->n].len = AUDIT_DIGEST_BYTES;
		ds->n++;
	}
	ds->nin = 0;
}

/* ---- replies ---- */

/*
 * Work whose record is not on disk is not answered: an INTERNAL Error, sealed
 * for peer about mid (may be NULL), sent at once, disclosing nothing.
 */
static void
refuse_unaudited(struct gw *g, const char *peer, const uint8_t *rid, size_t rid_len,
		 const uint8_t *mid, const char *agreement_id, const uint8_t *agreement_hash)
{
	Piugw__Error e = PIUGW__ERROR__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	uint8_t *env = NULL;
	size_t len = 0;

	e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
	e.detail = (char *)"the audit log cannot be written; the gateway refuses work until "
			   "an operator fixes it";
	b.kind_case = PIUGW__BODY__KIND_ERROR;
	b.error = &e;
	if (gw_seal(g, peer, mid, agreement_id, agreement_hash, &b, NULL, &env, &len) == 0)
		links_router_send(g, rid, rid_len, env, len);
	free(env);
}

/* Queue env for rid until audit record seq is durable, then send (inbound_send_ready). */
static struct deferred *
defer(struct gw *g, uint64_t seq, const uint8_t *rid, size_t rid_len, const char *peer,
      const uint8_t *mid, const char *agreement_id, const uint8_t *agreement_hash,
      const uint8_t *early_hash, uint8_t *env, size_t env_len)
{
	struct deferred *d = calloc(1, sizeof(*d));

	if (d == NULL || rid_len > sizeof(d->rid)) {
		/* Its record is appended: the partner's retry gets the reply or an Error. */
		gw_log(GW_ERROR, "reply_lost", "peer=%s error=%s", peer,
		       gw_esc(d == NULL ? "out of memory" : "routing id too long"));
		free(d);
		free(env);
		return NULL;
	}
	d->seq = seq;
	memcpy(d->rid, rid, rid_len);
	d->rid_len = rid_len;
	snprintf(d->peer, sizeof(d->peer), "%s", peer);
	if ((d->has_mid = mid != NULL))
		memcpy(d->req_mid, mid, sizeof(d->req_mid));
	snprintf(d->agreement_id, sizeof(d->agreement_id), "%s", agreement_id ? agreement_id : "");
	if ((d->has_hash = agreement_hash != NULL))
		memcpy(d->agreement_hash, agreement_hash, sizeof(d->agreement_hash));
	if (early_hash != NULL) {
		d->early = true;
		memcpy(d->early_hash, early_hash, 32);
	}
	d->env = env;
	d->env_len = env_len;
	*g->turn.deferred_tail = d;
	g->turn.deferred_tail = &d->next;
	return d;
}

/*
 * Refusals made before the replay cache is reached (rules 1 to 4: malformed,
 * too large, not for us, stale, not authenticated) are remembered too, so
 * that the same bytes get the same reply bytes whatever rule refused them
 * (PROTOCOL.md section 8 rule 5). Bounded: GW_EARLY_SLOTS slots, direct-
 * mapped by the hash of (connection's member, envelope bytes), each reply at
 * most GW_EARLY_REPLY_MAX bytes (a sealed Error is far smaller), kept twice
 * the freshness window: at most 4096 x 2 KiB = 8 MiB. A slot taken by other
 * bytes forgets the earlier ones, which are then judged again.
 */
#define GW_EARLY_SLOTS 4096
#define GW_EARLY_REPLY_MAX 2048
struct early_slot {
	uint8_t hash[32];
	int64_t at_ms;
	size_t len;
	uint8_t env[GW_EARLY_REPLY_MAX];
};

/*
 * The slot of hash, and whether it holds these bytes' reply still. The
 * slots are made by the first early refusal kept (create), not by the first
 * message looked up: a gateway that refuses nothing never holds them.
 */
static struct early_slot *
early_find(struct gw *g, const uint8_t hash[32], bool create, bool *hitp)
{
	int64_t keep = 2 * (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
	struct early_slot *s;

	*hitp = false;
	if (g->early == NULL &&
	    (!create || (g->early = calloc(GW_EARLY_SLOTS, sizeof(*g->early))) == NULL))
		return NULL;
	s = &g->early[((size_t)hash[0] << 8 | hash[1]) % GW_EARLY_SLOTS];
	*hitp = s->len > 0 && gw_now_ms() - s->at_ms < keep && sodium_memcmp(s->hash, hash, 32) == 0;
	return s;
}

/* Remember the reply an early refusal sent, for the same bytes again. */
static void
early_keep(struct gw *g, const uint8_t hash[32], const uint8_t *env, size_t len)
{
	bool hit;
	struct early_slot *s = early_find(g, hash, true, &hit);

	if (s == NULL || len > GW_EARLY_REPLY_MAX)
		return;
	memcpy(s->hash, hash, 32);
	memcpy(s->env, env, len);
	s->len = len;
	s->at_ms = gw_now_ms();
}

/* See gw.h. */
void
inbound_send_ready(struct gw *g)
{
	uint64_t durable = audit_durable(g->audit);
	bool failed = audit_status(g->audit) != 0;
	struct deferred *ready = NULL, *d;

	if (g->turn.deferred == NULL || (g->turn.deferred->seq > durable && !failed))
		return;
	/*
	 * In record order: those whose records are durable, all of them after
	 * a flush; if the log failed, the rest too, as Errors.
	 */
	for (d = g->turn.deferred; d != NULL && (d->seq <= durable || failed); d = d->next)
		ready = d;
	d = g->turn.deferred;
	g->turn.deferred = ready->next;
	if (g->turn.deferred == NULL)
		g->turn.deferred_tail = &g->turn.deferred;
	ready->next = NULL;
	while (d != NULL) {
		struct deferred *next = d->next;
		if (d->seq > durable)
			refuse_unaudited(g, d->peer, d->rid, d->rid_len, d->has_mid ? d->req_mid : NULL,
					 d->agreement_id[0] ? d->agreement_id : NULL,
					 d->has_hash ? d->agreement_hash : NULL);
		else if (d->env != NULL) /* NULL: its signature failed with the key holder */
			links_router_send(g, d->rid, d->rid_len, d->env, d->env_len);
		if (d->early && d->seq <= durable && d->env != NULL)
			early_keep(g, d->early_hash, d->env, d->env_len);
		envelope_sealing_free(&d->sealing);
		free(d->env);
		free(d);
		d = next;
	}
}

/* What one inbound exchange knows about itself, for the reply and its audit record. */
struct ex {
	const uint8_t *rid;
	size_t rid_len;
	char peer[KEYS_ID_MAX + 1];   /* who gets the reply ("" : nobody we can seal for) */
	char conn_user[KEYS_ID_MAX + 1]; /* the connection's ZAP identity */
	bool have_mid;
	uint8_t mid[ENVELOPE_MESSAGE_ID_BYTES];
	bool remember;                /* in the replay cache: keep the reply */
	bool early;                   /* before the replay cache: keep it in the early cache */
	uint8_t hash[32];             /* of (connection's member, envelope bytes) */
	const struct envelope_header *h;
	Piugw__AuditRecord rec;
	struct digests ds;
	char unknown[160];  /* the fields of the request this version does not know */
	char detail[320];   /* rec.detail with them named */
	char sources[240];  /* an answer: which source each disclosed category came from */
};

static const char *
user_or_dash(const struct ex *x)
{
	return x->conn_user[0] != '\0' ? x->conn_user : "-";
}

/* Audit ex->rec, seal body for ex->peer, and send it once the record is durable. */
static void
reply(struct gw *g, struct ex *x, const Piugw__Body *body)
{
	const char *agreement_id = NULL;
	const uint8_t *agreement_hash = NULL;
	uint8_t *env = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	int rc;

	x->rec.peer = x->peer[0] != '\0' ? x->peer : (char *)"";
	if (x->have_mid) {
		x->rec.message_id.data = x->mid;
		x->rec.message_id.len = sizeof(x->mid);
	}
	digests_finish(g, &x->ds);
	x->rec.subject_digests = x->ds.v;
	x->rec.n_subject_digests = x->ds.n;
	if (x->unknown[0] != '\0') {
		snprintf(x->detail, sizeof(x->detail), "%s%sfields this version does not know, "
			 "ignored: %s", x->rec.detail, x->rec.detail[0] ? "; " : "", x->unknown);
		x->rec.detail = x->detail;
	}
	rc = gw_audit(g, &x->rec, &seq);
	if (x->rec.event == PIUGW__AUDIT_EVENT__AUDIT_DROPPED) {
		char l[64];
		snprintf(l, sizeof(l), "peer=\"%s\"", user_or_dash(x));
		metrics_add(g, "piugw_dropped_total", l, 1);
	}
	if (x->peer[0] == '\0' || envelope_ctx_peer(g->env, x->peer) == NULL)
		return; /* recorded; nobody we can answer */
	/*
	 * A reply carries the request's own agreement fields (PROTOCOL.md
	 * section 11), ours or not: an AGREEMENT_MISMATCH names our hash in its
	 * detail, and the asker matches the reply to what it sent.
	 */
	if (x->h != NULL && x->h->agreement_id[0] != '\0') {
		agreement_id = x->h->agreement_id;
		agreement_hash = x->h->has_agreement_hash ? x->h->agreement_hash : NULL;
	}
	if (rc != 0) {
		/* Unaudited work is refused: answer INTERNAL, disclose nothing. */
		refuse_unaudited(g, x->peer, x->rid, x->rid_len, x->have_mid ? x->mid : NULL,
				 agreement_id, agreement_hash);
		gw_log(GW_ERROR, "audit_failed", "peer=%s problem=%s", x->peer,
		       gw_esc(piugw_strerror(rc)));
		return;
	}
	/* In a turn, signed with the turn's other replies at its end (inbound_seal_turn). */
	if (g->turn.open) {
		struct envelope_sealing *sl = NULL;
		struct deferred *d;
		if (gw_seal_begin(g, x->peer, x->have_mid ? x->mid : NULL, agreement_id,
				  agreement_hash, body, NULL, &sl) != 0) {
			gw_log(GW_ERROR, "seal_failed", "peer=%s", x->peer);
			return;
		}
		if ((d = defer(g, seq, x->rid, x->rid_len, x->peer, x->have_mid ? x->mid : NULL,
			       agreement_id, agreement_hash,
			       x->remember ? NULL : x->early ? x->hash : NULL, NULL, 0)) == NULL) {
			envelope_sealing_free(&sl);
			return;
		}
		d->sealing = sl;
		d->remember = x->remember && x->have_mid;
		return;
	}
	if (gw_seal(g, x->peer, x->have_mid ? x->mid : NULL, agreement_id, agreement_hash, body,
		       NULL, &env, &len) != 0) {
		gw_log(GW_ERROR, "seal_failed", "peer=%s", x->peer);
		return;
	}
	if (x->remember && x->have_mid &&
	    state_replay_set_reply(g->state, x->peer, x->mid, env, len, seq) != 0)
		gw_log(GW_ERROR, "state", "problem=%s", gw_esc("replay cache not updated"));
	defer(g, seq, x->rid, x->rid_len, x->peer, x->have_mid ? x->mid : NULL, agreement_id,
	      agreement_hash, x->remember ? NULL : x->early ? x->hash : NULL, env, len);
}

/* See gw.h. */
void
inbound_seal_turn(struct gw *g)
{
	struct deferred *d = g->turn.deferred;

	while (d != NULL) {
		struct deferred *v[KH_BATCH_MAX];
		struct envelope_sealing *sl[KH_BATCH_MAX];
		uint8_t *env[KH_BATCH_MAX];
		size_t len[KH_BATCH_MAX], n = 0;

		for (; d != NULL && n < KH_BATCH_MAX; d = d->next)
			if (d->sealing != NULL) {
				v[n] = d;
				sl[n++] = d->sealing;
			}
		if (n == 0)
			break;
		/* The key holder failed: none of these leaves (the loop stops, and says why). */
		if (gw_seal_finish(g, sl, n, env, len) != 0)
			for (size_t i = 0; i < n; i++)
				env[i] = NULL;
		for (size_t i = 0; i < n; i++) {
			envelope_sealing_free(&v[i]->sealing);
			v[i]->env = env[i];
			v[i]->env_len = env[i] != NULL ? len[i] : 0;
			/*
			 * Into the replay cache in this turn's commit, with the
			 * record it waits for: a repeat gets these bytes once that
			 * record is durable, and if it never becomes so (a crash
			 * before the flush), the next start forgets them
			 * (state_replay_unaudited). Until then a repeat is
			 * IN_PROGRESS, and dropped.
			 */
			if (env[i] != NULL && v[i]->remember &&
			    state_replay_set_reply(g->state, v[i]->peer, v[i]->req_mid, env[i],
						   len[i], v[i]->seq) != 0)
				gw_log(GW_ERROR, "state", "problem=%s",
				       gw_esc("replay cache not updated"));
		}
	}
}

/* Refuse with an Error of the wire code of err (PIUGW_E*). */
static void
refuse(struct gw *g, struct ex *x, int err, const char *detail)
{
	Piugw__Error e = PIUGW__ERROR__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	enum piugw_wire_error w = piugw_error_wire_code(err);

	if (w == PIUGW_WIRE_NONE)
		w = PIUGW_WIRE_INTERNAL;
	e.code = (Piugw__ErrorCode)w;
	e.detail = (char *)(detail != NULL ? detail : piugw_strerror(err));
	b.kind_case = PIUGW__BODY__KIND_ERROR;
	b.error = &e;
	x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_REFUSED;
	x->rec.refusal = (uint32_t)w;
	x->rec.detail = (char *)piugw_wire_error_name(w);
	{
		char l[128];
		snprintf(l, sizeof(l), "direction=\"inbound\",peer=\"%s\",code=\"%s\"",
			 x->peer[0] ? x->peer : "-", piugw_wire_error_name(w));
		metrics_add(g, "piugw_refusals_total", l, 1);
	}
	gw_log(GW_INFO, "refused", "peer=%s code=%s detail=%s", x->peer[0] ? x->peer : "-",
	       piugw_wire_error_name(w), gw_esc(e.detail));
	reply(g, x, &b);
}

/* ---- queries ---- */

/*
 * Give each masked match of qr (built from r, in its order) a fresh
 * record_ref, and keep which row it is and for whom.
 */
static int
masked_refs(struct gw *g, struct ex *x, const struct policy_decision *dec,
	    const struct store_result *r, Piugw__QueryResult *qr)
{
	for (size_t i = 0; i < qr->n_matches && i < r->n; i++) {
		Piugw__Match *m = qr->matches[i];
		struct state_masked k;
		if (!m->masked)
			continue;
		memset(&k, 0, sizeof(k));
		randombytes_buf(k.ref, sizeof(k.ref));
		k.answerer = true;
		snprintf(k.peer, sizeof(k.peer), "%s", x->peer);
		snprintf(k.agreement_id, sizeof(k.agreement_id), "%s", dec->agreement->a->id);
		if (x->have_mid)
			sodium_bin2hex(k.request_id, sizeof(k.request_id), x->mid, sizeof(x->mid));
		k.match_no = (uint32_t)i + 1;
		k.row_id = r->m[i].t.id;
		k.created_ms = gw_now_ms();
		if (state_masked_put(g->state, &k) != 0)
			return PIUGW_EINTERNAL;
		if ((m->record_ref.data = malloc(sizeof(k.ref))) == NULL)
			return PIUGW_ENOMEM;
		memcpy(m->record_ref.data, k.ref, sizeof(k.ref));
		m->record_ref.len = sizeof(k.ref);
	}
	return 0;
}

/* Search the store for q within the decision; fill *qrp (disclose_free) and the record. */
static int
answer(struct gw *g, const Piugw__Query *q, const struct policy_decision *dec,
       Piugw__QueryResult **qrp, struct ex *x)
{
	struct store_result r;
	size_t limit = dec->max_results;
	uint32_t masked = 0;
	int ret;

	memset(&r, 0, sizeof(r));
	switch (q->criteria_case) {
	case PIUGW__QUERY__CRITERIA_DOCUMENT:
		ret = store_search_document(g->store, q->document->issuing_state, q->document->number,
					    limit, &r);
		break;
	case PIUGW__QUERY__CRITERIA_NAME:
		ret = store_search_name(g->store, q->name->surname, q->name->given_names,
					q->name->date_of_birth, limit, &r);
		break;
	case PIUGW__QUERY__CRITERIA_NAME_FUZZY:
		ret = store_search_name_fuzzy(g->store, q->name_fuzzy->surname,
					      q->name_fuzzy->given_names,
					      q->name_fuzzy->date_of_birth, dec->min_score, limit, &r);
		break;
	case PIUGW__QUERY__CRITERIA_LOCATOR:
		ret = store_search_locator(g->store, q->locator->record_locator, limit, &r);
		break;
	case PIUGW__QUERY__CRITERIA_FLIGHT:
		ret = store_search_flight(g->store, q->flight->carrier, q->flight->flight_number,
					  q->flight->departure_date, limit, &r);
		break;
	case PIUGW__QUERY__CRITERIA_SELECTOR:
		ret = store_search_selector(g->store, (enum store_selector)q->selector->kind,
					    q->selector->value, limit, &r);
		break;
	default:
		ret = PIUGW_EMALFORMED;
		break;
	}
	if (ret == 0)
		ret = disclose_build(g->store, &r, dec, gw_now_ms(), qrp, &masked);
	/*
	 * A masked match may be asked for again under a prior authorisation
	 * (Art 12(3)): it goes with an opaque reference, kept here with its row.
	 */
	if (ret == 0 && masked > 0 && (ret = masked_refs(g, x, dec, &r, *qrp)) != 0)
		disclose_free(qrp);
	/* A person's elements may come from API and PNR rows: the record says which from which. */
	if (ret == 0) {
		disclose_sources(&r, dec, x->sources, sizeof(x->sources));
		/* A hit/no-hit answer discloses no record: whether it was a hit is on record. */
		if (x->sources[0] == '\0' && dec->disclosure == PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT)
			snprintf(x->sources, sizeof(x->sources), "hit/no-hit answer: %s",
				 (*qrp)->match_count > 0 ? "hit" : "no hit");
		if (x->sources[0] != '\0')
			x->rec.detail = x->sources;
	}
	store_result_clear(&r);
	if (ret != 0)
		return ret;
	digests_of_result(&x->ds, *qrp);
	x->rec.record_count = (uint32_t)(*qrp)->n_matches;
	x->rec.categories = (uint32_t *)(*qrp)->categories;
	x->rec.n_categories = (*qrp)->n_matches > 0 ? (*qrp)->n_categories : 0;
	if (masked > 0) {
		/* Masking is a step of its own in the log (Art 12(2)). */
		Piugw__AuditRecord m = PIUGW__AUDIT_RECORD__INIT;
		char detail[64];
		snprintf(detail, sizeof(detail), "%u record(s) masked", masked);
		m.event = PIUGW__AUDIT_EVENT__AUDIT_MASKED;
		m.peer = x->peer;
		m.agreement_id = x->rec.agreement_id;
		m.message_id = x->rec.message_id;
		m.record_count = masked;
		m.detail = detail;
		/* Masking unrecorded is no answer: the caller refuses (INTERNAL). */
		if (gw_audit(g, &m, NULL) != 0) {
			disclose_free(qrp);
			return PIUGW_EAUDIT;
		}
	}
	return 0;
}

static void
fill_policy_fields(struct ex *x, const Piugw__Query *q, const struct policy_request *req,
		   const struct policy_decision *dec)
{
	x->rec.purpose = (uint32_t)q->purpose;
	x->rec.offence = req->offence > 0 ? (uint32_t)req->offence : 0;
	x->rec.case_reference = q->case_reference;
	x->rec.query_type = (uint32_t)req->query_type;
	if (dec->agreement != NULL) {
		x->rec.agreement_id = dec->agreement->a->id;
		x->rec.agreement_hash.data = dec->agreement->a->hash;
		x->rec.agreement_hash.len = AGREEMENT_HASH_BYTES;
	}
}

static void
on_query(struct gw *g, struct ex *x, const Piugw__Query *q)
{
	struct policy_request req;
	struct policy_decision dec;
	Piugw__QueryResult *qr = NULL;
	Piugw__Body b = PIUGW__BODY__INIT;
	char why[200];
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&dec, 0, sizeof(dec));
	digests_of_query(&x->ds, q);
	x->rec.case_reference = q->case_reference;
	x->rec.purpose = (uint32_t)q->purpose;
	snprintf(why, sizeof(why), "peer=\"%s\",agreement=\"%s\"", x->peer, x->h->agreement_id);
	metrics_add(g, "piugw_queries_received_total", why, 1);
	if (!policy_from_query(q, &req, why, sizeof(why))) {
		refuse(g, x, PIUGW_EMALFORMED, why);
		return;
	}
	req.direction = POLICY_INBOUND;
	req.peer = x->peer;
	req.agreement_id = x->h->agreement_id[0] != '\0' ? x->h->agreement_id : "";
	req.agreement_hash = x->h->has_agreement_hash ? x->h->agreement_hash : NULL;
	req.now_ms = gw_now_ms();
	rc = policy_decide(g->policy, g->rates, &req, &dec);
	fill_policy_fields(x, q, &req, &dec);
	if (rc != 0) {
		refuse(g, x, rc, dec.detail);
		return;
	}
	if (dec.approval == VOCAB_APPROVAL_MANUAL) {
		struct state_pending p;
		Piugw__QueryResult pr = PIUGW__QUERY_RESULT__INIT;
		uint8_t rnd[6];
		size_t qlen = piugw__query__get_packed_size(q);

		memset(&p, 0, sizeof(p));
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(p.ref, sizeof(p.ref), "AP-%02X%02X%02X%02X%02X%02X", rnd[0], rnd[1], rnd[2],
			 rnd[3], rnd[4], rnd[5]);
		snprintf(p.peer, sizeof(p.peer), "%s", x->peer);
		snprintf(p.agreement_id, sizeof(p.agreement_id), "%s", dec.agreement->a->id);
		memcpy(p.message_id, x->mid, sizeof(p.message_id));
		p.received_ms = req.now_ms;
		if ((p.query = malloc(qlen ? qlen : 1)) == NULL) {
			refuse(g, x, PIUGW_ENOMEM, NULL);
			return;
		}
		p.query_len = piugw__query__pack(q, p.query);
		rc = state_pending_add(g->state, &p);
		snprintf(why, sizeof(why), "%s", p.ref);
		state_pending_clear(&p);
		if (rc != 0) {
			refuse(g, x, PIUGW_EINTERNAL, "the request could not be queued for approval");
			return;
		}
		pr.status = PIUGW__RESULT_STATUS__RESULT_PENDING;
		pr.handling_code = (Piugw__HandlingCode)dec.handling_code;
		pr.disclosure = (Piugw__Disclosure)dec.disclosure;
		pr.onward_transfer = (Piugw__OnwardTransfer)dec.onward_transfer;
		pr.approval_ref = why;
		b.kind_case = PIUGW__BODY__KIND_QUERY_RESULT;
		b.query_result = &pr;
		x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_PENDING;
		x->rec.detail = why;
		{
			char l[96];
			snprintf(l, sizeof(l), "direction=\"sent\",peer=\"%s\",status=\"pending\"",
				 x->peer);
			metrics_add(g, "piugw_answers_total", l, 1);
		}
		gw_log(GW_INFO, "query_pending", "peer=%s agreement=%s approval_ref=%s", x->peer,
		       dec.agreement->a->id, why);
		reply(g, x, &b);
		return;
	}
	if ((rc = answer(g, q, &dec, &qr, x)) == PIUGW_EAUDIT) {
		refuse(g, x, PIUGW_EAUDIT, "the audit log cannot be written");
		return;
	} else if (rc != 0) {
		/* The operator needs the cause; the partner, only that it is ours (never a NO_HIT). */
		const char *down = store_problem(g->store);
		gw_log(GW_ERROR, "store_failed", "code=%s backend=%s error=%s", piugw_error_name(rc),
		       store_backend_name(g->store),
		       gw_esc(down != NULL ? down : store_errmsg(g->store)));
		refuse(g, x, PIUGW_EINTERNAL,
		       down != NULL ? "store unavailable" : "the store could not be searched");
		return;
	}
	b.kind_case = PIUGW__BODY__KIND_QUERY_RESULT;
	b.query_result = qr;
	x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
	snprintf(why, sizeof(why), "direction=\"sent\",peer=\"%s\",status=\"%s\"", x->peer,
		 qr->status == PIUGW__RESULT_STATUS__RESULT_HIT ? "hit" : "no_hit");
	metrics_add(g, "piugw_answers_total", why, 1);
	gw_log(GW_INFO, "query_answered", "peer=%s agreement=%s type=%s status=%s disclosed=%u",
	       x->peer, dec.agreement->a->id, vocab_name(vocab_query_types, req.query_type),
	       qr->status == PIUGW__RESULT_STATUS__RESULT_HIT ? "hit" : "no_hit",
	       (unsigned)qr->n_matches);
	reply(g, x, &b);
	disclose_free(&qr);
}

/*
 * The handling code of requester's requests under agreement id (terms
 * requester -> us): carried on every answer, a PENDING or a DENIED too.
 */
static Piugw__HandlingCode
handling_of(const struct gw *g, const char *agreement_id, const char *requester)
{
	const struct policy_agreement *pa = policy_agreement(g->policy, agreement_id);
	const struct agreement_terms *t =
		pa != NULL ? agreement_terms_for(pa->a, requester, policy_config(g->policy)->id)
			   : NULL;

	return t != NULL ? (Piugw__HandlingCode)t->handling_code
			 : PIUGW__HANDLING_CODE__HANDLING_UNSPECIFIED;
}

static void
on_poll(struct gw *g, struct ex *x, const Piugw__Poll *poll)
{
	struct state_pending p;
	Piugw__QueryResult pr = PIUGW__QUERY_RESULT__INIT, *stored = NULL;
	Piugw__Body b = PIUGW__BODY__INIT;
	int rc;

	x->rec.detail = (char *)"poll";
	rc = state_pending_get(g->state, poll->approval_ref, &p);
	/* Only the partner who asked may collect, and only with the id it asked under. */
	if (rc != 0 || strcmp(p.peer, x->peer) != 0 || poll->query_message_id.len != 16 ||
	    memcmp(poll->query_message_id.data, p.message_id, 16) != 0) {
		state_pending_clear(&p);
		refuse(g, x, PIUGW_EUNKNOWNQUERY, "no request held under that approval reference");
		return;
	}
	x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_POLLED;
	x->rec.agreement_id = p.agreement_id;
	b.kind_case = PIUGW__BODY__KIND_QUERY_RESULT;
	if (p.status == STATE_PENDING) {
		pr.status = PIUGW__RESULT_STATUS__RESULT_PENDING;
		pr.approval_ref = p.ref;
		pr.handling_code = handling_of(g, p.agreement_id, p.peer);
		b.query_result = &pr;
	} else if ((stored = piugw__query_result__unpack(NULL, p.result_len, p.result)) != NULL) {
		b.query_result = stored;
		x->rec.record_count = (uint32_t)stored->n_matches;
		x->rec.categories = (uint32_t *)stored->categories;
		x->rec.n_categories = stored->n_matches > 0 ? stored->n_categories : 0;
		digests_of_result(&x->ds, stored);
	} else {
		state_pending_clear(&p);
		refuse(g, x, PIUGW_EINTERNAL, "the stored decision could not be read");
		return;
	}
	reply(g, x, &b);
	if (stored != NULL)
		piugw__query_result__free_unpacked(stored, NULL);
	state_pending_clear(&p);
}

/* An agreement proposed by x->peer: held for a person here, or where it stands. */
static void
on_proposal(struct gw *g, struct ex *x, const Piugw__AgreementProposal *ap)
{
	Piugw__AgreementResponse r = PIUGW__AGREEMENT_RESPONSE__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	struct state_proposal row;
	char why[400];
	int rc;

	if ((rc = proposals_receive(g, x->peer, x->h, ap, &row, why, sizeof(why))) != 0) {
		refuse(g, x, rc, why);
		return;
	}
	proposals_response(&row, &r);
	b.kind_case = PIUGW__BODY__KIND_AGREEMENT_RESPONSE;
	b.agreement_response = &r;
	x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_PROPOSED;
	x->rec.agreement_hash.data = row.hash;
	x->rec.agreement_hash.len = sizeof(row.hash);
	x->rec.detail = why;
	reply(g, x, &b);
	state_proposal_clear(&row);
}

/* A lookout placed or withdrawn by x->peer, or a notification of one of ours (lookouts.c). */
static void
on_lookout(struct gw *g, struct ex *x, const Piugw__Body *body)
{
	struct lookouts_answer a;
	Piugw__Query q;
	char why[400];
	int rc;

	memset(&a, 0, sizeof(a));
	piugw__body__init(&a.body);
	switch (body->kind_case) {
	case PIUGW__BODY__KIND_LOOKOUT_PLACE:
		/* Whom it looks out for, on record whatever the decision. */
		lookout_as_query(body->lookout_place, &q);
		digests_of_query(&x->ds, &q);
		x->rec.purpose = (uint32_t)body->lookout_place->purpose;
		x->rec.case_reference = body->lookout_place->case_reference;
		rc = lookouts_receive_place(g, x->peer, x->h, body->lookout_place, &a, &x->rec, why,
					    sizeof(why));
		break;
	case PIUGW__BODY__KIND_LOOKOUT_WITHDRAW:
		rc = lookouts_receive_withdraw(g, x->peer, x->h, body->lookout_withdraw, &a,
					       &x->rec, why, sizeof(why));
		if (a.place != NULL) {
			lookout_as_query(a.place, &q);
			digests_of_query(&x->ds, &q);
			x->rec.purpose = (uint32_t)a.place->purpose;
			x->rec.case_reference = a.place->case_reference;
		}
		break;
	default: {
		const Piugw__Notification *nt = body->notification;
		rc = lookouts_receive_notification(g, x->peer, x->h, nt, &a, &x->rec, why,
						   sizeof(why));
		if (nt->match != NULL) {
			/* Whom it discloses: one match. */
			Piugw__QueryResult qr = PIUGW__QUERY_RESULT__INIT;
			Piugw__Match *m[1] = {nt->match};
			qr.matches = m;
			qr.n_matches = 1;
			digests_of_result(&x->ds, &qr);
			if (rc == 0) {
				x->rec.record_count = 1;
				x->rec.categories = (uint32_t *)nt->categories;
				x->rec.n_categories = nt->n_categories;
			}
		}
		break;
	}
	}
	if (rc != 0)
		refuse(g, x, rc, why);
	else {
		x->rec.detail = why;
		reply(g, x, &a.body);
	}
	if (a.place != NULL)
		piugw__lookout_place__free_unpacked(a.place, NULL);
}

/* A request to disclose again a masked match sent to x->peer (unmask.c). */
static void
on_unmask(struct gw *g, struct ex *x, const Piugw__UnmaskRequest *ur)
{
	struct unmask_answer a;
	Piugw__QueryResult *person = NULL;
	char why[600];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = unmask_receive(g, x->peer, x->mid, x->h, ur, &a, &x->rec, &person, why, sizeof(why));
	if (person != NULL)
		digests_of_result(&x->ds, person);
	if (rc != 0)
		refuse(g, x, rc, why);
	else {
		x->rec.detail = why;
		reply(g, x, &a.body);
	}
	disclose_free(&person);
}

static void
on_hello(struct gw *g, struct ex *x, const Piugw__Hello *hello)
{
	Piugw__HelloReply hr = PIUGW__HELLO_REPLY__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	Piugw__AgreementRef refs[16], *rp[16];
	struct witness_out w;
	char sw[64];
	int64_t now = gw_now_ms();

	/* Its log as it shows it, ours as it saw it (witness.c); then ours, and its. */
	witness_receive(g, x->peer, hello->checkpoint, hello->witnessed);
	witness_fill(g, x->peer, &w);
	hr.checkpoint = w.checkpoint;
	hr.witnessed = w.witnessed;
	snprintf(sw, sizeof(sw), "piugw %s", PIUGW_VERSION);
	hr.software = sw;
	hr.received_at_ms = now;
	for (size_t i = 0; i < policy_agreement_count(g->policy) && hr.n_agreements < 16; i++) {
		const struct policy_agreement *pa = policy_agreement_at(g->policy, i);
		if (strcmp(pa->peer, x->peer) != 0)
			continue;
		piugw__agreement_ref__init(&refs[hr.n_agreements]);
		refs[hr.n_agreements].id = pa->a->id;
		refs[hr.n_agreements].hash.data = pa->a->hash;
		refs[hr.n_agreements].hash.len = AGREEMENT_HASH_BYTES;
		refs[hr.n_agreements].in_force =
			policy_agreement_state(pa, now, NULL, 0) == POLICY_IN_FORCE;
		rp[hr.n_agreements] = &refs[hr.n_agreements];
		hr.n_agreements++;
	}
	hr.agreements = rp;
	b.kind_case = PIUGW__BODY__KIND_HELLO_REPLY;
	b.hello_reply = &hr;
	x->rec.event = PIUGW__AUDIT_EVENT__AUDIT_QUERY_RECEIVED;
	x->rec.detail = (char *)"hello";
	reply(g, x, &b);
}

/* See gw.h. */
bool
inbound_recv(struct gw *g, struct inmsg *m)
{
	const char *user;
	int more;

	memset(m, 0, sizeof(*m));
	zmq_msg_init(&m->rid);
	zmq_msg_init(&m->msg);
	m->frames = 2;
	if (zmq_msg_recv(&m->rid, g->links.router, ZMQ_DONTWAIT) < 0 || !zmq_msg_more(&m->rid) ||
	    zmq_msg_recv(&m->msg, g->links.router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m->msg);
		zmq_msg_close(&m->rid);
		return false;
	}
	/* Exactly one frame per message (section 2): drain and refuse anything else. */
	for (more = zmq_msg_more(&m->msg); more; m->frames++) {
		zmq_msg_t extra;
		zmq_msg_init(&extra);
		if (zmq_msg_recv(&extra, g->links.router, ZMQ_DONTWAIT) < 0)
			more = 0;
		else
			more = zmq_msg_more(&extra);
		zmq_msg_close(&extra);
	}
	user = zmq_msg_gets(&m->msg, "User-Id");
	m->opts.conn_user_id = user;
	m->opts.now_ms = gw_now_ms();
	m->opts.freshness_ms = (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
	/*
	 * The checks inbound_handle makes before rule 3, judged once here: only
	 * what passes them is opened (gw_open_all).
	 */
	m->admitted = user != NULL && keys_id_valid(user, strlen(user)) &&
		      policy_member(g->policy, user);
	m->open = m->admitted && m->frames == 2;
	return true;
}

/* See gw.h. */
void
inbound_handle(struct gw *g, struct inmsg *m)
{
	struct ex x;
	struct envelope_opened o;
	const char *user = NULL;
	Piugw__Body *body = NULL;
	int rc, seen;
	uint8_t *prev = NULL;
	size_t prev_len = 0;
	zmq_msg_t *msg = &m->msg;

	memset(&x, 0, sizeof(x));
	digests_init(&x.ds);
	memset(&o, 0, sizeof(o));
	piugw__audit_record__init(&x.rec);
	x.rid = zmq_msg_data(&m->rid);
	x.rid_len = zmq_msg_size(&m->rid);
	x.rec.event = PIUGW__AUDIT_EVENT__AUDIT_REFUSED;
	x.rec.outbound = false;
	user = m->opts.conn_user_id;
	if (user == NULL || !keys_id_valid(user, strlen(user))) {
		/* ZAP admitted it, so this cannot happen; fail closed if it does. */
		x.rec.event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		x.rec.detail = (char *)"no authenticated identity on the connection";
		reply(g, &x, NULL);
		goto out;
	}
	snprintf(x.peer, sizeof(x.peer), "%s", user);
	snprintf(x.conn_user, sizeof(x.conn_user), "%s", user);
	/* The same bytes again, refused before rule 5 the first time: the same reply. */
	{
		crypto_generichash_state hs;
		struct early_slot *es;
		bool hit;
		crypto_generichash_init(&hs, NULL, 0, sizeof(x.hash));
		crypto_generichash_update(&hs, (const uint8_t *)user, strlen(user) + 1);
		crypto_generichash_update(&hs, zmq_msg_data(msg), zmq_msg_size(msg));
		crypto_generichash_final(&hs, x.hash, sizeof(x.hash));
		if (m->admitted && (es = early_find(g, x.hash, false, &hit)) != NULL && hit) {
			links_router_send(g, x.rid, x.rid_len, es->env, es->len);
			gw_log(GW_DEBUG, "repeat_answered", "peer=%s early=1", user);
			goto out;
		}
		x.early = true;
	}
	/*
	 * Revocation takes effect on open connections at once: every message is
	 * checked against the current directory and agreements, not only the
	 * handshake.
	 */
	if (!m->admitted) {
		x.rec.event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		x.rec.detail = (char *)"no longer a member of the directory";
		gw_log(GW_WARN, "dropped", "peer=%s why=%s", user, gw_esc(x.rec.detail));
		x.peer[0] = '\0';
		reply(g, &x, NULL);
		goto out;
	}
	if (m->frames != 2) {
		/* Refused, but by name when its first frame's header can be read. */
		envelope_open(g->env, zmq_msg_data(msg), zmq_msg_size(msg), &m->opts, &o);
		if (o.id_ok) {
			x.have_mid = true;
			memcpy(x.mid, o.header.message_id, sizeof(x.mid));
		}
		refuse(g, &x, PIUGW_EMALFORMED, "a message is exactly one frame");
		goto out;
	}
	/* Rules 3 and 4: done by gw_open_all (m->open holds here). */
	rc = m->rc;
	o = m->o;
	memset(&m->o, 0, sizeof(m->o));
	if (o.id_ok) {
		x.have_mid = true;
		memcpy(x.mid, o.header.message_id, sizeof(x.mid));
	}
	if (o.header_ok) {
		x.h = &o.header;
		x.rec.agreement_id = o.header.agreement_id;
	}
	if (rc != 0) {
		char detail[160];
		/*
		 * Answer only where a key can be derived for the claimed sender; a
		 * sender that differs from the connection's identity is answered
		 * sealed for the connection's member, who is who we know is there.
		 */
		if (rc == PIUGW_ESENDERMISMATCH || !o.header_ok ||
		    envelope_ctx_peer(g->env, o.header.sender) == NULL)
			snprintf(x.peer, sizeof(x.peer), "%s", user);
		else
			snprintf(x.peer, sizeof(x.peer), "%s", o.header.sender);
		if (rc == PIUGW_ESTALE)
			snprintf(detail, sizeof(detail),
				 "sent_at_ms %lld is more than %u s from our clock %lld",
				 (long long)o.header.sent_at_ms,
				 policy_config(g->policy)->freshness_seconds,
				 (long long)m->opts.now_ms);
		else if (rc == PIUGW_ENOTFORME)
			snprintf(detail, sizeof(detail), "this is %s, not %s",
				 policy_config(g->policy)->id, o.header.recipient);
		else
			snprintf(detail, sizeof(detail), "%s", piugw_strerror(rc));
		refuse(g, &x, rc, detail);
		goto out;
	}
	/* Rule 5: a repeat gets the same bytes; other bytes under a seen id are REPLAYED. */
	/* The digest of the bytes, as the early cache took it (one hash per message). */
	rc = state_replay_check(g->state, x.peer, x.mid, x.hash, m->opts.now_ms,
				audit_durable(g->audit), &seen, &prev, &prev_len);
	if (rc != 0) {
		refuse(g, &x, PIUGW_EINTERNAL, "the replay cache could not be read");
		goto out;
	}
	if (seen == STATE_SEEN_REPEAT) {
		links_router_send(g, x.rid, x.rid_len, prev, prev_len);
		gw_log(GW_DEBUG, "repeat_answered", "peer=%s", x.peer);
		goto out;
	}
	if (seen == STATE_SEEN_IN_PROGRESS)
		goto out; /* its answer is on its way (waiting for the audit) */
	if (seen == STATE_SEEN_REPLAYED) {
		refuse(g, &x, PIUGW_EREPLAYED, "this message id was already used with other bytes");
		goto out;
	}
	x.remember = true;
	x.early = false;
	/* A request answers nothing: one that says it does is not one this protocol knows. */
	if (o.header.has_in_reply_to) {
		refuse(g, &x, PIUGW_EMALFORMED, "a request carries no in_reply_to");
		goto out;
	}
	if ((rc = body_unpack(o.body, o.body_len, &body)) != 0) {
		refuse(g, &x, rc, "the body does not parse as a known message kind");
		goto out;
	}
	/* A newer peer's fields are ignored (proto3), and named in the record. */
	if (body_unknown_fields(&body->base, x.unknown, sizeof(x.unknown)) > 0)
		gw_log(GW_INFO, "unknown_fields", "peer=%s fields=%s", x.peer, gw_esc(x.unknown));
	/* A Hello may follow the acceptance of our proposal there: ask about it now. */
	if (body->kind_case == PIUGW__BODY__KIND_HELLO && gw_peer(g, x.peer) != NULL)
		gw_peer(g, x.peer)->hint = true;
	/*
	 * Every member of the directory may propose an agreement; the rest
	 * needs one in force (a Query's own agreement is judged by the policy,
	 * which says which rule it breaks).
	 */
	if ((body->kind_case == PIUGW__BODY__KIND_HELLO ||
	     body->kind_case == PIUGW__BODY__KIND_POLL ||
	     body->kind_case == PIUGW__BODY__KIND_LOOKOUT_WITHDRAW ||
	     body->kind_case == PIUGW__BODY__KIND_NOTIFICATION ||
	     body->kind_case == PIUGW__BODY__KIND_UNMASK_REQUEST) &&
	    !policy_admitted(g->policy, x.peer, m->opts.now_ms)) {
		char why[200];
		snprintf(why, sizeof(why), "%s holds no agreement in force with %s; without one, "
			 "only an AgreementProposal is taken", policy_config(g->policy)->id, x.peer);
		refuse(g, &x, PIUGW_ENOAGREEMENT, why);
		goto out;
	}
	switch (body->kind_case) {
	case PIUGW__BODY__KIND_HELLO: on_hello(g, &x, body->hello); break;
	case PIUGW__BODY__KIND_QUERY: on_query(g, &x, body->query); break;
	case PIUGW__BODY__KIND_POLL: on_poll(g, &x, body->poll); break;
	case PIUGW__BODY__KIND_AGREEMENT_PROPOSAL:
		on_proposal(g, &x, body->agreement_proposal);
		break;
	case PIUGW__BODY__KIND_LOOKOUT_PLACE:
	case PIUGW__BODY__KIND_LOOKOUT_WITHDRAW:
	case PIUGW__BODY__KIND_NOTIFICATION:
		on_lookout(g, &x, body);
		break;
	case PIUGW__BODY__KIND_UNMASK_REQUEST:
		on_unmask(g, &x, body->unmask_request);
		break;
	default:
		refuse(g, &x, PIUGW_EMALFORMED,
		       "only Hello, Query, Poll, AgreementProposal, LookoutPlace, LookoutWithdraw, "
		       "Notification and UnmaskRequest are requests");
		break;
	}
out:
	body_free(&body);
	free(prev);
	envelope_opened_clear(&o);
	envelope_opened_clear(&m->o); /* opened by gw_open_all, not taken (an early repeat) */
	zmq_msg_close(&m->msg);
	zmq_msg_close(&m->rid);
}

/* ---- approvals (local API) ---- */

/* See gw.h. */
void
inbound_pending_list(struct gw *g, Piugw__LocalReply *reply_out)
{
	struct state_pending *v = NULL;
	size_t n = 0;
	Piugw__PendingReply *pr = calloc(1, sizeof(*pr));

	if (pr == NULL)
		return;
	piugw__pending_reply__init(pr);
	reply_out->kind_case = PIUGW__LOCAL_REPLY__KIND_PENDING;
	reply_out->pending = pr;
	if (state_pending_list(g->state, &v, &n) != 0 || n == 0)
		return;
	pr->items = calloc(n, sizeof(*pr->items));
	for (size_t i = 0; pr->items != NULL && i < n; i++) {
		Piugw__PendingItem *it = calloc(1, sizeof(*it));
		Piugw__Query *q = v[i].kind == STATE_PENDING_QUERY
					  ? piugw__query__unpack(NULL, v[i].query_len, v[i].query)
					  : NULL;
		if (it == NULL) {
			if (q != NULL)
				piugw__query__free_unpacked(q, NULL);
			break;
		}
		piugw__pending_item__init(it);
		it->approval_ref = strdup(v[i].ref);
		it->peer = strdup(v[i].peer);
		it->agreement_id = strdup(v[i].agreement_id);
		it->received_at_ms = v[i].received_ms;
		if (v[i].kind == STATE_PENDING_UNMASK)
			unmask_pending_item(&v[i], it);
		if (q != NULL) {
			it->purpose = q->purpose;
			it->offence = strdup(q->offence);
			it->case_reference = strdup(q->case_reference);
			it->justification = strdup(q->justification);
			it->query_type = (Piugw__QueryType)policy_query_type(q);
			piugw__query__free_unpacked(q, NULL);
		}
		pr->items[pr->n_items++] = it;
	}
	for (size_t i = 0; i < n; i++)
		state_pending_clear(&v[i]);
	free(v);
}

/* An error reply for the approver (out of memory: the caller's own error then). */
static void
decide_error(Piugw__LocalReply *out, Piugw__ErrorCode code, const char *detail)
{
	out->kind_case = PIUGW__LOCAL_REPLY__KIND_ERROR;
	if ((out->error = calloc(1, sizeof(*out->error))) == NULL)
		return;
	piugw__local_error__init(out->error);
	out->error->code = code;
	out->error->detail = strdup(detail);
}

/* See gw.h. */
void
inbound_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec_in, uint32_t uid,
	       Piugw__LocalReply *out, uint64_t *seqp)
{
	struct state_pending p;
	struct policy_request req;
	struct policy_decision dec;
	Piugw__Query *q = NULL;
	Piugw__QueryResult *qr = NULL, denied = PIUGW__QUERY_RESULT__INIT;
	Piugw__DecisionReply *dr = NULL;
	struct ex x;
	char who[64], why[200], reason[400];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	*seqp = 0;
	memset(&x, 0, sizeof(x));
	digests_init(&x.ds);
	memset(&req, 0, sizeof(req));
	memset(&dec, 0, sizeof(dec));
	piugw__audit_record__init(&x.rec);
	gw_user_name(uid, who, sizeof(who));
	if ((rc = state_pending_get(g->state, dec_in->approval_ref, &p)) != 0 ||
	    p.status != STATE_PENDING) {
		snprintf(why, sizeof(why), "%s: %s", dec_in->approval_ref,
			 rc != 0 ? "no such request held for approval (see piugw pending)"
				 : "already decided");
		decide_error(out, PIUGW__ERROR_CODE__ERROR_UNKNOWN_QUERY, why);
		state_pending_clear(&p);
		return;
	}
	snprintf(x.peer, sizeof(x.peer), "%s", p.peer);
	x.rec.operator_ = who;
	x.rec.agreement_id = p.agreement_id;
	x.rec.message_id.data = p.message_id;
	x.rec.message_id.len = sizeof(p.message_id);
	q = piugw__query__unpack(NULL, p.query_len, p.query);
	snprintf(reason, sizeof(reason), "%s", dec_in->reason);
	if (approve && q != NULL) {
		/* The agreement may have changed since: decide again (not counted twice). */
		policy_from_query(q, &req, why, sizeof(why));
		req.direction = POLICY_INBOUND;
		req.peer = p.peer;
		req.agreement_id = p.agreement_id;
		req.now_ms = gw_now_ms();
		if ((rc = policy_decide(g->policy, NULL, &req, &dec)) != 0) {
			approve = false;
			snprintf(reason, sizeof(reason), "no longer allowed: %s", dec.detail);
		}
	}
	if (q != NULL) {
		digests_of_query(&x.ds, q);
		x.rec.purpose = (uint32_t)q->purpose;
		x.rec.case_reference = q->case_reference;
		x.rec.query_type = (uint32_t)policy_query_type(q);
	}
	if (approve && q != NULL) {
		if ((rc = answer(g, q, &dec, &qr, &x)) != 0) {
			approve = false;
			snprintf(reason, sizeof(reason), "%s",
				 rc == PIUGW_EAUDIT ? "the audit log cannot be written"
						    : "the store could not be searched");
		}
	}
	if (approve && qr != NULL) {
		len = piugw__query_result__get_packed_size(qr);
		buf = malloc(len ? len : 1);
		if (buf != NULL)
			piugw__query_result__pack(qr, buf);
		x.rec.event = PIUGW__AUDIT_EVENT__AUDIT_APPROVED;
	} else {
		denied.status = PIUGW__RESULT_STATUS__RESULT_DENIED;
		denied.denial_reason = reason;
		denied.approval_ref = p.ref;
		denied.handling_code = handling_of(g, p.agreement_id, p.peer);
		len = piugw__query_result__get_packed_size(&denied);
		buf = malloc(len ? len : 1);
		if (buf != NULL)
			piugw__query_result__pack(&denied, buf);
		x.rec.event = PIUGW__AUDIT_EVENT__AUDIT_DENIED;
		x.rec.detail = (char *)"denied by an approver";
	}
	dr = calloc(1, sizeof(*dr));
	if (buf == NULL || dr == NULL) {
		/* Nothing decided: the approver is told, and may try again. */
		free(dr);
		decide_error(out, PIUGW__ERROR_CODE__ERROR_INTERNAL, piugw_strerror(PIUGW_ENOMEM));
		goto out;
	}
	digests_finish(g, &x.ds);
	x.rec.subject_digests = x.ds.v;
	x.rec.n_subject_digests = x.ds.n;
	x.rec.peer = x.peer;
	/*
	 * The decision is on record before it can be collected; the approver
	 * is told once that record is durable (*seqp) and state.db committed.
	 */
	if ((rc = gw_audit(g, &x.rec, seqp)) != 0 ||
	    (rc = state_pending_decide(g->state, p.ref, approve ? STATE_APPROVED : STATE_DENIED, buf,
				       len, who, gw_now_ms())) != 0) {
		free(dr);
		*seqp = 0;
		decide_error(out, PIUGW__ERROR_CODE__ERROR_INTERNAL, piugw_strerror(rc));
		goto out;
	}
	piugw__decision_reply__init(dr);
	dr->approval_ref = strdup(p.ref);
	dr->status = approve && qr != NULL ? qr->status : PIUGW__RESULT_STATUS__RESULT_DENIED;
	dr->match_count = approve && qr != NULL ? qr->match_count : 0;
	out->kind_case = PIUGW__LOCAL_REPLY__KIND_DECISION;
	out->decision = dr;
	gw_log(GW_INFO, approve ? "approved" : "denied", "approval_ref=%s peer=%s operator=%s",
	       p.ref, p.peer, gw_esc(who));
out:
	if (buf != NULL)
		sodium_memzero(buf, len);
	free(buf);
	disclose_free(&qr);
	if (q != NULL)
		piugw__query__free_unpacked(q, NULL);
	state_pending_clear(&p);
}
