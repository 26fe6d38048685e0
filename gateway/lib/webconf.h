/*
 * webconf.h: piugw-web.yaml, the configuration of the web process (the
 * HTTPS/JSON API and the console). It names no key of the gateway: only
 * the web server's own TLS certificate, the local API it asks, and who may
 * do what.
 *
 *   listen: 127.0.0.1:8443                 # default; HOST:PORT ([::1]:8443 for IPv6)
 *   local_api: ipc:///run/piugw/api.sock   # default
 *   tls:
 *     certificate: web.crt                 # required: PEM, the server's chain
 *     key: web.key                         # required: PEM, readable by piugw-web only
 *     client_ca: clients-ca.crt            # required with systems: who issues their certificates
 *   pam_service: piugw-web                 # default: /etc/pam.d/piugw-web
 *   roles:                                 # groups of this machine; each default is its name
 *     operators: [piugw-operators]         # ask, collect their own results, alerts, lookouts
 *     approvers: [piugw-approvers]         # the approval queue
 *     authorisers: [piugw-authorisers]     # unmasking requests in the queue
 *     dpo: [piugw-dpo]                     # audit search by subject, the oversight report
 *     admins: [piugw-admins]               # status, partners, agreements (read only)
 *   sessions:
 *     idle_minutes: 15                     # signed out after this long without a request
 *     max_hours: 12                        # and after this long in any case
 *   systems:                               # national systems, by client certificate
 *     - name: gotravel
 *       certificate: gotravel.crt          # pinned: only this certificate (SHA-256)
 *       account: piugw-sys-gotravel        # the user whose groups give its roles
 *
 * Relative paths are taken from the directory that holds the file.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_WEBCONF_H
#define PIUGW_WEBCONF_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum webconf_role {
	WEB_ROLE_OPERATOR = 1u << 0,
	WEB_ROLE_APPROVER = 1u << 1,
	WEB_ROLE_AUTHORISER = 1u << 2,
	WEB_ROLE_DPO = 1u << 3,
	WEB_ROLE_ADMIN = 1u << 4,
};
#define WEB_ROLES 5

struct webconf_system {
	char *name;        /* as recorded: "system NAME, user U" */
	char *certificate; /* path of its PEM certificate */
	char *account;     /* the local user it acts as */
};

struct webconf {
	char *path;
	char *listen_host; /* "127.0.0.1", "::1" */
	uint16_t listen_port;
	char *local_api;
	char *tls_certificate;
	char *tls_key;
	char *client_ca;   /* NULL: no system may sign in */
	char *pam_service;
	char **roles[WEB_ROLES]; /* group names per role, in enum order */
	size_t nroles[WEB_ROLES];
	uint32_t idle_minutes;
	uint32_t max_hours;
	struct webconf_system *systems;
	size_t nsystems;
};

/* The role's name ("operators") for bit r, or NULL. */
const char *webconf_role_name(unsigned r);

/*
 * Parse text (the file at path). Returns 0 with *outp, or PIUGW_ECONFIG with
 * every problem in d as "path:line:col: ...".
 */
int webconf_parse(const char *text, size_t len, const char *path, struct webconf **outp,
		  struct diag *d);
/* Read and parse the file at path. */
int webconf_load(const char *path, struct webconf **outp, struct diag *d);
void webconf_free(struct webconf **cp);

#endif /* PIUGW_WEBCONF_H */
