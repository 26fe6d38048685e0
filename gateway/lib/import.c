/*
 * import.c: see import.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "edifact.h"
#include "import.h"
#include "pnrgov.h"
#include "sensitive.h"
#include "match.h"
#include "num.h"
#include "piugw/error.h"

#define PROGRESS_EVERY 20000
/* How far ahead of this machine's clock a sender's transfer time may be. */
#define IMPORT_SKEW_MS (5 * 60 * 1000)

/* ---- shared ---- */

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS[Z]" as UTC ms. */
static bool
parse_instant(const char *s, int64_t *ms)
{
	int32_t day;
	size_t len = strlen(s);
	int h = 0, m = 0, sec = 0;

	if (len < 10 || !num_parse_date(s, 10, &day))
		return false;
	if (len > 10) {
		/* Clock fields have leading zeros ("08"), so they are read as two digits. */
		if (s[10] != 'T' || len < 16 || s[13] != ':' || (h = edi_d2(s + 11)) < 0 || h > 23 ||
		    (m = edi_d2(s + 14)) < 0 || m > 59)
			return false;
		if (len > 16) {
			if (s[16] != ':' || len < 19 || (sec = edi_d2(s + 17)) < 0 || sec > 60)
				return false;
			if (len > 19 && !(len == 20 && s[19] == 'Z'))
				return false;
		}
	}
	*ms = (int64_t)day * 86400000 + ((int64_t)h * 3600 + m * 60 + sec) * 1000;
	return true;
}

static void
progress_maybe(struct import_stats *st, import_progress cb, void *ctx, uint64_t *next)
{
	if (cb != NULL && st->read >= *next) {
		cb(st, ctx);
		*next = st->read + PROGRESS_EVERY;
	}
}

/* ---- PAXLST ---- */

struct leg {
	char dep[8], arr[8], dep_time[20], arr_time[20], date[11];
};

#define MAX_LEGS 16
#define MAX_PEOPLE 2000

struct msg {
	char carrier[8], flight[16];
	struct leg legs[MAX_LEGS];
	unsigned nlegs;
	struct traveller *people; /* grows as NAD segments come; kept between messages */
	unsigned npeople, cap, passengers, crew;
	unsigned start_seg;
	unsigned segs;       /* UNH .. current */
	char err[200];
	unsigned err_seg;
	bool in_person;
};

/* Forget the message, keeping the people array for the next one. */
static void
msg_clear(struct msg *m)
{
	struct traveller *people = m->people;
	unsigned cap = m->cap;

	for (unsigned i = 0; i < m->npeople; i++)
		traveller_clear(&people[i]);
	memset(m, 0, sizeof(*m));
	m->people = people;
	m->cap = cap;
}

static void msg_fail(struct msg *m, unsigned seg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
msg_fail(struct msg *m, unsigned seg, const char *fmt, ...)
{
	va_list ap;

	if (m->err[0] != '\0')
		return; /* the first problem is the one reported */
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	m->err_seg = seg;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void
set(struct traveller *t, enum store_col c, const char *v)
{
	free(t->v[c]);
	t->v[c] = dup_or_null(v);
}

/* Store a finished message whole, or reject it whole. */
static int
msg_store(struct store *s, struct msg *m, const char *label, int64_t transferred,
	  int64_t now_ms, struct import_stats *st, struct diag *d)
{
	unsigned rows = 0, all = m->npeople * (m->nlegs > 0 ? m->nlegs : 1);
	struct diag why;
	int ret = 0;

	st->messages++;
	st->read += all;
	if (m->err[0] == '\0' && m->nlegs == 0)
		msg_fail(m, m->start_seg, "%s", "no flight leg (TDT with LOC+125/LOC+87)");
	if (m->err[0] == '\0' && m->npeople == 0)
		msg_fail(m, m->start_seg, "%s", "no passenger or crew member (NAD+FL/NAD+FM)");
	/* A transfer time to come would slip past masking and retention. */
	if (m->err[0] == '\0' && transferred > now_ms + IMPORT_SKEW_MS)
		msg_fail(m, m->start_seg, "%s", "the interchange's date and time (UNB) are in the "
			 "future; the sender's clock or the file is wrong");
	if (m->err[0] != '\0')
		goto reject;
	diag_init(&why);
	if (store_begin(s) != 0) {
		diag_clear(&why);
		return PIUGW_ESYSTEM;
	}
	for (unsigned i = 0; i < m->npeople && m->err[0] == '\0'; i++) {
		for (unsigned k = 0; k < m->nlegs; k++) {
			struct traveller *t = &m->people[i];
			struct leg *l = &m->legs[k];
			t->source = STORE_SOURCE_API;
			t->transferred_at_ms = transferred;
			set(t, COL_CARRIER, m->carrier);
			set(t, COL_FLIGHT_NUMBER, m->flight);
			set(t, COL_FLIGHT_DATE, l->date);
			set(t, COL_DEP_AIRPORT, l->dep);
			set(t, COL_ARR_AIRPORT, l->arr);
			set(t, COL_DEP_TIME, l->dep_time);
			set(t, COL_ARR_TIME, l->arr_time);
			bool replaced = false;
			int rc = store_insert(s, t, &replaced, &why);
			if (rc == PIUGW_EINVAL) {
				msg_fail(m, m->start_seg, "a traveller is incomplete: %s",
					 why.n > 0 ? why.lines[why.n - 1] : "?");
				break;
			}
			if (rc != 0) {
				store_rollback(s);
				diag_clear(&why);
				return rc;
			}
			rows++;
			st->replaced += replaced;
		}
	}
	diag_clear(&why);
	if (m->err[0] != '\0') {
		store_rollback(s);
		goto reject;
	}
	if (store_commit(s) != 0)
		return PIUGW_ESYSTEM;
	st->stored += rows;
	return ret;
reject:
	diag_add(d, "%s:%u: message rejected: %s", label, m->err_seg, m->err);
	st->messages_rejected++;
	st->rejected += all;
	return 0;
}

/* One segment inside a message. */
static void
msg_segment(struct msg *m, const struct edi_seg *sg, unsigned segno, int32_t today)
{
	const char *tag = sg->tag;
	struct traveller *t = m->in_person ? &m->people[m->npeople - 1] : NULL;
	char date[11], why[100];

	if (!edi_text_ok(sg, why, sizeof(why))) {
		msg_fail(m, segno, "%s", why);
		return;
	}

	if (strcmp(tag, "TDT") == 0) {
		const char *id = edi_value(sg, 2, 0), *car = edi_value(sg, 5, 0);
		size_t cl = strlen(car);
		if (strcmp(edi_value(sg, 1, 0), "20") != 0 || *id == '\0') {
			msg_fail(m, segno, "%s", "TDT must be TDT+20+<carrier and flight number>");
			return;
		}
		if (cl == 0 || cl > 3 || strncmp(id, car, cl) != 0)
			cl = 2; /* the IATA designator leads the flight id: XB101 */
		snprintf(m->carrier, sizeof(m->carrier), "%.*s", (int)cl, id);
		snprintf(m->flight, sizeof(m->flight), "%s", id + (strlen(id) > cl ? cl : 0));
		m->in_person = false;
		return;
	}
	if (strcmp(tag, "LOC") == 0) {
		const char *q = edi_value(sg, 1, 0), *place = edi_value(sg, 2, 0);
		if (t == NULL) {
			if (strcmp(q, "125") == 0) {
				if (m->nlegs == MAX_LEGS) {
					msg_fail(m, segno, "%s", "more than 16 legs");
					return;
				}
				snprintf(m->legs[m->nlegs++].dep, 8, "%s", place);
			} else if (strcmp(q, "87") == 0 && m->nlegs > 0) {
				snprintf(m->legs[m->nlegs - 1].arr, 8, "%s", place);
			}
			return;
		}
		if (strcmp(q, "178") == 0)
			set(t, COL_EMBARKATION, place);
		else if (strcmp(q, "179") == 0)
			set(t, COL_DEBARKATION, place);
		else if (strcmp(q, "22") == 0)
			set(t, COL_FINAL_DESTINATION, place);
		else if (strcmp(q, "174") == 0)
			set(t, COL_RESIDENCE, place);
		else if (strcmp(q, "180") == 0)
			set(t, COL_BIRTHPLACE, place);
		else if (strcmp(q, "91") == 0)
			set(t, COL_DOC_ISSUER, place);
		return;
	}
	if (strcmp(tag, "DTM") == 0) {
		const char *q = edi_value(sg, 1, 0), *v = edi_value(sg, 1, 1);
		if (t == NULL && m->nlegs > 0 && (strcmp(q, "189") == 0 || strcmp(q, "232") == 0)) {
			struct leg *l = &m->legs[m->nlegs - 1];
			char when[20];
			int hh, mi;
			if (!edi_date(v, false, today, date) || strlen(v) < 10 ||
			    (hh = edi_d2(v + 6)) < 0 || hh > 23 || (mi = edi_d2(v + 8)) < 0 || mi > 59) {
				msg_fail(m, segno, "%s", "DTM time must be YYMMDDHHMM");
				return;
			}
			snprintf(when, sizeof(when), "%sT%02d:%02d", date, hh, mi);
			if (strcmp(q, "189") == 0) {
				snprintf(l->dep_time, sizeof(l->dep_time), "%s", when);
				snprintf(l->date, sizeof(l->date), "%s", date);
			} else {
				snprintf(l->arr_time, sizeof(l->arr_time), "%s", when);
				if (l->date[0] == '\0')
					snprintf(l->date, sizeof(l->date), "%s", date);
			}
			return;
		}
		if (t != NULL && (strcmp(q, "329") == 0 || strcmp(q, "36") == 0)) {
			if (!edi_date(v, strcmp(q, "329") == 0, today, date)) {
				msg_fail(m, segno, "%s", "DTM date must be YYMMDD");
				return;
			}
			set(t, strcmp(q, "329") == 0 ? COL_DATE_OF_BIRTH : COL_DOC_EXPIRY, date);
		}
		return;
	}
	if (strcmp(tag, "NAD") == 0) {
		const char *q = edi_value(sg, 1, 0);
		char given[512] = "";
		size_t o = 0;
		if (strcmp(q, "FL") != 0 && strcmp(q, "FM") != 0) {
			m->in_person = false; /* NAD+MS etc.: not a traveller */
			return;
		}
		if (m->npeople == MAX_PEOPLE) {
			msg_fail(m, segno, "%s", "more than 2000 people in one message");
			return;
		}
		if (m->npeople == m->cap) {
			unsigned nc = m->cap ? m->cap * 2 : 64;
			struct traveller *np = realloc(m->people, nc * sizeof(*np));
			if (np == NULL) {
				msg_fail(m, segno, "%s", "out of memory");
				return;
			}
			m->people = np;
			m->cap = nc;
		}
		if (*edi_value(sg, 4, 0) == '\0') {
			msg_fail(m, segno, "%s", "NAD without a surname (element 4)");
			return;
		}
		t = &m->people[m->npeople++];
		memset(t, 0, sizeof(*t));
		m->in_person = true;
		if (strcmp(q, "FL") == 0)
			m->passengers++;
		else
			m->crew++;
		set(t, COL_SURNAME, edi_value(sg, 4, 0));
		/* Given names joined by spaces; what does not fit is cut (o stays inside given). */
		for (unsigned c = 1; c < sg->ncomp[4] && c < EDI_COMP && o + 1 < sizeof(given); c++)
			if (*edi_value(sg, 4, c) != '\0') {
				int w = snprintf(given + o, sizeof(given) - o, "%s%s", o ? " " : "",
						 edi_value(sg, 4, c));
				o = w < 0 ? o : o + (size_t)w >= sizeof(given) ? sizeof(given) - 1 : o + (size_t)w;
			}
		set(t, COL_GIVEN_NAMES, given);
		return;
	}
	if (t == NULL)
		return;
	if (strcmp(tag, "ATT") == 0 && strcmp(edi_value(sg, 1, 0), "2") == 0)
		set(t, COL_SEX, edi_value(sg, 3, 0));
	else if (strcmp(tag, "NAT") == 0)
		set(t, COL_NATIONALITY, edi_value(sg, 2, 0));
	else if (strcmp(tag, "RFF") == 0 && strcmp(edi_value(sg, 1, 0), "AVF") == 0)
		set(t, COL_RECORD_LOCATOR, edi_value(sg, 1, 1));
	else if (strcmp(tag, "RFF") == 0 && strcmp(edi_value(sg, 1, 0), "SEA") == 0)
		set(t, COL_SEAT, edi_value(sg, 1, 1));
	else if (strcmp(tag, "DOC") == 0) {
		set(t, COL_DOC_TYPE, edi_value(sg, 1, 0));
		set(t, COL_DOC_NUMBER, edi_value(sg, 2, 0));
	}
}

static int
import_paxlst(struct store *s, const char *text, size_t len, const char *label, int64_t now_ms,
	      struct import_stats *st, struct diag *d, import_progress cb, void *ctx)
{
	struct edi x;
	struct edi_seg *sg;
	struct msg *m;
	bool in_interchange = false, in_msg = false;
	unsigned msgs_in_ic = 0, groups_in_ic = 0;
	int64_t transferred = now_ms;
	uint64_t next = PROGRESS_EVERY;
	int rc, ret = 0;

	if ((rc = edi_open(&x, text, len, label, d)) != 0)
		return rc;
	sg = malloc(sizeof(*sg));
	m = calloc(1, sizeof(*m));
	if (sg == NULL || m == NULL) {
		free(sg);
		free(m);
		return PIUGW_ENOMEM;
	}
	while ((rc = edi_next(&x, sg)) == 1 || rc == -2) {
		if (rc == -2) {
			/* Its message cannot be whole: name why, and go on with the next one. */
			if (in_msg) {
				msg_fail(m, x.segno, "segment %u is longer than %d bytes", x.segno,
					 EDI_SEG_MAX - 2);
				m->segs++;
			} else {
				diag_add(d, "%s:%u: a segment longer than %d bytes between messages, "
					    "skipped", label, x.segno, EDI_SEG_MAX - 2);
			}
			continue;
		}
		if (strcmp(sg->tag, "UNB") == 0) {
			const char *dt = edi_value(sg, 4, 0), *tm_ = edi_value(sg, 4, 1);
			char date[11];
			int hh, mi;
			in_interchange = true;
			msgs_in_ic = 0;
			groups_in_ic = 0;
			transferred = now_ms;
			if (edi_date(dt, false, num_day_of_ms(now_ms), date) && strlen(tm_) == 4 &&
			    (hh = edi_d2(tm_)) >= 0 && (mi = edi_d2(tm_ + 2)) >= 0) {
				int32_t day;
				num_parse_date(date, 10, &day);
				transferred = (int64_t)day * 86400000 + ((int64_t)hh * 60 + mi) * 60000;
			}
			continue;
		}
		if (strcmp(sg->tag, "UNH") == 0) {
			if (in_msg) {
				msg_fail(m, x.segno, "%s", "a new UNH before this message's UNT");
				if ((ret = msg_store(s, m, label, transferred, now_ms, st, d)) != 0)
					break;
			}
			msg_clear(m);
			in_msg = true;
			m->start_seg = x.segno;
			m->segs = 1;
			if (strcmp(edi_value(sg, 2, 0), "PAXLST") != 0)
				msg_fail(m, x.segno, "%s", "not a PAXLST message (UNH element 2)");
			continue;
		}
		if (strcmp(sg->tag, "UNG") == 0 && !in_msg) {
			groups_in_ic++;
			continue;
		}
		if (strcmp(sg->tag, "UNZ") == 0) {
			uint64_t want = 0;
			const char *c = edi_value(sg, 1, 0);
			/* With functional groups (UNG), UNZ counts the groups, not the messages. */
			unsigned have = groups_in_ic > 0 ? groups_in_ic : msgs_in_ic;
			if (!in_interchange)
				diag_add(d, "%s:%u: UNZ without UNB", label, x.segno);
			else if (!num_parse_u64(c, strlen(c), 0, 1000000, &want) || want != have)
				diag_add(d, "%s:%u: warning: UNZ counts %s %s, the interchange has %u",
					 label, x.segno, c, groups_in_ic > 0 ? "groups" : "messages",
					 have);
			in_interchange = false;
			continue;
		}
		if (!in_msg)
			continue; /* UNG/UNE groups and anything between messages */
		m->segs++;
		if (strcmp(sg->tag, "UNT") == 0) {
			uint64_t n = 0;
			const char *c = edi_value(sg, 1, 0);
			if (!num_parse_u64(c, strlen(c), 1, 10000000, &n) || n != m->segs)
				msg_fail(m, x.segno, "UNT counts %.12s segments, the message has %u: "
						     "segments were lost or added", c, m->segs);
			in_msg = false;
			msgs_in_ic++;
			if ((ret = msg_store(s, m, label, transferred, now_ms, st, d)) != 0)
				break;
			msg_clear(m);
			progress_maybe(st, cb, ctx, &next);
			continue;
		}
		if (strcmp(sg->tag, "CNT") == 0) {
			const char *q = edi_value(sg, 1, 0), *c = edi_value(sg, 1, 1);
			uint64_t n = 0;
			unsigned have = strcmp(q, "42") == 0 ? m->passengers : m->crew;
			if ((strcmp(q, "42") == 0 || strcmp(q, "41") == 0) &&
			    (!num_parse_u64(c, strlen(c), 0, 1000000, &n) || n != have))
				msg_fail(m, x.segno, "CNT+%s counts %.12s, the message lists %u", q, c,
					 have);
			continue;
		}
		msg_segment(m, sg, x.segno, num_day_of_ms(now_ms));
	}
	if (ret == 0 && rc < 0) {
		diag_add(d, "%s:%u: cut short: the last segment has no terminator (truncated "
			    "interchange)", label, x.segno);
		if (in_msg) {
			msg_fail(m, m->start_seg, "%s", "the message is incomplete (no UNT)");
			ret = msg_store(s, m, label, transferred, now_ms, st, d);
			in_msg = false;
		}
	}
	if (ret == 0 && in_msg) {
		msg_fail(m, m->start_seg, "%s", "the message is incomplete (no UNT)");
		ret = msg_store(s, m, label, transferred, now_ms, st, d);
	}
	if (ret == 0 && in_interchange)
		diag_add(d, "%s: warning: the interchange has no UNZ (truncated?)", label);
	msg_clear(m);
	free(m->people);
	free(m);
	free(sg);
	return ret;
}

/* ---- CSV and JSON Lines ---- */

struct rows {
	struct store *s;
	const char *label;
	int64_t now_ms;
	struct import_stats *st;
	struct diag *d;
};

/* Store one row (already a traveller) in the file's transaction. */
static int
row_store(struct rows *r, struct traveller *t, unsigned line)
{
	struct diag why;
	bool replaced = false;
	int rc;

	r->st->read++;
	r->st->messages++;
	diag_init(&why);
	/* The codes that reveal religion or health never enter the store. */
	if (t->v[COL_SSR] != NULL) {
		/* What is kept is never longer than the list. */
		size_t size = strlen(t->v[COL_SSR]) + 1;
		char *kept = malloc(size);
		unsigned n = kept != NULL ? sensitive_filter_list(t->v[COL_SSR], kept, size) : 0;
		if (n > 0) {
			r->st->sensitive_dropped += n;
			free(t->v[COL_SSR]);
			t->v[COL_SSR] = kept[0] != '\0' ? kept : NULL;
			if (kept[0] == '\0')
				free(kept);
		} else {
			free(kept);
		}
	}
	/* A transfer time to come would slip past masking and retention. */
	if (t->transferred_at_ms > r->now_ms + IMPORT_SKEW_MS) {
		diag_add(&why, "transferred_at is in the future");
		rc = PIUGW_EINVAL;
	} else {
		rc = store_insert(r->s, t, &replaced, &why);
	}
	if (rc == PIUGW_EINVAL) {
		diag_add(r->d, "%s:%u: row rejected: %s", r->label, line,
			 why.n > 0 ? why.lines[0] : "?");
		r->st->rejected++;
		r->st->messages_rejected++;
		rc = 0;
	} else if (rc == 0) {
		r->st->stored++;
		r->st->replaced += replaced;
	}
	diag_clear(&why);
	return rc;
}

/* Set a named field of t; "source" and "transferred_at" are special. */
static bool
field(struct traveller *t, const char *name, size_t nlen, const char *val, char *why, size_t wl)
{
	int col;

	/* What is not UTF-8 would be stored, and answered, as garbage: the row goes. */
	if (!match_utf8_valid(val)) {
		snprintf(why, wl, "field '%.*s' is not UTF-8", (int)(nlen > 40 ? 40 : nlen), name);
		return false;
	}

	if (nlen == 6 && memcmp(name, "source", 6) == 0) {
		t->source = strcmp(val, "API") == 0 ? STORE_SOURCE_API
			    : strcmp(val, "PNR") == 0 ? STORE_SOURCE_PNR
						       : 0;
		if (t->source == 0)
			snprintf(why, wl, "source must be API or PNR");
		return t->source != 0;
	}
	if (nlen == 9 && memcmp(name, "record_id", 9) == 0) {
		free(t->record_id);
		t->record_id = dup_or_null(val);
		return true;
	}
	if (nlen == 14 && memcmp(name, "transferred_at", 14) == 0) {
		if (!parse_instant(val, &t->transferred_at_ms)) {
			snprintf(why, wl, "transferred_at must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
			return false;
		}
		return true;
	}
	if ((col = store_col_by_name(name, nlen)) < 0) {
		snprintf(why, wl, "unknown field '%.*s'", (int)(nlen > 40 ? 40 : nlen), name);
		return false;
	}
	free(t->v[col]);
	t->v[col] = dup_or_null(val);
	return true;
}

/* One RFC 4180 record starting at *pp: fields into f (malloc'd), count into *nf. */
static int
csv_record(const char **pp, const char *end, char ***fp, size_t *nf, unsigned *line, bool *nulp)
{
	const char *p = *pp;
	char **f = NULL, *cur = NULL;
	size_t n = 0, cap = 0, cl = 0, ccap = 0;
	bool quoted = false, done = false;

	while (!done) {
		char ch;
		bool end_field = false;
		if (p >= end) {
			if (quoted) {
				for (size_t i = 0; i < n; i++)
					free(f[i]);
				free(f);
				free(cur);
				return -1; /* unterminated quote */
			}
			end_field = done = true;
		} else {
			ch = *p++;
			if (quoted) {
				if (ch == '"' && p < end && *p == '"') {
					p++;
				} else if (ch == '"') {
					quoted = false;
					continue;
				} else if (ch == '\n') {
					(*line)++;
				}
				if (ch != '"' || true) {
					if (cl + 2 > ccap) {
						ccap = ccap ? ccap * 2 : 64;
						cur = realloc(cur, ccap);
					}
					if (cur == NULL)
						return -2;
					*nulp |= ch == '\0';
					cur[cl++] = ch;
				}
				continue;
			}
			if (ch == '"' && cl == 0) {
				quoted = true;
				continue;
			}
			if (ch == ',') {
				end_field = true;
			} else if (ch == '\n' || ch == '\r') {
				if (ch == '\r' && p < end && *p == '\n')
					p++;
				end_field = done = true;
			} else {
				if (cl + 2 > ccap) {
					ccap = ccap ? ccap * 2 : 64;
					cur = realloc(cur, ccap);
				}
				if (cur == NULL)
					return -2;
				*nulp |= ch == '\0';
				cur[cl++] = ch;
				continue;
			}
		}
		if (end_field) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				char **nf2 = realloc(f, cap * sizeof(*f));
				if (nf2 == NULL)
					return -2;
				f = nf2;
			}
			if (cur == NULL && (cur = malloc(1)) == NULL)
				return -2;
			cur[cl] = '\0';
			f[n++] = cur;
			cur = NULL;
			cl = ccap = 0;
		}
	}
	*pp = p;
	*fp = f;
	*nf = n;
	return 0;
}

static void
fields_free(char **f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
}

/* A column name from a file as it may be said: printable ASCII, '?' for the rest. */
static const char *
printable(const char *s)
{
	static char buf[48];
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* Edit distance of a and b (short names only), for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The known column an unknown name most likely meant: a few edits away, or
 * the same words shortened ("document_number" for doc_number). NULL if none.
 */
static const char *
column_like(const char *name)
{
	static const char *const special[] = {"source", "transferred_at", "record_id"};
	const char *best = NULL;
	size_t bd = 4;

	for (int i = 0; i < COL__COUNT + 3; i++) {
		const char *c = i < COL__COUNT ? store_cols[i].name : special[i - COL__COUNT];
		size_t dd = distance(name, c);
		const char *u1 = strchr(name, '_'), *u2 = strchr(c, '_');
		/* Same last word, first words one the other's start: doc_ / document_. */
		if (u1 != NULL && u2 != NULL && strcmp(u1, u2) == 0 &&
		    (strncmp(name, c, (size_t)(u2 - c)) == 0 || strncmp(c, name, (size_t)(u1 - name)) == 0))
			dd = 1;
		if (dd < bd) {
			bd = dd;
			best = c;
		}
	}
	return best;
}

static int
import_csv(struct store *s, const char *text, size_t len, const char *label, int64_t now_ms,
	   struct import_stats *st, struct diag *d, import_progress cb, void *ctx)
{
	struct rows r = {s, label, now_ms, st, d};
	const char *p = text, *end = text + len;
	char **hdr = NULL, **f = NULL;
	size_t nh = 0, nf = 0;
	unsigned line = 1;
	uint64_t next = PROGRESS_EVERY;
	int ret = 0;

	/* Spreadsheet programs start their UTF-8 CSV with a byte order mark. */
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	bool nul = false;
	if (csv_record(&p, end, &hdr, &nh, &line, &nul) != 0 || nh == 0 || nul) {
		diag_add(d, "%s:1: expected a header row naming the columns", label);
		fields_free(hdr, nh);
		return PIUGW_EMALFORMED;
	}
	/* Every column known, each once: a typo must never drop a field silently. */
	for (size_t i = 0; i < nh; i++) {
		char why[120];
		struct traveller probe;
		memset(&probe, 0, sizeof(probe));
		if (!field(&probe, hdr[i], strlen(hdr[i]), "", why, sizeof(why)) &&
		    strstr(why, "unknown field") != NULL) {
			const char *like = column_like(hdr[i]);
			if (like != NULL)
				diag_add(d, "%s:1: unknown column '%s' (did you mean %s?)", label,
					 printable(hdr[i]), like);
			else
				diag_add(d, "%s:1: unknown column '%s' (columns: piugw import --help)",
					 label, printable(hdr[i]));
			ret = PIUGW_EMALFORMED;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(hdr[k], hdr[i]) == 0) {
				diag_add(d, "%s:1: column '%s' is named twice (columns %zu and %zu)",
					 label, printable(hdr[i]), k + 1, i + 1);
				ret = PIUGW_EMALFORMED;
				break;
			}
		traveller_clear(&probe);
	}
	if (ret != 0) {
		fields_free(hdr, nh);
		return ret; /* nothing imported: the file's columns are wrong */
	}
	while (p < end) {
		struct traveller t;
		char why[160] = "";
		bool ok = true;
		unsigned at = ++line;
		int rc;
		nul = false;
		rc = csv_record(&p, end, &f, &nf, &line, &nul);
		if (rc == -2) {
			ret = PIUGW_ENOMEM;
			break;
		}
		if (rc == -1) {
			diag_add(d, "%s:%u: row rejected: a quoted field is not closed", label, at);
			st->read++;
			st->rejected++;
			break;
		}
		if (nf == 1 && f[0][0] == '\0') {
			fields_free(f, nf);
			continue; /* blank line */
		}
		memset(&t, 0, sizeof(t));
		t.transferred_at_ms = now_ms;
		if (nf != nh) {
			snprintf(why, sizeof(why), "%zu fields, the header has %zu", nf, nh);
			ok = false;
		} else if (nul) {
			/* A C string would end there: MUEL\0LER would be stored as MUEL. */
			snprintf(why, sizeof(why), "a field holds a NUL byte");
			ok = false;
		}
		for (size_t i = 0; ok && i < nf; i++)
			if (f[i][0] != '\0' && !field(&t, hdr[i], strlen(hdr[i]), f[i], why, sizeof(why)))
				ok = false;
		if (!ok) {
			diag_add(d, "%s:%u: row rejected: %s", label, at, why);
			st->read++;
			st->messages++;
			st->rejected++;
			st->messages_rejected++;
		} else if ((ret = row_store(&r, &t, at)) != 0) {
			traveller_clear(&t);
			fields_free(f, nf);
			break;
		}
		traveller_clear(&t);
		fields_free(f, nf);
		progress_maybe(st, cb, ctx, &next);
	}
	fields_free(hdr, nh);
	return ret;
}

static int
import_jsonl(struct store *s, const char *text, size_t len, const char *label, int64_t now_ms,
	     struct import_stats *st, struct diag *d, import_progress cb, void *ctx)
{
	struct rows r = {s, label, now_ms, st, d};
	const char *p = text, *end = text + len;
	unsigned line = 0;
	uint64_t next = PROGRESS_EVERY;
	int ret = 0;

	while (p < end && ret == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t jerr;
		json_t *o;
		struct traveller t;
		char why[160] = "";
		bool ok = true;
		const char *key;
		json_t *val;

		line++;
		const char *ln = p;
		p += l + (nl != NULL ? 1 : 0);
		while (l > 0 && (ln[l - 1] == '\r' || ln[l - 1] == ' '))
			l--;
		if (l == 0)
			continue;
		o = json_loadb(ln, l, JSON_REJECT_DUPLICATES, &jerr);
		if (o == NULL || !json_is_object(o)) {
			diag_add(d, "%s:%u: row rejected: not a JSON object (%s)", label, line,
				 o == NULL ? jerr.text : "another JSON value");
			json_decref(o);
			st->read++;
			st->messages++;
			st->rejected++;
			st->messages_rejected++;
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.transferred_at_ms = now_ms;
		json_object_foreach(o, key, val)
		{
			char num[32];
			const char *v;
			if (!ok)
				break;
			if (json_is_string(val))
				v = json_string_value(val);
			else if (json_is_integer(val)) {
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
				v = num;
			} else if (json_is_null(val))
				continue;
			else {
				snprintf(why, sizeof(why), "field '%.40s' must be a string or number", key);
				ok = false;
				break;
			}
			ok = field(&t, key, strlen(key), v, why, sizeof(why));
		}
		json_decref(o);
		if (!ok) {
			diag_add(d, "%s:%u: row rejected: %s", label, line, why);
			st->read++;
			st->messages++;
			st->rejected++;
			st->messages_rejected++;
		} else {
			ret = row_store(&r, &t, line);
		}
		traveller_clear(&t);
		progress_maybe(st, cb, ctx, &next);
	}
	return ret;
}

/* See import.h. */
int
import_text(struct store *s, enum import_format fmt, const char *text, size_t len,
	    const char *label, int64_t now_ms, struct import_stats *st, struct diag *d,
	    import_progress progress, void *ctx)
{
	int ret = PIUGW_EINVAL;

	memset(st, 0, sizeof(*st));
	/* All of the file or none of it: counts said are counts stored. */
	if (store_begin(s) != 0) {
		diag_add(d, "%s: the store cannot be written (locked, or its disk is full)", label);
		return PIUGW_ESYSTEM;
	}
	switch (fmt) {
	case IMPORT_PAXLST: ret = import_paxlst(s, text, len, label, now_ms, st, d, progress, ctx); break;
	case IMPORT_CSV: ret = import_csv(s, text, len, label, now_ms, st, d, progress, ctx); break;
	case IMPORT_JSONL: ret = import_jsonl(s, text, len, label, now_ms, st, d, progress, ctx); break;
	case IMPORT_PNRGOV: ret = pnrgov_import(s, text, len, label, now_ms, st, d, progress, ctx); break;
	}
	if (ret == 0 && (ret = store_commit(s)) != 0)
		diag_add(d, "%s: the store could not commit the file (is its disk full?)", label);
	else if (ret == 0)
		st->replaced += store_replaced_late(s);
	else if (ret != 0)
		store_rollback(s);
	if (ret != 0) {
		st->stored = 0;
		st->replaced = 0;
		st->removed = 0;
	}
	return ret;
}

/* See import.h. */
int
import_format_by_name(const char *name)
{
	if (strcmp(name, "paxlst") == 0)
		return IMPORT_PAXLST;
	if (strcmp(name, "csv") == 0)
		return IMPORT_CSV;
	if (strcmp(name, "jsonl") == 0)
		return IMPORT_JSONL;
	if (strcmp(name, "pnrgov") == 0)
		return IMPORT_PNRGOV;
	return -1;
}

/* See import.h. */
const char *
import_format_name(enum import_format fmt)
{
	switch (fmt) {
	case IMPORT_PAXLST: return "paxlst";
	case IMPORT_CSV: return "csv";
	case IMPORT_JSONL: return "jsonl";
	case IMPORT_PNRGOV: return "pnrgov";
	}
	return "?";
}
