/*
 * web.h: piugw-web, the gateway's HTTPS/JSON API and web console.
 *
 * A process of its own, run as its own user (piugw-web), that holds no key
 * of the gateway and no traveller data at rest: every request becomes one
 * LocalRequest to piugwd's local API, sent "on behalf of" the person signed
 * in (PAM, a session cookie) or the national system that presented its
 * client certificate. piugwd accepts that only from its configured
 * delegates (the kernel's SO_PEERCRED uid) and records both in its audit
 * log. Roles come from the person's (or the system account's) groups.
 *
 * libmicrohttpd serves HTTPS only (GnuTLS, TLS 1.3), a thread per
 * connection; each thread keeps its own connection to the local API.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_WEB_H
#define PIUGW_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "local.pb-c.h"
#include "webconf.h"
#include "websession.h"

#define WEB_BODY_MAX (64 * 1024)

struct web {
	struct webconf *conf;
	struct websession_table *sessions;
	uint8_t (*pins)[32]; /* SHA-256 of each system's certificate, as conf->systems */
	struct MHD_Daemon *mhd;
};

/* Who a request is from, once authenticated. */
struct principal {
	char user[WEBSESSION_USER_MAX + 1]; /* a person's user name, or the system's account */
	char system[33];                    /* a system's name (empty: a person) */
	char end_user[65];                  /* the system's user (X-PIU-End-User) */
	unsigned roles;                     /* WEB_ROLE_* */
	bool session;                       /* by cookie: changes need the CSRF token */
	struct websession s;
};

/* One request as the router hands it to a route. */
struct req {
	struct web *w;
	struct MHD_Connection *conn;
	const char *method, *url;
	const char *arg;    /* the {ref} of the route's pattern, or NULL */
	json_t *body;       /* the parsed JSON body of a POST (an object), or NULL */
	struct principal who;
	char token[WEBSESSION_TOKEN_HEX + 1]; /* the session cookie's value, if any */
};

/* A route's answer: status and JSON (owned), or a refusal built by web_error. */
struct resp {
	unsigned status;
	json_t *json;
	char cookie[256]; /* a Set-Cookie value, if any */
	/* Or, instead of JSON, a document of its own (the oversight report). */
	char *raw;        /* malloc'd */
	size_t raw_len;
	char raw_type[64];
	char raw_name[96]; /* a download's file name (empty: shown in the browser) */
};

/* ---- http.c ---- */
enum MHD_Result web_handle(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload,
			   size_t *upload_size, void **con_cls);
void web_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);
/* A refusal: {"error": {"code": CODE, "detail": ...}} with status. */
void web_error(struct resp *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int64_t web_now_ms(void);
/* One line to stderr (journald): event and k=v pairs, never personal data. */
void web_log(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct route {
	const char *method;
	const char *pattern; /* "/v1/pending/{ref}/approve" */
	unsigned roles;      /* any of these (0: signed-in not needed) */
	void (*fn)(struct req *q, struct resp *r);
	const char *summary;
};
extern const struct route web_routes[];
extern const size_t web_nroutes;

/* ---- api.c ---- */
/*
 * Send req on behalf of q's principal and wait up to timeout_ms for the
 * final reply: 0 with *replyp, or a refusal already in r.
 */
int web_call(struct req *q, Piugw__LocalRequest *req, int timeout_ms, Piugw__LocalReply **replyp,
	     struct resp *r);
/* r from a LocalError: its code, and the HTTP status that goes with it. */
void web_local_error(struct resp *r, const Piugw__LocalError *e);

/* ---- auth.c ---- */
/*
 * A connection's client certificate, judged once: TLS 1.3 has no
 * renegotiation, so what it presented at the handshake stands for every
 * request the connection carries (MHD_OPTION_NOTIFY_CONNECTION).
 */
struct conn_auth {
	bool judged;
	int system;     /* as web_client_system returns */
	char why[300];
};
void web_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
		    enum MHD_ConnectionNotificationCode toe);
/* The roles of a user of this machine, by its groups (0: none, or no such user). */
unsigned web_roles_of(const struct webconf *c, const char *user);
/* PAM: does user's password authenticate and is the account usable? */
bool web_pam_check(const char *service, const char *user, const char *password, char *why,
		   size_t wn);
/*
 * A client certificate on conn that chains to client_ca and is one of the
 * systems' pinned certificates: its index, or -1 (none presented), or -2
 * with why (presented, not accepted).
 */
int web_client_system(struct web *w, struct MHD_Connection *conn, char *why, size_t wn);
/* SHA-256 of the first certificate of a PEM file (a system's pin). */
int web_pem_pin(const char *path, uint8_t out[32], char *why, size_t wn);

/* ---- assets.c (generated) ---- */
struct asset {
	const char *path; /* "/", "/app.js", "/v1/openapi.json" */
	const char *type;
	const unsigned char *data;
	size_t len;
};
extern const struct asset web_assets[];
extern const size_t web_nassets;

#endif /* PIUGW_WEB_H */
