/*
 * edifact.c: see edifact.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "edifact.h"
#include "match.h"
#include "num.h"
#include "piugw/error.h"

/* See edifact.h. */
int
edi_d2(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* See edifact.h. */
int
edi_open(struct edi *x, const char *text, size_t len, const char *label, struct diag *d)
{
	memset(x, 0, sizeof(*x));
	x->comp = ':';
	x->elem = '+';
	x->dec = '.';
	x->rel = '?';
	x->term = '\'';
	x->p = text;
	x->end = text + len;
	/* UNA: the service string advice declares the separators. */
	if (len >= 9 && memcmp(text, "UNA", 3) == 0) {
		x->comp = text[3];
		x->elem = text[4];
		x->dec = text[5];
		x->rel = text[6];
		x->term = text[8];
		x->p = text + 9;
		x->segno = 1;
		x->una = true;
		/* Separators that coincide make every segment ambiguous: refuse the file. */
		const char seps[] = {x->comp, x->elem, x->rel, x->term};
		for (size_t i = 0; i < 4; i++)
			for (size_t k = i + 1; k < 4; k++)
				if (seps[i] == seps[k]) {
					diag_add(d, "%s:1: the UNA declares the same character for two of "
						    "the separators (component, element, release, "
						    "terminator): the interchange cannot be read", label);
					return PIUGW_EMALFORMED;
				}
	}
	return 0;
}

/* See edifact.h. */
const char *
edi_value(const struct edi_seg *s, unsigned e, unsigned c)
{
	if (e >= s->nel || c >= s->ncomp[e] || s->v[e][c] == NULL)
		return "";
	return s->v[e][c];
}

/* See edifact.h. */
int
edi_next(struct edi *x, struct edi_seg *s)
{
	size_t b = 0;
	unsigned e = 0, c = 0;

	s->lead_space = false;
	while (x->p < x->end &&
	       (*x->p == '\r' || *x->p == '\n' || *x->p == ' ' || *x->p == '\t')) {
		s->lead_space |= *x->p == ' ' || *x->p == '\t';
		x->p++;
	}
	if (x->p >= x->end)
		return 0;
	memset(s->ncomp, 0, sizeof(s->ncomp));
	s->nul = false;
	s->nel = 1;
	s->ncomp[0] = 1;
	s->v[0][0] = s->buf;
	x->segno++;
	for (;;) {
		char ch;
		if (x->p >= x->end)
			return -1; /* no terminator: cut short */
		ch = *x->p++;
		if (b + 2 >= sizeof(s->buf)) {
			/* Too long: skip to its end (a release character escapes one byte). */
			for (; x->p < x->end; x->p++) {
				if (*x->p == x->rel && x->p + 1 < x->end)
					x->p++;
				else if (*x->p == x->term)
					break;
			}
			if (x->p >= x->end)
				return -1;
			x->p++;
			return -2;
		}
		if (ch == x->rel) {
			if (x->p >= x->end)
				return -1;
			s->buf[b++] = *x->p++;
			continue;
		}
		if (ch == x->term) {
			s->buf[b++] = '\0';
			break;
		}
		if (ch == x->elem || ch == x->comp) {
			s->buf[b++] = '\0';
			if (ch == x->elem) {
				if (++e >= EDI_EL)
					return -1;
				c = 0;
				s->nel = e + 1;
			} else if (++c >= EDI_COMP) {
				return -1;
			}
			s->v[e][c] = s->buf + b;
			s->ncomp[e] = c + 1;
			continue;
		}
		if (ch == '\r' || ch == '\n')
			continue;
		s->nul |= ch == '\0';
		s->buf[b++] = ch;
	}
	snprintf(s->tag, sizeof(s->tag), "%.3s", edi_value(s, 0, 0));
	return 1;
}

/* See edifact.h. */
bool
edi_text_ok(const struct edi_seg *s, char *why, size_t n)
{
	/* MUEL\0LER would be stored as MUEL, bytes that are not UTF-8 as garbage. */
	if (s->nul) {
		snprintf(why, n, "%s segment holds a NUL byte", s->tag);
		return false;
	}
	for (unsigned e = 0; e < s->nel; e++)
		for (unsigned c = 0; c < s->ncomp[e]; c++)
			if (s->v[e][c] != NULL && !match_utf8_valid(s->v[e][c])) {
				snprintf(why, n, "%s segment is not UTF-8 (element %u)", s->tag, e);
				return false;
			}
	return true;
}

/* See edifact.h. */
bool
edi_date(const char *s, bool past, int32_t today, char out[11])
{
	int yy = edi_d2(s), mm, dd;
	int32_t day;

	if (strlen(s) < 6 || yy < 0 || (mm = edi_d2(s + 2)) < 0 || (dd = edi_d2(s + 4)) < 0)
		return false;
	/* Each is two digits (edi_d2): % 100 tells the compiler so. */
	snprintf(out, 11, "20%02u-%02u-%02u", (unsigned)yy % 100, (unsigned)mm % 100,
		 (unsigned)dd % 100);
	if (!num_parse_date(out, 10, &day))
		return false;
	/* A date in the past (a birth) is never in the future: 20yy after today is 19yy. */
	if (past && day > today) {
		snprintf(out, 11, "19%02u-%02u-%02u", (unsigned)yy % 100, (unsigned)mm % 100,
			 (unsigned)dd % 100);
		return num_parse_date(out, 10, &day);
	}
	return true;
}

/* See edifact.h. */
bool
edi_date_airimp(const char *s, bool past, int32_t today, char out[11])
{
	static const char months[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
	char yymmdd[7];
	int dd, mm = 0;

	if (strlen(s) != 7 || (dd = edi_d2(s)) < 0 || edi_d2(s + 5) < 0)
		return false;
	for (int i = 0; i < 12 && mm == 0; i++)
		if (strncmp(s + 2, months + 3 * i, 3) == 0)
			mm = i + 1;
	if (mm == 0)
		return false;
	snprintf(yymmdd, sizeof(yymmdd), "%.2s%02u%02u", s + 5, (unsigned)mm % 100,
		 (unsigned)dd % 100);
	return edi_date(yymmdd, past, today, out);
}
