/*
 * edifact.h: reading UN/EDIFACT interchanges (ISO 9735) segment by
 * segment, as carriers send PAXLST and PNRGOV: the UNA service string
 * advice or the default separators (: + . ? '), the release character,
 * line breaks between segments. One segment at a time into a fixed buffer;
 * nothing is allocated.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_EDIFACT_H
#define PIUGW_EDIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define EDI_EL 24
#define EDI_COMP 16
#define EDI_SEG_MAX 4096

struct edi_seg {
	char tag[4];
	unsigned nel;
	unsigned ncomp[EDI_EL];
	const char *v[EDI_EL][EDI_COMP];
	bool nul;        /* a NUL byte inside: its element would be cut short there */
	bool lead_space; /* spaces or tabs stood before its tag (a sender's quirk) */
	char buf[EDI_SEG_MAX];
};

struct edi {
	char comp, elem, dec, rel, term;
	const char *p, *end;
	unsigned segno; /* in the file, 1-based */
	bool una;       /* the file declared its separators */
};

/*
 * Start reading text: the separators of its UNA, else the defaults. A UNA
 * that declares one character for two separators makes every segment
 * ambiguous: PIUGW_EMALFORMED, with why in d (label names the file).
 */
int edi_open(struct edi *x, const char *text, size_t len, const char *label, struct diag *d);

/*
 * The next segment. Returns 1 with *s filled, 0 at the end, -1 if the
 * segment has no terminator (a truncated interchange) or more elements or
 * components than a segment may have, -2 if it is longer than a segment
 * may be (the reader is then past its terminator: the next segment can be
 * read).
 */
int edi_next(struct edi *x, struct edi_seg *s);

/* The value of element e, component c, or "". */
const char *edi_value(const struct edi_seg *s, unsigned e, unsigned c);

/*
 * Is every value of s text we may store: no NUL byte, valid UTF-8? If not,
 * false with why ("PNR segment holds a NUL byte").
 */
bool edi_text_ok(const struct edi_seg *s, char *why, size_t n);

/* Two digits as a number, or -1. */
int edi_d2(const char *p);

/*
 * YYMMDD into YYYY-MM-DD; past dates (births) pivot on today's year, others
 * are 20YY. False if it is no date.
 */
bool edi_date(const char *s, bool past, int32_t today, char out[11]);

/*
 * DDMMMYY ("12JUL64", as AIRIMP writes dates in SSR DOCS) into YYYY-MM-DD,
 * pivoting as edi_date does. False if it is no date.
 */
bool edi_date_airimp(const char *s, bool past, int32_t today, char out[11]);

#endif /* PIUGW_EDIFACT_H */
