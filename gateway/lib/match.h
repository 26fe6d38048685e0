/*
 * match.h: name normalisation (ICAO Doc 9303 Part 3 transliteration) and
 * fuzzy scoring (Jaro-Winkler over name tokens).
 *
 * Both sides of every name comparison go through match_normalise(), so
 * "Müller", "MUELLER" and "Мюллер" meet as the same letters.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_MATCH_H
#define PIUGW_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define MATCH_NAME_MAX 256 /* normalised form, bytes including the NUL */

enum match_flags {
	MATCH_KEEP_PARTICLES = 0,
	MATCH_DROP_PARTICLES = 1 << 0, /* VAN, DER, DE, VON, AL, BIN ... (for fuzzy keys) */
};

/*
 * Normalise a UTF-8 name into out: ICAO 9303 transliteration of Latin
 * letters with diacritics (Ä->AE, Ö->OE, Ü->UE, ß->SS, Ñ->N, Å->AA, ...)
 * and of Cyrillic, upper-case A-Z, every other character a separator,
 * tokens joined by single spaces; titles (MR, MRS, DR, ...) and the FNU/LNU
 * placeholders removed. Invalid UTF-8 bytes are separators. Returns the
 * length of out (0 if nothing is left).
 */
size_t match_normalise(const char *in, char out[MATCH_NAME_MAX], int flags);

/* Jaro-Winkler similarity of two normalised strings, 0.0 to 1.0. */
double match_jaro_winkler(const char *a, const char *b);

/*
 * Similarity of two full names normalised with particles kept (tokens in
 * any order, joined or split, particles present in one and not the other):
 * the best of token-wise matching in both directions and of the joined
 * forms, with and without particles. 0.0 to 1.0.
 */
double match_name_score(const char *a, const char *b);

/*
 * Normalise a document number: upper case A-Z 0-9 only (spaces, '<' and
 * '-' dropped). Returns the length.
 */
size_t match_document(const char *in, char *out, size_t out_size);

/*
 * The length of the well-formed UTF-8 sequence at p (at most n bytes): 1 to
 * 4, or 0 where p holds none (a stray continuation byte, an overlong form,
 * a surrogate, beyond U+10FFFF, cut short).
 */
size_t match_utf8_len(const unsigned char *p, size_t n);

/* Is s (NUL-terminated) UTF-8 throughout? */
bool match_utf8_valid(const char *s);

#endif /* PIUGW_MATCH_H */
