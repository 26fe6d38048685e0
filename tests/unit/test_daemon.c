/*
 * test_daemon.c: piugwd's pipeline without a socket. The daemon's own files
 * are linked with fake_links.c, which keeps what would be sent and how far
 * the audit log was durable when it left. deploy/examples/mkmesh makes a
 * real example mesh (keys, signed directory, co-signed agreements); XB's
 * gateway is put together as piugwd does it, on the test's clock, and XA's
 * keys seal what XA would send. Each test drives decoded messages through
 * a turn (gw_turn_begin, gw_open_all, inbound_handle, gw_turn_end) and
 * asserts the replies and the audit records.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "agreement.h"
#include "body.h"
#include "fileio.h"
#include "fake_links.h"
#include "gw.h"
#include "piugw/error.h"
#include "testutil.h"
#include <valgrind/valgrind.h>

#define DAY 86400000LL
static int64_t now_ms = 1811851200000LL; /* 2027-06-01 */

static int64_t
test_clock(void)
{
	return now_ms;
}

struct side {
	struct gw g;
	char *etc, *state;
};

struct fx {
	char *dir;
	struct side xb; /* the gateway under test (XB, or XA in the XB -> XA tests) */
	struct side xa; /* the asker: its keys and envelope context only */
	const char *me, *asker;
	const struct policy_agreement *pa; /* the asker's copy of their agreement */
};

static void
side_open(struct fx *f, struct side *s, const char *id, bool whole)
{
	struct gw *g = &s->g;
	struct diag d;
	char *cfg, *p;

	memset(s, 0, sizeof(*s));
	diag_init(&d);
	assert_true(asprintf(&s->etc, "%s/mesh/%s/etc", f->dir, id) > 0);
	assert_true(asprintf(&s->state, "%s/mesh/%s/state", f->dir, id) > 0);
	cfg = tu_path(s->etc, "piugwd.yaml");
	g->config_path = strdup(cfg);
	if (policy_load(cfg, now_ms, &g->policy, &d) != 0 ||
	    keys_secret_load(policy_config(g->policy)->certificate, &g->keys, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("%s: the example mesh does not load", id);
	}
	assert_int_equal(loop_envelope_build(g, &g->env), 0);
	g->turn.deferred_tail = &g->turn.deferred;
	g->turn.api_out_tail = &g->turn.api_out;
	if (whole) {
		struct audit_opts ao = {0};
		uint8_t key[AUDIT_KEY_BYTES];
		p = tu_path(s->state, "audit.key");
		assert_int_equal(audit_key_load(p, true, key, &d), 0);
		free(p);
		/* As piugwd does; valgrind cannot run under a seccomp filter. */
		assert_int_equal(keyholder_start(g->keys, key, 2 * 1024 * 1024, !RUNNING_ON_VALGRIND,
						 &g->kh, &d),
				 0);
		ao.dir = p = tu_path(s->state, "audit");
		ao.signer = g->keys;
		ao.clock_ms = test_clock;
		ao.inline_writes = true;
		assert_int_equal(audit_open(&ao, &g->audit, &d), 0);
		free(p);
		p = tu_path(s->state, "state.db");
		assert_int_equal(state_open(p, &g->state, &d), 0);
		free(p);
		state_batch(g->state, true);
		assert_int_equal(store_open(policy_config(g->policy)->store_file, &g->store, &d), 0);
		assert_int_equal(policy_rates_new(&g->rates), 0);
		assert_int_equal(audit_flush(g->audit), 0);
	}
	free(cfg);
	diag_clear(&d);
}

static void
side_close(struct side *s)
{
	struct gw *g = &s->g;

	while (g->turn.deferred != NULL) {
		struct deferred *x = g->turn.deferred;
		g->turn.deferred = x->next;
		envelope_sealing_free(&x->sealing);
		free(x->env);
		free(x);
	}
	audit_close(&g->audit);
	keyholder_stop(&g->kh);
	lookouts_free(g);
	state_close(&g->state);
	store_close(&g->store);
	policy_rates_free(&g->rates);
	envelope_ctx_free(&g->env);
	keys_secret_free(&g->keys);
	policy_free(&g->policy);
	free(g->early);
	free(g->peers);
	free(g->config_path);
	while (g->out.reqs != NULL) {
		struct outreq *o = g->out.reqs;
		g->out.reqs = o->next;
		free(o->env);
		free(o);
	}
	free(s->etc);
	free(s->state);
}

/* The gateway me under test, asked by asker: XB by XA (automatic), or XA by XB (manual). */
static int
setup_pair(void **state, const char *me, const char *asker)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cmd[2048];
	struct traveller t;
	struct diag d;

	f->dir = tu_tmpdir();
	snprintf(cmd, sizeof(cmd), "PIUGW='%s' '%s' --base-port 39901 '%s/mesh' >'%s/mkmesh.log' 2>&1",
		 PIUGW_BIN, PIUGW_MKMESH, f->dir, f->dir);
	if (system(cmd) != 0)
		fail_msg("mkmesh failed (see %s/mkmesh.log)", f->dir);
	gw_clock_ms = test_clock;
	gw_log_level = GW_WARN;
	f->me = me;
	f->asker = asker;
	side_open(f, &f->xb, me, true);
	side_open(f, &f->xa, asker, false);
	for (size_t i = 0; i < policy_agreement_count(f->xa.g.policy); i++)
		if (strcmp(policy_agreement_at(f->xa.g.policy, i)->peer, me) == 0)
			f->pa = policy_agreement_at(f->xa.g.policy, i);
	assert_non_null(f->pa);
	/* One traveller in XB's store. */
	memset(&t, 0, sizeof(t));
	diag_init(&d);
	t.source = STORE_SOURCE_API;
	t.transferred_at_ms = now_ms - DAY;
	t.v[COL_SURNAME] = (char *)"Muller";
	t.v[COL_GIVEN_NAMES] = (char *)"Anna";
	t.v[COL_DATE_OF_BIRTH] = (char *)"1985-04-12";
	t.v[COL_DOC_NUMBER] = (char *)"P1234567";
	t.v[COL_DOC_ISSUER] = (char *)"XAA";
	t.v[COL_CARRIER] = (char *)"XB";
	t.v[COL_FLIGHT_NUMBER] = (char *)"101";
	t.v[COL_FLIGHT_DATE] = (char *)"2027-05-30";
	assert_int_equal(store_insert(f->xb.g.store, &t, NULL, &d), 0);
	diag_clear(&d);
	fake_sent_clear();
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_pair(state, "XB-PIU", "XA-PIU");
}

static int
setup_manual(void **state)
{
	return setup_pair(state, "XA-PIU", "XB-PIU");
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fake_sent_clear();
	side_close(&f->xb);
	side_close(&f->xa);
	gw_clock_ms = NULL;
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* body from the asker to the gateway under test, sealed under their agreement. */
static uint8_t *
asker_seal(struct fx *f, const uint8_t mid[16], const Piugw__Body *b, int64_t sent_ms,
	   size_t *lenp)
{
	struct envelope_header h;
	uint8_t *body = NULL, *env = NULL;
	size_t blen = 0;

	assert_int_equal(body_pack(b, &body, &blen), 0);
	memset(&h, 0, sizeof(h));
	h.version = ENVELOPE_VERSION;
	strcpy(h.sender, f->asker);
	strcpy(h.recipient, f->me);
	h.has_message_id = true;
	memcpy(h.message_id, mid, 16);
	h.sent_at_ms = sent_ms;
	snprintf(h.agreement_id, sizeof(h.agreement_id), "%s", f->pa->a->id);
	h.has_agreement_hash = true;
	memcpy(h.agreement_hash, f->pa->a->hash, sizeof(h.agreement_hash));
	assert_int_equal(envelope_seal(f->xa.g.env, &h, body, blen, NULL, &env, lenp), 0);
	free(body);
	return env;
}

/* A document query from the asker. */
static uint8_t *
xa_query(struct fx *f, const uint8_t mid[16], const char *doc, int64_t sent_ms, size_t *lenp)
{
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;

	dc.issuing_state = (char *)"XAA";
	dc.number = (char *)doc;
	q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q.document = &dc;
	q.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	q.case_reference = (char *)"IT-1";
	q.justification = (char *)"linked to an ongoing investigation";
	b.kind_case = PIUGW__BODY__KIND_QUERY;
	b.query = &q;
	return asker_seal(f, mid, &b, sent_ms, lenp);
}

/* env as it came from the asker's connection, judged as inbound_recv does. */
static void
received(struct fx *f, struct inmsg *m, const uint8_t *env, size_t len)
{
	struct gw *g = &f->xb.g;

	memset(m, 0, sizeof(*m));
	zmq_msg_init_size(&m->rid, 6);
	memcpy(zmq_msg_data(&m->rid), f->asker, 6);
	zmq_msg_init_size(&m->msg, len);
	memcpy(zmq_msg_data(&m->msg), env, len);
	m->frames = 2;
	m->opts.conn_user_id = f->asker;
	m->opts.now_ms = gw_now_ms();
	m->opts.freshness_ms = (int64_t)policy_config(g->policy)->freshness_seconds * 1000;
	m->admitted = policy_member(g->policy, f->asker);
	m->open = m->admitted;
}

/* One message of the asker's into a turn already begun. */
static void
handle(struct fx *f, const uint8_t *env, size_t len)
{
	struct inmsg m;

	received(f, &m, env, len);
	gw_open_all(&f->xb.g, &m, 1);
	inbound_handle(&f->xb.g, &m);
}

/*
 * One turn of XB's loop with env from XA's connection in it. Returns how
 * many envelopes XB sent in the turn; *earlyp how many of them left before
 * its end (only a repeat of a reply already on record may).
 */
static size_t
turn(struct fx *f, const uint8_t *env, size_t len, size_t *earlyp)
{
	size_t before = fake_nsent;

	gw_turn_begin(&f->xb.g);
	handle(f, env, len);
	*earlyp = fake_nsent - before;
	gw_turn_end(&f->xb.g);
	return fake_nsent - before;
}

/* XB's last reply, opened by XA: its body (body_free) and header. */
static Piugw__Body *
last_reply(struct fx *f, struct envelope_header *hp)
{
	const struct fake_sent *s = &fake_sent[fake_nsent - 1];
	struct envelope_opened o;
	Piugw__Body *b = NULL;

	assert_true(s->router);
	/* Every reply leaves with every record of its turn durable. */
	assert_int_equal(s->durable, s->head);
	assert_int_equal(envelope_open(f->xa.g.env, s->env, s->len, NULL, &o), 0);
	assert_int_equal(body_unpack(o.body, o.body_len, &b), 0);
	*hp = o.header;
	envelope_opened_clear(&o);
	return b;
}

/* A fresh query (id in mid) in a turn of its own, and XB's one reply to it, opened. */
static Piugw__Body *
ask_once(struct fx *f, const char *doc, int64_t sent_ms, uint8_t mid[16],
	 struct envelope_header *hp)
{
	uint8_t *env;
	size_t len, early;

	randombytes_buf(mid, 16);
	env = xa_query(f, mid, doc, sent_ms, &len);
	assert_int_equal(turn(f, env, len, &early), 1);
	assert_int_equal(early, 0); /* it waited for the turn's flush */
	free(env);
	return last_reply(f, hp);
}

struct count_ctx {
	int event;
	unsigned n;
};

static int
count_cb(const Piugw__AuditRecord *r, const char *seg, void *ctx)
{
	struct count_ctx *c = ctx;

	(void)seg;
	if ((int)r->event == c->event)
		c->n++;
	return 0;
}

/* How many records of event XB's audit log holds (on disk). */
static unsigned
records(struct fx *f, int event)
{
	struct count_ctx c = {event, 0};
	char *dir = tu_path(f->xb.state, "audit");
	struct diag d;

	diag_init(&d);
	assert_int_equal(audit_scan(dir, count_cb, &c, &d), 0);
	diag_clear(&d);
	free(dir);
	return c.n;
}

/* A copy of the last message sent (*lenp its length). */
static uint8_t *
last_sent_copy(size_t *lenp)
{
	uint8_t *c;

	*lenp = fake_sent[fake_nsent - 1].len;
	assert_non_null(c = malloc(*lenp));
	memcpy(c, fake_sent[fake_nsent - 1].env, *lenp);
	return c;
}

/* The last message sent is these very bytes. */
static void
last_sent_is(const uint8_t *want, size_t len)
{
	assert_int_equal(fake_sent[fake_nsent - 1].len, len);
	assert_memory_equal(fake_sent[fake_nsent - 1].env, want, len);
}

/* A query answered in its own turn, after its record; the same bytes again, the same reply. */
static void
answered_after_its_record_and_repeated(void **state)
{
	struct fx *f = *state;
	uint8_t mid[16], *env, *first;
	size_t len, first_len, early;
	struct envelope_header h;
	Piugw__Body *b;

	randombytes_buf(mid, sizeof(mid));
	env = xa_query(f, mid, "P1234567", now_ms, &len);
	assert_int_equal(turn(f, env, len, &early), 1);
	assert_int_equal(early, 0); /* the answer waited for the turn's flush */
	b = last_reply(f, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_QUERY_RESULT);
	assert_int_equal(b->query_result->status, PIUGW__RESULT_STATUS__RESULT_HIT);
	assert_int_equal(b->query_result->match_count, 1);
	assert_true(h.has_in_reply_to);
	assert_memory_equal(h.in_reply_to, mid, 16);
	body_free(&b);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 1);
	first = last_sent_copy(&first_len);

	/* A retry (PROTOCOL.md section 8 rule 5): the very same reply, nothing answered again. */
	now_ms += 1000;
	assert_int_equal(turn(f, env, len, &early), 1);
	assert_int_equal(fake_sent[fake_nsent - 1].durable, fake_sent[fake_nsent - 1].head);
	last_sent_is(first, first_len);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 1);
	free(first);
	free(env);

	/* Twice in one turn: answered once (the second is IN_PROGRESS), then the same bytes. */
	{
		struct gw *g = &f->xb.g;
		struct inmsg m[2];
		uint8_t mid2[16];
		uint8_t *e2;
		size_t l2, n0;
		randombytes_buf(mid2, sizeof(mid2));
		e2 = xa_query(f, mid2, "P1234567", now_ms, &l2);
		received(f, &m[0], e2, l2);
		received(f, &m[1], e2, l2);
		n0 = fake_nsent;
		gw_turn_begin(g);
		gw_open_all(g, m, 2);
		inbound_handle(g, &m[0]);
		inbound_handle(g, &m[1]);
		gw_turn_end(g);
		assert_int_equal(fake_nsent, n0 + 1);
		assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 2);
		first = last_sent_copy(&first_len);
		now_ms += 1000;
		assert_int_equal(turn(f, e2, l2, &early), 1);
		last_sent_is(first, first_len);
		free(first);
		free(e2);
	}

	/* Other bytes under the same message id: REPLAYED, about that id. */
	env = xa_query(f, mid, "X0000000", now_ms, &len);
	assert_int_equal(turn(f, env, len, &early), 1);
	assert_int_equal(early, 0);
	b = last_reply(f, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_ERROR);
	assert_int_equal(b->error->code, PIUGW__ERROR_CODE__ERROR_REPLAYED);
	assert_memory_equal(h.in_reply_to, mid, 16);
	body_free(&b);
	free(env);
}

/* On the test's clock: a query ten minutes old is STALE, and says which it was. */
static void
stale_by_the_clock(void **state)
{
	struct fx *f = *state;
	uint8_t mid[16];
	struct envelope_header h;
	Piugw__Body *b = ask_once(f, "P1234567", now_ms - 10 * 60000, mid, &h);

	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_ERROR);
	assert_int_equal(b->error->code, PIUGW__ERROR_CODE__ERROR_STALE);
	assert_memory_equal(h.in_reply_to, mid, 16);
	body_free(&b);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 0);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_REFUSED), 1);
}

/*
 * A turn of many: every reply leaves at the turn's end, all after one
 * flush and signed in one round trip to the key holder (each record's
 * digests in one more); a reply whose record cannot be on disk never
 * leaves as such.
 */
static void
one_flush_for_a_turn(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g;
	struct inmsg m[8];
	uint8_t *env[8];
	size_t len[8];
	uint64_t syncs = audit_syncs(g->audit);
	unsigned long trips = keyholder_round_trips(g->kh);

	for (int i = 0; i < 8; i++) {
		uint8_t mid[16];
		randombytes_buf(mid, sizeof(mid));
		env[i] = xa_query(f, mid, i % 2 ? "P1234567" : "X0000000", now_ms, &len[i]);
		received(f, &m[i], env[i], len[i]);
	}
	gw_turn_begin(g);
	gw_open_all(g, m, 8);
	for (int i = 0; i < 8; i++)
		inbound_handle(g, &m[i]);
	assert_int_equal(fake_nsent, 0);
	gw_turn_end(g);
	assert_int_equal(fake_nsent, 8);
	assert_int_equal(audit_syncs(g->audit), syncs + 1);
	assert_int_equal(keyholder_round_trips(g->kh), trips + 8 + 1);
	for (size_t i = 0; i < fake_nsent; i++)
		assert_int_equal(fake_sent[i].durable, fake_sent[i].head);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 8);
	for (int i = 0; i < 8; i++)
		free(env[i]);
}

/*
 * Under approval: the asker is told PENDING at once, on record; an approver
 * sees the request, approves; the reply that says "approved" waits for its
 * record; the asker's poll then gets the answer, within what the terms
 * allow (hit/no-hit, no record).
 */
static void
approved_then_collected(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g;
	uint8_t mid[16], pmid[16], *env;
	size_t len, early;
	struct envelope_header h;
	Piugw__Body *b, pb = PIUGW__BODY__INIT;
	Piugw__Poll poll = PIUGW__POLL__INIT;
	Piugw__LocalReply lr = PIUGW__LOCAL_REPLY__INIT;
	Piugw__LocalDecision dec = PIUGW__LOCAL_DECISION__INIT;
	char ref[64];
	uint64_t seq = 0;

	b = ask_once(f, "P1234567", now_ms, mid, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_QUERY_RESULT);
	assert_int_equal(b->query_result->status, PIUGW__RESULT_STATUS__RESULT_PENDING);
	snprintf(ref, sizeof(ref), "%s", b->query_result->approval_ref);
	assert_true(strncmp(ref, "AP-", 3) == 0);
	body_free(&b);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_PENDING), 1);

	inbound_pending_list(g, &lr);
	assert_int_equal(lr.kind_case, PIUGW__LOCAL_REPLY__KIND_PENDING);
	assert_int_equal(lr.pending->n_items, 1);
	piugw__pending_reply__free_unpacked(lr.pending, NULL);

	/* The decision, in a turn, as the local API makes it: on record, then told. */
	dec.approval_ref = ref;
	dec.reason = (char *)"checked";
	memset(&lr, 0, sizeof(lr));
	piugw__local_reply__init(&lr);
	fake_sent_clear();
	gw_turn_begin(g);
	inbound_decide(g, true, &dec, 0, &lr, &seq);
	assert_int_equal(lr.kind_case, PIUGW__LOCAL_REPLY__KIND_DECISION);
	assert_int_equal(lr.decision->status, PIUGW__RESULT_STATUS__RESULT_HIT);
	assert_true(seq > audit_durable(g->audit)); /* not yet on disk: not yet told */
	reply_local_durable(g, seq, (const uint8_t *)"caller\0\0\0\0\0\0\0\1", 14, &lr);
	assert_int_equal(fake_nsent, 0);
	gw_turn_end(g);
	assert_int_equal(fake_nsent, 1);
	assert_true(fake_sent[0].api);
	assert_true(seq <= fake_sent[0].durable); /* told once the decision is on disk */
	piugw__decision_reply__free_unpacked(lr.decision, NULL);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_APPROVED), 1);

	/* Deciding twice is refused. */
	memset(&lr, 0, sizeof(lr));
	piugw__local_reply__init(&lr);
	inbound_decide(g, true, &dec, 0, &lr, &seq);
	assert_int_equal(lr.kind_case, PIUGW__LOCAL_REPLY__KIND_ERROR);
	assert_int_equal(seq, 0);
	piugw__local_error__free_unpacked(lr.error, NULL);

	/* The asker's poll collects it: hit/no-hit under these terms. */
	now_ms += 5000;
	randombytes_buf(pmid, sizeof(pmid));
	poll.query_message_id.data = mid;
	poll.query_message_id.len = sizeof(mid);
	poll.approval_ref = ref;
	pb.kind_case = PIUGW__BODY__KIND_POLL;
	pb.poll = &poll;
	env = asker_seal(f, pmid, &pb, now_ms, &len);
	assert_int_equal(turn(f, env, len, &early), 1);
	free(env);
	b = last_reply(f, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_QUERY_RESULT);
	assert_int_equal(b->query_result->status, PIUGW__RESULT_STATUS__RESULT_HIT);
	assert_int_equal(b->query_result->disclosure, PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT);
	assert_int_equal(b->query_result->n_matches, 0);
	assert_memory_equal(h.in_reply_to, pmid, 16);
	body_free(&b);
}

/*
 * The agreement's rate, on the test's clock: 60 an hour from XB to XA. The
 * 61st in the hour is RATE_LIMITED (and recorded); an hour on, one passes.
 */
static void
rate_limited_by_the_hour(void **state)
{
	struct fx *f = *state;
	uint8_t mid[16];
	struct envelope_header h;
	Piugw__Body *b;

	for (int i = 0; i < 60; i++) {
		b = ask_once(f, "P1234567", now_ms, mid, &h);
		if (b->kind_case != PIUGW__BODY__KIND_QUERY_RESULT)
			fail_msg("query %d of the hour refused: %s", i + 1, b->error->detail);
		body_free(&b);
		fake_sent_clear();
	}
	b = ask_once(f, "P1234567", now_ms, mid, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_ERROR);
	assert_int_equal(b->error->code, PIUGW__ERROR_CODE__ERROR_RATE_LIMITED);
	body_free(&b);
	now_ms += 3600 * 1000 + 1000;
	b = ask_once(f, "P1234567", now_ms, mid, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_QUERY_RESULT);
	body_free(&b);
}

/*
 * The asking side's fixture: its partners ids (n of them, connected), and
 * an analyst's document query to `to` in lq (q and dc filled).
 */
static void
local_query(struct gw *g, const char *const *ids, size_t n, const char *to,
	    Piugw__LocalQuery *lq, Piugw__Query *q, Piugw__DocumentCriteria *dc)
{
	g->peers = calloc(n, sizeof(*g->peers));
	g->npeers = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(g->peers[i].id, sizeof(g->peers[i].id), "%s", ids[i]);
		g->peers[i].connected = true;
	}
	dc->issuing_state = (char *)"XAA";
	dc->number = (char *)"P1234567";
	q->criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q->document = dc;
	q->purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	q->case_reference = (char *)"IT-7";
	q->justification = (char *)"linked to an ongoing investigation";
	lq->to = (char *)to;
	lq->query = q;
}

/*
 * The asking side: a query to a partner that never answers. It leaves at
 * once, on record; at its deadline (the test's clock) the caller is told
 * TIMEOUT, after the retries the terms' interval allows.
 */
static void
a_silent_partner_times_out(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g; /* XA, in this fixture */
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	Piugw__LocalReply *lr;
	static const uint8_t caller[] = "caller\0\0\0\0\0\0\0\2";
	size_t sent;

	static const char *const ids[] = {"XB-PIU"};

	local_query(g, ids, 1, "XB-PIU", &lq, &q, &dc);
	fake_sent_clear();
	gw_turn_begin(g);
	outbound_query(g, caller, sizeof(caller) - 1, 0, &lq);
	gw_turn_end(g);
	assert_int_equal(fake_nsent, 1); /* the query went out */
	assert_false(fake_sent[0].api);
	assert_false(fake_sent[0].router);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT), 0); /* not yet flushed */
	now_ms += GW_FLUSH_MS;
	gw_turn_begin(g);
	outbound_timers(g, now_ms);
	gw_turn_end(g);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT), 1); /* within 10 ms */

	/* Up to the deadline: re-sent at the retry interval, the caller not told. */
	for (int i = 0; i < 40; i++) {
		now_ms += 1000;
		gw_turn_begin(g);
		outbound_timers(g, now_ms);
		gw_turn_end(g);
		if (fake_nsent > 0 && fake_sent[fake_nsent - 1].api)
			break;
	}
	/* Retries are the very same envelope (Hellos of the witness round go too). */
	sent = 0;
	for (size_t i = 0; i + 1 < fake_nsent; i++) {
		assert_false(fake_sent[i].api);
		if (fake_sent[i].len == fake_sent[0].len &&
		    memcmp(fake_sent[i].env, fake_sent[0].env, fake_sent[0].len) == 0)
			sent++;
	}
	assert_true(sent > 1);
	assert_true(fake_sent[fake_nsent - 1].api);
	lr = piugw__local_reply__unpack(NULL, fake_sent[fake_nsent - 1].len,
					fake_sent[fake_nsent - 1].env);
	assert_non_null(lr);
	assert_int_equal(lr->kind_case, PIUGW__LOCAL_REPLY__KIND_QUERY);
	assert_int_equal(lr->query->n_answers, 1);
	assert_int_equal(lr->query->answers[0]->outcome, PIUGW__OUTCOME__OUTCOME_TIMEOUT);
	{
		uint64_t tag; /* the request's tag, carried back (GW_CALLER_MAX) */
		memcpy(&tag, caller + 6, sizeof(tag));
		assert_int_equal(lr->tag, tag);
	}
	piugw__local_reply__free_unpacked(lr, NULL);
}

/*
 * A query to every partner: each envelope signed and the query's digests
 * made in one round trip to the key holder, however many partners; each
 * partner gets its own envelope, each on record with the same digests.
 * (Before: a signature and the digests for each partner, 2 round trips a
 * partner.)
 */
static void
a_query_to_all_takes_one_round_trip(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g; /* XA, in this fixture */
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	static const uint8_t caller[] = "caller\0\0\0\0\0\0\0\3";
	static const char *const ids[] = {"XB-PIU", "XC-PIU"};
	unsigned long trips;

	local_query(g, ids, 2, "all", &lq, &q, &dc);
	fake_sent_clear();
	trips = keyholder_round_trips(g->kh);
	gw_turn_begin(g);
	outbound_query(g, caller, sizeof(caller) - 1, 0, &lq);
	assert_int_equal(keyholder_round_trips(g->kh), trips + 1);
	gw_turn_end(g);
	assert_int_equal(fake_nsent, 2); /* one envelope to each */
	assert_false(fake_sent[0].len == fake_sent[1].len &&
		     memcmp(fake_sent[0].env, fake_sent[1].env, fake_sent[0].len) == 0);
	now_ms += GW_FLUSH_MS;
	gw_turn_begin(g);
	outbound_timers(g, now_ms);
	gw_turn_end(g);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT), 2);
	outbound_abort_all(g, "the test ends"); /* the caller is told, as at a stop */
}

/*
 * A reload in the middle of a turn that takes the XA-XB agreement away:
 * what was answered before it still leaves (sealed, on record), what comes
 * after is dropped unanswered, and the log says the agreement went.
 */
static void
reload_in_the_middle_of_a_turn(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g;
	uint8_t mid[16], mid2[16], *env, *env2;
	size_t len, len2;
	struct envelope_header h;
	Piugw__Body *b;
	char *p;

	randombytes_buf(mid, sizeof(mid));
	randombytes_buf(mid2, sizeof(mid2));
	env = xa_query(f, mid, "P1234567", now_ms, &len);
	env2 = xa_query(f, mid2, "P1234567", now_ms, &len2);
	gw_turn_begin(g);
	handle(f, env, len);
	p = tu_path(f->xb.etc, "agreements/XA-XB.yaml");
	assert_int_equal(unlink(p), 0);
	free(p);
	loop_reload(g);
	assert_false(policy_admitted(g->policy, "XA-PIU", now_ms));
	handle(f, env2, len2);
	assert_int_equal(fake_nsent, 0);
	gw_turn_end(g);
	/* The first one's answer; the second refused: no agreement any more. */
	assert_int_equal(fake_nsent, 2);
	b = last_reply(f, &h);
	assert_int_equal(b->kind_case, PIUGW__BODY__KIND_ERROR);
	assert_int_equal(b->error->code, PIUGW__ERROR_CODE__ERROR_NO_AGREEMENT);
	assert_memory_equal(h.in_reply_to, mid2, 16);
	body_free(&b);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_ANSWERED), 1);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_REFUSED), 1);
	assert_int_equal(records(f, PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED), 1);
	free(env);
	free(env2);
}

/*
 * The proposer's side of an agreement proposed over the mesh (proposals.c):
 * an ACCEPTED whose signature is not the partner's over the bytes changes
 * nothing (a bad answer: the proposal stays, nothing installed, nothing
 * marked failed); one that verifies installs the agreement with both
 * signatures and asks for a reload.
 */
static void
an_acceptance_is_checked_before_it_is_installed(void **state)
{
	struct fx *f = *state;
	struct gw *g = &f->xb.g;
	const char *const parties[2] = {"XA-PIU", "XB-PIU"};
	Piugw__LocalPropose lp = PIUGW__LOCAL_PROPOSE__INIT;
	Piugw__AgreementResponse ar = PIUGW__AGREEMENT_RESPONSE__INIT;
	Piugw__Body b = PIUGW__BODY__INIT;
	Piugw__AuditRecord rec = PIUGW__AUDIT_RECORD__INIT;
	struct state_proposal row;
	struct envelope_header h;
	struct agreement *a = NULL;
	struct diag d;
	uint8_t *tmpl = NULL, mine[64], theirs[64];
	size_t tlen = 0, len = 0;
	char *text = NULL, *path, why[600];
	bool send = false;

	diag_init(&d);
	path = tu_path(f->xb.etc, "agreements/XA-XB.yaml");
	assert_int_equal(fileio_read(path, 1 << 20, 0, &tmpl, &tlen, &d), 0);
	free(path);
	assert_int_equal(agreement_from_template((char *)tmpl, tlen, "t", "XA-XB-NEW", parties,
						 "2027-01-01", "2027-12-31", &text, &len, &d),
			 0);
	fileio_free(tmpl, tlen, 0);
	assert_int_equal(agreement_parse(text, len, "new", &a, &d), 0);
	/* The administrator's key: the gateway's own copy went to its key holder. */
	struct keys_secret *admin = NULL;
	assert_int_equal(keys_secret_load(policy_config(g->policy)->certificate, &admin, &d), 0);
	assert_int_equal(agreement_sign(a, admin, mine), 0);
	keys_secret_free(&admin);
	assert_int_equal(agreement_sign(a, f->xa.g.keys, theirs), 0);
	lp.agreement.data = (uint8_t *)text;
	lp.agreement.len = len;
	lp.signature.data = mine;
	lp.signature.len = sizeof(mine);
	assert_int_equal(proposals_make(g, &lp, &row, &send, why, sizeof(why)), 0);
	assert_true(send);
	assert_int_equal(row.state, STATE_PROPOSAL_SENDING);
	char ref[STATE_REF_MAX + 1];
	snprintf(ref, sizeof(ref), "%s", row.ref);
	state_proposal_clear(&row);

	memset(&h, 0, sizeof(h));
	snprintf(h.agreement_id, sizeof(h.agreement_id), "XA-XB-NEW");
	memcpy(h.agreement_hash, a->hash, sizeof(h.agreement_hash));
	h.has_agreement_hash = true;
	ar.status = PIUGW__PROPOSAL_STATUS__PROPOSAL_ACCEPTED;
	ar.reference = (char *)"AG-000000000001";
	b.kind_case = PIUGW__BODY__KIND_AGREEMENT_RESPONSE;
	b.agreement_response = &ar;
	/* Our own signature where theirs should be: not theirs over these bytes. */
	ar.signature.data = mine;
	ar.signature.len = sizeof(mine);
	assert_int_equal(proposals_answered(g, ref, &h, &b, &row, &rec, why, sizeof(why)),
			 PIUGW_EBADSIG);
	assert_int_equal(rec.event, PIUGW__AUDIT_EVENT__AUDIT_DROPPED);
	assert_non_null(strstr(why, "bad answer: XA-PIU's signature does not verify"));
	state_proposal_clear(&row);
	assert_int_equal(state_proposal_get(g->state, ref, &row), 0);
	assert_int_equal(row.state, STATE_PROPOSAL_SENDING);
	assert_false(row.has_responder_sig);
	state_proposal_clear(&row);
	path = tu_path(f->xb.etc, "agreements/XA-XB-NEW.yaml");
	assert_int_equal(access(path, F_OK), -1);
	assert_false(g->reload_wanted);

	/* Theirs: installed, both signatures beside it, a reload asked for. */
	ar.signature.data = theirs;
	assert_int_equal(proposals_answered(g, ref, &h, &b, &row, &rec, why, sizeof(why)), 0);
	assert_int_equal(rec.event, PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_DECIDED);
	assert_int_equal(row.state, STATE_PROPOSAL_ACCEPTED);
	assert_string_equal(row.installed, path);
	state_proposal_clear(&row);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(g->reload_wanted);
	struct policy_agreement pa;
	memset(&pa, 0, sizeof(pa));
	assert_int_equal(policy_agreement_load(policy_config(g->policy), policy_directory(g->policy),
					       path, &pa, &d), 0);
	assert_true(pa.valid_by[0] && pa.valid_by[1]);
	policy_agreement_clear(&pa);
	free(path);
	agreement_free(&a);
	free(text);
	diag_clear(&d);
}

/*
 * The key holder and the metrics process share stderr with the daemon: a
 * log line is one write, never cut by another process's. Four processes
 * log 2,000 lines each into one pipe at once; every line read back is
 * whole. (Made of several writes, as gw_log's lines were, lines came out
 * cut in each of three runs on a 2-core machine.)
 */
static void
log_lines_stay_whole_across_processes(void **state)
{
	enum { PROCS = 4, LINES = 2000 };
	int fds[2], saved = dup(STDERR_FILENO), st;
	pid_t kids[PROCS];
	FILE *in;
	char *line = NULL;
	size_t cap = 0, whole = 0;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	for (int p = 0; p < PROCS; p++) {
		if ((kids[p] = fork()) == 0) {
			close(fds[0]);
			dup2(fds[1], STDERR_FILENO);
			for (int i = 0; i < LINES; i++)
				gw_log(GW_WARN, "test_line", "process=%d line=%d pad=%s", p, i,
				       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			_exit(0);
		}
		assert_true(kids[p] > 0);
	}
	close(fds[1]);
	assert_non_null(in = fdopen(fds[0], "r"));
	while ((n = getline(&line, &cap, in)) > 0) {
		int p, i;
		char end;
		const char *at = strstr(line, " level=warn event=test_line ");
		/* The time, then exactly one line of one process. */
		assert_non_null(at);
		assert_null(strstr(at + 7, "level="));
		assert_int_equal(sscanf(at, " level=warn event=test_line process=%d line=%d pad=%*[x]%c",
					&p, &i, &end),
				 3);
		assert_int_equal(end, '\n');
		whole++;
	}
	fclose(in);
	free(line);
	for (int p = 0; p < PROCS; p++)
		assert_int_equal(waitpid(kids[p], &st, 0), kids[p]);
	close(saved);
	assert_int_equal(whole, PROCS * LINES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_lines_stay_whole_across_processes),
		cmocka_unit_test_setup_teardown(a_query_to_all_takes_one_round_trip, setup_manual,
						teardown),
		cmocka_unit_test_setup_teardown(answered_after_its_record_and_repeated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(stale_by_the_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(one_flush_for_a_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(approved_then_collected, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(rate_limited_by_the_hour, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(a_silent_partner_times_out, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(reload_in_the_middle_of_a_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(an_acceptance_is_checked_before_it_is_installed, setup,
						teardown),
	};

	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
