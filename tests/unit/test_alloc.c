/*
 * test_alloc.c: out of memory, provoked. The library's allocations go
 * through the wrappers below (the test is linked with --wrap=malloc and
 * friends), which fail the n-th one. Each case is run with n = 1, 2, ...
 * until it runs through: every failure must come back as PIUGW_ENOMEM,
 * with nothing leaked (the sanitizer and valgrind runs check that) and
 * nothing crashed, and the run that is not failed must succeed. (A
 * diagnostic that could not be kept is dropped with the list marked
 * truncated, which the CLI shows: that failure is seen too.)
 *
 * Allocations inside other libraries (SQLite, libyaml, protobuf-c's own
 * unpacking, libsodium's guarded memory) are theirs to handle; what is
 * tested here is every malloc of ours on the paths a partner's message and
 * an operator's file take.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agreement.h"
#include "body.pb-c.h"
#include "config.h"
#include "directory.h"
#include "disclose.h"
#include "encoding.h"
#include "envelope.h"
#include "piugw/error.h"
#include "store.h"
#include "testutil.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* 0: no failure; otherwise the allocation number that fails. */
static unsigned long fail_at, calls;
static bool failed;

static bool
should_fail(void)
{
	if (fail_at == 0 || ++calls != fail_at)
		return false;
	failed = true;
	return true;
}

void *
__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return should_fail() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return should_fail() ? NULL : __real_strndup(s, n);
}

/*
 * Run fn(arg) failing its 1st, 2nd, ... allocation. fn returns the library's
 * code and cleans up after itself in every case. Returns how many
 * allocations the full run made.
 */
static unsigned long
every_allocation_fails(const char *what, int (*fn)(void *), void *arg)
{
	for (unsigned long n = 1; n < 10000; n++) {
		int rc;

		fail_at = n;
		calls = 0;
		failed = false;
		rc = fn(arg);
		fail_at = 0;
		if (!failed) {
			if (rc != 0)
				fail_msg("%s: fails (%s) with no allocation failed", what,
					 piugw_error_name(rc));
			return n - 1;
		}
		if (rc != PIUGW_ENOMEM)
			fail_msg("%s: allocation %lu failed, the call returned %s, not PIUGW_ENOMEM",
				 what, n, piugw_error_name(rc));
	}
	fail_msg("%s: more than 10000 allocations", what);
	return 0;
}

/* --- operators' files -------------------------------------------------------------- */

static const char config_text[] =
	"gateway:\n"
	"  id: XA-PIU\n"
	"  listen: tcp://127.0.0.1:7401\n"
	"  certificate: certs/XA-PIU.cert_secret\n"
	"state: state\n"
	"runtime: run\n"
	"metrics:\n"
	"  listen: 127.0.0.1:9401\n"
	"approvers: [alice, bob]\n"
	"directory:\n"
	"  file: directory.yaml\n"
	"  signature: directory.yaml.minisig\n"
	"  secretariat_key: secretariat.pub\n"
	"agreements: agreements\n"
	"store:\n"
	"  file: state/store.db\n";

static int
parse_config(void *arg)
{
	struct config *c = NULL;
	struct diag d;
	int rc;

	(void)arg;
	diag_init(&d);
	rc = config_parse(config_text, sizeof(config_text) - 1, "/etc/piugw/piugwd.yaml", &c, &d);
	if (rc != 0 && rc != PIUGW_ENOMEM)
		tu_diag_dump(&d);
	if (rc == 0 && d.truncated)
		rc = PIUGW_ENOMEM; /* a warning dropped, and said so: the failure is seen */
	config_free(&c);
	diag_clear(&d);
	return rc;
}

static void
a_configuration(void **state)
{
	(void)state;
	assert_true(every_allocation_fails("config_parse", parse_config, NULL) > 5);
}

struct text {
	char *bytes;
	size_t len;
};

static int
parse_agreement(void *arg)
{
	const struct text *t = arg;
	struct agreement *a = NULL;
	struct diag d;
	int rc;

	diag_init(&d);
	rc = agreement_parse(t->bytes, t->len, "XA-XB.yaml", &a, &d);
	if (rc != 0 && rc != PIUGW_ENOMEM)
		tu_diag_dump(&d);
	agreement_free(&a);
	diag_clear(&d);
	return rc;
}

static struct text
vector_file(const char *key)
{
	json_t *v = tu_load_vectors("envelope-v1.json");
	char *path = tu_path(PIUGW_VECTORS_DIR,
			     tu_json_str(json_object_get(v, key), "file"));
	struct text t = {0};
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	t.bytes = malloc(1 << 16);
	t.len = fread(t.bytes, 1, 1 << 16, f);
	fclose(f);
	free(path);
	json_decref(v);
	return t;
}

static void
an_agreement(void **state)
{
	(void)state;
	struct text t = vector_file("agreement");

	assert_true(every_allocation_fails("agreement_parse", parse_agreement, &t) > 0);
	free(t.bytes);
}

static int
parse_directory(void *arg)
{
	const char *text = arg;
	struct directory *dir = NULL;
	struct diag d;
	int rc;

	diag_init(&d);
	rc = directory_parse(text, strlen(text), "directory.yaml", &dir, &d);
	if (rc != 0 && rc != PIUGW_ENOMEM)
		tu_diag_dump(&d);
	directory_free(&dir);
	diag_clear(&d);
	return rc;
}

static void
a_directory(void **state)
{
	(void)state;
	char text[4096];
	size_t off;
	json_t *v = tu_load_vectors("envelope-v1.json");
	const json_t *parties = json_object_get(v, "parties");

	off = (size_t)snprintf(text, sizeof(text), "serial: 7\nexpires: 2099-12-31\nmembers:\n");
	for (size_t i = 0; i < json_array_size(parties); i++) {
		const json_t *p = json_array_get(parties, i);
		const char *id = tu_json_str(p, "gateway_id");
		uint8_t tpk[32], spk[32];
		char tz[41], sz[41];

		tu_unhex_into(tpk, 32, tu_json_str(p, "transport_public_hex"));
		tu_unhex_into(spk, 32, tu_json_str(p, "sign_public_hex"));
		assert_int_equal(z85_encode(tz, sizeof(tz), tpk, 32), 0);
		assert_int_equal(z85_encode(sz, sizeof(sz), spk, 32), 0);
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"  - id: %s\n    state: %.2s\n    name: PIU %.2s\n"
					"    endpoint: tcp://127.0.0.1:%zu\n    transport_key: \"%s\"\n"
					"    signing_key: \"%s\"\n    urgent_contact: \"+00 555 0101\"\n",
					id, id, id, 7401 + i, tz, sz);
		assert_true(off < sizeof(text));
	}
	json_decref(v);
	assert_true(every_allocation_fails("directory_parse", parse_directory, text) > 3);
}

/* --- a partner's message: sealed, then opened ------------------------------------------ */

struct pair {
	struct keys_secret *k[2];
	struct envelope_ctx *ctx[2];
	uint8_t *env;
	size_t env_len;
};

static struct envelope_header
header(void)
{
	static uint8_t mid[16] = {1, 2, 3};
	static uint8_t ahash[32] = {4, 5, 6};
	struct envelope_header h;

	memset(&h, 0, sizeof(h));
	h.version = 1;
	strcpy(h.sender, "XA-PIU");
	strcpy(h.recipient, "XB-PIU");
	h.has_message_id = true;
	memcpy(h.message_id, mid, sizeof(mid));
	h.sent_at_ms = 1811851200000LL;
	strcpy(h.agreement_id, "XA-XB-2026-001");
	h.has_agreement_hash = true;
	memcpy(h.agreement_hash, ahash, sizeof(ahash));
	return h;
}

static int
seal(void *arg)
{
	struct pair *p = arg;
	struct envelope_header h = header();
	static const uint8_t body[] = "a body of some length, as a query is";
	uint8_t *env = NULL;
	size_t len = 0;
	int rc = envelope_seal(p->ctx[0], &h, body, sizeof(body), NULL, &env, &len);

	free(env);
	return rc;
}

static int
open_envelope(void *arg)
{
	struct pair *p = arg;
	struct envelope_opened o;
	struct envelope_open_opts opts = {.conn_user_id = "XA-PIU"};
	int rc = envelope_open(p->ctx[1], p->env, p->env_len, &opts, &o);

	envelope_opened_clear(&o);
	return rc;
}

static int
new_context(void *arg)
{
	struct pair *p = arg;
	struct envelope_ctx *ctx = NULL;
	int rc;

	if ((rc = envelope_ctx_new(p->k[0], 0, &ctx)) == 0)
		rc = envelope_ctx_add_peer(ctx, keys_secret_public(p->k[1]));
	envelope_ctx_free(&ctx);
	return rc;
}

static void
a_message(void **state)
{
	(void)state;
	json_t *v = tu_load_vectors("envelope-v1.json");
	struct pair p = {0};

	for (size_t i = 0; i < 2; i++) {
		const json_t *j = json_array_get(json_object_get(v, "parties"), i);
		uint8_t tsk[32], ssk[64];

		tu_unhex_into(tsk, 32, tu_json_str(j, "transport_secret_hex"));
		tu_unhex_into(ssk, 64, tu_json_str(j, "sign_secret_hex"));
		assert_int_equal(keys_from_raw(tu_json_str(j, "gateway_id"), tsk, ssk, &p.k[i]), 0);
		sodium_memzero(tsk, sizeof(tsk));
		sodium_memzero(ssk, sizeof(ssk));
	}
	assert_string_equal(keys_secret_public(p.k[0])->id, "XA-PIU");
	every_allocation_fails("envelope_ctx_new and add_peer", new_context, &p);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(envelope_ctx_new(p.k[i], 0, &p.ctx[i]), 0);
		assert_int_equal(envelope_ctx_add_peer(p.ctx[i], keys_secret_public(p.k[1 - i])), 0);
	}
	assert_true(every_allocation_fails("envelope_seal", seal, &p) > 0);
	{
		struct envelope_header h = header();
		static const uint8_t body[] = "a body of some length, as a query is";
		assert_int_equal(envelope_seal(p.ctx[0], &h, body, sizeof(body), NULL, &p.env,
					       &p.env_len),
				 0);
	}
	assert_true(every_allocation_fails("envelope_open", open_envelope, &p) > 0);
	free(p.env);
	for (size_t i = 0; i < 2; i++) {
		envelope_ctx_free(&p.ctx[i]);
		keys_secret_free(&p.k[i]);
	}
	json_decref(v);
}

/* --- the answer: a search of the store and what the agreement discloses -------------- */

static const int64_t NOW = 1811851200000LL; /* 2027-06-01 */

static int
search_and_disclose(void *arg)
{
	struct store *s = arg;
	struct store_result r;
	struct policy_decision dec;
	Piugw__QueryResult *q = NULL;
	uint32_t masked = 0;
	int rc;

	memset(&dec, 0, sizeof(dec));
	for (const struct vocab *v = vocab_categories; v->name != NULL; v++)
		dec.categories |= VOCAB_BIT(v->value);
	dec.disclosure = PIUGW__DISCLOSURE__DISCLOSURE_FULL;
	dec.max_results = 10;
	dec.mask_after_days = 183;
	dec.handling_code = PIUGW__HANDLING_CODE__HANDLING_H2;
	dec.onward_transfer = PIUGW__ONWARD_TRANSFER__ONWARD_TRANSFER_FORBIDDEN;
	if ((rc = store_search_name(s, "Müller", "Anna", "1985-04-12", 10, &r)) != 0)
		return rc;
	rc = disclose_build(s, &r, &dec, NOW, &q, &masked);
	if (rc == 0 && (q->n_matches != 1 || q->matches[0]->pnr_payment == NULL))
		rc = PIUGW_EINTERNAL; /* a partial answer is no answer */
	disclose_free(&q);
	store_result_clear(&r);
	return rc;
}

static void
an_answer(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "store.db");
	struct store *s = NULL;
	struct traveller t;
	struct diag d;
	static const char *const row[][2] = {
		{"surname", "Müller"},        {"given_names", "Anna"},
		{"date_of_birth", "1985-04-12"}, {"sex", "F"},
		{"nationality", "XBA"},       {"doc_type", "P"},
		{"doc_number", "P1234567"},   {"doc_issuer", "XBA"},
		{"carrier", "XB"},            {"flight_number", "0101"},
		{"flight_date", "2027-05-30"}, {"record_locator", "ABC123"},
		{"phones", "+00 555 0101"},   {"emails", "Anna.M@example.org"},
		{"payment", "VISA ************4242"}, {"remarks", "UMNR"},
		{"ssr", "MOML;DIAB"},         {"seat", "12A"},
	};

	diag_init(&d);
	assert_int_equal(store_open(path, &s, &d), 0);
	memset(&t, 0, sizeof(t));
	t.source = STORE_SOURCE_API;
	t.transferred_at_ms = NOW - 86400000LL;
	for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++)
		t.v[store_col_by_name(row[i][0], strlen(row[i][0]))] = (char *)row[i][1];
	assert_int_equal(store_insert(s, &t, NULL, &d), 0);
	assert_true(every_allocation_fails("store search and disclose_build", search_and_disclose,
					   s) > 5);
	store_close(&s);
	diag_clear(&d);
	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_configuration),
		cmocka_unit_test(an_agreement),
		cmocka_unit_test(a_directory),
		cmocka_unit_test(a_message),
		cmocka_unit_test(an_answer),
	};

	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
