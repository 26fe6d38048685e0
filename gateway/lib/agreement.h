/*
 * agreement.h: bilateral agreement files (DESIGN.md section 3, PROTOCOL.md
 * section 6): parse, validate, fingerprint, sign, verify.
 *
 * An agreement file is byte-identical at both parties; its fingerprint is
 * the BLAKE2b-256 of those bytes, and each party signs
 * "piugw v1 agreement" || 0x00 || bytes with its Ed25519 signing key. The
 * signatures live beside it in FILE.sig, one line "<gateway id> <hex>" each.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_AGREEMENT_H
#define PIUGW_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "envelope.h"
#include "keys.h"
#include "vocab.h"

#define AGREEMENT_HASH_BYTES 32
#define AGREEMENT_MAX_RESULTS 1000
/*
 * The highest rates an agreement may state: bounds on what the file can say
 * (a typo's extra zeros), set above what one gateway can carry (a few
 * thousand queries a second), so that the parties' terms, not this number,
 * are the limit.
 */
#define AGREEMENT_RATE_PER_HOUR_MAX 10000000
#define AGREEMENT_RATE_PER_DAY_MAX 240000000
#define AGREEMENT_MASK_AFTER_DAYS_DEFAULT 183
#define AGREEMENT_MIN_SCORE_DEFAULT 0.90

/*
 * Lookouts requester may place at responder (a `lookouts:` block of the
 * direction's terms; none: not allowed).
 */
#define AGREEMENT_LOOKOUTS_MAX 100000
#define AGREEMENT_LOOKOUT_DAYS_MAX 366
#define AGREEMENT_ACK_HOURS_DEFAULT 24
struct agreement_lookouts {
	bool allowed;
	vocab_set purposes;       /* within the direction's purposes */
	vocab_set query_types;    /* document, name, name_fuzzy */
	vocab_set categories;     /* what a notification may carry: within the direction's */
	uint32_t max_in_force;    /* lookouts the requester may hold at once */
	uint32_t max_days;        /* the longest life of one */
	int notify;               /* VOCAB_NOTIFY_* */
	uint32_t ack_within_hours; /* a notification unacknowledged longer: a health warning */
};

/* The terms for one direction: what requester may ask responder. */
struct agreement_terms {
	char requester[KEYS_ID_MAX + 1];
	char responder[KEYS_ID_MAX + 1];
	vocab_set purposes;       /* VOCAB_BIT(purpose value) */
	uint32_t offences;        /* serious_crime narrowed to these SCnn (bit n); 0: any */
	vocab_set query_types;
	vocab_set categories;
	int disclosure;           /* vocab_disclosures value */
	uint32_t max_results;
	uint32_t rate_per_hour;
	uint32_t rate_per_day;
	int approval;             /* VOCAB_APPROVAL_* */
	bool justification_required;
	uint32_t mask_after_days;
	int handling_code;        /* vocab_handling_codes value */
	int onward_transfer;      /* vocab_onward_transfers value */
	double min_score;         /* name_fuzzy threshold */
	struct agreement_lookouts lookouts;
	bool unmasking_allowed;   /* unmasking: allowed (Art 12(3)); default forbidden */
	unsigned line;            /* where the terms start in the file */
};

struct agreement {
	char id[ENVELOPE_AGREEMENT_ID_MAX + 1];
	char parties[2][KEYS_ID_MAX + 1];
	int32_t from_day;  /* in force from this UTC day ... */
	int32_t until_day; /* ... to this one, inclusive */
	struct agreement_terms terms[2];
	size_t nterms;
	uint8_t hash[AGREEMENT_HASH_BYTES];
	uint8_t *bytes; /* the exact file */
	size_t len;
};

/*
 * Parse and validate an agreement. label names it in diagnostics. Every
 * problem is reported; returns 0 or PIUGW_ECONFIG.
 */
int agreement_parse(const char *text, size_t len, const char *label, struct agreement **outp,
		    struct diag *d);
int agreement_load(const char *path, struct agreement **outp, struct diag *d);

/*
 * A new agreement from a template (any agreement file): its id, its
 * in_force dates (from, until: YYYY-MM-DD) and its parties replaced, the
 * template's first party by party[0] and its second by party[1] wherever
 * they appear (parties, each term's requester and responder); the terms
 * per direction kept. The result is parsed before it is returned.
 * *outp malloc'd. 0, or PIUGW_ECONFIG with why in d.
 */
int agreement_from_template(const char *text, size_t len, const char *label, const char *id,
			    const char *const party[2], const char *from, const char *until,
			    char **outp, size_t *lenp, struct diag *d);
void agreement_free(struct agreement **ap);

/* The terms for requests from requester to responder, or NULL. */
const struct agreement_terms *agreement_terms_for(const struct agreement *a,
						  const char *requester, const char *responder);

/* True if id is one of the two parties. */
bool agreement_has_party(const struct agreement *a, const char *id);

/* "piugw v1 agreement" || 0x00 || bytes, signed by k. */
int agreement_sign(const struct agreement *a, const struct keys_secret *k,
		   uint8_t sig[KEYS_SIGNATURE_BYTES]);
bool agreement_verify(const struct agreement *a, const uint8_t sign_pk[KEYS_PUBLIC_BYTES],
		      const uint8_t sig[KEYS_SIGNATURE_BYTES]);

/* ---- the signature file ---- */

struct agreement_sig {
	char id[KEYS_ID_MAX + 1];
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	unsigned line;
};

struct agreement_sigs {
	struct agreement_sig e[2];
	size_t n;
};

/*
 * Parse "<gateway id> <128 hex digits>" lines (blank lines and # comments
 * allowed). At most two, one per gateway. Returns 0 or PIUGW_ESIGFILE.
 */
int agreement_sigs_parse(const char *text, size_t len, const char *label,
			 struct agreement_sigs *out, struct diag *d);

/* Load path; a missing file is zero signatures, not an error. */
int agreement_sigs_load(const char *path, struct agreement_sigs *out, struct diag *d);

/* Add or replace id's signature. */
void agreement_sigs_put(struct agreement_sigs *s, const char *id,
			const uint8_t sig[KEYS_SIGNATURE_BYTES]);

/* The signature of id, or NULL. */
const struct agreement_sig *agreement_sigs_get(const struct agreement_sigs *s, const char *id);

/* Format the file text (sorted by gateway id) into a new string. */
char *agreement_sigs_format(const struct agreement_sigs *s);

/*
 * Install a co-signed agreement in folder dir: its file at path (the file
 * of the agreement it replaces) or dir/ID.yaml, with sigs in FILE.sig,
 * each replaced whole (fileio_replace), the signatures first. *installedp
 * the file's path (malloc'd). 0, or an error with why in d.
 */
int agreement_install(const struct agreement *a, const struct agreement_sigs *sigs, const char *dir,
		      const char *path, char **installedp, struct diag *d);

#endif /* PIUGW_AGREEMENT_H */
