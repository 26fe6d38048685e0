/*
 * testutil.c: see testutil.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "diag.h"
#include "fileio.h"
#include "import.h"
#include "testutil.h"

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	assert_true(asprintf(&path, "%s/piugw-test-XXXXXX", base) > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

uint8_t *
tu_unhex(const char *hex, size_t *lenp)
{
	size_t n = strlen(hex) / 2, bin_len = 0;
	uint8_t *buf = malloc(n == 0 ? 1 : n);

	assert_non_null(buf);
	assert_int_equal(strlen(hex) % 2, 0);
	assert_int_equal(sodium_hex2bin(buf, n, hex, strlen(hex), NULL, &bin_len, NULL), 0);
	assert_int_equal(bin_len, n);
	*lenp = n;
	return buf;
}

void
tu_unhex_into(uint8_t *out, size_t n, const char *hex)
{
	size_t len = 0;
	uint8_t *buf = tu_unhex(hex, &len);

	assert_int_equal(len, n);
	memcpy(out, buf, n);
	free(buf);
}

const char *
tu_json_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL || !json_is_string(v))
		fail_msg("vector is missing string '%s'", key);
	return json_string_value(v);
}

json_t *
tu_load_vectors(const char *name)
{
	char *path = tu_path(PIUGW_VECTORS_DIR, name);
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);

	if (root == NULL)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	free(path);
	return root;
}

void
tu_write_file(const char *path, const void *buf, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, (mode_t)mode), 0);
	close(fd);
}

char *
tu_path(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

const char *
tu_store_pg(void)
{
	const char *c = getenv("PIUGW_TEST_STORE_PG");

	return c != NULL && c[0] != '\0' ? c : NULL;
}

char *
tu_store(const char *dir)
{
	const char *conninfo = tu_store_pg();
	PGconn *c;
	PGresult *r;
	char *p = NULL;

	if (conninfo == NULL)
		return tu_path(dir, "store.db");
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("PIUGW_TEST_STORE_PG: %s", PQerrorMessage(c));
	r = PQexec(c, "SET client_min_messages = warning;"
		      "DROP TABLE IF EXISTS selector, traveller, store_meta CASCADE");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("emptying the test database: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	assert_true(asprintf(&p, "postgresql:%s", conninfo) > 0);
	return p;
}

void
tu_sodium_init(void)
{
	assert_true(sodium_init() >= 0);
}

bool
tu_diag_has(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], needle) != NULL)
			return true;
	return false;
}

void
tu_diag_dump(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

void
tu_import_fixture(struct store *s, int format, const char *dir, const char *name, int64_t now_ms,
		  struct import_stats *st, struct diag *d)
{
	char *path = tu_path(dir, name);
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(fileio_read(path, 1 << 20, 0, &buf, &len, NULL), 0);
	assert_int_equal(import_text(s, (enum import_format)format, (char *)buf, len, name, now_ms,
				     st, d, NULL, NULL),
			 0);
	fileio_free(buf, len, 0);
	free(path);
}
