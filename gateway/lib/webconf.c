/*
 * webconf.c: reading piugw-web.yaml strictly (see webconf.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "piugw/error.h"
#include "webconf.h"
#include "yamlconf.h"

static const char *const top_keys[] = {"listen", "local_api", "tls", "pam_service", "roles",
				       "sessions", "systems", NULL};
static const char *const tls_keys[] = {"certificate", "key", "client_ca", NULL};
static const char *const role_keys[] = {"operators", "approvers", "authorisers", "dpo",
					"admins", NULL};
static const char *const session_keys[] = {"idle_minutes", "max_hours", NULL};
static const char *const system_keys[] = {"name", "certificate", "account", NULL};

/* See webconf.h. */
const char *
webconf_role_name(unsigned r)
{
	for (unsigned i = 0; i < WEB_ROLES; i++)
		if (r == 1u << i)
			return role_keys[i];
	return NULL;
}

/* "HOST:PORT", "[V6]:PORT": loopback by default, any address the administrator names. */
static void
listen_value(struct yconf *y, yaml_node_t *v, struct webconf *c)
{
	const char *s, *colon;
	size_t l, hl;
	char host[64];
	unsigned long port;
	char *end;

	if (v == NULL) {
		c->listen_host = yconf_mem(y, strdup("127.0.0.1"));
		c->listen_port = 8443;
		return;
	}
	if (!yconf_str(y, v, "listen", &s, &l))
		return;
	if (l > 0 && s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':') {
			yconf_error(y, v, "listen '%.64s' is not [IPV6]:PORT", s);
			return;
		}
		hl = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			yconf_error(y, v, "listen '%.64s' is not HOST:PORT (e.g. 127.0.0.1:8443)", s);
			return;
		}
		hl = (size_t)(colon - s);
	}
	port = strtoul(colon + 1, &end, 10);
	if (hl == 0 || hl >= sizeof(host) || *end != '\0' || port == 0 || port > 65535 ||
	    colon[1] == '\0') {
		yconf_error(y, v, "listen '%.64s' is not HOST:PORT with a port of 1 to 65535", s);
		return;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	c->listen_host = yconf_mem(y, strdup(host));
	c->listen_port = (uint16_t)port;
}

static void
systems_value(struct yconf *y, yaml_node_t *v, const char *base, struct webconf *c)
{
	size_t n;

	if (v == NULL || !yconf_seq(y, v, "systems"))
		return;
	n = yconf_seq_len(v);
	if (n > 64) {
		yconf_error(y, v, "systems lists at most 64 national systems");
		return;
	}
	if (n == 0 || (c->systems = yconf_mem(y, calloc(n, sizeof(*c->systems)))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = yconf_seq_at(y, v, i), *f;
		struct webconf_system *s = &c->systems[c->nsystems];
		const char *name;
		size_t l;
		bool ok = true;

		if (it == NULL || !yconf_map(y, it, "a system", system_keys))
			continue;
		if ((f = yconf_need(y, it, "name", "a system")) != NULL &&
		    yconf_str(y, f, "name", &name, &l)) {
			for (size_t k = 0; k < l; k++)
				ok = ok && (name[k] == '-' || name[k] == '_' || name[k] == '.' ||
					    (name[k] >= 'a' && name[k] <= 'z') ||
					    (name[k] >= 'A' && name[k] <= 'Z') ||
					    (name[k] >= '0' && name[k] <= '9'));
			if (!ok || l == 0 || l > 32)
				yconf_error(y, f, "system name '%.40s' is not 1 to 32 of A-Z a-z 0-9 . _ -",
					    name);
			for (size_t k = 0; ok && k < c->nsystems; k++)
				if (strcmp(c->systems[k].name, name) == 0) {
					yconf_error(y, f, "system '%s' is listed twice", name);
					ok = false;
				}
			if (ok && l > 0 && l <= 32)
				s->name = yconf_mem(y, strndup(name, l));
		}
		if ((f = yconf_need(y, it, "certificate", "a system")) != NULL)
			s->certificate = yconf_path(y, f, "system certificate", base, NULL);
		if ((f = yconf_need(y, it, "account", "a system")) != NULL) {
			if (yconf_str(y, f, "account", &name, &l) && l > 0 && l <= 64 &&
			    strlen(name) == l && memchr(name, ':', l) == NULL) {
				s->account = yconf_mem(y, strndup(name, l));
			} else {
				yconf_error(y, f, "account is the name of a user of this machine");
			}
		}
		c->nsystems++;
	}
}

/* See webconf.h. */
int
webconf_parse(const char *text, size_t len, const char *path, struct webconf **outp,
	      struct diag *d)
{
	static const char *const defaults[WEB_ROLES] = {"piugw-operators", "piugw-approvers",
							"piugw-authorisers", "piugw-dpo",
							"piugw-admins"};
	struct webconf *c = NULL;
	struct yconf y;
	yaml_node_t *root, *sec, *v;
	char *base = NULL;
	uint64_t u;
	int ret;

	*outp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL ||
	    (base = yconf_dir_of(path)) == NULL) {
		webconf_free(&c);
		return PIUGW_ENOMEM;
	}
	if ((ret = yconf_load(&y, text, len, path, d)) != 0) {
		free(base);
		webconf_free(&c);
		return ret;
	}
	root = yconf_root(&y);
	yconf_map(&y, root, "piugw-web.yaml", top_keys);
	listen_value(&y, yconf_get(&y, root, "listen"), c);
	if ((v = yconf_get(&y, root, "local_api")) != NULL) {
		if ((c->local_api = yconf_strdup(&y, v, "local_api")) != NULL &&
		    strncmp(c->local_api, "ipc://", 6) != 0)
			yconf_error(&y, v, "local_api '%.64s' is not ipc://PATH (piugwd.yaml local_api)",
				    c->local_api);
	} else {
		c->local_api = yconf_mem(&y, strdup("ipc:///run/piugw/api.sock"));
	}
	if ((sec = yconf_need(&y, root, "tls", "piugw-web.yaml")) != NULL &&
	    yconf_map(&y, sec, "tls", tls_keys)) {
		if ((v = yconf_need(&y, sec, "certificate", "tls")) != NULL)
			c->tls_certificate = yconf_path(&y, v, "tls certificate", base, NULL);
		if ((v = yconf_need(&y, sec, "key", "tls")) != NULL)
			c->tls_key = yconf_path(&y, v, "tls key", base, NULL);
		if ((v = yconf_get(&y, sec, "client_ca")) != NULL)
			c->client_ca = yconf_path(&y, v, "tls client_ca", base, NULL);
	}
	if ((v = yconf_get(&y, root, "pam_service")) != NULL) {
		const char *s;
		size_t l;
		if (yconf_str(&y, v, "pam_service", &s, &l)) {
			if (l == 0 || l > 64 || strchr(s, '/') != NULL || s[0] == '.')
				yconf_error(&y, v, "pam_service '%.64s' is not a file name of /etc/pam.d",
					    s);
			else
				c->pam_service = yconf_mem(&y, strndup(s, l));
		}
	} else {
		c->pam_service = yconf_mem(&y, strdup("piugw-web"));
	}
	sec = yconf_get(&y, root, "roles");
	if (sec != NULL)
		yconf_map(&y, sec, "roles", role_keys);
	for (unsigned r = 0; r < WEB_ROLES; r++) {
		v = sec != NULL ? yconf_get(&y, sec, role_keys[r]) : NULL;
		if (v != NULL) {
			yconf_names(&y, v, role_keys[r], "leave it out for the group of its default name",
				    false, &c->roles[r], &c->nroles[r]);
		} else if ((c->roles[r] = yconf_mem(&y, calloc(1, sizeof(char *)))) != NULL &&
			   (c->roles[r][0] = yconf_mem(&y, strdup(defaults[r]))) != NULL) {
			c->nroles[r] = 1;
		}
	}
	sec = yconf_get(&y, root, "sessions");
	if (sec != NULL)
		yconf_map(&y, sec, "sessions", session_keys);
	c->idle_minutes = 15;
	c->max_hours = 12;
	if ((v = yconf_get(&y, sec, "idle_minutes")) != NULL &&
	    yconf_uint(&y, v, "idle_minutes", 1, 480, &u))
		c->idle_minutes = (uint32_t)u;
	if ((v = yconf_get(&y, sec, "max_hours")) != NULL &&
	    yconf_uint(&y, v, "max_hours", 1, 24, &u))
		c->max_hours = (uint32_t)u;
	systems_value(&y, yconf_get(&y, root, "systems"), base, c);
	if (c->nsystems > 0 && c->client_ca == NULL)
		yconf_error(&y, yconf_get(&y, root, "systems"),
			    "systems sign in with client certificates: name their issuer in "
			    "tls client_ca");
	ret = yconf_status(&y);
	yconf_free(&y);
	free(base);
	if (ret != 0)
		webconf_free(&c);
	*outp = c;
	return ret;
}

/* See webconf.h. */
int
webconf_load(const char *path, struct webconf **outp, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	*outp = NULL;
	if ((ret = fileio_read(path, YCONF_FILE_MAX, 0, &buf, &len, d)) != 0)
		return ret;
	ret = webconf_parse((const char *)buf, len, path, outp, d);
	fileio_free(buf, len, 0);
	return ret;
}

/* See webconf.h. */
void
webconf_free(struct webconf **cp)
{
	struct webconf *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	free(c->path);
	free(c->listen_host);
	free(c->local_api);
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->client_ca);
	free(c->pam_service);
	for (unsigned r = 0; r < WEB_ROLES; r++) {
		for (size_t i = 0; i < c->nroles[r]; i++)
			free(c->roles[r][i]);
		free(c->roles[r]);
	}
	for (size_t i = 0; i < c->nsystems; i++) {
		free(c->systems[i].name);
		free(c->systems[i].certificate);
		free(c->systems[i].account);
	}
	free(c->systems);
	free(c);
	*cp = NULL;
}
