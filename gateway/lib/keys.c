/*
 * keys.c: key pairs and ZPL certificate files; see keys.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "encoding.h"
#include "fileio.h"
#include "keys.h"
#include "piugw/error.h"

struct keys_secret {
	struct keys_public pub;
	uint8_t *transport_sk; /* sodium_malloc; PROT_NONE while idle; NULL once forgotten */
	uint8_t *sign_sk;      /* sodium_malloc; PROT_NONE while idle; NULL once delegated */
	keys_sign_fn sign_fn;  /* who signs once sign_sk is gone (keys_secret_delegate_sign) */
	void *sign_ctx;
	pthread_mutex_t dh_lock; /* the secrets' page rights */
};

#define Z85_KEY_LEN Z85_LEN(32)      /* 40 */
#define Z85_SIGN_SK_LEN Z85_LEN(64)  /* 80 */

/* See keys.h. */
bool
keys_id_valid(const char *id, size_t len)
{
	if (id == NULL || len < KEYS_ID_MIN || len > KEYS_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* A new, empty keys_secret with its guarded regions allocated. */
static int
keys_secret_alloc(struct keys_secret **outp)
{
	struct keys_secret *k = calloc(1, sizeof(*k));

	*outp = NULL;
	if (k == NULL)
		return PIUGW_ENOMEM;
	k->transport_sk = sodium_malloc(KEYS_TRANSPORT_SECRET_BYTES);
	k->sign_sk = sodium_malloc(KEYS_SIGN_SECRET_BYTES);
	if (k->transport_sk == NULL || k->sign_sk == NULL ||
	    pthread_mutex_init(&k->dh_lock, NULL) != 0) {
		sodium_free(k->transport_sk);
		sodium_free(k->sign_sk);
		free(k);
		return PIUGW_ENOMEM;
	}
	*outp = k;
	return 0;
}

/*
 * Derive the public keys from the secrets now in k, compare them with the
 * ones claimed (if any), then lock the secrets away.
 */
static int
keys_secret_seal(struct keys_secret *k, bool check_claimed)
{
	uint8_t tpk[32], spk[32];
	unsigned char seed_pk[32], seed_sk[64];
	int ret = PIUGW_EINTERNAL;

	if (crypto_scalarmult_base(tpk, k->transport_sk) != 0)
		goto out;
	/* An Ed25519 secret key is seed || public: re-derive both from the seed. */
	if (crypto_sign_seed_keypair(seed_pk, seed_sk, k->sign_sk) != 0)
		goto out;
	memcpy(spk, seed_pk, 32);
	if (sodium_memcmp(seed_sk + 32, k->sign_sk + 32, 32) != 0) {
		ret = PIUGW_EKEYMISMATCH;
		goto out;
	}
	if (check_claimed && (sodium_memcmp(tpk, k->pub.transport_pk, 32) != 0 ||
			      sodium_memcmp(spk, k->pub.sign_pk, 32) != 0)) {
		ret = PIUGW_EKEYMISMATCH;
		goto out;
	}
	memcpy(k->pub.transport_pk, tpk, 32);
	memcpy(k->pub.sign_pk, spk, 32);
	sodium_mprotect_noaccess(k->transport_sk);
	sodium_mprotect_noaccess(k->sign_sk);
	ret = 0;
out:
	sodium_memzero(seed_sk, sizeof(seed_sk));
	return ret;
}

/* See keys.h. */
void
keys_secret_free(struct keys_secret **kp)
{
	struct keys_secret *k;

	if (kp == NULL || *kp == NULL)
		return;
	k = *kp;
	if (k->transport_sk != NULL)
		sodium_free(k->transport_sk); /* sodium_free makes it writable, then wipes */
	if (k->sign_sk != NULL)
		sodium_free(k->sign_sk);
	pthread_mutex_destroy(&k->dh_lock);
	sodium_memzero(k, sizeof(*k));
	free(k);
	*kp = NULL;
}

/* See keys.h. */
const struct keys_public *
keys_secret_public(const struct keys_secret *k)
{
	return &k->pub;
}

/* See keys.h. */
int
keys_generate(const char *id, struct keys_secret **outp)
{
	int ret = PIUGW_EINTERNAL;
	struct keys_secret *k = NULL;
	unsigned char spk[32];

	*outp = NULL;
	if (!keys_id_valid(id, strlen(id)))
		return PIUGW_EBADID;
	if ((ret = keys_secret_alloc(&k)) != 0)
		goto out;
	memcpy(k->pub.id, id, strlen(id) + 1);
	randombytes_buf(k->transport_sk, KEYS_TRANSPORT_SECRET_BYTES);
	if (crypto_sign_keypair(spk, k->sign_sk) != 0) { /* cannot fail, as above */
		ret = PIUGW_EINTERNAL;
		goto out;
	}
	if ((ret = keys_secret_seal(k, false)) != 0)
		goto out;
	*outp = k;
	k = NULL;
	ret = 0;
out:
	keys_secret_free(&k);
	return ret;
}

/* See keys.h. */
int
keys_from_raw(const char *id, const uint8_t transport_sk[KEYS_TRANSPORT_SECRET_BYTES],
	      const uint8_t sign_sk[KEYS_SIGN_SECRET_BYTES], struct keys_secret **outp)
{
	int ret = PIUGW_EINTERNAL;
	struct keys_secret *k = NULL;

	*outp = NULL;
	if (!keys_id_valid(id, strlen(id)))
		return PIUGW_EBADID;
	if ((ret = keys_secret_alloc(&k)) != 0)
		goto out;
	memcpy(k->pub.id, id, strlen(id) + 1);
	memcpy(k->transport_sk, transport_sk, KEYS_TRANSPORT_SECRET_BYTES);
	memcpy(k->sign_sk, sign_sk, KEYS_SIGN_SECRET_BYTES);
	if ((ret = keys_secret_seal(k, false)) != 0)
		goto out;
	*outp = k;
	k = NULL;
	ret = 0;
out:
	keys_secret_free(&k);
	return ret;
}

/* See keys.h. */
int
keys_dh(const struct keys_secret *k, const uint8_t peer_pk[KEYS_PUBLIC_BYTES], uint8_t shared[32])
{
	int ret = PIUGW_EINTERNAL;
	struct keys_secret *mk = (struct keys_secret *)k; /* the lock and page rights only */
	int rc;

	if (k->transport_sk == NULL)
		return PIUGW_EINVAL;
	pthread_mutex_lock(&mk->dh_lock);
	sodium_mprotect_readonly(mk->transport_sk);
	rc = crypto_scalarmult(shared, mk->transport_sk, peer_pk);
	sodium_mprotect_noaccess(mk->transport_sk);
	pthread_mutex_unlock(&mk->dh_lock);
	/*
	 * A low-order peer point gives an all-zero secret that anyone can
	 * compute (libsodium returns -1); check explicitly as well, in case a
	 * future libsodium stops doing so.
	 */
	if (rc != 0 || sodium_is_zero(shared, 32)) {
		sodium_memzero(shared, 32);
		ret = PIUGW_EWEAKKEY;
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* See keys.h. */
int
keys_with_transport_secret(const struct keys_secret *k,
			   int (*fn)(const uint8_t sk[KEYS_TRANSPORT_SECRET_BYTES], void *ctx),
			   void *ctx)
{
	struct keys_secret *mk = (struct keys_secret *)k; /* the lock and page rights only */
	int rc;

	if (k->transport_sk == NULL)
		return PIUGW_EINVAL;
	pthread_mutex_lock(&mk->dh_lock);
	sodium_mprotect_readonly(mk->transport_sk);
	rc = fn(mk->transport_sk, ctx);
	sodium_mprotect_noaccess(mk->transport_sk);
	pthread_mutex_unlock(&mk->dh_lock);
	return rc;
}

/* See keys.h. */
int
keys_sign(const struct keys_secret *k, uint8_t sig[KEYS_SIGNATURE_BYTES], const uint8_t *m,
	  size_t mlen)
{
	struct keys_secret *mk = (struct keys_secret *)k; /* the lock and page rights only */
	int rc;

	if (k->sign_sk == NULL)
		return k->sign_fn(k->sign_ctx, sig, m, mlen);
	pthread_mutex_lock(&mk->dh_lock);
	sodium_mprotect_readonly(mk->sign_sk);
	rc = crypto_sign_detached(sig, NULL, m, mlen, mk->sign_sk);
	sodium_mprotect_noaccess(mk->sign_sk);
	pthread_mutex_unlock(&mk->dh_lock);
	/* libsodium's Ed25519 signing cannot fail; a failure is a broken invariant. */
	return rc == 0 ? 0 : PIUGW_EINTERNAL;
}

/* See keys.h. */
void
keys_secret_forget_transport(struct keys_secret *k)
{
	pthread_mutex_lock(&k->dh_lock);
	if (k->transport_sk != NULL)
		sodium_free(k->transport_sk); /* made writable, wiped, unmapped */
	k->transport_sk = NULL;
	pthread_mutex_unlock(&k->dh_lock);
}

/* See keys.h. */
void
keys_secret_delegate_sign(struct keys_secret *k, keys_sign_fn fn, void *ctx)
{
	if (k->sign_sk != NULL)
		sodium_free(k->sign_sk); /* made writable, wiped, unmapped */
	k->sign_sk = NULL;
	k->sign_fn = fn;
	k->sign_ctx = ctx;
}

/* ---- ZPL (ZeroMQ RFC 4), as far as certificates use it ------------------- */

struct zpl_entry {
	unsigned depth;
	unsigned line;
	unsigned col; /* of the value, or of the name when there is none */
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	bool has_value;
};

struct zpl_reader {
	const char *p;
	const char *end;
	unsigned line;
	const char *label;
};

static bool
zpl_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("$-_@.&+/", c) != NULL;
}

/*
 * The next name/value line. Returns 1 with *e filled, 0 at the end, or
 * PIUGW_EKEYFILE after reporting the problem to d.
 */
static int
zpl_next(struct zpl_reader *r, struct zpl_entry *e, struct diag *d)
{
	while (r->p < r->end) {
		const char *line = r->p;
		const char *nl = memchr(line, '\n', (size_t)(r->end - line));
		size_t line_len = nl != NULL ? (size_t)(nl - line) : (size_t)(r->end - line);
		const char *eol, *q = line;
		unsigned spaces = 0;

		r->p = line + line_len + (nl != NULL ? 1 : 0);
		r->line++;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		eol = line + line_len;
		if (memchr(line, '\0', line_len) != NULL) {
			diag_add(d, "%s:%u:1: NUL byte in a certificate file", r->label, r->line);
			return PIUGW_EKEYFILE;
		}
		while (q < eol && *q == ' ') {
			q++;
			spaces++;
		}
		if (q == eol || *q == '#')
			continue; /* blank line or comment */
		if (*q == '\t') {
			diag_add(d, "%s:%u:%u: tab in indentation; ZPL indents with 4 spaces",
				 r->label, r->line, spaces + 1);
			return PIUGW_EKEYFILE;
		}
		if (spaces % 4 != 0) {
			diag_add(d, "%s:%u:1: indentation of %u spaces; ZPL indents by multiples of 4",
				 r->label, r->line, spaces);
			return PIUGW_EKEYFILE;
		}
		memset(e, 0, sizeof(*e));
		e->depth = spaces / 4;
		e->line = r->line;
		e->col = spaces + 1;
		e->name = q;
		while (q < eol && zpl_name_char(*q))
			q++;
		e->name_len = (size_t)(q - e->name);
		if (e->name_len == 0) {
			diag_add(d, "%s:%u:%u: expected a name (letters, digits, $-_@.&+/)", r->label,
				 r->line, (unsigned)(q - line) + 1);
			return PIUGW_EKEYFILE;
		}
		while (q < eol && *q == ' ')
			q++;
		if (q < eol && *q == '=') {
			q++;
			while (q < eol && *q == ' ')
				q++;
			e->has_value = true;
			e->col = (unsigned)(q - line) + 1;
			if (q < eol && (*q == '"' || *q == '\'')) {
				char quote = *q++;
				const char *close = memchr(q, quote, (size_t)(eol - q));
				if (close == NULL) {
					diag_add(d, "%s:%u:%u: value has no closing %c quote", r->label,
						 r->line, e->col, quote);
					return PIUGW_EKEYFILE;
				}
				e->value = q;
				e->value_len = (size_t)(close - q);
				q = close + 1;
			} else {
				e->value = q;
				while (q < eol && *q != '#')
					q++;
				while (q > e->value && q[-1] == ' ')
					q--;
				e->value_len = (size_t)(q - e->value);
				while (q < eol && *q != '#')
					q++;
			}
			while (q < eol && *q == ' ')
				q++;
		}
		if (q < eol && *q != '#') {
			diag_add(d, "%s:%u:%u: unexpected text after %s; expected 'name = \"value\"'",
				 r->label, r->line, (unsigned)(q - line) + 1,
				 e->has_value ? "the value" : "the name");
			return PIUGW_EKEYFILE;
		}
		return 1;
	}
	return 0;
}

/* What a certificate file holds; value pointers point into the file text. */
struct cert_fields {
	const struct zpl_entry *gateway_id, *sign_pk, *sign_sk, *curve_pk, *curve_sk;
	struct zpl_entry entries[16];
	size_t n;
};

static bool
zpl_is(const struct zpl_entry *e, const char *name)
{
	return e->name_len == strlen(name) && memcmp(e->name, name, e->name_len) == 0;
}

/* Read every line of a certificate, reporting all problems; fill f. */
static int
cert_scan(const char *text, size_t len, const char *label, struct cert_fields *f, struct diag *d)
{
	struct zpl_reader r = {.p = text, .end = text + len, .line = 0, .label = label};
	enum { SEC_NONE, SEC_METADATA, SEC_CURVE, SEC_OTHER } section = SEC_NONE;
	struct zpl_entry e;
	int rc, ret = 0;

	memset(f, 0, sizeof(*f));
	while ((rc = zpl_next(&r, &e, d)) == 1) {
		const struct zpl_entry **slot = NULL;

		if (e.depth == 0) {
			if (e.has_value) {
				diag_add(d, "%s:%u:%u: a section name takes no value", label, e.line,
					 e.col);
				ret = PIUGW_EKEYFILE;
			}
			if (zpl_is(&e, "metadata"))
				section = SEC_METADATA;
			else if (zpl_is(&e, "curve"))
				section = SEC_CURVE;
			else
				section = SEC_OTHER; /* zcert ignores other sections; so do we */
			continue;
		}
		if (e.depth > 1 || section == SEC_NONE || !e.has_value) {
			diag_add(d, "%s:%u:%u: expected 'name = \"value\"' inside 'metadata' or 'curve'",
				 label, e.line, e.depth * 4 + 1);
			ret = PIUGW_EKEYFILE;
			continue;
		}
		if (section == SEC_METADATA) {
			if (zpl_is(&e, "gateway-id"))
				slot = &f->gateway_id;
			else if (zpl_is(&e, "sign-public-key"))
				slot = &f->sign_pk;
			else if (zpl_is(&e, "sign-secret-key"))
				slot = &f->sign_sk;
			/* other metadata (e.g. czmq's own) is allowed and ignored */
		} else if (section == SEC_CURVE) {
			if (zpl_is(&e, "public-key"))
				slot = &f->curve_pk;
			else if (zpl_is(&e, "secret-key"))
				slot = &f->curve_sk;
			else {
				diag_add(d, "%s:%u:%u: unknown key '%.*s' under 'curve'; expected "
					    "public-key or secret-key", label, e.line, e.col,
					 (int)e.name_len, e.name);
				ret = PIUGW_EKEYFILE;
			}
		}
		if (slot == NULL)
			continue;
		if (*slot != NULL) {
			diag_add(d, "%s:%u:%u: '%.*s' given twice (first on line %u)", label, e.line,
				 e.col, (int)e.name_len, e.name, (*slot)->line);
			ret = PIUGW_EKEYFILE;
			continue;
		}
		if (f->n == sizeof(f->entries) / sizeof(f->entries[0]))
			continue; /* five slots, sixteen places: cannot happen */
		f->entries[f->n] = e;
		*slot = &f->entries[f->n++];
	}
	if (rc < 0)
		ret = rc;
	return ret;
}

/* Decode a Z85 key field of the expected length into out. */
static int
cert_key(const struct zpl_entry *e, const char *what, uint8_t *out, size_t out_len,
	 const char *label, struct diag *d)
{
	if (e->value_len != Z85_LEN(out_len) ||
	    z85_decode(out, out_len, e->value, e->value_len) != 0) {
		diag_add(d, "%s:%u:%u: %s is not a Z85 key of %zu characters", label, e->line, e->col,
			 what, Z85_LEN(out_len));
		return PIUGW_EKEYFILE;
	}
	return 0;
}

/* Fill pub from scanned fields, reporting every missing or bad one. */
static int
cert_public(const struct cert_fields *f, const char *label, struct keys_public *pub,
	    struct diag *d)
{
	int ret = 0;

	if (f->gateway_id == NULL) {
		diag_add(d, "%s: missing 'gateway-id' under 'metadata'", label);
		ret = PIUGW_EKEYFILE;
	} else if (!keys_id_valid(f->gateway_id->value, f->gateway_id->value_len)) {
		diag_add(d, "%s:%u:%u: gateway-id '%.*s' is not 3 to 32 of A-Z 0-9 . _ -", label,
			 f->gateway_id->line, f->gateway_id->col,
			 (int)(f->gateway_id->value_len > 40 ? 40 : f->gateway_id->value_len),
			 f->gateway_id->value);
		ret = PIUGW_EKEYFILE;
	} else {
		memcpy(pub->id, f->gateway_id->value, f->gateway_id->value_len);
		pub->id[f->gateway_id->value_len] = '\0';
	}
	if (f->sign_pk == NULL) {
		diag_add(d, "%s: missing 'sign-public-key' under 'metadata'", label);
		ret = PIUGW_EKEYFILE;
	} else if (cert_key(f->sign_pk, "sign-public-key", pub->sign_pk, 32, label, d) != 0) {
		ret = PIUGW_EKEYFILE;
	}
	if (f->curve_pk == NULL) {
		diag_add(d, "%s: missing 'public-key' under 'curve'", label);
		ret = PIUGW_EKEYFILE;
	} else if (cert_key(f->curve_pk, "public-key", pub->transport_pk, 32, label, d) != 0) {
		ret = PIUGW_EKEYFILE;
	}
	return ret;
}

/* See keys.h. */
int
keys_public_parse(const char *text, size_t len, const char *name, struct keys_public *out,
		  struct diag *d)
{
	struct cert_fields f;
	struct keys_public pub;
	int ret, rc;

	memset(&pub, 0, sizeof(pub));
	ret = cert_scan(text, len, name, &f, d);
	rc = cert_public(&f, name, &pub, d);
	if (ret == 0)
		ret = rc;
	if (ret == 0)
		*out = pub;
	return ret;
}

/* See keys.h. */
int
keys_public_load(const char *path, struct keys_public *out, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	/* It may be a .cert_secret: wipe the text before freeing it. */
	if ((ret = fileio_read(path, KEYS_FILE_MAX, 0, &buf, &len, d)) != 0)
		return ret;
	ret = keys_public_parse((const char *)buf, len, path, out, d);
	sodium_memzero(buf, len);
	fileio_free(buf, len, 0);
	return ret;
}

/* See keys.h. */
int
keys_secret_parse(const char *text, size_t len, const char *name, struct keys_secret **outp,
		  struct diag *d)
{
	int ret = PIUGW_EINTERNAL, rc;
	struct cert_fields f;
	struct keys_secret *k = NULL;

	*outp = NULL;
	if ((ret = keys_secret_alloc(&k)) != 0)
		goto out;
	ret = cert_scan(text, len, name, &f, d);
	if ((rc = cert_public(&f, name, &k->pub, d)) != 0)
		ret = rc;
	if (f.sign_sk == NULL) {
		diag_add(d, "%s: missing 'sign-secret-key' under 'metadata': this is not a secret "
			    "certificate (use the .cert_secret file)", name);
		ret = PIUGW_EKEYFILE;
	} else if (cert_key(f.sign_sk, "sign-secret-key", k->sign_sk, 64, name, d) != 0) {
		ret = PIUGW_EKEYFILE;
	}
	if (f.curve_sk == NULL) {
		diag_add(d, "%s: missing 'secret-key' under 'curve': this is not a secret "
			    "certificate (use the .cert_secret file)", name);
		ret = PIUGW_EKEYFILE;
	} else if (cert_key(f.curve_sk, "secret-key", k->transport_sk, 32, name, d) != 0) {
		ret = PIUGW_EKEYFILE;
	}
	if (ret != 0)
		goto out;
	if ((ret = keys_secret_seal(k, true)) != 0) {
		diag_add(d, "%s: the secret keys do not belong to the public keys in the same file; "
			    "the file is damaged: restore it from backup or generate new keys",
			 name);
		goto out;
	}
	*outp = k;
	k = NULL;
	ret = 0;
out:
	keys_secret_free(&k);
	return ret;
}

/* See keys.h. */
int
keys_secret_load(const char *path, struct keys_secret **outp, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	*outp = NULL;
	if ((ret = fileio_read(path, KEYS_FILE_MAX, FILEIO_SECRET, &buf, &len, d)) != 0)
		return ret;
	ret = keys_secret_parse((const char *)buf, len, path, outp, d);
	fileio_free(buf, len, FILEIO_SECRET);
	return ret;
}

/* ---- writing -------------------------------------------------------------- */

#define CERT_TEXT_MAX 1024

/*
 * Format a certificate into buf (CERT_TEXT_MAX bytes). With secret, the
 * caller's buffer must be guarded memory: the text holds the secret keys.
 */
static int
cert_format(const struct keys_secret *k, bool secret, char *buf, size_t *lenp)
{
	char tpk[Z85_KEY_LEN + 1], spk[Z85_KEY_LEN + 1];
	char tsk[Z85_KEY_LEN + 1], ssk[Z85_SIGN_SK_LEN + 1];
	int n, ret = PIUGW_EINTERNAL;

	if (z85_encode(tpk, sizeof(tpk), k->pub.transport_pk, 32) != 0 ||
	    z85_encode(spk, sizeof(spk), k->pub.sign_pk, 32) != 0)
		goto out;
	if (!secret) {
		n = snprintf(buf, CERT_TEXT_MAX,
			     "#   ****  Generated by piugw keygen  ****\n"
			     "#   ZeroMQ CURVE Public Certificate of PIU gateway %s\n"
			     "#   Give this file to the IWG secretariat for the member directory.\n"
			     "\n"
			     "metadata\n"
			     "    gateway-id = \"%s\"\n"
			     "    sign-public-key = \"%s\"\n"
			     "curve\n"
			     "    public-key = \"%s\"\n",
			     k->pub.id, k->pub.id, spk, tpk);
	} else {
		if (k->sign_sk == NULL || k->transport_sk == NULL) { /* not held here any more */
			ret = PIUGW_EINVAL;
			goto out;
		}
		sodium_mprotect_readonly(k->transport_sk);
		sodium_mprotect_readonly(k->sign_sk);
		ret = z85_encode(tsk, sizeof(tsk), k->transport_sk, 32);
		if (ret == 0)
			ret = z85_encode(ssk, sizeof(ssk), k->sign_sk, 64);
		sodium_mprotect_noaccess(k->sign_sk);
		sodium_mprotect_noaccess(k->transport_sk);
		if (ret != 0) {
			ret = PIUGW_EINTERNAL;
			goto out;
		}
		n = snprintf(buf, CERT_TEXT_MAX,
			     "#   ****  Generated by piugw keygen  ****\n"
			     "#   ZeroMQ CURVE **Secret** Certificate of PIU gateway %s\n"
			     "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
			     "\n"
			     "metadata\n"
			     "    gateway-id = \"%s\"\n"
			     "    sign-public-key = \"%s\"\n"
			     "    sign-secret-key = \"%s\"\n"
			     "curve\n"
			     "    public-key = \"%s\"\n"
			     "    secret-key = \"%s\"\n",
			     k->pub.id, k->pub.id, spk, ssk, tpk, tsk);
	}
	if (n < 0 || (size_t)n >= CERT_TEXT_MAX) {
		ret = PIUGW_EINTERNAL;
		goto out;
	}
	*lenp = (size_t)n;
	ret = 0;
out:
	sodium_memzero(tsk, sizeof(tsk));
	sodium_memzero(ssk, sizeof(ssk));
	return ret;
}

/* See keys.h. */
int
keys_save(const struct keys_secret *k, const char *dir, struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	char *secret_text = NULL;
	char public_text[CERT_TEXT_MAX];
	char *pub_path = NULL, *sec_path = NULL;
	size_t secret_len = 0, public_len = 0, plen;
	bool secret_written = false;

	plen = strlen(dir) + 1 + strlen(k->pub.id) + sizeof(".cert_secret");
	pub_path = malloc(plen);
	sec_path = malloc(plen);
	secret_text = sodium_malloc(CERT_TEXT_MAX);
	if (pub_path == NULL || sec_path == NULL || secret_text == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	snprintf(pub_path, plen, "%s/%s.cert", dir, k->pub.id);
	snprintf(sec_path, plen, "%s/%s.cert_secret", dir, k->pub.id);
	if ((ret = cert_format(k, true, secret_text, &secret_len)) != 0 ||
	    (ret = cert_format(k, false, public_text, &public_len)) != 0)
		goto out;
	/* Check both before creating either, so a refusal leaves nothing behind. */
	if (access(pub_path, F_OK) == 0 || access(sec_path, F_OK) == 0) {
		diag_add(d, "%s: keys for %s already exist; refusing to overwrite them "
			    "(move the old files away first if you really mean to replace them)",
			 dir, k->pub.id);
		ret = PIUGW_EEXIST;
		goto out;
	}
	if ((ret = fileio_create_excl(sec_path, 0600, secret_text, secret_len, d)) != 0)
		goto out;
	secret_written = true;
	if ((ret = fileio_create_excl(pub_path, 0644, public_text, public_len, d)) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0 && secret_written)
		unlink(sec_path);
	if (secret_text != NULL)
		sodium_free(secret_text);
	free(pub_path);
	free(sec_path);
	return ret;
}
