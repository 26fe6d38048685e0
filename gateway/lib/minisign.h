/*
 * minisign.h: the minisign formats, so that the IWG secretariat can sign the
 * member directory with the stock minisign tool and gateways verify it here.
 *
 * Only the prehashed "ED" algorithm is accepted: a legacy "Ed" signature is
 * refused with a message saying so. The trusted comment is verified with the
 * global signature, as minisign itself does.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_MINISIGN_H
#define PIUGW_MINISIGN_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define MINISIGN_KEYNUM_BYTES 8
#define MINISIGN_FILE_MAX (16 * 1024)

struct minisign_pubkey {
	uint8_t keynum[MINISIGN_KEYNUM_BYTES];
	uint8_t pk[32];
};

struct minisign_seckey; /* sodium_malloc'd; opaque */

/* Parse a minisign public key file (or its bare base64 line). */
int minisign_pubkey_parse(const char *text, size_t len, const char *label,
			  struct minisign_pubkey *out, struct diag *d);
int minisign_pubkey_load(const char *path, struct minisign_pubkey *out, struct diag *d);

/* The key id as minisign prints it ("E7620F1842B4E81F"); out holds 17 bytes. */
void minisign_keyid_hex(const uint8_t keynum[MINISIGN_KEYNUM_BYTES], char out[17]);

/*
 * Verify sig_text (the .minisig file) over msg with pk. On success and if
 * trusted_commentp is not NULL, *trusted_commentp is the verified trusted
 * comment (malloc). Returns 0, PIUGW_ESIGFILE (malformed), PIUGW_ELEGACYSIG,
 * PIUGW_EKEYID (another key signed it), or PIUGW_EBADSIG.
 */
int minisign_verify(const struct minisign_pubkey *pk, const uint8_t *msg, size_t msg_len,
		    const char *sig_text, size_t sig_len, const char *label,
		    char **trusted_commentp, struct diag *d);

/*
 * Load a minisign secret key; password may be NULL for an unencrypted key
 * (minisign -G -W). Returns 0, PIUGW_ESIGFILE, PIUGW_EPASSWORD (wrong or
 * missing password).
 */
int minisign_seckey_parse(const char *text, size_t len, const char *label, const char *password,
			  struct minisign_seckey **outp, struct diag *d);
void minisign_seckey_free(struct minisign_seckey **kp);

/* True if the secret key file text is password-protected. */
int minisign_seckey_encrypted(const char *text, size_t len);

/*
 * Sign msg (prehashed "ED"), returning the .minisig text in *outp (malloc).
 * trusted_comment must be one line.
 */
int minisign_sign(const struct minisign_seckey *k, const uint8_t *msg, size_t msg_len,
		  const char *trusted_comment, char **outp);

#endif /* PIUGW_MINISIGN_H */
