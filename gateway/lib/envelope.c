/*
 * envelope.c: seal, open, sign, verify; see envelope.h and PROTOCOL.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "envelope.pb-c.h"
#include "piugw/error.h"

#define E2E_LABEL "piugw v1 e2e"
#define SIG_LABEL "piugw v1 sig"
#define AEAD_LABEL "piugw v1 aead"
#define SIG_PREFIX_LEN (sizeof(SIG_LABEL) - 1 + 1 + 4) /* label, 0x00, u32be */
#define AEAD_PREFIX_LEN (sizeof(AEAD_LABEL) - 1 + 1)    /* label, 0x00 */
#define AEAD_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

struct envelope_peer {
	struct keys_public pub;
	uint8_t *keys; /* sodium_malloc: [0,32) key(me -> peer), [32,64) key(peer -> me) */
};

struct envelope_ctx {
	const struct keys_secret *self;
	size_t max_size;
	struct envelope_peer *peers;
	size_t npeers;
	size_t cap;
};

/* See envelope.h. */
int
envelope_ctx_new(const struct keys_secret *self, size_t max_size, struct envelope_ctx **outp)
{
	struct envelope_ctx *ctx;

	*outp = NULL;
	if (self == NULL)
		return PIUGW_EINVAL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return PIUGW_ENOMEM;
	ctx->self = self;
	ctx->max_size = max_size != 0 ? max_size : ENVELOPE_MAX_SIZE_DEFAULT;
	*outp = ctx;
	return 0;
}

static void
peer_wipe(struct envelope_peer *p)
{
	if (p->keys != NULL)
		sodium_free(p->keys);
	p->keys = NULL;
}

/* See envelope.h. */
void
envelope_ctx_free(struct envelope_ctx **ctxp)
{
	struct envelope_ctx *ctx;

	if (ctxp == NULL || *ctxp == NULL)
		return;
	ctx = *ctxp;
	for (size_t i = 0; i < ctx->npeers; i++)
		peer_wipe(&ctx->peers[i]);
	free(ctx->peers);
	free(ctx);
	*ctxp = NULL;
}

static struct envelope_peer *
peer_find(const struct envelope_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->npeers; i++)
		if (strcmp(ctx->peers[i].pub.id, id) == 0)
			return &ctx->peers[i];
	return NULL;
}

/* See envelope.h. */
int
envelope_pair_key(const struct keys_secret *me, const uint8_t peer_pk[KEYS_PUBLIC_BYTES],
		  enum envelope_direction dir, uint8_t key[ENVELOPE_KEY_BYTES])
{
	int ret = PIUGW_EINTERNAL;
	uint8_t shared[32];
	uint8_t msg[sizeof(E2E_LABEL) - 1 + 2 * KEYS_PUBLIC_BYTES];
	const uint8_t *my_pk = keys_secret_public(me)->transport_pk;
	const uint8_t *a_pk = dir == ENVELOPE_OUTGOING ? my_pk : peer_pk;
	const uint8_t *b_pk = dir == ENVELOPE_OUTGOING ? peer_pk : my_pk;

	if ((ret = keys_dh(me, peer_pk, shared)) != 0)
		goto out;
	memcpy(msg, E2E_LABEL, sizeof(E2E_LABEL) - 1);
	memcpy(msg + sizeof(E2E_LABEL) - 1, a_pk, KEYS_PUBLIC_BYTES);
	memcpy(msg + sizeof(E2E_LABEL) - 1 + KEYS_PUBLIC_BYTES, b_pk, KEYS_PUBLIC_BYTES);
	if (crypto_generichash(key, ENVELOPE_KEY_BYTES, msg, sizeof(msg), shared,
			       sizeof(shared)) != 0) { /* fixed lengths: cannot fail */
		ret = PIUGW_EINTERNAL;
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

/* See envelope.h. */
int
envelope_ctx_add_peer(struct envelope_ctx *ctx, const struct keys_public *peer)
{
	int ret = PIUGW_EINTERNAL;
	uint8_t *keys = NULL;
	struct envelope_peer *slot;

	if (!keys_id_valid(peer->id, strnlen(peer->id, sizeof(peer->id))))
		return PIUGW_EBADID;
	if (strcmp(peer->id, keys_secret_public(ctx->self)->id) == 0)
		return PIUGW_EINVAL;
	if ((keys = sodium_malloc(2 * ENVELOPE_KEY_BYTES)) == NULL)
		return PIUGW_ENOMEM;
	if ((ret = envelope_pair_key(ctx->self, peer->transport_pk, ENVELOPE_OUTGOING, keys)) != 0 ||
	    (ret = envelope_pair_key(ctx->self, peer->transport_pk, ENVELOPE_INCOMING,
				     keys + ENVELOPE_KEY_BYTES)) != 0)
		goto out;
	sodium_mprotect_readonly(keys);
	if ((slot = peer_find(ctx, peer->id)) != NULL) {
		peer_wipe(slot);
	} else {
		if (ctx->npeers == ctx->cap) {
			size_t ncap = ctx->cap == 0 ? 8 : ctx->cap * 2;
			struct envelope_peer *np = realloc(ctx->peers, ncap * sizeof(*np));
			if (np == NULL) {
				ret = PIUGW_ENOMEM;
				goto out;
			}
			ctx->peers = np;
			ctx->cap = ncap;
		}
		slot = &ctx->peers[ctx->npeers++];
	}
	slot->pub = *peer;
	slot->keys = keys;
	keys = NULL;
	ret = 0;
out:
	if (keys != NULL)
		sodium_free(keys);
	return ret;
}

/* See envelope.h. */
int
envelope_ctx_remove_peer(struct envelope_ctx *ctx, const char *id)
{
	struct envelope_peer *p = peer_find(ctx, id);

	if (p == NULL)
		return PIUGW_EUNKNOWNSENDER;
	peer_wipe(p);
	*p = ctx->peers[--ctx->npeers];
	return 0;
}

/* See envelope.h. */
const struct keys_public *
envelope_ctx_peer(const struct envelope_ctx *ctx, const char *id)
{
	const struct envelope_peer *p = peer_find(ctx, id);
	return p != NULL ? &p->pub : NULL;
}

/* See envelope.h. */
size_t
envelope_sign_input_len(size_t header_len, size_t body_len)
{
	return SIG_PREFIX_LEN + header_len + body_len;
}

/* See envelope.h. */
void
envelope_sign_input(uint8_t *out, const uint8_t *header, size_t header_len, const uint8_t *body,
		    size_t body_len)
{
	size_t o = sizeof(SIG_LABEL) - 1;

	memcpy(out, SIG_LABEL, o);
	out[o++] = 0x00;
	out[o++] = (uint8_t)(header_len >> 24);
	out[o++] = (uint8_t)(header_len >> 16);
	out[o++] = (uint8_t)(header_len >> 8);
	out[o++] = (uint8_t)header_len;
	if (header_len > 0)
		memcpy(out + o, header, header_len);
	if (body_len > 0)
		memcpy(out + o + header_len, body, body_len);
}

/* The additional data of section 4: "piugw v1 aead" || 0x00 || header. */
static uint8_t *
aead_ad(const uint8_t *header, size_t header_len, size_t *lenp)
{
	uint8_t *ad = malloc(AEAD_PREFIX_LEN + header_len);

	if (ad == NULL)
		return NULL;
	memcpy(ad, AEAD_LABEL, AEAD_PREFIX_LEN - 1);
	ad[AEAD_PREFIX_LEN - 1] = 0x00;
	memcpy(ad + AEAD_PREFIX_LEN, header, header_len);
	*lenp = AEAD_PREFIX_LEN + header_len;
	return ad;
}

/* See envelope.h. */
int
envelope_header_pack(const struct envelope_header *h, uint8_t **outp, size_t *lenp)
{
	Piugw__Header ph = PIUGW__HEADER__INIT;
	uint8_t *buf;
	size_t len;

	*outp = NULL;
	ph.version = h->version;
	ph.sender = (char *)h->sender;
	ph.recipient = (char *)h->recipient;
	ph.message_id.data = (uint8_t *)h->message_id;
	ph.message_id.len = ENVELOPE_MESSAGE_ID_BYTES;
	if (h->has_in_reply_to) {
		ph.in_reply_to.data = (uint8_t *)h->in_reply_to;
		ph.in_reply_to.len = ENVELOPE_MESSAGE_ID_BYTES;
	}
	ph.sent_at_ms = h->sent_at_ms;
	ph.agreement_id = (char *)h->agreement_id;
	if (h->has_agreement_hash) {
		ph.agreement_hash.data = (uint8_t *)h->agreement_hash;
		ph.agreement_hash.len = ENVELOPE_AGREEMENT_HASH_BYTES;
	}
	len = piugw__header__get_packed_size(&ph);
	if ((buf = malloc(len == 0 ? 1 : len)) == NULL)
		return PIUGW_ENOMEM;
	piugw__header__pack(&ph, buf);
	*outp = buf;
	*lenp = len;
	return 0;
}

/* An agreement id: 1 to 64 printable ASCII characters without spaces. */
static bool
agreement_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > ENVELOPE_AGREEMENT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* See envelope.h. */
int
envelope_header_parse(const uint8_t *buf, size_t len, struct envelope_header *h)
{
	int ret = PIUGW_EINTERNAL;
	Piugw__Header *ph = NULL;
	size_t n;

	memset(h, 0, sizeof(*h));
	if ((ph = piugw__header__unpack(NULL, len, buf)) == NULL) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	/* The message id first: whatever is refused after it, the refusal can name it. */
	if (ph->message_id.len != ENVELOPE_MESSAGE_ID_BYTES) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	memcpy(h->message_id, ph->message_id.data, ENVELOPE_MESSAGE_ID_BYTES);
	h->has_message_id = true;
	/* Every field is checked for presence and range before anyone trusts it. */
	n = strlen(ph->sender);
	if (!keys_id_valid(ph->sender, n)) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	memcpy(h->sender, ph->sender, n + 1);
	n = strlen(ph->recipient);
	if (!keys_id_valid(ph->recipient, n)) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	memcpy(h->recipient, ph->recipient, n + 1);
	if (ph->in_reply_to.len != 0) {
		if (ph->in_reply_to.len != ENVELOPE_MESSAGE_ID_BYTES) {
			ret = PIUGW_EMALFORMED;
			goto out;
		}
		h->has_in_reply_to = true;
		memcpy(h->in_reply_to, ph->in_reply_to.data, ENVELOPE_MESSAGE_ID_BYTES);
	}
	if (ph->sent_at_ms <= 0) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	h->sent_at_ms = ph->sent_at_ms;
	/* An agreement id and its hash come together or not at all. */
	n = strlen(ph->agreement_id);
	if (n != 0 || ph->agreement_hash.len != 0) {
		if (!agreement_id_valid(ph->agreement_id, n) ||
		    ph->agreement_hash.len != ENVELOPE_AGREEMENT_HASH_BYTES) {
			ret = PIUGW_EMALFORMED;
			goto out;
		}
		memcpy(h->agreement_id, ph->agreement_id, n + 1);
		h->has_agreement_hash = true;
		memcpy(h->agreement_hash, ph->agreement_hash.data, ENVELOPE_AGREEMENT_HASH_BYTES);
	}
	/* Judged last, so that the caller can still address an Error reply. */
	h->version = ph->version;
	if (ph->version != ENVELOPE_VERSION) {
		ret = PIUGW_EVERSION;
		goto out;
	}
	ret = 0;
out:
	if (ph != NULL)
		piugw__header__free_unpacked(ph, NULL);
	return ret;
}

struct envelope_sealing {
	/* key(me -> peer), copied: the context may be rebuilt before finish (a reload) */
	uint8_t key[ENVELOPE_KEY_BYTES];
	uint8_t *hb;     /* the packed header */
	size_t hlen;
	uint8_t *sin;    /* the signing input of section 5: its tail is the body */
	size_t sin_len;
	size_t body_len;
	size_t max_size;
};

/* See envelope.h. */
void
envelope_sealing_free(struct envelope_sealing **sp)
{
	struct envelope_sealing *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->sin != NULL) { /* it holds the body: personal data */
		sodium_memzero(s->sin, s->sin_len);
		free(s->sin);
	}
	free(s->hb);
	sodium_memzero(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

/* See envelope.h. */
int
envelope_seal_begin(struct envelope_ctx *ctx, const struct envelope_header *h, const uint8_t *body,
		    size_t body_len, struct envelope_sealing **outp)
{
	const struct envelope_peer *peer;
	struct envelope_sealing *s;
	int ret;

	*outp = NULL;
	if (strcmp(h->sender, keys_secret_public(ctx->self)->id) != 0 ||
	    h->version != ENVELOPE_VERSION || (body == NULL && body_len != 0))
		return PIUGW_EINVAL;
	if ((peer = peer_find(ctx, h->recipient)) == NULL)
		return PIUGW_EUNKNOWNSENDER;
	if (body_len > ctx->max_size)
		return PIUGW_ETOOLARGE;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PIUGW_ENOMEM;
	memcpy(s->key, peer->keys, ENVELOPE_KEY_BYTES);
	if ((ret = envelope_header_pack(h, &s->hb, &s->hlen)) != 0)
		goto fail;
	/* Section 5: sign header and body together, so neither can be swapped. */
	s->sin_len = envelope_sign_input_len(s->hlen, body_len);
	if ((s->sin = malloc(s->sin_len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto fail;
	}
	envelope_sign_input(s->sin, s->hb, s->hlen, body, body_len);
	s->body_len = body_len;
	s->max_size = ctx->max_size;
	*outp = s;
	return 0;
fail:
	envelope_sealing_free(&s);
	return ret;
}

/* See envelope.h. */
void
envelope_sealing_input(const struct envelope_sealing *s, const uint8_t **mp, size_t *lenp)
{
	*mp = s->sin;
	*lenp = s->sin_len;
}

/* See envelope.h. */
int
envelope_seal_finish(struct envelope_sealing *s, const uint8_t sig[KEYS_SIGNATURE_BYTES],
		     const uint8_t *nonce, uint8_t **outp, size_t *lenp)
{
	int ret = PIUGW_EINTERNAL;
	uint8_t *pt = NULL, *ct = NULL, *ad = NULL, *env = NULL;
	size_t pt_len = 0, ct_len, ad_len = 0, env_len;
	uint8_t nonce_buf[ENVELOPE_NONCE_BYTES];
	Piugw__Sealed sealed = PIUGW__SEALED__INIT;
	Piugw__Envelope envelope = PIUGW__ENVELOPE__INIT;
	unsigned long long clen = 0;

	*outp = NULL;
	*lenp = 0;
	sealed.body.data = s->sin + s->sin_len - s->body_len;
	sealed.body.len = s->body_len;
	sealed.signature.data = (uint8_t *)sig;
	sealed.signature.len = KEYS_SIGNATURE_BYTES;
	pt_len = piugw__sealed__get_packed_size(&sealed);
	if ((pt = malloc(pt_len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	piugw__sealed__pack(&sealed, pt);

	/* Section 4: encrypt under key(me -> peer), the header as additional data. */
	if (nonce == NULL) {
		randombytes_buf(nonce_buf, sizeof(nonce_buf));
		nonce = nonce_buf;
	}
	if ((ad = aead_ad(s->hb, s->hlen, &ad_len)) == NULL ||
	    (ct = malloc(pt_len + AEAD_TAG_BYTES)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, pt, pt_len, ad, ad_len, NULL,
						       nonce, s->key) != 0) { /* fails only past 256 GiB */
		ret = PIUGW_EINTERNAL;
		goto out;
	}
	ct_len = (size_t)clen;

	envelope.header.data = s->hb;
	envelope.header.len = s->hlen;
	envelope.nonce.data = (uint8_t *)nonce;
	envelope.nonce.len = ENVELOPE_NONCE_BYTES;
	envelope.sealed.data = ct;
	envelope.sealed.len = ct_len;
	env_len = piugw__envelope__get_packed_size(&envelope);
	/* Do not send what the recipient must refuse as TOO_LARGE. */
	if (env_len > s->max_size) {
		ret = PIUGW_ETOOLARGE;
		goto out;
	}
	if ((env = malloc(env_len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	piugw__envelope__pack(&envelope, env);
	*outp = env;
	*lenp = env_len;
	env = NULL;
	ret = 0;
out:
	/* The plaintext holds the body: personal data. */
	if (pt != NULL) {
		sodium_memzero(pt, pt_len);
		free(pt);
	}
	free(ad);
	free(ct);
	free(env);
	return ret;
}

/* See envelope.h. */
int
envelope_seal(struct envelope_ctx *ctx, const struct envelope_header *h, const uint8_t *body,
	      size_t body_len, const uint8_t *nonce, uint8_t **outp, size_t *lenp)
{
	struct envelope_sealing *s = NULL;
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	int ret;

	*outp = NULL;
	*lenp = 0;
	if ((ret = envelope_seal_begin(ctx, h, body, body_len, &s)) == 0 &&
	    (ret = keys_sign(ctx->self, sig, s->sin, s->sin_len)) == 0)
		ret = envelope_seal_finish(s, sig, nonce, outp, lenp);
	envelope_sealing_free(&s);
	return ret;
}

/* See envelope.h. */
void
envelope_opened_clear(struct envelope_opened *o)
{
	if (o == NULL)
		return;
	free(o->header_bytes);
	if (o->body != NULL) {
		sodium_memzero(o->body, o->body_len);
		free(o->body);
	}
	memset(o, 0, sizeof(*o));
}

/* See envelope.h. */
int
envelope_open(struct envelope_ctx *ctx, const uint8_t *buf, size_t len,
	      const struct envelope_open_opts *opts, struct envelope_opened *out)
{
	int ret = PIUGW_EINTERNAL;
	Piugw__Envelope *pe = NULL;
	Piugw__Sealed *ps = NULL;
	const struct envelope_peer *peer;
	uint8_t *ad = NULL, *pt = NULL, *sin = NULL;
	size_t ad_len = 0, pt_len = 0, sin_len = 0;
	unsigned long long plen = 0;
	int64_t window;

	memset(out, 0, sizeof(*out));
	/*
	 * Rule 1: a size limit before anything is parsed. Up to the transport's
	 * slack over it (ZMQ_MAXMSGSIZE) the header is still read, so that the
	 * TOO_LARGE reply names the request; beyond, nothing is parsed.
	 */
	if (len > ctx->max_size + ENVELOPE_SIZE_SLACK) {
		ret = PIUGW_ETOOLARGE;
		goto out;
	}
	/* The header first, whatever is wrong around it: a refusal names the request. */
	if ((pe = piugw__envelope__unpack(NULL, len, buf)) == NULL || pe->header.len == 0)
		ret = PIUGW_EMALFORMED;
	else
		ret = envelope_header_parse(pe->header.data, pe->header.len, &out->header);
	out->id_ok = out->header.has_message_id;
	if (len > ctx->max_size) {
		ret = PIUGW_ETOOLARGE;
		goto out;
	}
	if (ret != 0 && ret != PIUGW_EVERSION)
		goto out;
	out->header_ok = true;
	if ((out->header_bytes = malloc(pe->header.len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	memcpy(out->header_bytes, pe->header.data, pe->header.len);
	out->header_len = pe->header.len;
	if (pe->nonce.len != ENVELOPE_NONCE_BYTES || pe->sealed.len < AEAD_TAG_BYTES) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	if (ret != 0)
		goto out; /* PIUGW_EVERSION */

	/* Rule 2: addressed to us, and sent by whom the transport authenticated. */
	if (strcmp(out->header.recipient, keys_secret_public(ctx->self)->id) != 0) {
		ret = PIUGW_ENOTFORME;
		goto out;
	}
	if (opts != NULL && opts->conn_user_id != NULL &&
	    strcmp(out->header.sender, opts->conn_user_id) != 0) {
		ret = PIUGW_ESENDERMISMATCH;
		goto out;
	}
	/* Rule 3: freshness bounds how long the replay cache must remember. */
	if (opts != NULL && opts->now_ms != 0) {
		window = opts->freshness_ms != 0 ? opts->freshness_ms : ENVELOPE_FRESHNESS_MS_DEFAULT;
		if (out->header.sent_at_ms < opts->now_ms - window ||
		    out->header.sent_at_ms > opts->now_ms + window) {
			ret = PIUGW_ESTALE;
			goto out;
		}
	}
	/* Rule 4: decrypt with key(sender -> us), then verify the signature. */
	if ((peer = peer_find(ctx, out->header.sender)) == NULL) {
		ret = PIUGW_EUNKNOWNSENDER;
		goto out;
	}
	if ((ad = aead_ad(pe->header.data, pe->header.len, &ad_len)) == NULL ||
	    (pt = malloc(pe->sealed.len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, pe->sealed.data,
						       pe->sealed.len, ad, ad_len, pe->nonce.data,
						       peer->keys + ENVELOPE_KEY_BYTES) != 0) {
		ret = PIUGW_EDECRYPT;
		goto out;
	}
	pt_len = (size_t)plen;
	if ((ps = piugw__sealed__unpack(NULL, pt_len, pt)) == NULL ||
	    ps->signature.len != KEYS_SIGNATURE_BYTES) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	sin_len = envelope_sign_input_len(pe->header.len, ps->body.len);
	if ((sin = malloc(sin_len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	envelope_sign_input(sin, pe->header.data, pe->header.len, ps->body.data, ps->body.len);
	if (crypto_sign_verify_detached(ps->signature.data, sin, sin_len, peer->pub.sign_pk) != 0) {
		ret = PIUGW_EBADSIG;
		goto out;
	}
	memcpy(out->signature, ps->signature.data, KEYS_SIGNATURE_BYTES);
	if ((out->body = malloc(ps->body.len == 0 ? 1 : ps->body.len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if (ps->body.len > 0)
		memcpy(out->body, ps->body.data, ps->body.len);
	out->body_len = ps->body.len;
	ret = 0;
out:
	if (ps != NULL) {
		sodium_memzero(ps->body.data, ps->body.len);
		piugw__sealed__free_unpacked(ps, NULL);
	}
	if (pt != NULL) {
		sodium_memzero(pt, pe->sealed.len);
		free(pt);
	}
	if (sin != NULL) {
		sodium_memzero(sin, sin_len);
		free(sin);
	}
	free(ad);
	if (pe != NULL)
		piugw__envelope__free_unpacked(pe, NULL);
	return ret;
}
