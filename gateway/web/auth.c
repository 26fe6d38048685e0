/*
 * auth.c: who is asking. People by PAM (their machine account, as
 * X-Road's security server does), national systems by a client
 * certificate that chains to the configured issuer and is one of the
 * certificates pinned in piugw-web.yaml; roles by the groups of the
 * account.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <security/pam_appl.h>
#include <sodium.h>

#include "fileio.h"
#include "web.h"

/*
 * Roles are read from the group database (files, or LDAP through NSS): a
 * few whole-file reads a lookup, most of piugw-web's own time on a query.
 * Remembered for ROLES_TTL_MS: a person taken out of a group loses the
 * role within that.
 */
#define ROLES_TTL_MS 5000
#define ROLES_CACHE 64

static unsigned roles_lookup(const struct webconf *c, const char *user);

/* See web.h. */
unsigned
web_roles_of(const struct webconf *c, const char *user)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		char user[WEBSESSION_USER_MAX + 1];
		unsigned roles;
		int64_t at_ms;
	} cache[ROLES_CACHE];
	static unsigned next;
	int64_t now = web_now_ms();
	unsigned roles;

	pthread_mutex_lock(&mu);
	for (unsigned i = 0; i < ROLES_CACHE; i++)
		if (cache[i].at_ms != 0 && now - cache[i].at_ms < ROLES_TTL_MS &&
		    now >= cache[i].at_ms && strcmp(cache[i].user, user) == 0) {
			roles = cache[i].roles;
			pthread_mutex_unlock(&mu);
			return roles;
		}
	pthread_mutex_unlock(&mu);
	roles = roles_lookup(c, user);
	pthread_mutex_lock(&mu);
	if (strlen(user) <= WEBSESSION_USER_MAX) {
		unsigned i = next++ % ROLES_CACHE;
		snprintf(cache[i].user, sizeof(cache[i].user), "%s", user);
		cache[i].roles = roles;
		cache[i].at_ms = now;
	}
	pthread_mutex_unlock(&mu);
	return roles;
}

static unsigned
roles_lookup(const struct webconf *c, const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = 256;
	unsigned roles = 0;

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		return 0; /* unknown, or in more groups than we look at: no role */
	for (unsigned r = 0; r < WEB_ROLES; r++)
		for (size_t i = 0; i < c->nroles[r]; i++) {
			struct group gr, *gres = NULL;
			char gbuf[4096];
			if (getgrnam_r(c->roles[r][i], &gr, gbuf, sizeof(gbuf), &gres) != 0 ||
			    gres == NULL)
				continue;
			for (int k = 0; k < ng; k++)
				if (groups[k] == gr.gr_gid)
					roles |= 1u << r;
		}
	return roles;
}

struct conv_ctx {
	const char *user, *password;
};

/* PAM asks; we answer with the name and the password, and nothing else. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct conv_ctx *c = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		const char *answer = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF: answer = c->password; break;
		case PAM_PROMPT_ECHO_ON: answer = c->user; break;
		default: break; /* PAM_ERROR_MSG, PAM_TEXT_INFO: nothing to say */
		}
		if (answer != NULL && (r[i].resp = strdup(answer)) == NULL) {
			for (int k = 0; k < i; k++) {
				if (r[k].resp != NULL)
					sodium_memzero(r[k].resp, strlen(r[k].resp));
				free(r[k].resp);
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* See web.h. */
bool
web_pam_check(const char *service, const char *user, const char *password, char *why, size_t wn)
{
	/* Modules are not all thread-safe (crypt, their state): one check at a time. */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct conv_ctx cc = {user, password};
	struct pam_conv pc = {conv, &cc};
	pam_handle_t *ph = NULL;
	int rc;

	pthread_mutex_lock(&mu);
	rc = pam_start(service, user, &pc, &ph);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	/* Said to the log, not to the browser: which of the two failed. */
	snprintf(why, wn, "%s", ph != NULL ? pam_strerror(ph, rc) : "pam_start failed");
	if (ph != NULL)
		pam_end(ph, rc);
	pthread_mutex_unlock(&mu);
	return rc == PAM_SUCCESS;
}

/* See web.h. */
int
web_pem_pin(const char *path, uint8_t out[32], char *why, size_t wn)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	gnutls_datum_t pem, der = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	struct diag d;
	int rc = -1;

	diag_init(&d);
	if (fileio_read(path, 1024 * 1024, 0, &buf, &len, &d) != 0) {
		snprintf(why, wn, "%s", d.n > 0 ? d.lines[0] : path);
		goto out;
	}
	pem.data = buf;
	pem.size = (unsigned)len;
	if (gnutls_x509_crt_init(&crt) != 0 ||
	    gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) != 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) != 0) {
		snprintf(why, wn, "%s: not a PEM certificate", path);
		goto out;
	}
	crypto_hash_sha256(out, der.data, der.size);
	rc = 0;
out:
	gnutls_free(der.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	fileio_free(buf, len, 0);
	diag_clear(&d);
	return rc;
}

/* See web.h. */
void
web_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
	       enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(struct conn_auth));
	else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static int client_system(struct web *w, struct MHD_Connection *conn, char *why, size_t wn);

/* See web.h. */
int
web_client_system(struct web *w, struct MHD_Connection *conn, char *why, size_t wn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_auth *ca = ci != NULL ? ci->socket_context : NULL;

	if (ca == NULL)
		return client_system(w, conn, why, wn);
	if (!ca->judged) {
		ca->system = client_system(w, conn, ca->why, sizeof(ca->why));
		ca->judged = true;
	}
	snprintf(why, wn, "%s", ca->why);
	return ca->system;
}

static int
client_system(struct web *w, struct MHD_Connection *conn, char *why, size_t wn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned n = 0, status = 0;
	uint8_t pin[32];

	if (ci == NULL || ci->tls_session == NULL)
		return -1;
	s = (gnutls_session_t)ci->tls_session;
	if ((certs = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0)
		return -1;
	if (w->conf->client_ca == NULL) {
		snprintf(why, wn, "no client certificates are accepted here (tls client_ca)");
		return -2;
	}
	if (gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0) {
		gnutls_datum_t txt = {NULL, 0};
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
		snprintf(why, wn, "the client certificate does not verify: %s",
			 txt.data != NULL ? (const char *)txt.data : "unknown");
		gnutls_free(txt.data);
		return -2;
	}
	crypto_hash_sha256(pin, certs[0].data, certs[0].size);
	for (size_t i = 0; i < w->conf->nsystems; i++)
		if (sodium_memcmp(pin, w->pins[i], sizeof(pin)) == 0)
			return (int)i;
	snprintf(why, wn, "the client certificate is not one of piugw-web.yaml systems");
	return -2;
}
