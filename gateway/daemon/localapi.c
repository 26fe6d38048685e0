/*
 * localapi.c: the operators' door of piugwd, the local API socket: one
 * request a call (queries, results, peers, status, approvals, store and
 * audit changes), each checked for who may ask, answered through the
 * local replies of links.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "body.h"
#include "disclose.h"
#include "gw.h"
#include "num.h"
#include "piugw/error.h"
#include "vocab.h"

/* ---- results, peers, status ---- */

static void
localapi_results(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		 const Piugw__LocalResults *lr)
{
	struct state_result r;
	struct job *j;
	struct outreq *o = NULL;
	int rc = state_result_get(g->state, lr->request_id, &r);

	if (rc != 0 && (o = outbound_in_flight(g, lr->request_id)) == NULL) {
		reply_local_error(
			g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
			"nothing to collect under request id '%s': no such query was sent "
			"from this gateway, its answer went to the caller when it came "
			"(answers handed over are not kept; the audit log records them), "
			"or it was kept longer than limits.answers_keep_days (%u)",
			lr->request_id, policy_config(g->policy)->answers_keep_days);
		return;
	}
	if (o != NULL) {
		/* Still in flight: nothing on record yet. */
		memset(&r, 0, sizeof(r));
		snprintf(r.request_id, sizeof(r.request_id), "%s", o->request_id);
		r.operator_uid = o->uid;
		r.outcome = PIUGW__OUTCOME__OUTCOME_UNSPECIFIED;
	}
	/* Answers are the asker's: another operator (but root) may not collect them. */
	if (r.operator_uid != uid && !policy_local_admin(uid)) {
		state_result_clear(&r);
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_QUERY,
				  "request %s was sent by another operator", lr->request_id);
		return;
	}
	if ((j = outbound_job_new(g, JOB_RESULTS, rid, rid_len, uid, 1)) == NULL) {
		state_result_clear(&r);
		return;
	}
	snprintf(j->request_id, sizeof(j->request_id), "%s", r.request_id);
	j->answers[0] = o != NULL ? outbound_in_flight_answer(o)
				  : piugw__peer_answer__unpack(NULL, r.answer_len, r.answer);
	j->open = 1;
	if (lr->wait_ms == 0 || (r.outcome != PIUGW__OUTCOME__OUTCOME_WAITING &&
				 r.outcome != PIUGW__OUTCOME__OUTCOME_UNSPECIFIED)) {
		outbound_job_finish(g, j);
	} else {
		/* Wait for the final answer: answer_store() finishes the job. */
		if (j->answers[0] != NULL)
			piugw__peer_answer__free_unpacked(j->answers[0], NULL);
		j->answers[0] = NULL;
		j->deadline_ms = gw_now_ms() + (lr->wait_ms > 600000 ? 600000 : lr->wait_ms);
	}
	state_result_clear(&r);
}

static void
localapi_peers(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid)
{
	struct job *j = outbound_job_new(g, JOB_PEERS, rid, rid_len, uid, g->npeers);
	int64_t now = gw_now_ms();

	if (j == NULL)
		return;
	j->deadline_ms = now + GW_HELLO_DEADLINE_MS + 500;
	for (size_t i = 0; i < g->npeers; i++) {
		struct outreq *o;

		if (g->peers[i].stranger ||
		    (j->infos[i] = outbound_peer_info(g, &g->peers[i])) == NULL)
			continue;
		/* Answers to this Hello are what we learn now, not what we knew. */
		j->infos[i]->reachable = false;
		gw_set_str(&j->infos[i]->problem, NULL);
		o = outbound_hello(g, &g->peers[i], j->infos[i]->ours, j->infos[i]->n_ours, now);
		if (o == NULL)
			continue;
		o->job = j;
		o->slot = i;
		j->open++;
	}
	if (j->open == 0)
		outbound_job_finish(g, j);
}

/*
 * A person's decision on an agreement proposed to us: recorded, installed
 * if accepted (proposals.c), and the caller told once the record is durable;
 * the proposer learns it when it asks again.
 */
static void
localapi_proposal_decide(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
			 const Piugw__LocalProposalDecision *d)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	struct state_proposal row;
	char why[600], who[64];
	uint64_t seq = 0;
	int rc;

	gw_user_name(uid, who, sizeof(who));
	if ((rc = proposals_decide(g, d, who, &row, why, sizeof(why))) != 0) {
		reply_local_error(g, rid, rid_len, proposals_wire_code(rc), "%s", why);
		state_proposal_clear(&row);
		return;
	}
	r.event = PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_DECIDED;
	proposals_record(&row, who, &r);
	r.detail = why;
	if (gw_audit(g, &r, &seq) != 0)
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "decided, but the audit log cannot be written");
	else
		proposals_reply_local(g, rid, rid_len, seq, &row);
	/* A Hello to every partner now: a proposer among them asks again at once. */
	g->witness.next_round_ms = gw_now_ms();
	state_proposal_clear(&row);
}

/*
 * piugw import and piugw store purge, run while this gateway holds the audit
 * log: the collection or erasure goes on record here, and the caller hears
 * back once the record is durable.
 */
static void
localapi_store_change(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		      const Piugw__LocalStoreChange *sc)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__StoreChangeReply scr = PIUGW__STORE_CHANGE_REPLY__INIT;
	char who[64];
	uint64_t seq = 0;
	size_t dl = strlen(sc->detail);
	bool printable = dl <= 200;
	int rc;

	/* Only who may write the store itself: root and the gateway's own user. */
	if (!policy_local_admin(uid)) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_SENDER,
				  "only root and the gateway's own user record changes to its "
				  "store");
		return;
	}
	if (sc->kind != PIUGW__LOCAL_STORE_CHANGE__KIND__KIND_IMPORTED &&
	    sc->kind != PIUGW__LOCAL_STORE_CHANGE__KIND__KIND_PURGED) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "a store change is an import or a purge");
		return;
	}
	for (size_t i = 0; printable && i < dl; i++)
		printable = sc->detail[i] >= 0x20 && sc->detail[i] <= 0x7e;
	if (!printable) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "a store change's detail is at most 200 printable ASCII "
				  "characters");
		return;
	}
	gw_user_name(uid, who, sizeof(who));
	r.event = sc->kind == PIUGW__LOCAL_STORE_CHANGE__KIND__KIND_IMPORTED
			  ? PIUGW__AUDIT_EVENT__AUDIT_IMPORTED
			  : PIUGW__AUDIT_EVENT__AUDIT_PURGED;
	r.record_count = sc->record_count > UINT32_MAX ? UINT32_MAX : (uint32_t)sc->record_count;
	r.detail = sc->detail;
	r.operator_ = who;
	if ((rc = gw_audit(g, &r, &seq)) != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the audit log could not take the record: %s",
				  piugw_strerror(rc));
		return;
	}
	gw_log(GW_INFO, r.event == PIUGW__AUDIT_EVENT__AUDIT_IMPORTED ? "store_imported"
								       : "store_purged",
	       "records=%ju operator=%s", (uintmax_t)sc->record_count, gw_esc(who));
	scr.audit_seq = seq;
	if (r.event == PIUGW__AUDIT_EVENT__AUDIT_IMPORTED)
		lookouts_store_changed(g); /* the new rows against partners' lookouts, now */
	reply.kind_case = PIUGW__LOCAL_REPLY__KIND_STORE_CHANGE;
	reply.store_change = &scr;
	reply_local_durable(g, seq, rid, rid_len, &reply);
}

/*
 * piugw audit purge while this gateway runs: taken now (g->purge), run after
 * the turn, when nothing of the turn waits any more (it reads the oldest
 * segments whole).
 */
struct purge {
	uint32_t days;
	size_t caller_len;
	uint8_t caller[GW_CALLER_MAX];
};

static void
localapi_audit_purge(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		     const Piugw__LocalAuditPurge *ap)
{
	struct purge *pg;

	if (!policy_local_admin(uid)) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_SENDER,
				  "only root and the gateway's own user purge its audit log");
		return;
	}
	if (ap->older_than_days > 36500) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "older_than_days is 1 to 36500 (0: audit.retention_days)");
		return;
	}
	if (g->purge != NULL || rid_len > sizeof(pg->caller)) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "an audit purge is already under way; try again when it is done");
		return;
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "%s",
				  piugw_strerror(PIUGW_ENOMEM));
		return;
	}
	pg->days = ap->older_than_days != 0 ? ap->older_than_days
					    : policy_config(g->policy)->audit_retention_days;
	memcpy(pg->caller, rid, rid_len);
	pg->caller_len = rid_len;
	g->purge = pg;
}

/* See gw.h. */
void
localapi_audit_purge_run(struct gw *g)
{
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__AuditPurgeReply apr = PIUGW__AUDIT_PURGE_REPLY__INIT;
	struct purge *pg = g->purge;
	struct diag d;
	unsigned removed = 0;
	char dir[PATH_MAX];
	int rc;

	if (pg == NULL)
		return;
	g->purge = NULL;
	diag_init(&d);
	rc = audit_purge(g->audit, gw_now_ms() - (int64_t)pg->days * 86400000, &removed, &d);
	if (rc != 0) {
		gw_log(GW_ERROR, "audit_purge_failed", "segments=%u days=%u error=%s", removed,
		       pg->days, gw_esc(piugw_strerror(rc)));
		reply_local_error(g, pg->caller, pg->caller_len, PIUGW_WIRE_INTERNAL, "%s%s%s",
				  piugw_strerror(rc), d.n > 0 ? ": " : "",
				  d.n > 0 ? d.lines[0] : "");
	} else {
		gw_log(GW_INFO, "audit_purged", "segments=%u days=%u", removed, pg->days);
		snprintf(dir, sizeof(dir), "%s/audit", policy_config(g->policy)->state_dir);
		apr.segments_removed = removed;
		apr.older_than_days = pg->days;
		apr.audit_dir = dir;
		reply.kind_case = PIUGW__LOCAL_REPLY__KIND_AUDIT_PURGE;
		reply.audit_purge = &apr;
		reply_local(g, pg->caller, pg->caller_len, &reply);
	}
	diag_clear(&d);
	free(pg);
}

/* The values of a vocab set, into a new array (*np of them). */
static int *
set_values(vocab_set set, size_t *np)
{
	int *v = calloc(32, sizeof(*v));

	*np = 0;
	for (int i = 1; v != NULL && i < 32; i++)
		if (set & VOCAB_BIT(i))
			v[(*np)++] = i;
	return v;
}

/* What we may ask under an agreement (t: its terms for our requests; NULL: none). */
static void
ask_terms(Piugw__AgreementStatus *a, const struct agreement_terms *t)
{
	if (t == NULL)
		return;
	a->ask_purposes = (Piugw__Purpose *)set_values(t->purposes, &a->n_ask_purposes);
	a->ask_query_types = (Piugw__QueryType *)set_values(t->query_types, &a->n_ask_query_types);
	a->ask_categories = (Piugw__Category *)set_values(t->categories, &a->n_ask_categories);
	a->ask_justification_required = t->justification_required;
}

static void
localapi_status(struct gw *g, const uint8_t *rid, size_t rid_len)
{
	Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
	Piugw__StatusReply *s = calloc(1, sizeof(*s));
	const struct policy *pol = g->policy;
	int64_t now = gw_now_ms();
	char buf[64], exp[11];
	struct store_stats st;
	uint32_t pend = 0;

	if (s == NULL)
		return;
	piugw__status_reply__init(s);
	s->gateway_id = strdup(policy_config(pol)->id);
	snprintf(buf, sizeof(buf), "piugw %s", PIUGW_VERSION);
	s->software = strdup(buf);
	s->directory_serial = policy_directory(pol)->serial;
	num_format_date(policy_directory(pol)->expires_day, exp);
	s->directory_expires = strdup(exp);
	s->directory_members = policy_directory(pol)->n;
	s->agreements = calloc(policy_agreement_count(pol) + 1, sizeof(*s->agreements));
	for (size_t i = 0; s->agreements != NULL && i < policy_agreement_count(pol); i++) {
		const struct policy_agreement *pa = policy_agreement_at(pol, i);
		Piugw__AgreementStatus *a = calloc(1, sizeof(*a));
		char why[256];
		if (a == NULL)
			break;
		piugw__agreement_status__init(a);
		a->id = strdup(pa->a->id);
		a->peer = strdup(pa->peer);
		a->state = strdup(policy_agreement_state(pa, now, why, sizeof(why)) == POLICY_IN_FORCE
					  ? "in force"
					  : why);
		a->days_left = pa->a->until_day - num_day_of_ms(now);
		if ((a->hash.data = malloc(AGREEMENT_HASH_BYTES)) != NULL) {
			memcpy(a->hash.data, pa->a->hash, AGREEMENT_HASH_BYTES);
			a->hash.len = AGREEMENT_HASH_BYTES;
		}
		ask_terms(a, agreement_terms_for(pa->a, policy_config(pol)->id, pa->peer));
		s->agreements[s->n_agreements++] = a;
	}
	s->peers = calloc(g->npeers + 1, sizeof(*s->peers));
	for (size_t i = 0; s->peers != NULL && i < g->npeers; i++)
		if (!g->peers[i].stranger && (s->peers[s->n_peers] = outbound_peer_info(g, &g->peers[i])) != NULL)
			s->n_peers++;
	state_pending_count(g->state, &pend);
	s->pending_approvals = pend;
	state_proposal_count_held(g->state, &pend);
	s->proposals_held = pend;
	lookouts_status(g, s);
	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		s->queries_in_flight += o->kind == OUT_QUERY;
	s->audit_head = audit_head(g->audit);
	s->audit_last_checkpoint_ms = audit_last_checkpoint_ms(g->audit);
	s->audit_durable = audit_durable(g->audit);
	if (audit_status(g->audit) != 0)
		s->audit_problem = strdup(piugw_strerror(audit_status(g->audit)));
	if (g->witness.alarm[0] != '\0')
		s->audit_witness_alarm = strdup(g->witness.alarm);
	if (store_stats(g->store, now, &st) == 0)
		s->store_rows = st.rows;
	s->started_at_ms = g->started_ms;
	r.kind_case = PIUGW__LOCAL_REPLY__KIND_STATUS;
	r.status = s;
	reply_local(g, rid, rid_len, &r);
	piugw__status_reply__free_unpacked(s, NULL);
}

/* ---- requests made through a delegate ---- */

/* 1 to 64 printable ASCII characters: what a log and an audit record may carry. */
static bool
plain_name(const char *s, size_t min)
{
	size_t n = strlen(s);

	if (n < min || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * A request with on_behalf_of: only from a delegate (the kernel's uid for
 * the connection, *uidp), for an operator who is a user here, neither root
 * nor the gateway's own user nor a delegate. On success *uidp is the
 * operator's and via says through whom ("via piugw-web[, system S, user
 * U]"); else false with why.
 */
static bool
on_behalf(struct gw *g, const Piugw__OnBehalfOf *ob, uint32_t *uidp, char *via, size_t vn,
	  char *why, size_t wn)
{
	struct passwd pw, *res = NULL;
	char buf[4096], delegate[64];

	gw_user_name(*uidp, delegate, sizeof(delegate));
	if (!policy_is_delegate(g->policy, *uidp)) {
		snprintf(why, wn, "%s may not act for another user: only piugwd.yaml delegates may "
				  "(the user the kernel reports for the connection)", delegate);
		return false;
	}
	if (!plain_name(ob->operator_, 1) || !plain_name(ob->system, 0) ||
	    !plain_name(ob->end_user, 0) || (ob->system[0] == '\0') != (ob->end_user[0] == '\0')) {
		snprintf(why, wn, "on_behalf_of needs an operator, and a system with its end user "
				  "or neither, each 1 to 64 printable ASCII characters");
		return false;
	}
	if (getpwnam_r(ob->operator_, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		snprintf(why, wn, "there is no user '%s' on this machine to act for", ob->operator_);
		return false;
	}
	if (policy_local_admin((uint32_t)pw.pw_uid) ||
	    policy_is_delegate(g->policy, (uint32_t)pw.pw_uid)) {
		snprintf(why, wn, "%s may not be acted for: root, the gateway's own user and the "
				  "delegates act only for themselves", ob->operator_);
		return false;
	}
	*uidp = (uint32_t)pw.pw_uid;
	if (ob->system[0] != '\0')
		snprintf(via, vn, "via %s, system %s, user %s", delegate, ob->system, ob->end_user);
	else
		snprintf(via, vn, "via %s", delegate);
	return true;
}

/* See gw.h. */
bool
localapi_handle(struct gw *g)
{
	zmq_msg_t rid, msg;
	Piugw__LocalRequest *req = NULL;
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	const char *user;
	uint64_t uid, tag = 0;
	bool extra = false;
	char via[220], why[300];
	uint8_t caller[GW_CALLER_MAX];
	size_t clen = 0;
	bool got = false;

	zmq_msg_init(&rid);
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&rid, g->links.api, ZMQ_DONTWAIT) < 0)
		goto out;
	got = true;
	if (!zmq_msg_more(&rid) || zmq_msg_recv(&msg, g->links.api, ZMQ_DONTWAIT) < 0)
		goto out;
	while (zmq_msg_more(&msg)) {
		extra = true;
		zmq_msg_close(&msg);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, g->links.api, ZMQ_DONTWAIT) < 0)
			goto out;
	}
	/* A ROUTER's routing ids are at most 255 bytes. Until the request is read, its tag is 0. */
	if (zmq_msg_size(&rid) > GW_CALLER_MAX - sizeof(tag))
		goto out;
	memcpy(caller, zmq_msg_data(&rid), zmq_msg_size(&rid));
	clen = zmq_msg_size(&rid) + sizeof(tag);
	memcpy(caller + zmq_msg_size(&rid), &tag, sizeof(tag));
	user = zmq_msg_gets(&msg, "User-Id");
	if (user == NULL || !num_parse_u64(user, strlen(user), 0, UINT32_MAX, &uid)) {
		reply_local_error(g, caller, clen, PIUGW_WIRE_UNKNOWN_SENDER,
				  "the caller's user could not be established");
		goto out;
	}
	if (extra || (req = piugw__local_request__unpack(NULL, zmq_msg_size(&msg),
							 zmq_msg_data(&msg))) == NULL) {
		reply_local_error(g, caller, clen, PIUGW_WIRE_MALFORMED,
				  "not a LocalRequest (is piugw the same version as piugwd?)");
		goto out;
	}
	memcpy(caller + clen - sizeof(tag), &req->tag, sizeof(tag));
	if (req->on_behalf_of != NULL) {
		uint32_t u = (uint32_t)uid;
		if (!on_behalf(g, req->on_behalf_of, &u, via, sizeof(via), why, sizeof(why))) {
			gw_log(GW_WARN, "on_behalf_refused", "why=%s", gw_esc(why));
			reply_local_error(g, caller, clen, PIUGW_WIRE_UNKNOWN_SENDER, "%s", why);
			goto out;
		}
		uid = u;
		g->req_via = via;
	}
	if (g->draining) {
		reply_local_error(g, caller, clen, PIUGW_WIRE_INTERNAL,
				  "the gateway is shutting down");
		goto out;
	}
	/* (An unmasking's decision is the authorisers', checked where it is decided.) */
	if ((req->kind_case == PIUGW__LOCAL_REQUEST__KIND_PENDING ||
	     (req->kind_case == PIUGW__LOCAL_REQUEST__KIND_APPROVE &&
	      strncmp(req->approve->approval_ref, "UM-", 3) != 0) ||
	     (req->kind_case == PIUGW__LOCAL_REQUEST__KIND_DENY &&
	      strncmp(req->deny->approval_ref, "UM-", 3) != 0)) &&
	    !policy_may_decide(g->policy, (uint32_t)uid) &&
	    !policy_may_authorise(g->policy, (uint32_t)uid)) {
		char who[64];
		gw_user_name((uint32_t)uid, who, sizeof(who));
		gw_log(GW_WARN, "approval_refused", "operator=%s", gw_esc(who));
		reply_local_error(g, caller, clen, PIUGW_WIRE_UNKNOWN_SENDER,
				  "%s is not in a group of approvers (piugwd.yaml approvers): only "
				  "they see and decide requests held for approval", who);
		goto out;
	}
	if ((req->kind_case == PIUGW__LOCAL_REQUEST__KIND_PROPOSE ||
	     req->kind_case == PIUGW__LOCAL_REQUEST__KIND_PROPOSALS ||
	     req->kind_case == PIUGW__LOCAL_REQUEST__KIND_PROPOSAL_DECISION) &&
	    !policy_local_admin((uint32_t)uid)) {
		char who[64];
		gw_user_name((uint32_t)uid, who, sizeof(who));
		reply_local_error(g, caller, clen, PIUGW_WIRE_UNKNOWN_SENDER,
				  "%s may not propose or decide agreements: only root and the "
				  "gateway's own user do", who);
		goto out;
	}
	switch (req->kind_case) {
	case PIUGW__LOCAL_REQUEST__KIND_PROPOSE:
		outbound_propose(g, caller, clen, (uint32_t)uid, req->propose);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_PROPOSALS:
		proposals_list(g, req->proposals->reference, &reply);
		reply_local(g, caller, clen, &reply);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_PROPOSAL_DECISION:
		localapi_proposal_decide(g, caller, clen, (uint32_t)uid, req->proposal_decision);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_QUERY:
		outbound_query(g, caller, clen, (uint32_t)uid, req->query);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_RESULTS:
		localapi_results(g, caller, clen, (uint32_t)uid, req->results);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_PEERS:
		localapi_peers(g, caller, clen, (uint32_t)uid);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_STATUS:
		localapi_status(g, caller, clen);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_STORE_CHANGE:
		localapi_store_change(g, caller, clen, (uint32_t)uid, req->store_change);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_AUDIT_PURGE:
		localapi_audit_purge(g, caller, clen, (uint32_t)uid, req->audit_purge);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_PENDING:
		inbound_pending_list(g, &reply);
		if (reply.kind_case == PIUGW__LOCAL_REPLY__KIND_PENDING && reply.pending != NULL)
			lookouts_pending(g, reply.pending);
		reply_local(g, caller, clen, &reply);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_PLACE:
		lookouts_local_place(g, caller, clen, (uint32_t)uid, req->lookout_place);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_WITHDRAW:
		lookouts_local_withdraw(g, caller, clen, (uint32_t)uid, req->lookout_withdraw);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_LOOKOUTS:
		lookouts_local_list(g, req->lookouts->reference, &reply);
		reply_local(g, caller, clen, &reply);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_ALERTS:
		lookouts_local_alerts(g, caller, clen, req->alerts);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_ALERT_SEEN:
		lookouts_local_seen(g, caller, clen, (uint32_t)uid, req->alert_seen);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_UNMASK:
		unmask_local(g, caller, clen, (uint32_t)uid, req->unmask);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_AUDIT_REPORT:
		auditor_report(g, caller, clen, (uint32_t)uid, req->audit_report);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_AUDIT_SUBJECT:
		auditor_subject(g, caller, clen, (uint32_t)uid, req->audit_subject);
		break;
	case PIUGW__LOCAL_REQUEST__KIND_APPROVE:
	case PIUGW__LOCAL_REQUEST__KIND_DENY: {
		bool approve = req->kind_case == PIUGW__LOCAL_REQUEST__KIND_APPROVE;
		const Piugw__LocalDecision *d = approve ? req->approve : req->deny;
		if (!approve && d->reason[0] == '\0') {
			reply_local_error(g, caller, clen,
					  PIUGW_WIRE_JUSTIFICATION_REQUIRED,
					  "a denial needs a reason (--reason)");
			break;
		}
		uint64_t seq = 0;
		/* A held notification's reference, an unmasking's, else a query's. */
		if (!lookouts_decide(g, approve, d, (uint32_t)uid, &reply, &seq) &&
		    !unmask_decide(g, approve, d, (uint32_t)uid, &reply, &seq))
			inbound_decide(g, approve, d, (uint32_t)uid, &reply, &seq);
		/* "approved" says the decision is on record: sent once it is durable. */
		reply_local_durable(g, seq, caller, clen, &reply);
		break;
	}
	default:
		reply_local_error(g, caller, clen, PIUGW_WIRE_MALFORMED,
				  "unknown request kind");
		break;
	}
out:
	g->req_via = NULL;
	/* reply's parts were heap-built by inbound_*: free them the protobuf-c way */
	switch (reply.kind_case) {
	case PIUGW__LOCAL_REPLY__KIND_PENDING:
		if (reply.pending)
			piugw__pending_reply__free_unpacked(reply.pending, NULL);
		break;
	case PIUGW__LOCAL_REPLY__KIND_DECISION:
		if (reply.decision)
			piugw__decision_reply__free_unpacked(reply.decision, NULL);
		break;
	case PIUGW__LOCAL_REPLY__KIND_PROPOSALS:
		if (reply.proposals)
			piugw__proposals_reply__free_unpacked(reply.proposals, NULL);
		break;
	case PIUGW__LOCAL_REPLY__KIND_LOOKOUTS:
		if (reply.lookouts)
			piugw__lookouts_reply__free_unpacked(reply.lookouts, NULL);
		break;
	case PIUGW__LOCAL_REPLY__KIND_ERROR:
		if (reply.error)
			piugw__local_error__free_unpacked(reply.error, NULL);
		break;
	default:
		break;
	}
	if (req != NULL)
		piugw__local_request__free_unpacked(req, NULL);
	zmq_msg_close(&msg);
	zmq_msg_close(&rid);
	return got;
}
