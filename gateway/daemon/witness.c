/*
 * witness.c: partners witness each other's audit logs (doc/protocol-notes.md,
 * "Audit checkpoints").
 *
 * Every Hello and HelloReply carries the sender's newest durable signed
 * checkpoint, and the newest checkpoint of the recipient's log that the
 * sender has witnessed. What a partner shows of its own log is checked with
 * its signing key from the directory, kept (state.db) and, when it moves on,
 * recorded here as AUDIT_WITNESSED. What a partner hands back of ours is
 * checked against our own log: a log that ends before it, or holds another
 * record there, was cut or swapped since the partner saw it, whatever
 * state.db says (a copy of state.db can be put back with the log). That is
 * the alarm: an error in the log, /healthz 503 with the reason, a metric and
 * `piugw status`. It stays until the gateway restarts.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "body.h"
#include "gw.h"
#include "piugw/error.h"
#include "state.h"

/* The peer's newest witnessed checkpoint, read from state.db on first use. */
static const struct audit_checkpoint *
witnessed_of(struct gw *g, struct peer *p)
{
	if (!p->witnessed_loaded) {
		if (state_witness_get(g->state, p->id, &p->witnessed) != 0)
			memset(&p->witnessed, 0, sizeof(p->witnessed));
		p->witnessed_loaded = true;
	}
	return &p->witnessed;
}

/* See gw.h. */
void
witness_fill(struct gw *g, const char *peer, struct witness_out *w)
{
	struct peer *p = gw_peer(g, peer);

	w->checkpoint = NULL;
	w->witnessed = NULL;
	if (audit_last_checkpoint(g->audit, &w->own)) {
		body_checkpoint_set(&w->own_m, &w->own);
		w->checkpoint = &w->own_m;
	}
	if (p != NULL && witnessed_of(g, p)->seq != 0) {
		w->theirs = p->witnessed;
		body_checkpoint_set(&w->theirs_m, &w->theirs);
		w->witnessed = &w->theirs_m;
	}
}

/* What the partner shows of its own log: checked, kept, recorded when it moves on. */
static void
take_theirs(struct gw *g, struct peer *p, const Piugw__AuditCheckpoint *m)
{
	const struct directory_member *dm = directory_member(policy_directory(g->policy), p->id);
	const struct audit_checkpoint *had = witnessed_of(g, p);
	struct audit_checkpoint cp;

	if (body_checkpoint_get(m, &cp) != 0 || strcmp(cp.gateway_id, p->id) != 0 || dm == NULL ||
	    audit_checkpoint_verify(&cp, dm->keys.sign_pk) != 0) {
		gw_log(GW_WARN, "witness_refused", "peer=%s why=%s", p->id,
		       gw_esc("its audit checkpoint is malformed, not its own, or its signature does "
			      "not verify with its key in the directory"));
		metrics_add(g, "piugw_witness_total", "what=\"refused\"", 1);
		return;
	}
	if (cp.seq < had->seq || (cp.seq == had->seq && (cp.time_ms != had->time_ms ||
							 sodium_memcmp(cp.head, had->head, 32) != 0))) {
		/* Its log went back, or forked: the partner's alarm, our record of it. */
		if (cp.seq != p->regressed_seq)
			gw_log(GW_WARN, "partner_log_went_back", "peer=%s witnessed_seq=%ju shown_seq=%ju",
			       p->id, (uintmax_t)had->seq, (uintmax_t)cp.seq);
		p->regressed_seq = cp.seq;
		metrics_add(g, "piugw_witness_total", "what=\"partner_went_back\"", 1);
		return;
	}
	if (cp.seq == had->seq)
		return;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	r.event = PIUGW__AUDIT_EVENT__AUDIT_WITNESSED;
	r.peer = p->id;
	r.witnessed_seq = cp.seq;
	r.witnessed_time_ms = cp.time_ms;
	r.witnessed_head.data = cp.head;
	r.witnessed_head.len = 32;
	r.witnessed_first_seq = cp.first_seq;
	r.witnessed_signature.data = cp.signature;
	r.witnessed_signature.len = 64;
	if (gw_audit(g, &r, NULL) != 0 || state_witness_set(g->state, p->id, &cp, gw_now_ms()) != 0)
		return;
	p->witnessed = cp;
	metrics_add(g, "piugw_witness_total", "what=\"witnessed\"", 1);
}

/* What the partner hands back of ours: does our log still hold it? */
static void
check_ours(struct gw *g, struct peer *p, const Piugw__AuditCheckpoint *m)
{
	const struct keys_public *self = keys_secret_public(g->keys);
	struct audit_checkpoint cp;
	char why[300];

	if (body_checkpoint_get(m, &cp) != 0 || strcmp(cp.gateway_id, self->id) != 0 ||
	    audit_checkpoint_verify(&cp, self->sign_pk) != 0) {
		gw_log(GW_WARN, "witness_refused", "peer=%s why=%s", p->id,
		       gw_esc("what it says it witnessed of our log is not a checkpoint we signed"));
		metrics_add(g, "piugw_witness_total", "what=\"refused\"", 1);
		return;
	}
	if (cp.seq == p->seen_ok_seq)
		return; /* checked already */
	if (audit_check_witnessed(g->audit, &cp, why, sizeof(why)) == 0) {
		p->seen_ok_seq = cp.seq;
		return;
	}
	if (g->witness.alarm[0] == '\0') {
		snprintf(g->witness.alarm, sizeof(g->witness.alarm),
			 "%s witnessed checkpoint %ju of this gateway's audit log: %s", p->id,
			 (uintmax_t)cp.seq, why);
		gw_log(GW_ERROR, "audit_witness_alarm", "peer=%s seq=%ju why=%s", p->id,
		       (uintmax_t)cp.seq, gw_esc(why));
	}
	metrics_add(g, "piugw_witness_total", "what=\"alarm\"", 1);
}

/* See gw.h. */
void
witness_receive(struct gw *g, const char *peer, const Piugw__AuditCheckpoint *theirs,
		const Piugw__AuditCheckpoint *ours)
{
	struct peer *p = gw_peer(g, peer);

	if (p == NULL)
		return;
	if (theirs != NULL)
		take_theirs(g, p, theirs);
	if (ours != NULL)
		check_ours(g, p, ours);
}
