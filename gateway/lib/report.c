/*
 * report.c: the oversight report (report.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "body.pb-c.h"
#include "keys.h"
#include "piugw/error.h"
#include "report.h"
#include "vocab.h"

#define NPURPOSE 5
#define NQTYPE 7
#define NCAT 14
#define NCODE 19 /* wire error codes 0..18 */
#define NDAYS_MAX 1100

/* Figures in one direction of exchange with one partner. */
struct flow {
	uint32_t total;
	uint32_t purpose[NPURPOSE];
	uint32_t qtype[NQTYPE];
	uint32_t hit, no_hit, pending, denied, bad_answer;
	uint32_t refused[NCODE]; /* by the other side (sent) or by us (received) */
	uint32_t stopped[NCODE]; /* sent: stopped here by our own copy of the terms */
	uint32_t records;        /* records disclosed (received: to us) */
	uint32_t cat[NCAT];      /* records by category */
};

struct times {
	double *v;
	size_t n, cap;
};

struct partner {
	char id[64];
	struct flow sent, received;
	struct times answer_ms;  /* our queries to it: sent to the final answer */
	struct times wait_ms;    /* its requests held here: held to decided */
	uint32_t approved, approval_denied;
	uint32_t masked;         /* records disclosed masked */
	uint32_t lookout_events[12]; /* AUDIT_LOOKOUT_PLACED (29) .. NOTIFICATION_ACKNOWLEDGED (39) */
	uint32_t lookout_out[12];    /* the same, ours (outbound) */
	uint32_t witnessed;
	uint64_t witnessed_last;
	/* Unmasking (Art 12(3)): asked by us or by the partner; decided here */
	uint32_t unmask_asked, unmask_asked_by_partner, unmask_approved, unmask_refused;
	uint32_t unmask_records;
	json_t *authorisations;
	uint32_t *day_sent, *day_received; /* per day of the period */
};

/* When a request was sent or held, by its message id (open addressing). */
struct pending_at {
	uint8_t mid[16];
	int64_t ms;
	char peer[64];         /* whose request it is (a decision's record may not say) */
	bool used, done;
	bool pending;          /* counted as pending until its final answer or decision */
};

struct report {
	int64_t from_ms, to_ms;
	size_t ndays;
	struct partner *p;
	size_t np, pcap;
	uint64_t first_seq, last_seq, records, checkpoints;
	uint32_t imports, imported, purges, purged, erased_segments;
	uint32_t other_refused[NCODE]; /* refusals of no query type (Hello, proposals, malformed) */
	uint32_t dropped;
	json_t *changes;
	struct pending_at *sent, *held;
	size_t cap; /* of sent and held, a power of two */
	struct times all_answer_ms;
};

static void
times_add(struct times *t, double v)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 64;
		double *nv = realloc(t->v, nc * sizeof(*nv));
		if (nv == NULL)
			return;
		t->v = nv;
		t->cap = nc;
	}
	t->v[t->n++] = v;
}

/* See report.h. */
int
report_new(int64_t from_ms, int64_t to_ms, struct report **outp)
{
	struct report *r = calloc(1, sizeof(*r));

	*outp = NULL;
	if (r == NULL)
		return PIUGW_ENOMEM;
	r->from_ms = from_ms;
	r->to_ms = to_ms;
	r->ndays = (size_t)((to_ms - from_ms + 86399999) / 86400000);
	if (r->ndays > NDAYS_MAX)
		r->ndays = NDAYS_MAX;
	r->cap = 1024;
	r->sent = calloc(r->cap, sizeof(*r->sent));
	r->held = calloc(r->cap, sizeof(*r->held));
	r->changes = json_array();
	if (r->sent == NULL || r->held == NULL || r->changes == NULL) {
		report_free(&r);
		return PIUGW_ENOMEM;
	}
	*outp = r;
	return 0;
}

/* See report.h. */
void
report_free(struct report **rp)
{
	struct report *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	for (size_t i = 0; i < r->np; i++) {
		free(r->p[i].answer_ms.v);
		free(r->p[i].wait_ms.v);
		free(r->p[i].day_sent);
		free(r->p[i].day_received);
		json_decref(r->p[i].authorisations);
	}
	free(r->p);
	free(r->sent);
	free(r->held);
	free(r->all_answer_ms.v);
	json_decref(r->changes);
	free(r);
	*rp = NULL;
}

static struct partner *
partner(struct report *r, const char *id)
{
	struct partner *p;

	if (id == NULL || id[0] == '\0')
		return NULL;
	for (size_t i = 0; i < r->np; i++)
		if (strcmp(r->p[i].id, id) == 0)
			return &r->p[i];
	if (r->np == r->pcap) {
		size_t nc = r->pcap ? 2 * r->pcap : 16;
		struct partner *nv = realloc(r->p, nc * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		r->p = nv;
		r->pcap = nc;
	}
	p = &r->p[r->np];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->authorisations = json_array();
	p->day_sent = calloc(r->ndays ? r->ndays : 1, sizeof(uint32_t));
	p->day_received = calloc(r->ndays ? r->ndays : 1, sizeof(uint32_t));
	if (p->day_sent == NULL || p->day_received == NULL || p->authorisations == NULL) {
		free(p->day_sent);
		free(p->day_received);
		json_decref(p->authorisations);
		return NULL;
	}
	r->np++;
	return p;
}

/* The slot of mid in table t (cap slots): its own, or the free one it would take. */
static struct pending_at *
slot(struct pending_at *t, size_t cap, const uint8_t mid[16])
{
	size_t h = 0;

	memcpy(&h, mid, sizeof(h));
	for (size_t i = 0; i < cap; i++) {
		struct pending_at *s = &t[(h + i) & (cap - 1)];
		if (!s->used || memcmp(s->mid, mid, 16) == 0)
			return s;
	}
	return NULL;
}

/* Grow both tables when half full. */
static void
grow(struct report *r)
{
	size_t used = 0, nc = 2 * r->cap;
	struct pending_at *ns, *nh;

	for (size_t i = 0; i < r->cap; i++)
		used += r->sent[i].used || r->held[i].used;
	if (2 * used < r->cap)
		return;
	ns = calloc(nc, sizeof(*ns));
	nh = calloc(nc, sizeof(*nh));
	if (ns == NULL || nh == NULL) {
		free(ns);
		free(nh);
		return;
	}
	for (size_t i = 0; i < r->cap; i++) {
		if (r->sent[i].used)
			*slot(ns, nc, r->sent[i].mid) = r->sent[i];
		if (r->held[i].used)
			*slot(nh, nc, r->held[i].mid) = r->held[i];
	}
	free(r->sent);
	free(r->held);
	r->sent = ns;
	r->held = nh;
	r->cap = nc;
}

static void
remember(struct report *r, struct pending_at *t, const Piugw__AuditRecord *rec)
{
	struct pending_at *s;

	if (rec->message_id.len != 16)
		return;
	if ((s = slot(t, r->cap, rec->message_id.data)) != NULL && !s->used) {
		memcpy(s->mid, rec->message_id.data, 16);
		s->ms = rec->time_ms;
		snprintf(s->peer, sizeof(s->peer), "%s", rec->peer != NULL ? rec->peer : "");
		s->used = true;
	}
	grow(r);
}

/* The request of rec in t, or NULL. */
static struct pending_at *
lookup(struct report *r, struct pending_at *t, const Piugw__AuditRecord *rec)
{
	struct pending_at *s;

	if (rec->message_id.len != 16 ||
	    (s = slot(t, r->cap, rec->message_id.data)) == NULL || !s->used)
		return NULL;
	return s;
}

/*
 * How long since the request of rec was remembered in t (once); < 0:
 * unknown. *peerp (may be NULL): whose request it was.
 */
static double
since(struct report *r, struct pending_at *t, const Piugw__AuditRecord *rec, const char **peerp)
{
	struct pending_at *s;

	if (peerp != NULL)
		*peerp = NULL;
	if (rec->message_id.len != 16 ||
	    (s = slot(t, r->cap, rec->message_id.data)) == NULL || !s->used)
		return -1;
	if (peerp != NULL)
		*peerp = s->peer;
	if (s->done)
		return -1;
	s->done = true;
	return (double)(rec->time_ms - s->ms);
}

static void
count_flow(struct flow *f, const Piugw__AuditRecord *rec)
{
	f->total++;
	if (rec->purpose < NPURPOSE)
		f->purpose[rec->purpose]++;
	if (rec->query_type < NQTYPE)
		f->qtype[rec->query_type]++;
}

static void
count_disclosed(struct flow *f, const Piugw__AuditRecord *rec)
{
	f->records += rec->record_count;
	for (size_t i = 0; i < rec->n_categories; i++)
		if (rec->categories[i] < NCAT)
			f->cat[rec->categories[i]] += rec->record_count;
}

/*
 * Was an answer a hit? Records were disclosed, or (under hit_no_hit, where
 * none are) its record says so (inbound.c: "hit/no-hit answer: hit").
 */
static bool
answered_hit(const Piugw__AuditRecord *rec)
{
	return rec->record_count > 0 ||
	       (rec->detail != NULL && strcmp(rec->detail, "hit/no-hit answer: hit") == 0);
}

static void
change(struct report *r, const Piugw__AuditRecord *rec)
{
	char when[32];
	time_t t = (time_t)(rec->time_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_array_append_new(r->changes,
			      json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "seq",
					(json_int_t)rec->seq, "time", when, "event",
					audit_event_name(rec->event), "peer", rec->peer,
					"agreement", rec->agreement_id, "detail", rec->detail));
}

/* See report.h. */
void
report_add(struct report *r, const Piugw__AuditRecord *rec)
{
	bool in = rec->time_ms >= r->from_ms && rec->time_ms < r->to_ms;
	struct partner *p;
	size_t day;
	double ms;

	/* Requests are remembered from before the period: their answers may fall in it. */
	if (rec->event == PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT)
		remember(r, r->sent, rec);
	if (rec->event == PIUGW__AUDIT_EVENT__AUDIT_PENDING)
		remember(r, r->held, rec);
	if (!in)
		return;
	if (r->records++ == 0)
		r->first_seq = rec->seq;
	r->last_seq = rec->seq;
	day = (size_t)((rec->time_ms - r->from_ms) / 86400000);
	p = partner(r, rec->peer);
	switch (rec->event) {
	case PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT:
		r->checkpoints++;
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT:
		if (p != NULL) {
			count_flow(&p->sent, rec);
			if (day < r->ndays)
				p->day_sent[day]++;
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED:
		if (p == NULL)
			break;
		/*
		 * Pending at the partner (once per query, whatever the polls),
		 * until its final answer comes: outcomes count each query once.
		 */
		{
			struct pending_at *q = lookup(r, r->sent, rec);
			bool is_pending = rec->detail != NULL &&
					  strcmp(rec->detail, "pending at the partner") == 0;
			if (is_pending) {
				if (q == NULL || !q->pending)
					p->sent.pending++;
				if (q != NULL)
					q->pending = true;
				break;
			}
			if (q != NULL && q->pending) {
				q->pending = false;
				if (p->sent.pending > 0)
					p->sent.pending--;
			}
		}
		if (rec->refusal == PIUGW__ERROR_CODE__ERROR_MALFORMED && rec->detail != NULL &&
		    strstr(rec->detail, "refused here") != NULL)
			p->sent.bad_answer++;
		else if (rec->refusal != 0 && rec->refusal < NCODE)
			p->sent.refused[rec->refusal]++;
		else if (rec->detail != NULL && strcmp(rec->detail, "hit") == 0)
			p->sent.hit++;
		else if (rec->detail != NULL && strcmp(rec->detail, "no hit") == 0)
			p->sent.no_hit++;
		else if (rec->detail != NULL && strcmp(rec->detail, "denied") == 0)
			p->sent.denied++;
		if (rec->refusal == 0)
			count_disclosed(&p->sent, rec);
		if ((ms = since(r, r->sent, rec, NULL)) >= 0) {
			times_add(&p->answer_ms, ms);
			times_add(&r->all_answer_ms, ms);
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_ANSWERED:
		if (p != NULL) {
			count_flow(&p->received, rec);
			if (answered_hit(rec))
				p->received.hit++;
			else
				p->received.no_hit++;
			count_disclosed(&p->received, rec);
			if (day < r->ndays)
				p->day_received[day]++;
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_PENDING:
		if (p != NULL) {
			count_flow(&p->received, rec);
			p->received.pending++;
			if (day < r->ndays)
				p->day_received[day]++;
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_APPROVED:
	case PIUGW__AUDIT_EVENT__AUDIT_DENIED: {
		/* A decision's record names the request, whose PENDING record names the partner. */
		const char *who = NULL;
		ms = since(r, r->held, rec, &who);
		if (p == NULL && who != NULL)
			p = partner(r, who);
		if (p == NULL)
			break;
		/* Its outcome is now the decision's (when it was held in the period). */
		if (ms >= 0 && rec->time_ms - (int64_t)ms >= r->from_ms && p->received.pending > 0)
			p->received.pending--;
		if (rec->event == PIUGW__AUDIT_EVENT__AUDIT_APPROVED) {
			p->approved++;
			if (answered_hit(rec))
				p->received.hit++;
			else
				p->received.no_hit++;
			count_disclosed(&p->received, rec);
		} else {
			p->approval_denied++;
			p->received.denied++;
		}
		if (ms >= 0)
			times_add(&p->wait_ms, ms);
		break;
	}
	case PIUGW__AUDIT_EVENT__AUDIT_MASKED:
		if (p != NULL)
			p->masked += rec->record_count;
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_REFUSED:
		if (rec->outbound && rec->query_type != 0 && p != NULL) {
			/* Ours, stopped here by our copy of the terms. */
			count_flow(&p->sent, rec);
			if (rec->refusal < NCODE)
				p->sent.stopped[rec->refusal]++;
			if (day < r->ndays)
				p->day_sent[day]++;
		} else if (!rec->outbound && rec->query_type != 0 && p != NULL) {
			count_flow(&p->received, rec);
			if (rec->refusal < NCODE)
				p->received.refused[rec->refusal]++;
			if (day < r->ndays)
				p->day_received[day]++;
		} else if (rec->refusal < NCODE) {
			r->other_refused[rec->refusal]++;
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_DROPPED:
		r->dropped++;
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_IMPORTED:
		r->imports++;
		r->imported += rec->record_count;
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_PURGED:
		r->purges++;
		r->purged += rec->record_count;
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_ERASED:
		r->erased_segments++;
		change(r, rec);
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_KEY_CHANGED:
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED:
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_PROPOSED:
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_DECIDED:
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_RESTORED:
		change(r, rec);
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_UNMASK_REQUESTED:
		if (p != NULL && rec->refusal == 0) {
			if (rec->outbound)
				p->unmask_asked++;
			else
				p->unmask_asked_by_partner++;
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_UNMASK_DECIDED:
		if (p == NULL || rec->detail == NULL)
			break;
		/* "UM-... approved: authorisation REF (AUTHORITY); ..." (unmask.c) */
		if (strstr(rec->detail, " approved: ") != NULL) {
			p->unmask_approved++;
			p->unmask_records += rec->record_count;
		} else {
			p->unmask_refused++;
		}
		{
			const char *a = strstr(rec->detail, ": authorisation "), *e;
			if (a != NULL && (e = strstr(a + 16, " (")) != NULL && e - (a + 16) <= 128) {
				json_t *ref = json_stringn(a + 16, (size_t)(e - (a + 16)));
				size_t k;
				json_t *x;
				bool seen = false;
				json_array_foreach(p->authorisations, k, x)
					seen |= json_equal(x, ref);
				if (!seen && ref != NULL)
					json_array_append(p->authorisations, ref);
				json_decref(ref);
			}
		}
		break;
	case PIUGW__AUDIT_EVENT__AUDIT_WITNESSED:
		if (p != NULL) {
			p->witnessed++;
			p->witnessed_last = rec->witnessed_seq;
		}
		break;
	default:
		if (rec->event >= PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_PLACED &&
		    rec->event <= PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_ACKNOWLEDGED && p != NULL) {
			size_t k = (size_t)(rec->event - PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_PLACED);
			if (rec->outbound)
				p->lookout_out[k]++;
			else
				p->lookout_events[k]++;
		}
		break;
	}
}

/* See report.h. */
void
report_range(const struct report *r, uint64_t *firstp, uint64_t *lastp)
{
	*firstp = r->records > 0 ? r->first_seq : 0;
	*lastp = r->records > 0 ? r->last_seq : 0;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static json_t *
times_json(const struct times *t)
{
	double *v;
	json_t *o;

	if (t->n == 0)
		return json_pack("{s:i}", "count", 0);
	if ((v = malloc(t->n * sizeof(*v))) == NULL)
		return json_pack("{s:i}", "count", 0);
	memcpy(v, t->v, t->n * sizeof(*v));
	qsort(v, t->n, sizeof(*v), cmp_d);
	o = json_pack("{s:I, s:f, s:f, s:f}", "count", (json_int_t)t->n, "median",
		      v[(t->n - 1) / 2], "p95", v[(size_t)(0.95 * (double)(t->n - 1))], "max",
		      v[t->n - 1]);
	free(v);
	return o;
}

/* {name: n} of the non-zero counts v[i] named by list (vocab) or by wire code. */
static json_t *
named_counts(const uint32_t *v, size_t n, const struct vocab *list)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *name = list != NULL ? vocab_name(list, (int)i)
						: piugw_wire_error_name((enum piugw_wire_error)i);
		if (v[i] > 0 && name != NULL && strcmp(name, "?") != 0)
			json_object_set_new(o, name, json_integer(v[i]));
	}
	return o;
}

static json_t *
flow_json(const struct flow *f, bool sent)
{
	json_t *o = json_pack(
		"{s:i, s:o, s:o, s:{s:i, s:i, s:i, s:i}, s:o, s:i, s:o}", "total", f->total,
		"by_purpose", named_counts(f->purpose, NPURPOSE, vocab_purposes), "by_query_type",
		named_counts(f->qtype, NQTYPE, vocab_query_types), "outcomes", "hit", f->hit,
		"no_hit", f->no_hit, "pending", f->pending, "denied", f->denied,
		sent ? "refused_by_partner" : "refused_here", named_counts(f->refused, NCODE, NULL),
		"records_disclosed", f->records, "records_by_category",
		named_counts(f->cat, NCAT, vocab_categories));
	if (sent) {
		json_object_set_new(o, "stopped_here", named_counts(f->stopped, NCODE, NULL));
		json_object_set_new(json_object_get(o, "outcomes"), "bad_answer",
				    json_integer(f->bad_answer));
	}
	return o;
}

static void
flow_sum(struct flow *t, const struct flow *f)
{
	t->total += f->total;
	for (int i = 0; i < NPURPOSE; i++)
		t->purpose[i] += f->purpose[i];
	for (int i = 0; i < NQTYPE; i++)
		t->qtype[i] += f->qtype[i];
	t->hit += f->hit;
	t->no_hit += f->no_hit;
	t->pending += f->pending;
	t->denied += f->denied;
	t->bad_answer += f->bad_answer;
	for (int i = 0; i < NCODE; i++) {
		t->refused[i] += f->refused[i];
		t->stopped[i] += f->stopped[i];
	}
	t->records += f->records;
	for (int i = 0; i < NCAT; i++)
		t->cat[i] += f->cat[i];
}

static json_t *
lookouts_json(const uint32_t *v)
{
	static const char *const names[12] = {
		"placed", "accepted", "refused", "withdrawn", "expired", "suspended",
		"fired", "held", "decided", "notified", "acknowledged", NULL};
	json_t *o = json_object();

	for (int i = 0; names[i] != NULL; i++)
		if (v[i] > 0)
			json_object_set_new(o, names[i], json_integer(v[i]));
	return o;
}

static void
day_name(int64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* See report.h. */
json_t *
report_json(const struct report *r, const char *gateway, const struct audit_verify_report *vr,
	    const uint8_t head[32], int64_t now_ms)
{
	json_t *o, *partners = json_array(), *daily = json_array(), *hist = json_array();
	struct flow ts, tr;
	char from[11], to[11], gen[32], hex[65];
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	static const double bounds[] = {10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
					60000, 600000, 3600000};

	memset(&ts, 0, sizeof(ts));
	memset(&tr, 0, sizeof(tr));
	day_name(r->from_ms, from);
	day_name(r->to_ms - 1, to);
	gmtime_r(&t, &tm);
	strftime(gen, sizeof(gen), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sodium_bin2hex(hex, sizeof(hex), head, 32);
	for (size_t i = 0; i < r->np; i++) {
		const struct partner *p = &r->p[i];
		flow_sum(&ts, &p->sent);
		flow_sum(&tr, &p->received);
		json_array_append_new(
			partners,
			json_pack("{s:s, s:o, s:o, s:o, s:{s:i, s:i, s:o}, s:i, s:o, s:o, s:{s:i, s:I}}",
				  "partner", p->id, "queries_sent", flow_json(&p->sent, true),
				  "queries_received", flow_json(&p->received, false),
				  "answer_time_ms", times_json(&p->answer_ms), "approvals",
				  "approved", p->approved, "denied", p->approval_denied, "waiting_ms",
				  times_json(&p->wait_ms), "records_disclosed_masked", p->masked,
				  "lookouts_held_for_partner", lookouts_json(p->lookout_events),
				  "lookouts_placed_at_partner", lookouts_json(p->lookout_out),
				  "witnessed", "checkpoints", p->witnessed, "last_seq",
				  (json_int_t)p->witnessed_last));
		json_object_set_new(
			json_array_get(partners, json_array_size(partners) - 1), "unmasking",
			json_pack("{s:i, s:i, s:i, s:i, s:i, s:O}", "asked_by_us", p->unmask_asked,
				  "asked_by_partner", p->unmask_asked_by_partner, "approved",
				  p->unmask_approved, "refused", p->unmask_refused,
				  "records_disclosed", p->unmask_records, "authorisations",
				  p->authorisations));
		for (size_t d = 0; d < r->ndays; d++) {
			char dn[11];
			if (p->day_sent[d] == 0 && p->day_received[d] == 0)
				continue;
			day_name(r->from_ms + (int64_t)d * 86400000, dn);
			json_array_append_new(daily, json_pack("{s:s, s:s, s:i, s:i}", "day", dn,
							       "partner", p->id, "sent",
							       p->day_sent[d], "received",
							       p->day_received[d]));
		}
	}
	for (size_t b = 0; b <= sizeof(bounds) / sizeof(bounds[0]); b++) {
		double lo = b == 0 ? -1 : bounds[b - 1];
		double hi = b < sizeof(bounds) / sizeof(bounds[0]) ? bounds[b] : INFINITY;
		uint32_t n = 0;
		for (size_t k = 0; k < r->all_answer_ms.n; k++)
			n += r->all_answer_ms.v[k] > lo && r->all_answer_ms.v[k] <= hi;
		json_array_append_new(hist, isinf(hi) ? json_pack("{s:s, s:i}", "le_ms", "inf",
								   "count", n)
						      : json_pack("{s:f, s:i}", "le_ms", hi, "count",
								  n));
	}
	o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "schema", REPORT_SCHEMA, "gateway",
		      gateway, "generated_at", gen, "period", "from", from, "to", to);
	json_object_set_new(
		o, "log",
		json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "verdict",
			  vr->verdict == AUDIT_COMPLETE ? "complete and intact"
							: "intact, end not proven (the gateway runs)",
			  "records_in_period", (json_int_t)r->records, "first_seq",
			  (json_int_t)r->first_seq, "last_seq", (json_int_t)r->last_seq, "head_hash",
			  r->records > 0 ? hex : "", "checkpoints_in_period",
			  (json_int_t)r->checkpoints, "log_first_seq", (json_int_t)vr->first_seq,
			  "log_last_seq", (json_int_t)vr->last_seq, "log_last_checkpoint_seq",
			  (json_int_t)vr->last_checkpoint_seq));
	json_object_set_new(o, "totals",
			    json_pack("{s:o, s:o, s:o, s:o, s:i}", "queries_sent",
				      flow_json(&ts, true), "queries_received", flow_json(&tr, false),
				      "answer_time_ms", times_json(&r->all_answer_ms),
				      "other_refusals", named_counts(r->other_refused, NCODE, NULL),
				      "dropped", r->dropped));
	json_object_set_new(o, "partners", partners);
	json_object_set_new(o, "store",
			    json_pack("{s:{s:i, s:i}, s:{s:i, s:i}, s:i}", "imports", "count",
				      r->imports, "records", r->imported, "purges", "count",
				      r->purges, "records", r->purged, "audit_segments_erased",
				      r->erased_segments));
	json_object_set_new(o, "changes", json_deep_copy(r->changes));
	json_object_set_new(o, "daily", daily);
	json_object_set_new(o, "answer_time_histogram", hist);
	return o;
}

/* ---- CSV: one figure a row ---- */

static void
csv_field(FILE *f, const char *s)
{
	bool quote = strpbrk(s, ",\"\n\r") != NULL;

	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Each scalar under o as a row (section, partner, path, value). */
static void
csv_walk(FILE *f, const char *section, const char *partner, const char *path, const json_t *o)
{
	const char *k;
	json_t *v;
	char sub[256], num[64];

	if (json_is_object(o)) {
		json_object_foreach((json_t *)o, k, v) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
			csv_walk(f, section, partner, sub, v);
		}
		return;
	}
	if (json_is_array(o))
		return; /* (arrays are their own sections) */
	csv_field(f, section);
	fputc(',', f);
	csv_field(f, partner);
	fputc(',', f);
	csv_field(f, path);
	fputc(',', f);
	if (json_is_string(o))
		csv_field(f, json_string_value(o));
	else if (json_is_integer(o))
		fprintf(f, "%lld", (long long)json_integer_value(o));
	else if (json_is_real(o)) {
		snprintf(num, sizeof(num), "%.1f", json_real_value(o));
		fputs(num, f);
	} else if (json_is_boolean(o))
		fputs(json_is_true(o) ? "true" : "false", f);
	fputc('\n', f);
}

/* See report.h. */
int
report_write_csv(const json_t *j, FILE *f)
{
	size_t i;
	json_t *v;
	char path[64];

	json_t *head = json_pack("{s:O, s:O, s:O}", "schema", json_object_get(j, "schema"),
				 "gateway", json_object_get(j, "gateway"), "generated_at",
				 json_object_get(j, "generated_at"));

	fprintf(f, "section,partner,figure,value\n");
	csv_walk(f, "report", "", "", head);
	json_decref(head);
	csv_walk(f, "period", "", "", json_object_get(j, "period"));
	csv_walk(f, "log", "", "", json_object_get(j, "log"));
	csv_walk(f, "totals", "", "", json_object_get(j, "totals"));
	json_array_foreach(json_object_get(j, "partners"), i, v)
		csv_walk(f, "partner", json_string_value(json_object_get(v, "partner")), "", v);
	csv_walk(f, "store", "", "", json_object_get(j, "store"));
	json_array_foreach(json_object_get(j, "changes"), i, v) {
		snprintf(path, sizeof(path), "%zu", i + 1);
		csv_walk(f, "change", json_string_value(json_object_get(v, "peer")), path, v);
	}
	json_array_foreach(json_object_get(j, "daily"), i, v) {
		csv_walk(f, "daily", json_string_value(json_object_get(v, "partner")),
			 json_string_value(json_object_get(v, "day")), v);
	}
	json_array_foreach(json_object_get(j, "answer_time_histogram"), i, v) {
		snprintf(path, sizeof(path), "%zu", i + 1);
		csv_walk(f, "answer_time_histogram", "", path, v);
	}
	return ferror(f) ? PIUGW_ESYSTEM : 0;
}

static int
report_cb(const Piugw__AuditRecord *rec, const char *seg, void *ctx)
{
	(void)seg;
	report_add(ctx, rec);
	return 0;
}

/* See report.h. */
int
report_make(const char *dir, const struct keys_public *pub, int64_t from_ms, int64_t to_ms,
	    const char *format, int64_t now_ms, report_verified_fn verified, void *ctx,
	    char **bufp, size_t *lenp, struct audit_verify_report *vr, uint64_t *firstp,
	    uint64_t *lastp, json_t **jsonp, struct diag *d)
{
	struct report *r = NULL;
	json_t *j = NULL;
	uint8_t head[32] = {0};
	FILE *mem = NULL;
	int rc;

	*bufp = NULL;
	*lenp = 0;
	*firstp = *lastp = 0;
	if (jsonp != NULL)
		*jsonp = NULL;
	if (strcmp(format, "html") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return PIUGW_EINVAL;
	/* Only from a log that verifies: the figures are as good as the log. */
	rc = audit_verify(dir, pub, 0, vr, d);
	if (rc != 0 && rc != PIUGW_EAUDITBROKEN)
		return rc;
	if (rc == 0 && verified != NULL)
		verified(ctx, dir, vr, d);
	if (vr->verdict == AUDIT_BROKEN)
		return PIUGW_EAUDITBROKEN;
	if ((rc = report_new(from_ms, to_ms, &r)) != 0 || (rc = audit_scan(dir, report_cb, r, d)) != 0)
		goto out;
	report_range(r, firstp, lastp);
	if (*lastp > 0 && (rc = audit_record_hash(dir, *lastp, head, d)) != 0)
		goto out;
	if ((j = report_json(r, pub->id, vr, head, now_ms)) == NULL ||
	    (mem = open_memstream(bufp, lenp)) == NULL) {
		rc = PIUGW_ENOMEM;
		goto out;
	}
	if (strcmp(format, "json") == 0)
		rc = json_dumpf(j, mem, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 && fputc('\n', mem) != EOF
			     ? 0
			     : PIUGW_ESYSTEM;
	else if (strcmp(format, "csv") == 0)
		rc = report_write_csv(j, mem);
	else
		rc = report_write_html(j, mem);
	if (fclose(mem) != 0 && rc == 0)
		rc = PIUGW_ESYSTEM;
	mem = NULL;
out:
	if (mem != NULL)
		fclose(mem);
	if (rc != 0) {
		free(*bufp);
		*bufp = NULL;
		*lenp = 0;
	}
	if (rc == 0 && jsonp != NULL)
		*jsonp = j;
	else
		json_decref(j);
	report_free(&r);
	return rc;
}
