/*
 * metrics.c: Prometheus metrics and a health endpoint, served on a loopback
 * address (metrics.listen in piugwd.yaml) by the metrics process
 * (metricsd.h).
 *
 * The counters are kept here, and a scrape's page is made here, on the
 * loop's thread with no locks: the metrics process's socket is one more
 * item in the gateway's zmq_poll loop, and each of its requests gets a
 * snapshot of /metrics and /healthz as they are now. Counters are kept as
 * (name, labels) pairs; gauges are computed when scraped. Labels carry
 * gateway ids, agreement ids and codes only: never personal data.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include "gw.h"
#include "metricsd.h"
#include "num.h"
#include "piugw/error.h"

#define BODY_MAX MX_BODY_MAX

struct counter {
	const char *name; /* static */
	char labels[200];
	double v;
};

static const struct {
	const char *name, *type, *help;
} families[] = {
	{"piugw_queries_sent_total", "counter", "Queries this gateway sent, per partner and agreement."},
	{"piugw_queries_received_total", "counter", "Queries partners sent to this gateway, per partner and agreement."},
	{"piugw_answers_total", "counter", "Answers by direction (sent to partners, received from them) and status."},
	{"piugw_refusals_total", "counter", "Refusals by direction and wire error code."},
	{"piugw_dropped_total", "counter", "Messages dropped unanswered (not authenticated, or the member lost its admission)."},
	{"piugw_bad_answers_total", "counter", "Partners' answers refused here: another kind, other agreement fields, or more than the terms allow."},
	{"piugw_query_duration_seconds", "histogram", "Round trip of this gateway's queries, per partner."},
	{"piugw_witness_total", "counter", "Audit checkpoints in Hello exchanges: partners' witnessed, refused, partners' logs gone back, alarms about ours."},
	{"piugw_lookouts_fired_total", "counter", "Partners' lookouts held here that an import matched, per partner."},
	{"piugw_notifications_total", "counter", "Notifications sent (acknowledged, refused) and received, per partner."},
};

static const double buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/*
 * A peer's query duration histogram: where its counters are in c (counters
 * are only ever appended, so the places hold), so that an answer adds to
 * them without formatting labels and searching the list.
 */
#define HISTS_MAX 256
struct hist {
	char peer[KEYS_ID_MAX + 1];
	size_t at[NBUCKETS + 3]; /* the buckets, +Inf, sum, count; SIZE_MAX: none */
};

struct gw_metrics {
	struct metricsd *proc; /* NULL without metrics.listen */
	struct counter *c;
	size_t n, cap;
	struct hist *h;
	size_t nh;
	int64_t store_rows_at;
	uint64_t store_rows;
	uint32_t pending;
};

/* The place of counter name{labels} in m->c, added with 0 if new; SIZE_MAX if full. */
static size_t
counter_at(struct gw_metrics *m, const char *name, const char *labels)
{
	struct counter *nc;

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->c[i].name, name) == 0 && strcmp(m->c[i].labels, labels) == 0)
			return i;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		if (cap > 65536 || (nc = realloc(m->c, cap * sizeof(*nc))) == NULL)
			return SIZE_MAX;
		m->c = nc;
		m->cap = cap;
	}
	m->c[m->n].name = name;
	snprintf(m->c[m->n].labels, sizeof(m->c[m->n].labels), "%s", labels);
	m->c[m->n].v = 0;
	return m->n++;
}

/* See gw.h. */
void
metrics_add(struct gw *g, const char *name, const char *labels, double v)
{
	struct gw_metrics *m = g->metrics;
	size_t i;

	if (m != NULL && (i = counter_at(m, name, labels)) != SIZE_MAX)
		m->c[i].v += v;
}

/* peer's histogram, its counters made on first use; NULL if there is no room. */
static struct hist *
hist_of(struct gw_metrics *m, const char *peer)
{
	static const char *const bucket = "piugw_query_duration_seconds_bucket";
	struct hist *h;
	char l[128];

	for (size_t i = 0; i < m->nh; i++)
		if (strcmp(m->h[i].peer, peer) == 0)
			return &m->h[i];
	if (m->nh == HISTS_MAX || strlen(peer) >= sizeof(h->peer))
		return NULL;
	if (m->h == NULL && (m->h = calloc(HISTS_MAX, sizeof(*m->h))) == NULL)
		return NULL;
	h = &m->h[m->nh++];
	snprintf(h->peer, sizeof(h->peer), "%s", peer);
	for (size_t i = 0; i < NBUCKETS; i++) {
		snprintf(l, sizeof(l), "peer=\"%s\",le=\"%g\"", peer, buckets[i]);
		h->at[i] = counter_at(m, bucket, l);
	}
	snprintf(l, sizeof(l), "peer=\"%s\",le=\"+Inf\"", peer);
	h->at[NBUCKETS] = counter_at(m, bucket, l);
	snprintf(l, sizeof(l), "peer=\"%s\"", peer);
	h->at[NBUCKETS + 1] = counter_at(m, "piugw_query_duration_seconds_sum", l);
	h->at[NBUCKETS + 2] = counter_at(m, "piugw_query_duration_seconds_count", l);
	return h;
}

static void
hist_add(struct gw_metrics *m, size_t at, double v)
{
	if (at != SIZE_MAX)
		m->c[at].v += v;
}

/* See gw.h. Every bucket is there from the first answer on, as Prometheus expects. */
void
metrics_observe(struct gw *g, const char *peer, double seconds)
{
	struct gw_metrics *m = g->metrics;
	struct hist *h;

	if (m == NULL || (h = hist_of(m, peer)) == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i])
			hist_add(m, h->at[i], 1);
	hist_add(m, h->at[NBUCKETS], 1);
	hist_add(m, h->at[NBUCKETS + 1], seconds);
	hist_add(m, h->at[NBUCKETS + 2], 1);
}

struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		if (b->cap >= BODY_MAX || k < 0) {
			b->oom = true;
			return;
		}
		char *np = realloc(b->p, b->cap * 2);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

/* Gauges that cost a database query are refreshed at most every 30 s. */
static void
refresh(struct gw *g, int64_t now)
{
	struct gw_metrics *m = g->metrics;
	struct store_stats st;

	state_pending_count(g->state, &m->pending);
	if (now - m->store_rows_at < 30000)
		return;
	if (store_stats(g->store, now, &st) == 0)
		m->store_rows = st.rows;
	m->store_rows_at = now;
}

static void
render_metrics(struct gw *g, struct buf *b)
{
	struct gw_metrics *m = g->metrics;
	const struct policy *p = g->policy;
	int64_t now = gw_now_ms();
	int32_t today = num_day_of_ms(now);
	uint32_t in_flight = 0;

	refresh(g, now);
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		size_t len = strlen(families[f].name);
		bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
			families[f].name, families[f].type);
		for (size_t i = 0; i < m->n; i++)
			if (strncmp(m->c[i].name, families[f].name, len) == 0)
				bprintf(b, "%s{%s} %.9g\n", m->c[i].name, m->c[i].labels, m->c[i].v);
	}
	bprintf(b, "# HELP piugw_zap_refused_total Transport handshakes refused by the ZAP handler.\n"
		   "# TYPE piugw_zap_refused_total counter\npiugw_zap_refused_total %ju\n",
		(uintmax_t)g->links.refused_at_zap);
	for (struct outreq *o = g->out.reqs; o != NULL; o = o->next)
		in_flight += o->kind == OUT_QUERY;
	bprintf(b, "# HELP piugw_queries_in_flight Queries sent and not answered yet.\n"
		   "# TYPE piugw_queries_in_flight gauge\npiugw_queries_in_flight %u\n", in_flight);
	bprintf(b, "# HELP piugw_pending_approvals Partners' requests waiting for a person.\n"
		   "# TYPE piugw_pending_approvals gauge\npiugw_pending_approvals %u\n", m->pending);
	bprintf(b, "# HELP piugw_audit_records Records in the audit log (head) and durable.\n"
		   "# TYPE piugw_audit_records gauge\n"
		   "piugw_audit_records{state=\"appended\"} %ju\npiugw_audit_records{state=\"durable\"} %ju\n",
		(uintmax_t)audit_head(g->audit), (uintmax_t)audit_durable(g->audit));
	bprintf(b, "# HELP piugw_audit_ok 1 while the audit log can be written.\n"
		   "# TYPE piugw_audit_ok gauge\npiugw_audit_ok %d\n", audit_status(g->audit) == 0);
	bprintf(b, "# HELP piugw_audit_witness_alarm 1 once a partner witnessed a checkpoint this log no longer holds.\n"
		   "# TYPE piugw_audit_witness_alarm gauge\npiugw_audit_witness_alarm %d\n",
		g->witness.alarm[0] != '\0');
	bprintf(b, "# HELP piugw_audit_checkpoint_age_seconds Since the last signed checkpoint.\n"
		   "# TYPE piugw_audit_checkpoint_age_seconds gauge\n"
		   "piugw_audit_checkpoint_age_seconds %.3f\n",
		(double)(now - audit_last_checkpoint_ms(g->audit)) / 1000.0);
	bprintf(b, "# HELP piugw_store_rows Traveller rows in the store (refreshed every 30 s).\n"
		   "# TYPE piugw_store_rows gauge\npiugw_store_rows %ju\n", (uintmax_t)m->store_rows);
	bprintf(b,
		"# HELP piugw_directory_serial Serial of the member directory in force.\n"
		"# TYPE piugw_directory_serial gauge\npiugw_directory_serial %ju\n",
		(uintmax_t)policy_directory(p)->serial);
	bprintf(b,
		"# HELP piugw_directory_expiry_days Days until the directory expires (negative: "
		"expired).\n"
		"# TYPE piugw_directory_expiry_days gauge\npiugw_directory_expiry_days %d\n",
		policy_directory(p)->expires_day - today);
	bprintf(b, "# HELP piugw_agreement_days_left Days until each agreement ends.\n"
		   "# TYPE piugw_agreement_days_left gauge\n");
	for (size_t i = 0; i < policy_agreement_count(p); i++)
		bprintf(b, "piugw_agreement_days_left{agreement=\"%s\",peer=\"%s\"} %d\n",
			policy_agreement_at(p, i)->a->id, policy_agreement_at(p, i)->peer,
			policy_agreement_at(p, i)->a->until_day - today);
	bprintf(b, "# HELP piugw_agreement_in_force 1 if the agreement is in force now.\n"
		   "# TYPE piugw_agreement_in_force gauge\n");
	for (size_t i = 0; i < policy_agreement_count(p); i++)
		bprintf(b, "piugw_agreement_in_force{agreement=\"%s\",peer=\"%s\"} %d\n",
			policy_agreement_at(p, i)->a->id, policy_agreement_at(p, i)->peer,
			policy_agreement_state(policy_agreement_at(p, i), now, NULL, 0) ==
				POLICY_IN_FORCE);
	/* Lookouts in force per partner and side, and notifications not yet through. */
	{
		struct state_lookout *v = NULL;
		struct state_notification *nv = NULL;
		size_t n = 0, nn = 0;
		bprintf(b, "# HELP piugw_lookouts Lookouts by side (held: partners' here; placed: "
			   "ours there), partner and state.\n# TYPE piugw_lookouts gauge\n");
		for (size_t i = 0; i < g->npeers; i++) {
			unsigned c[2][2] = {{0, 0}, {0, 0}}; /* [held][suspended] */
			if (g->peers[i].stranger)
				continue;
			if (n == 0 && v == NULL &&
			    state_lookout_list(g->state, -1, STATE_LOOKOUTS_IN_FORCE, &v, &n) != 0)
				break;
			for (size_t k = 0; k < n; k++)
				if (strcmp(v[k].peer, g->peers[i].id) == 0 &&
				    (v[k].state == STATE_LOOKOUT_ACTIVE ||
				     v[k].state == STATE_LOOKOUT_SUSPENDED))
					c[v[k].incoming][v[k].state == STATE_LOOKOUT_SUSPENDED]++;
			for (int side = 0; side < 2; side++)
				for (int su = 0; su < 2; su++)
					bprintf(b, "piugw_lookouts{side=\"%s\",peer=\"%s\",state=\"%s\"} %u\n",
						side ? "held" : "placed", g->peers[i].id,
						su ? "suspended" : "active", c[side][su]);
		}
		for (size_t k = 0; k < n; k++)
			state_lookout_clear(&v[k]);
		free(v);
		bprintf(b, "# HELP piugw_notifications_waiting Notifications to partners held for a "
			   "person, or sent and not acknowledged yet.\n"
			   "# TYPE piugw_notifications_waiting gauge\n");
		if (state_notification_list(g->state, 0, -1, &nv, &nn) == 0)
			for (size_t i = 0; i < g->npeers; i++) {
				unsigned held = 0, sending = 0;
				if (g->peers[i].stranger)
					continue;
				for (size_t k = 0; k < nn; k++)
					if (strcmp(nv[k].peer, g->peers[i].id) == 0) {
						held += nv[k].state == STATE_NOTIFICATION_HELD;
						sending += nv[k].state == STATE_NOTIFICATION_SENDING;
					}
				bprintf(b, "piugw_notifications_waiting{peer=\"%s\",state=\"held\"} %u\n"
					   "piugw_notifications_waiting{peer=\"%s\",state=\"sending\"} %u\n",
					g->peers[i].id, held, g->peers[i].id, sending);
			}
		for (size_t k = 0; k < nn; k++)
			state_notification_clear(&nv[k]);
		free(nv);
	}
	bprintf(b, "# HELP piugw_peer_connected 1 while the connection to the partner is up.\n"
		   "# TYPE piugw_peer_connected gauge\n");
	for (size_t i = 0; i < g->npeers; i++)
		if (!g->peers[i].stranger)
			bprintf(b, "piugw_peer_connected{peer=\"%s\"} %d\n", g->peers[i].id,
				g->peers[i].connected);
}

/* See gw.h. */
bool
metrics_health(struct gw *g, json_t **outp)
{
	const struct policy *p = g->policy;
	int64_t now = gw_now_ms();
	int32_t today = num_day_of_ms(now);
	uint32_t warn_days = policy_config(p)->directory_expiry_warning_days;
	json_t *reasons = json_array();
	char msg[300];

	if (policy_directory(p)->expires_day < today)
		json_array_append_new(reasons, json_string("the member directory has expired: ask the "
							   "secretariat for a new one"));
	else if (policy_directory(p)->expires_day - today <= (int32_t)warn_days) {
		snprintf(msg, sizeof(msg), "the member directory expires in %d days",
			 policy_directory(p)->expires_day - today);
		json_array_append_new(reasons, json_string(msg));
	}
	for (size_t i = 0; i < policy_agreement_count(p); i++) {
		const struct policy_agreement *pa = policy_agreement_at(p, i);
		int left = pa->a->until_day - today;
		if (pa->not_member) {
			snprintf(msg, sizeof(msg), "agreement %s is not in force: party %s is not in "
				 "the member directory", pa->a->id, pa->peer);
			json_array_append_new(reasons, json_string(msg));
			continue;
		}
		if (policy_agreement_state(pa, now, NULL, 0) == POLICY_IN_FORCE && left <= (int)warn_days) {
			snprintf(msg, sizeof(msg), "agreement %s with %s ends in %d days", pa->a->id,
				 pa->peer, left);
			json_array_append_new(reasons, json_string(msg));
		}
	}
	for (size_t i = 0; i < g->npeers; i++) {
		const struct peer *pe = &g->peers[i];
		if (!pe->connected && !pe->stranger && now - pe->down_since_ms > 60000) {
			snprintf(msg, sizeof(msg), "partner %s unreachable for %lld s%s%s", pe->id,
				 (long long)((now - pe->down_since_ms) / 1000),
				 pe->problem[0] ? ": " : "", pe->problem);
			json_array_append_new(reasons, json_string(msg));
		}
	}
	if (audit_status(g->audit) != 0) {
		snprintf(msg, sizeof(msg), "the audit log cannot be written (%s): work is refused",
			 piugw_strerror(audit_status(g->audit)));
		json_array_append_new(reasons, json_string(msg));
	}
	if (store_problem(g->store) != NULL) {
		snprintf(msg, sizeof(msg), "the traveller store is unavailable (%s): queries are "
			 "refused, and it is tried again", store_problem(g->store));
		json_array_append_new(reasons, json_string(msg));
	} else if (store_writable(g->store) != 0) {
		json_array_append_new(reasons, json_string("the traveller store cannot be written"));
	}
	if (g->witness.alarm[0] != '\0')
		json_array_append_new(reasons, json_string(g->witness.alarm));
	/* Notifications a partner has not acknowledged within its terms' ack_within_hours. */
	{
		struct state_notification *v = NULL;
		size_t n = 0, late = 0;
		char first[STATE_REF_MAX + 1 + KEYS_ID_MAX + 8] = "";
		if (state_notification_list(g->state, 0, STATE_NOTIFICATION_SENDING, &v, &n) == 0)
			for (size_t i = 0; i < n; i++) {
				const struct policy_agreement *pa =
					policy_agreement(p, v[i].agreement_id);
				const struct agreement_terms *t =
					pa != NULL ? agreement_terms_for(pa->a, v[i].peer,
									 policy_config(p)->id)
						   : NULL;
				int64_t limit = (int64_t)(t != NULL ? t->lookouts.ack_within_hours
								    : AGREEMENT_ACK_HOURS_DEFAULT) *
						3600000;
				if (now - v[i].created_ms > limit && late++ == 0)
					snprintf(first, sizeof(first), "%s to %s", v[i].ref,
						 v[i].peer);
				state_notification_clear(&v[i]);
			}
		free(v);
		if (late > 0) {
			snprintf(msg, sizeof(msg), "%zu notification(s) not acknowledged within the "
				 "agreement's ack_within_hours (first: %s)", late, first);
			json_array_append_new(reasons, json_string(msg));
		}
	}
	*outp = json_pack("{s:s, s:s, s:o}", "status", json_array_size(reasons) ? "degraded" : "ok",
			  "gateway", policy_config(p)->id, "reasons", reasons);
	return json_array_size(reasons) == 0;
}

/* The refusal's page: health says why, and nothing else is running to measure. */
static void
snapshot_refusing(struct gw *g, struct metricsd *proc)
{
	static const char up[] = "# HELP piugw_serving 0 while piugwd refuses to serve.\n"
				 "# TYPE piugw_serving gauge\npiugw_serving 0\n";
	json_t *o = json_pack("{s:s, s:s, s:[s]}", "status", "refused", "gateway",
			      policy_config(g->policy)->id, "reasons", g->refusal);
	char *h = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	(void)metricsd_send(proc, 200, up, sizeof(up) - 1, 503, h != NULL ? h : "{}",
			    h != NULL ? strlen(h) : 2);
	free(h);
}

/* A scrape wants the pages as they are now. */
static void
snapshot(struct gw *g)
{
	static const char many[] = "too many series\n";
	struct gw_metrics *m = g->metrics;
	struct buf b = {.p = malloc(16384), .cap = 16384};
	json_t *o = NULL;
	bool ok;
	char *h;

	if (g->refusal[0] != '\0') {
		free(b.p);
		snapshot_refusing(g, m->proc);
		return;
	}
	b.oom = b.p == NULL;
	render_metrics(g, &b);
	ok = metrics_health(g, &o);
	h = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	(void)metricsd_send(m->proc, b.oom ? 500 : 200, b.oom ? many : b.p,
			    b.oom ? sizeof(many) - 1 : b.n, ok ? 200 : 503, h != NULL ? h : "{}",
			    h != NULL ? strlen(h) : 2);
	free(h);
	free(b.p);
}

/* Parse "127.0.0.1:9741" or "[::1]:9741"; only loopback addresses. */
static bool
parse_listen(const char *s, struct sockaddr_storage *ss, char *why, size_t why_len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || !num_parse_u64(colon + 1, strlen(colon + 1), 1, 65535, &port)) {
		snprintf(why, why_len, "'%s' is not HOST:PORT (e.g. 127.0.0.1:9741)", s);
		return false;
	}
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host)) {
		snprintf(why, why_len, "'%s': host too long", s);
		return false;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1 ||
		    !IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			goto not_loopback;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return true;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1 ||
		    (ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return true;
	}
not_loopback:
	snprintf(why, why_len, "'%s': metrics are served on a loopback address only "
			       "(127.0.0.1 or [::1]); put a proxy in front to expose them", s);
	return false;
}

/* See gw.h. */
int
metrics_open(struct gw *g)
{
	struct gw_metrics *m;
	struct sockaddr_storage ss;
	struct diag d;
	const char *listen = policy_config(g->policy)->metrics_listen;
	char why[200];
	int rc;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return PIUGW_ENOMEM;
	g->metrics = m;
	if (listen == NULL)
		return 0;
	if (!parse_listen(listen, &ss, why, sizeof(why))) {
		gw_log(GW_ERROR, "config", "metrics.listen=%s", gw_esc(why));
		return PIUGW_ECONFIG;
	}
	diag_init(&d);
	rc = metricsd_start(&ss, listen, g->keys, MX_WAIT_MS, true, &m->proc, &d);
	for (size_t i = 0; i < d.n; i++)
		gw_log(GW_ERROR, "metrics_failed", "problem=%s", gw_esc(d.lines[i]));
	diag_clear(&d);
	if (rc != 0)
		return rc;
	gw_log(GW_INFO, "metrics", "listen=%s pid=%ld", gw_esc(listen),
	       (long)metricsd_pid(m->proc));
	return 0;
}

/* See gw.h. */
int
metrics_fd(struct gw *g)
{
	return g->metrics != NULL ? metricsd_fd(g->metrics->proc) : -1;
}

/* See gw.h. */
short
metrics_events(struct gw *g)
{
	short e = g->metrics != NULL ? metricsd_events(g->metrics->proc) : 0;

	return (short)((e & POLLIN ? ZMQ_POLLIN : 0) | (e & POLLOUT ? ZMQ_POLLOUT : 0));
}

/* See gw.h. */
pid_t
metrics_pid(struct gw *g)
{
	return g->metrics != NULL ? metricsd_pid(g->metrics->proc) : 0;
}

/* See gw.h. */
void
metrics_run(struct gw *g)
{
	struct gw_metrics *m = g->metrics;
	int k;

	if (m == NULL || m->proc == NULL || metricsd_fd(m->proc) < 0)
		return;
	if ((k = metricsd_wanted(m->proc)) > 0)
		snapshot(g);
	if (k < 0 || metricsd_problem(m->proc) != NULL) {
		/* Said once: its socket is gone from the loop from now on. */
		gw_log(GW_ERROR, "metrics_failed", "problem=%s why=%s",
		       gw_esc(metricsd_problem(m->proc)),
		       gw_esc("/metrics and /healthz are not served until piugwd is restarted; "
			      "the gateway serves on"));
		metricsd_stop(&m->proc);
	}
}

/* See gw.h. */
void
metrics_close(struct gw *g)
{
	struct gw_metrics *m = g->metrics;

	if (m == NULL)
		return;
	metricsd_stop(&m->proc);
	free(m->c);
	free(m->h);
	free(m);
	g->metrics = NULL;
}
