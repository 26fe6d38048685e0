/*
 * directory.c: see directory.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "directory.h"
#include "encoding.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"
#include "yamlconf.h"

#define SERIAL_FILE "directory.serial"

static const char *const top_keys[] = {"serial", "expires", "members", NULL};
static const char *const member_keys[] = {"id", "state", "name", "endpoint", "transport_key",
					  "signing_key", "urgent_contact", NULL};

/* See directory.h. */
bool
directory_endpoint_valid(const char *endpoint)
{
	const char *host, *colon;
	uint64_t port;

	if (strncmp(endpoint, "tcp://", 6) != 0)
		return false;
	host = endpoint + 6;
	colon = strrchr(host, ':');
	if (colon == NULL || colon == host)
		return false;
	for (const char *p = host; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-:[]", *p) != NULL))
			return false;
	return num_parse_u64(colon + 1, strlen(colon + 1), 1, 65535, &port);
}

static void
read_key(struct yconf *y, yaml_node_t *n, const char *what, uint8_t out[32])
{
	const char *s;
	size_t len;

	if (!yconf_str(y, n, what, &s, &len))
		return;
	if (len != Z85_LEN(32) || z85_decode(out, 32, s, len) != 0)
		yconf_error(y, n, "%s is not a Z85 key of 40 characters (copy it from the member's "
				  ".cert file, in quotes)", what);
}

static void
member_free(struct directory_member *m)
{
	free(m->name);
	free(m->endpoint);
	free(m->urgent_contact);
}

static void
read_member(struct yconf *y, yaml_node_t *n, struct directory_member *m)
{
	yaml_node_t *v;
	const char *s;
	size_t len;

	memset(m, 0, sizeof(*m));
	m->line = yconf_line(n);
	if (!yconf_map(y, n, "a member", member_keys))
		return;
	if ((v = yconf_need(y, n, "id", "the member")) != NULL && yconf_str(y, v, "id", &s, &len)) {
		if (!keys_id_valid(s, len))
			yconf_error(y, v, "member id '%.*s' is not a gateway id (3 to 32 of A-Z "
					  "0-9 . _ -)", (int)(len > 40 ? 40 : len), s);
		else
			memcpy(m->keys.id, s, len);
	}
	if ((v = yconf_need(y, n, "state", "the member")) != NULL &&
	    yconf_str(y, v, "state", &s, &len)) {
		if (len != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
			yconf_error(y, v, "state '%.*s' is not an ISO 3166-1 alpha-2 code such as XA",
				    (int)(len > 10 ? 10 : len), s);
		else
			memcpy(m->state, s, 2);
	}
	if ((v = yconf_need(y, n, "name", "the member")) != NULL)
		m->name = yconf_strdup(y, v, "name");
	if ((v = yconf_need(y, n, "endpoint", "the member")) != NULL &&
	    (m->endpoint = yconf_strdup(y, v, "endpoint")) != NULL &&
	    !directory_endpoint_valid(m->endpoint))
		yconf_error(y, v, "endpoint '%.60s' is not tcp://HOST:PORT", m->endpoint);
	if ((v = yconf_need(y, n, "transport_key", "the member")) != NULL)
		read_key(y, v, "transport_key", m->keys.transport_pk);
	if ((v = yconf_need(y, n, "signing_key", "the member")) != NULL)
		read_key(y, v, "signing_key", m->keys.sign_pk);
	if ((v = yconf_need(y, n, "urgent_contact", "the member")) != NULL)
		m->urgent_contact = yconf_strdup(y, v, "urgent_contact");
}

/* See directory.h. */
int
directory_parse(const char *text, size_t len, const char *label, struct directory **outp,
		struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	struct yconf y;
	struct directory *dir = NULL;
	yaml_node_t *root, *v;
	bool loaded = false;

	*outp = NULL;
	if ((dir = calloc(1, sizeof(*dir))) == NULL)
		return PIUGW_ENOMEM;
	if ((ret = yconf_load(&y, text, len, label, d)) != 0)
		goto out;
	loaded = true;
	root = yconf_root(&y);
	yconf_map(&y, root, "the directory", top_keys);
	if ((v = yconf_need(&y, root, "serial", "the directory")) != NULL)
		yconf_uint(&y, v, "serial", 1, UINT64_MAX >> 1, &dir->serial);
	if ((v = yconf_need(&y, root, "expires", "the directory")) != NULL)
		yconf_date(&y, v, "expires", &dir->expires_day);
	if ((v = yconf_need(&y, root, "members", "the directory")) != NULL &&
	    yconf_seq(&y, v, "members")) {
		size_t n = yconf_seq_len(v);
		if (n == 0 || n > DIRECTORY_MEMBERS_MAX)
			yconf_error(&y, v, "members must list 1 to %d gateways", DIRECTORY_MEMBERS_MAX);
		if (n > DIRECTORY_MEMBERS_MAX)
			n = DIRECTORY_MEMBERS_MAX;
		if (n > 0 && (dir->members = calloc(n, sizeof(*dir->members))) == NULL) {
			ret = PIUGW_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *mn = yconf_seq_at(&y, v, i);
			struct directory_member *m = &dir->members[dir->n++];
			read_member(&y, mn, m);
			/* One id, one transport key, one signing key per member. */
			for (size_t j = 0; j + 1 < dir->n; j++) {
				const struct directory_member *o = &dir->members[j];
				if (m->keys.id[0] != '\0' && strcmp(o->keys.id, m->keys.id) == 0)
					yconf_error(&y, mn, "member %s is listed twice (first at line %u)",
						    m->keys.id, o->line);
				else if (!sodium_is_zero(m->keys.transport_pk, 32) &&
					 sodium_memcmp(o->keys.transport_pk, m->keys.transport_pk,
						       32) == 0)
					yconf_error(&y, mn, "member %s has the transport key of %s "
							    "(line %u)", m->keys.id, o->keys.id, o->line);
				else if (!sodium_is_zero(m->keys.sign_pk, 32) &&
					 sodium_memcmp(o->keys.sign_pk, m->keys.sign_pk, 32) == 0)
					yconf_error(&y, mn, "member %s has the signing key of %s "
							    "(line %u)", m->keys.id, o->keys.id, o->line);
			}
		}
	}
	if ((ret = yconf_status(&y)) != 0)
		goto out;
	crypto_generichash(dir->hash, sizeof(dir->hash), (const uint8_t *)text, len, NULL, 0);
	*outp = dir;
	dir = NULL;
	ret = 0;
out:
	if (loaded)
		yconf_free(&y);
	directory_free(&dir);
	return ret;
}

/* See directory.h. */
int
directory_load(const char *path, const char *sig_path, const struct minisign_pubkey *anchor,
	       struct directory **outp, struct diag *d)
{
	uint8_t *buf = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	int ret;

	*outp = NULL;
	if ((ret = fileio_read(path, YCONF_FILE_MAX, 0, &buf, &len, d)) != 0)
		goto out;
	if ((ret = fileio_read(sig_path, MINISIGN_FILE_MAX, 0, &sig, &sig_len, d)) != 0) {
		if (ret == PIUGW_ENOENT)
			diag_add(d, "%s: the directory must be signed by the secretariat "
				    "(minisign -Sm %s, or piugw directory sign)", sig_path, path);
		goto out;
	}
	/* Verify the bytes we will parse, not the file as it may be later. */
	if ((ret = minisign_verify(anchor, buf, len, (const char *)sig, sig_len, sig_path, NULL,
				   d)) != 0)
		goto out;
	ret = directory_parse((const char *)buf, len, path, outp, d);
out:
	fileio_free(buf, len, 0);
	fileio_free(sig, sig_len, 0);
	return ret;
}

/* See directory.h. */
void
directory_free(struct directory **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	for (size_t i = 0; i < (*dp)->n; i++)
		member_free(&(*dp)->members[i]);
	free((*dp)->members);
	free(*dp);
	*dp = NULL;
}

/* See directory.h. */
const struct directory_member *
directory_member(const struct directory *dir, const char *id)
{
	for (size_t i = 0; i < dir->n; i++)
		if (strcmp(dir->members[i].keys.id, id) == 0)
			return &dir->members[i];
	return NULL;
}

/* See directory.h. */
bool
directory_expired(const struct directory *dir, int32_t today)
{
	return today > dir->expires_day;
}

static char *
serial_path(const char *state_dir)
{
	size_t n = strlen(state_dir) + sizeof("/" SERIAL_FILE) + 8;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", state_dir, SERIAL_FILE);
	return p;
}

/* See directory.h. */
int
directory_serial_check(const char *state_dir, uint64_t serial, uint64_t *highestp,
		       struct diag *d)
{
	char *path = serial_path(state_dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t highest = 0;
	int ret;

	*highestp = 0;
	if (path == NULL)
		return PIUGW_ENOMEM;
	ret = fileio_read(path, 64, 0, &buf, &len, NULL);
	if (ret == PIUGW_ENOENT) {
		ret = 0; /* first directory ever */
		goto out;
	}
	if (ret != 0) {
		ret = fileio_read(path, 64, 0, &buf, &len, d);
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (!num_parse_u64((const char *)buf, len, 0, UINT64_MAX, &highest)) {
		diag_add(d, "%s: damaged (not a number); it records the highest directory serial "
			    "accepted: restore it, or remove it to accept any serial once", path);
		ret = PIUGW_ECONFIG;
		goto out;
	}
	*highestp = highest;
	if (serial < highest) {
		diag_add(d, "directory serial %ju is lower than %ju, already accepted: refusing an "
			    "older directory (rollback); install the current one from the "
			    "secretariat", (uintmax_t)serial, (uintmax_t)highest);
		ret = PIUGW_EROLLBACK;
		goto out;
	}
	ret = 0;
out:
	fileio_free(buf, len, 0);
	free(path);
	return ret;
}

/* See directory.h. */
int
directory_serial_store(const char *state_dir, uint64_t serial, struct diag *d)
{
	char *path = NULL, text[32];
	uint64_t highest = 0;
	int ret;

	if ((ret = directory_serial_check(state_dir, serial, &highest, d)) != 0)
		return ret;
	if (serial == highest)
		return 0;
	if ((path = serial_path(state_dir)) == NULL)
		return PIUGW_ENOMEM;
	snprintf(text, sizeof(text), "%ju\n", (uintmax_t)serial);
	/* Written aside, made durable, then renamed over: never a torn serial. */
	ret = fileio_replace(path, text, strlen(text), 0600, d);
	free(path);
	return ret;
}

/* ---- writing one ---- */

/* See directory.h. */
int
directory_format(const struct directory *dir, char **outp, size_t *lenp)
{
	struct yconf_out o;
	yaml_emitter_t e;
	char serial[24], expires[11];
	int rc;

	*outp = NULL;
	*lenp = 0;
	snprintf(serial, sizeof(serial), "%ju", (uintmax_t)dir->serial);
	num_format_date(dir->expires_day, expires);
	if ((rc = yconf_emit_begin(&e, &o)) != 0)
		return rc;
	rc = yconf_emit_block(&e, true, true);
	if (rc == 0)
		rc = yconf_emit_pair(&e, "serial", serial, false);
	if (rc == 0)
		rc = yconf_emit_pair(&e, "expires", expires, false);
	if (rc == 0)
		rc = yconf_emit_scalar(&e, "members", false);
	if (rc == 0)
		rc = yconf_emit_block(&e, false, true);
	for (size_t i = 0; i < dir->n && rc == 0; i++) {
		const struct directory_member *m = &dir->members[i];
		char tk[41], sk[41], st[3];
		/* Z85 uses YAML's special characters: always quoted. */
		z85_encode(tk, sizeof(tk), m->keys.transport_pk, 32);
		z85_encode(sk, sizeof(sk), m->keys.sign_pk, 32);
		memcpy(st, m->state, 2);
		st[2] = '\0';
		rc = yconf_emit_block(&e, true, true);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "id", m->keys.id, false);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "state", st, false);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "name", m->name, true);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "endpoint", m->endpoint, false);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "transport_key", tk, true);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "signing_key", sk, true);
		if (rc == 0)
			rc = yconf_emit_pair(&e, "urgent_contact", m->urgent_contact, true);
		if (rc == 0)
			rc = yconf_emit_block(&e, true, false);
	}
	if (rc == 0)
		rc = yconf_emit_block(&e, false, false);
	if (rc == 0)
		rc = yconf_emit_block(&e, true, false);
	return yconf_emit_end(&e, &o, rc, outp, lenp);
}
