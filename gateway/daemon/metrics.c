/*
 * metrics.c: Prometheus metrics and a health endpoint over HTTP, served by
 * libmicrohttpd on a loopback address (metrics.listen in piugwd.yaml).
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL): its
 * epoll descriptor is one more item in the gateway's zmq_poll loop, so the
 * handlers read the gateway's state on the loop's thread, with no locks.
 * Counters are kept as (name, labels) pairs; gauges are computed when
 * scraped. Labels carry gateway ids, agreement ids and codes only: never
 * personal data.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "gw.h"
#include "num.h"
#include "piugw/error.h"

#define BODY_MAX (256 * 1024)

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
	struct MHD_Daemon *mhd;
	int epoll_fd;
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
	bprintf(b, "# HELP piugw_peer_connected 1 while the connection to the partner is up.\n"
		   "# TYPE piugw_peer_connected gauge\n");
	for (size_t i = 0; i < g->npeers; i++)
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
		if (!pe->connected && now - pe->down_since_ms > 60000) {
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
	if (store_writable(g->store) != 0)
		json_array_append_new(reasons, json_string("the traveller store cannot be written"));
	if (g->witness.alarm[0] != '\0')
		json_array_append_new(reasons, json_string(g->witness.alarm));
	*outp = json_pack("{s:s, s:s, s:o}", "status", json_array_size(reasons) ? "degraded" : "ok",
			  "gateway", policy_config(p)->id, "reasons", reasons);
	return json_array_size(reasons) == 0;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_len, void **ctx)
{
	struct gw *g = cls;

	(void)version;
	(void)upload;
	(void)ctx;
	if (*upload_len != 0 || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("GET only\n"), 9);
	/* Refusing to serve: health says why, and nothing else is running to measure. */
	if (g->refusal[0] != '\0' && strcmp(url, "/healthz") == 0) {
		json_t *o = json_pack("{s:s, s:s, s:[s]}", "status", "refused", "gateway",
				      policy_config(g->policy)->id, "reasons", g->refusal);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		return s == NULL ? MHD_NO
				 : reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", s,
					 strlen(s));
	}
	if (g->refusal[0] != '\0' && strcmp(url, "/metrics") == 0) {
		static const char up[] = "# HELP piugw_serving 0 while piugwd refuses to serve.\n"
					 "# TYPE piugw_serving gauge\npiugw_serving 0\n";
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", strdup(up),
			     sizeof(up) - 1);
	}
	if (strcmp(url, "/metrics") == 0) {
		struct buf b = {.p = malloc(16384), .cap = 16384};
		if (b.p == NULL)
			return MHD_NO;
		render_metrics(g, &b);
		if (b.oom) {
			free(b.p);
			return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				     strdup("too many series\n"), 16);
		}
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b.p, b.n);
	}
	if (strcmp(url, "/healthz") == 0) {
		json_t *o = NULL;
		bool ok = metrics_health(g, &o);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (s == NULL)
			return MHD_NO;
		return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", s,
			     strlen(s));
	}
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", strdup("/metrics or /healthz\n"), 21);
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
	const union MHD_DaemonInfo *info;
	char why[200];

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return PIUGW_ENOMEM;
	m->epoll_fd = -1;
	g->metrics = m;
	if (policy_config(g->policy)->metrics_listen == NULL)
		return 0;
	if (!parse_listen(policy_config(g->policy)->metrics_listen, &ss, why, sizeof(why))) {
		gw_log(GW_ERROR, "config", "metrics.listen=%s", gw_esc(why));
		return PIUGW_ECONFIG;
	}
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, handle, g, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
	if (m->mhd == NULL || (info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		gw_log(GW_ERROR, "bind", "metrics.listen=%s problem=%s",
		       gw_esc(policy_config(g->policy)->metrics_listen),
		       gw_esc("cannot listen there (in use?)"));
		return PIUGW_ESYSTEM;
	}
	m->epoll_fd = info->epoll_fd;
	gw_log(GW_INFO, "metrics", "listen=%s", gw_esc(policy_config(g->policy)->metrics_listen));
	return 0;
}

/* See gw.h. */
int
metrics_fd(struct gw *g)
{
	return g->metrics != NULL ? g->metrics->epoll_fd : -1;
}

/* See gw.h. */
long
metrics_timeout_ms(struct gw *g)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (g->metrics == NULL || g->metrics->mhd == NULL || MHD_get_timeout(g->metrics->mhd, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (long)t;
}

/* See gw.h. */
void
metrics_run(struct gw *g)
{
	if (g->metrics != NULL && g->metrics->mhd != NULL)
		MHD_run(g->metrics->mhd);
}

/* See gw.h. */
void
metrics_close(struct gw *g)
{
	struct gw_metrics *m = g->metrics;

	if (m == NULL)
		return;
	if (m->mhd != NULL)
		MHD_stop_daemon(m->mhd);
	free(m->c);
	free(m->h);
	free(m);
	g->metrics = NULL;
}
