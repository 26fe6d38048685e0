/*
 * fuzz_envelope_open.c: envelope_open() as gateway XB-PIU with the real keys
 * of the known-answer vectors, so that a corpus of valid envelopes takes
 * the fuzzer past the AEAD and the signature.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "body.h"
#include "envelope.h"

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

static struct keys_secret *self;
static struct envelope_ctx *ctx;

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
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_opened o;
	Piugw__Body *b = NULL;

	if (ctx == NULL)
		init();
	if (envelope_open(ctx, data, size, NULL, &o) == 0) {
		(void)body_unpack(o.body, o.body_len, &b);
		body_free(&b);
	}
	envelope_opened_clear(&o);
	return 0;
}
