/*
 * testutil.h: helpers shared by the unit tests.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_TESTUTIL_H
#define PIUGW_TESTUTIL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_rmtree(). */
char *tu_tmpdir(void);

/* Remove a directory tree made by tu_tmpdir() and free the path. */
void tu_rmtree(char *dir);

/* Decode hex into a new buffer (asserts on bad hex); *lenp its length. */
uint8_t *tu_unhex(const char *hex, size_t *lenp);

/* Decode hex of exactly n bytes into out (asserts). */
void tu_unhex_into(uint8_t *out, size_t n, const char *hex);

/* The string member of a JSON object (asserts that it exists). */
const char *tu_json_str(const json_t *obj, const char *key);

/* Load tests/vectors/NAME as JSON (asserts). */
json_t *tu_load_vectors(const char *name);

/* Write len bytes to path, creating it with mode. */
void tu_write_file(const char *path, const void *buf, size_t len, unsigned mode);

/* Concatenate two path parts into a new string. */
char *tu_path(const char *dir, const char *name);

/*
 * Where a test's traveller store is: a new SQLite file in dir, or, with
 * PIUGW_TEST_STORE_PG set to a libpq connection string (the private
 * server of deploy/examples/pgcluster), "postgresql:CONNINFO" with that database
 * emptied first. tu_store_pg(): which of the two.
 */
char *tu_store(const char *dir);
const char *tu_store_pg(void);

struct diag;

/* True if a diagnostic of d contains needle. */
bool tu_diag_has(const struct diag *d, const char *needle);

/* Print every diagnostic of d (to explain a failure). */
void tu_diag_dump(const struct diag *d);

/* Initialise libsodium once (asserts). */
void tu_sodium_init(void);

struct store;
struct import_stats;
/*
 * Import fixture dir/name (format: enum import_format) into s at now_ms,
 * failing the test if the store fails; rejections go to d.
 */
void tu_import_fixture(struct store *s, int format, const char *dir, const char *name,
		       int64_t now_ms, struct import_stats *st, struct diag *d);

#endif /* PIUGW_TESTUTIL_H */
