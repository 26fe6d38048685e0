/*
 * api.c: the routes of /v1. Each turns a JSON request into one
 * LocalRequest to piugwd, on behalf of the caller, and the LocalReply into
 * JSON (pbjson: the same names as `piugw ... --json`). The daemon checks
 * again everything checked here (roles, results that are another's): this
 * process is a door, not a judge.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "num.h"
#include "pbjson.h"
#include "piugw/client.h"
#include "piugw/error.h"
#include "vocab.h"
#include "web.h"

/* ---- the local API, one connection a thread ---- */

struct tconn {
	struct piugw_client *c;
	uint64_t tag;
};

static pthread_key_t tkey;
static pthread_once_t tonce = PTHREAD_ONCE_INIT;

static void
tconn_free(void *p)
{
	struct tconn *t = p;

	piugw_client_close(&t->c);
	free(t);
}

static void
tkey_make(void)
{
	(void)pthread_key_create(&tkey, tconn_free);
}

/* HTTP status of a refusal by the daemon, by its code. */
static unsigned
status_of(int code)
{
	switch (code) {
	case PIUGW_WIRE_MALFORMED:
	case PIUGW_WIRE_TOO_LARGE: return MHD_HTTP_BAD_REQUEST;
	case PIUGW_WIRE_UNKNOWN_SENDER: return MHD_HTTP_FORBIDDEN;
	case PIUGW_WIRE_UNKNOWN_QUERY: return MHD_HTTP_NOT_FOUND;
	case PIUGW_WIRE_RATE_LIMITED: return MHD_HTTP_TOO_MANY_REQUESTS;
	case PIUGW_WIRE_INTERNAL: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default: return MHD_HTTP_UNPROCESSABLE_CONTENT; /* the terms or the state refuse it */
	}
}

/* See web.h. */
void
web_local_error(struct resp *r, const Piugw__LocalError *e)
{
	web_error(r, status_of((int)e->code),
		  piugw_wire_error_name((enum piugw_wire_error)e->code), "%s", e->detail);
	if (r->status == MHD_HTTP_TOO_MANY_REQUESTS)
		json_object_set_new(json_object_get(r->json, "error"), "retry_after",
				    json_integer(60));
}

/* See web.h. */
int
web_call(struct req *q, Piugw__LocalRequest *req, int timeout_ms, Piugw__LocalReply **replyp,
	 struct resp *r)
{
	Piugw__OnBehalfOf ob = PIUGW__ON_BEHALF_OF__INIT;
	struct tconn *t;
	int rc;

	*replyp = NULL;
	pthread_once(&tonce, tkey_make);
	if ((t = pthread_getspecific(tkey)) == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL) {
			web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory");
			return -1;
		}
		(void)pthread_setspecific(tkey, t);
	}
	if (t->c == NULL && (rc = piugw_client_open(q->w->conf->local_api, &t->c)) != 0) {
		web_log("local_api_unavailable", "endpoint=%s error=%s", q->w->conf->local_api,
			piugw_strerror(rc));
		web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "GATEWAY_UNAVAILABLE", "%s",
			  rc == PIUGW_EACCESS
				  ? "piugw-web may not use the gateway's local API: add its user to "
				    "the operators' group of the socket"
				  : "the gateway (piugwd) is not running, or listens elsewhere "
				    "(piugw-web.yaml local_api)");
		return -1;
	}
	ob.operator_ = q->who.user;
	ob.system = q->who.system;
	ob.end_user = q->who.end_user;
	req->on_behalf_of = &ob;
	/* Replies to an earlier call that gave up are told apart by their tag. */
	req->tag = ++t->tag;
	if ((rc = piugw_client_send(t->c, req)) == 0) {
		while ((rc = piugw_client_recv(t->c, timeout_ms, replyp)) == 0 &&
		       ((*replyp)->tag != req->tag ||
			((*replyp)->more && (*replyp)->kind_case != PIUGW__LOCAL_REPLY__KIND_ERROR)))
			piugw_client_reply_free(replyp);
	}
	req->on_behalf_of = NULL;
	if (rc != 0) {
		piugw_client_reply_free(replyp);
		/* A connection that timed out or broke is made anew next time. */
		piugw_client_close(&t->c);
		web_error(r, rc == PIUGW_ESYSTEM && errno == ETIMEDOUT ? MHD_HTTP_GATEWAY_TIMEOUT
								      : MHD_HTTP_SERVICE_UNAVAILABLE,
			  "GATEWAY_UNAVAILABLE", "the gateway did not answer: %s",
			  piugw_strerror(rc));
		return -1;
	}
	if ((*replyp)->kind_case == PIUGW__LOCAL_REPLY__KIND_ERROR) {
		web_local_error(r, (*replyp)->error);
		piugw_client_reply_free(replyp);
		return -1;
	}
	return 0;
}

/* Call, then r = the reply's one message as JSON (or the refusal). */
static void
call_json(struct req *q, Piugw__LocalRequest *req, int timeout_ms, struct resp *r)
{
	Piugw__LocalReply *reply = NULL;
	const ProtobufCFieldDescriptor *f;

	if (web_call(q, req, timeout_ms, &reply, r) != 0)
		return;
	f = protobuf_c_message_descriptor_get_field(&piugw__local_reply__descriptor,
						    reply->kind_case);
	if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *m =
			*(ProtobufCMessage *const *)((const uint8_t *)reply + f->offset);
		r->json = m != NULL ? pbjson(m) : json_object();
	} else {
		r->json = json_object();
	}
	piugw_client_reply_free(&reply);
}

/* One request of kind, whose message is msg, and its reply as JSON. */
static void
call_kind(struct req *q, struct resp *r, Piugw__LocalRequest__KindCase kind, void *msg,
	  int timeout_ms)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&piugw__local_request__descriptor, kind);

	req.kind_case = kind;
	*(void **)((uint8_t *)&req + f->offset) = msg;
	call_json(q, &req, timeout_ms, r);
}

/* ---- reading the JSON body ---- */

/* body[key] as a string: NULL if absent; false (r set) if not a string of at most max. */
static bool
str_field(struct req *q, struct resp *r, const char *key, size_t max, const char **out)
{
	json_t *v = q->body != NULL ? json_object_get(q->body, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "'%s' is a string of at most %zu "
								 "characters", key, max);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* Only the keys given may be in obj (a typo must not drop a criterion silently). */
static bool
only_keys(json_t *obj, const char *const keys[], const char *what, struct resp *r)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		bool known = false;
		for (size_t i = 0; keys[i] != NULL && !known; i++)
			known = strcmp(keys[i], k) == 0;
		if (!known) {
			char list[300] = "";
			size_t o = 0;
			for (size_t i = 0; keys[i] != NULL; i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
						      keys[i]);
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "unknown key '%.40s' in %s (known: %s)", k, what, list);
			return false;
		}
	}
	return true;
}

static bool
is_object(json_t *v, const char *what, struct resp *r)
{
	if (json_is_object(v))
		return true;
	web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "%s is an object", what);
	return false;
}

/* Criteria of a query or a lookout. */
struct criteria {
	Piugw__DocumentCriteria doc;
	Piugw__NameCriteria name;
	Piugw__LocatorCriteria loc;
	Piugw__FlightCriteria fl;
	bool fuzzy;
	int kind; /* 1 document, 2 name, 4 locator, 8 flight */
};

static bool
sub_str(json_t *o, const char *key, size_t max, char **out, const char *what, struct resp *r)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return true;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
			  "%s.%s is a string of at most %zu characters", what, key, max);
		return false;
	}
	*out = (char *)json_string_value(v);
	return true;
}

static bool
read_criteria(struct req *q, struct resp *r, struct criteria *c, bool lookout)
{
	static const char *const doc_keys[] = {"number", "issuing_state", "type", NULL};
	static const char *const name_keys[] = {"surname", "given_names", "date_of_birth",
						"nationality", "fuzzy", NULL};
	static const char *const loc_keys[] = {"record_locator", "carrier", NULL};
	static const char *const fl_keys[] = {"carrier", "flight_number", "departure_date", NULL};
	json_t *d = json_object_get(q->body, "document"), *n = json_object_get(q->body, "name");
	json_t *l = lookout ? NULL : json_object_get(q->body, "locator");
	json_t *f = lookout ? NULL : json_object_get(q->body, "flight");
	int32_t day;

	piugw__document_criteria__init(&c->doc);
	piugw__name_criteria__init(&c->name);
	piugw__locator_criteria__init(&c->loc);
	piugw__flight_criteria__init(&c->fl);
	c->kind = (d != NULL) | (n != NULL) << 1 | (l != NULL) << 2 | (f != NULL) << 3;
	if (c->kind == 0 || (c->kind & (c->kind - 1)) != 0) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
			  lookout ? "give exactly one of document or name"
				  : "give exactly one of document, name, locator or flight");
		return false;
	}
	if (d != NULL) {
		if (!is_object(d, "document", r) || !only_keys(d, doc_keys, "document", r) ||
		    !sub_str(d, "number", 64, &c->doc.number, "document", r) ||
		    !sub_str(d, "issuing_state", 3, &c->doc.issuing_state, "document", r) ||
		    !sub_str(d, "type", 2, &c->doc.type, "document", r))
			return false;
		if (c->doc.number[0] == '\0' || c->doc.issuing_state[0] == '\0') {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "document needs its number and issuing_state");
			return false;
		}
	}
	if (n != NULL) {
		json_t *fz = json_is_object(n) ? json_object_get(n, "fuzzy") : NULL;
		if (!is_object(n, "name", r) || !only_keys(n, name_keys, "name", r) ||
		    !sub_str(n, "surname", 64, &c->name.surname, "name", r) ||
		    !sub_str(n, "given_names", 128, &c->name.given_names, "name", r) ||
		    !sub_str(n, "date_of_birth", 10, &c->name.date_of_birth, "name", r) ||
		    !sub_str(n, "nationality", 3, &c->name.nationality, "name", r))
			return false;
		if (fz != NULL && !json_is_boolean(fz)) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "name.fuzzy is true or false");
			return false;
		}
		c->fuzzy = json_is_true(fz);
		if (c->name.surname[0] == '\0' ||
		    !num_parse_date(c->name.date_of_birth, strlen(c->name.date_of_birth), &day)) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "name needs a surname and a real date_of_birth (YYYY-MM-DD)");
			return false;
		}
		if (day > num_day_of_ms(web_now_ms())) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "name.date_of_birth is in the future");
			return false;
		}
	}
	if (l != NULL) {
		if (!is_object(l, "locator", r) || !only_keys(l, loc_keys, "locator", r) ||
		    !sub_str(l, "record_locator", 16, &c->loc.record_locator, "locator", r) ||
		    !sub_str(l, "carrier", 3, &c->loc.carrier, "locator", r))
			return false;
		if (c->loc.record_locator[0] == '\0') {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "locator needs its record_locator");
			return false;
		}
	}
	if (f != NULL) {
		if (!is_object(f, "flight", r) || !only_keys(f, fl_keys, "flight", r) ||
		    !sub_str(f, "carrier", 3, &c->fl.carrier, "flight", r) ||
		    !sub_str(f, "flight_number", 5, &c->fl.flight_number, "flight", r) ||
		    !sub_str(f, "departure_date", 10, &c->fl.departure_date, "flight", r))
			return false;
		if (c->fl.carrier[0] == '\0' || c->fl.flight_number[0] == '\0' ||
		    !num_parse_date(c->fl.departure_date, strlen(c->fl.departure_date), &day)) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "flight needs carrier, flight_number and a real departure_date");
			return false;
		}
	}
	return true;
}

/* purpose, offence, case_reference, justification: what a query and a lookout share. */
static bool
read_purpose(struct req *q, struct resp *r, Piugw__Purpose *purpose, char **offence,
	     char **case_ref, char **justification)
{
	const char *p, *o, *c, *j;
	int v;

	if (!str_field(q, r, "purpose", 32, &p) || !str_field(q, r, "offence", 4, &o) ||
	    !str_field(q, r, "case_reference", 64, &c) || !str_field(q, r, "justification", 1000, &j))
		return false;
	if (p == NULL || (v = vocab_value(vocab_purposes, p, strlen(p))) < 0) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "purpose is one of %s",
			  vocab_names(vocab_purposes));
		return false;
	}
	*purpose = (Piugw__Purpose)v;
	*offence = (char *)(o != NULL ? o : "");
	*case_ref = (char *)(c != NULL ? c : "");
	*justification = (char *)(j != NULL ? j : "");
	return true;
}

/* ---- routes ---- */

static json_t *
roles_json(unsigned roles)
{
	json_t *a = json_array();

	for (unsigned b = 0; b < WEB_ROLES; b++)
		if (roles & (1u << b))
			json_array_append_new(a, json_string(webconf_role_name(1u << b)));
	return a;
}

static void
session_create(struct req *q, struct resp *r)
{
	static const char *const keys[] = {"user", "password", NULL};
	struct web *w = q->w;
	const char *user = NULL, *pw = NULL;
	char token[WEBSESSION_TOKEN_HEX + 1], why[200];
	struct websession s;
	int64_t wait;
	unsigned roles;
	bool ok = true;

	if (q->body == NULL || !only_keys(q->body, keys, "a sign-in", r) ||
	    !str_field(q, r, "user", 64, &user) || !str_field(q, r, "password", 512, &pw) ||
	    user == NULL || pw == NULL || user[0] == '\0') {
		if (r->json == NULL)
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "sign in with {\"user\": ..., \"password\": ...}");
		goto out;
	}
	for (const char *c = user; *c != '\0'; c++)
		ok = ok && ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			    *c == '_' || *c == '.' || (*c >= 'A' && *c <= 'Z'));
	if (!ok) {
		web_error(r, MHD_HTTP_UNAUTHORIZED, "SIGN_IN_FAILED",
			  "wrong user name or password");
		goto out;
	}
	if ((wait = websession_signin_wait(w->sessions, user, web_now_ms())) > 0) {
		web_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "TOO_MANY_ATTEMPTS",
			  "sign-in failed for this user a moment ago: try again in %lld s",
			  (long long)((wait + 999) / 1000));
		json_object_set_new(json_object_get(r->json, "error"), "retry_after",
				    json_integer((wait + 999) / 1000));
		goto out;
	}
	if (!web_pam_check(w->conf->pam_service, user, pw, why, sizeof(why))) {
		websession_signin_failed(w->sessions, user, web_now_ms());
		web_log("sign_in_failed", "user=%s why=%s", user, why);
		web_error(r, MHD_HTTP_UNAUTHORIZED, "SIGN_IN_FAILED", "wrong user name or password");
		goto out;
	}
	websession_signin_ok(w->sessions, user);
	if ((roles = web_roles_of(w->conf, user)) == 0) {
		web_log("sign_in_refused", "user=%s why=no role", user);
		web_error(r, MHD_HTTP_FORBIDDEN, "FORBIDDEN",
			  "%s is in no group of piugw-web.yaml roles: ask the gateway's "
			  "administrator for a role",
			  user);
		goto out;
	}
	if (websession_create(w->sessions, user, roles, web_now_ms(), token, &s) != 0) {
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "no session");
		goto out;
	}
	snprintf(r->cookie, sizeof(r->cookie),
		 "piugw_session=%s; Path=/; Secure; HttpOnly; SameSite=Strict", token);
	sodium_memzero(token, sizeof(token));
	web_log("signed_in", "user=%s", user);
	r->json = json_pack("{s:s, s:o, s:s, s:i}", "user", user, "roles", roles_json(roles),
			    "csrf", s.csrf, "idle_minutes", (int)w->conf->idle_minutes);
out:
	/* The password goes no further than PAM. */
	if (pw != NULL)
		sodium_memzero((char *)pw, strlen(pw));
}

static void
session_get(struct req *q, struct resp *r)
{
	r->json = json_pack("{s:s, s:o}", "user", q->who.user, "roles", roles_json(q->who.roles));
	if (q->who.session) {
		json_object_set_new(r->json, "csrf", json_string(q->who.s.csrf));
		json_object_set_new(r->json, "idle_minutes", json_integer(q->w->conf->idle_minutes));
	} else {
		json_object_set_new(r->json, "system", json_string(q->who.system));
		json_object_set_new(r->json, "end_user", json_string(q->who.end_user));
	}
}

static void
session_delete(struct req *q, struct resp *r)
{
	if (q->who.session)
		websession_end(q->w->sessions, q->token);
	snprintf(r->cookie, sizeof(r->cookie),
		 "piugw_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
	web_log("signed_out", "user=%s", q->who.user);
	r->json = json_pack("{s:b}", "signed_out", 1);
}

static void
status_get(struct req *q, struct resp *r)
{
	Piugw__LocalStatus st = PIUGW__LOCAL_STATUS__INIT;

	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_STATUS, &st, 10000);
}

static void
peers_get(struct req *q, struct resp *r)
{
	Piugw__LocalPeers p = PIUGW__LOCAL_PEERS__INIT;

	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_PEERS, &p, 15000);
}

/* The agreements, with what we may ask under each: status's, without the rest. */
static void
agreements_get(struct req *q, struct resp *r)
{
	json_t *a;

	status_get(q, r);
	if (r->status != MHD_HTTP_OK || r->json == NULL)
		return;
	a = json_object_get(r->json, "agreements");
	a = json_pack("{s:O}", "agreements", a != NULL ? a : json_array());
	json_decref(r->json);
	r->json = a;
}

static void
query_post(struct req *q, struct resp *r)
{
	static const char *const keys[] = {"to", "purpose", "offence", "case_reference",
					   "justification", "document", "name", "locator",
					   "flight", "categories", "max_results",
					   "agreement_id", "deadline_seconds", NULL};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	Piugw__Query qq = PIUGW__QUERY__INIT;
	Piugw__Category cats[32];
	struct criteria c;
	const char *to, *agr;
	json_t *v;

	if (q->body == NULL) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "a query is a JSON object");
		return;
	}
	if (!only_keys(q->body, keys, "a query", r) || !str_field(q, r, "to", 32, &to) ||
	    !str_field(q, r, "agreement_id", 64, &agr) ||
	    !read_purpose(q, r, &qq.purpose, &qq.offence, &qq.case_reference, &qq.justification) ||
	    !read_criteria(q, r, &c, false))
		return;
	if (to == NULL || to[0] == '\0') {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
			  "name the partner in 'to' (a member id, or \"all\")");
		return;
	}
	if ((v = json_object_get(q->body, "categories")) != NULL) {
		size_t i;
		json_t *it;
		if (!json_is_array(v) || json_array_size(v) > 32) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "categories is a list of category names");
			return;
		}
		json_array_foreach(v, i, it) {
			int cv = json_is_string(it) ? vocab_value(vocab_categories,
								  json_string_value(it),
								  json_string_length(it))
						    : -1;
			if (cv < 0) {
				web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
					  "categories: each is one of %s", vocab_names(vocab_categories));
				return;
			}
			cats[i] = (Piugw__Category)cv;
		}
		qq.categories = cats;
		qq.n_categories = json_array_size(v);
	}
	if ((v = json_object_get(q->body, "max_results")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 10000) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "max_results is 1 to 10000");
			return;
		}
		qq.max_results = (uint32_t)json_integer_value(v);
	}
	if ((v = json_object_get(q->body, "deadline_seconds")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 300) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "deadline_seconds is 1 to 300");
			return;
		}
		lq.deadline_ms = (uint32_t)json_integer_value(v) * 1000;
	}
	switch (c.kind) {
	case 1: qq.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT; qq.document = &c.doc; break;
	case 2:
		if (c.fuzzy) {
			qq.criteria_case = PIUGW__QUERY__CRITERIA_NAME_FUZZY;
			qq.name_fuzzy = &c.name;
		} else {
			qq.criteria_case = PIUGW__QUERY__CRITERIA_NAME;
			qq.name = &c.name;
		}
		break;
	case 4: qq.criteria_case = PIUGW__QUERY__CRITERIA_LOCATOR; qq.locator = &c.loc; break;
	default: qq.criteria_case = PIUGW__QUERY__CRITERIA_FLIGHT; qq.flight = &c.fl; break;
	}
	lq.to = (char *)to;
	lq.agreement_id = (char *)(agr != NULL ? agr : "");
	lq.query = &qq;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_QUERY;
	req.query = &lq;
	call_json(q, &req, (int)(lq.deadline_ms ? lq.deadline_ms : 300000) + 5000, r);
}

static void
results_get(struct req *q, struct resp *r)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalResults lr = PIUGW__LOCAL_RESULTS__INIT;
	const char *w = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "wait");
	uint64_t s = 0;

	if (w != NULL && !num_parse_u64(w, strlen(w), 0, 600, &s)) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "wait is 0 to 600 seconds");
		return;
	}
	lr.request_id = (char *)q->arg;
	lr.wait_ms = (uint32_t)s * 1000;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_RESULTS;
	req.results = &lr;
	call_json(q, &req, (int)lr.wait_ms + 10000, r);
}

static void
pending_get(struct req *q, struct resp *r)
{
	Piugw__LocalPending p = PIUGW__LOCAL_PENDING__INIT;

	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_PENDING, &p, 10000);
}

static void
decide(struct req *q, struct resp *r, bool approve)
{
	static const char *const keys[] = {"reason", "authorisation", NULL};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalDecision d = PIUGW__LOCAL_DECISION__INIT;
	const char *reason = NULL, *auth = NULL;

	if (q->body != NULL &&
	    (!only_keys(q->body, keys, "a decision", r) || !str_field(q, r, "reason", 500, &reason) ||
	     !str_field(q, r, "authorisation", 64, &auth)))
		return;
	if (!approve && (reason == NULL || reason[0] == '\0')) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "JUSTIFICATION_REQUIRED",
			  "a denial needs a reason");
		return;
	}
	d.approval_ref = (char *)q->arg;
	d.reason = (char *)(reason != NULL ? reason : "");
	d.authorisation = (char *)(auth != NULL ? auth : "");
	if (approve) {
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_APPROVE;
		req.approve = &d;
	} else {
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_DENY;
		req.deny = &d;
	}
	call_json(q, &req, 30000, r);
}

static void
approve_post(struct req *q, struct resp *r)
{
	decide(q, r, true);
}

static void
deny_post(struct req *q, struct resp *r)
{
	decide(q, r, false);
}

static void
alerts_get(struct req *q, struct resp *r)
{
	Piugw__LocalAlerts a = PIUGW__LOCAL_ALERTS__INIT;
	const char *all = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "all");

	a.all = all != NULL && strcmp(all, "0") != 0;
	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_ALERTS, &a, 10000);
}

static void
alert_seen_post(struct req *q, struct resp *r)
{
	Piugw__LocalAlertSeen s = PIUGW__LOCAL_ALERT_SEEN__INIT;

	s.reference = (char *)q->arg;
	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_ALERT_SEEN, &s, 10000);
}

static void
lookouts_get(struct req *q, struct resp *r)
{
	Piugw__LocalLookouts l = PIUGW__LOCAL_LOOKOUTS__INIT;

	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_LOOKOUTS, &l, 10000);
}

static void
lookout_post(struct req *q, struct resp *r)
{
	static const char *const keys[] = {"to", "purpose", "offence", "case_reference",
					   "justification", "document", "name",
					   "expires_days", "agreement_id", NULL};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalLookoutPlace lp = PIUGW__LOCAL_LOOKOUT_PLACE__INIT;
	Piugw__LookoutPlace p = PIUGW__LOOKOUT_PLACE__INIT;
	struct criteria c;
	const char *to, *agr;
	json_t *v;

	if (q->body == NULL) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "a lookout is a JSON object");
		return;
	}
	if (!only_keys(q->body, keys, "a lookout", r) || !str_field(q, r, "to", 32, &to) ||
	    !str_field(q, r, "agreement_id", 64, &agr) ||
	    !read_purpose(q, r, &p.purpose, &p.offence, &p.case_reference, &p.justification) ||
	    !read_criteria(q, r, &c, true))
		return;
	if (to == NULL || to[0] == '\0') {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
			  "name the partner in 'to' (a member id, or \"all\")");
		return;
	}
	if ((v = json_object_get(q->body, "expires_days")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 3650) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "expires_days is 1 to 3650");
			return;
		}
		p.expires_at_ms = web_now_ms() + json_integer_value(v) * 86400000;
	}
	if (c.kind == 1) {
		p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
		p.document = &c.doc;
	} else if (c.fuzzy) {
		p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY;
		p.name_fuzzy = &c.name;
	} else {
		p.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME;
		p.name = &c.name;
	}
	lp.to = (char *)to;
	lp.agreement_id = (char *)(agr != NULL ? agr : "");
	lp.lookout = &p;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_PLACE;
	req.lookout_place = &lp;
	call_json(q, &req, 40000, r);
}

static void
lookout_delete(struct req *q, struct resp *r)
{
	Piugw__LocalLookoutWithdraw wd = PIUGW__LOCAL_LOOKOUT_WITHDRAW__INIT;

	wd.reference = (char *)q->arg;
	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_WITHDRAW, &wd, 40000);
}

static void
audit_subject_post(struct req *q, struct resp *r)
{
	static const char *const keys[] = {"document", "issuer", "surname", "given_names",
					   "date_of_birth", "limit", NULL};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalAuditSubject as = PIUGW__LOCAL_AUDIT_SUBJECT__INIT;
	const char *doc, *iss, *sur, *giv, *dob;
	json_t *v;

	if (q->body == NULL || !only_keys(q->body, keys, "a subject search", r) ||
	    !str_field(q, r, "document", 64, &doc) || !str_field(q, r, "issuer", 3, &iss) ||
	    !str_field(q, r, "surname", 64, &sur) || !str_field(q, r, "given_names", 128, &giv) ||
	    !str_field(q, r, "date_of_birth", 10, &dob)) {
		if (r->json == NULL)
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "search by {document, issuer} or {surname, given_names, "
				  "date_of_birth}");
		return;
	}
	if ((v = json_object_get(q->body, "limit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 10000) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "limit is 1 to 10000");
			return;
		}
		as.limit = (uint32_t)json_integer_value(v);
	}
	as.document = (char *)(doc != NULL ? doc : "");
	as.issuer = (char *)(iss != NULL ? iss : "");
	as.surname = (char *)(sur != NULL ? sur : "");
	as.given_names = (char *)(giv != NULL ? giv : "");
	as.date_of_birth = (char *)(dob != NULL ? dob : "");
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_AUDIT_SUBJECT;
	req.audit_subject = &as;
	call_json(q, &req, 60000, r);
}

static void
audit_report_get(struct req *q, struct resp *r)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalAuditReport ar = PIUGW__LOCAL_AUDIT_REPORT__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *from = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "from");
	const char *to = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "to");
	const char *fmt = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "format");
	int32_t day;

	if (from == NULL || !num_parse_date(from, strlen(from), &day) ||
	    (to != NULL && to[0] != '\0' && !num_parse_date(to, strlen(to), &day))) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
			  "the period is ?from=YYYY-MM-DD (and &to=YYYY-MM-DD; default yesterday)");
		return;
	}
	if (fmt != NULL && strcmp(fmt, "html") != 0 && strcmp(fmt, "csv") != 0 &&
	    strcmp(fmt, "json") != 0) {
		web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED", "format is html, csv or json");
		return;
	}
	ar.from = (char *)from;
	ar.to = (char *)(to != NULL ? to : "");
	ar.format = (char *)(fmt != NULL ? fmt : "html");
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_AUDIT_REPORT;
	req.audit_report = &ar;
	if (web_call(q, &req, 120000, &reply, r) != 0)
		return;
	if (reply->kind_case != PIUGW__LOCAL_REPLY__KIND_AUDIT_REPORT ||
	    (r->raw = malloc(reply->audit_report->content.len + 1)) == NULL) {
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "no report came");
		piugw_client_reply_free(&reply);
		return;
	}
	memcpy(r->raw, reply->audit_report->content.data, reply->audit_report->content.len);
	r->raw_len = reply->audit_report->content.len;
	snprintf(r->raw_type, sizeof(r->raw_type), "%s", reply->audit_report->media_type);
	if (strcmp(ar.format, "html") != 0)
		snprintf(r->raw_name, sizeof(r->raw_name), "oversight-report-%s%s%s.%s", from,
			 ar.to[0] ? "-" : "", ar.to, ar.format);
	piugw_client_reply_free(&reply);
}

static void
openapi_get(struct req *q, struct resp *r)
{
	json_error_t je;

	(void)q;
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].path, "/openapi.json") == 0) {
			r->json = json_loadb((const char *)web_assets[i].data, web_assets[i].len, 0,
					     &je);
			return;
		}
	web_error(r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no OpenAPI document was built in");
}

#define OPER WEB_ROLE_OPERATOR
#define DECIDERS (WEB_ROLE_APPROVER | WEB_ROLE_AUTHORISER)
#define ANYONE (WEB_ROLE_OPERATOR | WEB_ROLE_APPROVER | WEB_ROLE_AUTHORISER | WEB_ROLE_DPO | \
		WEB_ROLE_ADMIN)

/* See web.h. Every route is in doc/openapi.json, and only these (tests/integration/web.sh). */
const struct route web_routes[] = {
	{"GET", "/v1/openapi.json", 0, openapi_get, "this document"},
	{"POST", "/v1/session", 0, session_create, "sign in (PAM)"},
	{"GET", "/v1/session", ANYONE, session_get, "who is signed in, the CSRF token"},
	{"DELETE", "/v1/session", ANYONE, session_delete, "sign out"},
	{"GET", "/v1/status", WEB_ROLE_ADMIN, status_get, "the gateway's status"},
	{"GET", "/v1/peers", WEB_ROLE_ADMIN, peers_get, "partners, asked now"},
	{"GET", "/v1/agreements", OPER | WEB_ROLE_ADMIN, agreements_get,
	 "agreements, their state and what may be asked under each"},
	{"POST", "/v1/queries", OPER, query_post, "ask one partner or all"},
	{"GET", "/v1/queries/{request_id}", OPER, results_get, "collect the answers of a query"},
	{"GET", "/v1/pending", DECIDERS, pending_get, "requests held for a decision"},
	{"POST", "/v1/pending/{approval_ref}/approve", DECIDERS, approve_post, "approve"},
	{"POST", "/v1/pending/{approval_ref}/deny", DECIDERS, deny_post, "deny, with a reason"},
	{"GET", "/v1/alerts", OPER, alerts_get, "notifications of our lookouts"},
	{"POST", "/v1/alerts/{reference}/seen", OPER, alert_seen_post, "mark an alert seen"},
	{"GET", "/v1/lookouts", OPER, lookouts_get, "lookouts placed and held"},
	{"POST", "/v1/lookouts", OPER, lookout_post, "place a lookout"},
	{"DELETE", "/v1/lookouts/{reference}", OPER, lookout_delete, "withdraw a lookout"},
	{"POST", "/v1/audit/subject", WEB_ROLE_DPO, audit_subject_post,
	 "every audit record about one person"},
	{"GET", "/v1/audit/report", WEB_ROLE_DPO, audit_report_get,
	 "the oversight report of a period"},
};
const size_t web_nroutes = sizeof(web_routes) / sizeof(web_routes[0]);
