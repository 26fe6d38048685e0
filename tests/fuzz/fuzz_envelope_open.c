/*
 * fuzz_envelope_open.c: envelope_open() as gateway XB-PIU with the real keys
 * of the known-answer vectors, so that a corpus of valid envelopes takes
 * the fuzzer past the AEAD and the signature.
 *
 * Plaintext mode: an input whose first byte is 0xFF is not an envelope but
 * the body of one. It is sealed and signed with XA-PIU's real keys, opened
 * as XB-PIU (which must succeed and give back the same bytes), and parsed
 * and checked as the daemon would, so the fuzzer mutates what lies behind
 * the AEAD directly.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "body.h"
#include "envelope.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public test keys from tests/vectors/envelope-v1.json; never used outside tests. */
static const char *const xb_transport_sk =
	"9dfa2534908e0343414b06886352076e9c4353eac719b522dc540aef5ee536bf";
static const char *const xb_sign_sk =
	"fca739010af4129bcaf73781f6864139311bf5b8eb6a4ab6694a3b25f82ea9be"
	"366487f44b3cf39a65eeb02b71a7abc21c7c166f0c1abc423fc86806a857b58f";
static const char *const peers[][3] = {
	{"XA-PIU", "3385f5326ceddb145337c6db7f88e917d90bb9a37d3c91901e11b0d1ce05a178",
	 "27b9066cba5cdbcb60d0e1fe8c9a6e13b736cce9e202db80264c1a264d13a8c3"},
	{"XC-PIU", "1f302a97f4645de52a638ec738c11a0ef72b5d7115db992e671cb7a124775903",
	 "6188a4a740ab490177bf13229a2b15ad0fec84c70ecef96516226152949991e7"},
};

/* XA-PIU's secret keys, for the plaintext mode (same vectors). */
static const char *const xa_transport_sk =
	"4b450402a2e2110addf8d261b97c5288ed9e16ca2ca27ce03be91bab49f5230d";
static const char *const xa_sign_sk =
	"4b4f83b71909638efc66c6b50c6b5fd524d5d0aac44447ee8fd72de963caf2ab"
	"27b9066cba5cdbcb60d0e1fe8c9a6e13b736cce9e202db80264c1a264d13a8c3";

static struct keys_secret *self, *xa;
static struct envelope_ctx *ctx, *xa_ctx;

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
	if (sodium_hex2bin(out, n, hex, strlen(hex), NULL, NULL, NULL) != 0)
		abort();
}

static void
init(void)
{
	uint8_t tsk[32], ssk[64];

	if (sodium_init() < 0)
		abort();
	unhex(tsk, 32, xb_transport_sk);
	unhex(ssk, 64, xb_sign_sk);
	if (keys_from_raw("XB-PIU", tsk, ssk, &self) != 0 || envelope_ctx_new(self, 0, &ctx) != 0)
		abort();
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		struct keys_public p;
		memset(&p, 0, sizeof(p));
		strcpy(p.id, peers[i][0]);
		unhex(p.transport_pk, 32, peers[i][1]);
		unhex(p.sign_pk, 32, peers[i][2]);
		if (envelope_ctx_add_peer(ctx, &p) != 0)
			abort();
	}
	unhex(tsk, 32, xa_transport_sk);
	unhex(ssk, 64, xa_sign_sk);
	if (keys_from_raw("XA-PIU", tsk, ssk, &xa) != 0 || envelope_ctx_new(xa, 0, &xa_ctx) != 0 ||
	    envelope_ctx_add_peer(xa_ctx, keys_secret_public(self)) != 0)
		abort();
}

/* Seal body as XA-PIU to XB-PIU, open it as XB-PIU, then do what piugwd does with it. */
static void
plaintext(const uint8_t *body, size_t len)
{
	struct envelope_header h;
	struct envelope_opened o;
	Piugw__Body *b = NULL;
	uint8_t *env = NULL;
	size_t env_len = 0;

	memset(&h, 0, sizeof(h));
	h.version = 1;
	strcpy(h.sender, "XA-PIU");
	strcpy(h.recipient, "XB-PIU");
	memset(h.message_id, 0x42, sizeof(h.message_id));
	h.sent_at_ms = 1811851200000LL;
	if (envelope_seal(xa_ctx, &h, body, len, NULL, &env, &env_len) != 0)
		return; /* too large for an envelope */
	if (envelope_open(ctx, env, env_len, NULL, &o) != 0 || o.body_len != len ||
	    (len > 0 && memcmp(o.body, body, len) != 0))
		abort(); /* what one gateway seals the other must open, unchanged */
	if (body_unpack(o.body, o.body_len, &b) == 0 && b->kind_case == PIUGW__BODY__KIND_QUERY) {
		struct policy_request req = {0};
		char why[200] = "";
		if (!policy_from_query(b->query, &req, why, sizeof(why)) && why[0] == '\0')
			abort();
	}
	body_free(&b);
	envelope_opened_clear(&o);
	free(env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_opened o;
	Piugw__Body *b = NULL;

	if (ctx == NULL)
		init();
	if (size > 0 && data[0] == 0xFF) {
		plaintext(data + 1, size - 1);
		return 0;
	}
	if (envelope_open(ctx, data, size, NULL, &o) == 0) {
		(void)body_unpack(o.body, o.body_len, &b);
		body_free(&b);
	}
	envelope_opened_clear(&o);
	return 0;
}
