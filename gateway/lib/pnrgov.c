/*
 * pnrgov.c: see pnrgov.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edifact.h"
#include "match.h"
#include "num.h"
#include "piugw/error.h"
#include "pnrgov.h"
#include "sensitive.h"

#define PNR_MAX_TRAVELLERS 999
#define PNR_MAX_DEFERRED 64
#define PNR_PROGRESS_EVERY 20000
#define PNR_SKEW_MS (5 * 60 * 1000)

/* The flight a message reports (TVL before the first SRC). */
struct flight {
	char carrier[8], number[16], date[11], dep[8], arr[8], dep_time[20], arr_time[20];
	bool set;
};

struct ptrav {
	struct traveller t;
	char ref[16]; /* TIF's traveller reference number, to which SSRs point */
};

/* An SSR met before the traveller it names (booking level, SSR/9944 = TIF/9944). */
struct deferred {
	char ref[16];
	unsigned seg;
	struct edi_seg *sg;
};

struct book {
	unsigned start_seg;
	bool open;
	char *bv[COL__COUNT];    /* booking-level values: every traveller's, unless it has its own */
	struct ptrav *trav;
	unsigned ntrav, cap;
	int cur;                 /* the traveller segments now apply to (-1: the booking) */
	bool in_leg;             /* after an itinerary TVL: SSRs concern that leg */
	bool leg_is_ours;        /* that leg is the reported flight */
	bool cancelled;
	struct deferred def[PNR_MAX_DEFERRED];
	unsigned ndef;
	unsigned dropped;        /* sensitive or unvouched elements not stored */
	char err[200];
	unsigned err_seg;
};

struct pmsg {
	bool open, update;
	unsigned start_seg, segs, bookings, eqn;
	bool have_eqn;
	struct flight f;
	char err[200];
	unsigned err_seg;
};

struct reader {
	struct store *s;
	const char *label;
	int64_t now_ms, transferred;
	int32_t today;
	struct import_stats *st;
	struct diag *d;
	struct book b;
	struct pmsg m;
	unsigned titles;         /* given names that carried a title (warned once a file) */
	bool lead_space;         /* segments with spaces before them (warned once) */
};

static void fail(char *err, unsigned *err_seg, unsigned seg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Keep the first problem: the one reported. */
static void
fail(char *err, unsigned *err_seg, unsigned seg, const char *fmt, ...)
{
	va_list ap;

	if (err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(err, 200, fmt, ap);
	va_end(ap);
	*err_seg = seg;
}

#define BOOK_FAIL(r, seg, ...) fail((r)->b.err, &(r)->b.err_seg, seg, __VA_ARGS__)
#define MSG_FAIL(r, seg, ...) fail((r)->m.err, &(r)->m.err_seg, seg, __VA_ARGS__)

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Set column c of v[] to s (NULL or "" clears it). */
static void
put(char **v, enum store_col c, const char *s)
{
	free(v[c]);
	v[c] = empty(s) ? NULL : strdup(s);
}

/* Add s to the list in column c of v[], after sep. */
static void
add(char **v, enum store_col c, const char *sep, const char *s)
{
	size_t a, b;
	char *n;

	if (empty(s))
		return;
	if (v[c] == NULL) {
		v[c] = strdup(s);
		return;
	}
	a = strlen(v[c]);
	b = strlen(sep) + strlen(s) + 1;
	if ((n = realloc(v[c], a + b)) == NULL)
		return;
	snprintf(n + a, b, "%s%s", sep, s);
	v[c] = n;
}

/* PNRGOV dates are DDMMYY ("300310": 30 March 2010). */
static bool
ddmmyy(const char *s, bool past, int32_t today, char out[11])
{
	char yymmdd[7];

	if (strlen(s) != 6)
		return false;
	snprintf(yymmdd, sizeof(yymmdd), "%.2s%.2s%.2s", s + 4, s + 2, s);
	return edi_date(yymmdd, past, today, out);
}

/* "1700" into "T17:00" after date; false if it is no time. */
static bool
hhmm(const char *date, const char *t, char out[20])
{
	int h, m;

	if (strlen(t) != 4 || (h = edi_d2(t)) < 0 || h > 23 || (m = edi_d2(t + 2)) < 0 || m > 59)
		return false;
	snprintf(out, 20, "%sT%02u:%02u", date, (unsigned)h % 100, (unsigned)m % 100);
	return true;
}

/* The current traveller, or NULL (segments then belong to the booking). */
static struct ptrav *
current(struct reader *r)
{
	return r->b.cur >= 0 ? &r->b.trav[r->b.cur] : NULL;
}

/* Where a value goes: the current traveller's, or the booking's. */
static char **
target(struct reader *r)
{
	struct ptrav *p = current(r);
	return p != NULL ? p->t.v : r->b.bv;
}

static void
book_clear(struct book *b)
{
	for (int c = 0; c < COL__COUNT; c++)
		free(b->bv[c]);
	for (unsigned i = 0; i < b->ntrav; i++)
		traveller_clear(&b->trav[i].t);
	for (unsigned i = 0; i < b->ndef; i++)
		free(b->def[i].sg);
	free(b->trav);
	memset(b, 0, sizeof(*b));
	b->cur = -1;
}

/* ---- segments of a booking ---- */

/*
 * A title stuck to the end of a given name by AIRIMP's rule: "CHARLESMR".
 * Only the titles no given name ends in: not DR (ALEXANDR) nor PROF.
 */
static bool
strip_title(char *given)
{
	static const char *const titles[] = {"MSTR", "MISS", "MRS", "MR", "MS"};
	size_t n = strlen(given);

	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		size_t l = strlen(titles[i]);
		if (n >= l + 2 && strcmp(given + n - l, titles[i]) == 0) {
			given[n - l] = '\0';
			/* "JOHN MR": the space goes too. */
			while (n - l > 0 && given[n - l - 1] == ' ')
				given[--n - l] = '\0';
			return true;
		}
	}
	return false;
}

static void
on_tif(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	struct book *b = &r->b;
	struct ptrav *p;
	char given[256];

	if (b->ntrav == PNR_MAX_TRAVELLERS) {
		BOOK_FAIL(r, seg, "more than %d travellers in one booking", PNR_MAX_TRAVELLERS);
		return;
	}
	if (empty(edi_value(sg, 1, 0))) {
		BOOK_FAIL(r, seg, "TIF without a surname (element 1)");
		return;
	}
	if (b->ntrav == b->cap) {
		unsigned nc = b->cap ? b->cap * 2 : 8;
		struct ptrav *np = realloc(b->trav, nc * sizeof(*np));
		if (np == NULL) {
			BOOK_FAIL(r, seg, "out of memory");
			return;
		}
		b->trav = np;
		b->cap = nc;
	}
	p = &b->trav[b->ntrav];
	memset(p, 0, sizeof(*p));
	b->cur = (int)b->ntrav++;
	b->in_leg = false;
	put(p->t.v, COL_SURNAME, edi_value(sg, 1, 0));
	snprintf(given, sizeof(given), "%s", edi_value(sg, 2, 0));
	r->titles += strip_title(given);
	put(p->t.v, COL_GIVEN_NAMES, given);
	snprintf(p->ref, sizeof(p->ref), "%s", edi_value(sg, 2, 2));
}

/* SSR DOCS free text: /P/GBR/123456789/GBR/12JUL64/M/23AUG19/SMITH/JOHN/PAUL */
static void
on_docs(struct reader *r, struct ptrav *p, const char *text, unsigned seg)
{
	char buf[512], *f[16], *q, date[11];
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", text[0] == '/' ? text + 1 : text);
	for (q = buf; n < 16;) {
		f[n++] = q;
		if ((q = strchr(q, '/')) == NULL)
			break;
		*q++ = '\0';
	}
	while (n < 16)
		f[n++] = (char *)"";
	/* 0 type, 1 issuer, 2 number, 3 nationality, 4 birth, 5 sex, 6 expiry, 7 surname, 8, 9 given */
	if (empty(f[2])) {
		BOOK_FAIL(r, seg, "SSR DOCS without a document number");
		return;
	}
	put(p->t.v, COL_DOC_TYPE, f[0]);
	put(p->t.v, COL_DOC_ISSUER, f[1]);
	put(p->t.v, COL_DOC_NUMBER, f[2]);
	if (!empty(f[3]))
		put(p->t.v, COL_NATIONALITY, f[3]);
	if (!empty(f[4])) {
		if (!edi_date_airimp(f[4], true, r->today, date)) {
			BOOK_FAIL(r, seg, "SSR DOCS: the date of birth is not DDMMMYY");
			return;
		}
		put(p->t.v, COL_DATE_OF_BIRTH, date);
	}
	/* MI and FI: a male or female infant. */
	if (!empty(f[5]) && strchr("MFXU", f[5][0]) != NULL &&
	    (f[5][1] == '\0' || (f[5][1] == 'I' && f[5][2] == '\0'))) {
		char sex[2] = {f[5][0], '\0'};
		put(p->t.v, COL_SEX, sex);
	}
	if (!empty(f[6])) {
		if (!edi_date_airimp(f[6], false, r->today, date)) {
			BOOK_FAIL(r, seg, "SSR DOCS: the expiry date is not DDMMMYY");
			return;
		}
		put(p->t.v, COL_DOC_EXPIRY, date);
	}
	/* The names as the document has them are better than the booking's. */
	if (!empty(f[7])) {
		char given[256];
		put(p->t.v, COL_SURNAME, f[7]);
		snprintf(given, sizeof(given), "%s%s%s", f[8], !empty(f[8]) && !empty(f[9]) ? " " : "",
			 f[9]);
		if (!empty(given))
			put(p->t.v, COL_GIVEN_NAMES, given);
	}
}

/* An e-mail as AIRIMP writes it: "//" for "@", ".." for "_" left as is. */
static void
email_of(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < size; in++) {
		if (in[0] == '/' && in[1] == '/') {
			out[o++] = '@';
			in++;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* "CTCE JOHN//EXAMPLE.COM" and the like: true if it was a contact. */
static bool
contact(struct reader *r, const char *text)
{
	char kind[5], value[256];
	const char *v;
	size_t i = 0;

	while (*text == ' ')
		text++;
	if (strncmp(text, "CTC", 3) != 0 || strlen(text) < 5)
		return false;
	snprintf(kind, sizeof(kind), "%.4s", text);
	for (v = text + 4; *v == ' ' || *v == '/'; v++)
		;
	/* A contact is the value, up to a space or a slash that ends it. */
	while (v[i] != '\0' && v[i] != ' ' && i + 1 < sizeof(value)) {
		if (v[i] == '/' && v[i + 1] != '/' && (i == 0 || v[i - 1] != '/'))
			break;
		value[i] = v[i];
		i++;
	}
	value[i] = '\0';
	if (value[0] == '\0')
		return false;
	if (strcmp(kind, "CTCE") == 0) {
		char e[256];
		email_of(value, e, sizeof(e));
		add(target(r), COL_EMAILS, ";", e);
		return true;
	}
	if (strcmp(kind, "CTCM") == 0 || strcmp(kind, "CTCH") == 0 || strcmp(kind, "CTCB") == 0 ||
	    strcmp(kind, "CTCR") == 0 || strcmp(kind, "CTCP") == 0) {
		add(target(r), COL_PHONES, ";", value);
		return true;
	}
	return false;
}

/* Not stored: counted (sensitive or unvouched). */
static void
drop(struct reader *r)
{
	r->b.dropped++;
}

/* The SSR's free text: components 8 and after of element 1, joined. */
static void
ssr_text(const struct edi_seg *sg, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned c = 8; c < sg->ncomp[1] && c < EDI_COMP; c++)
		o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s", edi_value(sg, 1, c));
}

static void
on_ssr_for(struct reader *r, struct ptrav *p, const struct edi_seg *sg, unsigned seg)
{
	const char *code = edi_value(sg, 1, 0);
	char text[512];

	ssr_text(sg, text, sizeof(text));
	if (strcmp(code, "DOCS") == 0) {
		on_docs(r, p, text, seg);
	} else if (strcmp(code, "DOCA") == 0) {
		/* /R/GBR/...: the country of residence. */
		if (strncmp(text[0] == '/' ? text + 1 : text, "R/", 2) == 0) {
			char res[8];
			snprintf(res, sizeof(res), "%.3s", (text[0] == '/' ? text + 1 : text) + 2);
			if (strlen(res) >= 2 && strspn(res, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(res))
				put(p->t.v, COL_RESIDENCE, res);
		}
	} else if (strcmp(code, "SEAT") == 0) {
		/* The seat on the reported flight (a leg's own SSR), or the only one given. */
		if (!r->b.in_leg || r->b.leg_is_ours)
			put(p->t.v, COL_SEAT, edi_value(sg, 2, 0));
	} else if (strcmp(code, "FQTV") == 0) {
		char ff[64];
		const char *airline = edi_value(sg, 1, 3);
		snprintf(ff, sizeof(ff), "%s%s%s", airline, *airline ? " " : "", text);
		add(p->t.v, COL_FREQUENT_FLYER, ";", ff);
	} else if (strcmp(code, "UMNR") == 0) {
		char um[600];
		snprintf(um, sizeof(um), "unaccompanied minor%s%s", text[0] ? ": " : "", text);
		add(p->t.v, COL_REMARKS, ";", um);
	} else if (strcmp(code, "BAGS") == 0 || strcmp(code, "XBAG") == 0) {
		unsigned long nb = strtoul(edi_value(sg, 1, 2), NULL, 10);
		char bags[16];
		if (nb > 0 && nb < 100) {
			snprintf(bags, sizeof(bags), "%lu", nb);
			put(p->t.v, COL_BAGS, bags);
		}
	} else if (strncmp(code, "CTC", 3) == 0) {
		char c[520];
		int cur = r->b.cur;
		snprintf(c, sizeof(c), "%s %s", code, text);
		r->b.cur = (int)(p - r->b.trav);
		if (!contact(r, c))
			drop(r);
		r->b.cur = cur;
	} else {
		/* Sensitive (meals, health), or nothing we can vouch for. */
		drop(r);
	}
}

static void
on_ssr(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	struct book *b = &r->b;
	const char *ref = edi_value(sg, 2, 2);
	const char *code = edi_value(sg, 1, 0);
	struct ptrav *p = NULL;

	/* A sensitive one is not even kept aside. */
	if (sensitive_ssr(code, NULL)) {
		drop(r);
		return;
	}
	if (!empty(ref)) {
		for (unsigned i = 0; i < b->ntrav && p == NULL; i++)
			if (strcmp(b->trav[i].ref, ref) == 0)
				p = &b->trav[i];
		if (p == NULL) {
			/* For a traveller still to come (SSRs of the booking come first). */
			if (b->ndef == PNR_MAX_DEFERRED) {
				BOOK_FAIL(r, seg, "more than %d SSRs before their travellers",
					  PNR_MAX_DEFERRED);
				return;
			}
			if ((b->def[b->ndef].sg = malloc(sizeof(*sg))) == NULL) {
				BOOK_FAIL(r, seg, "out of memory");
				return;
			}
			/* The copy's pointers point into its own buffer. */
			memcpy(b->def[b->ndef].sg, sg, sizeof(*sg));
			for (unsigned e = 0; e < sg->nel; e++)
				for (unsigned c = 0; c < sg->ncomp[e]; c++)
					if (sg->v[e][c] != NULL)
						b->def[b->ndef].sg->v[e][c] =
							b->def[b->ndef].sg->buf + (sg->v[e][c] - sg->buf);
			snprintf(b->def[b->ndef].ref, sizeof(b->def[b->ndef].ref), "%s", ref);
			b->def[b->ndef].seg = seg;
			b->ndef++;
			return;
		}
	} else {
		p = current(r);
	}
	if (p == NULL) {
		/* Of the whole booking and nobody in particular: nothing we store. */
		drop(r);
		return;
	}
	on_ssr_for(r, p, sg, seg);
}

/*
 * An itinerary TVL into the booking's itinerary, in the store's form of a
 * segment: "DL10 ATL-LGW 2010-03-30" (an open date: "open").
 */
static void
on_leg(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	char date[11] = "", leg[128];
	const char *carrier = edi_value(sg, 4, 0), *num = edi_value(sg, 5, 0);
	const struct flight *f = &r->m.f;

	if (!empty(edi_value(sg, 1, 0)) && !ddmmyy(edi_value(sg, 1, 0), false, r->today, date)) {
		BOOK_FAIL(r, seg, "TVL: the departure date is not DDMMYY");
		return;
	}
	snprintf(leg, sizeof(leg), "%s%s %s-%s %s", carrier, num, edi_value(sg, 2, 0),
		 edi_value(sg, 3, 0), date[0] ? date : "open");
	add(r->b.bv, COL_ITINERARY, ";", leg);
	if (date[0] != '\0')
		add(r->b.bv, COL_TRAVEL_DATES, ";", date);
	r->b.in_leg = true;
	r->b.cur = -1;
	r->b.leg_is_ours = strcmp(carrier, f->carrier) == 0 && strcmp(num, f->number) == 0 &&
			   strcmp(date, f->date) == 0;
}

static void
on_booking_segment(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	const char *tag = sg->tag;
	char date[11], buf[600];
	struct ptrav *p = current(r);

	if (strcmp(tag, "RCI") == 0) {
		/* The composite of the flight's carrier, else the first. */
		unsigned pick = 1;
		for (unsigned e = 1; e < sg->nel; e++)
			if (strcmp(edi_value(sg, e, 0), r->m.f.carrier) == 0 &&
			    strcmp(edi_value(sg, e, 2), "C") != 0) {
				pick = e;
				break;
			}
		if (empty(edi_value(sg, pick, 1))) {
			BOOK_FAIL(r, seg, "RCI without a record locator");
			return;
		}
		put(r->b.bv, COL_RECORD_LOCATOR, edi_value(sg, pick, 1));
		if (!empty(edi_value(sg, pick, 3))) {
			if (!ddmmyy(edi_value(sg, pick, 3), true, r->today, date)) {
				BOOK_FAIL(r, seg, "RCI: the creation date is not DDMMYY");
				return;
			}
			put(r->b.bv, COL_RESERVATION_DATE, date);
		}
	} else if (strcmp(tag, "TIF") == 0) {
		on_tif(r, sg, seg);
	} else if (strcmp(tag, "SSR") == 0) {
		on_ssr(r, sg, seg);
	} else if (strcmp(tag, "DAT") == 0) {
		if (strcmp(edi_value(sg, 1, 0), "710") == 0 &&
		    ddmmyy(edi_value(sg, 1, 1), true, r->today, date))
			put(target(r), COL_TICKET_DATE, date);
	} else if (strcmp(tag, "IFT") == 0) {
		size_t o = 0;
		buf[0] = '\0';
		for (unsigned e = 2; e < sg->nel; e++)
			o += (size_t)snprintf(buf + o, o < sizeof(buf) ? sizeof(buf) - o : 0, "%s%s",
					      o ? " " : "", edi_value(sg, e, 0));
		if (!contact(r, buf))
			drop(r);
	} else if (strcmp(tag, "ORG") == 0) {
		snprintf(buf, sizeof(buf), "%s%s%s%s%s", edi_value(sg, 2, 0),
			 empty(edi_value(sg, 2, 0)) ? "" : " ", edi_value(sg, 1, 0),
			 empty(edi_value(sg, 3, 0)) ? "" : " ", edi_value(sg, 3, 0));
		put(r->b.bv, COL_AGENCY, buf);
		put(r->b.bv, COL_AGENT, edi_value(sg, 2, 1));
	} else if (strcmp(tag, "ADD") == 0) {
		size_t o = 0;
		buf[0] = '\0';
		for (unsigned c = 1; c < sg->ncomp[2] && c < EDI_COMP; c++)
			if (!empty(edi_value(sg, 2, c)))
				o += (size_t)snprintf(buf + o, o < sizeof(buf) ? sizeof(buf) - o : 0,
						      "%s%s", o ? ", " : "", edi_value(sg, 2, c));
		/* 703: the billing address of the form of payment. */
		put(target(r), strcmp(edi_value(sg, 2, 0), "703") == 0 ? COL_BILLING_ADDRESS
									  : COL_ADDRESS, buf);
	} else if (strcmp(tag, "FOP") == 0) {
		for (unsigned e = 1; e < sg->nel; e++) {
			snprintf(buf, sizeof(buf), "%s%s%s%s%s%s%s", edi_value(sg, e, 0),
				 empty(edi_value(sg, e, 3)) ? "" : " ", edi_value(sg, e, 3),
				 empty(edi_value(sg, e, 4)) ? "" : " ", edi_value(sg, e, 4),
				 empty(edi_value(sg, e, 5)) ? "" : " exp ", edi_value(sg, e, 5));
			add(target(r), COL_PAYMENT, ";", buf);
		}
	} else if (strcmp(tag, "TKT") == 0) {
		snprintf(buf, sizeof(buf), "ticket %s", edi_value(sg, 1, 0));
		if (!empty(edi_value(sg, 1, 0)))
			add(target(r), COL_TICKETING, "; ", buf);
	} else if (strcmp(tag, "MON") == 0) {
		for (unsigned e = 1; e < sg->nel; e++) {
			snprintf(buf, sizeof(buf), "fare %s %s %s", edi_value(sg, e, 0),
				 edi_value(sg, e, 2), edi_value(sg, e, 1));
			if (!empty(edi_value(sg, e, 1)))
				add(target(r), COL_TICKETING, "; ", buf);
		}
	} else if (strcmp(tag, "FTI") == 0) {
		snprintf(buf, sizeof(buf), "%s %s", edi_value(sg, 1, 0), edi_value(sg, 1, 1));
		if (!empty(edi_value(sg, 1, 1)))
			add(target(r), COL_FREQUENT_FLYER, ";", buf);
	} else if (strcmp(tag, "EBD") == 0) {
		unsigned long nb = strtoul(edi_value(sg, 2, 0), NULL, 10);
		if (p != NULL && nb > 0 && nb < 100) {
			snprintf(buf, sizeof(buf), "%lu", nb);
			put(p->t.v, COL_BAGS, buf);
		}
	} else if (strcmp(tag, "TVL") == 0) {
		on_leg(r, sg, seg);
	} else if (strcmp(tag, "RPI") == 0) {
		const char *status = edi_value(sg, 2, 0);
		static const char *const gone[] = {"XX", "HX", "UN", "UC", "NO"};
		if (r->b.in_leg && r->b.leg_is_ours) {
			put(r->b.bv, COL_TRAVEL_STATUS, status);
			for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
				r->b.cancelled |= strcmp(status, gone[i]) == 0;
		}
	} else if (strcmp(tag, "LTS") == 0) {
		drop(r); /* the booking's history as free text */
	}
	/* REF, FAR, PTK, TXD, ERC, TRA, TRI, SAC, ABI, SSD, APD, TBD: not stored. */
}

/* ---- a booking, stored or refused whole ---- */

static int
book_end(struct reader *r)
{
	struct book *b = &r->b;
	const struct flight *f = &r->m.f;
	struct diag why;
	uint64_t gone = 0;
	unsigned stored = 0;
	int rc;

	if (!b->open)
		return 0;
	b->open = false;
	r->m.bookings++;
	r->st->messages++;
	if (b->err[0] == '\0' && empty(b->bv[COL_RECORD_LOCATOR]))
		BOOK_FAIL(r, b->start_seg, "a booking without its record locator (RCI): cut short");
	if (b->err[0] == '\0' && b->ntrav == 0 && !b->cancelled)
		BOOK_FAIL(r, b->start_seg, "a booking without a traveller (TIF): cut short");
	if (b->err[0] == '\0' && r->m.err[0] != '\0')
		BOOK_FAIL(r, r->m.err_seg, "%s", r->m.err);
	/* A transfer time to come would slip past masking and retention. */
	if (b->err[0] == '\0' && r->transferred > r->now_ms + PNR_SKEW_MS)
		BOOK_FAIL(r, b->start_seg, "the interchange's date and time (UNB) are in the future; "
			  "the sender's clock or the file is wrong");
	/* The SSRs kept for a traveller who never came. */
	for (unsigned i = 0; i < b->ndef && b->err[0] == '\0'; i++) {
		struct ptrav *p = NULL;
		for (unsigned k = 0; k < b->ntrav && p == NULL; k++)
			if (strcmp(b->trav[k].ref, b->def[i].ref) == 0)
				p = &b->trav[k];
		if (p == NULL)
			BOOK_FAIL(r, b->def[i].seg, "SSR for traveller %.8s, whom no TIF names",
				  b->def[i].ref);
		else
			on_ssr_for(r, p, b->def[i].sg, b->def[i].seg);
	}
	r->st->read += b->ntrav;
	if (b->err[0] != '\0')
		goto reject;
	/*
	 * Every traveller made whole and checked before anything is written:
	 * a booking is stored or refused whole without a savepoint of its own
	 * (the file's transaction is the store's one). A write that fails then
	 * fails the file.
	 */
	diag_init(&why);
	for (unsigned i = 0; !b->cancelled && i < b->ntrav && b->err[0] == '\0'; i++) {
		struct traveller *t = &b->trav[i].t;
		char id[256];
		for (int c = 0; c < COL__COUNT; c++)
			if (b->bv[c] != NULL && t->v[c] == NULL)
				t->v[c] = strdup(b->bv[c]);
		put(t->v, COL_CARRIER, f->carrier);
		put(t->v, COL_FLIGHT_NUMBER, f->number);
		put(t->v, COL_FLIGHT_DATE, f->date);
		put(t->v, COL_DEP_AIRPORT, f->dep);
		put(t->v, COL_ARR_AIRPORT, f->arr);
		put(t->v, COL_DEP_TIME, f->dep_time);
		put(t->v, COL_ARR_TIME, f->arr_time);
		t->source = STORE_SOURCE_PNR;
		t->transferred_at_ms = r->transferred;
		/* The traveller of this booking on this flight, whichever file says it. */
		snprintf(id, sizeof(id), "pnrgov %s %s%s %s %s %s/%s", b->bv[COL_RECORD_LOCATOR],
			 f->carrier, f->number, f->date, f->dep,
			 empty(b->trav[i].ref) ? t->v[COL_SURNAME] : b->trav[i].ref,
			 empty(b->trav[i].ref) && t->v[COL_GIVEN_NAMES] ? t->v[COL_GIVEN_NAMES] : "");
		free(t->record_id);
		t->record_id = strdup(id);
		if (t->record_id == NULL || store_check(t, &why) != 0)
			BOOK_FAIL(r, b->start_seg, "traveller %u is incomplete: %s", i + 1,
				  why.n > 0 ? why.lines[why.n - 1] : "out of memory");
		/* Two TIFs under one reference number would be one record twice. */
		for (unsigned k = 0; k < i && b->err[0] == '\0'; k++)
			if (strcmp(b->trav[k].t.record_id, t->record_id) == 0)
				BOOK_FAIL(r, b->start_seg, "travellers %u and %u have the same "
					  "reference (TIF)", k + 1, i + 1);
	}
	diag_clear(&why);
	if (b->err[0] != '\0')
		goto reject;
	/* Its new state replaces its old one on this flight; a cancelled one just goes. */
	if ((rc = store_delete_booking(r->s, b->bv[COL_RECORD_LOCATOR], f->carrier, f->number,
				       f->date, &gone)) != 0)
		return PIUGW_ESYSTEM;
	diag_init(&why);
	for (unsigned i = 0; !b->cancelled && i < b->ntrav; i++) {
		/* Its booking on this flight was just removed: nothing of it to look up. */
		if (store_insert_new(r->s, &b->trav[i].t, &why) != 0) {
			diag_add(r->d, "%s:%u: the store failed: %s", r->label, b->start_seg,
				 why.n > 0 ? why.lines[why.n - 1] : "?");
			diag_clear(&why);
			return PIUGW_ESYSTEM;
		}
		stored++;
	}
	diag_clear(&why);
	{
		uint64_t same = gone < stored ? gone : stored;
		r->st->stored += stored;
		r->st->replaced += same;
		r->st->removed += gone - same; /* cancelled, or travellers gone from the booking */
	}
	r->st->sensitive_dropped += b->dropped;
	return 0;
reject:
	diag_add(r->d, "%s:%u: booking rejected: %s", r->label, b->err_seg, b->err);
	r->st->messages_rejected++;
	r->st->rejected += b->ntrav;
	return 0;
}

/* ---- the message ---- */

static void
on_flight(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	struct flight *f = &r->m.f;

	memset(f, 0, sizeof(*f));
	if (!ddmmyy(edi_value(sg, 1, 0), false, r->today, f->date)) {
		MSG_FAIL(r, seg, "TVL: the flight's departure date is not DDMMYY");
		return;
	}
	if (!empty(edi_value(sg, 1, 1)) && !hhmm(f->date, edi_value(sg, 1, 1), f->dep_time)) {
		MSG_FAIL(r, seg, "TVL: the departure time is not HHMM");
		return;
	}
	if (!empty(edi_value(sg, 1, 3))) {
		char adate[11];
		if (!(empty(edi_value(sg, 1, 2)) ? snprintf(adate, sizeof(adate), "%s", f->date) > 0
						  : ddmmyy(edi_value(sg, 1, 2), false, r->today,
							   adate)) ||
		    !hhmm(adate, edi_value(sg, 1, 3), f->arr_time)) {
			MSG_FAIL(r, seg, "TVL: the arrival date or time is not DDMMYY, HHMM");
			return;
		}
	}
	snprintf(f->dep, sizeof(f->dep), "%s", edi_value(sg, 2, 0));
	snprintf(f->arr, sizeof(f->arr), "%s", edi_value(sg, 3, 0));
	snprintf(f->carrier, sizeof(f->carrier), "%s", edi_value(sg, 4, 0));
	snprintf(f->number, sizeof(f->number), "%s", edi_value(sg, 5, 0));
	if (empty(f->carrier) || empty(f->number) || empty(f->dep)) {
		MSG_FAIL(r, seg, "TVL: the flight needs its carrier, number and departure airport");
		return;
	}
	f->set = true;
}

static int
msg_end(struct reader *r)
{
	int rc = book_end(r);

	if (rc == 0 && r->m.open && r->m.have_eqn && r->m.eqn != r->m.bookings)
		diag_add(r->d, "%s:%u: warning: EQN counts %u bookings, the message has %u", r->label,
			 r->m.start_seg, r->m.eqn, r->m.bookings);
	if (rc == 0 && r->m.open && r->m.bookings == 0 && r->m.err[0] != '\0') {
		diag_add(r->d, "%s:%u: message rejected: %s", r->label, r->m.err_seg, r->m.err);
		r->st->messages_rejected++;
	}
	book_clear(&r->b);
	memset(&r->m, 0, sizeof(r->m));
	return rc;
}

/* UNH+1+PNRGOV:11:1:IA: versions 11.1 to 15.1. */
static void
on_unh(struct reader *r, const struct edi_seg *sg, unsigned seg)
{
	const char *type = edi_value(sg, 2, 0), *ver = edi_value(sg, 2, 1),
		   *rel = edi_value(sg, 2, 2);
	uint64_t v = 0;

	r->m.open = true;
	r->m.start_seg = seg;
	r->m.segs = 1;
	if (strcmp(type, "PNRGOV") != 0)
		MSG_FAIL(r, seg, "not a PNRGOV message (UNH element 2)");
	else if (!num_parse_u64(ver, strlen(ver), 0, 99, &v) || v < 11 || v > 15 ||
		 strcmp(rel, "1") != 0)
		MSG_FAIL(r, seg, "PNRGOV version %.4s.%.4s: this gateway reads 11.1 to 15.1", ver,
			 rel);
}

/* See pnrgov.h. */
int
pnrgov_import(struct store *s, const char *text, size_t len, const char *label, int64_t now_ms,
	      struct import_stats *st, struct diag *d, import_progress cb, void *ctx)
{
	struct edi x;
	struct edi_seg *sg = NULL;
	struct reader *r = NULL;
	char unb_ref[32] = "", why[100];
	bool in_ic = false;
	uint64_t next = PNR_PROGRESS_EVERY;
	int rc, ret = 0;

	if ((rc = edi_open(&x, text, len, label, d)) != 0)
		return rc;
	if ((sg = malloc(sizeof(*sg))) == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		free(sg);
		return PIUGW_ENOMEM;
	}
	r->s = s;
	r->label = label;
	r->now_ms = now_ms;
	r->transferred = now_ms;
	r->today = num_day_of_ms(now_ms);
	r->st = st;
	r->d = d;
	r->b.cur = -1;
	if (!x.una)
		diag_add(d, "%s: warning: no UNA: read with the default separators (: + . ? ')",
			 label);
	while ((rc = edi_next(&x, sg)) == 1 || rc == -2) {
		unsigned seg = x.segno;
		if (rc == -2) {
			if (r->b.open)
				BOOK_FAIL(r, seg, "segment %u is longer than %d bytes", seg,
					  EDI_SEG_MAX - 2);
			else if (r->m.open)
				MSG_FAIL(r, seg, "segment %u is longer than %d bytes", seg,
					 EDI_SEG_MAX - 2);
			else
				diag_add(d, "%s:%u: a segment longer than %d bytes between messages, "
					    "skipped", label, seg, EDI_SEG_MAX - 2);
			r->m.segs += r->m.open;
			continue;
		}
		r->lead_space |= sg->lead_space;
		if (strcmp(sg->tag, "UNB") == 0) {
			const char *dt = edi_value(sg, 4, 0), *tm_ = edi_value(sg, 4, 1);
			char date[11];
			int hh, mi;
			in_ic = true;
			r->transferred = now_ms;
			snprintf(unb_ref, sizeof(unb_ref), "%s", edi_value(sg, 5, 0));
			if (edi_date(dt, false, r->today, date) && strlen(tm_) == 4 &&
			    (hh = edi_d2(tm_)) >= 0 && hh < 24 && (mi = edi_d2(tm_ + 2)) >= 0 &&
			    mi < 60) {
				int32_t day;
				num_parse_date(date, 10, &day);
				r->transferred = (int64_t)day * 86400000 + ((int64_t)hh * 60 + mi) * 60000;
			}
			continue;
		}
		if (strcmp(sg->tag, "UNZ") == 0) {
			const char *ref = edi_value(sg, 2, 0), *a = ref, *b = unb_ref;
			if (!in_ic)
				diag_add(d, "%s:%u: UNZ without UNB", label, seg);
			else if (strcmp(ref, unb_ref) != 0) {
				/* "44" and "000000044": the same number, padded otherwise. */
				while (*a == '0' && a[1] != '\0')
					a++;
				while (*b == '0' && b[1] != '\0')
					b++;
				bool same = strcmp(a, b) == 0 && strspn(a, "0123456789") == strlen(a);
				diag_add(d, "%s:%u: warning: UNZ reference %.20s %s UNB's %.20s", label,
					 seg, ref, same ? "is written otherwise than" : "differs from",
					 unb_ref);
			}
			in_ic = false;
			continue;
		}
		if (strcmp(sg->tag, "UNH") == 0) {
			if (r->m.open) {
				BOOK_FAIL(r, seg, "a new UNH before this message's UNT: cut short");
				MSG_FAIL(r, seg, "a new UNH before this message's UNT: cut short");
				if ((ret = msg_end(r)) != 0)
					break;
			}
			on_unh(r, sg, seg);
			continue;
		}
		if (!r->m.open)
			continue; /* UNG/UNE and anything between messages */
		r->m.segs++;
		if (!edi_text_ok(sg, why, sizeof(why))) {
			if (r->b.open)
				BOOK_FAIL(r, seg, "%s", why);
			else
				MSG_FAIL(r, seg, "%s", why);
			continue;
		}
		if (strcmp(sg->tag, "UNT") == 0) {
			uint64_t n = 0;
			const char *c = edi_value(sg, 1, 0);
			if (!num_parse_u64(c, strlen(c), 1, 10000000, &n) || n != r->m.segs) {
				/* Segments lost or added: no booking of it can be trusted. */
				MSG_FAIL(r, seg, "UNT counts %.12s segments, the message has %u: "
						 "segments were lost or added", c, r->m.segs);
				BOOK_FAIL(r, seg, "%s", r->m.err);
			}
			if ((ret = msg_end(r)) != 0)
				break;
			if (cb != NULL && st->read >= next) {
				cb(st, ctx);
				next = st->read + PNR_PROGRESS_EVERY;
			}
			continue;
		}
		if (strcmp(sg->tag, "SRC") == 0) {
			if ((ret = book_end(r)) != 0)
				break;
			book_clear(&r->b);
			r->b.open = true;
			r->b.start_seg = seg;
			if (!r->m.f.set)
				MSG_FAIL(r, seg, "a booking before the flight (TVL)");
			continue;
		}
		if (!r->b.open) {
			if (strcmp(sg->tag, "MSG") == 0)
				r->m.update = strcmp(edi_value(sg, 1, 1), "141") == 0 ||
					      strcmp(edi_value(sg, 1, 0), "141") == 0;
			else if (strcmp(sg->tag, "TVL") == 0 && !r->m.f.set)
				on_flight(r, sg, seg);
			else if (strcmp(sg->tag, "EQN") == 0) {
				const char *c = edi_value(sg, 1, 0);
				uint64_t n = 0;
				r->m.have_eqn = num_parse_u64(c, strlen(c), 0, 1000000, &n);
				r->m.eqn = (unsigned)n;
			}
			continue;
		}
		on_booking_segment(r, sg, seg);
	}
	if (ret == 0 && rc < 0) {
		diag_add(d, "%s:%u: cut short: the last segment has no terminator (truncated "
			    "interchange)", label, x.segno);
	}
	if (ret == 0 && r->m.open) {
		BOOK_FAIL(r, r->b.start_seg, "the message ends here (no UNT): cut short");
		MSG_FAIL(r, r->m.start_seg, "the message is incomplete (no UNT)");
		ret = msg_end(r);
	}
	if (ret == 0 && in_ic)
		diag_add(d, "%s: warning: the interchange has no UNZ (truncated?)", label);
	if (ret == 0 && r->lead_space)
		diag_add(d, "%s: warning: spaces before segments, ignored", label);
	if (ret == 0 && r->titles > 0)
		diag_add(d, "%s: warning: %u given name%s carried a title (MR, MRS, MS, MISS, "
			    "MSTR), removed", label, r->titles, r->titles == 1 ? "" : "s");
	book_clear(&r->b);
	free(r);
	free(sg);
	return ret;
}
