/*
 * test_envelope.c: PROTOCOL.md sections 3 to 5 and the stateless checks of
 * section 8, against the known answers of an independent implementation
 * (tests/vectors/envelope-v1.json), then against hostile input.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <sodium.h>

#include "body.h"
#include "encoding.h"
#include "envelope.h"
#include "envelope.pb-c.h"
#include "piugw/error.h"
#include "testutil.h"

struct fixture {
	json_t *v;
	struct keys_secret *party[3]; /* XA, XB, XC from the vectors */
};

static const json_t *
party_json(const struct fixture *f, const char *id)
{
	const json_t *parties = json_object_get(f->v, "parties");

	for (size_t i = 0; i < json_array_size(parties); i++) {
		const json_t *p = json_array_get(parties, i);
		if (strcmp(tu_json_str(p, "gateway_id"), id) == 0)
			return p;
	}
	fail_msg("no party %s in the vectors", id);
	return NULL;
}

static struct keys_secret *
party(const struct fixture *f, const char *id)
{
	for (size_t i = 0; i < 3; i++)
		if (strcmp(keys_secret_public(f->party[i])->id, id) == 0)
			return f->party[i];
	fail_msg("no party %s", id);
	return NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const json_t *parties;

	f->v = tu_load_vectors("envelope-v1.json");
	parties = json_object_get(f->v, "parties");
	assert_int_equal(json_array_size(parties), 3);
	for (size_t i = 0; i < 3; i++) {
		const json_t *p = json_array_get(parties, i);
		uint8_t tsk[32], ssk[64];

		tu_unhex_into(tsk, 32, tu_json_str(p, "transport_secret_hex"));
		tu_unhex_into(ssk, 64, tu_json_str(p, "sign_secret_hex"));
		assert_int_equal(keys_from_raw(tu_json_str(p, "gateway_id"), tsk, ssk, &f->party[i]),
				 0);
		sodium_memzero(tsk, sizeof(tsk));
		sodium_memzero(ssk, sizeof(ssk));
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < 3; i++)
		keys_secret_free(&f->party[i]);
	json_decref(f->v);
	free(f);
	return 0;
}

/* A context for gateway `me` that knows every other vector party. */
static struct envelope_ctx *
ctx_for(const struct fixture *f, const char *me)
{
	struct envelope_ctx *ctx = NULL;

	assert_int_equal(envelope_ctx_new(party(f, me), 0, &ctx), 0);
	for (size_t i = 0; i < 3; i++)
		if (strcmp(keys_secret_public(f->party[i])->id, me) != 0)
			assert_int_equal(
				envelope_ctx_add_peer(ctx, keys_secret_public(f->party[i])), 0);
	return ctx;
}

static void
assert_hex_equal(const uint8_t *got, size_t got_len, const char *hex, const char *what)
{
	size_t len = 0;
	uint8_t *want = tu_unhex(hex, &len);

	if (got_len != len || (len > 0 && memcmp(got, want, len) != 0)) {
		char *g = malloc(got_len * 2 + 1);
		sodium_bin2hex(g, got_len * 2 + 1, got, got_len);
		print_message("%s\n  got  %.160s\n  want %.160s\n", what, g, hex);
		free(g);
		free(want);
		fail_msg("%s differs from the known answer", what);
	}
	free(want);
}

/* The vector keys: raw hex and Z85 agree with what we derive and encode. */
static void
vector_keys_agree(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < 3; i++) {
		const struct keys_public *pub = keys_secret_public(f->party[i]);
		const json_t *p = party_json(f, pub->id);
		char z[41];
		uint8_t raw[64];

		assert_hex_equal(pub->transport_pk, 32, tu_json_str(p, "transport_public_hex"),
				 "transport public key");
		assert_hex_equal(pub->sign_pk, 32, tu_json_str(p, "sign_public_hex"),
				 "signing public key");
		z85_encode(z, sizeof(z), pub->transport_pk, 32);
		assert_string_equal(z, tu_json_str(p, "transport_public_z85"));
		z85_encode(z, sizeof(z), pub->sign_pk, 32);
		assert_string_equal(z, tu_json_str(p, "sign_public_z85"));
		/* And the secret Z85 decodes to the secret hex. */
		assert_int_equal(z85_decode(raw, 64, tu_json_str(p, "sign_secret_z85"), 80), 0);
		assert_hex_equal(raw, 64, tu_json_str(p, "sign_secret_hex"), "signing secret key");
		assert_int_equal(z85_decode(raw, 32, tu_json_str(p, "transport_secret_z85"), 40), 0);
		assert_hex_equal(raw, 32, tu_json_str(p, "transport_secret_hex"),
				 "transport secret key");
		sodium_memzero(raw, sizeof(raw));
	}
}

/* Every case, every intermediate value, byte for byte. */
static void
vector_cases_byte_for_byte(void **state)
{
	struct fixture *f = *state;
	const json_t *cases = json_object_get(f->v, "cases");

	assert_true(json_array_size(cases) >= 3);
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *sender = tu_json_str(c, "sender");
		const char *recipient = tu_json_str(c, "recipient");
		struct keys_secret *a = party(f, sender), *b = party(f, recipient);
		struct envelope_ctx *actx = ctx_for(f, sender), *bctx = ctx_for(f, recipient);
		size_t hlen, blen, plen, slen;
		uint8_t *header = tu_unhex(tu_json_str(c, "header_hex"), &hlen);
		uint8_t *body = tu_unhex(tu_json_str(c, "body_hex"), &blen);
		uint8_t nonce[ENVELOPE_NONCE_BYTES], key[32], sig[64];
		uint8_t *sin, *packed, *env;
		size_t packed_len, env_len;
		struct envelope_header h;
		struct envelope_opened o;
		struct envelope_open_opts opts = {.conn_user_id = sender};
		Piugw__Sealed sealed = PIUGW__SEALED__INIT;
		Piugw__Envelope *pe;

		print_message("case: %s\n", tu_json_str(c, "name"));
		tu_unhex_into(nonce, sizeof(nonce), tu_json_str(c, "nonce_hex"));

		/* Section 4: the pair key, from both ends. */
		assert_int_equal(envelope_pair_key(a, keys_secret_public(b)->transport_pk,
						   ENVELOPE_OUTGOING, key), 0);
		assert_hex_equal(key, 32, tu_json_str(c, "pair_key_hex"), "pair key (sender)");
		assert_int_equal(envelope_pair_key(b, keys_secret_public(a)->transport_pk,
						   ENVELOPE_INCOMING, key), 0);
		assert_hex_equal(key, 32, tu_json_str(c, "pair_key_hex"), "pair key (recipient)");

		/* Section 5: the signing input and the signature. */
		slen = envelope_sign_input_len(hlen, blen);
		sin = malloc(slen);
		envelope_sign_input(sin, header, hlen, body, blen);
		assert_hex_equal(sin, slen, tu_json_str(c, "sign_input_hex"), "signing input");
		assert_int_equal(keys_sign(a, sig, sin, slen), 0);
		assert_hex_equal(sig, 64, tu_json_str(c, "signature_hex"), "signature");
		free(sin);

		/* Section 3: the Sealed plaintext. */
		sealed.body.data = body;
		sealed.body.len = blen;
		sealed.signature.data = sig;
		sealed.signature.len = 64;
		plen = piugw__sealed__get_packed_size(&sealed);
		packed = malloc(plen);
		piugw__sealed__pack(&sealed, packed);
		assert_hex_equal(packed, plen, tu_json_str(c, "sealed_plaintext_hex"),
				 "sealed plaintext");
		free(packed);

		/* The header round-trips through our struct to the same bytes. */
		assert_int_equal(envelope_header_parse(header, hlen, &h), 0);
		assert_string_equal(h.sender, sender);
		assert_string_equal(h.recipient, recipient);
		assert_int_equal(envelope_header_pack(&h, &packed, &packed_len), 0);
		assert_hex_equal(packed, packed_len, tu_json_str(c, "header_hex"), "header");
		free(packed);

		/* The whole envelope, sealed by the sender with the vector's nonce. */
		assert_int_equal(envelope_seal(actx, &h, body, blen, nonce, &env, &env_len), 0);
		pe = piugw__envelope__unpack(NULL, env_len, env);
		assert_non_null(pe);
		assert_hex_equal(pe->sealed.data, pe->sealed.len, tu_json_str(c, "sealed_hex"),
				 "sealed ciphertext");
		piugw__envelope__free_unpacked(pe, NULL);
		assert_hex_equal(env, env_len, tu_json_str(c, "envelope_hex"), "envelope");

		/* And the recipient opens the vector's envelope to the same parts. */
		free(env);
		env = tu_unhex(tu_json_str(c, "envelope_hex"), &env_len);
		assert_int_equal(envelope_open(bctx, env, env_len, &opts, &o), 0);
		assert_true(o.header_ok);
		assert_hex_equal(o.body, o.body_len, tu_json_str(c, "body_hex"), "opened body");
		assert_hex_equal(o.header_bytes, o.header_len, tu_json_str(c, "header_hex"),
				 "opened header");
		assert_hex_equal(o.signature, 64, tu_json_str(c, "signature_hex"),
				 "opened signature");
		envelope_opened_clear(&o);
		/* The sender cannot open its own message: it is not for it. */
		assert_int_equal(envelope_open(actx, env, env_len, NULL, &o), PIUGW_ENOTFORME);
		envelope_opened_clear(&o);

		free(env);
		free(header);
		free(body);
		envelope_ctx_free(&actx);
		envelope_ctx_free(&bctx);
		assert_null(actx);
	}
}

/* Every negative vector is refused, each for the reason it was made. */
static void
vector_negatives_refused(void **state)
{
	struct fixture *f = *state;
	const json_t *neg = json_object_get(f->v, "negative");
	static const struct {
		const char *name;
		int code;
	} expect[] = {
		/* The sender "X@-PIU" is no gateway id: refused before decryption. */
		{"header tampered (AEAD must fail)", PIUGW_EMALFORMED},
		{"ciphertext tampered", PIUGW_EDECRYPT},
		{"nonce tampered", PIUGW_EDECRYPT},
		{"signature over another header (re-addressed body)", PIUGW_EBADSIG},
		{"sealed with XC's pair key while header says XA", PIUGW_EDECRYPT},
	};

	assert_int_equal(json_array_size(neg), sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < json_array_size(neg); i++) {
		const json_t *n = json_array_get(neg, i);
		const char *name = tu_json_str(n, "name");
		struct envelope_ctx *ctx = ctx_for(f, tu_json_str(n, "recipient"));
		struct envelope_open_opts opts = {.conn_user_id = tu_json_str(n, "claimed_sender")};
		struct envelope_opened o;
		size_t len;
		uint8_t *env = tu_unhex(tu_json_str(n, "envelope_hex"), &len);
		int want = 1;

		for (size_t k = 0; k < sizeof(expect) / sizeof(expect[0]); k++)
			if (strcmp(expect[k].name, name) == 0)
				want = expect[k].code;
		if (want == 1)
			fail_msg("negative vector '%s' has no expectation here", name);
		print_message("negative: %s -> %s\n", name, piugw_error_name(want));
		assert_int_equal(envelope_open(ctx, env, len, &opts, &o), want);
		assert_null(o.body);
		envelope_opened_clear(&o);
		/* Also without the transport check. */
		assert_int_equal(envelope_open(ctx, env, len, NULL, &o), want);
		envelope_opened_clear(&o);

		/* "AEAD must fail": check that the ciphertext itself is refused too. */
		if (want == PIUGW_EMALFORMED) {
			Piugw__Envelope *pe = piugw__envelope__unpack(NULL, len, env);
			uint8_t key[32], *ad, *pt;
			size_t ad_len;
			unsigned long long pl;

			assert_non_null(pe);
			assert_int_equal(envelope_pair_key(party(f, "XB-PIU"),
							   keys_secret_public(party(f, "XA-PIU"))->transport_pk,
							   ENVELOPE_INCOMING, key), 0);
			ad_len = 14 + pe->header.len;
			ad = malloc(ad_len);
			memcpy(ad, "piugw v1 aead", 14); /* label and its 0x00 */
			memcpy(ad + 14, pe->header.data, pe->header.len);
			pt = malloc(pe->sealed.len);
			assert_int_not_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
						     pt, &pl, NULL, pe->sealed.data, pe->sealed.len, ad,
						     ad_len, pe->nonce.data, key), 0);
			free(pt);
			free(ad);
			piugw__envelope__free_unpacked(pe, NULL);
		}
		free(env);
		envelope_ctx_free(&ctx);
	}
}

/* ---- beyond the vectors ---- */

static struct envelope_header
header_for(const char *from, const char *to)
{
	struct envelope_header h;

	memset(&h, 0, sizeof(h));
	h.version = 1;
	strcpy(h.sender, from);
	strcpy(h.recipient, to);
	randombytes_buf(h.message_id, sizeof(h.message_id));
	h.sent_at_ms = 1790000000000;
	strcpy(h.agreement_id, "XA-XB-2026-001");
	h.has_agreement_hash = true;
	memset(h.agreement_hash, 0x42, sizeof(h.agreement_hash));
	return h;
}

static void
round_trip_both_directions_with_a_real_body(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *a = ctx_for(f, "XA-PIU"), *b = ctx_for(f, "XB-PIU");
	Piugw__Body body = PIUGW__BODY__INIT;
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria doc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__Body *back = NULL;
	struct envelope_header h = header_for("XA-PIU", "XB-PIU"), r;
	struct envelope_opened o;
	uint8_t *bb, *e1, *e2;
	size_t blen, l1, l2;

	doc.number = "P1234567";
	doc.issuing_state = "XBA";
	q.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	q.case_reference = "CASE-1";
	q.justification = "reasoned";
	q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q.document = &doc;
	body.kind_case = PIUGW__BODY__KIND_QUERY;
	body.query = &q;
	assert_int_equal(body_pack(&body, &bb, &blen), 0);

	/* Random nonces: two seals of the same message differ, both open. */
	assert_int_equal(envelope_seal(a, &h, bb, blen, NULL, &e1, &l1), 0);
	assert_int_equal(envelope_seal(a, &h, bb, blen, NULL, &e2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_not_equal(e1, e2, l1);
	assert_int_equal(envelope_open(b, e2, l2, NULL, &o), 0);
	envelope_opened_clear(&o);
	assert_int_equal(envelope_open(b, e1, l1, NULL, &o), 0);
	assert_memory_equal(o.header.message_id, h.message_id, 16);
	assert_string_equal(o.header.agreement_id, "XA-XB-2026-001");
	assert_int_equal(body_unpack(o.body, o.body_len, &back), 0);
	assert_int_equal(back->kind_case, PIUGW__BODY__KIND_QUERY);
	assert_string_equal(back->query->document->number, "P1234567");
	body_free(&back);
	envelope_opened_clear(&o);

	/* The reply travels under the other direction's key. */
	r = header_for("XB-PIU", "XA-PIU");
	r.has_in_reply_to = true;
	memcpy(r.in_reply_to, h.message_id, 16);
	free(e2);
	assert_int_equal(envelope_seal(b, &r, NULL, 0, NULL, &e2, &l2), 0);
	assert_int_equal(envelope_open(a, e2, l2, NULL, &o), 0);
	assert_true(o.header.has_in_reply_to);
	assert_memory_equal(o.header.in_reply_to, h.message_id, 16);
	assert_int_equal(o.body_len, 0);
	envelope_opened_clear(&o);
	envelope_opened_clear(&o); /* twice is harmless */

	free(bb);
	free(e1);
	free(e2);
	envelope_ctx_free(&a);
	envelope_ctx_free(&b);
}

/* Each stateless rule of section 8, provoked by a message a peer could send. */
static void
receiving_rules_each_give_their_code(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *a = ctx_for(f, "XA-PIU"), *b = ctx_for(f, "XB-PIU");
	struct envelope_ctx *c = ctx_for(f, "XC-PIU");
	struct envelope_header h = header_for("XA-PIU", "XB-PIU");
	struct envelope_opened o;
	struct envelope_open_opts opts = {0};
	uint8_t *e;
	size_t l;

	assert_int_equal(envelope_seal(a, &h, (const uint8_t *)"x", 1, NULL, &e, &l), 0);

	/* NOT_FOR_ME, with the header still usable for the Error reply. */
	assert_int_equal(envelope_open(c, e, l, NULL, &o), PIUGW_ENOTFORME);
	assert_true(o.header_ok);
	assert_string_equal(o.header.sender, "XA-PIU");
	envelope_opened_clear(&o);

	/* UNKNOWN_SENDER: the sender differs from the connection's ZAP User-Id. */
	opts.conn_user_id = "XC-PIU";
	assert_int_equal(envelope_open(b, e, l, &opts, &o), PIUGW_ESENDERMISMATCH);
	assert_int_equal(piugw_error_wire_code(PIUGW_ESENDERMISMATCH), PIUGW_WIRE_UNKNOWN_SENDER);
	envelope_opened_clear(&o);
	opts.conn_user_id = "XA-PIU";

	/* STALE: outside the window either way; inside it is fine. */
	opts.now_ms = h.sent_at_ms + 300001;
	assert_int_equal(envelope_open(b, e, l, &opts, &o), PIUGW_ESTALE);
	envelope_opened_clear(&o);
	opts.now_ms = h.sent_at_ms - 300001;
	assert_int_equal(envelope_open(b, e, l, &opts, &o), PIUGW_ESTALE);
	envelope_opened_clear(&o);
	opts.now_ms = h.sent_at_ms + 299999;
	assert_int_equal(envelope_open(b, e, l, &opts, &o), 0);
	envelope_opened_clear(&o);
	opts.freshness_ms = 1000;
	opts.now_ms = h.sent_at_ms + 1001;
	assert_int_equal(envelope_open(b, e, l, &opts, &o), PIUGW_ESTALE);
	envelope_opened_clear(&o);

	/* UNKNOWN_SENDER: a peer we no longer know (removed from the directory). */
	assert_int_equal(envelope_ctx_remove_peer(b, "XA-PIU"), 0);
	assert_null(envelope_ctx_peer(b, "XA-PIU"));
	assert_int_equal(envelope_open(b, e, l, NULL, &o), PIUGW_EUNKNOWNSENDER);
	envelope_opened_clear(&o);
	assert_int_equal(envelope_ctx_remove_peer(b, "XA-PIU"), PIUGW_EUNKNOWNSENDER);
	/* ... and known again: the cached pair keys are recomputed. */
	assert_int_equal(envelope_ctx_add_peer(b, keys_secret_public(party(f, "XA-PIU"))), 0);
	assert_int_equal(envelope_open(b, e, l, NULL, &o), 0);
	envelope_opened_clear(&o);

	/* Sealing for a gateway we have no keys for, or as someone else. */
	free(e);
	h = header_for("XA-PIU", "XZ-PIU");
	assert_int_equal(envelope_seal(a, &h, NULL, 0, NULL, &e, &l), PIUGW_EUNKNOWNSENDER);
	h = header_for("XB-PIU", "XC-PIU");
	assert_int_equal(envelope_seal(a, &h, NULL, 0, NULL, &e, &l), PIUGW_EINVAL);
	assert_null(e);

	envelope_ctx_free(&a);
	envelope_ctx_free(&b);
	envelope_ctx_free(&c);
}

/* Wrap arbitrary header bytes, nonce and ciphertext into an envelope. */
static uint8_t *
wrap(const uint8_t *hb, size_t hl, size_t nonce_len, const uint8_t *ct, size_t ctl, size_t *lenp)
{
	Piugw__Envelope pe = PIUGW__ENVELOPE__INIT;
	uint8_t nonce[64] = {0};
	uint8_t *out;

	pe.header.data = (uint8_t *)hb;
	pe.header.len = hl;
	pe.nonce.data = nonce;
	pe.nonce.len = nonce_len;
	pe.sealed.data = (uint8_t *)ct;
	pe.sealed.len = ctl;
	*lenp = piugw__envelope__get_packed_size(&pe);
	out = malloc(*lenp);
	piugw__envelope__pack(&pe, out);
	return out;
}

/* Headers with missing or out-of-range fields are MALFORMED; version 2 is
 * UNSUPPORTED_VERSION but still addressable. */
static void
hostile_headers(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *b = ctx_for(f, "XB-PIU");
	uint8_t junk[64] = {0}, mid[17] = {0}, hash[33] = {0};
	char long_id[40];
	enum { MISSING_SENDER, MISSING_RECIPIENT, LONG_SENDER, LOWER_RECIPIENT, MID_15, MID_17,
	       REPLY_5, SENT_ZERO, SENT_NEGATIVE, AGREEMENT_NO_HASH, HASH_NO_AGREEMENT, HASH_31,
	       AGREEMENT_SPACE, AGREEMENT_65, VERSION_0, VERSION_2, NCASES };

	memset(long_id, 'X', 33);
	long_id[33] = '\0';
	for (int i = 0; i < NCASES; i++) {
		Piugw__Header ph = PIUGW__HEADER__INIT;
		char agr65[66];
		uint8_t *hb, *env;
		size_t hl, el;
		struct envelope_opened o;
		int want = PIUGW_EMALFORMED;

		ph.version = 1;
		ph.sender = "XA-PIU";
		ph.recipient = "XB-PIU";
		ph.message_id.data = mid;
		ph.message_id.len = 16;
		ph.sent_at_ms = 1790000000000;
		ph.agreement_id = "XA-XB-2026-001";
		ph.agreement_hash.data = hash;
		ph.agreement_hash.len = 32;
		switch (i) {
		case MISSING_SENDER: ph.sender = ""; break;
		case MISSING_RECIPIENT: ph.recipient = ""; break;
		case LONG_SENDER: ph.sender = long_id; break;
		case LOWER_RECIPIENT: ph.recipient = "xb-piu"; break;
		case MID_15: ph.message_id.len = 15; break;
		case MID_17: ph.message_id.len = 17; break;
		case REPLY_5: ph.in_reply_to.data = mid; ph.in_reply_to.len = 5; break;
		case SENT_ZERO: ph.sent_at_ms = 0; break;
		case SENT_NEGATIVE: ph.sent_at_ms = -5; break;
		case AGREEMENT_NO_HASH: ph.agreement_hash.len = 0; break;
		case HASH_NO_AGREEMENT: ph.agreement_id = ""; break;
		case HASH_31: ph.agreement_hash.len = 31; break;
		case AGREEMENT_SPACE: ph.agreement_id = "XA XB"; break;
		case AGREEMENT_65:
			memset(agr65, 'A', 65);
			agr65[65] = '\0';
			ph.agreement_id = agr65;
			break;
		case VERSION_0: ph.version = 0; want = PIUGW_EVERSION; break;
		case VERSION_2: ph.version = 2; want = PIUGW_EVERSION; break;
		default: break;
		}
		hl = piugw__header__get_packed_size(&ph);
		hb = malloc(hl + 1);
		piugw__header__pack(&ph, hb);
		env = wrap(hb, hl, 24, junk, sizeof(junk), &el);
		assert_int_equal(envelope_open(b, env, el, NULL, &o), want);
		assert_null(o.body);
		if (want == PIUGW_EVERSION) {
			/* An Error can still be addressed to the sender. */
			assert_true(o.header_ok);
			assert_string_equal(o.header.sender, "XA-PIU");
			assert_int_equal(o.header.version, ph.version);
		}
		/* Whatever field is wrong, a readable message id names the request. */
		assert_int_equal(o.id_ok, i != MID_15 && i != MID_17);
		if (o.id_ok)
			assert_memory_equal(o.header.message_id, mid, 16);
		envelope_opened_clear(&o);
		free(env);
		free(hb);
	}
	envelope_ctx_free(&b);
}

static void
hostile_envelopes(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *a = ctx_for(f, "XA-PIU"), *b = ctx_for(f, "XB-PIU");
	struct envelope_ctx *small = NULL;
	struct envelope_header h = header_for("XA-PIU", "XB-PIU");
	struct envelope_opened o;
	uint8_t *e, *hb, *bad, *big;
	size_t l, hl, bl;
	uint8_t junk[64] = {0};
	const uint8_t not_protobuf[] = {0xff, 0xff, 0xff, 0xff, 0x0f};

	assert_int_equal(envelope_seal(a, &h, (const uint8_t *)"hello", 5, NULL, &e, &l), 0);

	/* Every truncation is refused, none crashes (the sanitizer run proves the rest). */
	for (size_t n = 0; n < l; n++) {
		int rc = envelope_open(b, e, n, NULL, &o);
		assert_true(rc < 0);
		assert_null(o.body);
		envelope_opened_clear(&o);
	}
	/* Every single-bit flip is refused. */
	for (size_t n = 0; n < l; n++) {
		for (int bit = 0; bit < 8; bit++) {
			e[n] ^= (uint8_t)(1u << bit);
			int rc = envelope_open(b, e, l, NULL, &o);
			e[n] ^= (uint8_t)(1u << bit);
			if (rc == 0)
				fail_msg("flipping bit %d of byte %zu was accepted", bit, n);
			envelope_opened_clear(&o);
		}
	}
	/* Not protobuf at all. */
	assert_int_equal(envelope_open(b, not_protobuf, sizeof(not_protobuf), NULL, &o),
			 PIUGW_EMALFORMED);
	envelope_opened_clear(&o);

	/* Short nonce, empty header, ciphertext shorter than its tag. */
	assert_int_equal(envelope_header_pack(&h, &hb, &hl), 0);
	bad = wrap(hb, hl, 23, junk, sizeof(junk), &bl);
	assert_int_equal(envelope_open(b, bad, bl, NULL, &o), PIUGW_EMALFORMED);
	assert_true(o.id_ok); /* the header was readable: the refusal names the request */
	assert_memory_equal(o.header.message_id, h.message_id, 16);
	envelope_opened_clear(&o);
	free(bad);
	bad = wrap(hb, 0, 24, junk, sizeof(junk), &bl);
	assert_int_equal(envelope_open(b, bad, bl, NULL, &o), PIUGW_EMALFORMED);
	envelope_opened_clear(&o);
	free(bad);
	bad = wrap(hb, hl, 24, junk, 15, &bl);
	assert_int_equal(envelope_open(b, bad, bl, NULL, &o), PIUGW_EMALFORMED);
	envelope_opened_clear(&o);
	free(bad);

	/* TOO_LARGE, within the transport's slack: refused, by name. */
	{
		size_t n = ENVELOPE_MAX_SIZE_DEFAULT + 100;
		uint8_t *pad = calloc(1, n);
		bad = wrap(hb, hl, 24, pad, n, &bl);
		assert_true(bl > ENVELOPE_MAX_SIZE_DEFAULT && bl <= ENVELOPE_MAX_SIZE_DEFAULT + ENVELOPE_SIZE_SLACK);
		assert_int_equal(envelope_open(b, bad, bl, NULL, &o), PIUGW_ETOOLARGE);
		assert_true(o.id_ok);
		assert_memory_equal(o.header.message_id, h.message_id, 16);
		envelope_opened_clear(&o);
		free(bad);
		free(pad);
	}
	/* TOO_LARGE: refused before parsing; and never sealed in the first place. */
	big = calloc(1, ENVELOPE_MAX_SIZE_DEFAULT + 1);
	assert_int_equal(envelope_open(b, big, ENVELOPE_MAX_SIZE_DEFAULT + 1, NULL, &o),
			 PIUGW_ETOOLARGE);
	envelope_opened_clear(&o);
	free(e);
	assert_int_equal(envelope_seal(a, &h, big, ENVELOPE_MAX_SIZE_DEFAULT, NULL, &e, &l),
			 PIUGW_ETOOLARGE);
	assert_int_equal(envelope_ctx_new(party(f, "XB-PIU"), 512, &small), 0);
	assert_int_equal(envelope_ctx_add_peer(small, keys_secret_public(party(f, "XA-PIU"))), 0);
	assert_int_equal(envelope_seal(a, &h, big, 600, NULL, &e, &l), 0);
	assert_int_equal(envelope_open(small, e, l, NULL, &o), PIUGW_ETOOLARGE);
	envelope_opened_clear(&o);
	free(e);
	free(big);
	free(hb);
	envelope_ctx_free(&small);
	envelope_ctx_free(&a);
	envelope_ctx_free(&b);
}

/*
 * A peer that holds a valid pair key but puts something other than a Sealed
 * inside, or a signature of the wrong length: MALFORMED, not a crash.
 */
static void
hostile_plaintexts(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *b = ctx_for(f, "XB-PIU");
	struct envelope_header h = header_for("XA-PIU", "XB-PIU");
	uint8_t key[32], nonce[24], *hb, *ad, ct[256], *env;
	size_t hl, el;
	unsigned long long cl;
	struct envelope_opened o;
	uint8_t sig63[63] = {0};
	Piugw__Sealed s = PIUGW__SEALED__INIT;
	uint8_t packed[128];
	const struct {
		const uint8_t *pt;
		size_t len;
	} *pc, cases[] = {
		{(const uint8_t *)"\xff\xff\xff", 3}, /* not protobuf */
		{(const uint8_t *)"", 0},             /* no signature at all */
		{packed, 0},                          /* 63-byte signature, filled below */
	};

	s.signature.data = sig63;
	s.signature.len = sizeof(sig63);
	size_t plen = piugw__sealed__pack(&s, packed);
	assert_int_equal(envelope_pair_key(party(f, "XA-PIU"),
					   keys_secret_public(party(f, "XB-PIU"))->transport_pk,
					   ENVELOPE_OUTGOING, key), 0);
	assert_int_equal(envelope_header_pack(&h, &hb, &hl), 0);
	ad = malloc(14 + hl);
	memcpy(ad, "piugw v1 aead", 14);
	memcpy(ad + 14, hb, hl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pc = &cases[i];
		size_t len = pc->pt == packed ? plen : pc->len;
		randombytes_buf(nonce, sizeof(nonce));
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
					 ct, &cl, pc->pt, len, ad, 14 + hl, NULL, nonce, key), 0);
		Piugw__Envelope pe = PIUGW__ENVELOPE__INIT;
		pe.header.data = hb;
		pe.header.len = hl;
		pe.nonce.data = nonce;
		pe.nonce.len = 24;
		pe.sealed.data = ct;
		pe.sealed.len = (size_t)cl;
		el = piugw__envelope__get_packed_size(&pe);
		env = malloc(el);
		piugw__envelope__pack(&pe, env);
		assert_int_equal(envelope_open(b, env, el, NULL, &o), PIUGW_EMALFORMED);
		envelope_opened_clear(&o);
		free(env);
	}
	free(ad);
	free(hb);
	envelope_ctx_free(&b);
}

static void
peers_with_weak_or_own_keys_are_refused(void **state)
{
	struct fixture *f = *state;
	struct envelope_ctx *b = ctx_for(f, "XB-PIU");
	struct keys_public weak = *keys_secret_public(party(f, "XC-PIU"));
	struct keys_public bad_id = weak;

	strcpy(weak.id, "XW-PIU");
	memset(weak.transport_pk, 0, 32);
	assert_int_equal(envelope_ctx_add_peer(b, &weak), PIUGW_EWEAKKEY);
	assert_null(envelope_ctx_peer(b, "XW-PIU"));
	assert_int_equal(envelope_ctx_add_peer(b, keys_secret_public(party(f, "XB-PIU"))),
			 PIUGW_EINVAL);
	strcpy(bad_id.id, "no");
	assert_int_equal(envelope_ctx_add_peer(b, &bad_id), PIUGW_EBADID);
	envelope_ctx_free(&b);
	envelope_ctx_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vector_keys_agree),
		cmocka_unit_test(vector_cases_byte_for_byte),
		cmocka_unit_test(vector_negatives_refused),
		cmocka_unit_test(round_trip_both_directions_with_a_real_body),
		cmocka_unit_test(receiving_rules_each_give_their_code),
		cmocka_unit_test(hostile_headers),
		cmocka_unit_test(hostile_envelopes),
		cmocka_unit_test(hostile_plaintexts),
		cmocka_unit_test(peers_with_weak_or_own_keys_are_refused),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
