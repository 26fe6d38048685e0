/*
 * config.c: see config.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "directory.h"
#include "fileio.h"
#include "piugw/error.h"
#include "vocab.h"
#include "yamlconf.h"

static const char *const top_keys[] = {"gateway", "directory", "agreements", "state",
				       "runtime", "local_api", "approvers", "authorisers", "auditors",
				       "delegates", "limits", "metrics", "audit",
				       "store", NULL};
static const char *const gateway_keys[] = {"id", "listen", "certificate", NULL};
static const char *const directory_keys[] = {"file", "signature", "secretariat_key", NULL};
static const char *const limits_keys[] = {"max_message_bytes", "freshness_seconds",
					  "query_deadline_seconds", "retry_interval_ms",
					  "unreachable_grace_ms",
					  "directory_expiry_warning_days", "answers_keep_days",
					  "proposals_per_day", NULL};
static const char *const metrics_keys[] = {"listen", NULL};
static const char *const audit_keys[] = {"checkpoint_records", "checkpoint_seconds",
					 "retention_days", "key_file", NULL};
static const char *const store_keys[] = {"backend", "file", "conninfo", "retention_days", NULL};

static void
u32_value(struct yconf *y, yaml_node_t *m, const char *key, uint64_t min, uint64_t max,
	  uint32_t def, uint32_t *out)
{
	yaml_node_t *v = yconf_get(y, m, key);
	uint64_t u;

	*out = def;
	if (v != NULL && yconf_uint(y, v, key, min, max, &u))
		*out = (uint32_t)u;
}

/*
 * store: the SQLite file (backend sqlite, the default), or a PostgreSQL
 * database by libpq's connection string (backend postgresql), as
 * store_open takes them ("postgresql:CONNINFO"). A password is never in
 * the file: peer or certificate authentication, or a passfile.
 */
static void
store_value(struct yconf *y, yaml_node_t *sec, struct config *c)
{
	static const struct vocab backends[] = {{"sqlite", 1}, {"postgresql", 2}, {NULL, 0}};
	yaml_node_t *b = yconf_get(y, sec, "backend"), *ci = yconf_get(y, sec, "conninfo");
	int backend = 1;
	char *conninfo, *err = NULL;
	PQconninfoOption *opts;

	if (b != NULL && !yconf_word(y, b, "store backend", backends, &backend))
		return;
	if (backend == 1) {
		if (ci != NULL)
			yconf_error(y, ci, "conninfo is for backend: postgresql (the SQLite store is a "
					   "file: store.file)");
		c->store_file = yconf_path(y, yconf_get(y, sec, "file"), "store file", c->state_dir,
					   "store.db");
		return;
	}
	if (yconf_get(y, sec, "file") != NULL)
		yconf_error(y, yconf_get(y, sec, "file"),
			    "file is for backend: sqlite (PostgreSQL is named by store.conninfo)");
	if (ci == NULL) {
		yconf_error(y, b, "backend: postgresql needs store.conninfo, libpq's connection "
				  "string (e.g. \"host=/run/postgresql dbname=piugw\")");
		return;
	}
	if ((conninfo = yconf_strdup(y, ci, "store conninfo")) == NULL)
		return;
	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		yconf_error(y, ci, "conninfo is not a libpq connection string: %.200s",
			    err != NULL ? err : "out of memory");
		PQfreemem(err);
		free(conninfo);
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			yconf_error(y, ci, "conninfo holds a password: never in piugwd.yaml; use "
					   "peer or certificate authentication, or passfile=FILE "
					   "(mode 0600, the gateway's user's)");
	PQconninfoFree(opts);
	size_t n = strlen(conninfo) + sizeof("postgresql:");
	if ((c->store_file = yconf_mem(y, malloc(n))) != NULL)
		snprintf(c->store_file, n, "postgresql:%s", conninfo);
	free(conninfo);
}

/* See config.h. */
int
config_parse(const char *text, size_t len, const char *path, struct config **outp,
	     struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	struct yconf y;
	struct config *c = NULL;
	yaml_node_t *root, *g, *v, *sec;
	char *base = NULL, *def = NULL;
	bool loaded = false;
	uint64_t u;

	*outp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL ||
	    (base = yconf_dir_of(path)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if ((ret = yconf_load(&y, text, len, path, d)) != 0)
		goto out;
	loaded = true;
	root = yconf_root(&y);
	yconf_map(&y, root, "piugwd.yaml", top_keys);

	if ((g = yconf_need(&y, root, "gateway", "piugwd.yaml")) != NULL &&
	    yconf_map(&y, g, "gateway", gateway_keys)) {
		const char *s;
		size_t l;
		if ((v = yconf_need(&y, g, "id", "gateway")) != NULL &&
		    yconf_str(&y, v, "gateway id", &s, &l)) {
			if (!keys_id_valid(s, l))
				yconf_error(&y, v, "gateway id '%.*s' is not 3 to 32 of A-Z 0-9 . _ -",
					    (int)(l > 40 ? 40 : l), s);
			else
				memcpy(c->id, s, l);
		}
		if ((v = yconf_need(&y, g, "listen", "gateway")) != NULL &&
		    (c->listen = yconf_strdup(&y, v, "listen")) != NULL &&
		    !directory_endpoint_valid(c->listen))
			yconf_error(&y, v, "listen '%.60s' is not tcp://HOST:PORT", c->listen);
		if (c->id[0] != '\0') {
			size_t n = strlen(c->id) + sizeof("certs/.cert_secret");
			if ((def = yconf_mem(&y, malloc(n))) != NULL)
				snprintf(def, n, "certs/%s.cert_secret", c->id);
		}
		c->certificate = yconf_path(&y, yconf_get(&y, g, "certificate"), "certificate",
					    base, def);
	}
	sec = yconf_get(&y, root, "directory");
	if (sec != NULL)
		yconf_map(&y, sec, "directory", directory_keys);
	c->directory = yconf_path(&y, yconf_get(&y, sec, "file"), "directory file", base,
				  "directory.yaml");
	if ((v = yconf_get(&y, sec, "signature")) != NULL) {
		c->directory_sig = yconf_path(&y, v, "directory signature", base, NULL);
	} else if (c->directory != NULL) {
		size_t n = strlen(c->directory) + sizeof(".minisig");
		if ((c->directory_sig = yconf_mem(&y, malloc(n))) != NULL)
			snprintf(c->directory_sig, n, "%s.minisig", c->directory);
	}
	c->secretariat_key = yconf_path(&y, yconf_get(&y, sec, "secretariat_key"),
					"secretariat_key", base, "secretariat.pub");
	c->agreements_dir = yconf_path(&y, yconf_get(&y, root, "agreements"), "agreements", base,
				       "agreements");
	c->state_dir = yconf_path(&y, yconf_get(&y, root, "state"), "state", base,
				  "/var/lib/piugw");
	if ((v = yconf_get(&y, root, "local_api")) != NULL) {
		if ((c->local_api = yconf_strdup(&y, v, "local_api")) != NULL &&
		    strncmp(c->local_api, "ipc://", 6) != 0)
			yconf_error(&y, v, "local_api must be ipc://PATH (access is by file "
					   "permissions)");
	}
	/*
	 * The socket, the operators' only door, lives apart from the state,
	 * which is closed to them: a folder whose group is the operators'.
	 */
	c->runtime_dir = yconf_path(&y, yconf_get(&y, root, "runtime"), "runtime", base,
				    "/run/piugw");
	if (c->local_api == NULL && c->runtime_dir != NULL) {
		size_t n = strlen(c->runtime_dir) + sizeof("ipc:///api.sock");
		if ((c->local_api = yconf_mem(&y, malloc(n))) != NULL)
			snprintf(c->local_api, n, "ipc://%s/api.sock", c->runtime_dir);
	}

	yconf_names(&y, yconf_get(&y, root, "approvers"), "approvers",
		   "leave it out to let every operator decide", false, &c->approvers,
		   &c->napprovers);
	yconf_names(&y, yconf_get(&y, root, "authorisers"), "authorisers",
		   "leave it out and nobody may authorise an unmasking", false, &c->authorisers,
		   &c->nauthorisers);
	yconf_names(&y, yconf_get(&y, root, "auditors"), "auditors",
		   "leave it out and only root and the gateway's user may", false, &c->auditors,
		   &c->nauditors);
	yconf_names(&y, yconf_get(&y, root, "delegates"), "delegates",
		   "leave it out and nobody may act for another user", true, &c->delegates,
		   &c->ndelegates);

	sec = yconf_get(&y, root, "limits");
	if (sec != NULL)
		yconf_map(&y, sec, "limits", limits_keys);
	c->max_message_bytes = 1024 * 1024;
	if ((v = yconf_get(&y, sec, "max_message_bytes")) != NULL &&
	    yconf_uint(&y, v, "max_message_bytes", 4096, CONFIG_MESSAGE_BYTES_MAX, &u))
		c->max_message_bytes = u;
	u32_value(&y, sec, "freshness_seconds", 10, 3600, 300, &c->freshness_seconds);
	u32_value(&y, sec, "query_deadline_seconds", 1, 3600, 30, &c->query_deadline_seconds);
	u32_value(&y, sec, "retry_interval_ms", 50, 60000, 1000, &c->retry_interval_ms);
	u32_value(&y, sec, "unreachable_grace_ms", 0, 60000, 2000, &c->unreachable_grace_ms);
	u32_value(&y, sec, "directory_expiry_warning_days", 0, 365, 14,
		  &c->directory_expiry_warning_days);
	u32_value(&y, sec, "answers_keep_days", 1, 36500, 30, &c->answers_keep_days);
	u32_value(&y, sec, "proposals_per_day", 1, 1000, 10, &c->proposals_per_day);
	if (c->query_deadline_seconds > c->freshness_seconds)
		yconf_error(&y, yconf_get(&y, sec, "query_deadline_seconds"),
			    "query_deadline_seconds (%u) is longer than freshness_seconds (%u): "
			    "retries would arrive stale (PROTOCOL.md section 10)",
			    c->query_deadline_seconds, c->freshness_seconds);

	if ((sec = yconf_get(&y, root, "metrics")) != NULL &&
	    yconf_map(&y, sec, "metrics", metrics_keys) &&
	    (v = yconf_need(&y, sec, "listen", "metrics")) != NULL)
		c->metrics_listen = yconf_strdup(&y, v, "metrics listen");

	sec = yconf_get(&y, root, "audit");
	if (sec != NULL)
		yconf_map(&y, sec, "audit", audit_keys);
	u32_value(&y, sec, "checkpoint_records", 1, 1000000, 1000, &c->audit_checkpoint_records);
	u32_value(&y, sec, "checkpoint_seconds", 1, 86400, 60, &c->audit_checkpoint_seconds);
	u32_value(&y, sec, "retention_days", 1, 36500, 1826, &c->audit_retention_days);
	c->audit_key_file = yconf_path(&y, yconf_get(&y, sec, "key_file"), "audit key file",
				       c->state_dir, "audit.key");

	sec = yconf_get(&y, root, "store");
	if (sec != NULL)
		yconf_map(&y, sec, "store", store_keys);
	store_value(&y, sec, c);
	u32_value(&y, sec, "retention_days", 1, 36500, 1826, &c->store_retention_days);

	if ((ret = yconf_status(&y)) != 0)
		goto out;
	if (c->certificate == NULL || c->directory == NULL || c->directory_sig == NULL ||
	    c->secretariat_key == NULL || c->agreements_dir == NULL || c->state_dir == NULL ||
	    c->runtime_dir == NULL || c->local_api == NULL || c->store_file == NULL ||
	    c->audit_key_file == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	*outp = c;
	c = NULL;
	ret = 0;
out:
	if (loaded)
		yconf_free(&y);
	free(base);
	free(def);
	config_free(&c);
	return ret;
}

/* See config.h. */
int
config_load(const char *path, struct config **outp, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	*outp = NULL;
	if ((ret = fileio_read(path, YCONF_FILE_MAX, 0, &buf, &len, d)) != 0)
		return ret;
	ret = config_parse((const char *)buf, len, path, outp, d);
	fileio_free(buf, len, 0);
	return ret;
}

/* See config.h. */
void
config_free(struct config **cp)
{
	struct config *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	free(c->path);
	free(c->listen);
	free(c->certificate);
	free(c->directory);
	free(c->directory_sig);
	free(c->secretariat_key);
	free(c->agreements_dir);
	free(c->state_dir);
	free(c->runtime_dir);
	free(c->local_api);
	free(c->metrics_listen);
	free(c->store_file);
	free(c->audit_key_file);
	for (size_t i = 0; i < c->napprovers; i++)
		free(c->approvers[i]);
	free(c->approvers);
	for (size_t i = 0; i < c->nauthorisers; i++)
		free(c->authorisers[i]);
	free(c->authorisers);
	for (size_t i = 0; i < c->nauditors; i++)
		free(c->auditors[i]);
	free(c->auditors);
	for (size_t i = 0; i < c->ndelegates; i++)
		free(c->delegates[i]);
	free(c->delegates);
	free(c);
	*cp = NULL;
}
