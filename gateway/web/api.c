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
#include "web.h"
#include "webreq.h"

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

/* r from a refusal of webreq. */
static void
refused(struct resp *r, const struct webreq_err *e)
{
	web_error(r, e->status, e->code != NULL ? e->code : "MALFORMED", "%s", e->detail);
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
	struct web *w = q->w;
	struct webreq_err e = {0};
	const char *user = NULL, *pw = NULL;
	char token[WEBSESSION_TOKEN_HEX + 1], why[200];
	struct websession s;
	int64_t wait;
	unsigned roles;

	if (!webreq_signin(q->body, &user, &pw, &e)) {
		refused(r, &e);
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
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	struct webreq_query wq;
	struct webreq_err e = {0};

	if (!webreq_query(q->body, web_now_ms(), &wq, &e)) {
		refused(r, &e);
		return;
	}
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_QUERY;
	req.query = &wq.lq;
	call_json(q, &req, (int)(wq.lq.deadline_ms ? wq.lq.deadline_ms : 300000) + 5000, r);
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
	Piugw__LocalDecision d;
	struct webreq_err e = {0};

	if (!webreq_decision(q->body, approve, q->arg, &d, &e)) {
		refused(r, &e);
		return;
	}
	call_kind(q, r, approve ? PIUGW__LOCAL_REQUEST__KIND_APPROVE : PIUGW__LOCAL_REQUEST__KIND_DENY,
		  &d, 30000);
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
	struct webreq_lookout wl;
	struct webreq_err e = {0};

	if (!webreq_lookout(q->body, web_now_ms(), &wl, &e)) {
		refused(r, &e);
		return;
	}
	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_PLACE, &wl.lp, 40000);
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
	Piugw__LocalAuditSubject as;
	struct webreq_err e = {0};

	if (!webreq_subject(q->body, &as, &e)) {
		refused(r, &e);
		return;
	}
	call_kind(q, r, PIUGW__LOCAL_REQUEST__KIND_AUDIT_SUBJECT, &as, 60000);
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
