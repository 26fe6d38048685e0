/*
 * match.c: see match.h.
 *
 * The transliteration tables follow ICAO Doc 9303 Part 3 (8th edition),
 * section 6 "Transliterations recommended for use by States".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

struct translit {
	uint32_t cp;
	const char *latin;
};

/* Sorted by code point for bsearch. */
static const struct translit table[] = {
	{0x00C0, "A"},  {0x00C1, "A"},  {0x00C2, "A"},  {0x00C3, "A"},  {0x00C4, "AE"},
	{0x00C5, "AA"}, {0x00C6, "AE"}, {0x00C7, "C"},  {0x00C8, "E"},  {0x00C9, "E"},
	{0x00CA, "E"},  {0x00CB, "E"},  {0x00CC, "I"},  {0x00CD, "I"},  {0x00CE, "I"},
	{0x00CF, "I"},  {0x00D0, "D"},  {0x00D1, "N"},  {0x00D2, "O"},  {0x00D3, "O"},
	{0x00D4, "O"},  {0x00D5, "O"},  {0x00D6, "OE"}, {0x00D8, "OE"}, {0x00D9, "U"},
	{0x00DA, "U"},  {0x00DB, "U"},  {0x00DC, "UE"}, {0x00DD, "Y"},  {0x00DE, "TH"},
	{0x00DF, "SS"}, {0x00E0, "A"},  {0x00E1, "A"},  {0x00E2, "A"},  {0x00E3, "A"},
	{0x00E4, "AE"}, {0x00E5, "AA"}, {0x00E6, "AE"}, {0x00E7, "C"},  {0x00E8, "E"},
	{0x00E9, "E"},  {0x00EA, "E"},  {0x00EB, "E"},  {0x00EC, "I"},  {0x00ED, "I"},
	{0x00EE, "I"},  {0x00EF, "I"},  {0x00F0, "D"},  {0x00F1, "N"},  {0x00F2, "O"},
	{0x00F3, "O"},  {0x00F4, "O"},  {0x00F5, "O"},  {0x00F6, "OE"}, {0x00F8, "OE"},
	{0x00F9, "U"},  {0x00FA, "U"},  {0x00FB, "U"},  {0x00FC, "UE"}, {0x00FD, "Y"},
	{0x00FE, "TH"}, {0x00FF, "Y"},  {0x0100, "A"},  {0x0101, "A"},  {0x0102, "A"},
	{0x0103, "A"},  {0x0104, "A"},  {0x0105, "A"},  {0x0106, "C"},  {0x0107, "C"},
	{0x0108, "C"},  {0x0109, "C"},  {0x010A, "C"},  {0x010B, "C"},  {0x010C, "C"},
	{0x010D, "C"},  {0x010E, "D"},  {0x010F, "D"},  {0x0110, "D"},  {0x0111, "D"},
	{0x0112, "E"},  {0x0113, "E"},  {0x0114, "E"},  {0x0115, "E"},  {0x0116, "E"},
	{0x0117, "E"},  {0x0118, "E"},  {0x0119, "E"},  {0x011A, "E"},  {0x011B, "E"},
	{0x011C, "G"},  {0x011D, "G"},  {0x011E, "G"},  {0x011F, "G"},  {0x0120, "G"},
	{0x0121, "G"},  {0x0122, "G"},  {0x0123, "G"},  {0x0124, "H"},  {0x0125, "H"},
	{0x0126, "H"},  {0x0127, "H"},  {0x0128, "I"},  {0x0129, "I"},  {0x012A, "I"},
	{0x012B, "I"},  {0x012C, "I"},  {0x012D, "I"},  {0x012E, "I"},  {0x012F, "I"},
	{0x0130, "I"},  {0x0131, "I"},  {0x0132, "IJ"}, {0x0133, "IJ"}, {0x0134, "J"},
	{0x0135, "J"},  {0x0136, "K"},  {0x0137, "K"},  {0x0138, "K"},  {0x0139, "L"},
	{0x013A, "L"},  {0x013B, "L"},  {0x013C, "L"},  {0x013D, "L"},  {0x013E, "L"},
	{0x013F, "L"},  {0x0140, "L"},  {0x0141, "L"},  {0x0142, "L"},  {0x0143, "N"},
	{0x0144, "N"},  {0x0145, "N"},  {0x0146, "N"},  {0x0147, "N"},  {0x0148, "N"},
	{0x0149, "N"},  {0x014A, "N"},  {0x014B, "N"},  {0x014C, "O"},  {0x014D, "O"},
	{0x014E, "O"},  {0x014F, "O"},  {0x0150, "O"},  {0x0151, "O"},  {0x0152, "OE"},
	{0x0153, "OE"}, {0x0154, "R"},  {0x0155, "R"},  {0x0156, "R"},  {0x0157, "R"},
	{0x0158, "R"},  {0x0159, "R"},  {0x015A, "S"},  {0x015B, "S"},  {0x015C, "S"},
	{0x015D, "S"},  {0x015E, "S"},  {0x015F, "S"},  {0x0160, "S"},  {0x0161, "S"},
	{0x0162, "T"},  {0x0163, "T"},  {0x0164, "T"},  {0x0165, "T"},  {0x0166, "T"},
	{0x0167, "T"},  {0x0168, "U"},  {0x0169, "U"},  {0x016A, "U"},  {0x016B, "U"},
	{0x016C, "U"},  {0x016D, "U"},  {0x016E, "U"},  {0x016F, "U"},  {0x0170, "U"},
	{0x0171, "U"},  {0x0172, "U"},  {0x0173, "U"},  {0x0174, "W"},  {0x0175, "W"},
	{0x0176, "Y"},  {0x0177, "Y"},  {0x0178, "Y"},  {0x0179, "Z"},  {0x017A, "Z"},
	{0x017B, "Z"},  {0x017C, "Z"},  {0x017D, "Z"},  {0x017E, "Z"},  {0x0218, "S"},
	{0x0219, "S"},  {0x021A, "T"},  {0x021B, "T"},
	/* Cyrillic (Doc 9303 Part 3, table B) */
	{0x0401, "E"},  {0x0402, "D"},  {0x0403, "G"},  {0x0404, "IE"}, {0x0405, "DZ"},
	{0x0406, "I"},  {0x0407, "I"},  {0x0408, "J"},  {0x0409, "LJ"}, {0x040A, "NJ"},
	{0x040B, "C"},  {0x040C, "K"},  {0x040E, "U"},  {0x040F, "DZ"}, {0x0410, "A"},
	{0x0411, "B"},  {0x0412, "V"},  {0x0413, "G"},  {0x0414, "D"},  {0x0415, "E"},
	{0x0416, "ZH"}, {0x0417, "Z"},  {0x0418, "I"},  {0x0419, "I"},  {0x041A, "K"},
	{0x041B, "L"},  {0x041C, "M"},  {0x041D, "N"},  {0x041E, "O"},  {0x041F, "P"},
	{0x0420, "R"},  {0x0421, "S"},  {0x0422, "T"},  {0x0423, "U"},  {0x0424, "F"},
	{0x0425, "KH"}, {0x0426, "TS"}, {0x0427, "CH"}, {0x0428, "SH"}, {0x0429, "SHCH"},
	{0x042A, "IE"}, {0x042B, "Y"},  {0x042C, ""},   {0x042D, "E"},  {0x042E, "IU"},
	{0x042F, "IA"}, {0x0430, "A"},  {0x0431, "B"},  {0x0432, "V"},  {0x0433, "G"},
	{0x0434, "D"},  {0x0435, "E"},  {0x0436, "ZH"}, {0x0437, "Z"},  {0x0438, "I"},
	{0x0439, "I"},  {0x043A, "K"},  {0x043B, "L"},  {0x043C, "M"},  {0x043D, "N"},
	{0x043E, "O"},  {0x043F, "P"},  {0x0440, "R"},  {0x0441, "S"},  {0x0442, "T"},
	{0x0443, "U"},  {0x0444, "F"},  {0x0445, "KH"}, {0x0446, "TS"}, {0x0447, "CH"},
	{0x0448, "SH"}, {0x0449, "SHCH"}, {0x044A, "IE"}, {0x044B, "Y"}, {0x044C, ""},
	{0x044D, "E"},  {0x044E, "IU"}, {0x044F, "IA"}, {0x0451, "E"},  {0x0452, "D"},
	{0x0453, "G"},  {0x0454, "IE"}, {0x0455, "DZ"}, {0x0456, "I"},  {0x0457, "I"},
	{0x0458, "J"},  {0x0459, "LJ"}, {0x045A, "NJ"}, {0x045B, "C"},  {0x045C, "K"},
	{0x045E, "U"},  {0x045F, "DZ"}, {0x0490, "G"},  {0x0491, "G"},
};

/* Words that are not names: titles and the placeholders for an unknown name. */
static const char *const not_names[] = {"MR",   "MRS",  "MS",  "MISS", "MSTR", "MASTER", "DR",
					"PROF", "SIR",  "REV", "FNU",  "LNU",  "UNK",    "XX",
					"MME",  "MLLE", "HERR", "FRAU", NULL};

/* Particles that some records keep and others drop or join. */
static const char *const particles[] = {"VAN", "DER", "DEN", "DE",  "DI",  "DA",  "DOS",
					"DAS", "DEL", "LA",  "LE",  "VON", "ZU",  "AL",
					"EL",  "BIN", "BEN", "IBN", "MC",  "MAC", NULL};

static int
cmp_cp(const void *k, const void *e)
{
	uint32_t a = *(const uint32_t *)k, b = ((const struct translit *)e)->cp;
	return a < b ? -1 : a > b;
}

/* Decode one UTF-8 code point; returns bytes used, cp 0xFFFD on bad input (1 byte). */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && len >= 2 && (s[1] & 0xC0) == 0x80 && s[0] >= 0xC2) {
		*cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if ((s[0] & 0xF0) == 0xE0 && len >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return 3;
	}
	if ((s[0] & 0xF8) == 0xF0 && len >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = 0xFFFD; /* outside every table: a separator */
		return 4;
	}
	*cp = 0xFFFD;
	return 1;
}

static bool
in_list(const char *tok, size_t len, const char *const list[])
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == len && memcmp(list[i], tok, len) == 0)
			return true;
	return false;
}

/* See match.h. */
size_t
match_normalise(const char *in, char out[MATCH_NAME_MAX], int flags)
{
	char raw[MATCH_NAME_MAX];
	size_t r = 0, o = 0, len = in != NULL ? strlen(in) : 0;
	const unsigned char *s = (const unsigned char *)in;

	/* 1: transliterate to A-Z and single spaces. */
	for (size_t i = 0; i < len && r + 5 < sizeof(raw);) {
		uint32_t cp;
		const char *lat = NULL;
		char one[2] = {0, 0};
		i += utf8_next(s + i, len - i, &cp);
		if (cp >= 'a' && cp <= 'z') {
			one[0] = (char)(cp - 'a' + 'A');
			lat = one;
		} else if (cp >= 'A' && cp <= 'Z') {
			one[0] = (char)cp;
			lat = one;
		} else if (cp == '\'' || cp == 0x2019) {
			lat = ""; /* O'BRIEN -> OBRIEN, as in the machine readable zone */
		} else if (cp >= 0xC0) {
			const struct translit *t =
				bsearch(&cp, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]),
					cmp_cp);
			if (t != NULL)
				lat = t->latin;
		}
		if (lat == NULL) {
			if (r > 0 && raw[r - 1] != ' ')
				raw[r++] = ' ';
			continue;
		}
		for (const char *p = lat; *p && r + 1 < sizeof(raw); p++)
			raw[r++] = *p;
	}
	while (r > 0 && raw[r - 1] == ' ')
		r--;
	raw[r] = '\0';

	/* 2: drop titles and placeholders (and particles if asked), one token at a time. */
	for (size_t i = 0; i < r;) {
		size_t j = i;
		while (j < r && raw[j] != ' ')
			j++;
		if (!in_list(raw + i, j - i, not_names) &&
		    !((flags & MATCH_DROP_PARTICLES) && in_list(raw + i, j - i, particles))) {
			if (o > 0)
				out[o++] = ' ';
			memcpy(out + o, raw + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	return o;
}

/* See match.h. */
double
match_jaro_winkler(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), window, m = 0, t = 0, prefix = 0;
	bool ma[MATCH_NAME_MAX] = {0}, mb[MATCH_NAME_MAX] = {0};
	double jaro;

	if (la == 0 && lb == 0)
		return 1.0;
	if (la == 0 || lb == 0 || la >= MATCH_NAME_MAX || lb >= MATCH_NAME_MAX)
		return 0.0;
	window = (la > lb ? la : lb) / 2;
	window = window > 0 ? window - 1 : 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > window ? i - window : 0, hi = i + window + 1 < lb ? i + window + 1 : lb;
		for (size_t j = lo; j < hi; j++) {
			if (mb[j] || a[i] != b[j])
				continue;
			ma[i] = mb[j] = true;
			m++;
			break;
		}
	}
	if (m == 0)
		return 0.0;
	for (size_t i = 0, k = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}
	jaro = ((double)m / (double)la + (double)m / (double)lb +
		((double)m - (double)t / 2.0) / (double)m) / 3.0;
	while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix])
		prefix++;
	return jaro + (double)prefix * 0.1 * (1.0 - jaro);
}

/* Split a normalised name into at most 8 tokens. */
static size_t
tokens(const char *s, char tok[8][MATCH_NAME_MAX])
{
	size_t n = 0;

	while (*s && n < 8) {
		size_t l = strcspn(s, " ");
		memcpy(tok[n], s, l);
		tok[n][l] = '\0';
		n++;
		s += l;
		while (*s == ' ')
			s++;
	}
	return n;
}

/* Average over a's tokens of the best Jaro-Winkler against any of b's. */
static double
one_way(char ta[8][MATCH_NAME_MAX], size_t na, char tb[8][MATCH_NAME_MAX], size_t nb)
{
	double sum = 0;

	for (size_t i = 0; i < na; i++) {
		double best = 0;
		for (size_t j = 0; j < nb; j++) {
			double s = match_jaro_winkler(ta[i], tb[j]);
			if (s > best)
				best = s;
		}
		sum += best;
	}
	return na > 0 ? sum / (double)na : 0;
}

static void
joined(const char *s, char *out)
{
	size_t o = 0;

	for (; *s; s++)
		if (*s != ' ')
			out[o++] = *s;
	out[o] = '\0';
}

/* Token-wise (both directions) and joined similarity of two normalised names. */
static double
score_forms(const char *a, const char *b)
{
	char ta[8][MATCH_NAME_MAX], tb[8][MATCH_NAME_MAX];
	char ja[MATCH_NAME_MAX], jb[MATCH_NAME_MAX];
	size_t na = tokens(a, ta), nb = tokens(b, tb);
	double tok, whole;

	if (na == 0 || nb == 0)
		return 0.0;
	/* Both directions, so a dropped middle name costs something but not everything. */
	tok = (one_way(ta, na, tb, nb) + one_way(tb, nb, ta, na)) / 2;
	/*
	 * Joined forms catch "VAN DER BERG" against "VANDERBERG"; only where the
	 * names are split differently, or they would flatter near misses.
	 */
	if (na == nb)
		return tok;
	joined(a, ja);
	joined(b, jb);
	whole = match_jaro_winkler(ja, jb);
	return tok > whole ? tok : whole;
}

/* s without its particle tokens. */
static void
without_particles(const char *s, char out[MATCH_NAME_MAX])
{
	size_t o = 0;

	while (*s) {
		size_t l = strcspn(s, " ");
		if (!in_list(s, l, particles)) {
			if (o > 0)
				out[o++] = ' ';
			memcpy(out + o, s, l);
			o += l;
		}
		s += l;
		while (*s == ' ')
			s++;
	}
	out[o] = '\0';
}

/* See match.h. */
double
match_name_score(const char *a, const char *b)
{
	char pa[MATCH_NAME_MAX], pb[MATCH_NAME_MAX];
	double with, without;

	/* Particles kept (joined forms), and dropped (one record left them out). */
	with = score_forms(a, b);
	without_particles(a, pa);
	without_particles(b, pb);
	without = score_forms(pa, pb);
	return with > without ? with : without;
}

/* See match.h. */
size_t
match_document(const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	for (; in != NULL && *in && o + 1 < out_size; in++) {
		char c = *in;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			out[o++] = c;
	}
	if (out_size > 0)
		out[o] = '\0';
	return o;
}

/* See match.h. */
size_t
match_utf8_len(const unsigned char *p, size_t n)
{
	size_t l;
	uint32_t c;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	l = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (l == 0 || p[0] > 0xf4 || l > n)
		return 0;
	c = p[0] & (0x7f >> l);
	for (size_t i = 1; i < l; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((l == 3 && c < 0x800) || (l == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return l;
}

/* See match.h. */
bool
match_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;

	for (; n > 0; p += l, n -= l)
		if ((l = match_utf8_len(p, n)) == 0)
			return false;
	return true;
}
