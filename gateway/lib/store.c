/*
 * store.c: see store.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "body.pb-c.h"
#include "match.h"
#include "num.h"
#include "fileio.h"
#include "piugw/error.h"
#include "store.h"
#include "store_backend.h"

#define CAT(x) PIUGW__CATEGORY__CATEGORY_##x
#define FIELD_MAX 1024

const struct store_col_info store_cols[COL__COUNT] = {
	[COL_SURNAME] = {"surname", CAT(API_IDENTITY), true},
	[COL_GIVEN_NAMES] = {"given_names", CAT(API_IDENTITY), true},
	[COL_DATE_OF_BIRTH] = {"date_of_birth", CAT(API_IDENTITY), true},
	[COL_SEX] = {"sex", CAT(API_IDENTITY), true},
	[COL_NATIONALITY] = {"nationality", CAT(API_IDENTITY), true},
	[COL_DOC_TYPE] = {"doc_type", CAT(API_DOCUMENT), true},
	[COL_DOC_NUMBER] = {"doc_number", CAT(API_DOCUMENT), true},
	[COL_DOC_ISSUER] = {"doc_issuer", CAT(API_DOCUMENT), true},
	[COL_DOC_EXPIRY] = {"doc_expiry", CAT(API_DOCUMENT), true},
	[COL_CARRIER] = {"carrier", CAT(API_FLIGHT), true},
	[COL_FLIGHT_NUMBER] = {"flight_number", CAT(API_FLIGHT), true},
	[COL_FLIGHT_DATE] = {"flight_date", CAT(API_FLIGHT), true},
	[COL_DEP_AIRPORT] = {"dep_airport", CAT(API_FLIGHT), true},
	[COL_DEP_TIME] = {"dep_time", CAT(API_FLIGHT), true},
	[COL_ARR_AIRPORT] = {"arr_airport", CAT(API_FLIGHT), true},
	[COL_ARR_TIME] = {"arr_time", CAT(API_FLIGHT), true},
	[COL_EMBARKATION] = {"embarkation", CAT(API_TRAVEL), true},
	[COL_DEBARKATION] = {"debarkation", CAT(API_TRAVEL), true},
	[COL_FINAL_DESTINATION] = {"final_destination", CAT(API_TRAVEL), true},
	[COL_SEAT] = {"seat", CAT(API_TRAVEL), true},
	[COL_BAGS] = {"bags", CAT(API_TRAVEL), true},
	[COL_RESIDENCE] = {"residence", CAT(API_TRAVEL), true},
	[COL_BIRTHPLACE] = {"birthplace", CAT(API_TRAVEL), true},
	[COL_RECORD_LOCATOR] = {"record_locator", CAT(PNR_BOOKING), false},
	[COL_RESERVATION_DATE] = {"reservation_date", CAT(PNR_BOOKING), false},
	[COL_TICKET_DATE] = {"ticket_date", CAT(PNR_BOOKING), false},
	[COL_TRAVEL_DATES] = {"travel_dates", CAT(PNR_BOOKING), false},
	[COL_TICKETING] = {"ticketing", CAT(PNR_BOOKING), false},
	[COL_TRAVEL_STATUS] = {"travel_status", CAT(PNR_BOOKING), false},
	[COL_ADDRESS] = {"address", CAT(PNR_CONTACT), true},
	[COL_PHONES] = {"phones", CAT(PNR_CONTACT), true},
	[COL_EMAILS] = {"emails", CAT(PNR_CONTACT), true},
	[COL_PAYMENT] = {"payment", CAT(PNR_PAYMENT), true},
	[COL_BILLING_ADDRESS] = {"billing_address", CAT(PNR_PAYMENT), true},
	[COL_ITINERARY] = {"itinerary", CAT(PNR_ITINERARY), false},
	[COL_AGENCY] = {"agency", CAT(PNR_AGENCY), false},
	[COL_AGENT] = {"agent", CAT(PNR_AGENCY), false},
	[COL_FREQUENT_FLYER] = {"frequent_flyer", CAT(PNR_FREQUENT_FLYER), true},
	[COL_BAG_TAGS] = {"bag_tags", CAT(PNR_SEAT_BAGGAGE), false},
	[COL_REMARKS] = {"remarks", CAT(PNR_REMARKS), true},
	[COL_SSR] = {"ssr", 0, true},
};

struct store {
	const struct store_backend *be;
	void *db;
	unsigned depth; /* store_begin nesting: 0 none, 1 a transaction, more savepoints */
};

/* See store.h. */
int
store_col_by_name(const char *name, size_t len)
{
	for (int i = 0; i < COL__COUNT; i++)
		if (strlen(store_cols[i].name) == len && memcmp(store_cols[i].name, name, len) == 0)
			return i;
	return -1;
}

/* See store_backend.h. */
void
store_sql_cols(char *out, size_t size, const char *each)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < COL__COUNT && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, ", %s%s", store_cols[i].name, each);
}

/* See store.h. */
void
traveller_clear(struct traveller *t)
{
	free(t->record_id);
	t->record_id = NULL;
	for (int i = 0; i < COL__COUNT; i++) {
		free(t->v[i]);
		t->v[i] = NULL;
	}
}

/* Drop what a match holds. */
static void
match_clear(struct store_match *m)
{
	traveller_clear(&m->t);
	free(m->pkey);
	m->pkey = NULL;
}

/* See store.h. */
void
store_result_clear(struct store_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		match_clear(&r->m[i]);
	free(r->m);
	memset(r, 0, sizeof(*r));
}

/* See store.h. */
void
store_close(struct store **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	(*sp)->be->close((*sp)->db);
	free(*sp);
	*sp = NULL;
}

/* See store.h. */
int
store_open(const char *path, struct store **outp, struct diag *d)
{
	struct store *s;
	int ret;

	*outp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PIUGW_ENOMEM;
	/* "postgresql:CONNINFO", or the path of a SQLite file. */
	s->be = strncmp(path, "postgresql:", 11) == 0 ? &store_pg : &store_sqlite;
	if ((ret = s->be->open(s->be == &store_pg ? path + 11 : path, &s->db, d)) != 0) {
		free(s);
		return ret;
	}
	*outp = s;
	return 0;
}

/* See store.h. */
int
store_begin(struct store *s)
{
	int rc = s->be->begin(s->db, s->depth);

	if (rc == 0)
		s->depth++;
	return rc;
}

/* See store.h. */
int
store_commit(struct store *s)
{
	if (s->depth == 0)
		return PIUGW_EINVAL;
	return s->be->commit(s->db, --s->depth);
}

/* See store.h. */
int
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return PIUGW_EINVAL;
	return s->be->rollback(s->db, --s->depth);
}

/* See store.h. */
int
store_count(struct store *s, uint64_t *np)
{
	*np = 0;
	return s->be->count(s->db, np);
}

/* See store.h. */
void
store_read_hold(struct store *s, bool on)
{
	s->be->read_hold(s->db, on);
}

/* Before a search: under store_read_hold, the read transaction the searches share. */
static void
snapshot(struct store *s)
{
	s->be->snapshot(s->db);
}

/* ---- keys ---- */

static void
doc_key(const char *issuer, const char *number, char *out, size_t size)
{
	char iss[16], num[64];

	match_document(issuer, iss, sizeof(iss));
	match_document(number, num, sizeof(num));
	snprintf(out, size, "%s:%s", iss, num);
}

static void
dob_key(const char *dob, char *out, size_t size)
{
	match_document(dob, out, size); /* digits only: 1985-04-12 -> 19850412 */
}

static void
name_key(const char *surname, const char *given, const char *dob, char *out, size_t size)
{
	char sn[MATCH_NAME_MAX], gn[MATCH_NAME_MAX], db[16];

	match_normalise(surname, sn, 0);
	match_normalise(given, gn, 0);
	dob_key(dob, db, sizeof(db));
	snprintf(out, size, "%s|%s|%s", sn, gn, db);
}

static void
full_name(const char *surname, const char *given, char *out)
{
	char both[2 * MATCH_NAME_MAX + 2];

	snprintf(both, sizeof(both), "%s %s", given != NULL ? given : "",
		 surname != NULL ? surname : "");
	match_normalise(both, out, 0);
}

static void
flight_key(const char *carrier, const char *number, const char *date, char *out, size_t size)
{
	char c[8], n[16], dt[16];
	const char *p;

	match_document(carrier, c, sizeof(c));
	match_document(number, n, sizeof(n));
	for (p = n; *p == '0' && p[1] != '\0'; p++)
		; /* BA0123 and BA123 are one flight */
	match_document(date, dt, sizeof(dt));
	snprintf(out, size, "%s%s|%s", c, p, dt);
}

/* See store.h. */
size_t
store_selector_norm(enum store_selector kind, const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	for (; in != NULL && *in && o + 1 < out_size; in++) {
		char c = *in;
		if (kind == STORE_SEL_EMAIL) {
			if (c == ' ')
				continue;
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			out[o++] = c;
		} else if (kind == STORE_SEL_PHONE) {
			if (c >= '0' && c <= '9')
				out[o++] = c;
		} else {
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				out[o++] = c;
		}
	}
	if (out_size > 0)
		out[o] = '\0';
	return o;
}

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Add one selector row per ';'-separated value of a list column. */
static int
insert_selectors(struct store *s, int64_t id, enum store_selector kind, const char *list)
{
	char item[FIELD_MAX], norm[FIELD_MAX];

	while (!empty(list)) {
		size_t l = strcspn(list, ";");
		if (l >= sizeof(item))
			l = sizeof(item) - 1;
		memcpy(item, list, l);
		item[l] = '\0';
		if (store_selector_norm(kind, item, norm, sizeof(norm)) > 0) {
			if (s->be->insert_selector(s->db, id, (int)kind, norm) != 0)
				return PIUGW_ESYSTEM;
		}
		list += l;
		if (*list == ';')
			list++;
	}
	return 0;
}

/*
 * The natural key of t (see store.h), as 32 hex digits of a BLAKE2b digest:
 * what identifies a record again, whatever file it comes in.
 */
static void
record_key(const struct traveller *t, const char *dk, const char *nk, char out[33])
{
	static const enum store_col leg[] = {COL_CARRIER, COL_FLIGHT_NUMBER, COL_FLIGHT_DATE,
					     COL_DEP_AIRPORT};
	crypto_generichash_state st;
	uint8_t h[16], z = 0, src = (uint8_t)t->source;
	char buf[64];

	/* Each field ends with 0x00, so that no two tuples give the same input. */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	if (!empty(t->record_id)) {
		crypto_generichash_update(&st, (const uint8_t *)"id", 3);
		crypto_generichash_update(&st, (const uint8_t *)t->record_id, strlen(t->record_id));
	} else {
		crypto_generichash_update(&st, (const uint8_t *)"leg", 4);
		crypto_generichash_update(&st, &src, 1);
		for (size_t i = 0; i < sizeof(leg) / sizeof(leg[0]); i++) {
			match_document(t->v[leg[i]], buf, sizeof(buf));
			crypto_generichash_update(&st, (const uint8_t *)buf, strlen(buf));
			crypto_generichash_update(&st, &z, 1);
		}
		/* The passenger: the document, or else the name and date of birth. */
		const char *who = dk[0] != '\0' ? dk : nk;
		crypto_generichash_update(&st, (const uint8_t *)(dk[0] != '\0' ? "doc" : "name"), 4);
		crypto_generichash_update(&st, (const uint8_t *)who, strlen(who));
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 33, h, sizeof(h));
}

/* An ICAO Doc 9303 / ISO 3166 state code: one to three letters ("D", "XAA", "xaa"). */
static bool
state_code_ok(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z')))
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM", then ":SS" and "Z" if present. */
static bool
time_ok(const char *v)
{
	size_t n = strlen(v);
	int32_t day;

	if (n < 16 || !num_parse_date(v, 10, &day) || v[10] != 'T' || v[13] != ':' ||
	    v[11] < '0' || v[11] > '2' || v[12] < '0' || v[12] > '9' || v[14] < '0' ||
	    v[14] > '5' || v[15] < '0' || v[15] > '9' || (v[11] == '2' && v[12] > '3'))
		return false;
	v += 16;
	if (*v == ':' && v[1] >= '0' && v[1] <= '5' && v[2] >= '0' && v[2] <= '9')
		v += 3;
	if (*v == 'Z')
		v++;
	return *v == '\0';
}

/* The elements whose form is fixed: a row with one out of form is refused, named. */
static int
values_ok(const struct traveller *t, struct diag *d)
{
	static const enum store_col states[] = {COL_NATIONALITY, COL_DOC_ISSUER, COL_RESIDENCE};
	static const enum store_col times[] = {COL_DEP_TIME, COL_ARR_TIME};
	const char *sex = t->v[COL_SEX];
	int32_t day;

	if (!empty(sex) && (sex[1] != '\0' || strchr("MFXU", sex[0]) == NULL)) {
		diag_add(d, "sex: must be M, F, X or U");
		return PIUGW_EINVAL;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!empty(t->v[states[i]]) && !state_code_ok(t->v[states[i]])) {
			diag_add(d, "%s: not a state code (ISO 3166 alpha-3 or ICAO, e.g. XAA or D)",
				 store_cols[states[i]].name);
			return PIUGW_EINVAL;
		}
	if (!empty(t->v[COL_DOC_EXPIRY]) &&
	    !num_parse_date(t->v[COL_DOC_EXPIRY], strlen(t->v[COL_DOC_EXPIRY]), &day)) {
		diag_add(d, "doc_expiry: not a real YYYY-MM-DD date");
		return PIUGW_EINVAL;
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (!empty(t->v[times[i]]) && !time_ok(t->v[times[i]])) {
			diag_add(d, "%s: not a YYYY-MM-DDTHH:MM[:SS][Z] time",
				 store_cols[times[i]].name);
			return PIUGW_EINVAL;
		}
	return 0;
}

/* See store.h. */
int
store_check(const struct traveller *t, struct diag *d)
{
	int32_t day = 0;
	int ret;

	if (t->source != STORE_SOURCE_API && t->source != STORE_SOURCE_PNR) {
		diag_add(d, "source must be API or PNR");
		return PIUGW_EINVAL;
	}
	if (t->transferred_at_ms <= 0) {
		diag_add(d, "transferred_at is missing");
		return PIUGW_EINVAL;
	}
	if (empty(t->v[COL_SURNAME])) {
		diag_add(d, "the surname is missing");
		return PIUGW_EINVAL;
	}
	if (!empty(t->v[COL_DATE_OF_BIRTH]) &&
	    !num_parse_date(t->v[COL_DATE_OF_BIRTH], strlen(t->v[COL_DATE_OF_BIRTH]), &day)) {
		/* Never the value itself: it is personal data. */
		diag_add(d, "date_of_birth: not a real YYYY-MM-DD date");
		return PIUGW_EINVAL;
	}
	/* Nobody is born after the carrier sent their data. */
	if (!empty(t->v[COL_DATE_OF_BIRTH]) && day > num_day_of_ms(t->transferred_at_ms)) {
		diag_add(d, "date_of_birth: after the data was transferred (in the future)");
		return PIUGW_EINVAL;
	}
	if ((ret = values_ok(t, d)) != 0)
		return ret;
	if (empty(t->v[COL_CARRIER]) || empty(t->v[COL_FLIGHT_NUMBER]) ||
	    empty(t->v[COL_FLIGHT_DATE]) ||
	    !num_parse_date(t->v[COL_FLIGHT_DATE], strlen(t->v[COL_FLIGHT_DATE]), &day)) {
		diag_add(d, "a row is one flight leg: carrier, flight_number and flight_date "
			    "(YYYY-MM-DD) are required");
		return PIUGW_EINVAL;
	}
	for (int i = 0; i < COL__COUNT; i++) {
		if (t->v[i] != NULL && strlen(t->v[i]) >= FIELD_MAX) {
			diag_add(d, "%s is longer than %d bytes", store_cols[i].name, FIELD_MAX - 1);
			return PIUGW_EINVAL;
		}
	}
	if (!empty(t->record_id) && strlen(t->record_id) >= FIELD_MAX) {
		diag_add(d, "record_id is longer than %d bytes", FIELD_MAX - 1);
		return PIUGW_EINVAL;
	}
	return 0;
}

/* Check t and add it; replace: first remove the record of its key (store_insert). */
static int
insert_row(struct store *s, const struct traveller *t, bool replace, bool *replacedp,
	   struct diag *d)
{
	char dk[96], nk[2 * MATCH_NAME_MAX + 24], bk[16], nn[MATCH_NAME_MAX], lk[32], fk[48];
	char rk[33];
	struct store_new_row nr;
	int64_t id = 0;
	int ret;

	if (replacedp != NULL)
		*replacedp = false;
	if ((ret = store_check(t, d)) != 0)
		return ret;
	doc_key(t->v[COL_DOC_ISSUER], t->v[COL_DOC_NUMBER], dk, sizeof(dk));
	name_key(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], t->v[COL_DATE_OF_BIRTH], nk, sizeof(nk));
	dob_key(t->v[COL_DATE_OF_BIRTH], bk, sizeof(bk));
	full_name(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], nn);
	match_document(t->v[COL_RECORD_LOCATOR], lk, sizeof(lk));
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], fk,
		   sizeof(fk));
	record_key(t, empty(t->v[COL_DOC_NUMBER]) ? "" : dk, nk, rk);

	nr.t = t;
	nr.doc_key = empty(t->v[COL_DOC_NUMBER]) ? NULL : dk;
	nr.name_key = nk;
	nr.dob_key = bk[0] != '\0' ? bk : NULL;
	nr.name_norm = nn;
	nr.locator_key = lk[0] != '\0' ? lk : NULL;
	nr.flight_key = fk;
	nr.record_key = rk;
	if ((ret = s->be->insert(s->db, &nr, replace, replacedp, &id, d)) != 0)
		return ret;
	if (insert_selectors(s, id, STORE_SEL_PHONE, t->v[COL_PHONES]) != 0 ||
	    insert_selectors(s, id, STORE_SEL_EMAIL, t->v[COL_EMAILS]) != 0 ||
	    insert_selectors(s, id, STORE_SEL_FREQUENT_FLYER, t->v[COL_FREQUENT_FLYER]) != 0) {
		diag_add(d, "the store: %s", s->be->errmsg(s->db));
		return PIUGW_ESYSTEM;
	}
	return 0;
}

/* See store.h. */
int
store_insert(struct store *s, const struct traveller *t, bool *replacedp, struct diag *d)
{
	return insert_row(s, t, true, replacedp, d);
}

/* See store.h. */
int
store_insert_new(struct store *s, const struct traveller *t, struct diag *d)
{
	/* Not new after all (a caller's mistake): the backend refuses it, saying so. */
	return insert_row(s, t, false, NULL, d);
}

/* ---- search ---- */

/* What one row is one person by on its flight (store.h). */
struct person_key {
	char fk[48], dep[16], dk[96], nk[2 * MATCH_NAME_MAX + 24];
	bool has_dk, has_nk;
};


/* The person key of a row as stored: nothing normalised again. */
static void
stored_key(const struct store_row *r, const struct traveller *t, struct person_key *k)
{
	snprintf(k->dk, sizeof(k->dk), "%s", r->doc_key != NULL ? r->doc_key : "");
	snprintf(k->nk, sizeof(k->nk), "%s", r->name_key != NULL ? r->name_key : "");
	snprintf(k->fk, sizeof(k->fk), "%s", r->flight_key != NULL ? r->flight_key : "");
	k->has_dk = k->dk[0] != '\0';
	k->has_nk = r->has_dob && k->nk[0] != '\0';
	match_document(t->v[COL_DEP_AIRPORT], k->dep, sizeof(k->dep));
}

/* A stored row into m, with its person key. */
static int
row(const struct store_row *r, struct store_match *m)
{
	memset(m, 0, sizeof(*m));
	m->t.id = r->id;
	m->t.source = r->source;
	m->t.transferred_at_ms = r->transferred_at_ms;
	for (int i = 0; i < COL__COUNT; i++) {
		const char *v = r->value(r, i);
		if (v != NULL && (m->t.v[i] = strdup(v)) == NULL) {
			traveller_clear(&m->t);
			return PIUGW_ENOMEM;
		}
	}
	if ((m->pkey = malloc(sizeof(struct person_key))) == NULL) {
		traveller_clear(&m->t);
		return PIUGW_ENOMEM;
	}
	stored_key(r, &m->t, m->pkey);
	m->score = 1.0;
	m->rows = 1;
	m->sources = 1u << (m->t.source & 7);
	for (int i = 0; i < COL__COUNT; i++)
		m->col_source[i] = m->t.v[i] != NULL ? (uint8_t)m->t.source : 0;
	return 0;
}

/* ---- one person, many rows ---- */

static void
person_key(const struct traveller *t, struct person_key *k)
{
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], k->fk,
		   sizeof(k->fk));
	match_document(t->v[COL_DEP_AIRPORT], k->dep, sizeof(k->dep));
	k->has_dk = !empty(t->v[COL_DOC_NUMBER]);
	doc_key(t->v[COL_DOC_ISSUER], t->v[COL_DOC_NUMBER], k->dk, sizeof(k->dk));
	/* A name alone is not a person: with the date of birth only. */
	k->has_nk = !empty(t->v[COL_DATE_OF_BIRTH]) && !empty(t->v[COL_SURNAME]);
	name_key(t->v[COL_SURNAME], t->v[COL_GIVEN_NAMES], t->v[COL_DATE_OF_BIRTH], k->nk,
		 sizeof(k->nk));
}

static bool
same_person(const struct person_key *a, const struct person_key *b)
{
	/* One leg of a flight: the same departure, where both rows say it. */
	return strcmp(a->fk, b->fk) == 0 &&
	       (a->dep[0] == '\0' || b->dep[0] == '\0' || strcmp(a->dep, b->dep) == 0) &&
	       ((a->has_dk && b->has_dk && strcmp(a->dk, b->dk) == 0) ||
		(a->has_nk && b->has_nk && strcmp(a->nk, b->nk) == 0));
}

/* The source whose elements of column c come first: API for api.*, PNR for pnr.*. */
static int
own_source(int c)
{
	int cat = store_cols[c].category;
	return cat >= 1 && cat <= 4 ? STORE_SOURCE_API : STORE_SOURCE_PNR;
}

/* Join row b (taken: its values move) into the person a. */
static void
fold(struct store_match *a, struct traveller *b)
{
	for (int c = 0; c < COL__COUNT; c++) {
		if (b->v[c] == NULL)
			continue;
		if (a->t.v[c] == NULL ||
		    (a->col_source[c] != own_source(c) && b->source == own_source(c))) {
			free(a->t.v[c]);
			a->t.v[c] = b->v[c];
			b->v[c] = NULL;
			a->col_source[c] = (uint8_t)b->source;
		}
	}
	a->sources |= 1u << (b->source & 7);
	a->rows++;
	if (b->transferred_at_ms < a->t.transferred_at_ms)
		a->t.transferred_at_ms = b->transferred_at_ms;
	traveller_clear(b);
}

/*
 * One match per person: the rows of r of one person joined, then each
 * person's other rows in the store (the PNR of an API match, and the other
 * way round) joined too. *mergedp how many rows of r went into another.
 */
#define PERSON_ROWS_MAX 16
/* What a search found every row of already: its own key need not be looked up again. */
enum { FOUND_BY_DOC = 1, FOUND_BY_NAME = 2 };

struct person {
	struct person_key k;
	int64_t ids[PERSON_ROWS_MAX]; /* the rows joined */
	unsigned nids;
};

/* A person's other rows: found by the key a search did not use (merge_persons). */
struct others {
	struct store *s;
	struct person *p;
	struct store_match *into;
};

/* A row of that person's flight by id: joined if it is theirs. */
static int
other_row(void *ctx, const struct store_row *r)
{
	struct others *o = ctx;
	struct store_match other;
	int ret;

	if ((ret = row(r, &other)) != 0)
		return ret;
	/* Another leg of the same flight is another row, not this person's. */
	if (same_person(&o->p->k, other.pkey)) {
		o->p->ids[o->p->nids++] = r->id;
		fold(o->into, &other.t);
	}
	match_clear(&other);
	return 0;
}

/* An id of the other key's query: each row not joined yet is read (by its id). */
static int
other_id(void *ctx, const struct store_row *r)
{
	struct others *o = ctx;

	for (unsigned x = 0; x < o->p->nids; x++)
		if (o->p->ids[x] == r->id)
			return 0;
	if (o->p->nids == PERSON_ROWS_MAX)
		return 0;
	return o->s->be->query(o->s->db, STORE_Q_ID, NULL, NULL, r->id, other_row, o);
}

static int
merge_persons(struct store *s, struct store_result *r, int found_by, size_t *mergedp)
{
	struct person *p;
	size_t n = 0;
	int ret = 0;

	*mergedp = 0;
	if (r->n == 0)
		return 0;
	if ((p = calloc(r->n, sizeof(*p))) == NULL)
		return PIUGW_ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct person_key ki;
		size_t j;
		if (r->m[i].pkey != NULL)
			ki = *(struct person_key *)r->m[i].pkey;
		else
			person_key(&r->m[i].t, &ki);
		for (j = 0; j < n && !same_person(&p[j].k, &ki); j++)
			;
		if (j < n && p[j].nids < PERSON_ROWS_MAX) {
			p[j].ids[p[j].nids++] = r->m[i].t.id;
			fold(&r->m[j], &r->m[i].t);
			free(r->m[i].pkey);
			r->m[i].pkey = NULL;
			(*mergedp)++;
			continue;
		}
		p[n].k = ki;
		p[n].ids[0] = r->m[i].t.id;
		p[n].nids = 1;
		if (n != i)
			r->m[n] = r->m[i];
		n++;
	}
	r->n = n;
	/* Their rows the search did not find (another source, found by the other key). */
	for (size_t i = 0; i < r->n && ret == 0; i++) {
		struct others o = {s, &p[i], &r->m[i]};
		if (p[i].k.has_dk && !(found_by & FOUND_BY_DOC))
			ret = s->be->query(s->db, STORE_Q_PERSON_DOC, p[i].k.dk, p[i].k.fk, 0, other_id,
					   &o);
		if (ret == 0 && p[i].k.has_nk && !(found_by & FOUND_BY_NAME))
			ret = s->be->query(s->db, STORE_Q_PERSON_NAME, p[i].k.nk, p[i].k.fk, 0,
					   other_id, &o);
	}
	free(p);
	return ret;
}

static int
result_push(struct store_result *r, size_t *cap)
{
	if (r->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct store_match *nm = realloc(r->m, nc * sizeof(*nm));
		if (nm == NULL)
			return PIUGW_ENOMEM;
		r->m = nm;
		*cap = nc;
	}
	return 0;
}

/* What collect reads: every row counted, the first keep kept. */
struct collecting {
	struct store_result *out;
	size_t cap, keep;
	const char *matched_on;
};

static int
collect_row(void *ctx, const struct store_row *r)
{
	struct collecting *c = ctx;
	int ret;

	c->out->total++;
	if (c->out->n >= c->keep)
		return 0;
	if ((ret = result_push(c->out, &c->cap)) != 0 || (ret = row(r, &c->out->m[c->out->n])) != 0)
		return ret;
	c->out->m[c->out->n++].matched_on = c->matched_on;
	return 0;
}

/*
 * Run query q: every row counted, persons joined (merge_persons), the
 * first `limit` kept. Twice as many rows as asked are read before the
 * join, so that rows of one person do not leave fewer than limit matches;
 * total counts the persons among them and every row past them.
 */
static int
collect(struct store *s, enum store_query q, const char *a, int64_t n, size_t limit,
	const char *matched_on, int found_by, struct store_result *out)
{
	struct collecting c = {out, 0, limit < SIZE_MAX / 4 ? 2 * limit + 2 : limit, matched_on};
	size_t merged = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->be->query(s->db, q, a, NULL, n, collect_row, &c);
	if (ret == 0 && (ret = merge_persons(s, out, found_by, &merged)) == 0) {
		out->total -= merged;
		while (out->n > limit)
			match_clear(&out->m[--out->n]);
	}
	if (ret != 0)
		store_result_clear(out);
	return ret;
}

/* See store.h. */
int
store_search_document(struct store *s, const char *issuer, const char *number, size_t limit,
		      struct store_result *out)
{
	char dk[96];

	snapshot(s);
	doc_key(issuer, number, dk, sizeof(dk));
	return collect(s, STORE_Q_DOC, dk, 0, limit, "document", FOUND_BY_DOC, out);
}

/* See store.h. */
int
store_search_name(struct store *s, const char *surname, const char *given,
		  const char *date_of_birth, size_t limit, struct store_result *out)
{
	char nk[2 * MATCH_NAME_MAX + 24];

	snapshot(s);
	name_key(surname, given, date_of_birth, nk, sizeof(nk));
	return collect(s, STORE_Q_NAME, nk, 0, limit, "name+date_of_birth", FOUND_BY_NAME, out);
}

static int
cmp_score(const void *a, const void *b)
{
	double x = ((const struct store_match *)a)->score, y = ((const struct store_match *)b)->score;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* What a fuzzy search keeps of the rows of one date of birth. */
struct fuzzy {
	struct store_result *out;
	size_t cap;
	const char *want;
	double min_score;
};

static int
fuzzy_row(void *ctx, const struct store_row *r)
{
	struct fuzzy *f = ctx;
	double score = r->name_norm != NULL ? match_name_score(f->want, r->name_norm) : 0.0;
	int ret;

	if (score < f->min_score)
		return 0;
	if ((ret = result_push(f->out, &f->cap)) != 0 || (ret = row(r, &f->out->m[f->out->n])) != 0)
		return ret;
	f->out->m[f->out->n].score = score;
	f->out->m[f->out->n].needs_review = true; /* a person reviews every automated fuzzy hit */
	f->out->m[f->out->n++].matched_on = "name_fuzzy+date_of_birth";
	return 0;
}

/* See store.h. Blocked by date of birth, which also survives swapped name order. */
int
store_search_name_fuzzy(struct store *s, const char *surname, const char *given,
			const char *date_of_birth, double min_score, size_t limit,
			struct store_result *out)
{
	char bk[16], want[MATCH_NAME_MAX];
	int ret;

	snapshot(s);
	memset(out, 0, sizeof(*out));
	dob_key(date_of_birth, bk, sizeof(bk));
	full_name(surname, given, want);
	if (bk[0] == '\0' || want[0] == '\0')
		return 0;
	{
		struct fuzzy f = {out, 0, want, min_score};
		ret = s->be->query(s->db, STORE_Q_DOB, bk, NULL, 0, fuzzy_row, &f);
	}
	if (ret != 0) {
		store_result_clear(out);
		return ret;
	}
	if (out->n > 1)
		qsort(out->m, out->n, sizeof(*out->m), cmp_score);
	/* The best-scoring row of each person leads; its other rows join it. */
	{
		size_t merged = 0;
		if ((ret = merge_persons(s, out, 0, &merged)) != 0) {
			store_result_clear(out);
			return ret;
		}
	}
	out->total = out->n;
	while (out->n > limit)
		match_clear(&out->m[--out->n]);
	return 0;
}

/* See store.h. */
int
store_search_locator(struct store *s, const char *locator, size_t limit, struct store_result *out)
{
	char lk[32];

	snapshot(s);
	match_document(locator, lk, sizeof(lk));
	return collect(s, STORE_Q_LOCATOR, lk, 0, limit, "record_locator", 0, out);
}

/* See store.h. */
int
store_search_flight(struct store *s, const char *carrier, const char *flight_number,
		    const char *date, size_t limit, struct store_result *out)
{
	char fk[48];

	snapshot(s);
	flight_key(carrier, flight_number, date, fk, sizeof(fk));
	return collect(s, STORE_Q_FLIGHT, fk, 0, limit, "flight", 0, out);
}

/* See store.h. */
int
store_search_selector(struct store *s, enum store_selector kind, const char *value, size_t limit,
		      struct store_result *out)
{
	char norm[FIELD_MAX];
	static const char *const on[] = {"", "phone", "email", "frequent_flyer"};

	snapshot(s);
	if (kind < STORE_SEL_PHONE || kind > STORE_SEL_FREQUENT_FLYER)
		return PIUGW_EINVAL;
	if (store_selector_norm(kind, value, norm, sizeof(norm)) == 0) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return collect(s, STORE_Q_SELECTOR, norm, (int64_t)kind, limit, on[kind], 0, out);
}

/* See store.h. */
int
store_co_travellers(struct store *s, const struct traveller *t, struct store_result *out)
{
	struct store_result all;
	int ret;

	snapshot(s);
	memset(out, 0, sizeof(*out));
	if (empty(t->v[COL_RECORD_LOCATOR]))
		return 0;
	if ((ret = store_search_locator(s, t->v[COL_RECORD_LOCATOR], 100, &all)) != 0)
		return ret;
	/* The same booking, the same leg (normalised as the flight search does), not them. */
	char mine[48], theirs[48];
	struct person_key me, them;
	flight_key(t->v[COL_CARRIER], t->v[COL_FLIGHT_NUMBER], t->v[COL_FLIGHT_DATE], mine,
		   sizeof(mine));
	person_key(t, &me);
	for (size_t i = 0; i < all.n; i++) {
		struct store_match *m = &all.m[i];
		flight_key(m->t.v[COL_CARRIER], m->t.v[COL_FLIGHT_NUMBER], m->t.v[COL_FLIGHT_DATE],
			   theirs, sizeof(theirs));
		if (m->pkey != NULL)
			them = *(const struct person_key *)m->pkey;
		else
			person_key(&m->t, &them);
		/* Not them, however their rows were joined (by id or as one person). */
		if (m->t.id == t->id || same_person(&me, &them) || strcmp(mine, theirs) != 0) {
			match_clear(m);
			continue;
		}
		all.m[out->n++] = *m;
	}
	out->m = all.m;
	out->total = out->n;
	return 0;
}

/* ---- retention and statistics ---- */

/* See store.h. */
int
store_purge(struct store *s, int64_t before_ms, uint64_t *deletedp)
{
	*deletedp = 0;
	return s->be->purge(s->db, before_ms, deletedp);
}

/* See store.h. */
int
store_delete_booking(struct store *s, const char *locator, const char *carrier,
		     const char *flight_number, const char *date, uint64_t *deletedp)
{
	char lk[32], fk[48];

	*deletedp = 0;
	match_document(locator, lk, sizeof(lk));
	flight_key(carrier, flight_number, date, fk, sizeof(fk));
	if (lk[0] == '\0')
		return PIUGW_EINVAL;
	return s->be->delete_booking(s->db, lk, fk, deletedp);
}

/* See store.h. */
int
store_stats(struct store *s, int64_t now_ms, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	return s->be->stats(s->db, now_ms, out);
}

/* See store.h. */
const char *
store_errmsg(struct store *s)
{
	return s->be->errmsg(s->db);
}

/* See store.h. */
const char *
store_problem(struct store *s)
{
	return s->be->problem != NULL ? s->be->problem(s->db) : NULL;
}

/* See store.h. */
uint64_t
store_replaced_late(struct store *s)
{
	return s->be->replaced_late != NULL ? s->be->replaced_late(s->db) : 0;
}

/* See store.h. */
int
store_schema_was(const struct store *s)
{
	return s->be->schema_was(s->db);
}

/* See store.h. */
const char *
store_backend_name(const struct store *s)
{
	return s->be->name;
}

/* See store.h. */
int
store_writable(struct store *s)
{
	return s->be->writable(s->db);
}

/* ---- lookouts ---- */

/* See store.h. */
void
store_key_document(const char *issuer, const char *number, char *out, size_t size)
{
	doc_key(issuer, number, out, size);
}

/* See store.h. */
void
store_key_name(const char *surname, const char *given, const char *dob, char *out, size_t size)
{
	name_key(surname, given, dob, out, size);
}

/* See store.h. */
void
store_key_dob(const char *dob, char *out, size_t size)
{
	dob_key(dob, out, size);
}

/* See store.h. */
void
store_key_full_name(const char *surname, const char *given, char out[MATCH_NAME_MAX])
{
	full_name(surname, given, out);
}

/* See store.h. */
void
store_key_flight(const char *carrier, const char *number, const char *date, char *out, size_t size)
{
	flight_key(carrier, number, date, out, size);
}

/* See store.h. */
int
store_max_id(struct store *s, int64_t *idp)
{
	*idp = 0;
	snapshot(s);
	return s->be->max_id(s->db, idp);
}

/* See store.h. */
int
store_keys_since(struct store *s, int64_t after, struct store_keys *out, size_t max, size_t *np)
{
	*np = 0;
	snapshot(s);
	return s->be->keys_since(s->db, after, out, max, np);
}

/* See store.h. */
int
store_search_row(struct store *s, int64_t id, struct store_result *out)
{
	snapshot(s);
	return collect(s, STORE_Q_ID, NULL, id, 1, "record", 0, out);
}
