/*
 * test_policy.c: whole configuration trees (real keys, a signed directory,
 * co-signed agreements) loaded and asked for decisions. A table reaches
 * every refusal code and every allowed combination of the example
 * agreement; reloads are atomic; rates count per agreement and direction.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sodium.h>

#include "body.pb-c.h"
#include "encoding.h"
#include "fileio.h"
#include "minisign.h"
#include "num.h"
#include "piugw/error.h"
#include "policy.h"
#include "testutil.h"

#define T_TERRORISM PIUGW__PURPOSE__PURPOSE_TERRORISM
#define T_SERIOUS PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME
#define T_BORDER PIUGW__PURPOSE__PURPOSE_BORDER_CONTROL
#define Q_DOC PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT
#define Q_NAME PIUGW__QUERY_TYPE__QUERY_TYPE_NAME
#define Q_FUZZY PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY
#define Q_LOCATOR PIUGW__QUERY_TYPE__QUERY_TYPE_LOCATOR
#define Q_FLIGHT PIUGW__QUERY_TYPE__QUERY_TYPE_FLIGHT

/* 2027-06-01 12:00 UTC: inside every agreement below. */
static const int64_t NOW = 1811851200000LL;

static const char *const ids[3] = {"XA-PIU", "XB-PIU", "XC-PIU"};

/* The example agreement of the vectors, with a small rate to reach its limit. */
static const char ab_text[] =
	"agreement: XA-XB-2026-001\n"
	"parties: [XA-PIU, XB-PIU]\n"
	"in_force: {from: 2026-01-01, until: 2028-12-31}\n"
	"terms:\n"
	"  - requester: XA-PIU\n"
	"    responder: XB-PIU\n"
	"    purposes: [terrorism, serious_crime]\n"
	"    query_types: [document, name, name_fuzzy, locator]\n"
	"    categories: [api.identity, api.document, api.flight, pnr.booking]\n"
	"    disclosure: full\n"
	"    max_results: 10\n"
	"    rate: {per_hour: 600, per_day: 5000}\n"
	"    approval: automatic\n"
	"    justification: required\n"
	"    mask_after_days: 183\n"
	"    handling_code: H2\n"
	"    onward_transfer: forbidden\n"
	"    lookouts:\n"
	"      purposes: [terrorism]\n"
	"      query_types: [document, name_fuzzy]\n"
	"      categories: [api.identity, api.flight]\n"
	"      max_in_force: 3\n"
	"      max_days: 30\n"
	"      notify: after_approval\n"
	"  - requester: XB-PIU\n"
	"    responder: XA-PIU\n"
	"    purposes: [terrorism]\n"
	"    query_types: [document]\n"
	"    categories: [api.identity, api.document]\n"
	"    disclosure: hit_no_hit\n"
	"    max_results: 5\n"
	"    rate: {per_hour: 3, per_day: 5}\n"
	"    approval: manual\n"
	"    justification: required\n"
	"    mask_after_days: 183\n"
	"    handling_code: H3\n"
	"    onward_transfer: forbidden\n";

/* XA-XC: one direction only, serious crime narrowed, signed by XA alone at first. */
static const char ac_text[] = "agreement: XA-XC-2027-001\n"
			      "parties: [XA-PIU, XC-PIU]\n"
			      "in_force: {from: 2027-01-01, until: 2027-12-31}\n"
			      "terms:\n"
			      "  - requester: XA-PIU\n"
			      "    responder: XC-PIU\n"
			      "    purposes: [{serious_crime: [SC01, SC05]}]\n"
			      "    query_types: [flight]\n"
			      "    categories: [api.flight]\n"
			      "    disclosure: full\n"
			      "    max_results: 20\n"
			      "    rate: {per_hour: 100, per_day: 1000}\n"
			      "    approval: automatic\n"
			      "    justification: optional\n"
			      "    handling_code: H1\n"
			      "    onward_transfer: with_consent\n";

struct tree {
	char *base;
	struct keys_secret *k[3];
	struct minisign_seckey *sk;
	char *conf[3]; /* piugwd.yaml of each gateway */
};

static int
sh(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *
pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
pathf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&p, fmt, ap) > 0);
	va_end(ap);
	return p;
}

static void
write_text(const char *path, const char *text)
{
	tu_write_file(path, text, strlen(text), 0644);
}

/* Write and sign the directory (serial, expiry) with the secretariat key. */
static void
write_directory(struct tree *t, unsigned serial, const char *expires)
{
	char *text = pathf("serial: %u\nexpires: %s\nmembers:\n", serial, expires);
	char *p, *sig = NULL;

	for (int i = 0; i < 3; i++) {
		char tpk[41], spk[41], *n;
		z85_encode(tpk, sizeof(tpk), keys_secret_public(t->k[i])->transport_pk, 32);
		z85_encode(spk, sizeof(spk), keys_secret_public(t->k[i])->sign_pk, 32);
		n = pathf("%s  - id: %s\n    state: %.2s\n    name: PIU %.2s\n"
			  "    endpoint: tcp://127.0.0.1:%d\n    transport_key: \"%s\"\n"
			  "    signing_key: \"%s\"\n    urgent_contact: \"+00 555 0100\"\n",
			  text, ids[i], ids[i], ids[i], 17401 + i, tpk, spk);
		free(text);
		text = n;
	}
	p = pathf("%s/directory.yaml", t->base);
	write_text(p, text);
	free(p);
	assert_int_equal(minisign_sign(t->sk, (const uint8_t *)text, strlen(text), "test", &sig), 0);
	p = pathf("%s/directory.yaml.minisig", t->base);
	write_text(p, sig);
	free(p);
	free(sig);
	free(text);
}

/* Put agreement text into gateway g's folder, signed by the parties in signers. */
static void
put_agreement(struct tree *t, int g, const char *file, const char *text, int signers)
{
	struct agreement *a = NULL;
	struct agreement_sigs s;
	struct diag d;
	char *p = pathf("%s/%s/agreements/%s", t->base, ids[g], file), *sp, *st;

	diag_init(&d);
	memset(&s, 0, sizeof(s));
	assert_int_equal(agreement_parse(text, strlen(text), file, &a, &d), 0);
	for (int i = 0; i < 3; i++) {
		uint8_t sig[64];
		if (!(signers & (1 << i)))
			continue;
		assert_int_equal(agreement_sign(a, t->k[i], sig), 0);
		agreement_sigs_put(&s, ids[i], sig);
	}
	write_text(p, text);
	sp = pathf("%s.sig", p);
	st = agreement_sigs_format(&s);
	write_text(sp, st);
	free(st);
	free(sp);
	free(p);
	agreement_free(&a);
}

static int
setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char *pub, *key, *cmd, *certs;
	uint8_t *ktext = NULL;
	size_t klen = 0;
	struct diag d;

	diag_init(&d);
	t->base = tu_tmpdir();
	certs = pathf("%s/certs", t->base);
	mkdir(certs, 0700);
	for (int i = 0; i < 3; i++) {
		char *dir = pathf("%s/%s", t->base, ids[i]), *sub;
		mkdir(dir, 0755);
		sub = pathf("%s/agreements", dir);
		mkdir(sub, 0755);
		free(sub);
		sub = pathf("%s/state", dir);
		mkdir(sub, 0700);
		free(sub);
		assert_int_equal(keys_generate(ids[i], &t->k[i]), 0);
		assert_int_equal(keys_save(t->k[i], certs, &d), 0);
		t->conf[i] = pathf("%s/piugwd.yaml", dir);
		sub = pathf("gateway:\n  id: %s\n  listen: tcp://127.0.0.1:%d\n"
			    "  certificate: ../certs/%s.cert_secret\n"
			    "directory:\n  file: ../directory.yaml\n"
			    "  secretariat_key: ../secretariat.pub\n"
			    "state: state\n",
			    ids[i], 17401 + i, ids[i]);
		write_text(t->conf[i], sub);
		free(sub);
		free(dir);
	}
	pub = pathf("%s/secretariat.pub", t->base);
	key = pathf("%s/secretariat.key", t->base);
	cmd = pathf("minisign -G -W -p '%s' -s '%s' >/dev/null 2>&1", pub, key);
	if (sh(cmd) != 0)
		fail_msg("the minisign tool is needed (apt-get install minisign)");
	assert_int_equal(fileio_read(key, 4096, 0, &ktext, &klen, NULL), 0);
	assert_int_equal(minisign_seckey_parse((char *)ktext, klen, key, NULL, &t->sk, &d), 0);
	fileio_free(ktext, klen, 0);
	write_directory(t, 1, "2099-12-31");
	/* XA holds both agreements; XB its copy of AB; XC its copy of AC. */
	put_agreement(t, 0, "ab.yaml", ab_text, 1 | 2);
	put_agreement(t, 1, "ab.yaml", ab_text, 1 | 2);
	put_agreement(t, 0, "ac.yaml", ac_text, 1);
	put_agreement(t, 2, "ac.yaml", ac_text, 1);
	free(pub);
	free(key);
	free(cmd);
	free(certs);
	diag_clear(&d);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tree *t = *state;

	for (int i = 0; i < 3; i++) {
		keys_secret_free(&t->k[i]);
		free(t->conf[i]);
	}
	minisign_seckey_free(&t->sk);
	tu_rmtree(t->base);
	free(t);
	return 0;
}

static struct policy *
must_load(const char *conf, struct diag *d)
{
	struct policy *p = NULL;

	if (policy_load(conf, NOW, &p, d) != 0) {
		tu_diag_dump(d);
		fail_msg("%s did not load", conf);
	}
	return p;
}

static void
loads_and_reports_states(void **state)
{
	struct tree *t = *state;
	struct diag d;
	struct policy *p;
	char why[256];

	diag_init(&d);
	p = must_load(t->conf[0], &d);
	assert_string_equal(policy_config(p)->id, "XA-PIU");
	assert_int_equal(policy_agreement_count(p), 2);
	assert_int_equal(policy_agreement_state(policy_agreement(p, "XA-XB-2026-001"), NOW, why,
						sizeof(why)), POLICY_IN_FORCE);
	assert_int_equal(policy_agreement_state(policy_agreement(p, "XA-XC-2027-001"), NOW, why,
						sizeof(why)), POLICY_NOT_SIGNED);
	assert_string_equal(why, "not signed by XC-PIU");
	/* The load says so as a warning, not an error. */
	assert_true(tu_diag_has(&d, "warning:"));
	assert_true(tu_diag_has(&d, "XA-XC-2027-001 with XC-PIU is not in force: not signed by XC-PIU"));
	/* Period: before and after. */
	assert_int_equal(policy_agreement_state(policy_agreement(p, "XA-XC-2027-001"),
						NOW - 400LL * 86400000, why, sizeof(why)),
			 POLICY_NOT_SIGNED);
	assert_int_equal(policy_agreement_state(policy_agreement(p, "XA-XB-2026-001"),
						(int64_t)num_days_from_civil(2029, 1, 1) * 86400000,
						why, sizeof(why)), POLICY_ENDED);
	assert_string_equal(why, "ended on 2028-12-31");
	assert_int_equal(policy_agreement_state(policy_agreement(p, "XA-XB-2026-001"),
						(int64_t)num_days_from_civil(2025, 12, 31) * 86400000,
						why, sizeof(why)), POLICY_NOT_YET);
	policy_free(&p);
	assert_null(p);
	diag_clear(&d);
}

struct row {
	const char *name;
	int gw;           /* whose policy decides */
	enum policy_direction dir;
	const char *peer;
	const char *agreement; /* NULL: chosen */
	bool wrong_hash;
	int purpose, offence, qtype;
	bool justified;
	int64_t now;
	int want;
};

static void
every_refusal_code_and_the_allowed(void **state)
{
	struct tree *t = *state;
	struct diag d;
	struct policy *p[3];
	struct policy_rates *rates = NULL;
	const int64_t after = (int64_t)num_days_from_civil(2029, 3, 1) * 86400000;
	const struct row rows[] = {
		/* allowed, both sides of the same request */
		{"XA asks XB, document", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false, T_TERRORISM, 0,
		 Q_DOC, true, NOW, 0},
		{"XB answers XA, document", 1, POLICY_INBOUND, "XA-PIU", "XA-XB-2026-001", false,
		 T_TERRORISM, 0, Q_DOC, true, NOW, 0},
		/* refusals */
		{"unknown sender", 1, POLICY_INBOUND, "XZ-PIU", "XA-XB-2026-001", false, T_TERRORISM,
		 0, Q_DOC, true, NOW, PIUGW_EUNKNOWNSENDER},
		{"outbound to a non-member", 0, POLICY_OUTBOUND, "XZ-PIU", NULL, false, T_TERRORISM,
		 0, Q_DOC, true, NOW, PIUGW_ENOAGREEMENT},
		{"no agreement with XC at XB", 1, POLICY_OUTBOUND, "XC-PIU", NULL, false, T_TERRORISM,
		 0, Q_DOC, true, NOW, PIUGW_ENOAGREEMENT},
		{"agreement of another pair", 1, POLICY_INBOUND, "XA-PIU", "XA-XC-2027-001", false,
		 T_TERRORISM, 0, Q_DOC, true, NOW, PIUGW_ENOAGREEMENT},
		{"no terms XC -> XA", 0, POLICY_INBOUND, "XC-PIU", "XA-XC-2027-001", false, T_SERIOUS,
		 1, Q_FLIGHT, true, NOW, PIUGW_ENOTINFORCE /* not signed comes first */},
		{"hash differs", 1, POLICY_INBOUND, "XA-PIU", "XA-XB-2026-001", true, T_TERRORISM, 0,
		 Q_DOC, true, NOW, PIUGW_EAGREEMENTMISMATCH},
		{"not signed by XC", 0, POLICY_OUTBOUND, "XC-PIU", NULL, false, T_SERIOUS, 1, Q_FLIGHT,
		 true, NOW, PIUGW_ENOTINFORCE},
		{"ended", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false, T_TERRORISM, 0, Q_DOC, true,
		 after, PIUGW_ENOTINFORCE},
		{"purpose XB -> XA", 0, POLICY_INBOUND, "XB-PIU", "XA-XB-2026-001", false, T_SERIOUS,
		 0, Q_DOC, true, NOW, PIUGW_EPURPOSE},
		{"border control nowhere", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false, T_BORDER, 0,
		 Q_DOC, true, NOW, PIUGW_EPURPOSE},
		{"offence with terrorism", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false, T_TERRORISM, 3,
		 Q_DOC, true, NOW, PIUGW_EPURPOSE},
		{"query type XB -> XA", 1, POLICY_OUTBOUND, "XA-PIU", NULL, false, T_TERRORISM, 0,
		 Q_NAME, true, NOW, PIUGW_EQUERYTYPE},
		{"flight not allowed XA -> XB", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false,
		 T_TERRORISM, 0, Q_FLIGHT, true, NOW, PIUGW_EQUERYTYPE},
		{"no justification", 0, POLICY_OUTBOUND, "XB-PIU", NULL, false, T_TERRORISM, 0, Q_DOC,
		 false, NOW, PIUGW_EJUSTIFICATION},
	};
	const struct vocab *pu, *qt;

	diag_init(&d);
	for (int i = 0; i < 3; i++)
		p[i] = must_load(t->conf[i], &d);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct policy_decision dec;
		uint8_t bad[32];
		struct policy_request req = {
			.direction = r->dir, .peer = r->peer, .agreement_id = r->agreement,
			.purpose = r->purpose, .offence = r->offence, .query_type = r->qtype,
			.has_justification = r->justified, .now_ms = r->now};
		if (r->wrong_hash) {
			memset(bad, 0x5a, sizeof(bad));
			req.agreement_hash = bad;
		}
		int rc = policy_decide(p[r->gw], NULL, &req, &dec);
		if (rc != r->want)
			fail_msg("%s: got %s (%s), want %s", r->name, piugw_error_name(rc), dec.detail,
				 piugw_error_name(r->want));
		assert_int_equal(dec.code, rc);
		if (rc != 0)
			assert_true(dec.detail[0] != '\0');
		if (r->wrong_hash) {
			char hex[65];
			sodium_bin2hex(hex, sizeof(hex), policy_agreement(p[1], r->agreement)->a->hash,
				       32);
			assert_string_equal(dec.detail, hex); /* our own hash, as section 6 says */
		}
	}

	/* Every allowed combination of the example agreement, from both ends. */
	for (pu = vocab_purposes; pu->name != NULL; pu++) {
		for (qt = vocab_query_types; qt->name != NULL; qt++) {
			for (int dir = 0; dir < 2; dir++) {
				int asker = dir == 0 ? 0 : 1, answerer = dir == 0 ? 1 : 0;
				const struct agreement_terms *terms = agreement_terms_for(
					policy_agreement(p[0], "XA-XB-2026-001")->a, ids[asker],
					ids[answerer]);
				bool allowed = (terms->purposes & VOCAB_BIT(pu->value)) &&
					       (terms->query_types & VOCAB_BIT(qt->value));
				struct policy_decision out_dec, in_dec;
				struct policy_request out = {
					.direction = POLICY_OUTBOUND, .peer = ids[answerer],
					.agreement_id = "XA-XB-2026-001", .purpose = pu->value,
					.query_type = qt->value, .has_justification = true,
					.now_ms = NOW};
				struct policy_request in = out;
				in.direction = POLICY_INBOUND;
				in.peer = ids[asker];
				in.agreement_hash = policy_agreement(p[answerer],
								     "XA-XB-2026-001")->a->hash;
				int ro = policy_decide(p[asker], NULL, &out, &out_dec);
				int ri = policy_decide(p[answerer], NULL, &in, &in_dec);
				/* The asker stops locally exactly what the answerer would refuse. */
				assert_int_equal(ro, ri);
				assert_int_equal(ro == 0, allowed);
				if (allowed) {
					assert_int_equal(in_dec.categories, terms->categories);
					assert_int_equal(in_dec.max_results, terms->max_results);
					assert_int_equal(in_dec.disclosure, terms->disclosure);
					assert_int_equal(in_dec.handling_code, terms->handling_code);
					assert_int_equal(in_dec.approval, terms->approval);
					assert_int_equal(in_dec.mask_after_days, 183);
				}
			}
		}
	}

	/*
	 * Lookouts: judged by the lookouts block, the same at both ends; what a
	 * notification may carry is the block's categories; after_approval is
	 * a manual approval; a direction without the block allows none.
	 */
	{
		static const struct {
			const char *name;
			int asker, purpose, qtype, want;
		} lk[] = {
			{"a document lookout", 0, T_TERRORISM, Q_DOC, 0},
			{"serious crime: queries yes, lookouts no", 0, T_SERIOUS, Q_DOC, PIUGW_EPURPOSE},
			{"name: queries yes, lookouts no", 0, T_TERRORISM, Q_NAME, PIUGW_EQUERYTYPE},
			{"XB -> XA has no lookouts block", 1, T_TERRORISM, Q_DOC, PIUGW_EQUERYTYPE},
		};
		for (size_t i = 0; i < sizeof(lk) / sizeof(lk[0]); i++) {
			int asker = lk[i].asker, answerer = 1 - asker;
			struct policy_decision od, id;
			struct policy_request out = {
				.direction = POLICY_OUTBOUND, .peer = ids[answerer],
				.agreement_id = "XA-XB-2026-001", .purpose = lk[i].purpose,
				.query_type = lk[i].qtype, .has_justification = true, .now_ms = NOW,
				.lookout = true};
			struct policy_request in = out;
			in.direction = POLICY_INBOUND;
			in.peer = ids[asker];
			int ro = policy_decide(p[asker], NULL, &out, &od);
			int ri = policy_decide(p[answerer], NULL, &in, &id);
			if (ro != lk[i].want || ri != lk[i].want)
				fail_msg("%s: %s / %s, want %s", lk[i].name, piugw_error_name(ro),
					 piugw_error_name(ri), piugw_error_name(lk[i].want));
			if (ri == 0) {
				assert_int_equal(id.categories,
						 VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY) |
							 VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_FLIGHT));
				assert_int_equal(id.approval, VOCAB_APPROVAL_MANUAL);
				assert_int_equal(id.max_results, 1);
				assert_int_equal(id.terms->lookouts.max_in_force, 3);
			} else {
				assert_non_null(strstr(id.detail, "lookout"));
			}
		}
	}

	/* A request that is no Query: the agreement checked alone, in the same order. */
	{
		const struct policy_agreement *pa = NULL;
		const struct agreement_terms *tt = NULL;
		uint8_t bad[32];
		char why[200], hex[65];
		memset(bad, 0x5a, sizeof(bad));
		assert_int_equal(policy_agreement_check(p[1], "XA-XB-2026-001", "XC-PIU", NULL,
							"XC-PIU", "XB-PIU", NOW, &pa, &tt, why,
							sizeof(why)),
				 PIUGW_ENOAGREEMENT);
		assert_int_equal(policy_agreement_check(p[1], "XA-XB-2026-001", "XA-PIU", bad,
							"XA-PIU", "XB-PIU", NOW, &pa, &tt, why,
							sizeof(why)),
				 PIUGW_EAGREEMENTMISMATCH);
		sodium_bin2hex(hex, sizeof(hex), policy_agreement(p[1], "XA-XB-2026-001")->a->hash,
			       32);
		assert_string_equal(why, hex);
		assert_int_equal(policy_agreement_check(p[1], "XA-XB-2026-001", "XA-PIU", NULL,
							"XA-PIU", "XB-PIU", after, &pa, &tt, why,
							sizeof(why)),
				 PIUGW_ENOTINFORCE);
		assert_int_equal(policy_agreement_check(p[1], "XA-XB-2026-001", "XA-PIU", NULL,
							"XA-PIU", "XB-PIU", NOW, &pa, &tt, why,
							sizeof(why)),
				 0);
		assert_string_equal(tt->requester, "XA-PIU");
		assert_true(tt->lookouts.allowed);
	}

	/* Requested categories and max_results narrow, never widen. */
	{
		struct policy_decision dec;
		struct policy_request req = {
			.direction = POLICY_OUTBOUND, .peer = "XB-PIU", .purpose = T_TERRORISM,
			.query_type = Q_DOC, .has_justification = true, .now_ms = NOW,
			.categories = VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY) |
				      VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_PNR_PAYMENT),
			.max_results = 50};
		assert_int_equal(policy_decide(p[0], NULL, &req, &dec), 0);
		assert_int_equal(dec.categories, VOCAB_BIT(PIUGW__CATEGORY__CATEGORY_API_IDENTITY));
		assert_int_equal(dec.max_results, 10);
		req.max_results = 3;
		assert_int_equal(policy_decide(p[0], NULL, &req, &dec), 0);
		assert_int_equal(dec.max_results, 3);
	}

	/* RATE_LIMITED: XB -> XA allows 3 an hour and 5 a day, counted per direction. */
	assert_int_equal(policy_rates_new(&rates), 0);
	{
		struct policy_decision dec;
		struct policy_request req = {
			.direction = POLICY_INBOUND, .peer = "XB-PIU",
			.agreement_id = "XA-XB-2026-001", .purpose = T_TERRORISM,
			.query_type = Q_DOC, .has_justification = true, .now_ms = NOW};
		struct policy_request other = req;
		other.direction = POLICY_OUTBOUND; /* XA -> XB: its own, larger budget */
		other.peer = "XB-PIU";
		for (int i = 0; i < 3; i++)
			assert_int_equal(policy_decide(p[0], rates, &req, &dec), 0);
		assert_int_equal(policy_decide(p[0], rates, &req, &dec), PIUGW_ERATELIMITED);
		assert_true(strstr(dec.detail, "3 requests per hour") != NULL);
		assert_int_equal(policy_decide(p[0], rates, &other, &dec), 0);
		/* A refused request is not counted; an hour later two more fit the day's 5. */
		req.now_ms = NOW + 3600000;
		assert_int_equal(policy_decide(p[0], rates, &req, &dec), 0);
		assert_int_equal(policy_decide(p[0], rates, &req, &dec), 0);
		assert_int_equal(policy_decide(p[0], rates, &req, &dec), PIUGW_ERATELIMITED);
		assert_true(strstr(dec.detail, "5 requests per day") != NULL);
		/* A day later the window has moved on. */
		req.now_ms = NOW + 25 * 3600000LL;
		assert_int_equal(policy_decide(p[0], rates, &req, &dec), 0);
	}
	policy_rates_free(&rates);
	for (int i = 0; i < 3; i++)
		policy_free(&p[i]);
	diag_clear(&d);
}

static void
signed_by_both_then_suspended(void **state)
{
	struct tree *t = *state;
	struct diag d;
	struct policy *p = NULL;
	struct policy_decision dec;
	struct policy_request req = {.direction = POLICY_OUTBOUND, .peer = "XC-PIU",
				     .purpose = T_SERIOUS, .offence = 5, .query_type = Q_FLIGHT,
				     .now_ms = NOW};

	diag_init(&d);
	put_agreement(t, 0, "ac.yaml", ac_text, 1 | 4);
	p = must_load(t->conf[0], &d);
	assert_int_equal(policy_decide(p, NULL, &req, &dec), 0);
	assert_int_equal(dec.onward_transfer, PIUGW__ONWARD_TRANSFER__ONWARD_TRANSFER_WITH_CONSENT);
	/* Narrowed serious crime: SC05 yes, SC07 and none no. */
	req.offence = 7;
	assert_int_equal(policy_decide(p, NULL, &req, &dec), PIUGW_EPURPOSE);
	assert_true(strstr(dec.detail, "SC01, SC05, not SC07") != NULL);
	req.offence = 0;
	assert_int_equal(policy_decide(p, NULL, &req, &dec), PIUGW_EPURPOSE);
	req.offence = 1;
	policy_free(&p);

	/* Suspended locally: at once, no signature needed; resumed likewise. */
	char *st = pathf("%s/XA-PIU/state", t->base);
	/* The running policy sees it at once: no reload between suspend and decide. */
	p = must_load(t->conf[0], &d);
	assert_int_equal(policy_decide(p, NULL, &req, &dec), 0);
	assert_int_equal(policy_suspend(st, "XA-XC-2027-001", "partner breach, DPO case 12", &d), 0);
	assert_int_equal(policy_decide(p, NULL, &req, &dec), PIUGW_ENOTINFORCE);
	assert_true(strstr(dec.detail, "suspended here: partner breach, DPO case 12") != NULL);
	assert_int_equal(policy_resume(st, "XA-XC-2027-001", &d), 0);
	assert_int_equal(policy_decide(p, NULL, &req, &dec), 0);
	assert_int_equal(policy_resume(st, "XA-XC-2027-001", &d), PIUGW_ENOENT);
	assert_int_equal(policy_suspend(st, "../escape", "x", &d), PIUGW_EINVAL);
	policy_free(&p);

	/*
	 * Watched (as piugwd does): a suspension makes the watch readable, and
	 * once the loop has read it the decision changes; the folder of
	 * suspensions may not even exist when the watch starts.
	 */
	{
		char *susp = pathf("%s/suspended", st);
		struct pollfd pf = {.events = POLLIN};
		rmdir(susp);
		p = must_load(t->conf[0], &d);
		assert_true((pf.fd = policy_watch(p)) >= 0);
		assert_int_equal(policy_watch(p), pf.fd); /* one watch per policy */
		assert_int_equal(policy_decide(p, NULL, &req, &dec), 0);
		assert_int_equal(policy_suspend(st, "XA-XC-2027-001", "watched", &d), 0);
		assert_int_equal(poll(&pf, 1, 0), 1);
		policy_watch_changed(p);
		assert_int_equal(policy_decide(p, NULL, &req, &dec), PIUGW_ENOTINFORCE);
		assert_true(strstr(dec.detail, "suspended here: watched") != NULL);
		assert_int_equal(policy_resume(st, "XA-XC-2027-001", &d), 0);
		assert_int_equal(poll(&pf, 1, 0), 1);
		policy_watch_changed(p);
		assert_int_equal(poll(&pf, 1, 0), 0);
		assert_int_equal(policy_decide(p, NULL, &req, &dec), 0);
		policy_free(&p);
		free(susp);
	}

	/* A signature that does not verify: the partner signed other bytes. */
	char *sig = pathf("%s/XA-PIU/agreements/ac.yaml.sig", t->base);
	uint8_t *text = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read(sig, 4096, 0, &text, &len, NULL), 0);
	char *line2 = strchr((char *)text, '\n') + 1;
	line2[10] = line2[10] == '0' ? '1' : '0';
	tu_write_file(sig, text, len, 0644);
	p = must_load(t->conf[0], &d);
	assert_int_equal(policy_decide(p, NULL, &req, &dec), PIUGW_ENOTINFORCE);
	assert_true(strstr(dec.detail, "signature of XC-PIU does not verify") != NULL);
	policy_free(&p);
	fileio_free(text, len, 0);
	free(sig);
	free(st);
	diag_clear(&d);
}

static void
broken_trees_fail_with_every_reason(void **state)
{
	struct tree *t = *state;
	struct diag d;
	struct policy *p = NULL;
	char *bad = pathf("%s/XA-PIU/agreements/zz.yaml", t->base);
	char *alien = pathf("%s/XA-PIU/agreements/yy.yaml", t->base);

	diag_init(&d);
	/* A typo in one agreement and an agreement that is not ours: both reported. */
	write_text(bad, "agreement: XA-XB-2027-009\nparties: [XA-PIU, XB-PIU]\n"
			"in_force: {from: 2027-01-01, until: 2027-12-31}\nterms: []\nrequestor: x\n");
	write_text(alien, "agreement: XB-XC-1\nparties: [XB-PIU, XC-PIU]\n"
			  "in_force: {from: 2027-01-01, until: 2027-12-31}\nterms:\n"
			  "  - requester: XB-PIU\n    responder: XC-PIU\n    purposes: [terrorism]\n"
			  "    query_types: [document]\n    categories: [api.identity]\n"
			  "    disclosure: full\n    max_results: 1\n"
			  "    rate: {per_hour: 1, per_day: 1}\n    approval: manual\n"
			  "    justification: required\n    handling_code: H0\n"
			  "    onward_transfer: forbidden\n");
	assert_int_equal(policy_load(t->conf[0], NOW, &p, &d), PIUGW_ECONFIG);
	assert_null(p);
	assert_true(tu_diag_has(&d, "zz.yaml:4:8: terms must hold one or two blocks"));
	assert_true(tu_diag_has(&d, "zz.yaml:5:1: unknown key 'requestor'"));
	assert_true(tu_diag_has(&d, "yy.yaml: agreement XB-XC-1 is between XB-PIU and XC-PIU, not "
				 "this gateway (XA-PIU)"));
	remove(bad);
	remove(alien);
	diag_clear(&d);

	/* A party that the directory does not list. */
	write_text(bad, "agreement: XA-XZ-1\nparties: [XA-PIU, XZ-PIU]\n"
			"in_force: {from: 2027-01-01, until: 2027-12-31}\nterms:\n"
			"  - requester: XA-PIU\n    responder: XZ-PIU\n    purposes: [terrorism]\n"
			"    query_types: [document]\n    categories: [api.identity]\n"
			"    disclosure: full\n    max_results: 1\n"
			"    rate: {per_hour: 1, per_day: 1}\n    approval: manual\n"
			"    justification: required\n    handling_code: H0\n"
			"    onward_transfer: forbidden\n");
	/*
	 * The secretariat's word wins: loaded, but not in force, with a warning
	 * (a reload that drops a member from the directory is taken, and the
	 * member is cut off, rather than refused with the member served on).
	 */
	assert_int_equal(policy_load(t->conf[0], NOW, &p, &d), 0);
	assert_true(tu_diag_has(&d, "not in force: party XZ-PIU is not in the member directory"));
	{
		const struct policy_agreement *pa = policy_agreement(p, "XA-XZ-1");
		char why[200];
		assert_non_null(pa);
		assert_int_equal(policy_agreement_state(pa, NOW, why, sizeof(why)), POLICY_NOT_MEMBER);
	}
	policy_free(&p);
	remove(bad);
	diag_clear(&d);

	/* A typo in piugwd.yaml. */
	char *conf = pathf("%s/XB-PIU/piugwd.yaml", t->base);
	uint8_t *orig = NULL;
	size_t olen = 0;
	assert_int_equal(fileio_read(conf, 65536, 0, &orig, &olen, NULL), 0);
	write_text(conf, "gateway:\n  id: XB-PIU\n  listen: tcp://127.0.0.1:17402\n"
			 "  certifcate: ../certs/XB-PIU.cert_secret\nlimits:\n  freshness_seconds: 5\n");
	assert_int_equal(policy_load(conf, NOW, &p, &d), PIUGW_ECONFIG);
	assert_true(tu_diag_has(&d, "unknown key 'certifcate' in gateway; did you mean 'certificate'?"));
	assert_true(tu_diag_has(&d, "freshness_seconds '5' is not a whole number from 10 to 3600"));
	tu_write_file(conf, orig, olen, 0644);
	fileio_free(orig, olen, 0);
	free(conf);
	diag_clear(&d);

	/* The directory lists other keys for us than our certificate holds. */
	struct keys_secret *saved = t->k[1];
	assert_int_equal(keys_generate("XB-PIU", &t->k[1]), 0);
	write_directory(t, 2, "2099-12-31");
	assert_int_equal(policy_load(t->conf[1], NOW, &p, &d), PIUGW_ECONFIG);
	assert_true(tu_diag_has(&d, "the directory lists other keys for XB-PIU"));
	keys_secret_free(&t->k[1]);
	t->k[1] = saved;
	write_directory(t, 2, "2099-12-31");
	diag_clear(&d);
	free(bad);
	free(alien);
}

static void
reload_is_atomic_and_rollback_refused(void **state)
{
	struct tree *t = *state;
	struct diag d;
	struct policy *cur = NULL, *before;
	struct policy_decision dec;
	struct policy_request req = {.direction = POLICY_OUTBOUND, .peer = "XB-PIU",
				     .purpose = T_TERRORISM, .query_type = Q_LOCATOR,
				     .has_justification = true, .now_ms = NOW};
	char *ab = pathf("%s/XA-PIU/agreements/ab.yaml", t->base);

	diag_init(&d);
	write_directory(t, 5, "2099-12-31");
	assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), 0);
	assert_non_null(cur);
	assert_int_equal(policy_decide(cur, NULL, &req, &dec), 0);
	before = cur;

	/* A broken agreement: the reload fails, the running policy stays and still decides. */
	write_text(ab, "agreement: XA-XB-2026-001\nparties: [XA-PIU, XB-PIU]\nterms: nonsense\n");
	assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), PIUGW_ECONFIG);
	assert_ptr_equal(cur, before);
	assert_true(tu_diag_has(&d, "the running configuration stays in force"));
	assert_int_equal(policy_decide(cur, NULL, &req, &dec), 0);
	diag_clear(&d);

	/* Fixed, and locator queries removed: the new terms apply after the swap. */
	char *fixed = strdup(ab_text);
	char *q = strstr(fixed, ", locator]");
	memmove(q, q + strlen(", locator"), strlen(q + strlen(", locator")) + 1);
	put_agreement(t, 0, "ab.yaml", fixed, 1 | 2);
	assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), 0);
	assert_int_equal(policy_decide(cur, NULL, &req, &dec), PIUGW_EQUERYTYPE);
	free(fixed);

	/* An older directory (serial 4 after 5) is refused as a rollback. */
	write_directory(t, 4, "2099-12-31");
	before = cur;
	assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), PIUGW_EROLLBACK);
	assert_ptr_equal(cur, before);
	assert_true(tu_diag_has(&d, "directory serial 4 is lower than 5"));
	diag_clear(&d);

	/* An expired directory loads, loudly. */
	write_directory(t, 6, "2027-05-01");
	assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), 0);
	assert_true(tu_diag_has(&d, "warning: "));
	assert_true(tu_diag_has(&d, "the directory expired on 2027-05-01"));
	put_agreement(t, 0, "ab.yaml", ab_text, 1 | 2);
	write_directory(t, 7, "2099-12-31");
	diag_clear(&d);

	/*
	 * The running gateway's keys are the key holder's: a reload does not
	 * read the certificate (the main process may not), and one that names
	 * another is refused: new keys take a restart.
	 */
	{
		char *cert = pathf("%s/certs/XA-PIU.cert_secret", t->base);
		char *moved = pathf("%s/certs/XA-PIU.cert_secret.away", t->base);
		char *text = pathf("gateway:\n  id: XA-PIU\n  listen: tcp://127.0.0.1:17401\n"
				   "  certificate: ../certs/XA-PIU.cert_secret.away\n"
				   "directory:\n  file: ../directory.yaml\n"
				   "  secretariat_key: ../secretariat.pub\nstate: state\n");
		char *old = NULL;
		size_t cap = 0;
		FILE *f = fopen(t->conf[0], "r");
		assert_non_null(f);
		assert_true(getdelim(&old, &cap, '\0', f) > 0);
		fclose(f);
		assert_int_equal(rename(cert, moved), 0);
		before = cur;
		assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), 0);
		assert_ptr_not_equal(cur, before);
		diag_clear(&d);
		write_text(t->conf[0], text);
		before = cur;
		assert_int_equal(policy_reload(&cur, t->conf[0], NOW, &d), PIUGW_ECONFIG);
		assert_ptr_equal(cur, before);
		assert_true(tu_diag_has(&d, "gateway.certificate changed"));
		assert_true(tu_diag_has(&d, "new keys take a restart"));
		write_text(t->conf[0], old);
		assert_int_equal(rename(moved, cert), 0);
		free(old);
		free(text);
		free(cert);
		free(moved);
	}
	policy_free(&cur);
	free(ab);
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loads_and_reports_states, setup, teardown),
		cmocka_unit_test_setup_teardown(every_refusal_code_and_the_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(signed_by_both_then_suspended, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_trees_fail_with_every_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_is_atomic_and_rollback_refused, setup,
						teardown),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
