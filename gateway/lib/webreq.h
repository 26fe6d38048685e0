/*
 * webreq.h: the JSON bodies of piugw-web's API (doc/openapi.json) into the
 * local API's requests, strictly: an unknown key, a value of the wrong
 * type or length, criteria of more than one kind, a date that does not
 * exist are refused with a precise error, never dropped or guessed. The
 * messages built borrow their strings from the JSON, which must outlive
 * them. No I/O: the same code runs in piugw-web and in its fuzz target.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_WEBREQ_H
#define PIUGW_WEBREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "local.pb-c.h"

/* Why a body was refused: an HTTP status, an error code, in words. */
struct webreq_err {
	unsigned status; /* 400 */
	const char *code; /* "MALFORMED", "JUSTIFICATION_REQUIRED" */
	char detail[300];
};

struct webreq_criteria {
	Piugw__DocumentCriteria doc;
	Piugw__NameCriteria name;
	Piugw__LocatorCriteria loc;
	Piugw__FlightCriteria fl;
	bool fuzzy;
	int kind; /* 1 document, 2 name, 4 locator, 8 flight */
};

struct webreq_query {
	Piugw__LocalQuery lq;
	Piugw__Query q;
	struct webreq_criteria c;
	Piugw__Category cats[32];
};

struct webreq_lookout {
	Piugw__LocalLookoutPlace lp;
	Piugw__LookoutPlace p;
	struct webreq_criteria c;
};

/* POST /v1/queries (a date of birth after today, now_ms, is refused). */
bool webreq_query(json_t *body, int64_t now_ms, struct webreq_query *out, struct webreq_err *e);
/* POST /v1/lookouts (expires_days counted from now_ms). */
bool webreq_lookout(json_t *body, int64_t now_ms, struct webreq_lookout *out,
		    struct webreq_err *e);
/* POST /v1/pending/{ref}/approve|deny (body NULL: none; a denial needs a reason). */
bool webreq_decision(json_t *body, bool approve, const char *ref, Piugw__LocalDecision *out,
		     struct webreq_err *e);
/* POST /v1/audit/subject. */
bool webreq_subject(json_t *body, Piugw__LocalAuditSubject *out, struct webreq_err *e);
/* POST /v1/session: a user name of [A-Za-z0-9._-] and a password. */
bool webreq_signin(json_t *body, const char **userp, const char **passwordp,
		   struct webreq_err *e);

/*
 * Does url match pattern, whose "{...}" segments each take 1 to 80 of
 * [A-Za-z0-9._-] (into arg, the last one)? Nothing else matches: no
 * percent-encoding, no dot segments, no trailing slash.
 */
bool webreq_route_match(const char *pattern, const char *url, char *arg, size_t an);

#endif /* PIUGW_WEBREQ_H */
