/*
 * outbound.c: the asking side of piugwd.
 *
 * A local query is checked against our outbound terms first (so a request
 * the partner would refuse is stopped here, with the same code), sealed
 * once, recorded, and its exact bytes re-sent every retry interval until
 * an answer or the deadline (PROTOCOL.md section 10). Answers are checked,
 * audited, kept in state.db for `piugw results` where needed, and PENDING
 * answers are polled in the background until they are final. Hello rounds
 * to every partner carry the audit checkpoints they witness. Our agreement
 * proposals go the same way (proposals.c judges and keeps them): sent
 * until the other side holds them, then asked again until decided.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "body.h"
#include "disclose.h"
#include "gw.h"
#include "num.h"
#include "piugw/error.h"
#include "vocab.h"

/* ---- jobs ---- */

struct job *
outbound_job_new(struct gw *g, enum job_kind kind, const uint8_t *rid, size_t rid_len, uint32_t uid,
		 size_t n)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || rid_len > sizeof(j->rid))
		goto fail;
	j->kind = kind;
	memcpy(j->rid, rid, rid_len);
	j->rid_len = rid_len;
	j->uid = uid;
	j->n = n;
	if (n > 0 && kind != JOB_PEERS && (j->answers = calloc(n, sizeof(*j->answers))) == NULL)
		goto fail;
	if (n > 0 && kind == JOB_PEERS && (j->infos = calloc(n, sizeof(*j->infos))) == NULL)
		goto fail;
	j->next = g->out.jobs;
	g->out.jobs = j;
	return j;
fail:
	if (j != NULL) {
		free(j->answers);
		free(j->infos);
	}
	free(j);
	return NULL;
}

static void
job_free(struct gw *g, struct job *j)
{
	for (struct job **pp = &g->out.jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	/* Outstanding requests outlive their caller (answers are kept in state.db). */
	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		if (o->job == j)
			o->job = NULL;
	for (size_t i = 0; i < j->n; i++) {
		if (j->answers != NULL && j->answers[i] != NULL)
			piugw__peer_answer__free_unpacked(j->answers[i], NULL);
		if (j->infos != NULL && j->infos[i] != NULL)
			piugw__peer_info__free_unpacked(j->infos[i], NULL);
	}
	free(j->answers);
	free(j->infos);
	free(j);
}

/* Answer the local caller of j with what it has, and forget j. */
void
outbound_job_finish(struct gw *g, struct job *j)
{
	Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
	Piugw__QueryReply qr = PIUGW__QUERY_REPLY__INIT;
	Piugw__PeersReply pr = PIUGW__PEERS_REPLY__INIT;
	size_t k = 0;

	if (j->kind == JOB_PEERS) {
		for (size_t i = 0; i < j->n; i++)
			if (j->infos[i] != NULL)
				j->infos[k++] = j->infos[i];
		pr.peers = j->infos;
		pr.n_peers = k;
		r.kind_case = PIUGW__LOCAL_REPLY__KIND_PEERS;
		r.peers = &pr;
	} else {
		Piugw__PeerAnswer **v = j->answers;
		for (size_t i = 0; i < j->n; i++)
			if (v[i] != NULL)
				v[k++] = v[i];
		for (size_t i = k; i < j->n; i++)
			v[i] = NULL;
		qr.answers = v;
		qr.n_answers = k;
		r.kind_case = PIUGW__LOCAL_REPLY__KIND_QUERY;
		r.query = &qr;
	}
	/* Verified, opened, audited, then returned (DESIGN.md section 4). */
	reply_local_durable(g, j->seq, j->rid, j->rid_len, &r);
	job_free(g, j);
}

/* A heap copy of a (possibly stack-built) PeerAnswer, through its bytes; *bufp keeps them. */
static Piugw__PeerAnswer *
answer_clone(const Piugw__PeerAnswer *a, uint8_t **bufp, size_t *lenp)
{
	size_t len = piugw__peer_answer__get_packed_size(a);
	uint8_t *buf = malloc(len ? len : 1);
	Piugw__PeerAnswer *c;

	*bufp = NULL;
	if (buf == NULL)
		return NULL;
	piugw__peer_answer__pack(a, buf);
	c = piugw__peer_answer__unpack(NULL, len, buf);
	*bufp = buf;
	*lenp = len;
	return c;
}

/* Keep a's bytes in state.db if keep, and wake callers waiting on its request id. */
static void
answer_store(struct gw *g, const Piugw__PeerAnswer *a, bool keep, uint32_t uid,
	     const char *approval_ref, const uint8_t *buf, size_t len)
{
	struct state_result r;

	memset(&r, 0, sizeof(r));
	if (!keep)
		goto wake;
	snprintf(r.request_id, sizeof(r.request_id), "%s", a->request_id);
	snprintf(r.peer, sizeof(r.peer), "%s", a->peer);
	snprintf(r.agreement_id, sizeof(r.agreement_id), "%s", a->agreement_id);
	snprintf(r.approval_ref, sizeof(r.approval_ref), "%s", approval_ref ? approval_ref : "");
	r.operator_uid = uid;
	r.outcome = (int)a->outcome;
	r.sent_ms = a->sent_at_ms;
	r.updated_ms = gw_now_ms();
	r.answer = (uint8_t *)buf;
	r.answer_len = len;
	if (state_result_put(g->state, &r) != 0)
		gw_log(GW_ERROR, "state", "problem=%s request=%s",
		       gw_esc("an answer could not be kept for collection"), a->request_id);
wake:
	for (struct job *j = g->out.jobs, *next; j != NULL; j = next) {
		next = j->next;
		if (j->kind == JOB_RESULTS && strcmp(j->request_id, a->request_id) == 0 &&
		    a->outcome != PIUGW__OUTCOME__OUTCOME_WAITING &&
		    a->outcome != PIUGW__OUTCOME__OUTCOME_UNSPECIFIED) {
			uint8_t *b2 = NULL;
			size_t l2 = 0;
			j->answers[0] = answer_clone(a, &b2, &l2);
			free(b2);
			outbound_job_finish(g, j);
		}
	}
}

/*
 * Settle slot of job j (may be NULL) with answer a: handed to the caller,
 * and kept in state.db for `piugw results` only where that is needed: an
 * answer still waiting for approval (polled in the background), the final
 * answer to such a poll (it replaces the waiting one), or an answer no
 * caller is there to take (gone past its deadline). Personal data that
 * reached the analyst who asked is not kept a second time here; the audit
 * log records that it came.
 */
static void
settle(struct gw *g, struct job *j, size_t slot, uint32_t uid, const Piugw__PeerAnswer *a,
       const char *approval_ref, bool polled)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	Piugw__PeerAnswer *c = answer_clone(a, &buf, &len);
	bool handed = j != NULL && slot < j->n && j->answers[slot] == NULL;
	bool keep = polled || !handed || c == NULL || a->outcome == PIUGW__OUTCOME__OUTCOME_WAITING;

	if (buf != NULL)
		answer_store(g, a, keep, uid, approval_ref, buf, len);
	if (buf != NULL)
		sodium_memzero(buf, len);
	free(buf);
	if (!handed) {
		if (c != NULL)
			piugw__peer_answer__free_unpacked(c, NULL);
		return;
	}
	/* Every record of this answer is appended by now: the caller waits for them. */
	j->seq = audit_head(g->audit);
	j->answers[slot] = c;
	if (j->stream && j->open > 1) {
		/* This one now, once its records are durable; all of them at the end. */
		Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
		Piugw__QueryReply qr = PIUGW__QUERY_REPLY__INIT;
		qr.answers = &j->answers[slot];
		qr.n_answers = 1;
		r.kind_case = PIUGW__LOCAL_REPLY__KIND_QUERY;
		r.query = &qr;
		r.more = true;
		reply_local_durable(g, j->seq, j->rid, j->rid_len, &r);
	}
	if (--j->open == 0)
		outbound_job_finish(g, j);
}

/* ---- outstanding requests ---- */

static void
outreq_free(struct gw *g, struct outreq *o)
{
	for (struct outreq **pp = &g->out.reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	free(o->env);
	free(o->caller);
	free(o);
}

static void
outreq_try_send(struct gw *g, struct outreq *o, int64_t now)
{
	struct peer *p = gw_peer(g, o->peer);

	if (p != NULL && links_peer_send(g, p, o->env, o->env_len)) {
		o->sent_ms = now;
		if (o->kind == OUT_HELLO)
			o->hello_us = gw_mono_us();
		o->next_ms = now + policy_config(g->policy)->retry_interval_ms;
	} else {
		/* No connection yet: the monitor's connect event sends it, or the next retry. */
		o->next_ms = now + policy_config(g->policy)->retry_interval_ms;
		/* A query is not kept waiting on libzmq's backoff (unreachable_grace_ms). */
		if (p != NULL && o->kind == OUT_QUERY && o->sent_ms == 0)
			links_peer_redial(g, p, now);
	}
}

/* See gw.h: a partner connected; send what waited for it. */
void
outbound_peer_connected(struct gw *g, const char *peer)
{
	int64_t now = gw_now_ms();

	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		if (o->sent_ms == 0 && strcmp(o->peer, peer) == 0)
			outreq_try_send(g, o, now);
	/* A new connection: the two logs are witnessed soon, not a minute on. */
	if (g->witness.next_round_ms > now + 1000)
		g->witness.next_round_ms = now + 1000;
}

/*
 * A request to peer sealed already (env, with message id mid: its own from
 * now on), in the list of those in flight; sent by the caller
 * (outreq_try_send), once what must come first (its audit record) is done.
 */
static struct outreq *
outreq_new_sealed(struct gw *g, enum outreq_kind kind, const char *peer, const char *agreement_id,
		  const uint8_t *hash, const uint8_t mid[16], uint8_t *env, size_t env_len,
		  int64_t deadline_ms)
{
	struct outreq *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		free(env);
		return NULL;
	}
	o->kind = kind;
	snprintf(o->peer, sizeof(o->peer), "%s", peer);
	snprintf(o->agreement_id, sizeof(o->agreement_id), "%s", agreement_id ? agreement_id : "");
	if (hash != NULL) {
		o->has_hash = true;
		memcpy(o->agreement_hash, hash, sizeof(o->agreement_hash));
	}
	memcpy(o->mid, mid, sizeof(o->mid));
	o->env = env;
	o->env_len = env_len;
	sodium_bin2hex(o->request_id, sizeof(o->request_id), o->mid, sizeof(o->mid));
	o->first_ms = gw_now_ms();
	o->deadline_ms = deadline_ms;
	o->next = g->out.reqs;
	g->out.reqs = o;
	return o;
}

/* The same, body sealed here. */
static struct outreq *
outreq_new(struct gw *g, enum outreq_kind kind, const char *peer, const char *agreement_id,
	   const uint8_t *hash, const Piugw__Body *body, int64_t deadline_ms)
{
	uint8_t mid[16], *env = NULL;
	size_t len = 0;

	if (gw_seal(g, peer, NULL, agreement_id, hash, body, mid, &env, &len) != 0)
		return NULL;
	return outreq_new_sealed(g, kind, peer, agreement_id, hash, mid, env, len, deadline_ms);
}

/*
 * The masked matches of a partner's answer to our query o, by their place
 * in it: piugw unmask REQUEST-ID --match N names one (the answer itself
 * may not be kept).
 */
static void
keep_masked_refs(struct gw *g, const struct outreq *o, const Piugw__QueryResult *qr)
{
	for (size_t i = 0; i < qr->n_matches; i++) {
		const Piugw__Match *m = qr->matches[i];
		struct state_masked k;
		if (!m->masked || m->record_ref.len != sizeof(k.ref))
			continue;
		memset(&k, 0, sizeof(k));
		memcpy(k.ref, m->record_ref.data, sizeof(k.ref));
		snprintf(k.peer, sizeof(k.peer), "%s", o->peer);
		snprintf(k.agreement_id, sizeof(k.agreement_id), "%s", o->agreement_id);
		snprintf(k.request_id, sizeof(k.request_id), "%s", o->request_id);
		k.match_no = (uint32_t)i + 1;
		k.created_ms = gw_now_ms();
		if (state_masked_put(g->state, &k) != 0)
			gw_log(GW_ERROR, "state", "problem=%s",
			       gw_esc("a masked match's reference could not be kept"));
	}
}

/* See gw.h. */
bool
outbound_reply_agreement_ok(const struct outreq *o, const struct envelope_header *h,
			    bool is_error, char *why, size_t n)
{
	/* An Error may come from a rule before the agreement was read: its fields may be absent. */
	if ((!is_error || h->agreement_id[0] != '\0' || h->has_agreement_hash) &&
	    (strcmp(h->agreement_id, o->agreement_id) != 0 || h->has_agreement_hash != o->has_hash ||
	     (o->has_hash && sodium_memcmp(h->agreement_hash, o->agreement_hash, 32) != 0))) {
		snprintf(why, n, "the answer's header names agreement '%.64s'%s, the request "
			 "was under '%s' as we hold it", h->agreement_id,
			 strcmp(h->agreement_id, o->agreement_id) == 0 ? " with another hash" : "",
			 o->agreement_id);
		return false;
	}
	return true;
}

/* See gw.h. */
struct outreq *
outbound_other_in_flight(struct gw *g, outreq_answer_fn on_answer, const char *request_id)
{
	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		if (o->kind == OUT_OTHER && o->on_answer == on_answer &&
		    strcmp(o->request_id, request_id) == 0)
			return o;
	return NULL;
}

/* See gw.h. */
struct outreq *
outbound_request(struct gw *g, const char *peer, const char *agreement_id, const uint8_t *hash,
		 const Piugw__Body *body, const uint8_t *env, size_t env_len, const uint8_t *mid,
		 int64_t deadline_ms, outreq_answer_fn on_answer, outreq_expire_fn on_expire)
{
	struct outreq *o;

	if (env != NULL) {
		uint8_t *copy = malloc(env_len ? env_len : 1);
		if (copy == NULL || mid == NULL) {
			free(copy);
			return NULL;
		}
		memcpy(copy, env, env_len);
		o = outreq_new_sealed(g, OUT_OTHER, peer, agreement_id, hash, mid, copy, env_len,
				      deadline_ms);
	} else {
		o = outreq_new(g, OUT_OTHER, peer, agreement_id, hash, body, deadline_ms);
	}
	if (o == NULL)
		return NULL;
	o->on_answer = on_answer;
	o->on_expire = on_expire;
	outreq_try_send(g, o, gw_now_ms());
	return o;
}

/* ---- queries ---- */

/*
 * Record a query sent (or stopped here, refusal != 0), with the n (at most
 * 2) digests of whom it searches for; *seqp its record.
 */
static int
audit_sent(struct gw *g, const char *peer, const Piugw__Query *q, const struct policy_request *req,
	   const struct policy_decision *dec, const uint8_t mid[16], uint32_t uid, int refusal,
	   uint8_t d[][AUDIT_DIGEST_BYTES], size_t n, uint64_t *seqp)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	ProtobufCBinaryData dv[2];
	char who[64];

	gw_user_name(uid, who, sizeof(who));
	for (size_t i = 0; i < n; i++) {
		dv[i].data = d[i];
		dv[i].len = AUDIT_DIGEST_BYTES;
	}
	r.event = refusal ? PIUGW__AUDIT_EVENT__AUDIT_REFUSED : PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT;
	r.outbound = true;
	r.peer = (char *)peer;
	if (dec->agreement != NULL) {
		r.agreement_id = dec->agreement->a->id;
		r.agreement_hash.data = dec->agreement->a->hash;
		r.agreement_hash.len = AGREEMENT_HASH_BYTES;
	}
	if (mid != NULL) {
		r.message_id.data = (uint8_t *)mid;
		r.message_id.len = 16;
	}
	r.purpose = (uint32_t)q->purpose;
	r.offence = req->offence > 0 ? (uint32_t)req->offence : 0;
	r.case_reference = q->case_reference;
	r.operator_ = who;
	r.query_type = (uint32_t)req->query_type;
	r.subject_digests = dv;
	r.n_subject_digests = n;
	if (refusal) {
		r.refusal = (uint32_t)piugw_error_wire_code(refusal);
		r.detail = (char *)"stopped locally by our outbound terms";
	}
	return gw_audit(g, &r, seqp);
}

/* One partner of a query: its decision, and the query sealed for it. */
struct target {
	int rc;
	struct policy_decision dec;
	struct envelope_sealing *sl;
	uint8_t mid[16];
	uint8_t *env;
	size_t env_len;
};

void
outbound_query(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid, const Piugw__LocalQuery *lq)
{
	struct policy_request req;
	struct policy_decision dec;
	const char **targets = NULL;
	struct target *tg = NULL;
	struct envelope_sealing **sl = NULL;
	uint8_t **env = NULL, d[2][AUDIT_DIGEST_BYTES];
	size_t *env_len = NULL, nt = 0, ns = 0, nin, nd = 0;
	struct audit_digest_input in[2];
	struct job *j;
	char why[200];
	int64_t now = gw_now_ms(), deadline;
	uint32_t dl_ms = policy_config(g->policy)->query_deadline_seconds * 1000;
	bool all;

	if (lq->query == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED, "the request holds no query");
		return;
	}
	memset(&req, 0, sizeof(req));
	if (!policy_from_query(lq->query, &req, why, sizeof(why))) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED, "%s", why);
		return;
	}
	if (lq->deadline_ms > 0 && lq->deadline_ms < dl_ms)
		dl_ms = lq->deadline_ms;
	/* Never past the freshness window: the partner would refuse the retries as STALE. */
	if (dl_ms > policy_config(g->policy)->freshness_seconds * 1000)
		dl_ms = policy_config(g->policy)->freshness_seconds * 1000;
	deadline = now + dl_ms;
	all = strcmp(lq->to, "all") == 0;
	/* As many as there are partners: no cap but the directory's. */
	if ((targets = calloc(g->npeers + 1, sizeof(*targets))) == NULL ||
	    (sl = calloc(g->npeers + 1, sizeof(*sl))) == NULL ||
	    (env = calloc(g->npeers + 1, sizeof(*env))) == NULL ||
	    (env_len = calloc(g->npeers + 1, sizeof(*env_len))) == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		goto out;
	}
	req.direction = POLICY_OUTBOUND;
	req.agreement_id = lq->agreement_id[0] != '\0' ? lq->agreement_id : NULL;
	req.now_ms = now;
	if (all) {
		/* Every partner whose terms allow this query. */
		for (size_t i = 0; i < g->npeers; i++) {
			if (g->peers[i].stranger)
				continue;
			req.peer = g->peers[i].id;
			if (policy_decide(g->policy, NULL, &req, &dec) == 0)
				targets[nt++] = g->peers[i].id;
		}
		if (nt == 0) {
			reply_local_error(g, rid, rid_len, PIUGW_WIRE_QUERY_TYPE_NOT_ALLOWED,
					  "no partner's agreement allows this query (purpose %s, "
					  "%s); see piugw policy check",
					  vocab_name(vocab_purposes, req.purpose),
					  vocab_name(vocab_query_types, req.query_type));
			goto out;
		}
	} else {
		if (gw_peer(g, lq->to) == NULL || gw_peer(g, lq->to)->stranger) {
			reply_local_error(
				g, rid, rid_len, PIUGW_WIRE_NO_AGREEMENT,
				"%s is not a partner of this gateway (no agreement with it "
				"in %s)",
				lq->to, policy_config(g->policy)->agreements_dir);
			goto out;
		}
		targets[nt++] = lq->to;
	}
	if ((j = outbound_job_new(g, JOB_QUERY, rid, rid_len, uid, nt)) == NULL ||
	    (tg = calloc(nt, sizeof(*tg))) == NULL) {
		if (j != NULL)
			job_free(g, j);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		goto out;
	}
	j->open = nt;
	j->deadline_ms = deadline + 1000;
	j->stream = lq->stream;
	/*
	 * Each partner's decision, and the query sealed for those that allow
	 * it; then every envelope signed and the query's digests made in one
	 * round trip to the key holder, however many partners it goes to.
	 */
	for (size_t i = 0; i < nt; i++) {
		Piugw__Body b = PIUGW__BODY__INIT;
		req.peer = targets[i];
		tg[i].rc = policy_decide(g->policy, g->rates, &req, &tg[i].dec);
		b.kind_case = PIUGW__BODY__KIND_QUERY;
		b.query = lq->query;
		if (tg[i].rc == 0 &&
		    gw_seal_begin(g, targets[i], NULL, tg[i].dec.agreement->a->id,
				  tg[i].dec.agreement->a->hash, &b, tg[i].mid, &tg[i].sl) == 0)
			sl[ns++] = tg[i].sl;
	}
	/* Up to KH_BATCH_MAX - nin partners in that one round trip; more take more. */
	nin = audit_query_digest_inputs(lq->query, in);
	for (size_t at = 0; at < ns || (at == 0 && nin > 0);) {
		size_t k = ns - at;
		bool last = k + nin <= KH_BATCH_MAX;
		int rc = last ? gw_seal_finish_digests(g, sl + at, k, env + at, env_len + at, in, nin,
						       d, &nd)
			      : gw_seal_finish(g, sl + at, k = KH_BATCH_MAX, env + at, env_len + at);
		if (rc != 0)
			for (size_t i = at; i < at + k; i++)
				env[i] = NULL;
		at += k;
		if (last)
			break;
	}
	for (size_t i = 0, k = 0; i < nt; i++)
		if (tg[i].sl != NULL) {
			tg[i].env = env[k];
			tg[i].env_len = env[k] != NULL ? env_len[k] : 0;
			envelope_sealing_free(&tg[i].sl);
			k++;
		}
	for (size_t i = 0; i < nt; i++) {
		const struct policy_decision *td = &tg[i].dec;
		Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
		Piugw__Error e = PIUGW__ERROR__INIT;
		struct outreq *o = NULL;
		int rc = tg[i].rc;
		bool last = i + 1 == nt;

		req.peer = targets[i];
		a.peer = (char *)targets[i];
		a.sent_at_ms = now;
		if (rc != 0) {
			e.code = (Piugw__ErrorCode)piugw_error_wire_code(rc);
			e.detail = (char *)td->detail;
			if (audit_sent(g, targets[i], lq->query, &req, td, NULL, uid, rc, d, nd, NULL) !=
			    0) {
				e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
				e.detail = (char *)"the audit log cannot be written: nothing was sent";
			}
			a.outcome = PIUGW__OUTCOME__OUTCOME_REFUSED_LOCALLY;
			a.error = &e;
			a.agreement_id = td->agreement ? td->agreement->a->id : (char *)"";
			gw_log(GW_INFO, "query_stopped_locally", "peer=%s code=%s", targets[i],
			       piugw_wire_error_name(piugw_error_wire_code(rc)));
			snprintf(why, sizeof(why), "direction=\"outbound_local\",peer=\"%s\",code=\"%s\"",
				 targets[i], piugw_wire_error_name(piugw_error_wire_code(rc)));
			metrics_add(g, "piugw_refusals_total", why, 1);
			a.request_id = (char *)"";
			settle(g, j, i, uid, &a, NULL, false);
			/* settle() may have finished (and freed) the job */
			if (last)
				break;
			continue;
		}
		if (tg[i].env != NULL) {
			o = outreq_new_sealed(g, OUT_QUERY, targets[i], td->agreement->a->id,
					      td->agreement->a->hash, tg[i].mid, tg[i].env,
					      tg[i].env_len, deadline);
			tg[i].env = NULL; /* the request's, even if it could not be made */
		}
		/*
		 * On record before it leaves: appended first, and durable by the
		 * end of this turn, while the partner works on it (a crash in
		 * between leaves the partner's record of it alone).
		 */
		e.detail = (char *)"the query could not be sealed";
		if (o != NULL && audit_sent(g, targets[i], lq->query, &req, td, o->mid, uid, 0, d, nd,
					    NULL) != 0) {
			outreq_free(g, o);
			o = NULL;
			e.detail = (char *)"the audit log cannot be written: the query was not sent";
		}
		if (o == NULL) {
			e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
			a.outcome = PIUGW__OUTCOME__OUTCOME_REFUSED_LOCALLY;
			a.error = &e;
			a.request_id = (char *)"";
			a.agreement_id = td->agreement->a->id;
			settle(g, j, i, uid, &a, NULL, false);
			if (last)
				break;
			continue;
		}
		o->job = j;
		o->slot = i;
		outreq_try_send(g, o, now);
		snprintf(why, sizeof(why), "peer=\"%s\",agreement=\"%s\"", targets[i],
			 td->agreement->a->id);
		metrics_add(g, "piugw_queries_sent_total", why, 1);
		gw_log(GW_INFO, "query_sent", "peer=%s request=%s agreement=%s type=%s", targets[i],
		       o->request_id, td->agreement->a->id,
		       vocab_name(vocab_query_types, req.query_type));
		/* In flight, it is known to `piugw results` from the list of requests. */
		o->uid = uid;
	}
	for (size_t i = 0; i < nt; i++)
		free(tg[i].env);
out:
	free(tg);
	free(targets);
	free(sl);
	free(env);
	free(env_len);
}

/* An answer to one of our queries or polls. */
/*
 * The asking side's checks of a partner's answer (PROTOCOL.md section 11):
 * a QueryResult or an Error, under the request's own agreement fields, and
 * a result holding no more than our copy of the terms lets the partner send
 * us, and no more than it declares. false, with why, when it is refused.
 */
static bool
answer_acceptable(struct gw *g, const struct outreq *o, const struct envelope_header *h,
		  const Piugw__Body *b, vocab_set *arrivedp, char *why, size_t whylen)
{
	const struct policy_agreement *pa;
	const struct agreement_terms *t;
	bool is_error = b->kind_case == PIUGW__BODY__KIND_ERROR;

	*arrivedp = 0;
	if (b->kind_case != PIUGW__BODY__KIND_QUERY_RESULT && !is_error) {
		snprintf(why, whylen, "the partner answered with a %s, where a QueryResult or an "
			 "Error was due", b->kind_case == PIUGW__BODY__KIND_HELLO_REPLY ? "HelloReply"
					  : b->kind_case == PIUGW__BODY__KIND_HELLO	 ? "Hello"
					  : b->kind_case == PIUGW__BODY__KIND_QUERY	 ? "Query"
					  : b->kind_case == PIUGW__BODY__KIND_POLL	 ? "Poll"
											 : "message of no known kind");
		return false;
	}
	if (!outbound_reply_agreement_ok(o, h, is_error, why, whylen))
		return false;
	if (is_error)
		return true;
	pa = policy_agreement(g->policy, o->agreement_id);
	t = pa != NULL ? agreement_terms_for(pa->a, policy_config(g->policy)->id, o->peer) : NULL;
	if (t == NULL) {
		disclose_check_received(&(struct agreement_terms){0}, b->query_result, arrivedp,
					why, whylen);
		snprintf(why, whylen, "agreement %s, which the request was under, no longer holds "
			 "terms for our requests to %s: the answer cannot be checked", o->agreement_id,
			 o->peer);
		return false;
	}
	return disclose_check_received(t, b->query_result, arrivedp, why, whylen) == 0;
}

/* The categories of s, as the values an audit record lists. */
static size_t
set_values(vocab_set s, uint32_t *out, size_t max)
{
	size_t n = 0;

	for (uint32_t i = 1; i < 32 && n < max; i++)
		if (s & VOCAB_BIT(i))
			out[n++] = i;
	return n;
}

static void
on_answer(struct gw *g, struct outreq *o, const struct envelope_header *h, const Piugw__Body *b,
	  bool here)
{
	Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	uint8_t d[64][AUDIT_DIGEST_BYTES];
	ProtobufCBinaryData dv[64];
	struct state_result prev;
	uint32_t uid = 0;
	const char *approval_ref = NULL;
	size_t nd = 0;
	uint8_t qmid[16];
	Piugw__Error mis = PIUGW__ERROR__INIT;
	char mismatch[400], why[300], bad[400];
	vocab_set arrived = 0;
	uint32_t cats[32];

	memset(&prev, 0, sizeof(prev));
	/* A poll's caller is on record with the waiting answer. */
	if (o->kind == OUT_POLL && state_result_get(g->state, o->request_id, &prev) == 0)
		uid = prev.operator_uid;
	else
		uid = o->uid;
	a.peer = o->peer;
	a.request_id = o->request_id;
	a.agreement_id = o->agreement_id;
	a.sent_at_ms = o->first_ms;
	a.answered_at_ms = gw_now_ms();
	r.event = PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED;
	r.outbound = true;
	r.peer = o->peer;
	r.agreement_id = o->agreement_id;
	sodium_hex2bin(qmid, sizeof(qmid), o->request_id, strlen(o->request_id), NULL, NULL, NULL);
	r.message_id.data = qmid;
	r.message_id.len = sizeof(qmid);
	a.decided_here = here;
	if (!here && !answer_acceptable(g, o, h, b, &arrived, why, sizeof(why))) {
		/*
		 * Refused here: the analyst is told why and sees none of it; the
		 * audit record says exactly what arrived (categories, records,
		 * the persons as digests), so the log never understates it.
		 */
		char l[128];
		snprintf(bad, sizeof(bad), "%s's answer was refused here: %s", o->peer, why);
		mis.code = PIUGW__ERROR_CODE__ERROR_MALFORMED;
		mis.detail = bad;
		a.outcome = PIUGW__OUTCOME__OUTCOME_BAD_ANSWER;
		a.error = &mis;
		a.decided_here = true;
		r.refusal = PIUGW__ERROR_CODE__ERROR_MALFORMED;
		r.detail = bad;
		if (b->kind_case == PIUGW__BODY__KIND_QUERY_RESULT) {
			r.record_count = (uint32_t)b->query_result->n_matches;
			r.n_categories = set_values(arrived, cats, 32);
			r.categories = cats;
			nd = gw_result_digests(g, b->query_result, d, 64);
		}
		snprintf(l, sizeof(l), "peer=\"%s\"", o->peer);
		metrics_add(g, "piugw_bad_answers_total", l, 1);
		gw_log(GW_WARN, "bad_answer", "peer=%s request=%s why=%s", o->peer, o->request_id,
		       gw_esc(why));
	} else if (b->kind_case == PIUGW__BODY__KIND_QUERY_RESULT) {
		Piugw__QueryResult *qr = b->query_result;
		a.result = qr;
		keep_masked_refs(g, o, qr);
		if (qr->status == PIUGW__RESULT_STATUS__RESULT_PENDING) {
			a.outcome = PIUGW__OUTCOME__OUTCOME_WAITING;
			approval_ref = qr->approval_ref[0] != '\0' ? qr->approval_ref : prev.approval_ref;
			r.detail = (char *)"pending at the partner";
		} else {
			a.outcome = PIUGW__OUTCOME__OUTCOME_ANSWERED;
			r.detail = (char *)(qr->status == PIUGW__RESULT_STATUS__RESULT_HIT	   ? "hit"
					    : qr->status == PIUGW__RESULT_STATUS__RESULT_NO_HIT ? "no hit"
												 : "denied");
		}
		r.record_count = (uint32_t)qr->n_matches;
		r.categories = (uint32_t *)qr->categories;
		r.n_categories = qr->n_matches > 0 ? qr->n_categories : 0;
		nd = gw_result_digests(g, qr, d, 64);
	} else if (b->kind_case == PIUGW__BODY__KIND_ERROR) {
		a.outcome = PIUGW__OUTCOME__OUTCOME_REFUSED;
		a.error = b->error;
		if (b->error->code == PIUGW__ERROR_CODE__ERROR_AGREEMENT_MISMATCH) {
			/* Both fingerprints, so the operators can see which copies differ. */
			const struct policy_agreement *pa = policy_agreement(g->policy, o->agreement_id);
			char ours[2 * AGREEMENT_HASH_BYTES + 1] = "?";
			if (pa != NULL)
				sodium_bin2hex(ours, sizeof(ours), pa->a->hash, AGREEMENT_HASH_BYTES);
			snprintf(mismatch, sizeof(mismatch),
				 "%s holds agreement %s as %.64s, we hold it as %s: compare the "
				 "two files (piugw agreement diff) and have both parties sign the "
				 "same bytes", o->peer, o->agreement_id, b->error->detail, ours);
			mis.code = b->error->code;
			mis.detail = mismatch;
			a.error = &mis;
		}
		r.refusal = (uint32_t)b->error->code;
		/* Who decided: the partner, or this gateway judging its answer (STALE by our clock). */
		r.detail = (char *)(here ? "refused here, by this gateway" : "refused by the partner");
	}
	for (size_t i = 0; i < nd; i++) {
		dv[i].data = d[i];
		dv[i].len = AUDIT_DIGEST_BYTES;
	}
	r.subject_digests = dv;
	r.n_subject_digests = nd;
	if (gw_audit(g, &r, NULL) != 0) {
		/* Not on record: the analyst sees none of it, and is told why. */
		mis.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
		mis.detail = (char *)"the audit log cannot be written: the answer is not shown";
		a.result = NULL;
		a.error = &mis;
		a.outcome = PIUGW__OUTCOME__OUTCOME_REFUSED_LOCALLY;
		a.decided_here = true;
		approval_ref = NULL;
	}
	{
		char l[128];
		if (a.error != NULL) {
			snprintf(l, sizeof(l), "direction=\"outbound\",peer=\"%s\",code=\"%s\"", o->peer,
				 piugw_wire_error_name((enum piugw_wire_error)a.error->code));
			metrics_add(g, "piugw_refusals_total", l, 1);
		} else {
			static const char *st[] = {"?", "hit", "no_hit", "pending", "denied"};
			unsigned s = a.result->status <= 4 ? (unsigned)a.result->status : 0;
			snprintf(l, sizeof(l), "direction=\"received\",peer=\"%s\",status=\"%s\"",
				 o->peer, st[s]);
			metrics_add(g, "piugw_answers_total", l, 1);
		}
		if (o->kind == OUT_QUERY)
			metrics_observe(g, o->peer, (double)(a.answered_at_ms - o->first_ms) / 1000.0);
	}
	/* A poll that is still PENDING changes nothing. */
	if (o->kind == OUT_POLL && a.outcome == PIUGW__OUTCOME__OUTCOME_WAITING) {
		state_result_clear(&prev);
		return;
	}
	gw_log(GW_INFO, "answer_received", "peer=%s request=%s outcome=%s", o->peer, o->request_id,
	       a.outcome == PIUGW__OUTCOME__OUTCOME_WAITING	? "waiting"
	       : a.outcome == PIUGW__OUTCOME__OUTCOME_REFUSED ? "refused"
							       : "answered");
	settle(g, o->job, o->slot, uid, &a, approval_ref, o->kind == OUT_POLL);
	state_result_clear(&prev);
}

static void
on_hello_reply(struct gw *g, struct outreq *o, const struct envelope_header *h,
	       const Piugw__Body *b)
{
	struct job *j = o->job;
	struct peer *p = gw_peer(g, o->peer);
	Piugw__PeerInfo *pi = j != NULL && o->slot < j->n ? j->infos[o->slot] : NULL;
	int64_t rtt_us = gw_mono_us() - o->hello_us;
	int64_t now = gw_now_ms();

	/* Any signed answer carries the partner's clock, a refusal too. */
	int64_t offset = h->sent_at_ms - (now - rtt_us / 2000);
	int64_t window = (int64_t)policy_config(g->policy)->freshness_seconds * 1000;

	if (p != NULL) {
		p->rtt_us = rtt_us;
		p->clock_offset_ms = offset;
		p->measured_at_ms = now;
	}
	if (pi != NULL) {
		pi->rtt_us = rtt_us;
		pi->clock_offset_ms = offset;
	}
	if (b->kind_case != PIUGW__BODY__KIND_HELLO_REPLY) {
		if (pi != NULL && b->kind_case == PIUGW__BODY__KIND_ERROR) {
			char msg[400];
			snprintf(msg, sizeof(msg), "%s: %s", piugw_wire_error_name((enum piugw_wire_error)b->error->code),
				 b->error->detail);
			gw_set_str(&pi->problem, msg);
		}
	} else {
		const Piugw__HelloReply *hr = b->hello_reply;
		if (p != NULL) {
			p->reachable = true;
			p->last_hello_ms = now;
		}
		witness_receive(g, o->peer, hr->checkpoint, hr->witnessed);
		if (pi != NULL) {
			pi->reachable = true;
			pi->theirs = calloc(hr->n_agreements ? hr->n_agreements : 1, sizeof(*pi->theirs));
			for (size_t i = 0; pi->theirs != NULL && i < hr->n_agreements && i < 16; i++) {
				Piugw__AgreementRef *ar = calloc(1, sizeof(*ar));
				const Piugw__AgreementRef *src = hr->agreements[i];
				if (ar == NULL)
					break;
				piugw__agreement_ref__init(ar);
				ar->id = strdup(src->id);
				ar->in_force = src->in_force;
				if ((ar->hash.data = malloc(src->hash.len ? src->hash.len : 1)) != NULL) {
					memcpy(ar->hash.data, src->hash.data, src->hash.len);
					ar->hash.len = src->hash.len;
				}
				pi->theirs[pi->n_theirs++] = ar;
			}
			/* Name the agreements whose copies differ. */
			for (size_t i = 0; i < pi->n_ours; i++) {
				for (size_t k = 0; k < pi->n_theirs; k++) {
					if (strcmp(pi->ours[i]->id, pi->theirs[k]->id) != 0)
						continue;
					if (pi->ours[i]->hash.len != pi->theirs[k]->hash.len ||
					    sodium_memcmp(pi->ours[i]->hash.data, pi->theirs[k]->hash.data,
							  pi->ours[i]->hash.len) != 0) {
						char msg[200];
						snprintf(msg, sizeof(msg),
							 "agreement %s differs between the two copies "
							 "(piugw agreement diff)", pi->ours[i]->id);
						gw_set_str(&pi->problem, msg);
					}
				}
			}
		}
	}
	if (pi != NULL && (offset > window || -offset > window)) {
		char msg[200];
		snprintf(msg, sizeof(msg), "clock offset %+lld s is beyond the %lld s freshness window: "
				 "queries in either direction are refused as STALE (check NTP)",
			 (long long)(offset / 1000), (long long)(window / 1000));
		gw_set_str(&pi->problem, msg);
	}
	if (j != NULL && pi != NULL && --j->open == 0)
		outbound_job_finish(g, j);
}

/* See gw.h. */
bool
outbound_recv(struct gw *g, struct peer *p, struct inmsg *m)
{
	(void)g;
	memset(m, 0, sizeof(*m));
	zmq_msg_init(&m->rid);
	zmq_msg_init(&m->msg);
	m->frames = 1;
	if (zmq_msg_recv(&m->msg, p->dealer, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m->msg);
		zmq_msg_close(&m->rid);
		return false;
	}
	/*
	 * The CURVE server key we connected to is this member's. Freshness
	 * (rule 3) is judged in outbound_handle, once the reply is known to answer
	 * one of our own fresh requests: a reply from a partner whose clock is
	 * off is not used, but it tells us by how much (piugw peers).
	 */
	m->opts.conn_user_id = p->id;
	m->open = true;
	return true;
}

static void on_proposal_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
			       const Piugw__Body *b, bool stale);

/* See gw.h. */
void
outbound_handle(struct gw *g, struct peer *p, struct inmsg *m)
{
	struct envelope_opened o;
	Piugw__Body *b = NULL;
	struct outreq *req = NULL;
	int rc;

	rc = m->rc; /* opened by gw_open_all */
	o = m->o;
	memset(&m->o, 0, sizeof(m->o));
	if (rc == 0 && (rc = body_unpack(o.body, o.body_len, &b)) == 0) {
		for (req = g->out.reqs; req != NULL; req = req->next)
			if (o.header.has_in_reply_to && strcmp(req->peer, p->id) == 0 &&
			    memcmp(req->mid, o.header.in_reply_to, 16) == 0)
				break;
	}
	if (rc != 0 || req == NULL) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		r.event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		r.outbound = true;
		r.peer = p->id;
		r.detail = (char *)(rc != 0 ? piugw_strerror(rc)
					    : "an answer to no request in flight (late or repeated)");
		(void)gw_audit(g, &r, NULL); /* nothing is sent for it; a failure is logged */
		gw_log(rc != 0 ? GW_WARN : GW_DEBUG, "answer_dropped", "peer=%s why=%s", p->id,
		       gw_esc(r.detail));
		goto out;
	}
	{
		int64_t now = gw_now_ms(), skew = o.header.sent_at_ms - now;
		int64_t window = (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
		if (req->kind == OUT_OTHER) {
			req->on_answer(g, req, &o.header, b, skew > window || -skew > window);
		} else if ((skew > window || -skew > window) && req->kind == OUT_PROPOSAL) {
			on_proposal_answer(g, req, &o.header, b, true);
		} else if ((skew > window || -skew > window) && req->kind != OUT_HELLO) {
			/* Not used: answered to the caller as STALE, with the offset. */
			Piugw__Body stale = PIUGW__BODY__INIT;
			Piugw__Error e = PIUGW__ERROR__INIT;
			char detail[200];
			snprintf(detail, sizeof(detail),
				 "%s's answer is dated %+lld s from our clock, outside the %u s "
				 "freshness window: one of the two clocks is wrong (check NTP)",
				 p->id, (long long)(skew / 1000),
				 policy_config(g->policy)->freshness_seconds);
			e.code = PIUGW__ERROR_CODE__ERROR_STALE;
			e.detail = detail;
			stale.kind_case = PIUGW__BODY__KIND_ERROR;
			stale.error = &e;
			gw_log(GW_WARN, "stale_answer", "peer=%s skew_ms=%lld", p->id, (long long)skew);
			on_answer(g, req, &o.header, &stale, true);
		} else if (req->kind == OUT_HELLO) {
			on_hello_reply(g, req, &o.header, b);
		} else if (req->kind == OUT_PROPOSAL) {
			on_proposal_answer(g, req, &o.header, b, false);
		} else {
			on_answer(g, req, &o.header, b, false);
		}
	}
	outreq_free(g, req);
out:
	body_free(&b);
	envelope_opened_clear(&o);
	zmq_msg_close(&m->msg);
	zmq_msg_close(&m->rid);
}

/* The query still waiting for its first answer under request_id, or NULL. */
struct outreq *
outbound_in_flight(struct gw *g, const char *request_id)
{
	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		if (o->kind == OUT_QUERY && strcmp(o->request_id, request_id) == 0)
			return o;
	return NULL;
}

/* Where a query in flight stands, as an answer (heap, free_unpacked). */
Piugw__PeerAnswer *
outbound_in_flight_answer(const struct outreq *o)
{
	Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
	Piugw__PeerAnswer *c;
	uint8_t *buf = NULL;
	size_t len = 0;

	a.peer = (char *)o->peer;
	a.request_id = (char *)o->request_id;
	a.agreement_id = (char *)o->agreement_id;
	a.sent_at_ms = o->first_ms;
	a.outcome = PIUGW__OUTCOME__OUTCOME_UNSPECIFIED;
	c = answer_clone(&a, &buf, &len);
	free(buf);
	return c;
}


static Piugw__AgreementRef **
agreement_refs(struct gw *g, const char *peer, size_t *np)
{
	Piugw__AgreementRef **v = calloc(policy_agreement_count(g->policy) + 1, sizeof(*v));
	int64_t now = gw_now_ms();

	*np = 0;
	for (size_t i = 0; v != NULL && i < policy_agreement_count(g->policy); i++) {
		const struct policy_agreement *pa = policy_agreement_at(g->policy, i);
		Piugw__AgreementRef *r;
		if (strcmp(pa->peer, peer) != 0 || (r = calloc(1, sizeof(*r))) == NULL)
			continue;
		piugw__agreement_ref__init(r);
		r->id = strdup(pa->a->id);
		if ((r->hash.data = malloc(AGREEMENT_HASH_BYTES)) != NULL) {
			memcpy(r->hash.data, pa->a->hash, AGREEMENT_HASH_BYTES);
			r->hash.len = AGREEMENT_HASH_BYTES;
		}
		r->in_force = policy_agreement_state(pa, now, NULL, 0) == POLICY_IN_FORCE;
		v[(*np)++] = r;
	}
	return v;
}

Piugw__PeerInfo *
outbound_peer_info(struct gw *g, const struct peer *p)
{
	Piugw__PeerInfo *pi = calloc(1, sizeof(*pi));

	if (pi == NULL)
		return NULL;
	piugw__peer_info__init(pi);
	pi->id = strdup(p->id);
	pi->endpoint = strdup(p->endpoint);
	pi->connected = p->connected;
	pi->reachable = p->reachable;
	pi->rtt_us = p->rtt_us;
	pi->clock_offset_ms = p->clock_offset_ms;
	pi->measured_at_ms = p->measured_at_ms;
	pi->down_since_ms = p->connected ? 0 : p->down_since_ms;
	pi->ours = agreement_refs(g, p->id, &pi->n_ours);
	if (p->problem[0] != '\0')
		pi->problem = strdup(p->problem);
	return pi;
}

/*
 * A Hello to partner p, with our agreements (refs) and the audit checkpoints
 * of witness.c: ours, and its as we witnessed it.
 */
struct outreq *
outbound_hello(struct gw *g, struct peer *p, Piugw__AgreementRef **refs, size_t nrefs, int64_t now)
{
	Piugw__Hello hello = PIUGW__HELLO__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	const struct policy_agreement *pa = NULL;
	struct witness_out w;
	struct outreq *o;
	char sw[64];

	snprintf(sw, sizeof(sw), "piugw %s", PIUGW_VERSION);
	witness_fill(g, p->id, &w);
	hello.software = sw;
	hello.agreements = refs;
	hello.n_agreements = nrefs;
	hello.checkpoint = w.checkpoint;
	hello.witnessed = w.witnessed;
	b.kind_case = PIUGW__BODY__KIND_HELLO;
	b.hello = &hello;
	for (size_t k = 0; k < policy_agreement_count(g->policy) && pa == NULL; k++)
		if (strcmp(policy_agreement_at(g->policy, k)->peer, p->id) == 0)
			pa = policy_agreement_at(g->policy, k);
	if ((o = outreq_new(g, OUT_HELLO, p->id, pa ? pa->a->id : NULL, pa ? pa->a->hash : NULL,
			    &b, now + GW_HELLO_DEADLINE_MS)) != NULL)
		outreq_try_send(g, o, now);
	return o;
}


/*
 * Every GW_WITNESS_MS a Hello to each partner, asked or not: so that each
 * side witnesses the other's newest checkpoint, and hears what the other
 * witnessed of its own log, while nobody runs `piugw peers`.
 */
static void
witness_round(struct gw *g, int64_t now)
{
	for (size_t i = 0; i < g->npeers; i++) {
		struct peer *p = &g->peers[i];
		size_t n = 0;
		Piugw__AgreementRef **refs;
		bool busy = false;

		for (struct outreq *o = g->out.reqs; o != NULL && !busy; o = o->next)
			busy = o->kind == OUT_HELLO && o->job == NULL && strcmp(o->peer, p->id) == 0;
		if (busy || !p->connected || p->stranger)
			continue;
		refs = agreement_refs(g, p->id, &n);
		outbound_hello(g, p, refs, n, now);
		for (size_t k = 0; k < n; k++)
			piugw__agreement_ref__free_unpacked(refs[k], NULL);
		free(refs);
	}
	g->witness.next_round_ms = now + GW_WITNESS_MS;
}






/* ---- agreement proposals ---- */

static void down_detail(const struct peer *p, int64_t now, char *buf, size_t size);

/* Is our proposal ref on its way already? */
static bool
proposal_in_flight(const struct gw *g, const char *ref)
{
	for (const struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		if (o->kind == OUT_PROPOSAL && strcmp(o->request_id, ref) == 0)
			return true;
	return false;
}

/* Send row's AgreementProposal (again), for the caller if one waits. */
static void
proposal_send(struct gw *g, const struct state_proposal *row, const uint8_t *rid, size_t rid_len,
	      int64_t now)
{
	Piugw__AgreementProposal ap = PIUGW__AGREEMENT_PROPOSAL__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	uint32_t dl = policy_config(g->policy)->query_deadline_seconds * 1000;
	struct outreq *o;

	ap.agreement.data = row->bytes;
	ap.agreement.len = row->len;
	ap.signature.data = (uint8_t *)row->proposer_sig;
	ap.signature.len = sizeof(row->proposer_sig);
	if (row->has_replaces) {
		ap.replaces_hash.data = (uint8_t *)row->replaces;
		ap.replaces_hash.len = sizeof(row->replaces);
	}
	b.kind_case = PIUGW__BODY__KIND_AGREEMENT_PROPOSAL;
	b.agreement_proposal = &ap;
	/* A member we hold no agreement with: a connection only for this. */
	if (gw_peer(g, row->peer) == NULL)
		links_peers_sync(g);
	if ((o = outreq_new(g, OUT_PROPOSAL, row->peer, row->agreement_id, row->hash, &b,
			    now + dl)) == NULL) {
		if (rid != NULL)
			reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
					  "the proposal could not be sealed");
		return;
	}
	snprintf(o->request_id, sizeof(o->request_id), "%.32s", row->ref);
	if (rid != NULL && (o->caller = malloc(rid_len)) != NULL) {
		memcpy(o->caller, rid, rid_len);
		o->caller_len = rid_len;
	}
	outreq_try_send(g, o, now);
}

/* See gw.h. */
void
outbound_propose(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		 const Piugw__LocalPropose *lp)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	struct state_proposal row;
	char why[600], who[64], detail[700];
	bool send = false;
	uint64_t seq = 0;
	int rc;

	if ((rc = proposals_make(g, lp, &row, &send, why, sizeof(why))) != 0) {
		reply_local_error(g, rid, rid_len, proposals_wire_code(rc), "%s", why);
		return;
	}
	gw_user_name(uid, who, sizeof(who));
	r.event = send ? PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_PROPOSED
		       : PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED;
	r.outbound = true;
	proposals_record(&row, who, &r);
	snprintf(detail, sizeof(detail), "%s %s%s", row.ref,
		 send				       ? (row.has_replaces ? "an amendment proposed"
								   : "a new agreement proposed")
		 : row.state == STATE_PROPOSAL_ACCEPTED ? "installed again: "
							: "still not installed: ",
		 send ? "" : (row.state == STATE_PROPOSAL_ACCEPTED ? row.installed : row.detail));
	r.detail = detail;
	if (gw_audit(g, &r, &seq) != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the audit log cannot be written");
		state_proposal_clear(&row);
		return;
	}
	if (send)
		proposal_send(g, &row, rid, rid_len, gw_now_ms());
	else
		proposals_reply_local(g, rid, rid_len, seq, &row);
	state_proposal_clear(&row);
}

/* The partner's answer to our proposal (stale: outside the freshness window, not used). */
static void
on_proposal_answer(struct gw *g, struct outreq *o, const struct envelope_header *h,
		   const Piugw__Body *b, bool stale)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	struct state_proposal row;
	char why[700];
	uint64_t seq = 0;
	int rc;

	memset(&row, 0, sizeof(row));
	r.outbound = true;
	r.peer = o->peer;
	r.agreement_id = o->agreement_id;
	r.agreement_hash.data = o->agreement_hash;
	r.agreement_hash.len = sizeof(o->agreement_hash);
	r.message_id.data = (uint8_t *)h->in_reply_to;
	r.message_id.len = sizeof(h->in_reply_to);
	if (stale) {
		rc = PIUGW_ESTALE;
		r.event = PIUGW__AUDIT_EVENT__AUDIT_DROPPED;
		snprintf(why, sizeof(why), "an answer about %s outside the freshness window "
			 "(check the clocks); asked again later", o->request_id);
	} else {
		rc = proposals_answered(g, o->request_id, h, b, &row, &r, why, sizeof(why));
	}
	r.detail = why;
	if (gw_audit(g, &r, &seq) != 0)
		seq = 0;
	if (rc != 0)
		gw_log(GW_WARN, "proposal_answer", "peer=%s ref=%s problem=%s", o->peer,
		       o->request_id, gw_esc(why));
	if (o->caller != NULL) {
		state_proposal_clear(&row);
		if (state_proposal_get(g->state, o->request_id, &row) == 0)
			proposals_reply_local(g, o->caller, o->caller_len, seq, &row);
		else
			reply_local_error(g, o->caller, o->caller_len, PIUGW_WIRE_INTERNAL,
					  "%s", why);
	}
	state_proposal_clear(&row);
}

/* A proposal's caller waited its deadline: the proposal stays, and is sent again. */
static void
proposal_expired(struct gw *g, struct outreq *o)
{
	struct state_proposal row;

	if (o->caller == NULL)
		return;
	if (state_proposal_get(g->state, o->request_id, &row) != 0) {
		reply_local_error(g, o->caller, o->caller_len, PIUGW_WIRE_INTERNAL,
				  "the proposal is no longer kept");
		return;
	}
	{
		struct peer *p = gw_peer(g, o->peer);
		char why[300];
		if (p == NULL || !p->connected)
			down_detail(p, gw_now_ms(), why, sizeof(why));
		else
			snprintf(why, sizeof(why), "connected, but no answer before the deadline");
		snprintf(row.detail, sizeof(row.detail), "not delivered yet: %s; the proposal is "
			 "kept and sent again until %s takes it (piugw agreement outgoing)", why,
			 o->peer);
	}
	proposals_reply_local(g, o->caller, o->caller_len, 0, &row);
	state_proposal_clear(&row);
}

/*
 * Our proposals not decided yet, asked about again: at the ages of the
 * answers held for approval (state_poll_due), or at once when the partner
 * sent us something (an acceptance there brings its Hello).
 */
static void
proposals_poll(struct gw *g, int64_t now, bool due_round)
{
	struct state_proposal *v = NULL;
	size_t n = 0;
	bool any_hint = false;

	for (size_t i = 0; i < g->npeers; i++)
		any_hint |= g->peers[i].hint;
	if (!due_round && !any_hint)
		return;
	if (state_proposal_waiting(g->state, &v, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			struct peer *p = gw_peer(g, v[i].peer);
			bool due;
			due = (p != NULL && p->hint) ||
			      (due_round &&
			       state_poll_due(g->out.last_poll_ms == 0 ? -1
					      : g->out.last_poll_ms > v[i].created_ms
						      ? g->out.last_poll_ms - v[i].created_ms
						      : 0,
					      now - v[i].created_ms,
					      policy_config(g->policy)->retry_interval_ms));
			if (due && !proposal_in_flight(g, v[i].ref))
				proposal_send(g, &v[i], NULL, 0, now);
		}
	for (size_t i = 0; i < n; i++)
		state_proposal_clear(&v[i]);
	free(v);
	for (size_t i = 0; i < g->npeers; i++)
		g->peers[i].hint = false;
}

/* ---- timers ---- */

/* Is a partner down? (If none is, no query needs its partner looked up.) */
static bool
any_peer_down(const struct gw *g)
{
	for (size_t i = 0; i < g->npeers; i++)
		if (!g->peers[i].connected && !g->peers[i].stranger)
			return true;
	return false;
}

/*
 * When a query to a partner whose connection is down is answered
 * PEER_UNREACHABLE without waiting for its deadline: once the partner has
 * been down unreachable_grace_ms, counted from the later of the query and
 * the loss. INT64_MAX while it is up (or for what is not a query).
 */
static int64_t
unreachable_at(const struct gw *g, const struct outreq *o, bool any_down)
{
	const struct peer *p = NULL;
	int64_t from;

	/*
	 * A query, another part's request (lookouts, unmasking: each sent again
	 * or told as its part says), and a proposal whose caller waits
	 * (any_down does not count strangers).
	 */
	if (o->kind == OUT_PROPOSAL ? o->caller == NULL
				    : (o->kind != OUT_QUERY && o->kind != OUT_OTHER) || !any_down)
		return INT64_MAX;
	for (size_t i = 0; i < g->npeers && p == NULL; i++)
		if (strcmp(g->peers[i].id, o->peer) == 0)
			p = &g->peers[i];
	if (p == NULL || p->connected)
		return INT64_MAX;
	from = o->first_ms > p->down_since_ms ? o->first_ms : p->down_since_ms;
	return from + policy_config(g->policy)->unreachable_grace_ms;
}

/* When partner p went down, and why, in words: "no connection since 2026-...Z (12 s ago): why". */
static void
down_detail(const struct peer *p, int64_t now, char *buf, size_t size)
{
	char when[32] = "?";
	time_t t;
	struct tm tm;

	if (p == NULL) {
		snprintf(buf, size, "not a partner of this gateway any more");
		return;
	}
	t = (time_t)(p->down_since_ms / 1000);
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, size, "%s since %s (%lld s ago)%s%s",
		 p->ever_connected ? "no connection" : "never connected", when,
		 (long long)((now - p->down_since_ms) / 1000), p->problem[0] ? ": " : "",
		 p->problem);
}

static void
expire(struct gw *g, struct outreq *o)
{
	struct peer *p = gw_peer(g, o->peer);

	if (o->kind == OUT_QUERY) {
		Piugw__PeerAnswer a = PIUGW__PEER_ANSWER__INIT;
		uint32_t uid = o->uid;
		bool unreachable = o->sent_ms == 0 || p == NULL || !p->connected;
		int64_t now = gw_now_ms();
		char detail[300];

		a.peer = o->peer;
		a.request_id = o->request_id;
		a.agreement_id = o->agreement_id;
		a.sent_at_ms = o->first_ms;
		a.answered_at_ms = now;
		a.outcome = unreachable ? PIUGW__OUTCOME__OUTCOME_PEER_UNREACHABLE
					: PIUGW__OUTCOME__OUTCOME_TIMEOUT;
		if (unreachable)
			down_detail(p, now, detail, sizeof(detail));
		else
			snprintf(detail, sizeof(detail), "connected, but no answer in %lld s",
				 (long long)((now - o->first_ms) / 1000));
		a.detail = detail;
		gw_log(unreachable ? GW_INFO : GW_WARN, "query_expired",
		       "peer=%s request=%s outcome=%s detail=%s", o->peer, o->request_id,
		       unreachable ? "peer_unreachable" : "timeout", gw_esc(detail));
		{
			char l[128];
			snprintf(l, sizeof(l), "direction=\"received\",peer=\"%s\",status=\"%s\"",
				 o->peer, unreachable ? "peer_unreachable" : "timeout");
			metrics_add(g, "piugw_answers_total", l, 1);
		}
		settle(g, o->job, o->slot, uid, &a, NULL, o->kind == OUT_POLL);
	} else if (o->kind == OUT_PROPOSAL) {
		proposal_expired(g, o);
	} else if (o->kind == OUT_OTHER && o->on_expire != NULL) {
		o->on_expire(g, o);
	} else if (o->kind == OUT_HELLO && o->job != NULL) {
		struct job *j = o->job;
		Piugw__PeerInfo *pi = o->slot < j->n ? j->infos[o->slot] : NULL;
		if (pi != NULL) {
			gw_set_str(&pi->problem, p != NULL && p->problem[0] != '\0'
						      ? p->problem
						      : "no answer to Hello before the deadline");
		}
		if (p != NULL)
			p->reachable = false;
		if (--j->open == 0)
			outbound_job_finish(g, j);
	}
	outreq_free(g, o);
}

/* Ask again about the answers still PENDING at a partner whose poll is due. */
static void
poll_waiting(struct gw *g, int64_t now)
{
	struct state_result *v = NULL;
	size_t n = 0;

	if (state_result_list(g->state, PIUGW__OUTCOME__OUTCOME_WAITING, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		Piugw__Poll poll = PIUGW__POLL__INIT;
		Piugw__Body b = PIUGW__BODY__INIT;
		const struct policy_agreement *pa = policy_agreement(g->policy, v[i].agreement_id);
		uint8_t qmid[16];
		struct outreq *o;
		bool busy = false;

		if (!state_poll_due(
			    g->out.last_poll_ms != 0 ? g->out.last_poll_ms - v[i].sent_ms : -1,
			    now - v[i].sent_ms, policy_config(g->policy)->retry_interval_ms))
			continue;
		for (struct outreq *x = g->out.reqs; x != NULL; x = x->next)
			busy |= x->kind == OUT_POLL && strcmp(x->request_id, v[i].request_id) == 0;
		if (busy || gw_peer(g, v[i].peer) == NULL || pa == NULL)
			continue;
		if (sodium_hex2bin(qmid, sizeof(qmid), v[i].request_id, strlen(v[i].request_id), NULL,
				   NULL, NULL) != 0)
			continue;
		poll.query_message_id.data = qmid;
		poll.query_message_id.len = sizeof(qmid);
		poll.approval_ref = v[i].approval_ref;
		b.kind_case = PIUGW__BODY__KIND_POLL;
		b.poll = &poll;
		o = outreq_new(g, OUT_POLL, v[i].peer, pa->a->id, pa->a->hash, &b,
			       now + policy_config(g->policy)->query_deadline_seconds * 1000);
		if (o != NULL) {
			snprintf(o->request_id, sizeof(o->request_id), "%s", v[i].request_id);
			o->uid = v[i].operator_uid;
			outreq_try_send(g, o, now);
		}
	}
	for (size_t i = 0; i < n; i++)
		state_result_clear(&v[i]);
	free(v);
}

/* See gw.h. */
void
outbound_timers(struct gw *g, int64_t now)
{
	struct outreq *o, *next;
	struct job *j, *jn;
	bool down = any_peer_down(g);

	if (now >= g->witness.next_round_ms)
		witness_round(g, now);
	/* A partner's restart is routine (info); one that stays away is worth a warning, once. */
	for (size_t i = 0; i < g->npeers; i++) {
		struct peer *p = &g->peers[i];
		if (!p->connected && !p->down_warned && p->down_since_ms != 0 && !p->stranger &&
		    now - p->down_since_ms >= GW_PEER_DOWN_WARN_MS) {
			char detail[300];
			down_detail(p, now, detail, sizeof(detail));
			gw_log(GW_WARN, "peer_down", "peer=%s detail=%s", p->id, gw_esc(detail));
			p->down_warned = true;
		}
	}
	for (o = g->out.reqs; o != NULL; o = next) {
		next = o->next;
		if (now >= o->deadline_ms || now >= unreachable_at(g, o, down)) {
			expire(g, o);
			next = g->out.reqs; /* the list may have changed under settle() */
			continue;
		}
		if (now >= o->next_ms)
			outreq_try_send(g, o, now);
	}
	for (j = g->out.jobs; j != NULL; j = jn) {
		jn = j->next;
		if (j->deadline_ms != 0 && now >= j->deadline_ms) {
			if (j->kind == JOB_RESULTS) {
				/* Still not final: say where it stands. */
				struct state_result r;
				struct outreq *fl = outbound_in_flight(g, j->request_id);
				memset(&r, 0, sizeof(r));
				if (fl != NULL)
					j->answers[0] = outbound_in_flight_answer(fl);
				else if (state_result_get(g->state, j->request_id, &r) == 0)
					j->answers[0] = piugw__peer_answer__unpack(NULL, r.answer_len,
										   r.answer);
				state_result_clear(&r);
			}
			outbound_job_finish(g, j);
			jn = g->out.jobs;
		}
	}
	proposals_poll(g, now, now >= g->out.next_poll_ms && !g->draining);
	if (now >= g->out.next_poll_ms && !g->draining) {
		poll_waiting(g, now);
		g->out.last_poll_ms = now;
		g->out.next_poll_ms = now + policy_config(g->policy)->retry_interval_ms;
	}
}

/* See gw.h. */
int64_t
outbound_next_timer(const struct gw *g)
{
	int64_t t = g->out.next_poll_ms;
	bool down = any_peer_down(g);

	for (const struct outreq *o = g->out.reqs; o != NULL; o = o->next) {
		if (o->next_ms < t)
			t = o->next_ms;
		if (o->deadline_ms < t)
			t = o->deadline_ms;
		int64_t u = unreachable_at(g, o, down);
		if (u < t)
			t = u;
	}
	for (const struct job *j = g->out.jobs; j != NULL; j = j->next)
		if (j->deadline_ms != 0 && j->deadline_ms < t)
			t = j->deadline_ms;
	if (g->next_housekeeping_ms < t)
		t = g->next_housekeeping_ms;
	if (g->witness.next_round_ms < t)
		t = g->witness.next_round_ms;
	for (size_t i = 0; i < g->npeers; i++)
		if (!g->peers[i].connected && !g->peers[i].down_warned &&
		    g->peers[i].down_since_ms != 0 && !g->peers[i].stranger &&
		    g->peers[i].down_since_ms + GW_PEER_DOWN_WARN_MS < t)
			t = g->peers[i].down_since_ms + GW_PEER_DOWN_WARN_MS;
	return t;
}

/* See gw.h. */
void
outbound_abort_all(struct gw *g, const char *why)
{
	while (g->out.jobs != NULL) {
		reply_local_error(g, g->out.jobs->rid, g->out.jobs->rid_len, PIUGW_WIRE_INTERNAL,
				  "%s", why);
		job_free(g, g->out.jobs);
	}
	while (g->out.reqs != NULL)
		outreq_free(g, g->out.reqs);
}
