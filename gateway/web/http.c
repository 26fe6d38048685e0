/*
 * http.c: one HTTPS request, from libmicrohttpd to a route and back:
 * the body gathered (at most WEB_BODY_MAX), the console's files served
 * from the binary, the route found, the caller authenticated (a system's
 * client certificate, or a person's session cookie), its role and the
 * CSRF token checked, and the answer sent as JSON with the headers that
 * keep a browser strict.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "web.h"
#include "webreq.h"

/* What a connection gathers of a request before it is answered. */
struct pending {
	char *body;
	size_t len;
	bool too_big;
};

/* See web.h. */
int64_t
web_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See web.h. */
void
web_log(const char *event, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Whatever was put in, one line of printable ASCII comes out. */
	for (n = 0; line[n] != '\0'; n++)
		if (line[n] < 0x20 || line[n] > 0x7e)
			line[n] = '?';
	fprintf(stderr, "piugw-web: event=%s %s\n", event, line);
}

/* See web.h. */
void
web_error(struct resp *r, unsigned status, const char *code, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_decref(r->json);
	r->status = status;
	r->json = json_pack("{s:{s:s, s:s}}", "error", "code", code, "detail", detail);
}

/* Our own files only: no inline script, nothing from elsewhere. */
#define CSP_CONSOLE                                                                        \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "         \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
/* A document the gateway made: its own inline style and SVG, no script at all. */
#define CSP_DOCUMENT                                                                       \
	"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "                    \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static void
security_headers(struct MHD_Response *mr, const char *csp, const char *cache)
{
	MHD_add_response_header(mr, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(mr, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(mr, "Content-Security-Policy", csp);
	MHD_add_response_header(mr, "Cache-Control", cache);
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, struct resp *r)
{
	char *text = json_dumps(r->json != NULL ? r->json : json_object(),
				JSON_COMPACT | JSON_ENSURE_ASCII);
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (text == NULL)
		return MHD_NO;
	mr = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type", "application/json");
	if (r->cookie[0] != '\0')
		MHD_add_response_header(mr, "Set-Cookie", r->cookie);
	if (r->status == MHD_HTTP_TOO_MANY_REQUESTS) {
		json_t *ra = json_object_get(json_object_get(r->json, "error"), "retry_after");
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(ra));
		MHD_add_response_header(mr, "Retry-After", v);
	}
	security_headers(mr, CSP_CONSOLE, "no-store");
	ret = MHD_queue_response(conn, r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/*
 * A document the gateway made (the oversight report): self-contained, its
 * own inline style and SVG, no script; shown, or saved as raw_name.
 */
static enum MHD_Result
send_raw(struct MHD_Connection *conn, struct resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char disp[160];

	mr = MHD_create_response_from_buffer(r->raw_len, r->raw, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL)
		return MHD_NO;
	r->raw = NULL;
	MHD_add_response_header(mr, "Content-Type", r->raw_type);
	if (r->raw_name[0] != '\0') {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", r->raw_name);
		MHD_add_response_header(mr, "Content-Disposition", disp);
	}
	security_headers(mr, CSP_DOCUMENT, "no-store");
	ret = MHD_queue_response(conn, r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
send_asset(struct MHD_Connection *conn, const struct asset *a)
{
	struct MHD_Response *mr =
		MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (mr == NULL)
		return MHD_NO;
	MHD_add_response_header(mr, "Content-Type", a->type);
	security_headers(mr, CSP_CONSOLE, "no-cache");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Who asks: a system by its certificate, else a person by the session cookie. */
static bool
authenticate(struct req *q, struct resp *r)
{
	struct web *w = q->w;
	char why[300];
	const char *tok, *eu;
	int sys = web_client_system(w, q->conn, why, sizeof(why));

	if (sys == -2) {
		web_log("client_refused", "why=%s", why);
		web_error(r, MHD_HTTP_FORBIDDEN, "UNKNOWN_SENDER", "%s", why);
		return false;
	}
	if (sys >= 0) {
		const struct webconf_system *s = &w->conf->systems[sys];
		size_t n;
		eu = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "X-PIU-End-User");
		n = eu != NULL ? strlen(eu) : 0;
		for (size_t i = 0; i < n; i++)
			if (eu[i] < 0x21 || eu[i] > 0x7e)
				n = 0;
		if (n == 0 || n > 64) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "a system names its end user in the header X-PIU-End-User (1 to 64 "
				  "printable ASCII characters, no spaces): the audit log records who "
				  "asked");
			return false;
		}
		snprintf(q->who.user, sizeof(q->who.user), "%s", s->account);
		snprintf(q->who.system, sizeof(q->who.system), "%s", s->name);
		snprintf(q->who.end_user, sizeof(q->who.end_user), "%s", eu);
		q->who.roles = web_roles_of(w->conf, s->account);
		return true;
	}
	tok = MHD_lookup_connection_value(q->conn, MHD_COOKIE_KIND, "piugw_session");
	if (tok != NULL && strlen(tok) == WEBSESSION_TOKEN_HEX &&
	    websession_get(w->sessions, tok, web_now_ms(), &q->who.s)) {
		snprintf(q->token, sizeof(q->token), "%s", tok);
		snprintf(q->who.user, sizeof(q->who.user), "%s", q->who.s.user);
		/* Roles as they are now (within seconds), not as at sign-in. */
		q->who.roles = web_roles_of(w->conf, q->who.s.user);
		q->who.session = true;
		return true;
	}
	return false;
}

static void
dispatch(struct web *w, struct MHD_Connection *conn, const char *url, const char *method,
	 struct pending *pd, struct req *q, struct resp *r, const struct route **rtp)
{
	const struct route *rt = NULL;
	bool path_known = false;
	char arg[96];

	q->w = w;
	q->conn = conn;
	q->method = method;
	q->url = url;
	for (size_t i = 0; i < web_nroutes; i++) {
		if (!webreq_route_match(web_routes[i].pattern, url, arg, sizeof(arg)))
			continue;
		path_known = true;
		if (strcmp(web_routes[i].method, method) == 0) {
			rt = &web_routes[i];
			break;
		}
	}
	*rtp = rt;
	if (rt == NULL) {
		if (path_known)
			web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
				  "%s is not a method of this resource (see /v1/openapi.json)", method);
		else
			web_error(r, MHD_HTTP_NOT_FOUND, "NOT_FOUND",
				  "no such resource (see /v1/openapi.json)");
		return;
	}
	q->arg = arg[0] != '\0' ? arg : NULL;
	if (pd->too_big) {
		web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "TOO_LARGE",
			  "the request body is larger than %d bytes", WEB_BODY_MAX);
		return;
	}
	if (pd->len > 0) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		json_error_t je;
		if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
			web_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "MALFORMED",
				  "send the body as Content-Type: application/json");
			return;
		}
		q->body = json_loadb(pd->body, pd->len, JSON_REJECT_DUPLICATES, &je);
		if (q->body == NULL || !json_is_object(q->body)) {
			web_error(r, MHD_HTTP_BAD_REQUEST, "MALFORMED",
				  "the body is not a JSON object%s%s (line %d, column %d)",
				  q->body == NULL ? ": " : "", q->body == NULL ? je.text : "",
				  je.line, je.column);
			return;
		}
	}
	if (!authenticate(q, r)) {
		if (r->json != NULL)
			return;
		if (rt->roles != 0) {
			web_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHENTICATED",
				  "sign in first (POST /v1/session), or present a system's client "
				  "certificate");
			return;
		}
	}
	if (rt->roles != 0 && (q->who.roles & rt->roles) == 0) {
		char need[128] = "";
		size_t o = 0;
		for (unsigned b = 0; b < WEB_ROLES; b++)
			if (rt->roles & (1u << b))
				o += (size_t)snprintf(need + o, sizeof(need) - o, "%s%s", o ? " or " : "",
						      webconf_role_name(1u << b));
		web_log("forbidden", "user=%s route=%s", q->who.user, rt->pattern);
		web_error(r, MHD_HTTP_FORBIDDEN, "FORBIDDEN",
			  "%s is not in a group of %s (piugw-web.yaml roles)", q->who.user, need);
		return;
	}
	/* A change made with a session cookie must carry the session's CSRF token. */
	if (q->who.session && strcmp(method, "GET") != 0 &&
	    !websession_csrf_ok(&q->who.s,
				MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token"))) {
		web_log("csrf_refused", "user=%s route=%s", q->who.user, rt->pattern);
		web_error(r, MHD_HTTP_FORBIDDEN, "CSRF",
			  "a change needs the session's token in the header X-CSRF-Token "
			  "(GET /v1/session gives it)");
		return;
	}
	rt->fn(q, r);
}

/* See web.h. */
enum MHD_Result
web_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct web *w = cls;
	struct pending *pd = *con_cls;
	struct req q;
	struct resp r;
	const struct route *rt = NULL;
	int64_t t0;
	enum MHD_Result ret;

	(void)version;
	if (pd == NULL) {
		if ((pd = calloc(1, sizeof(*pd))) == NULL)
			return MHD_NO;
		*con_cls = pd;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!pd->too_big && pd->len + *upload_size <= WEB_BODY_MAX) {
			char *nb = realloc(pd->body, pd->len + *upload_size + 1);
			if (nb == NULL)
				return MHD_NO;
			pd->body = nb;
			memcpy(pd->body + pd->len, upload, *upload_size);
			pd->len += *upload_size;
			pd->body[pd->len] = '\0';
		} else {
			pd->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* The console's own files: GET, no sign-in (they hold no data). */
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		for (size_t i = 0; i < web_nassets; i++)
			if (strcmp(web_assets[i].path, url) == 0)
				return send_asset(conn, &web_assets[i]);
	t0 = web_now_ms();
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	r.status = MHD_HTTP_OK;
	dispatch(w, conn, url, method, pd, &q, &r, &rt);
	ret = r.raw != NULL && r.json == NULL ? send_raw(conn, &r) : send_json(conn, &r);
	/* The route's pattern, never the URL or the body: no one's details reach the log. */
	web_log("request", "method=%s route=%s status=%u user=%s%s%s ms=%lld", method,
		rt != NULL ? rt->pattern : "-", r.status, q.who.user[0] ? q.who.user : "-",
		q.who.system[0] ? " system=" : "", q.who.system,
		(long long)(web_now_ms() - t0));
	json_decref(q.body);
	json_decref(r.json);
	free(r.raw);
	return ret;
}

/* See web.h. */
void
web_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	      enum MHD_RequestTerminationCode toe)
{
	struct pending *pd = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (pd == NULL)
		return;
	if (pd->body != NULL) {
		/* A sign-in's password was in it. */
		sodium_memzero(pd->body, pd->len);
		free(pd->body);
	}
	free(pd);
	*con_cls = NULL;
}
