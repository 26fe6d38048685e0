/*
 * loop.c: piugwd's loop and its turn. One thread polls every socket and
 * descriptor (gw.h lists them); a turn takes what is ready (signals,
 * suspensions, monitors, partners' answers, partners' requests, operators'
 * requests), runs the timers, and ends with its one durable step
 * (gw_turn_end). SIGHUP reloads the configuration between two messages.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "gw.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"

/*
 * A store that goes away (a PostgreSQL server stopped or failed over) and
 * comes back: said once each way. The store itself tries to connect again
 * when it is used, at most once a backoff; this asks it each turn.
 */
static void
store_watch(struct gw *g)
{
	const char *why = store_problem(g->store);

	if (why != NULL && !g->store_down) {
		g->store_down = true;
		gw_log(GW_ERROR, "store_unavailable", "backend=%s error=%s hint=%s",
		       store_backend_name(g->store), gw_esc(why),
		       gw_esc("queries are refused (INTERNAL, store unavailable) until it is back; "
			      "it is tried again by itself"));
	} else if (why == NULL && g->store_down) {
		g->store_down = false;
		gw_log(GW_INFO, "store_available", "backend=%s", store_backend_name(g->store));
	}
}

/* See gw.h. */
void
gw_commit(struct gw *g)
{
	struct gw_turn *t = &g->turn;
	struct audit_anchor a;

	/*
	 * The audit log's newest durable record goes with this turn's rows: a
	 * log found behind it at the next start was cut (audit.h). Only what is
	 * durable, so that a crash never leaves state.db ahead of the log.
	 */
	audit_durable_head(g->audit, &a);
	if (a.seq > t->anchor_seq && state_anchor_set(g->state, a.seq, a.hash, gw_now_ms()) == 0)
		t->anchor_seq = a.seq;
	if (state_commit(g->state) != 0)
		gw_log(GW_ERROR, "state", "problem=%s",
		       gw_esc("state.db could not be written: replay cache and results of this "
			      "turn lost (is the disk full?)"));
}

/* See gw.h. */
void
gw_turn_begin(struct gw *g)
{
	g->turn.open = true;
	store_read_hold(g->store, true);
}

/* See gw.h. */
void
gw_turn_end(struct gw *g)
{
	struct gw_turn *t = &g->turn;
	int rc;

	/*
	 * The turn's one durable step (gw.h): its replies signed in one round
	 * trip, state.db, then the audit log, then every reply whose records
	 * are on disk, all in this turn. When
	 * no reply waits for them, the records wait (GW_FLUSH_MS at most) to
	 * share the next turn's flush.
	 */
	store_read_hold(g->store, false);
	inbound_seal_turn(g);
	gw_commit(g);
	if (audit_head(g->audit) > audit_durable(g->audit)) {
		int64_t now = gw_now_ms();
		bool waited = t->deferred != NULL || reply_local_waiting(g) || g->draining ||
			      g->stop ||
			      (t->unflushed_ms != 0 && now - t->unflushed_ms >= GW_FLUSH_MS);
		if (!waited) {
			if (t->unflushed_ms == 0)
				t->unflushed_ms = now;
		} else {
			if ((rc = audit_flush(g->audit)) != 0 && !t->audit_failed)
				gw_log(GW_ERROR, "audit_failed", "error=%s",
				       gw_esc(piugw_strerror(rc)));
			t->audit_failed = rc != 0;
			t->unflushed_ms = 0;
		}
	} else if ((rc = audit_flush(g->audit)) != 0) { /* a checkpoint may be due by time */
		if (!t->audit_failed)
			gw_log(GW_ERROR, "audit_failed", "error=%s", gw_esc(piugw_strerror(rc)));
		t->audit_failed = true;
	}
	inbound_send_ready(g);
	t->open = false;
	reply_local_flush(g);
}

/*
 * See gw.h. In this thread: helper threads opening a turn's envelopes side
 * by side lost on this 2-core VM (issue 17: 5,081 against 5,326 queries a
 * second without them, 11% more CPU a query), the cores being busy anyway.
 */
void
gw_open_all(struct gw *g, struct inmsg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].open)
			v[i].rc = envelope_open(g->env, zmq_msg_data(&v[i].msg),
						zmq_msg_size(&v[i].msg), &v[i].opts, &v[i].o);
}

/* See gw.h: every member of the directory but us, with its pair keys. */
int
loop_envelope_build(struct gw *g, struct envelope_ctx **outp)
{
	const struct directory *dir = policy_directory(g->policy);
	const struct config *cfg = policy_config(g->policy);
	struct envelope_ctx *ctx = NULL;
	int rc;

	if ((rc = envelope_ctx_new(g->keys, cfg->max_message_bytes, &ctx)) != 0)
		return rc;
	for (size_t i = 0; i < dir->n; i++) {
		const struct directory_member *m = &dir->members[i];
		if (strcmp(m->keys.id, cfg->id) == 0)
			continue;
		if ((rc = envelope_ctx_add_peer(ctx, &m->keys)) != 0)
			gw_log(GW_WARN, "member_key_refused", "member=%s error=%s", m->keys.id,
			       gw_esc(piugw_strerror(rc)));
	}
	*outp = ctx;
	return 0;
}

/* See gw.h. */
void
loop_audit_config(struct gw *g, const char *detail)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	char buf[160];

	snprintf(buf, sizeof(buf), "%s: directory serial %ju, %zu agreement(s)", detail,
		 (uintmax_t)policy_directory(g->policy)->serial, policy_agreement_count(g->policy));
	r.event = PIUGW__AUDIT_EVENT__AUDIT_CONFIG_LOADED;
	r.detail = buf;
	/* A failure is logged by gw_audit and fails the log closed: nothing leaves after it. */
	(void)gw_audit(g, &r, NULL);
}

/*
 * What this gateway trusts, as far as the audit log must hear of each change
 * (AGREEMENT_CHANGED, KEY_CHANGED): every agreement's text and suspension,
 * every member's keys. Taken before a reload or a look at the suspensions,
 * compared after.
 */
struct trust {
	struct trust_agreement {
		char id[ENVELOPE_AGREEMENT_ID_MAX + 1];
		char peer[KEYS_ID_MAX + 1];
		uint8_t hash[AGREEMENT_HASH_BYTES];
		bool suspended;
	} *a;
	size_t na;
	struct keys_public *m;
	size_t nm;
};

static bool
suspended_now(const struct policy_agreement *pa)
{
	return pa->watched ? pa->live_suspended : pa->suspended;
}

static void
trust_take(const struct policy *p, struct trust *t)
{
	memset(t, 0, sizeof(*t));
	if ((t->a = calloc(policy_agreement_count(p) + 1, sizeof(*t->a))) == NULL ||
	    (t->m = calloc(policy_directory(p)->n + 1, sizeof(*t->m))) == NULL) {
		free(t->a);
		t->a = NULL;
		gw_log(GW_ERROR, "trust_snapshot", "error=%s",
		       gw_esc("out of memory: changes of agreements and keys go unrecorded"));
		return;
	}
	for (size_t i = 0; i < policy_agreement_count(p); i++) {
		struct trust_agreement *ta = &t->a[t->na++];
		snprintf(ta->id, sizeof(ta->id), "%s", policy_agreement_at(p, i)->a->id);
		snprintf(ta->peer, sizeof(ta->peer), "%s", policy_agreement_at(p, i)->peer);
		memcpy(ta->hash, policy_agreement_at(p, i)->a->hash, sizeof(ta->hash));
		ta->suspended = suspended_now(policy_agreement_at(p, i));
	}
	for (size_t i = 0; i < policy_directory(p)->n; i++)
		t->m[t->nm++] = policy_directory(p)->members[i].keys;
}

static void
trust_record(struct gw *g, Piugw__AuditEvent ev, const char *peer, const char *agreement_id,
	     const uint8_t *hash, const char *detail)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;

	r.event = ev;
	r.peer = (char *)peer;
	r.agreement_id = (char *)(agreement_id != NULL ? agreement_id : "");
	if (hash != NULL) {
		r.agreement_hash.data = (uint8_t *)hash;
		r.agreement_hash.len = AGREEMENT_HASH_BYTES;
	}
	r.detail = (char *)detail;
	(void)gw_audit(g, &r, NULL); /* as in loop_audit_config */
	gw_log(GW_INFO, ev == PIUGW__AUDIT_EVENT__AUDIT_KEY_CHANGED ? "key_changed"
								   : "agreement_changed",
	       "peer=%s agreement=%s what=%s", peer, agreement_id != NULL ? agreement_id : "-",
	       gw_esc(detail));
}

/* Put on record whatever differs between old and what g trusts now; frees old. */
static void
trust_audit(struct gw *g, struct trust *old)
{
	const struct policy *p = g->policy;
	const Piugw__AuditEvent AC = PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED;
	const Piugw__AuditEvent KC = PIUGW__AUDIT_EVENT__AUDIT_KEY_CHANGED;

	if (old->a == NULL)
		return;
	for (size_t i = 0; i < policy_agreement_count(p); i++) {
		const struct policy_agreement *pa = policy_agreement_at(p, i);
		const struct trust_agreement *was = NULL;
		for (size_t j = 0; j < old->na && was == NULL; j++)
			if (strcmp(old->a[j].id, pa->a->id) == 0)
				was = &old->a[j];
		if (was == NULL)
			trust_record(g, AC, pa->peer, pa->a->id, pa->a->hash, "agreement added");
		else if (memcmp(was->hash, pa->a->hash, AGREEMENT_HASH_BYTES) != 0)
			trust_record(g, AC, pa->peer, pa->a->id, pa->a->hash,
				     "agreement text changed (a new hash)");
		if (was != NULL && was->suspended != suspended_now(pa))
			trust_record(g, AC, pa->peer, pa->a->id, pa->a->hash,
				     suspended_now(pa) ? "agreement suspended here"
						       : "agreement resumed here");
	}
	for (size_t j = 0; j < old->na; j++) {
		bool kept = false;
		for (size_t i = 0; i < policy_agreement_count(p) && !kept; i++)
			kept = strcmp(old->a[j].id, policy_agreement_at(p, i)->a->id) == 0;
		if (!kept)
			trust_record(g, AC, old->a[j].peer, old->a[j].id, old->a[j].hash,
				     "agreement removed");
	}
	for (size_t i = 0; i < policy_directory(p)->n; i++) {
		const struct keys_public *k = &policy_directory(p)->members[i].keys;
		const struct keys_public *was = NULL;
		for (size_t j = 0; j < old->nm && was == NULL; j++)
			if (strcmp(old->m[j].id, k->id) == 0)
				was = &old->m[j];
		if (was == NULL)
			trust_record(g, KC, k->id, NULL, NULL, "member added to the directory");
		else if (memcmp(was->transport_pk, k->transport_pk, sizeof(k->transport_pk)) != 0 ||
			 memcmp(was->sign_pk, k->sign_pk, sizeof(k->sign_pk)) != 0)
			trust_record(g, KC, k->id, NULL, NULL,
				     "member's keys changed in the directory");
	}
	for (size_t j = 0; j < old->nm; j++)
		if (directory_member(policy_directory(p), old->m[j].id) == NULL)
			trust_record(g, KC, old->m[j].id, NULL, NULL,
				     "member removed from the directory");
	free(old->a);
	free(old->m);
	memset(old, 0, sizeof(*old));
}

/* See gw.h. */
void
loop_reload(struct gw *g)
{
	struct diag d;
	struct envelope_ctx *ctx = NULL;
	char *admitted = NULL;
	size_t n = policy_directory(g->policy)->n;
	int64_t now = gw_now_ms();
	bool cut = false;
	char old_listen[256];
	struct trust was;

	diag_init(&d);
	snprintf(old_listen, sizeof(old_listen), "%s", policy_config(g->policy)->listen);
	if ((admitted = calloc(n + 1, KEYS_ID_MAX + 1)) != NULL)
		for (size_t i = 0; i < n; i++)
			if (policy_admitted(g->policy,
					    policy_directory(g->policy)->members[i].keys.id, now))
				snprintf(admitted + i * (KEYS_ID_MAX + 1), KEYS_ID_MAX + 1, "%s",
					 policy_directory(g->policy)->members[i].keys.id);
	trust_take(g->policy, &was);
	if (policy_reload(&g->policy, g->config_path, now, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			gw_log(GW_ERROR, "reload_problem", "what=%s", gw_esc(d.lines[i]));
		gw_log(GW_ERROR, "reload_failed", "config=%s kept=%s", gw_esc(g->config_path),
		       "the running configuration");
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		gw_log(GW_WARN, "config_warning", "what=%s", gw_esc(d.lines[i]));
	if (strcmp(old_listen, policy_config(g->policy)->listen) != 0)
		gw_log(GW_WARN, "restart_needed", "why=%s",
		       gw_esc("gateway.listen changed; it takes effect at the next start"));
	if (loop_envelope_build(g, &ctx) == 0) {
		envelope_ctx_free(&g->env);
		g->env = ctx;
	}
	links_peers_sync(g);
	for (size_t i = 0; admitted != NULL && i < n; i++) {
		const char *id = admitted + i * (KEYS_ID_MAX + 1);
		if (id[0] != '\0' && !policy_admitted(g->policy, id, now)) {
			gw_log(GW_WARN, "member_cut_off", "member=%s", id);
			cut = true;
		}
	}
	/* Their open connections go now: every partner reconnects and passes ZAP again. */
	if (cut)
		links_router_rebind(g);
	loop_audit_config(g, "configuration reloaded");
	trust_audit(g, &was);
	lookouts_policy_changed(g); /* held under new terms: the index, and who is suspended */
	gw_log(GW_INFO, "reloaded", "serial=%ju agreements=%zu",
	       (uintmax_t)policy_directory(g->policy)->serial, policy_agreement_count(g->policy));
out:
	free(was.a);
	free(was.m);
	free(admitted);
	diag_clear(&d);
}

/*
 * Whether zmq_poll saw a message on the socket of it. zmq_poll asks every
 * socket item for ZMQ_EVENTS before it returns, so nothing is missed; the
 * loop then receives (without waiting) until a receive finds nothing, at
 * most GW_BATCH a socket a turn so that none starves the others. Asking a socket
 * for ZMQ_EVENTS costs a look at its command pipe (system calls), a
 * receive mostly does not, so sockets are not asked again in between.
 */
static bool
flagged(const zmq_pollitem_t *it)
{
	return it->socket != NULL && (it->revents & ZMQ_POLLIN);
}

/*
 * The quiet sockets (ZAP, the monitors) are polled through their ZMQ_FD as
 * plain descriptors, so that zmq_poll does not ask each of them for
 * ZMQ_EVENTS on every turn (two system calls apiece). That descriptor only
 * says "something happened": when it fires, or when the last turn stopped
 * at GW_BATCH messages (*again), the socket is asked and drained until it says
 * no more, which re-arms the descriptor. Nothing else sends or receives on
 * these sockets, so nothing can slip past between turns.
 */
static int
zfd(void *s)
{
	int fd = -1;
	size_t len = sizeof(fd);

	if (s == NULL || zmq_getsockopt(s, ZMQ_FD, &fd, &len) != 0)
		return -1;
	return fd;
}

static bool
take_quiet(void *s, const zmq_pollitem_t *it, int k, bool *again)
{
	int ev = 0;
	size_t len = sizeof(ev);

	if (s == NULL || (k == 0 && !(it->revents & ZMQ_POLLIN) && !*again))
		return false;
	if (k >= GW_BATCH) {
		*again = true;
		return false;
	}
	*again = false;
	return zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN);
}

/* Returns whether the configuration was reloaded (sockets may have been replaced). */
static bool
on_signal(struct gw *g)
{
	struct signalfd_siginfo si;
	bool reloaded = false;

	while (read(g->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			gw_log(GW_INFO, "reload_requested", NULL);
			loop_reload(g);
			reloaded = true;
		} else if (g->draining) {
			gw_log(GW_WARN, "stopping_now", "why=%s", "second stop signal");
			g->stop = true;
		} else {
			gw_log(GW_INFO, "draining", "in_flight=%s",
			       g->out.reqs != NULL || g->turn.deferred != NULL ? "yes" : "no");
			g->draining = true;
		}
	}
	return reloaded;
}

/*
 * Answers kept only to be collected (results here, decided approvals for a
 * partner's poll) hold personal data: deleted answers_keep_days on, and the
 * erasure put on record.
 */
static void
kept_expire(struct gw *g, int64_t now)
{
	uint32_t days = policy_config(g->policy)->answers_keep_days;
	uint64_t results = 0, decided = 0, lookouts = 0, notifications = 0;
	char detail[240];

	if (state_kept_expire(g->state, now - (int64_t)days * 86400000,
			      PIUGW__OUTCOME__OUTCOME_WAITING, &results, &decided) != 0 ||
	    state_lookouts_expire(g->state, now - (int64_t)days * 86400000, &lookouts,
				  &notifications) != 0) {
		gw_log(GW_ERROR, "state", "problem=%s",
		       gw_esc("kept answers past answers_keep_days could not be deleted"));
		return;
	}
	/* A masked match may be asked for again for a year (doc/protocol-notes.md section 7). */
	{
		uint64_t refs = 0;
		if (state_masked_expire(g->state, now - 365LL * 86400000, &refs) == 0 && refs > 0)
			gw_log(GW_INFO, "masked_refs_deleted", "count=%ju days=365", (uintmax_t)refs);
	}
	if (results + decided + lookouts + notifications == 0)
		return;
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	snprintf(detail, sizeof(detail),
		 "answers kept to be collected, older than %u days: %ju received, %ju decided "
		 "approvals; %ju lookouts over, %ju notifications", days, (uintmax_t)results,
		 (uintmax_t)decided, (uintmax_t)lookouts, (uintmax_t)notifications);
	results += lookouts + notifications;
	r.event = PIUGW__AUDIT_EVENT__AUDIT_PURGED;
	r.record_count = results + decided > UINT32_MAX ? UINT32_MAX : (uint32_t)(results + decided);
	r.detail = detail;
	(void)gw_audit(g, &r, NULL); /* as in loop_audit_config */
	gw_log(GW_INFO, "kept_answers_deleted", "results=%ju decided=%ju days=%u",
	       (uintmax_t)results, (uintmax_t)decided, days);
}

/* See gw.h. */
int
loop_run(struct gw *g)
{
	struct gw_turn *t = &g->turn;
	struct gw_links *l = &g->links;
	zmq_pollitem_t *items = NULL;
	size_t cap = 0;
	int ret = 0;

	while (!g->stop) {
		size_t n = 0, peer0;

		/* Every partner polled, however many (a reload may bring more). */
		if (cap < 8 + 2 * g->npeers) {
			zmq_pollitem_t *ni = realloc(items, (8 + 2 * g->npeers) * sizeof(*items));
			if (ni == NULL) {
				gw_log(GW_ERROR, "poll_failed", "error=%s", gw_esc("out of memory"));
				ret = PIUGW_ENOMEM;
				break;
			}
			items = ni;
			cap = 8 + 2 * g->npeers;
		}
		int64_t now = gw_now_ms(), next = outbound_next_timer(g);
		if (lookouts_next_timer(g) < next)
			next = lookouts_next_timer(g);
		long timeout = next <= now ? 0 : (long)(next - now);

		if (timeout > 1000)
			timeout = 1000;
		/* Records waiting to be flushed: at most GW_FLUSH_MS after the first. */
		if (t->unflushed_ms != 0) {
			int64_t left = t->unflushed_ms + GW_FLUSH_MS - now;
			if (left < timeout)
				timeout = left > 0 ? (long)left : 0;
		}
		if (l->router == NULL) {
			/* Rebinding after a cut-off: try again soon. */
			if (links_router_retry(g) != 0 && timeout > 10)
				timeout = 10;
		}
		/* A quiet socket with more than the last turn took (not one being rebound). */
		if ((l->zap != NULL && l->zap_again) ||
		    (l->router_mon != NULL && l->router_mon_again))
			timeout = 0;
		for (size_t i = 0; i < g->npeers; i++)
			if (g->peers[i].mon != NULL && g->peers[i].mon_again)
				timeout = 0;
		items[n++] = (zmq_pollitem_t){.fd = zfd(l->zap), .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.socket = l->api, .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.fd = g->sigfd, .events = ZMQ_POLLIN};
		/* The audit log is written at the turn's end, by this thread: nothing to wait for. */
		items[n++] = (zmq_pollitem_t){.fd = -1};
		/* The metrics process: a scrape's request, or a snapshot being written. */
		items[n++] = (zmq_pollitem_t){.fd = metrics_fd(g), .events = metrics_events(g)};
		/* Suspensions, without a look at the file system per decision (-1: none). */
		items[n++] = (zmq_pollitem_t){.fd = policy_watch(g->policy), .events = ZMQ_POLLIN};
		/* fd -1: a socket that is not there (rebinding) is not polled. */
		items[n++] = (zmq_pollitem_t){.fd = zfd(l->router_mon), .events = ZMQ_POLLIN};
		/* Draining: no new work from partners; our own answers still come in. */
		items[n++] = (zmq_pollitem_t){
			.socket = g->draining ? NULL : l->router, .fd = -1, .events = ZMQ_POLLIN};
		peer0 = n;
		for (size_t i = 0; i < g->npeers; i++) {
			items[n++] = (zmq_pollitem_t){.socket = g->peers[i].dealer, .events = ZMQ_POLLIN};
			items[n++] = (zmq_pollitem_t){.fd = zfd(g->peers[i].mon), .events = ZMQ_POLLIN};
		}
		if (zmq_poll(items, (int)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			gw_log(GW_ERROR, "poll_failed", "error=%s", gw_esc(zmq_strerror(errno)));
			ret = PIUGW_ESYSTEM;
			break;
		}
		gw_turn_begin(g);
		/* Before any decision of this turn. */
		if (items[5].revents & ZMQ_POLLIN) {
			struct trust was;
			trust_take(g->policy, &was);
			policy_watch_changed(g->policy);
			trust_audit(g, &was);
			lookouts_policy_changed(g);
		}
		/* A reload may have closed sockets in items: poll the new ones first. */
		if (items[2].revents & ZMQ_POLLIN && on_signal(g))
			n = 0;
		/*
		 * An agreement co-signed over the mesh was installed (proposals.c):
		 * in force now, and a Hello to every partner at once, which tells
		 * a proposer waiting for it to ask again.
		 */
		if (g->reload_wanted) {
			g->reload_wanted = false;
			gw_log(GW_INFO, "reload_requested", "why=%s",
			       gw_esc("an agreement was installed"));
			loop_reload(g);
			g->witness.next_round_ms = gw_now_ms();
			n = 0;
		}
		if (n > 0 && items[4].revents != 0)
			metrics_run(g);
		for (int k = 0; n > 0 && take_quiet(l->zap, &items[0], k, &l->zap_again); k++)
			links_zap_handle(g);
		for (int k = 0;
		     n > 0 && take_quiet(l->router_mon, &items[6], k, &l->router_mon_again); k++)
			(void)links_monitor_handle(g, NULL, l->router_mon);
		for (size_t i = peer0; i < n; i += 2) {
			struct peer *p = &g->peers[(i - peer0) / 2];
			size_t got = 0;
			for (int k = 0; take_quiet(p->mon, &items[i + 1], k, &p->mon_again); k++)
				if (links_monitor_handle(g, p, p->mon))
					outbound_peer_connected(g, p->id);
			while (flagged(&items[i]) && got < GW_BATCH &&
			       outbound_recv(g, p, &t->inbox[got]))
				got++;
			gw_open_all(g, t->inbox, got);
			for (size_t j = 0; j < got; j++)
				outbound_handle(g, p, &t->inbox[j]);
		}
		if (n > 0 && !g->draining) {
			size_t got = 0;
			while (flagged(&items[7]) && got < GW_BATCH &&
			       inbound_recv(g, &t->inbox[got]))
				got++;
			gw_open_all(g, t->inbox, got);
			for (size_t j = 0; j < got; j++)
				inbound_handle(g, &t->inbox[j]);
		}
		for (int k = 0; n > 0 && flagged(&items[1]) && k < GW_BATCH && localapi_handle(g); k++)
			;
		now = gw_now_ms();
		outbound_timers(g, now);
		lookouts_timers(g, now);
		store_watch(g);
		if (now >= g->next_housekeeping_ms) {
			uint64_t gone = 0;
			int64_t keep =
				2 * (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
			state_replay_expire(g->state, now - keep, &gone);
			kept_expire(g, now);
			/* Often enough that the replay cache holds little past its window. */
			g->next_housekeeping_ms =
				now + (keep / 4 < 60000 ? keep / 4 : 60000);
		}
		/* Drained; answers waiting for an audit log that failed will never go. */
		if (g->draining && g->out.reqs == NULL && !reply_local_waiting(g) &&
		    (t->deferred == NULL || audit_status(g->audit) != 0))
			g->stop = true;
		gw_turn_end(g);
		if (g->purge != NULL)
			localapi_audit_purge_run(g);
		if (g->kh != NULL && keyholder_problem(g->kh) != NULL) {
			/* Nothing can be signed or recorded any more: no drain, a stop. */
			gw_log(GW_ERROR, "key_holder_failed", "problem=%s hint=%s",
			       gw_esc(keyholder_problem(g->kh)),
			       gw_esc("the gateway stops; a restart starts a new key holder"));
			ret = PIUGW_EINTERNAL;
			break;
		}
	}
	free(items);
	return ret;
}
