/*
 * vocab.c: see vocab.h. The values are those of proto/body.proto.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "body.pb-c.h"
#include "vocab.h"

const struct vocab vocab_purposes[] = {
	{"terrorism", PIUGW__PURPOSE__PURPOSE_TERRORISM},
	{"serious_crime", PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME},
	{"border_control", PIUGW__PURPOSE__PURPOSE_BORDER_CONTROL},
	{"immigration", PIUGW__PURPOSE__PURPOSE_IMMIGRATION},
	{NULL, 0},
};

const struct vocab vocab_query_types[] = {
	{"document", PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT},
	{"name", PIUGW__QUERY_TYPE__QUERY_TYPE_NAME},
	{"name_fuzzy", PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY},
	{"locator", PIUGW__QUERY_TYPE__QUERY_TYPE_LOCATOR},
	{"flight", PIUGW__QUERY_TYPE__QUERY_TYPE_FLIGHT},
	{"selector", PIUGW__QUERY_TYPE__QUERY_TYPE_SELECTOR},
	{NULL, 0},
};

const struct vocab vocab_categories[] = {
	{"api.identity", PIUGW__CATEGORY__CATEGORY_API_IDENTITY},
	{"api.document", PIUGW__CATEGORY__CATEGORY_API_DOCUMENT},
	{"api.flight", PIUGW__CATEGORY__CATEGORY_API_FLIGHT},
	{"api.travel", PIUGW__CATEGORY__CATEGORY_API_TRAVEL},
	{"pnr.booking", PIUGW__CATEGORY__CATEGORY_PNR_BOOKING},
	{"pnr.contact", PIUGW__CATEGORY__CATEGORY_PNR_CONTACT},
	{"pnr.payment", PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT},
	{"pnr.itinerary", PIUGW__CATEGORY__CATEGORY_PNR_ITINERARY},
	{"pnr.agency", PIUGW__CATEGORY__CATEGORY_PNR_AGENCY},
	{"pnr.frequent_flyer", PIUGW__CATEGORY__CATEGORY_PNR_FREQUENT_FLYER},
	{"pnr.co_travellers", PIUGW__CATEGORY__CATEGORY_PNR_CO_TRAVELLERS},
	{"pnr.seat_baggage", PIUGW__CATEGORY__CATEGORY_PNR_SEAT_BAGGAGE},
	{"pnr.remarks", PIUGW__CATEGORY__CATEGORY_PNR_REMARKS},
	{NULL, 0},
};

const struct vocab vocab_disclosures[] = {
	{"full", PIUGW__DISCLOSURE__DISCLOSURE_FULL},
	{"hit_no_hit", PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT},
	{NULL, 0},
};

const struct vocab vocab_handling_codes[] = {
	{"H0", PIUGW__HANDLING_CODE__HANDLING_H0},
	{"H1", PIUGW__HANDLING_CODE__HANDLING_H1},
	{"H2", PIUGW__HANDLING_CODE__HANDLING_H2},
	{"H3", PIUGW__HANDLING_CODE__HANDLING_H3},
	{NULL, 0},
};

const struct vocab vocab_onward_transfers[] = {
	{"forbidden", PIUGW__ONWARD_TRANSFER__ONWARD_TRANSFER_FORBIDDEN},
	{"with_consent", PIUGW__ONWARD_TRANSFER__ONWARD_TRANSFER_WITH_CONSENT},
	{NULL, 0},
};

const struct vocab vocab_approvals[] = {
	{"automatic", VOCAB_APPROVAL_AUTOMATIC},
	{"manual", VOCAB_APPROVAL_MANUAL},
	{NULL, 0},
};

const struct vocab vocab_unmasking[] = {
	{"allowed", VOCAB_UNMASKING_ALLOWED},
	{"forbidden", VOCAB_UNMASKING_FORBIDDEN},
	{NULL, 0},
};

const struct vocab vocab_notify[] = {
	{"immediate", VOCAB_NOTIFY_IMMEDIATE},
	{"after_approval", VOCAB_NOTIFY_AFTER_APPROVAL},
	{NULL, 0},
};

const struct vocab vocab_justifications[] = {
	{"required", VOCAB_JUSTIFICATION_REQUIRED},
	{"optional", VOCAB_JUSTIFICATION_OPTIONAL},
	{NULL, 0},
};

/* See vocab.h. */
int
vocab_value(const struct vocab *list, const char *name, size_t len)
{
	for (const struct vocab *v = list; v->name != NULL; v++)
		if (strlen(v->name) == len && memcmp(v->name, name, len) == 0)
			return v->value;
	return -1;
}

/* See vocab.h. */
const char *
vocab_name(const struct vocab *list, int value)
{
	for (const struct vocab *v = list; v->name != NULL; v++)
		if (v->value == value)
			return v->name;
	return "?";
}

/* See vocab.h. */
const char *
vocab_names(const struct vocab *list)
{
	static _Thread_local char buf[8][256];
	static _Thread_local unsigned slot;
	char *out = buf[slot++ % 8];
	size_t o = 0;

	out[0] = '\0';
	for (const struct vocab *v = list; v->name != NULL && o < 250; v++) {
		int n = snprintf(out + o, 256 - o, "%s%s", o == 0 ? "" : ", ", v->name);
		if (n < 0 || (size_t)n >= 256 - o)
			break;
		o += (size_t)n;
	}
	return out;
}

/* See vocab.h. */
int
vocab_offence(const char *s, size_t len)
{
	int n;

	if (len != 4 || s[0] != 'S' || s[1] != 'C' || s[2] < '0' || s[2] > '9' || s[3] < '0' ||
	    s[3] > '9')
		return -1;
	n = (s[2] - '0') * 10 + (s[3] - '0');
	return n >= VOCAB_OFFENCE_MIN && n <= VOCAB_OFFENCE_MAX ? n : -1;
}
