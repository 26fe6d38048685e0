/*
 * webreq.c: piugw-web's JSON bodies into local API requests (see webreq.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "num.h"
#include "vocab.h"
#include "webreq.h"

static bool
fail(struct webreq_err *e, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool
fail(struct webreq_err *e, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return false;
}

#define BAD(e, ...) fail(e, 400, "MALFORMED", __VA_ARGS__)

/* obj[key] as a string of at most max bytes, no NUL: NULL if absent or null. */
static bool
str(json_t *obj, const char *key, const char *what, size_t max, char **out,
    struct webreq_err *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return BAD(e, "%s%s%s is a string of at most %zu characters", what, *what ? "." : "",
			   key, max);
	*out = (char *)json_string_value(v);
	return true;
}

/* Only the keys given may be in obj: a typo must not drop a criterion silently. */
static bool
only(json_t *obj, const char *const keys[], const char *what, struct webreq_err *e)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		char list[300] = "";
		size_t o = 0;
		bool known = false;
		for (size_t i = 0; keys[i] != NULL && !known; i++)
			known = strcmp(keys[i], k) == 0;
		if (known)
			continue;
		for (size_t i = 0; keys[i] != NULL && o < sizeof(list); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", keys[i]);
		return BAD(e, "unknown key '%.40s' in %s (known: %s)", k, what, list);
	}
	return true;
}

static bool
object(json_t *v, const char *what, struct webreq_err *e)
{
	return json_is_object(v) || BAD(e, "%s is an object", what);
}

static bool
criteria(json_t *body, bool lookout, int64_t now_ms, struct webreq_criteria *c,
	 struct webreq_err *e)
{
	static const char *const doc_keys[] = {"number", "issuing_state", "type", NULL};
	static const char *const name_keys[] = {"surname", "given_names", "date_of_birth",
						"nationality", "fuzzy", NULL};
	static const char *const loc_keys[] = {"record_locator", "carrier", NULL};
	static const char *const fl_keys[] = {"carrier", "flight_number", "departure_date", NULL};
	json_t *d = json_object_get(body, "document"), *n = json_object_get(body, "name");
	json_t *l = lookout ? NULL : json_object_get(body, "locator");
	json_t *f = lookout ? NULL : json_object_get(body, "flight");
	int32_t day;

	piugw__document_criteria__init(&c->doc);
	piugw__name_criteria__init(&c->name);
	piugw__locator_criteria__init(&c->loc);
	piugw__flight_criteria__init(&c->fl);
	c->fuzzy = false;
	c->kind = (d != NULL) | (n != NULL) << 1 | (l != NULL) << 2 | (f != NULL) << 3;
	if (c->kind == 0 || (c->kind & (c->kind - 1)) != 0)
		return BAD(e, "%s", lookout ? "give exactly one of document or name"
					    : "give exactly one of document, name, locator or flight");
	if (d != NULL) {
		if (!object(d, "document", e) || !only(d, doc_keys, "document", e) ||
		    !str(d, "number", "document", 64, &c->doc.number, e) ||
		    !str(d, "issuing_state", "document", 3, &c->doc.issuing_state, e) ||
		    !str(d, "type", "document", 2, &c->doc.type, e))
			return false;
		if (c->doc.number[0] == '\0' || c->doc.issuing_state[0] == '\0')
			return BAD(e, "document needs its number and issuing_state");
	}
	if (n != NULL) {
		json_t *fz;
		if (!object(n, "name", e) || !only(n, name_keys, "name", e) ||
		    !str(n, "surname", "name", 64, &c->name.surname, e) ||
		    !str(n, "given_names", "name", 128, &c->name.given_names, e) ||
		    !str(n, "date_of_birth", "name", 10, &c->name.date_of_birth, e) ||
		    !str(n, "nationality", "name", 3, &c->name.nationality, e))
			return false;
		if ((fz = json_object_get(n, "fuzzy")) != NULL && !json_is_boolean(fz))
			return BAD(e, "name.fuzzy is true or false");
		c->fuzzy = json_is_true(fz);
		if (c->name.surname[0] == '\0' ||
		    !num_parse_date(c->name.date_of_birth, strlen(c->name.date_of_birth), &day))
			return BAD(e, "name needs a surname and a real date_of_birth (YYYY-MM-DD)");
		/* Sent as it is, a date no one has would come back a false "no hit". */
		if (day > num_day_of_ms(now_ms))
			return BAD(e, "name.date_of_birth is in the future");
	}
	if (l != NULL) {
		if (!object(l, "locator", e) || !only(l, loc_keys, "locator", e) ||
		    !str(l, "record_locator", "locator", 16, &c->loc.record_locator, e) ||
		    !str(l, "carrier", "locator", 3, &c->loc.carrier, e))
			return false;
		if (c->loc.record_locator[0] == '\0')
			return BAD(e, "locator needs its record_locator");
	}
	if (f != NULL) {
		if (!object(f, "flight", e) || !only(f, fl_keys, "flight", e) ||
		    !str(f, "carrier", "flight", 3, &c->fl.carrier, e) ||
		    !str(f, "flight_number", "flight", 5, &c->fl.flight_number, e) ||
		    !str(f, "departure_date", "flight", 10, &c->fl.departure_date, e))
			return false;
		if (c->fl.carrier[0] == '\0' || c->fl.flight_number[0] == '\0' ||
		    !num_parse_date(c->fl.departure_date, strlen(c->fl.departure_date), &day))
			return BAD(e, "flight needs carrier, flight_number and a real departure_date");
	}
	return true;
}

/* purpose, offence, case_reference, justification: what a query and a lookout share. */
static bool
purpose(json_t *body, Piugw__Purpose *pp, char **offence, char **case_ref, char **why,
	struct webreq_err *e)
{
	char *p = NULL;
	int v;

	if (!str(body, "purpose", "", 32, &p, e) || !str(body, "offence", "", 4, offence, e) ||
	    !str(body, "case_reference", "", 64, case_ref, e) ||
	    !str(body, "justification", "", 1000, why, e))
		return false;
	if (p == NULL || (v = vocab_value(vocab_purposes, p, strlen(p))) < 0)
		return BAD(e, "purpose is one of %s", vocab_names(vocab_purposes));
	*pp = (Piugw__Purpose)v;
	return true;
}

/* An integer member from min to max, if there. */
static bool
integer(json_t *body, const char *key, json_int_t min, json_int_t max, json_int_t *out,
	struct webreq_err *e)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return BAD(e, "%s is a whole number from %lld to %lld", key, (long long)min,
			   (long long)max);
	*out = json_integer_value(v);
	return true;
}

static bool
partner(json_t *body, char **to, char **agreement, struct webreq_err *e)
{
	if (!str(body, "to", "", 32, to, e) || !str(body, "agreement_id", "", 64, agreement, e))
		return false;
	if ((*to)[0] == '\0')
		return BAD(e, "name the partner in 'to' (a member id, or \"all\")");
	return true;
}

/* See webreq.h. */
bool
webreq_query(json_t *body, int64_t now_ms, struct webreq_query *out, struct webreq_err *e)
{
	static const char *const keys[] = {"to", "purpose", "offence", "case_reference",
					   "justification", "document", "name", "locator",
					   "flight", "categories", "max_results",
					   "agreement_id", "deadline_seconds", NULL};
	json_int_t max = 0, deadline = 0;
	json_t *v, *it;
	size_t i;

	piugw__local_query__init(&out->lq);
	piugw__query__init(&out->q);
	if (!json_is_object(body))
		return BAD(e, "a query is a JSON object");
	if (!only(body, keys, "a query", e) || !partner(body, &out->lq.to, &out->lq.agreement_id, e) ||
	    !purpose(body, &out->q.purpose, &out->q.offence, &out->q.case_reference,
		     &out->q.justification, e) ||
	    !criteria(body, false, now_ms, &out->c, e) ||
	    !integer(body, "max_results", 1, 10000, &max, e) ||
	    !integer(body, "deadline_seconds", 1, 300, &deadline, e))
		return false;
	if ((v = json_object_get(body, "categories")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 32)
			return BAD(e, "categories is a list of category names");
		json_array_foreach(v, i, it) {
			int cv = json_is_string(it) ? vocab_value(vocab_categories, json_string_value(it),
								  json_string_length(it))
						    : -1;
			if (cv < 0)
				return BAD(e, "categories: each is one of %s",
					   vocab_names(vocab_categories));
			out->cats[i] = (Piugw__Category)cv;
		}
		out->q.categories = out->cats;
		out->q.n_categories = json_array_size(v);
	}
	out->q.max_results = (uint32_t)max;
	out->lq.deadline_ms = (uint32_t)deadline * 1000;
	switch (out->c.kind) {
	case 1:
		out->q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
		out->q.document = &out->c.doc;
		break;
	case 2:
		out->q.criteria_case =
			out->c.fuzzy ? PIUGW__QUERY__CRITERIA_NAME_FUZZY : PIUGW__QUERY__CRITERIA_NAME;
		if (out->c.fuzzy)
			out->q.name_fuzzy = &out->c.name;
		else
			out->q.name = &out->c.name;
		break;
	case 4:
		out->q.criteria_case = PIUGW__QUERY__CRITERIA_LOCATOR;
		out->q.locator = &out->c.loc;
		break;
	default:
		out->q.criteria_case = PIUGW__QUERY__CRITERIA_FLIGHT;
		out->q.flight = &out->c.fl;
		break;
	}
	out->lq.query = &out->q;
	return true;
}

/* See webreq.h. */
bool
webreq_lookout(json_t *body, int64_t now_ms, struct webreq_lookout *out, struct webreq_err *e)
{
	static const char *const keys[] = {"to", "purpose", "offence", "case_reference",
					   "justification", "document", "name",
					   "expires_days", "agreement_id", NULL};
	json_int_t days = 0;

	piugw__local_lookout_place__init(&out->lp);
	piugw__lookout_place__init(&out->p);
	if (!json_is_object(body))
		return BAD(e, "a lookout is a JSON object");
	if (!only(body, keys, "a lookout", e) || !partner(body, &out->lp.to, &out->lp.agreement_id, e) ||
	    !purpose(body, &out->p.purpose, &out->p.offence, &out->p.case_reference,
		     &out->p.justification, e) ||
	    !criteria(body, true, now_ms, &out->c, e) ||
	    !integer(body, "expires_days", 1, 3650, &days, e))
		return false;
	if (days > 0)
		out->p.expires_at_ms = now_ms + (int64_t)days * 86400000;
	if (out->c.kind == 1) {
		out->p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
		out->p.document = &out->c.doc;
	} else if (out->c.fuzzy) {
		out->p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY;
		out->p.name_fuzzy = &out->c.name;
	} else {
		out->p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME;
		out->p.name = &out->c.name;
	}
	out->lp.lookout = &out->p;
	return true;
}

/* See webreq.h. */
bool
webreq_decision(json_t *body, bool approve, const char *ref, Piugw__LocalDecision *out,
		struct webreq_err *e)
{
	static const char *const keys[] = {"reason", "authorisation", NULL};

	piugw__local_decision__init(out);
	out->approval_ref = (char *)ref;
	if (body != NULL &&
	    (!object(body, "a decision", e) || !only(body, keys, "a decision", e) ||
	     !str(body, "reason", "", 500, &out->reason, e) ||
	     !str(body, "authorisation", "", 64, &out->authorisation, e)))
		return false;
	if (!approve && out->reason[0] == '\0')
		return fail(e, 400, "JUSTIFICATION_REQUIRED", "a denial needs a reason");
	return true;
}

/* See webreq.h. */
bool
webreq_subject(json_t *body, Piugw__LocalAuditSubject *out, struct webreq_err *e)
{
	static const char *const keys[] = {"document", "issuer", "surname", "given_names",
					   "date_of_birth", "limit", NULL};
	json_int_t limit = 0;

	piugw__local_audit_subject__init(out);
	if (!json_is_object(body))
		return BAD(e, "search by {document, issuer} or {surname, given_names, date_of_birth}");
	if (!only(body, keys, "a subject search", e) ||
	    !str(body, "document", "", 64, &out->document, e) ||
	    !str(body, "issuer", "", 3, &out->issuer, e) ||
	    !str(body, "surname", "", 64, &out->surname, e) ||
	    !str(body, "given_names", "", 128, &out->given_names, e) ||
	    !str(body, "date_of_birth", "", 10, &out->date_of_birth, e) ||
	    !integer(body, "limit", 1, 10000, &limit, e))
		return false;
	out->limit = (uint32_t)limit;
	return true;
}

/* See webreq.h. */
bool
webreq_signin(json_t *body, const char **userp, const char **passwordp, struct webreq_err *e)
{
	static const char *const keys[] = {"user", "password", NULL};
	char *user = NULL, *pw = NULL;

	e->code = NULL;
	if (!json_is_object(body) || !only(body, keys, "a sign-in", e) ||
	    !str(body, "user", "", 64, &user, e) || !str(body, "password", "", 512, &pw, e) ||
	    user == NULL || pw == NULL || user[0] == '\0') {
		if (e->code == NULL)
			BAD(e, "sign in with {\"user\": ..., \"password\": ...}");
		return false;
	}
	for (const char *c = user; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.'))
			return fail(e, 401, "SIGN_IN_FAILED", "wrong user name or password");
	*userp = user;
	*passwordp = pw;
	return true;
}

/* See webreq.h. */
bool
webreq_route_match(const char *pattern, const char *url, char *arg, size_t an)
{
	const char *p = pattern, *u = url;

	if (an > 0)
		arg[0] = '\0';
	while (*p != '\0') {
		if (*p == '{') {
			size_t n = 0;
			while (*p != '\0' && *p != '}')
				p++;
			if (*p == '}')
				p++;
			while (u[n] != '\0' && u[n] != '/')
				n++;
			if (n == 0 || n >= an || n > 80 || (u[0] == '.' && (n == 1 || (n == 2 && u[1] == '.'))))
				return false;
			for (size_t i = 0; i < n; i++)
				if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
				      (u[i] >= '0' && u[i] <= '9') || u[i] == '-' || u[i] == '_' ||
				      u[i] == '.'))
					return false;
			memcpy(arg, u, n);
			arg[n] = '\0';
			u += n;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	return *u == '\0';
}
