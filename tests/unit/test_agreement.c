/*
 * test_agreement.c: agreement files, their fingerprint and signatures
 * (PROTOCOL.md section 6, the vectors' agreement section), and every kind of
 * mistake an administrator can make in one, from a file and from a string.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agreement.h"
#include "body.pb-c.h"
#include "piugw/error.h"
#include "testutil.h"

static struct keys_secret *
vector_party(const json_t *v, size_t i)
{
	const json_t *p = json_array_get(json_object_get(v, "parties"), i);
	uint8_t tsk[32], ssk[64];
	struct keys_secret *k = NULL;

	tu_unhex_into(tsk, 32, tu_json_str(p, "transport_secret_hex"));
	tu_unhex_into(ssk, 64, tu_json_str(p, "sign_secret_hex"));
	assert_int_equal(keys_from_raw(tu_json_str(p, "gateway_id"), tsk, ssk, &k), 0);
	return k;
}

/* The vectors' agreement: fingerprint and both signatures, byte for byte. */
static void
vector_agreement(void **state)
{
	(void)state;
	json_t *v = tu_load_vectors("envelope-v1.json");
	const json_t *va = json_object_get(v, "agreement");
	const json_t *sigs = json_object_get(va, "signatures");
	char *path = tu_path(PIUGW_VECTORS_DIR, tu_json_str(va, "file"));
	struct agreement *a = NULL;
	struct diag d;
	uint8_t want[64], sig[64], hash[32];

	diag_init(&d);
	if (agreement_load(path, &a, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("the vector agreement did not load");
	}
	tu_unhex_into(hash, 32, tu_json_str(va, "blake2b_256_hex"));
	assert_memory_equal(a->hash, hash, 32);
	assert_string_equal(a->id, "XA-XB-2026-001");
	assert_int_equal(a->nterms, 2);

	for (size_t i = 0; i < 2; i++) {
		struct keys_secret *k = vector_party(v, i);
		const char *id = keys_secret_public(k)->id;
		tu_unhex_into(want, 64, tu_json_str(sigs, id));
		assert_int_equal(agreement_sign(a, k, sig), 0);
		assert_memory_equal(sig, want, 64);
		assert_true(agreement_verify(a, keys_secret_public(k)->sign_pk, want));
		/* A byte changed anywhere breaks both the hash and the signature. */
		a->bytes[a->len / 2] ^= 1;
		assert_false(agreement_verify(a, keys_secret_public(k)->sign_pk, want));
		a->bytes[a->len / 2] ^= 1;
		keys_secret_free(&k);
	}
	/* The terms of the file, as parsed. */
	const struct agreement_terms *ab = agreement_terms_for(a, "XA-PIU", "XB-PIU");
	const struct agreement_terms *ba = agreement_terms_for(a, "XB-PIU", "XA-PIU");
	assert_non_null(ab);
	assert_non_null(ba);
	assert_null(agreement_terms_for(a, "XA-PIU", "XC-PIU"));
	assert_int_equal(ab->purposes, VOCAB_BIT(PIUGW__PURPOSE__PURPOSE_TERRORISM) |
					       VOCAB_BIT(PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME));
	assert_int_equal(ab->max_results, 10);
	assert_int_equal(ab->rate_per_hour, 600);
	assert_int_equal(ab->rate_per_day, 5000);
	assert_int_equal(ab->disclosure, PIUGW__DISCLOSURE__DISCLOSURE_FULL);
	assert_int_equal(ab->handling_code, PIUGW__HANDLING_CODE__HANDLING_H2);
	assert_int_equal(ab->approval, VOCAB_APPROVAL_AUTOMATIC);
	assert_true(ab->justification_required);
	assert_int_equal(ab->mask_after_days, 183);
	assert_int_equal(ba->disclosure, PIUGW__DISCLOSURE__DISCLOSURE_HIT_NO_HIT);
	assert_int_equal(ba->approval, VOCAB_APPROVAL_MANUAL);
	assert_int_equal(ba->query_types, VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT));
	assert_int_equal(ba->categories, VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY) |
						 VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_DOCUMENT));

	/* The same bytes from a string give the same agreement. */
	struct agreement *b = NULL;
	assert_int_equal(agreement_parse((const char *)a->bytes, a->len, "s", &b, &d), 0);
	assert_memory_equal(b->hash, a->hash, 32);
	agreement_free(&b);
	agreement_free(&a);
	assert_null(a);
	free(path);
	diag_clear(&d);
	json_decref(v);
}

static void
signature_file_round_trip(void **state)
{
	(void)state;
	struct agreement_sigs s, back;
	uint8_t sig[64];
	struct diag d;
	char *text;

	diag_init(&d);
	memset(&s, 0, sizeof(s));
	randombytes_buf(sig, sizeof(sig));
	agreement_sigs_put(&s, "XB-PIU", sig);
	agreement_sigs_put(&s, "XA-PIU", sig);
	sig[0] ^= 1;
	agreement_sigs_put(&s, "XB-PIU", sig); /* replaces */
	assert_int_equal(s.n, 2);
	text = agreement_sigs_format(&s);
	assert_true(strncmp(text, "XA-PIU ", 7) == 0); /* sorted */
	assert_int_equal(agreement_sigs_parse(text, strlen(text), "t.sig", &back, &d), 0);
	assert_int_equal(back.n, 2);
	assert_memory_equal(agreement_sigs_get(&back, "XB-PIU")->sig, sig, 64);
	free(text);
	diag_clear(&d);
}

static void
signature_file_errors(void **state)
{
	(void)state;
	char hex[129];
	uint8_t sig[64] = {0};
	static const struct {
		const char *fmt; /* %s: 128 hex digits */
		const char *expect;
	} cases[] = {
		{"XA-PIU\n", "t.sig:1:1: expected '<gateway id> <signature in hex>'"},
		{"xa %s\n", "t.sig:1:1: 'xa' is not a gateway id"},
		{"XA-PIU 00ff\n", "t.sig:1:8: the signature must be 128 hex digits"},
		{"XA-PIU %s\nXA-PIU %s\n", "t.sig:2:1: a second signature by XA-PIU (first on line 1)"},
		{"XA-PIU %s\nXB-PIU %s\nXC-PIU %s\n", "t.sig:3:1: more than two signatures"},
	};

	sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agreement_sigs s;
		struct diag d;
		char *text = NULL;

		diag_init(&d);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		assert_true(asprintf(&text, cases[i].fmt, hex, hex, hex) > 0);
#pragma GCC diagnostic pop
		assert_int_equal(agreement_sigs_parse(text, strlen(text), "t.sig", &s, &d),
				 PIUGW_ESIGFILE);
		if (!tu_diag_has(&d, cases[i].expect)) {
			tu_diag_dump(&d);
			fail_msg("case %zu: no \"%s\"", i, cases[i].expect);
		}
		free(text);
		diag_clear(&d);
	}
}

/* A valid agreement; cases below replace one line of it. */
static const char base[] = "agreement: XA-XB-1\n"                          /* 1 */
			   "parties: [XA-PIU, XB-PIU]\n"                   /* 2 */
			   "in_force: {from: 2026-01-01, until: 2028-12-31}\n" /* 3 */
			   "terms:\n"                                      /* 4 */
			   "  - requester: XA-PIU\n"                       /* 5 */
			   "    responder: XB-PIU\n"                       /* 6 */
			   "    purposes: [terrorism]\n"                   /* 7 */
			   "    query_types: [document]\n"                 /* 8 */
			   "    categories: [api.identity]\n"              /* 9 */
			   "    disclosure: full\n"                        /* 10 */
			   "    max_results: 10\n"                         /* 11 */
			   "    rate: {per_hour: 60, per_day: 500}\n"      /* 12 */
			   "    approval: automatic\n"                     /* 13 */
			   "    justification: required\n"                 /* 14 */
			   "    handling_code: H2\n"                       /* 15 */
			   "    onward_transfer: forbidden\n";             /* 16 */

/* base with line n (1-based) replaced by repl (which may hold several lines or none). */
static char *
with_line(unsigned n, const char *repl)
{
	const char *p = base;
	char *out = malloc(sizeof(base) + strlen(repl) + 1);
	size_t o = 0;

	for (unsigned line = 1; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t l = (size_t)(nl - p) + 1;
		if (line == n) {
			memcpy(out + o, repl, strlen(repl));
			o += strlen(repl);
		} else {
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	out[o] = '\0';
	return out;
}

static void
accepts_the_base_and_its_variants(void **state)
{
	(void)state;
	static const struct {
		unsigned line;
		const char *repl;
	} ok[] = {
		{0, ""},
		{7, "    purposes: [terrorism, {serious_crime: [SC01, SC26]}]\n"},
		{8, "    query_types: [document, name_fuzzy]\n    min_score: 0.85\n"},
		{14, "    justification: optional\n    mask_after_days: 30\n"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *text = with_line(ok[i].line, ok[i].repl);
		struct agreement *a = NULL;
		struct diag d;

		diag_init(&d);
		if (agreement_parse(text, strlen(text), "t.yaml", &a, &d) != 0) {
			tu_diag_dump(&d);
			fail_msg("variant %zu refused", i);
		}
		if (i == 1)
			assert_int_equal(a->terms[0].offences, (1u << 1) | (1u << 26));
		if (i == 2)
			assert_true(a->terms[0].min_score > 0.849 && a->terms[0].min_score < 0.851);
		if (i == 3) {
			assert_false(a->terms[0].justification_required);
			assert_int_equal(a->terms[0].mask_after_days, 30);
		}
		agreement_free(&a);
		diag_clear(&d);
		free(text);
	}
}

static void
refuses_every_mistake_precisely(void **state)
{
	(void)state;
	static const struct {
		unsigned line;
		const char *repl;
		const char *expect;
	} cases[] = {
		{7, "    purpose: [terrorism]\n",
		 "t.yaml:7:5: unknown key 'purpose' in terms; did you mean 'purposes'?"},
		{7, "    purposes: [terrorism]\n    maxresults: 5\n", "did you mean 'max_results'?"},
		{1, "agreement: XA-XB-1\nagreement: XA-XB-2\n",
		 "t.yaml:2:1: duplicate key 'agreement' (first at line 1)"},
		{3, "in_force: {from: 2026-02-30, until: 2028-12-31}\n",
		 "t.yaml:3:18: in_force from '2026-02-30' is not a date"},
		{3, "in_force: {from: 2029-01-01, until: 2028-12-31}\n", "until is before from"},
		{7, "    purposes: [terrorism, espionage]\n",
		 "t.yaml:7:27: unknown purpose 'espionage'; expected one of: terrorism, "
		 "serious_crime, border_control, immigration"},
		{7, "    purposes: [terrorism, terrorism]\n", "purpose 'terrorism' listed twice"},
		{7, "    purposes: [{serious_crime: [SC27]}]\n", "offence 'SC27' is not an Annex II code"},
		{7, "    purposes: []\n", "purposes is empty"},
		{8, "    query_types: [passport]\n", "unknown query type 'passport'"},
		{9, "    categories: [api.identity, pnr.meals]\n", "unknown category 'pnr.meals'"},
		{10, "    disclosure: partial\n", "unknown disclosure 'partial'"},
		{11, "    max_results: 0\n", "max_results '0' is not a whole number from 1 to 1000"},
		{11, "    max_results: 1000000\n", "max_results '1000000' is not a whole number"},
		{11, "    max_results: -3\n", "max_results '-3' is not a whole number"},
		{12, "    rate: {per_hour: 0, per_day: 500}\n", "rate per_hour '0' is not a whole number"},
		{12, "    rate: {per_hour: 600, per_day: 500}\n", "rate per_hour (600) is more than per_day"},
		{12, "    rate: {per_hour: 60}\n", "missing 'per_day' in rate"},
		{13, "    approval: sometimes\n", "unknown approval 'sometimes'"},
		{15, "    handling_code: H9\n", "unknown handling code 'H9'"},
		{16, "", "t.yaml:5:5: missing 'onward_transfer' in terms"},
		{5, "  - requester: XC-PIU\n", "requester 'XC-PIU' is not one of the parties"},
		{6, "    responder: XA-PIU\n", "requester and responder are the same gateway"},
		{2, "parties: [XA-PIU, XB-PIU, XC-PIU]\n", "parties must name exactly two gateways"},
		{2, "parties: [XA-PIU, XA-PIU]\n", "the two parties must be different gateways"},
		{2, "parties: [XA-PIU, xb]\n", "party 'xb' is not a gateway id"},
		{1, "agreement: \"XA XB\"\n", "agreement id 'XA XB' must be"},
		{8, "    query_types: [document]\n    min_score: 0.8\n",
		 "min_score applies to name_fuzzy"},
		{8, "    query_types: [name_fuzzy]\n    min_score: 2\n", "min_score '2' is not a number"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [serious_crime]\n"
		     "      query_types: [document]\n      categories: [api.identity]\n"
		     "      max_in_force: 5\n      max_days: 30\n      notify: immediate\n",
		 "lookouts purposes must be among the terms' purposes"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [flight]\n      categories: [api.identity]\n"
		     "      max_in_force: 5\n      max_days: 30\n      notify: immediate\n",
		 "a lookout is by document, name or name_fuzzy only"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [name]\n      categories: [api.identity]\n"
		     "      max_in_force: 5\n      max_days: 30\n      notify: immediate\n",
		 "lookouts query_types must be among the terms' query_types"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [document]\n      categories: [api.identity, pnr.contact]\n"
		     "      max_in_force: 5\n      max_days: 30\n      notify: immediate\n",
		 "lookouts categories must be among the terms' categories"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [document]\n      categories: [api.identity]\n"
		     "      max_in_force: 0\n      max_days: 400\n      notify: later\n",
		 "max_in_force '0' is not a whole number"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [document]\n      categories: [api.identity]\n"
		     "      max_in_force: 5\n      max_days: 400\n      notify: immediate\n",
		 "max_days '400' is not a whole number from 1 to 366"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [document]\n      categories: [api.identity]\n"
		     "      max_in_force: 5\n      max_days: 30\n      notify: later\n",
		 "unknown notify 'later'"},
		{16, "    onward_transfer: forbidden\n    lookouts:\n      purposes: [terrorism]\n"
		     "      query_types: [document]\n      categories: [api.identity]\n"
		     "      max_days: 30\n      notify: immediate\n",
		 "missing 'max_in_force' in lookouts"},
		{16, "    onward_transfer: forbidden\n    lookouts: yes\n", "lookouts"},
		{1, "agreement: &a XA-XB-1\nalias: *a\n", "anchors (&a) are not allowed"},
		{1, "agreement: XA-XB-1\n---\nmore: 1\n", "a second YAML document"},
		{1, "agreement: [unclosed\n", "YAML syntax error"},
		{4, "terms: []\nextra:\n", "terms must hold one or two blocks"},
		{4, "terms:\n  - requester: XA-PIU\n    responder: XB-PIU\n    purposes: [terrorism]\n"
		    "    query_types: [document]\n    categories: [api.identity]\n"
		    "    disclosure: full\n    max_results: 10\n    rate: {per_hour: 60, per_day: 500}\n"
		    "    approval: automatic\n    justification: required\n    handling_code: H2\n"
		    "    onward_transfer: forbidden\n",
		 "a second block of terms for XA-PIU -> XB-PIU"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = with_line(cases[i].line, cases[i].repl);
		struct agreement *a = NULL;
		struct diag d;

		diag_init(&d);
		assert_int_equal(agreement_parse(text, strlen(text), "t.yaml", &a, &d), PIUGW_ECONFIG);
		assert_null(a);
		if (!tu_diag_has(&d, cases[i].expect)) {
			tu_diag_dump(&d);
			fail_msg("case %zu: no diagnostic containing \"%s\"", i, cases[i].expect);
		}
		diag_clear(&d);
		free(text);
	}
}

/* A lookouts block, read; without one, a direction allows none. */
static void
lookouts_block(void **state)
{
	(void)state;
	char *text = with_line(16, "    onward_transfer: forbidden\n    lookouts:\n"
				   "      purposes: [terrorism]\n      query_types: [document]\n"
				   "      categories: [api.identity]\n      max_in_force: 5\n"
				   "      max_days: 30\n      notify: after_approval\n");
	struct agreement *a = NULL;
	struct diag d;
	const struct agreement_terms *t;

	diag_init(&d);
	assert_int_equal(agreement_parse(text, strlen(text), "t.yaml", &a, &d), 0);
	t = agreement_terms_for(a, "XA-PIU", "XB-PIU");
	assert_non_null(t);
	assert_true(t->lookouts.allowed);
	assert_int_equal(t->lookouts.purposes, VOCAB_BIT(PIUGW__PURPOSE__PURPOSE_TERRORISM));
	assert_int_equal(t->lookouts.query_types, VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT));
	assert_int_equal(t->lookouts.categories, VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY));
	assert_int_equal(t->lookouts.max_in_force, 5);
	assert_int_equal(t->lookouts.max_days, 30);
	assert_int_equal(t->lookouts.notify, VOCAB_NOTIFY_AFTER_APPROVAL);
	assert_int_equal(t->lookouts.ack_within_hours, AGREEMENT_ACK_HOURS_DEFAULT);
	agreement_free(&a);
	free(text);
	/* The base has none: not allowed. */
	assert_int_equal(agreement_parse(base, strlen(base), "t.yaml", &a, &d), 0);
	assert_false(agreement_terms_for(a, "XA-PIU", "XB-PIU")->lookouts.allowed);
	agreement_free(&a);
	diag_clear(&d);
}

static void
reports_all_errors_at_once_from_a_file(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "bad.yaml");
	char *text = with_line(10, "    disclosure: partial\n    max_results: 0\n    colour: red\n");
	struct agreement *a = NULL;
	struct diag d;

	/* line 11 of base (max_results) now appears twice: also a duplicate. */
	diag_init(&d);
	tu_write_file(path, text, strlen(text), 0644);
	assert_int_equal(agreement_load(path, &a, &d), PIUGW_ECONFIG);
	assert_true(d.n >= 4);
	assert_true(tu_diag_has(&d, "bad.yaml:10:17: unknown disclosure 'partial'"));
	assert_true(tu_diag_has(&d, "bad.yaml:11:18: max_results '0'"));
	assert_true(tu_diag_has(&d, "bad.yaml:12:5: unknown key 'colour' in terms"));
	assert_true(tu_diag_has(&d, "bad.yaml:13:5: duplicate key 'max_results'"));
	diag_clear(&d);
	assert_int_equal(agreement_load("/nonexistent/x.yaml", &a, &d), PIUGW_ENOENT);
	diag_clear(&d);
	free(text);
	free(path);
	tu_rmtree(dir);
}

/* A template's parties become the new ones, in order, in every term; its terms stay. */
static void
new_from_a_template(void **state)
{
	const char *const parties[2] = {"XC-PIU", "XD-PIU"};
	struct agreement *a = NULL;
	char *out = NULL;
	size_t len = 0;
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_int_equal(agreement_from_template(base, strlen(base), "tmpl", "XC-XD-7", parties,
						 "2027-02-01", "2029-01-31", &out, &len, &d),
			 0);
	assert_int_equal(agreement_parse(out, len, "new", &a, &d), 0);
	assert_string_equal(a->id, "XC-XD-7");
	assert_string_equal(a->parties[0], "XC-PIU");
	assert_string_equal(a->parties[1], "XD-PIU");
	assert_non_null(agreement_terms_for(a, "XC-PIU", "XD-PIU"));
	assert_null(agreement_terms_for(a, "XD-PIU", "XC-PIU")); /* one direction, as the template */
	assert_int_equal(agreement_terms_for(a, "XC-PIU", "XD-PIU")->max_results, 10);
	assert_null(strstr(out, "XA-PIU"));
	agreement_free(&a);
	free(out);
	/* What would not be an agreement is refused, and nothing is returned. */
	assert_int_equal(agreement_from_template(base, strlen(base), "tmpl", "bad id!", parties,
						 "2027-02-01", "2029-01-31", &out, &len, &d),
			 PIUGW_ECONFIG);
	assert_null(out);
	assert_int_equal(agreement_from_template("agreement: x\n", 13, "tmpl", "XC-XD-7", parties,
						 "2027-02-01", "2029-01-31", &out, &len, &d),
			 PIUGW_ECONFIG);
	assert_true(tu_diag_has(&d, "a template is an agreement file like any other"));
	diag_clear(&d);
}

/*
 * An agreement co-signed over the mesh is installed with its two
 * signatures: a new one as ID.yaml in the folder, an amendment over the
 * file of the one it replaces; each file replaced whole, no temporary file
 * left, and what was installed loads and verifies.
 */
static void
installed_with_both_signatures(void **state)
{
	json_t *v = tu_load_vectors("envelope-v1.json");
	const json_t *va = json_object_get(v, "agreement");
	char *vpath = tu_path(PIUGW_VECTORS_DIR, tu_json_str(va, "file"));
	char *dir = tu_tmpdir(), *old = tu_path(dir, "xa-xb.yaml"), *got = NULL, *sig_path;
	struct agreement *a = NULL, *b = NULL;
	struct agreement_sigs sigs, back;
	struct diag d;
	DIR *dh;
	struct dirent *e;
	int files = 0;

	(void)state;
	diag_init(&d);
	memset(&sigs, 0, sizeof(sigs));
	assert_int_equal(agreement_load(vpath, &a, &d), 0);
	for (size_t i = 0; i < 2; i++) {
		struct keys_secret *k = vector_party(v, i);
		uint8_t sig[64];
		assert_int_equal(agreement_sign(a, k, sig), 0);
		agreement_sigs_put(&sigs, keys_secret_public(k)->id, sig);
		keys_secret_free(&k);
	}
	/* New: ID.yaml in the folder. */
	assert_int_equal(agreement_install(a, &sigs, dir, NULL, &got, &d), 0);
	assert_true(strstr(got, "/XA-XB-2026-001.yaml") != NULL);
	assert_int_equal(agreement_load(got, &b, &d), 0);
	assert_memory_equal(b->hash, a->hash, 32);
	agreement_free(&b);
	sig_path = malloc(strlen(got) + 5);
	sprintf(sig_path, "%s.sig", got);
	memset(&back, 0, sizeof(back));
	assert_int_equal(agreement_sigs_load(sig_path, &back, &d), 0);
	assert_int_equal(back.n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct agreement_sig *s = agreement_sigs_get(&sigs, a->parties[i]);
		assert_non_null(s);
		assert_memory_equal(agreement_sigs_get(&back, a->parties[i])->sig, s->sig, 64);
	}
	free(sig_path);
	free(got);
	/* An amendment: over the file of the one it replaces, whatever its name. */
	tu_write_file(old, "old text\n", 9, 0644);
	assert_int_equal(agreement_install(a, &sigs, dir, old, &got, &d), 0);
	assert_string_equal(got, old);
	assert_int_equal(agreement_load(old, &b, &d), 0);
	assert_memory_equal(b->hash, a->hash, 32);
	agreement_free(&b);
	free(got);
	/* Two agreements, two signature files, nothing else. */
	assert_non_null(dh = opendir(dir));
	while ((e = readdir(dh)) != NULL)
		if (e->d_name[0] != '.') {
			files++;
			assert_null(strstr(e->d_name, ".tmp"));
		}
	closedir(dh);
	assert_int_equal(files, 4);
	/* A folder that cannot be written: an error naming the file, nothing installed. */
	assert_int_equal(agreement_install(a, &sigs, "/nonexistent", NULL, &got, &d), PIUGW_ESYSTEM);
	assert_null(got);
	assert_true(tu_diag_has(&d, "/nonexistent/XA-XB-2026-001.yaml.sig"));
	diag_clear(&d);
	agreement_free(&a);
	json_decref(v);
	free(vpath);
	free(old);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vector_agreement),
		cmocka_unit_test(new_from_a_template),
		cmocka_unit_test(installed_with_both_signatures),
		cmocka_unit_test(signature_file_round_trip),
		cmocka_unit_test(signature_file_errors),
		cmocka_unit_test(accepts_the_base_and_its_variants),
		cmocka_unit_test(refuses_every_mistake_precisely),
		cmocka_unit_test(lookouts_block),
		cmocka_unit_test(reports_all_errors_at_once_from_a_file),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
