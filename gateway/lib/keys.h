/*
 * keys.h: a gateway's key pairs and their certificate files.
 *
 * A gateway holds an X25519 transport key (ZeroMQ CURVE, and the pair keys
 * of PROTOCOL.md section 4) and an Ed25519 signing key. Both live in the
 * ZeroMQ certificate files that czmq's zcert reads and writes (ZPL, ZeroMQ
 * RFC 4), laid out as PROTOCOL.md section 1 says:
 *
 *   <id>.cert          gateway-id, sign-public-key (metadata); public-key (curve)
 *   <id>.cert_secret   the same, plus sign-secret-key and secret-key, mode 0600
 *
 * Secret keys are only ever held in sodium_malloc memory: the transport
 * secret is inaccessible except while a shared secret is computed, the
 * signing secret except while a signature is made, and both are wiped when
 * freed. The ZPL reader
 * is our own (and small) because czmq's zconfig would copy the secrets into
 * ordinary heap memory that zcert_destroy never wipes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_KEYS_H
#define PIUGW_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define KEYS_ID_MIN 3
#define KEYS_ID_MAX 32
#define KEYS_PUBLIC_BYTES 32
#define KEYS_TRANSPORT_SECRET_BYTES 32
#define KEYS_SIGN_SECRET_BYTES 64
#define KEYS_SIGNATURE_BYTES 64
#define KEYS_FILE_MAX (64 * 1024) /* a certificate is a few hundred bytes */

/* A member's public identity: what its .cert file says. */
struct keys_public {
	char id[KEYS_ID_MAX + 1];
	uint8_t transport_pk[KEYS_PUBLIC_BYTES];
	uint8_t sign_pk[KEYS_PUBLIC_BYTES];
};

struct keys_secret; /* this gateway's own keys; opaque, secrets guarded */

/*
 * True if id is a gateway id of PROTOCOL.md section 1: 3 to 32 characters
 * from A-Z 0-9 . _ -.
 */
bool keys_id_valid(const char *id, size_t len);

/* Generate fresh key pairs for gateway id. */
int keys_generate(const char *id, struct keys_secret **outp);

/*
 * Build keys from raw libsodium secrets (X25519 32-byte scalar, Ed25519
 * 64-byte seed||public), deriving and checking the public keys. For key
 * import and known-answer tests.
 */
int keys_from_raw(const char *id, const uint8_t transport_sk[KEYS_TRANSPORT_SECRET_BYTES],
		  const uint8_t sign_sk[KEYS_SIGN_SECRET_BYTES], struct keys_secret **outp);

/* The public half of k; valid while k lives. */
const struct keys_public *keys_secret_public(const struct keys_secret *k);

/* Wipe and free k, and set *kp to NULL. NULL and *kp == NULL are fine. */
void keys_secret_free(struct keys_secret **kp);

/*
 * Write <dir>/<id>.cert_secret (O_CREAT|O_EXCL, mode 0600) and
 * <dir>/<id>.cert (mode 0644). Refuses, with PIUGW_EEXIST, if either exists;
 * on failure neither file is left behind.
 */
int keys_save(const struct keys_secret *k, const char *dir, struct diag *d);

/*
 * Load a public certificate (either file of a pair; a secret file's secrets
 * are ignored but its public keys read). name labels diagnostics.
 * Returns 0, PIUGW_EKEYFILE (details in d), or a fileio error.
 */
int keys_public_load(const char *path, struct keys_public *out, struct diag *d);
int keys_public_parse(const char *text, size_t len, const char *name, struct keys_public *out,
		      struct diag *d);

/*
 * Load a secret certificate. The file must not be readable by group or
 * others (PIUGW_EKEYPERM, with how to fix it in d), and its secrets must
 * match its public keys (PIUGW_EKEYMISMATCH).
 */
int keys_secret_load(const char *path, struct keys_secret **outp, struct diag *d);
int keys_secret_parse(const char *text, size_t len, const char *name, struct keys_secret **outp,
		      struct diag *d);

/*
 * X25519 of our transport secret and a peer's public key. Refuses a peer key
 * that yields the all-zero shared secret (PIUGW_EWEAKKEY). Thread-safe.
 */
int keys_dh(const struct keys_secret *k, const uint8_t peer_pk[KEYS_PUBLIC_BYTES],
	    uint8_t shared[32]);

/*
 * Call fn with the transport secret made readable for the duration of the
 * call (e.g. to hand it to ZMQ_CURVE_SECRETKEY, which copies it); fn must
 * not keep the pointer. Returns what fn returns.
 */
int keys_with_transport_secret(const struct keys_secret *k,
			       int (*fn)(const uint8_t sk[KEYS_TRANSPORT_SECRET_BYTES], void *ctx),
			       void *ctx);

/*
 * Ed25519 detached signature of m with our signing key (made readable for
 * the call only), or by whoever it was delegated to. Thread-safe.
 */
int keys_sign(const struct keys_secret *k, uint8_t sig[KEYS_SIGNATURE_BYTES], const uint8_t *m,
	      size_t mlen);

/*
 * From now on k signs through fn (piugwd: its key holder process, see
 * keyholder.h): the signing secret is wiped and unmapped here, the public
 * keys and the transport secret stay. fn returns 0 or an error of error.h.
 */
/*
 * Wipe and unmap the transport secret (piugwd's key holder, which signs and
 * never speaks CURVE): keys_dh and keys_with_transport_secret fail with
 * PIUGW_EINVAL from then on.
 */
void keys_secret_forget_transport(struct keys_secret *k);

typedef int (*keys_sign_fn)(void *ctx, uint8_t sig[KEYS_SIGNATURE_BYTES], const uint8_t *m,
			    size_t mlen);
void keys_secret_delegate_sign(struct keys_secret *k, keys_sign_fn fn, void *ctx);

#endif /* PIUGW_KEYS_H */
