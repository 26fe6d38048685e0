/*
 * rogue.c: a partner gateway that misbehaves on purpose, for the
 * integration tests. It speaks as the gateway whose piugwd.yaml it is
 * given (its keys, its directory) over a real CURVE connection, crafts one
 * envelope per case, and prints what the target answered:
 *
 *   ERROR <CODE> <detail>     a sealed, signed Error, then a line
 *   IN_REPLY_TO ok|none|other  whether it names the message sent
 *   RESULT <status> <n>       a QueryResult
 *   HELLO <n agreements>      a HelloReply
 *   PROPOSAL <status> <ref>   an AgreementResponse (1 held, 2 accepted, 3 declined)
 *   NO_REPLY                  nothing before the deadline
 *   REFUSED_AT_HANDSHAKE      ZAP refused our key
 *
 *   rogue -c PIUGWD.YAML --to ID CASE [--save F | --load F] [--count N]
 *
 * propose --load AGREEMENT: an AgreementProposal of that file, signed by us
 * (propose-bad-signature: the signature of other bytes); the header names
 * the file's id and hash.
 *
 * As a responder instead (serve-MODE), it binds its gateway's endpoint
 * (that gateway stopped) and answers ID's next --count queries badly,
 * Hellos properly; it prints LISTENING once bound and ANSWERED n at the end:
 *   serve-hello-reply     a HelloReply to a Query
 *   serve-over-disclose   a HIT whose match carries pnr.booking and pnr.payment,
 *                         the result declaring only api.identity, api.document
 *   serve-other-agreement a NO_HIT whose header names another agreement hash
 *   serve-stale           a NO_HIT dated ten minutes ago
 *   serve-escapes         an Error whose detail holds an escape sequence and a
 *                         line break (a forged line on the analyst's terminal)
 *
 * Test-only; never installed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "agreement.h"
#include "body.h"
#include "body.pb-c.h"
#include "envelope.h"
#include "envelope.pb-c.h"
#include "piugw/error.h"
#include "policy.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct rogue {
	struct policy *pol;
	struct keys_secret *keys;
	struct envelope_ctx *env;
	const struct directory_member *target;
	const struct policy_agreement *pa;
	void *ctx, *sock, *mon;
};

static int
copy_sk(const uint8_t sk[32], void *out)
{
	memcpy(out, sk, 32);
	return 0;
}

static int
connect_to(struct rogue *r, const struct keys_secret *k)
{
	const struct keys_public *me = keys_secret_public(k);
	uint8_t sk[32];
	int linger = 0;

	r->sock = zmq_socket(r->ctx, ZMQ_DEALER);
	keys_with_transport_secret(k, copy_sk, sk);
	zmq_setsockopt(r->sock, ZMQ_CURVE_SERVERKEY, r->target->keys.transport_pk, 32);
	zmq_setsockopt(r->sock, ZMQ_CURVE_PUBLICKEY, me->transport_pk, 32);
	zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, sk, 32);
	zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof(linger));
	sodium_memzero(sk, sizeof(sk));
	zmq_socket_monitor(r->sock, "inproc://rogue-mon",
			   ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
	r->mon = zmq_socket(r->ctx, ZMQ_PAIR);
	zmq_connect(r->mon, "inproc://rogue-mon");
	if (zmq_connect(r->sock, r->target->endpoint) != 0)
		return -1;
	/* Wait for the handshake's outcome: an event, not a sleep. */
	for (;;) {
		zmq_msg_t m;
		uint16_t ev = 0;
		zmq_pollitem_t it = {.socket = r->mon, .events = ZMQ_POLLIN};
		if (zmq_poll(&it, 1, 10000) <= 0)
			return -1;
		zmq_msg_init(&m);
		zmq_msg_recv(&m, r->mon, 0);
		if (zmq_msg_size(&m) >= 2)
			memcpy(&ev, zmq_msg_data(&m), 2);
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		zmq_msg_recv(&m, r->mon, 0); /* endpoint frame */
		zmq_msg_close(&m);
		if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			return 0;
		if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
			return 1;
	}
}

/* The message id in env's header, if the header parses that far. */
static bool
sent_id(const uint8_t *env, size_t len, uint8_t mid[16])
{
	Piugw__Envelope *e = piugw__envelope__unpack(NULL, len, env);
	Piugw__Header *h = e ? piugw__header__unpack(NULL, e->header.len, e->header.data) : NULL;
	bool ok = h != NULL && h->message_id.len == 16;

	if (ok)
		memcpy(mid, h->message_id.data, 16);
	if (h != NULL)
		piugw__header__free_unpacked(h, NULL);
	if (e != NULL)
		piugw__envelope__free_unpacked(e, NULL);
	return ok;
}

/* Send env (with more, a second frame after it); print what came back. */
static int
exchange_frames(struct rogue *r, const uint8_t *env, size_t len, const char *save_reply,
		const char *more);

/* Send env; print what came back (and save the reply bytes to save_reply). */
static int
exchange(struct rogue *r, const uint8_t *env, size_t len, const char *save_reply)
{
	return exchange_frames(r, env, len, save_reply, NULL);
}

static int
exchange_frames(struct rogue *r, const uint8_t *env, size_t len, const char *save_reply,
		const char *more)
{
	uint8_t mid[16];
	bool have_mid = sent_id(env, len, mid);
	zmq_pollitem_t it = {.socket = r->sock, .events = ZMQ_POLLIN};
	zmq_msg_t m;
	struct envelope_opened o;
	struct envelope_open_opts opts = {0};
	Piugw__Body *b = NULL;
	int rc;

	if (zmq_send(r->sock, env, len, more != NULL ? ZMQ_SNDMORE : 0) != (int)len ||
	    (more != NULL && zmq_send(r->sock, more, strlen(more), 0) < 0)) {
		printf("SEND_FAILED\n");
		return 1;
	}
	if (zmq_poll(&it, 1, 5000) <= 0) {
		printf("NO_REPLY\n");
		return 0;
	}
	zmq_msg_init(&m);
	zmq_msg_recv(&m, r->sock, 0);
	if (save_reply != NULL) {
		FILE *f = fopen(save_reply, "wb");
		if (f != NULL) {
			fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), f);
			fclose(f);
		}
	}
	memset(&o, 0, sizeof(o));
	opts.conn_user_id = r->target->keys.id;
	rc = envelope_open(r->env, zmq_msg_data(&m), zmq_msg_size(&m), &opts, &o);
	if (rc != 0 || body_unpack(o.body, o.body_len, &b) != 0) {
		printf("UNREADABLE_REPLY %s\n", piugw_error_name(rc));
	} else if (b->kind_case == PIUGW__BODY__KIND_ERROR) {
		printf("ERROR %s %s\n", piugw_wire_error_name((enum piugw_wire_error)b->error->code),
		       b->error->detail);
		/* PROTOCOL.md section 11: it names the request whenever its header could be read. */
		printf("IN_REPLY_TO %s\n", !o.header.has_in_reply_to ? "none"
					  : have_mid && memcmp(o.header.in_reply_to, mid, 16) == 0
					      ? "ok"
					      : "other");
	} else if (b->kind_case == PIUGW__BODY__KIND_QUERY_RESULT) {
		printf("RESULT %d %u %s\n", (int)b->query_result->status,
		       b->query_result->match_count, b->query_result->approval_ref);
	} else if (b->kind_case == PIUGW__BODY__KIND_HELLO_REPLY) {
		printf("HELLO %zu\n", b->hello_reply->n_agreements);
	} else if (b->kind_case == PIUGW__BODY__KIND_AGREEMENT_RESPONSE) {
		printf("PROPOSAL %d %s\n", (int)b->agreement_response->status,
		       b->agreement_response->reference);
	} else if (b->kind_case == PIUGW__BODY__KIND_NOTIFICATION_ACK) {
		printf("ACK %s\n", b->notification_ack->notification_id);
	} else if (b->kind_case == PIUGW__BODY__KIND_LOOKOUT_REPLY) {
		printf("LOOKOUT %d %s\n", (int)b->lookout_reply->status,
		       b->lookout_reply->reference);
	} else {
		printf("OTHER %d\n", (int)b->kind_case);
	}
	fflush(stdout);
	body_free(&b);
	envelope_opened_clear(&o);
	zmq_msg_close(&m);
	return 0;
}

static void
header(struct rogue *r, struct envelope_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	snprintf(h->sender, sizeof(h->sender), "%s", policy_config(r->pol)->id);
	snprintf(h->recipient, sizeof(h->recipient), "%s", r->target->keys.id);
	randombytes_buf(h->message_id, sizeof(h->message_id));
	h->sent_at_ms = now_ms();
	snprintf(h->agreement_id, sizeof(h->agreement_id), "%s", r->pa->a->id);
	h->has_agreement_hash = true;
	memcpy(h->agreement_hash, r->pa->a->hash, 32);
}

/* A valid document query (purpose terrorism, with a justification). */
static void
query_body(Piugw__Body *b, Piugw__Query *q, Piugw__DocumentCriteria *d)
{
	piugw__body__init(b);
	piugw__query__init(q);
	piugw__document_criteria__init(d);
	d->number = (char *)"P1234567";
	d->issuing_state = (char *)"XAA";
	q->purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	q->case_reference = (char *)"ROGUE-1";
	q->justification = (char *)"integration test";
	q->criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q->document = d;
	b->kind_case = PIUGW__BODY__KIND_QUERY;
	b->query = q;
}

static int
seal(struct envelope_ctx *env, const struct envelope_header *h, const Piugw__Body *b,
     uint8_t **out, size_t *len)
{
	uint8_t *bb = NULL;
	size_t bl = 0;
	int rc = body_pack(b, &bb, &bl);

	if (rc == 0)
		rc = envelope_seal(env, h, bb, bl, NULL, out, len);
	free(bb);
	return rc;
}

/*
 * Rewrite the (authenticated, not encrypted) header of a sealed envelope:
 * what an implementation with other ideas would send. The receiver must
 * judge the header before it tries to decrypt.
 */
static void
rewrite_header(uint8_t **env, size_t *len, uint32_t version, const char *sender, bool zero_time,
	       size_t nonce_len)
{
	Piugw__Envelope *e = piugw__envelope__unpack(NULL, *len, *env);
	Piugw__Header *h = e ? piugw__header__unpack(NULL, e->header.len, e->header.data) : NULL;
	uint8_t *hb, *nb;
	size_t hl, nl;

	if (h == NULL) {
		if (e != NULL)
			piugw__envelope__free_unpacked(e, NULL);
		return;
	}
	if (version != 0)
		h->version = version;
	if (sender != NULL) {
		free(h->sender);
		h->sender = strdup(sender);
	}
	if (zero_time)
		h->sent_at_ms = 0;
	if (nonce_len != 0 && nonce_len < e->nonce.len)
		e->nonce.len = nonce_len;
	hl = piugw__header__get_packed_size(h);
	hb = malloc(hl);
	piugw__header__pack(h, hb);
	free(e->header.data);
	e->header.data = hb;
	e->header.len = hl;
	nl = piugw__envelope__get_packed_size(e);
	nb = malloc(nl);
	piugw__envelope__pack(e, nb);
	free(*env);
	*env = nb;
	*len = nl;
	piugw__header__free_unpacked(h, NULL);
	piugw__envelope__free_unpacked(e, NULL);
}

static uint8_t *
load_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n > 0 && (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Seal body as a reply to the request opened in o, and send it to rid on sock. */
static void
serve_reply(struct rogue *r, void *sock, zmq_msg_t *rid, const struct envelope_opened *o,
	    const Piugw__Body *body, bool other_hash, int64_t shift_ms)
{
	struct envelope_header h;
	uint8_t *env = NULL;
	size_t len = 0;

	memset(&h, 0, sizeof(h));
	h.version = 1;
	snprintf(h.sender, sizeof(h.sender), "%s", policy_config(r->pol)->id);
	snprintf(h.recipient, sizeof(h.recipient), "%s", o->header.sender);
	randombytes_buf(h.message_id, sizeof(h.message_id));
	h.has_in_reply_to = true;
	memcpy(h.in_reply_to, o->header.message_id, 16);
	h.sent_at_ms = now_ms() + shift_ms;
	snprintf(h.agreement_id, sizeof(h.agreement_id), "%s", o->header.agreement_id);
	h.has_agreement_hash = o->header.has_agreement_hash;
	memcpy(h.agreement_hash, o->header.agreement_hash, 32);
	if (other_hash)
		randombytes_buf(h.agreement_hash, 32);
	if (seal(r->env, &h, body, &env, &len) == 0) {
		zmq_send(sock, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE);
		zmq_send(sock, env, len, 0);
	}
	free(env);
}

/* serve-MODE: answer the next count queries from r->target badly (see the top). */
static int
serve(struct rogue *r, const char *mode, unsigned count)
{
	void *sock = zmq_socket(r->ctx, ZMQ_ROUTER);
	int one = 1, linger = 2000; /* the last answer leaves before the socket closes */
	uint8_t sk[32];
	unsigned answered = 0;
	int64_t started = now_ms(), until = started + 30000; /* bounded: 30 s at the most */

	keys_with_transport_secret(r->keys, copy_sk, sk);
	zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sk, 32);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	sodium_memzero(sk, sizeof(sk));
	if (zmq_bind(sock, policy_config(r->pol)->listen) != 0) {
		printf("BIND_FAILED %s\n", zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return 1;
	}
	printf("LISTENING\n");
	fflush(stdout);
	while (answered < count && now_ms() < until) {
		zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
		zmq_msg_t rid, msg;
		struct envelope_opened o;
		Piugw__Body *req = NULL;
		if (zmq_poll(&it, 1, 500) <= 0)
			continue;
		zmq_msg_init(&rid);
		zmq_msg_init(&msg);
		zmq_msg_recv(&rid, sock, 0);
		zmq_msg_recv(&msg, sock, 0);
		memset(&o, 0, sizeof(o));
		if (envelope_open(r->env, zmq_msg_data(&msg), zmq_msg_size(&msg), NULL, &o) == 0 &&
		    body_unpack(o.body, o.body_len, &req) == 0) {
			Piugw__Body b = PIUGW__BODY__INIT;
			Piugw__HelloReply hr = PIUGW__HELLO_REPLY__INIT;
			Piugw__Error err = PIUGW__ERROR__INIT;
			Piugw__QueryResult qr = PIUGW__QUERY_RESULT__INIT;
			Piugw__Match m = PIUGW__MATCH__INIT, *mp = &m;
			Piugw__ApiIdentity id = PIUGW__API_IDENTITY__INIT;
			Piugw__PnrBooking bk = PIUGW__PNR_BOOKING__INIT;
			Piugw__PnrPayment pay = PIUGW__PNR_PAYMENT__INIT;
			Piugw__Category cats[2] = {PIUGW__CATEGORY__CATEGORY_API_IDENTITY,
						   PIUGW__CATEGORY__CATEGORY_API_DOCUMENT};
			char *fop[1] = {(char *)"VI 4111 1111 1111 1111"};
			bool query = req->kind_case == PIUGW__BODY__KIND_QUERY;
			hr.software = (char *)"rogue";
			qr.status = PIUGW__RESULT_STATUS__RESULT_NO_HIT;
			qr.categories = cats;
			qr.n_categories = 2;
			b.kind_case = PIUGW__BODY__KIND_QUERY_RESULT;
			b.query_result = &qr;
			if (!query || strcmp(mode, "serve-hello-reply") == 0) {
				b.kind_case = PIUGW__BODY__KIND_HELLO_REPLY;
				b.hello_reply = &hr;
			} else if (strcmp(mode, "serve-escapes") == 0) {
				err.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
				err.detail = (char *)"CASE-\033[31mRED\033[0m\nXA-PIU  answered FAKE";
				b.kind_case = PIUGW__BODY__KIND_ERROR;
				b.error = &err;
			} else if (strcmp(mode, "serve-over-disclose") == 0) {
				id.surname = (char *)"DOE";
				id.given_names = (char *)"JOHN";
				bk.record_locator = (char *)"ABC123";
				pay.forms_of_payment = fop;
				pay.n_forms_of_payment = 1;
				m.score = 1;
				m.api_identity = &id;
				m.pnr_booking = &bk;
				m.pnr_payment = &pay;
				qr.status = PIUGW__RESULT_STATUS__RESULT_HIT;
				qr.match_count = 1;
				qr.matches = &mp;
				qr.n_matches = 1;
			}
			if (getenv("ROGUE_TRACE") != NULL)
				fprintf(stderr, "rogue: got %s sent %lld ms before we listened\n",
					query ? "a query" : "another request",
					(long long)(started - o.header.sent_at_ms));
			serve_reply(r, sock, &rid, &o, &b,
				    query && strcmp(mode, "serve-other-agreement") == 0,
				    query && strcmp(mode, "serve-stale") == 0 ? -600000 : 0);
			/* A query sent before we listened (queued at the asker) is answered, not counted. */
			answered += query && o.header.sent_at_ms >= started - 1000;
		}
		body_free(&req);
		envelope_opened_clear(&o);
		zmq_msg_close(&rid);
		zmq_msg_close(&msg);
	}
	printf("ANSWERED %u\n", answered);
	zmq_close(sock);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rogue r = {0};
	struct diag d;
	const char *cfg = NULL, *to = NULL, *kase = NULL, *save = NULL, *load = NULL;
	char *big = NULL;
	unsigned count = 1;
	struct envelope_header h;
	Piugw__Body b;
	Piugw__Query q;
	Piugw__DocumentCriteria dc;
	uint8_t *env = NULL;
	size_t len = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfg = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--save") == 0 && i + 1 < argc)
			save = argv[++i];
		else if (strcmp(argv[i], "--load") == 0 && i + 1 < argc)
			load = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			kase = argv[i];
	}
	if (cfg == NULL || to == NULL || kase == NULL || sodium_init() < 0) {
		fprintf(stderr, "usage: rogue -c PIUGWD.YAML --to ID CASE\n");
		return 2;
	}
	diag_init(&d);
	if (policy_load(cfg, now_ms(), &r.pol, &d) != 0 ||
	    keys_secret_load(policy_config(r.pol)->certificate, &r.keys, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "rogue: %s\n", d.lines[i]);
		return 2;
	}
	r.target = directory_member(policy_directory(r.pol), to);
	for (size_t i = 0; i < policy_agreement_count(r.pol) && r.pa == NULL; i++)
		if (strcmp(policy_agreement_at(r.pol, i)->peer, to) == 0)
			r.pa = policy_agreement_at(r.pol, i);
	if (r.target == NULL || r.pa == NULL) {
		fprintf(stderr, "rogue: %s is no partner of %s\n", to, policy_config(r.pol)->id);
		return 2;
	}
	/* 2 MiB: the rogue may seal what a gateway would refuse to. */
	envelope_ctx_new(r.keys, 2 * 1024 * 1024, &r.env);
	const struct directory *dir = policy_directory(r.pol);
	for (size_t i = 0; i < dir->n; i++)
		if (strcmp(dir->members[i].keys.id, policy_config(r.pol)->id) != 0)
			envelope_ctx_add_peer(r.env, &dir->members[i].keys);
	r.ctx = zmq_ctx_new();

	if (strncmp(kase, "serve-", 6) == 0) {
		rc = serve(&r, kase, count);
		goto out;
	}
	if (strcmp(kase, "unknown-key") == 0) {
		/* A stranger: fresh keys that no directory lists. */
		struct keys_secret *k = NULL;
		keys_generate("XZ-PIU", &k);
		rc = connect_to(&r, k);
		printf("%s\n", rc == 1 ? "REFUSED_AT_HANDSHAKE" : rc == 0 ? "ADMITTED" : "NO_HANDSHAKE");
		keys_secret_free(&k);
		goto out;
	}
	rc = connect_to(&r, r.keys);
	if (rc != 0) {
		printf("%s\n", rc == 1 ? "REFUSED_AT_HANDSHAKE" : "NO_HANDSHAKE");
		goto out;
	}
	header(&r, &h);
	query_body(&b, &q, &dc);
	if (strcmp(kase, "query") == 0 || strcmp(kase, "rate") == 0) {
		for (unsigned i = 0; i < count; i++) {
			header(&r, &h);
			seal(r.env, &h, &b, &env, &len);
			exchange(&r, env, len, NULL);
			free(env);
			env = NULL;
		}
		goto out;
	} else if (strcmp(kase, "hello") == 0 || strcmp(kase, "hello-twice") == 0) {
		Piugw__Hello hello = PIUGW__HELLO__INIT;
		b.kind_case = PIUGW__BODY__KIND_HELLO;
		b.hello = &hello;
		/* --count N: N-1 more first (fills the target's audit log) */
		for (unsigned i = 1; i < count; i++) {
			header(&r, &h);
			seal(r.env, &h, &b, &env, &len);
			exchange(&r, env, len, NULL);
			free(env);
			env = NULL;
		}
		header(&r, &h);
		seal(r.env, &h, &b, &env, &len);
		if (save != NULL) {
			FILE *f = fopen(save, "wb");
			if (f != NULL) {
				fwrite(env, 1, len, f);
				fclose(f);
			}
		}
		exchange(&r, env, len, NULL);
		if (strcmp(kase, "hello-twice") == 0) {
			char line[16];
			/* The test changes the target's configuration, then says go. */
			if (fgets(line, sizeof(line), stdin) != NULL) {
				free(env);
				header(&r, &h);
				seal(r.env, &h, &b, &env, &len);
				exchange(&r, env, len, NULL);
			}
		}
		goto out;
	} else if (strcmp(kase, "propose") == 0 || strcmp(kase, "propose-bad-signature") == 0) {
		Piugw__AgreementProposal ap = PIUGW__AGREEMENT_PROPOSAL__INIT;
		struct agreement *a = NULL;
		uint8_t sig[KEYS_SIGNATURE_BYTES];
		uint8_t *text = load != NULL ? load_file(load, &len) : NULL;
		if (text == NULL || agreement_parse((const char *)text, len, load, &a, &d) != 0) {
			fprintf(stderr, "rogue: propose needs --load AGREEMENT.yaml\n");
			free(text);
			goto out;
		}
		agreement_sign(a, r.keys, sig);
		if (strcmp(kase, "propose-bad-signature") == 0)
			sig[0] ^= 1;
		ap.agreement.data = a->bytes;
		ap.agreement.len = a->len;
		ap.signature.data = sig;
		ap.signature.len = sizeof(sig);
		b.kind_case = PIUGW__BODY__KIND_AGREEMENT_PROPOSAL;
		b.agreement_proposal = &ap;
		header(&r, &h);
		snprintf(h.agreement_id, sizeof(h.agreement_id), "%s", a->id);
		memcpy(h.agreement_hash, a->hash, sizeof(h.agreement_hash));
		h.has_agreement_hash = true;
		seal(r.env, &h, &b, &env, &len);
		exchange(&r, env, len, NULL);
		agreement_free(&a);
		free(text);
		goto out;
	} else if (strcmp(kase, "notify") == 0 || strcmp(kase, "notify-extra-category") == 0) {
		/*
		 * A notification of the target's lookout --load REF (its reference
		 * here): notify carries api.identity, as the example terms allow;
		 * notify-extra-category api.travel too, which they do not.
		 */
		static Piugw__Notification nt = PIUGW__NOTIFICATION__INIT;
		static Piugw__Match m = PIUGW__MATCH__INIT;
		static Piugw__ApiIdentity id = PIUGW__API_IDENTITY__INIT;
		static Piugw__ApiTravel tr = PIUGW__API_TRAVEL__INIT;
		static Piugw__NotifiedFlight fl = PIUGW__NOTIFIED_FLIGHT__INIT;
		static Piugw__Category cats[] = {PIUGW__CATEGORY__CATEGORY_API_IDENTITY,
						 PIUGW__CATEGORY__CATEGORY_API_TRAVEL};
		static char nid[32];
		bool extra = strcmp(kase, "notify-extra-category") == 0;
		uint8_t rnd[6];
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(nid, sizeof(nid), "NT-ROGUE%02X%02X%02X", rnd[0], rnd[1], rnd[2]);
		id.surname = (char *)"MUELLER";
		id.given_names = (char *)"ANNA";
		tr.seat = (char *)"12A";
		m.score = 1.0f;
		m.api_identity = &id;
		m.api_travel = extra ? &tr : NULL;
		fl.carrier = (char *)"XB";
		fl.flight_number = (char *)"101";
		fl.departure_date = (char *)"2027-05-30";
		nt.notification_id = nid;
		nt.lookout_reference = (char *)(load != NULL ? load : "");
		nt.match = &m;
		nt.flight = &fl;
		nt.source = PIUGW__NOTIFICATION_SOURCE__SOURCE_API;
		nt.categories = cats;
		nt.n_categories = extra ? 2 : 1;
		b.kind_case = PIUGW__BODY__KIND_NOTIFICATION;
		b.notification = &nt;
	} else if (strcmp(kase, "place-twice") == 0) {
		/* One lookout sent twice under one asker_reference (an answer lost): held once. */
		Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
		Piugw__DocumentCriteria ldc = PIUGW__DOCUMENT_CRITERIA__INIT;
		ldc.number = (char *)"R3333333";
		ldc.issuing_state = (char *)"XBA";
		lp.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
		lp.case_reference = (char *)"ROGUE-1";
		lp.justification = (char *)"twice";
		lp.expires_at_ms = now_ms() + 86400000;
		lp.asker_reference = (char *)"LK-ROGUE-0001";
		lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
		lp.document = &ldc;
		b.kind_case = PIUGW__BODY__KIND_LOOKOUT_PLACE;
		b.lookout_place = &lp;
		for (int i = 0; i < 2; i++) {
			header(&r, &h);
			seal(r.env, &h, &b, &env, &len);
			exchange(&r, env, len, NULL);
			free(env);
			env = NULL;
		}
		goto out;
	} else if (strcmp(kase, "resend") == 0) {
		/* The exact bytes of an earlier message (--load), and the reply to --save. */
		if ((env = load_file(load, &len)) == NULL)
			goto out;
		exchange(&r, env, len, save);
		goto out;
	} else if (strcmp(kase, "reuse-id") == 0) {
		/* Other bytes under the message id of an earlier message (--load). */
		uint8_t *old = load_file(load, &len);
		Piugw__Envelope *e = old ? piugw__envelope__unpack(NULL, len, old) : NULL;
		struct envelope_header oh;
		if (e == NULL || envelope_header_parse(e->header.data, e->header.len, &oh) != 0)
			goto out;
		memcpy(h.message_id, oh.message_id, 16);
		piugw__envelope__free_unpacked(e, NULL);
		free(old);
	} else if (strcmp(kase, "flood") == 0) {
		/*
		 * --count N messages as fast as the socket takes them: garbage, and
		 * every hundredth one larger than the target's transport limit (it
		 * drops the connection; ZeroMQ reconnects).
		 */
		size_t big_len = 3 * 1024 * 1024;
		uint8_t *junk = malloc(big_len);
		unsigned sent = 0;
		int sndtimeo = 1000;
		if (junk == NULL)
			goto out;
		/* Never block for good: the target cuts the connection at each big one. */
		zmq_setsockopt(r.sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
		randombytes_buf(junk, big_len);
		for (unsigned i = 0; i < count; i++)
			if (zmq_send(r.sock, junk, i % 100 == 99 ? big_len : 64 + i % 512, 0) >= 0)
				sent++;
		free(junk);
		printf("FLOOD sent=%u\n", sent);
		goto out;
	} else if (strcmp(kase, "malformed") == 0) {
		env = (uint8_t *)strdup("this is not an envelope");
		len = strlen((char *)env);
		exchange(&r, env, len, NULL);
		goto out;
	} else if (strcmp(kase, "malformed-body") == 0) {
		uint8_t junk[7] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		envelope_seal(r.env, &h, junk, sizeof(junk), NULL, &env, &len);
		exchange(&r, env, len, NULL);
		goto out;
	} else if (strcmp(kase, "version") == 0 || strcmp(kase, "sender-mismatch") == 0) {
		bool v = strcmp(kase, "version") == 0;
		seal(r.env, &h, &b, &env, &len);
		rewrite_header(&env, &len, v ? 2 : 0, v ? NULL : "XZ-PIU", false, 0);
		exchange(&r, env, len, NULL);
		goto out;
	} else if (strcmp(kase, "sent-zero") == 0 || strcmp(kase, "nonce-12") == 0) {
		/* A readable header, refused for a field or for the envelope around it. */
		bool z = strcmp(kase, "sent-zero") == 0;
		seal(r.env, &h, &b, &env, &len);
		rewrite_header(&env, &len, 0, NULL, z, z ? 0 : 12);
		exchange(&r, env, len, NULL);
		goto out;
	} else if (strcmp(kase, "two-frames") == 0) {
		seal(r.env, &h, &b, &env, &len);
		exchange_frames(&r, env, len, NULL, "and one frame too many");
		goto out;
	} else if (strcmp(kase, "request-in-reply-to") == 0) {
		/* A query that says it answers something. */
		h.has_in_reply_to = true;
		randombytes_buf(h.in_reply_to, sizeof(h.in_reply_to));
	} else if (strcmp(kase, "too-large") == 0) {
		/* A justification that makes the envelope just over 1 MiB. */
		if ((big = malloc(1024 * 1024 + 512)) == NULL)
			goto out;
		memset(big, 'x', 1024 * 1024 + 511);
		big[1024 * 1024 + 511] = '\0';
		q.justification = big;
	} else if (strcmp(kase, "not-for-me") == 0) {
		for (size_t i = 0; i < policy_directory(r.pol)->n; i++) {
			const char *id = policy_directory(r.pol)->members[i].keys.id;
			if (strcmp(id, to) != 0 && strcmp(id, policy_config(r.pol)->id) != 0)
				snprintf(h.recipient, sizeof(h.recipient), "%s", id);
		}
	} else if (strcmp(kase, "bad-signature") == 0) {
		/* Our transport key (so it decrypts), a signing key nobody knows. */
		struct keys_secret *k = NULL;
		struct envelope_ctx *e2 = NULL;
		uint8_t tsk[32], ssk[64], spk[32];
		keys_with_transport_secret(r.keys, copy_sk, tsk);
		crypto_sign_keypair(spk, ssk);
		keys_from_raw(policy_config(r.pol)->id, tsk, ssk, &k);
		envelope_ctx_new(k, 0, &e2);
		envelope_ctx_add_peer(e2, &r.target->keys);
		seal(e2, &h, &b, &env, &len);
		exchange(&r, env, len, NULL);
		envelope_ctx_free(&e2);
		keys_secret_free(&k);
		sodium_memzero(tsk, sizeof(tsk));
		sodium_memzero(ssk, sizeof(ssk));
		goto out;
	} else if (strcmp(kase, "stale") == 0) {
		h.sent_at_ms -= 10 * 60 * 1000;
	} else if (strcmp(kase, "no-agreement") == 0) {
		snprintf(h.agreement_id, sizeof(h.agreement_id), "NO-SUCH-AGREEMENT");
	} else if (strcmp(kase, "mismatch") == 0) {
		randombytes_buf(h.agreement_hash, 32);
	} else if (strcmp(kase, "purpose") == 0) {
		q.purpose = PIUGW__PURPOSE__PURPOSE_BORDER_CONTROL;
	} else if (strcmp(kase, "query-type") == 0) {
		static Piugw__LocatorCriteria lc = PIUGW__LOCATOR_CRITERIA__INIT;
		lc.record_locator = (char *)"ABC123";
		q.criteria_case = PIUGW__QUERY__CRITERIA_LOCATOR;
		q.locator = &lc;
	} else if (strcmp(kase, "no-justification") == 0) {
		q.justification = (char *)"";
	} else if (strcmp(kase, "unknown-field") == 0) {
		/* A query with a field this version does not know (Body field 30 = 1). */
		uint8_t *bb = NULL, *more;
		size_t bl = 0;
		body_pack(&b, &bb, &bl);
		if ((more = realloc(bb, bl + 3)) != NULL) {
			more[bl] = 0xf0;
			more[bl + 1] = 0x01;
			more[bl + 2] = 0x01;
			envelope_seal(r.env, &h, more, bl + 3, NULL, &env, &len);
			exchange(&r, env, len, NULL);
		}
		free(more != NULL ? more : bb);
		goto out;
	} else if (strcmp(kase, "control-case") == 0) {
		q.case_reference = (char *)"CASE-\033[31mRED\033[0m\nFAKE";
	} else if (strcmp(kase, "bad-dob") == 0 || strcmp(kase, "future-dob") == 0) {
		static Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;
		nc.surname = (char *)"DOE";
		nc.date_of_birth = (char *)(strcmp(kase, "bad-dob") == 0 ? "1985-13-01" : "2999-01-01");
		q.criteria_case = PIUGW__QUERY__CRITERIA_NAME;
		q.name = &nc;
	} else if (strcmp(kase, "unknown-poll") == 0) {
		static Piugw__Poll poll = PIUGW__POLL__INIT;
		static uint8_t mid[16];
		poll.query_message_id.data = mid;
		poll.query_message_id.len = 16;
		poll.approval_ref = (char *)"AP-000000000000";
		b.kind_case = PIUGW__BODY__KIND_POLL;
		b.poll = &poll;
	} else if (strcmp(kase, "agreement") == 0) {
		/* The query under another agreement with the target, named by --load ID. */
		const struct policy_agreement *pa = policy_agreement(r.pol, load);
		if (pa == NULL) {
			fprintf(stderr, "rogue: no agreement %s\n", load);
			goto out;
		}
		snprintf(h.agreement_id, sizeof(h.agreement_id), "%s", pa->a->id);
		memcpy(h.agreement_hash, pa->a->hash, 32);
	} else {
		fprintf(stderr, "rogue: unknown case %s\n", kase);
		goto out;
	}
	if ((rc = seal(r.env, &h, &b, &env, &len)) != 0) {
		fprintf(stderr, "rogue: cannot seal: %s\n", piugw_strerror(rc));
		goto out;
	}
	if (save != NULL) { /* the envelope, to send again with resend --load */
		FILE *f = fopen(save, "wb");
		if (f != NULL) {
			fwrite(env, 1, len, f);
			fclose(f);
		}
	}
	exchange(&r, env, len, NULL);
out:
	free(env);
	free(big);
	if (r.mon)
		zmq_close(r.mon);
	if (r.sock) {
		zmq_socket_monitor(r.sock, NULL, 0);
		zmq_close(r.sock);
	}
	if (r.ctx)
		zmq_ctx_term(r.ctx);
	envelope_ctx_free(&r.env);
	keys_secret_free(&r.keys);
	policy_free(&r.pol);
	diag_clear(&d);
	return 0;
}
