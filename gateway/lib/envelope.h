/*
 * envelope.h: the sealed, signed envelope of PROTOCOL.md sections 3 to 5,
 * and the receiving checks of section 8 that need no stored state.
 *
 * An envelope_ctx holds this gateway's keys (borrowed) and, per peer, the
 * peer's public keys and the two pair keys of section 4, computed once when
 * the peer is added and kept in guarded memory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_ENVELOPE_H
#define PIUGW_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define ENVELOPE_VERSION 1
#define ENVELOPE_NONCE_BYTES 24
#define ENVELOPE_KEY_BYTES 32
#define ENVELOPE_MESSAGE_ID_BYTES 16
#define ENVELOPE_AGREEMENT_HASH_BYTES 32
#define ENVELOPE_AGREEMENT_ID_MAX 64
#define ENVELOPE_MAX_SIZE_DEFAULT (1024 * 1024) /* ZMQ_MAXMSGSIZE default, section 2 */
#define ENVELOPE_FRESHNESS_MS_DEFAULT (300 * 1000)
/* What the ROUTER's ZMQ_MAXMSGSIZE lets in over the limit, to answer TOO_LARGE by name. */
#define ENVELOPE_SIZE_SLACK 4096

/* The Header of section 3, decoded and range-checked. */
struct envelope_header {
	uint32_t version;
	char sender[KEYS_ID_MAX + 1];
	char recipient[KEYS_ID_MAX + 1];
	bool has_message_id; /* set first: a header refused later still names its message */
	uint8_t message_id[ENVELOPE_MESSAGE_ID_BYTES];
	bool has_in_reply_to;
	uint8_t in_reply_to[ENVELOPE_MESSAGE_ID_BYTES];
	int64_t sent_at_ms;
	char agreement_id[ENVELOPE_AGREEMENT_ID_MAX + 1]; /* "" when none */
	bool has_agreement_hash;
	uint8_t agreement_hash[ENVELOPE_AGREEMENT_HASH_BYTES];
};

/* What envelope_open() learnt. Clear with envelope_opened_clear(). */
struct envelope_opened {
	/*
	 * True once the header parsed and its fields are in range, even if a
	 * later check failed: the caller may then address an Error reply to
	 * header.sender about header.message_id.
	 */
	bool header_ok;
	/*
	 * True once header.message_id is known, though the header or the
	 * envelope around it was refused: an Error reply can still name the
	 * request (in_reply_to), as PROTOCOL.md section 11 asks.
	 */
	bool id_ok;
	struct envelope_header header;
	uint8_t *header_bytes; /* exact bytes of Envelope.header, kept for proof */
	size_t header_len;
	uint8_t *body; /* exact bytes of Sealed.body; wiped when cleared */
	size_t body_len;
	uint8_t signature[KEYS_SIGNATURE_BYTES];
};

/* Checks of envelope_open() that depend on the connection or the clock. */
struct envelope_open_opts {
	const char *conn_user_id; /* the connection's ZAP User-Id; NULL: not checked */
	int64_t now_ms;           /* 0: freshness not checked */
	int64_t freshness_ms;     /* window; 0 means ENVELOPE_FRESHNESS_MS_DEFAULT */
};

enum envelope_direction {
	ENVELOPE_OUTGOING, /* key(me -> peer) */
	ENVELOPE_INCOMING, /* key(peer -> me) */
};

struct envelope_ctx;

/*
 * A context for gateway self (borrowed: it must outlive the context),
 * refusing envelopes larger than max_size (0: the default of 1 MiB).
 */
int envelope_ctx_new(const struct keys_secret *self, size_t max_size,
		     struct envelope_ctx **outp);

/* Wipe every pair key, free ctx, set *ctxp to NULL. NULL is fine. */
void envelope_ctx_free(struct envelope_ctx **ctxp);

/*
 * Add (or replace) a peer and compute its pair keys now. Refuses a peer
 * whose transport key is a low-order point (PIUGW_EWEAKKEY) and a peer that
 * claims our own id (PIUGW_EINVAL).
 */
int envelope_ctx_add_peer(struct envelope_ctx *ctx, const struct keys_public *peer);

/* Forget a peer and wipe its pair keys. Returns PIUGW_EUNKNOWNSENDER if absent. */
int envelope_ctx_remove_peer(struct envelope_ctx *ctx, const char *id);

/* The peer's public keys, or NULL. Valid until the peer is removed or replaced. */
const struct keys_public *envelope_ctx_peer(const struct envelope_ctx *ctx, const char *id);

/*
 * The pair key of section 4: BLAKE2b-256(key = X25519(a, B_pk),
 * "piugw v1 e2e" || A_pk || B_pk) where A sends to B. Exposed for
 * known-answer tests; the context caches these.
 */
int envelope_pair_key(const struct keys_secret *me, const uint8_t peer_pk[KEYS_PUBLIC_BYTES],
		      enum envelope_direction dir, uint8_t key[ENVELOPE_KEY_BYTES]);

/* Length of the signing input of section 5 for the given header and body. */
size_t envelope_sign_input_len(size_t header_len, size_t body_len);

/*
 * Write the signing input of section 5 into out (envelope_sign_input_len()
 * bytes): "piugw v1 sig" || 0x00 || u32be(len(header)) || header || body.
 */
void envelope_sign_input(uint8_t *out, const uint8_t *header, size_t header_len,
			 const uint8_t *body, size_t body_len);

/* Serialize a header exactly as envelope_seal() does; caller frees *outp. */
int envelope_header_pack(const struct envelope_header *h, uint8_t **outp, size_t *lenp);

/*
 * Parse and range-check header bytes: version, ids, message id and reply id
 * lengths, agreement id and hash. Returns 0, PIUGW_EMALFORMED or
 * PIUGW_EVERSION (the header is filled in before the version is judged).
 */
int envelope_header_parse(const uint8_t *buf, size_t len, struct envelope_header *h);

/*
 * Seal and sign body for h->recipient. h->sender must be this gateway, the
 * recipient a known peer (PIUGW_EUNKNOWNSENDER otherwise). nonce: 24 bytes,
 * or NULL for fresh random ones (always, outside known-answer tests).
 * On success *outp (malloc, caller frees) holds the serialized Envelope.
 * Refuses with PIUGW_ETOOLARGE an envelope the recipient would refuse.
 */
int envelope_seal(struct envelope_ctx *ctx, const struct envelope_header *h, const uint8_t *body,
		  size_t body_len, const uint8_t *nonce, uint8_t **outp, size_t *lenp);

/*
 * The same in two steps, for a signer that signs many at once (piugwd's key
 * holder, a turn's replies in one round trip): begin checks and packs what
 * is signed (envelope_sealing_input: valid while s lives); finish takes its
 * signature and encrypts. envelope_seal is begin, keys_sign, finish.
 */
struct envelope_sealing;
int envelope_seal_begin(struct envelope_ctx *ctx, const struct envelope_header *h, const uint8_t *body,
			size_t body_len, struct envelope_sealing **outp);
void envelope_sealing_input(const struct envelope_sealing *s, const uint8_t **mp, size_t *lenp);
int envelope_seal_finish(struct envelope_sealing *s, const uint8_t sig[KEYS_SIGNATURE_BYTES],
			 const uint8_t *nonce, uint8_t **outp, size_t *lenp);
void envelope_sealing_free(struct envelope_sealing **sp);

/*
 * Open an envelope received by this gateway, applying in order the checks of
 * section 8 that need no stored state: size; Envelope and Header parse;
 * version; recipient is us; sender is the connection's User-Id (if given);
 * freshness (if now_ms given); the sender is a known peer; decryption with
 * key(sender -> us); Sealed parses; the signature verifies with the sender's
 * signing key. Replay (rule 5) and agreements (rule 6) are the caller's.
 *
 * Returns 0 with out filled, or the error of the first failed check; out is
 * filled as far as it got (see header_ok). Clear out in either case.
 * It only reads ctx: threads may open envelopes with one ctx at the same
 * time, as long as none changes it meanwhile (envelope_ctx_add_peer...).
 */
int envelope_open(struct envelope_ctx *ctx, const uint8_t *buf, size_t len,
		  const struct envelope_open_opts *opts, struct envelope_opened *out);

/* Free and wipe what envelope_open() put in o. Safe to call twice. */
void envelope_opened_clear(struct envelope_opened *o);

#endif /* PIUGW_ENVELOPE_H */
