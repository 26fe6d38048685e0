/*
 * disclose.c: see disclose.h.
 *
 * Every element is copied through one function, elem(), which applies the
 * category and masking rules, so that no field can reach the reply without
 * them. The result is allocated with plain malloc and freed by
 * disclose_free(), mirroring protobuf-c's own free.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclose.h"
#include "piugw/error.h"
#include "num.h"
#include "vocab.h"

struct ctx {
	const struct policy_decision *dec;
	bool masked; /* this record is older than mask_after_days */
	int err; /* the first failure: an answer missing a part is no answer */
};

/* p, noting in c when it is NULL. */
static void *
need(struct ctx *c, void *p)
{
	if (p == NULL && c->err == 0)
		c->err = PIUGW_ENOMEM;
	return p;
}

static bool
allowed(const struct ctx *c, int category)
{
	return category != 0 && (c->dec->categories & VOCAB_BIT(category));
}

/*
 * A segment of the itinerary as the store keeps it, "BA0123 LHR-JFK
 * 2026-05-01" (carrier and number, departure-arrival, date), into its
 * fields; text of another form is kept whole as the flight number. Takes
 * text (heap). A masked one ("***") is kept whole too.
 */
static void
segment_of(struct ctx *c, char *text, Piugw__Segment *sg)
{
	char fl[16], dep[8], arr[8], date[11], extra;
	int32_t day;

	if (sscanf(text, " %15s %7[A-Za-z0-9]-%7[A-Za-z0-9] %10s %c", fl, dep, arr, date, &extra) == 4 &&
	    strlen(fl) > 2 && (strcmp(date, "open") == 0 || num_parse_date(date, 10, &day))) {
		sg->carrier = need(c, strndup(fl, 2));
		sg->flight_number = need(c, strdup(fl + 2));
		sg->departure_airport = need(c, strdup(dep));
		sg->arrival_airport = need(c, strdup(arr));
		if (strcmp(date, "open") != 0)
			sg->departure_time_ms = (int64_t)day * 86400000;
		free(text);
		return;
	}
	sg->flight_number = text;
}

/* The value of column col for the reply: NULL-safe, masked where the law says. */
static char *
elem(struct ctx *c, const struct traveller *t, enum store_col col)
{
	const char *v = t->v[col] != NULL ? t->v[col] : "";

	if (store_cols[col].category == 0) /* e.g. SSR: never disclosed */
		v = "";
	else if (c->masked && store_cols[col].masked && *v != '\0')
		v = DISCLOSE_MASK;
	return need(c, strdup(v));
}

/* Split a ';' list into repeated strings. */
static char **
list(struct ctx *c, const struct traveller *t, enum store_col col, size_t *np)
{
	char *all = elem(c, t, col), *p, **v;
	size_t n = 0;

	*np = 0;
	if (all == NULL || *all == '\0') {
		free(all);
		return NULL;
	}
	for (p = all; *p; p++)
		if (*p == ';')
			n++;
	if ((v = need(c, calloc(n + 1, sizeof(*v)))) == NULL) {
		free(all);
		return NULL;
	}
	n = 0;
	for (p = all;;) {
		size_t l = strcspn(p, ";");
		v[n++] = need(c, strndup(p, l));
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	free(all);
	*np = n;
	return v;
}

static uint32_t
u32(const char *s)
{
	uint32_t v = 0;
	for (; s != NULL && *s >= '0' && *s <= '9' && v < 100000; s++)
		v = v * 10 + (uint32_t)(*s - '0');
	return v;
}

static Piugw__Match *
build_match(struct store *s, struct ctx *c, const struct store_match *m)
{
	const struct traveller *t = &m->t;
	Piugw__Match *x = need(c, calloc(1, sizeof(*x)));

	if (x == NULL)
		return NULL;
	piugw__match__init(x);
	x->score = (float)m->score;
	x->needs_review = m->needs_review;
	x->masked = c->masked;
	x->transferred_at_ms = t->transferred_at_ms;
	if (m->matched_on != NULL &&
	    (x->matched_on = need(c, calloc(1, sizeof(char *)))) != NULL) {
		x->matched_on[0] = need(c, strdup(m->matched_on));
		x->n_matched_on = 1;
	}
#define NEW(type, init, field)                                                                     \
	do {                                                                                       \
		if ((x->field = need(c, calloc(1, sizeof(*x->field)))) == NULL)                    \
			return x;                                                                  \
		init(x->field);                                                                    \
	} while (0)
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_API_IDENTITY)) {
		NEW(Piugw__ApiIdentity, piugw__api_identity__init, api_identity);
		x->api_identity->surname = elem(c, t, COL_SURNAME);
		x->api_identity->given_names = elem(c, t, COL_GIVEN_NAMES);
		x->api_identity->date_of_birth = elem(c, t, COL_DATE_OF_BIRTH);
		x->api_identity->sex = elem(c, t, COL_SEX);
		x->api_identity->nationality = elem(c, t, COL_NATIONALITY);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_API_DOCUMENT)) {
		NEW(Piugw__ApiDocument, piugw__api_document__init, api_document);
		x->api_document->type = elem(c, t, COL_DOC_TYPE);
		x->api_document->number = elem(c, t, COL_DOC_NUMBER);
		x->api_document->issuing_state = elem(c, t, COL_DOC_ISSUER);
		x->api_document->expiry = elem(c, t, COL_DOC_EXPIRY);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_API_FLIGHT)) {
		NEW(Piugw__ApiFlight, piugw__api_flight__init, api_flight);
		x->api_flight->carrier = elem(c, t, COL_CARRIER);
		x->api_flight->flight_number = elem(c, t, COL_FLIGHT_NUMBER);
		x->api_flight->departure_airport = elem(c, t, COL_DEP_AIRPORT);
		x->api_flight->arrival_airport = elem(c, t, COL_ARR_AIRPORT);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_API_TRAVEL)) {
		NEW(Piugw__ApiTravel, piugw__api_travel__init, api_travel);
		x->api_travel->embarkation = elem(c, t, COL_EMBARKATION);
		x->api_travel->debarkation = elem(c, t, COL_DEBARKATION);
		x->api_travel->final_destination = elem(c, t, COL_FINAL_DESTINATION);
		x->api_travel->seat = elem(c, t, COL_SEAT);
		x->api_travel->bags = c->masked ? 0 : u32(t->v[COL_BAGS]);
		x->api_travel->residence = elem(c, t, COL_RESIDENCE);
		x->api_travel->birthplace = elem(c, t, COL_BIRTHPLACE);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_BOOKING)) {
		NEW(Piugw__PnrBooking, piugw__pnr_booking__init, pnr_booking);
		x->pnr_booking->record_locator = elem(c, t, COL_RECORD_LOCATOR);
		x->pnr_booking->reservation_date = elem(c, t, COL_RESERVATION_DATE);
		x->pnr_booking->ticket_date = elem(c, t, COL_TICKET_DATE);
		x->pnr_booking->travel_dates = list(c, t, COL_TRAVEL_DATES,
						    &x->pnr_booking->n_travel_dates);
		x->pnr_booking->ticketing = elem(c, t, COL_TICKETING);
		x->pnr_booking->travel_status = elem(c, t, COL_TRAVEL_STATUS);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_CONTACT)) {
		NEW(Piugw__PnrContact, piugw__pnr_contact__init, pnr_contact);
		x->pnr_contact->address = elem(c, t, COL_ADDRESS);
		x->pnr_contact->phones = list(c, t, COL_PHONES, &x->pnr_contact->n_phones);
		x->pnr_contact->emails = list(c, t, COL_EMAILS, &x->pnr_contact->n_emails);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT)) {
		NEW(Piugw__PnrPayment, piugw__pnr_payment__init, pnr_payment);
		x->pnr_payment->forms_of_payment = list(c, t, COL_PAYMENT,
							&x->pnr_payment->n_forms_of_payment);
		x->pnr_payment->billing_address = elem(c, t, COL_BILLING_ADDRESS);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_AGENCY)) {
		NEW(Piugw__PnrAgency, piugw__pnr_agency__init, pnr_agency);
		x->pnr_agency->agency = elem(c, t, COL_AGENCY);
		x->pnr_agency->agent = elem(c, t, COL_AGENT);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_REMARKS)) {
		NEW(Piugw__PnrRemarks, piugw__pnr_remarks__init, pnr_remarks);
		x->pnr_remarks->remarks = list(c, t, COL_REMARKS, &x->pnr_remarks->n_remarks);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_SEAT_BAGGAGE)) {
		NEW(Piugw__PnrSeatBaggage, piugw__pnr_seat_baggage__init, pnr_seat_baggage);
		x->pnr_seat_baggage->baggage_tags = list(c, t, COL_BAG_TAGS,
							 &x->pnr_seat_baggage->n_baggage_tags);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_CO_TRAVELLERS) && s != NULL) {
		struct store_result co;
		int rc;
		NEW(Piugw__PnrCoTravellers, piugw__pnr_co_travellers__init, pnr_co_travellers);
		/* Companions that could not be read are not "no companions". */
		if ((rc = store_co_travellers(s, t, &co)) != 0) {
			if (c->err == 0)
				c->err = rc;
			return x;
		}
		{
			x->pnr_co_travellers->count = (uint32_t)co.n;
			x->pnr_co_travellers->travellers =
				need(c, calloc(co.n + 1, sizeof(Piugw__CoTraveller *)));
			for (size_t i = 0; x->pnr_co_travellers->travellers != NULL && i < co.n; i++) {
				Piugw__CoTraveller *ct = need(c, calloc(1, sizeof(*ct)));
				if (ct == NULL)
					break;
				piugw__co_traveller__init(ct);
				/* Companions' names are masked on the same terms (Art 12(2)). */
				ct->surname = elem(c, &co.m[i].t, COL_SURNAME);
				ct->given_names = elem(c, &co.m[i].t, COL_GIVEN_NAMES);
				x->pnr_co_travellers->travellers[x->pnr_co_travellers->n_travellers++] = ct;
			}
			store_result_clear(&co);
		}
	}
	/* Itinerary and frequent-flyer records need structure the store keeps as text. */
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_FREQUENT_FLYER) &&
	    t->v[COL_FREQUENT_FLYER] != NULL) {
		size_t n = 0;
		char **ff = list(c, t, COL_FREQUENT_FLYER, &n);
		NEW(Piugw__PnrFrequentFlyer, piugw__pnr_frequent_flyer__init, pnr_frequent_flyer);
		x->pnr_frequent_flyer->programmes =
			need(c, calloc(n + 1, sizeof(Piugw__FrequentFlyer *)));
		for (size_t i = 0; x->pnr_frequent_flyer->programmes != NULL && i < n; i++) {
			Piugw__FrequentFlyer *f = need(c, calloc(1, sizeof(*f)));
			if (f == NULL)
				break;
			piugw__frequent_flyer__init(f);
			f->number = ff[i];
			ff[i] = NULL;
			f->airline = need(c, strdup(""));
			f->tier = need(c, strdup(""));
			x->pnr_frequent_flyer->programmes[x->pnr_frequent_flyer->n_programmes++] = f;
		}
		for (size_t i = 0; i < n; i++)
			free(ff[i]);
		free(ff);
	}
	if (allowed(c, PIUGW__CATEGORY__CATEGORY_PNR_ITINERARY) && t->v[COL_ITINERARY] != NULL) {
		size_t n = 0;
		char **segs = list(c, t, COL_ITINERARY, &n);
		NEW(Piugw__PnrItinerary, piugw__pnr_itinerary__init, pnr_itinerary);
		x->pnr_itinerary->segments = need(c, calloc(n + 1, sizeof(Piugw__Segment *)));
		for (size_t i = 0; x->pnr_itinerary->segments != NULL && i < n; i++) {
			Piugw__Segment *sg = need(c, calloc(1, sizeof(*sg)));
			if (sg == NULL)
				break;
			piugw__segment__init(sg);
			segment_of(c, segs[i], sg); /* "BA0123 LHR-JFK 2026-05-01" as stored */
			segs[i] = NULL;
			x->pnr_itinerary->segments[x->pnr_itinerary->n_segments++] = sg;
		}
		for (size_t i = 0; i < n; i++)
			free(segs[i]);
		free(segs);
	}
#undef NEW
	/* Say which categories were masked, so the recipient knows what "***" means. */
	if (c->masked) {
		size_t n = 0;
		x->masked_categories = need(c, calloc(16, sizeof(Piugw__Category)));
		for (const struct vocab *v = vocab_categories; x->masked_categories != NULL &&
							      v->name != NULL;
		     v++) {
			bool any = false;
			for (int col = 0; col < COL__COUNT; col++)
				any |= store_cols[col].category == v->value && store_cols[col].masked;
			if (any && allowed(c, v->value))
				x->masked_categories[n++] = (Piugw__Category)v->value;
		}
		x->n_masked_categories = n;
	}
	return x;
}

/* See disclose.h. */
void
disclose_sources(const struct store_result *r, const struct policy_decision *dec, char *out,
		 size_t size)
{
	vocab_set from[3] = {0, 0, 0}; /* by STORE_SOURCE_* */
	size_t n, o = 0;

	if (size > 0)
		out[0] = '\0';
	if (dec->disclosure == PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT)
		return;
	n = r->n < dec->max_results ? r->n : dec->max_results;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < COL__COUNT; c++) {
			int cat = store_cols[c].category, src = r->m[i].col_source[c];
			if (cat > 0 && src >= 1 && src <= 2 && (dec->categories & VOCAB_BIT(cat)))
				from[src] |= VOCAB_BIT(cat);
		}
	for (int src = 1; src <= 2; src++) {
		bool first = true;
		if (from[src] == 0)
			continue;
		o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%sfrom %s:", o ? "; " : "",
				      src == STORE_SOURCE_API ? "API" : "PNR");
		for (const struct vocab *v = vocab_categories; v->name != NULL; v++)
			if (from[src] & VOCAB_BIT(v->value)) {
				o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s %s",
						      first ? "" : ",", v->name);
				first = false;
			}
	}
}

/* See disclose.h. */
void
disclose_free(Piugw__QueryResult **qp)
{
	if (qp == NULL || *qp == NULL)
		return;
	/* Everything was allocated with malloc, as protobuf-c's default allocator does. */
	piugw__query_result__free_unpacked(*qp, NULL);
	*qp = NULL;
}

/* See disclose.h. */
int
disclose_build(struct store *s, const struct store_result *r, const struct policy_decision *dec,
	       int64_t now_ms, Piugw__QueryResult **outp, uint32_t *masked_records)
{
	Piugw__QueryResult *q = calloc(1, sizeof(*q));
	struct ctx c = {.dec = dec};
	size_t n, k = 0;

	*outp = NULL;
	*masked_records = 0;
	if (q == NULL)
		return PIUGW_ENOMEM;
	piugw__query_result__init(q);
	q->status = r->total > 0 ? PIUGW__RESULT_STATUS__RESULT_HIT : PIUGW__RESULT_STATUS__RESULT_NO_HIT;
	q->match_count = (uint32_t)r->total;
	q->handling_code = (Piugw__HandlingCode)dec->handling_code;
	q->disclosure = (Piugw__Disclosure)dec->disclosure;
	q->onward_transfer = (Piugw__OnwardTransfer)dec->onward_transfer;
	q->approval_ref = need(&c, strdup(""));
	q->denial_reason = need(&c, strdup(""));
	if ((q->categories = need(&c, calloc(16, sizeof(Piugw__Category)))) != NULL)
		for (const struct vocab *v = vocab_categories; v->name != NULL; v++)
			if (dec->categories & VOCAB_BIT(v->value))
				q->categories[q->n_categories++] = (Piugw__Category)v->value;
	/* Hit/no-hit: whether and how many; no record leaves. */
	if (dec->disclosure == PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT)
		goto out;
	n = r->n < dec->max_results ? r->n : dec->max_results;
	q->truncated = r->total > n;
	if (n > 0 && (q->matches = need(&c, calloc(n, sizeof(*q->matches)))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int64_t age_ms = now_ms - r->m[i].t.transferred_at_ms;
		c.masked = age_ms > (int64_t)dec->mask_after_days * 86400000;
		if (c.masked)
			(*masked_records)++;
		if ((q->matches[k] = build_match(s, &c, &r->m[i])) != NULL)
			k++;
		q->n_matches = k;
	}
out:
	if (c.err != 0) {
		disclose_free(&q);
		return c.err;
	}
	*outp = q;
	return 0;
}

/* The categories present in a match: each has its own field. */
static vocab_set
match_categories(const Piugw__Match *m)
{
	vocab_set c = 0;
	const void *f[] = {
		[PIUGW__CATEGORY__CATEGORY_API_IDENTITY] = m->api_identity,
		[PIUGW__CATEGORY__CATEGORY_API_DOCUMENT] = m->api_document,
		[PIUGW__CATEGORY__CATEGORY_API_FLIGHT] = m->api_flight,
		[PIUGW__CATEGORY__CATEGORY_API_TRAVEL] = m->api_travel,
		[PIUGW__CATEGORY__CATEGORY_PNR_BOOKING] = m->pnr_booking,
		[PIUGW__CATEGORY__CATEGORY_PNR_CONTACT] = m->pnr_contact,
		[PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT] = m->pnr_payment,
		[PIUGW__CATEGORY__CATEGORY_PNR_ITINERARY] = m->pnr_itinerary,
		[PIUGW__CATEGORY__CATEGORY_PNR_AGENCY] = m->pnr_agency,
		[PIUGW__CATEGORY__CATEGORY_PNR_FREQUENT_FLYER] = m->pnr_frequent_flyer,
		[PIUGW__CATEGORY__CATEGORY_PNR_CO_TRAVELLERS] = m->pnr_co_travellers,
		[PIUGW__CATEGORY__CATEGORY_PNR_SEAT_BAGGAGE] = m->pnr_seat_baggage,
		[PIUGW__CATEGORY__CATEGORY_PNR_REMARKS] = m->pnr_remarks,
	};

	for (size_t i = 1; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] != NULL)
			c |= VOCAB_BIT(i);
	return c;
}

/* "pnr.booking,pnr.payment" */
static void
set_names(vocab_set s, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 1; i < 32 && o + 1 < len; i++)
		if (s & VOCAB_BIT(i))
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "",
					      vocab_name(vocab_categories, i));
}

/* See disclose.h. */
int
disclose_check_received(const struct agreement_terms *t, const Piugw__QueryResult *qr,
			vocab_set *arrivedp, char *why, size_t whylen)
{
	vocab_set arrived = 0, declared = 0, excess;
	char names[200];

	for (size_t i = 0; i < qr->n_matches; i++)
		arrived |= match_categories(qr->matches[i]);
	for (size_t i = 0; i < qr->n_categories; i++)
		if ((int)qr->categories[i] > 0 && (int)qr->categories[i] < 32)
			declared |= VOCAB_BIT(qr->categories[i]);
	if (arrivedp != NULL)
		*arrivedp = arrived;
	if ((excess = arrived & ~t->categories) != 0) {
		set_names(excess, names, sizeof(names));
		snprintf(why, whylen, "the partner over-disclosed: %s, which the agreement's terms "
			 "do not let it send us", names);
		return PIUGW_EMALFORMED;
	}
	if ((excess = arrived & ~declared) != 0) {
		set_names(excess, names, sizeof(names));
		snprintf(why, whylen, "the answer holds %s, which its own categories do not list",
			 names);
		return PIUGW_EMALFORMED;
	}
	if (t->disclosure == PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT && qr->n_matches > 0) {
		snprintf(why, whylen, "the partner sent %zu records where the agreement allows only "
			 "hit or no hit", qr->n_matches);
		return PIUGW_EMALFORMED;
	}
	if (t->max_results > 0 && qr->n_matches > t->max_results) {
		snprintf(why, whylen, "the partner sent %zu records, more than the %u the agreement "
			 "allows", qr->n_matches, t->max_results);
		return PIUGW_EMALFORMED;
	}
	return 0;
}
