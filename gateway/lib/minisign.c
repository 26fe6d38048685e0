/*
 * minisign.c: see minisign.h. Layouts as in minisign's src/minisign.h:
 *   public key  "Ed" || keynum[8] || pk[32]
 *   signature   "ED" || keynum[8] || sig[64], sig over BLAKE2b-512(msg)
 *   global sig  Ed25519 over sig[64] || trusted comment
 *   secret key  "Ed" || kdf "Sc"/"\0\0" || "B2" || salt[32] || ops[8 LE] ||
 *               mem[8 LE] || (keynum[8] || sk[64] || chk[32]) XOR scrypt
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fileio.h"
#include "minisign.h"
#include "piugw/error.h"

#define UNTRUSTED "untrusted comment: "
#define TRUSTED "trusted comment: "
#define PK_BYTES (2 + MINISIGN_KEYNUM_BYTES + 32)
#define SIG_BYTES (2 + MINISIGN_KEYNUM_BYTES + 64)
#define SK_BYTES (2 + 2 + 2 + 32 + 8 + 8 + MINISIGN_KEYNUM_BYTES + 64 + 32)
#define SK_SECRET_OFF (2 + 2 + 2 + 32 + 8 + 8)
#define SK_SECRET_LEN (MINISIGN_KEYNUM_BYTES + 64 + 32)

struct minisign_seckey {
	uint8_t keynum[MINISIGN_KEYNUM_BYTES];
	uint8_t sk[64];
};

struct lines {
	const char *p[6];
	size_t len[6];
	size_t n;
};

/* Split text into at most 6 lines (CR stripped, trailing blank lines dropped). */
static bool
split_lines(const char *text, size_t len, struct lines *l)
{
	const char *p = text, *end = text + len;

	memset(l, 0, sizeof(*l));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (l->n == 6)
			return n == 0 && (nl == NULL || nl + 1 == end);
		l->p[l->n] = p;
		l->len[l->n++] = n;
		p += n + (nl != NULL ? 1 : 0);
		if (nl != NULL && p < end && p[0] == '\r')
			p++;
	}
	while (l->n > 0 && l->len[l->n - 1] == 0)
		l->n--;
	return true;
}

static bool
starts_with(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(p, prefix, n) == 0;
}

/* Decode one base64 line of exactly want bytes into out. */
static bool
b64_line(const char *p, size_t len, uint8_t *out, size_t want)
{
	size_t got = 0;
	const char *end = NULL;

	if (sodium_base642bin(out, want, p, len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return got == want && end == p + len;
}

/* See minisign.h. */
void
minisign_keyid_hex(const uint8_t keynum[MINISIGN_KEYNUM_BYTES], char out[17])
{
	/* minisign prints the little-endian 64-bit key number in upper-case hex. */
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02X", keynum[7 - i]);
}

/* See minisign.h. */
int
minisign_pubkey_parse(const char *text, size_t len, const char *label,
		      struct minisign_pubkey *out, struct diag *d)
{
	struct lines l;
	uint8_t raw[PK_BYTES];
	size_t i = 0;

	if (!split_lines(text, len, &l) || l.n == 0) {
		diag_add(d, "%s: not a minisign public key file", label);
		return PIUGW_ESIGFILE;
	}
	if (starts_with(l.p[0], l.len[0], UNTRUSTED))
		i = 1;
	if (i >= l.n || l.n > i + 1 || !b64_line(l.p[i], l.len[i], raw, sizeof(raw))) {
		diag_add(d, "%s:%zu: expected the base64 line of a minisign public key "
			    "(as 'minisign -G' writes it)", label, i + 1);
		return PIUGW_ESIGFILE;
	}
	if (memcmp(raw, "Ed", 2) != 0) {
		diag_add(d, "%s:%zu: unsupported key algorithm '%.2s'; expected an Ed25519 minisign "
			    "key", label, i + 1, (const char *)raw);
		return PIUGW_ESIGFILE;
	}
	memcpy(out->keynum, raw + 2, MINISIGN_KEYNUM_BYTES);
	memcpy(out->pk, raw + 2 + MINISIGN_KEYNUM_BYTES, 32);
	return 0;
}

/* See minisign.h. */
int
minisign_pubkey_load(const char *path, struct minisign_pubkey *out, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if ((ret = fileio_read(path, MINISIGN_FILE_MAX, 0, &buf, &len, d)) != 0)
		return ret;
	ret = minisign_pubkey_parse((const char *)buf, len, path, out, d);
	fileio_free(buf, len, 0);
	return ret;
}

/* See minisign.h. */
int
minisign_verify(const struct minisign_pubkey *pk, const uint8_t *msg, size_t msg_len,
		const char *sig_text, size_t sig_len, const char *label, char **trusted_commentp,
		struct diag *d)
{
	struct lines l;
	uint8_t sig[SIG_BYTES], global[64], hash[crypto_generichash_BYTES_MAX];
	uint8_t *gmsg = NULL;
	const char *tc;
	size_t tc_len;
	char want[17], got[17];
	int ret = PIUGW_EINTERNAL;

	if (trusted_commentp != NULL)
		*trusted_commentp = NULL;
	if (!split_lines(sig_text, sig_len, &l) || l.n != 4 ||
	    !starts_with(l.p[0], l.len[0], UNTRUSTED) ||
	    !starts_with(l.p[2], l.len[2], TRUSTED)) {
		diag_add(d, "%s: not a minisign signature: expected four lines (untrusted comment, "
			    "signature, trusted comment, global signature)", label);
		return PIUGW_ESIGFILE;
	}
	if (!b64_line(l.p[1], l.len[1], sig, sizeof(sig))) {
		diag_add(d, "%s:2: the signature line is not valid base64 of %d bytes", label,
			 SIG_BYTES);
		return PIUGW_ESIGFILE;
	}
	if (!b64_line(l.p[3], l.len[3], global, sizeof(global))) {
		diag_add(d, "%s:4: the global signature line is not valid base64 of 64 bytes", label);
		return PIUGW_ESIGFILE;
	}
	if (memcmp(sig, "Ed", 2) == 0) {
		diag_add(d, "%s: legacy (non-prehashed) minisign signature; sign again with "
			    "minisign 0.10 or later without -l, or with 'piugw directory sign'", label);
		return PIUGW_ELEGACYSIG;
	}
	if (memcmp(sig, "ED", 2) != 0) {
		diag_add(d, "%s:2: unknown signature algorithm '%.2s'", label, (const char *)sig);
		return PIUGW_ESIGFILE;
	}
	if (memcmp(sig + 2, pk->keynum, MINISIGN_KEYNUM_BYTES) != 0) {
		minisign_keyid_hex(pk->keynum, want);
		minisign_keyid_hex(sig + 2, got);
		diag_add(d, "%s: signed with key %s, but the trusted key is %s", label, got, want);
		return PIUGW_EKEYID;
	}
	crypto_generichash(hash, crypto_generichash_BYTES_MAX, msg, msg_len, NULL, 0);
	if (crypto_sign_verify_detached(sig + 2 + MINISIGN_KEYNUM_BYTES, hash,
					crypto_generichash_BYTES_MAX, pk->pk) != 0) {
		diag_add(d, "%s: signature verification failed: the file was changed after it was "
			    "signed, or the signature belongs to another file", label);
		return PIUGW_EBADSIG;
	}
	/* The trusted comment is authenticated by the global signature. */
	tc = l.p[2] + strlen(TRUSTED);
	tc_len = l.len[2] - strlen(TRUSTED);
	if ((gmsg = malloc(64 + tc_len)) == NULL)
		return PIUGW_ENOMEM;
	memcpy(gmsg, sig + 2 + MINISIGN_KEYNUM_BYTES, 64);
	memcpy(gmsg + 64, tc, tc_len);
	if (crypto_sign_verify_detached(global, gmsg, 64 + tc_len, pk->pk) != 0) {
		diag_add(d, "%s: the trusted comment was changed after signing", label);
		ret = PIUGW_EBADSIG;
		goto out;
	}
	if (trusted_commentp != NULL) {
		if ((*trusted_commentp = malloc(tc_len + 1)) == NULL) {
			ret = PIUGW_ENOMEM;
			goto out;
		}
		memcpy(*trusted_commentp, tc, tc_len);
		(*trusted_commentp)[tc_len] = '\0';
	}
	ret = 0;
out:
	free(gmsg);
	return ret;
}

/* The decoded 158-byte secret key blob, in guarded memory. */
static int
seckey_blob(const char *text, size_t len, const char *label, uint8_t *raw, struct diag *d)
{
	struct lines l;
	size_t i = 0;

	if (!split_lines(text, len, &l) || l.n == 0) {
		diag_add(d, "%s: not a minisign secret key file", label);
		return PIUGW_ESIGFILE;
	}
	if (starts_with(l.p[0], l.len[0], UNTRUSTED))
		i = 1;
	if (i >= l.n || !b64_line(l.p[i], l.len[i], raw, SK_BYTES) || memcmp(raw, "Ed", 2) != 0 ||
	    memcmp(raw + 4, "B2", 2) != 0) {
		diag_add(d, "%s: not a minisign secret key (as 'minisign -G' writes it)", label);
		return PIUGW_ESIGFILE;
	}
	if (memcmp(raw + 2, "Sc", 2) != 0 && memcmp(raw + 2, "\0\0", 2) != 0) {
		diag_add(d, "%s: unknown key derivation '%.2s'", label, (const char *)raw + 2);
		return PIUGW_ESIGFILE;
	}
	return 0;
}

/* See minisign.h. */
int
minisign_seckey_encrypted(const char *text, size_t len)
{
	uint8_t *raw = sodium_malloc(SK_BYTES);
	int enc;

	if (raw == NULL)
		return PIUGW_ENOMEM;
	enc = seckey_blob(text, len, "", raw, NULL);
	if (enc == 0)
		enc = memcmp(raw + 2, "Sc", 2) == 0;
	sodium_free(raw);
	return enc;
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* See minisign.h. */
int
minisign_seckey_parse(const char *text, size_t len, const char *label, const char *password,
		      struct minisign_seckey **outp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	uint8_t *raw = sodium_malloc(SK_BYTES);
	uint8_t *stream = sodium_malloc(SK_SECRET_LEN);
	struct minisign_seckey *k = sodium_malloc(sizeof(*k));
	uint8_t chk[32], pk[32];
	crypto_generichash_state hs;

	*outp = NULL;
	if (raw == NULL || stream == NULL || k == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if ((ret = seckey_blob(text, len, label, raw, d)) != 0)
		goto out;
	if (memcmp(raw + 2, "Sc", 2) == 0) {
		if (password == NULL) {
			diag_add(d, "%s: the key is password-protected; give the password", label);
			ret = PIUGW_EPASSWORD;
			goto out;
		}
		if (crypto_pwhash_scryptsalsa208sha256(stream, SK_SECRET_LEN, password,
						       strlen(password), raw + 6, le64(raw + 38),
						       (size_t)le64(raw + 46)) != 0) {
			diag_add(d, "%s: key derivation failed (not enough memory?)", label);
			ret = PIUGW_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < SK_SECRET_LEN; i++)
			raw[SK_SECRET_OFF + i] ^= stream[i];
		/* The checksum tells a wrong password from a right one. */
		crypto_generichash_init(&hs, NULL, 0, sizeof(chk));
		crypto_generichash_update(&hs, raw, 2);
		crypto_generichash_update(&hs, raw + SK_SECRET_OFF, MINISIGN_KEYNUM_BYTES + 64);
		crypto_generichash_final(&hs, chk, sizeof(chk));
		if (sodium_memcmp(chk, raw + SK_SECRET_OFF + MINISIGN_KEYNUM_BYTES + 64, 32) != 0) {
			diag_add(d, "%s: wrong password for this key", label);
			ret = PIUGW_EPASSWORD;
			goto out;
		}
	}
	memcpy(k->keynum, raw + SK_SECRET_OFF, MINISIGN_KEYNUM_BYTES);
	memcpy(k->sk, raw + SK_SECRET_OFF + MINISIGN_KEYNUM_BYTES, 64);
	/* An Ed25519 secret key is seed || public: check they belong together. */
	/* raw is done with; it takes the re-derived secret key. */
	if (crypto_sign_seed_keypair(pk, raw, k->sk) != 0 ||
	    sodium_memcmp(pk, k->sk + 32, 32) != 0) {
		diag_add(d, "%s: the secret key is damaged", label);
		ret = PIUGW_ESIGFILE;
		goto out;
	}
	sodium_mprotect_readonly(k);
	*outp = k;
	k = NULL;
	ret = 0;
out:
	if (raw != NULL)
		sodium_free(raw);
	if (stream != NULL)
		sodium_free(stream);
	if (k != NULL)
		sodium_free(k);
	return ret;
}

/* See minisign.h. */
void
minisign_seckey_free(struct minisign_seckey **kp)
{
	if (kp == NULL || *kp == NULL)
		return;
	sodium_free(*kp);
	*kp = NULL;
}

/* See minisign.h. */
int
minisign_sign(const struct minisign_seckey *k, const uint8_t *msg, size_t msg_len,
	      const char *trusted_comment, char **outp)
{
	uint8_t sig[SIG_BYTES], global[64], hash[crypto_generichash_BYTES_MAX];
	uint8_t *gmsg = NULL;
	char sig_b64[sodium_base64_ENCODED_LEN(SIG_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char glob_b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	char keyid[17];
	size_t tc_len = strlen(trusted_comment), cap;
	char *out = NULL;
	int ret = PIUGW_EINTERNAL;

	*outp = NULL;
	if (strchr(trusted_comment, '\n') != NULL || strchr(trusted_comment, '\r') != NULL)
		return PIUGW_EINVAL;
	memcpy(sig, "ED", 2);
	memcpy(sig + 2, k->keynum, MINISIGN_KEYNUM_BYTES);
	crypto_generichash(hash, crypto_generichash_BYTES_MAX, msg, msg_len, NULL, 0);
	crypto_sign_detached(sig + 2 + MINISIGN_KEYNUM_BYTES, NULL, hash,
			     crypto_generichash_BYTES_MAX, k->sk);
	if ((gmsg = malloc(64 + tc_len)) == NULL)
		return PIUGW_ENOMEM;
	memcpy(gmsg, sig + 2 + MINISIGN_KEYNUM_BYTES, 64);
	memcpy(gmsg + 64, trusted_comment, tc_len);
	crypto_sign_detached(global, NULL, gmsg, 64 + tc_len, k->sk);
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(glob_b64, sizeof(glob_b64), global, sizeof(global),
			  sodium_base64_VARIANT_ORIGINAL);
	minisign_keyid_hex(k->keynum, keyid);
	cap = 128 + sizeof(sig_b64) + tc_len + sizeof(glob_b64);
	if ((out = malloc(cap)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	snprintf(out, cap, "untrusted comment: signature from minisign secret key %s\n%s\n"
			   "trusted comment: %s\n%s\n", keyid, sig_b64, trusted_comment, glob_b64);
	*outp = out;
	ret = 0;
out:
	free(gmsg);
	return ret;
}
