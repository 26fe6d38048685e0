/*
 * test_keys.c: key generation, certificate files, their refusals, and
 * interoperability with czmq's zcert in both directions.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <czmq.h>
#include <sodium.h>

#include "encoding.h"
#include "keys.h"
#include "piugw/error.h"
#include "testutil.h"

static mode_t
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
gateway_ids(void **state)
{
	(void)state;
	assert_true(keys_id_valid("XA-PIU", 6));
	assert_true(keys_id_valid("X.1", 3));
	assert_true(keys_id_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32));
	assert_false(keys_id_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 33));
	assert_false(keys_id_valid("XA", 2));
	assert_false(keys_id_valid("xa-piu", 6));
	assert_false(keys_id_valid("XA/PIU", 6));
	assert_false(keys_id_valid("XA PIU", 6));
	assert_false(keys_id_valid("XA\0PIU", 6));
	assert_false(keys_id_valid(NULL, 0));
}

static void
generate_save_and_load_back(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *pub_path = tu_path(dir, "XA-PIU.cert");
	char *sec_path = tu_path(dir, "XA-PIU.cert_secret");
	struct keys_secret *k = NULL, *k2 = NULL;
	struct keys_public pub;
	struct diag d;
	uint8_t sig[64];
	const char msg[] = "piugw";

	diag_init(&d);
	umask(022);
	assert_int_equal(keys_generate("XA-PIU", &k), 0);
	assert_int_equal(keys_save(k, dir, &d), 0);
	assert_int_equal(file_mode(sec_path), 0600);
	assert_int_equal(file_mode(pub_path), 0644);

	assert_int_equal(keys_public_load(pub_path, &pub, &d), 0);
	assert_string_equal(pub.id, "XA-PIU");
	assert_memory_equal(pub.transport_pk, keys_secret_public(k)->transport_pk, 32);
	assert_memory_equal(pub.sign_pk, keys_secret_public(k)->sign_pk, 32);

	assert_int_equal(keys_secret_load(sec_path, &k2, &d), 0);
	assert_memory_equal(keys_secret_public(k2), keys_secret_public(k), sizeof(pub));
	/* The loaded signing key signs what the public key verifies. */
	assert_int_equal(keys_sign(k2, sig, (const uint8_t *)msg, sizeof(msg)), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof(msg),
						     pub.sign_pk), 0);
	/* A secret file also yields its public half. */
	assert_int_equal(keys_public_load(sec_path, &pub, &d), 0);
	assert_memory_equal(pub.transport_pk, keys_secret_public(k)->transport_pk, 32);
	/* The public file is refused as a secret: first for its mode, then its content. */
	keys_secret_free(&k2);
	assert_int_equal(keys_secret_load(pub_path, &k2, &d), PIUGW_EKEYPERM);
	assert_int_equal(chmod(pub_path, 0600), 0);
	assert_int_equal(keys_secret_load(pub_path, &k2, &d), PIUGW_EKEYFILE);
	assert_true(tu_diag_has(&d, "not a secret certificate"));
	assert_null(k2);

	keys_secret_free(&k);
	keys_secret_free(&k); /* NULL after free; a second free is harmless */
	assert_null(k);
	diag_clear(&d);
	free(pub_path);
	free(sec_path);
	tu_rmtree(dir);
}

static void
two_generated_keys_differ_and_agree_on_dh(void **state)
{
	(void)state;
	struct keys_secret *a = NULL, *b = NULL;
	uint8_t s1[32], s2[32];

	assert_int_equal(keys_generate("XA-PIU", &a), 0);
	assert_int_equal(keys_generate("XB-PIU", &b), 0);
	assert_memory_not_equal(keys_secret_public(a)->transport_pk,
				keys_secret_public(b)->transport_pk, 32);
	assert_int_equal(keys_dh(a, keys_secret_public(b)->transport_pk, s1), 0);
	assert_int_equal(keys_dh(b, keys_secret_public(a)->transport_pk, s2), 0);
	assert_memory_equal(s1, s2, 32);
	keys_secret_free(&a);
	assert_int_equal(keys_generate("bad id", &a), PIUGW_EBADID);
	assert_null(a);
	keys_secret_free(&b);
}

static void
refuses_to_overwrite(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *pub_path = tu_path(dir, "XA-PIU.cert");
	char *sec_path = tu_path(dir, "XA-PIU.cert_secret");
	struct keys_secret *k1 = NULL, *k2 = NULL, *back = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(keys_generate("XA-PIU", &k1), 0);
	assert_int_equal(keys_generate("XA-PIU", &k2), 0);
	assert_int_equal(keys_save(k1, dir, &d), 0);
	assert_int_equal(keys_save(k2, dir, &d), PIUGW_EEXIST);
	assert_true(tu_diag_has(&d, "refusing to overwrite"));
	/* The first keys are still there, untouched. */
	assert_int_equal(keys_secret_load(sec_path, &back, &d), 0);
	assert_memory_equal(keys_secret_public(back), keys_secret_public(k1),
			    sizeof(struct keys_public));
	keys_secret_free(&back);

	/* Only the public file present: still refused, and no secret appears. */
	assert_int_equal(unlink(sec_path), 0);
	assert_int_equal(keys_save(k2, dir, &d), PIUGW_EEXIST);
	assert_int_equal(access(sec_path, F_OK), -1);

	keys_secret_free(&k1);
	keys_secret_free(&k2);
	diag_clear(&d);
	free(pub_path);
	free(sec_path);
	tu_rmtree(dir);
}

static void
refuses_secret_readable_by_others(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *sec_path = tu_path(dir, "XA-PIU.cert_secret");
	struct keys_secret *k = NULL;
	struct diag d;
	static const mode_t bad[] = {0640, 0604, 0660, 0644, 0602};

	diag_init(&d);
	assert_int_equal(keys_generate("XA-PIU", &k), 0);
	assert_int_equal(keys_save(k, dir, &d), 0);
	keys_secret_free(&k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(sec_path, bad[i]), 0);
		assert_int_equal(keys_secret_load(sec_path, &k, &d), PIUGW_EKEYPERM);
		assert_null(k);
		assert_true(tu_diag_has(&d, "chmod 600"));
		diag_clear(&d);
	}
	assert_int_equal(chmod(sec_path, 0400), 0);
	assert_int_equal(keys_secret_load(sec_path, &k, &d), 0);
	keys_secret_free(&k);
	free(sec_path);
	tu_rmtree(dir);
}

static void
file_limits(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *missing = tu_path(dir, "nope.cert");
	char *big = tu_path(dir, "big.cert");
	struct keys_public pub;
	struct diag d;
	size_t n = KEYS_FILE_MAX + 1;
	char *junk = malloc(n);

	diag_init(&d);
	assert_int_equal(keys_public_load(missing, &pub, &d), PIUGW_ENOENT);
	assert_int_equal(keys_public_load(dir, &pub, &d), PIUGW_EFILETYPE);
	memset(junk, '#', n);
	tu_write_file(big, junk, n, 0644);
	assert_int_equal(keys_public_load(big, &pub, &d), PIUGW_EFILESIZE);
	assert_true(tu_diag_has(&d, "more than the"));
	free(junk);
	diag_clear(&d);
	free(missing);
	free(big);
	tu_rmtree(dir);
}

/* A valid public certificate with the given keys (Z85) for mutation. */
#define PUB_OK                                                                                     \
	"metadata\n"                                                                               \
	"    gateway-id = \"XA-PIU\"\n"                                                           \
	"    sign-public-key = \"c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TFy\"\n"                    \
	"curve\n"                                                                                  \
	"    public-key = \"gLLGSz0/%>q-z.JE#9t9/:Cu=ElrTN9UCT7=io[^\"\n"

static void
parses_variants_of_zpl(void **state)
{
	(void)state;
	static const char *const ok[] = {
		PUB_OK,
		/* CRLF line ends, comments everywhere, single quotes, bare values */
		"# a comment\r\n\r\nmetadata   # trailing comment\r\n"
		"    gateway-id = 'XA-PIU'\r\n"
		"    # indented comment\r\n"
		"    sign-public-key = c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TFy   # bare\r\n"
		"    extra = \"czmq metadata is allowed\"\r\n"
		"curve\r\n    public-key = \"gLLGSz0/%>q-z.JE#9t9/:Cu=ElrTN9UCT7=io[^\"",
		/* sections in the other order; an unknown section is ignored */
		"curve\n    public-key = \"gLLGSz0/%>q-z.JE#9t9/:Cu=ElrTN9UCT7=io[^\"\n"
		"other\n    x = 1\n"
		"metadata\n    gateway-id = \"XA-PIU\"\n"
		"    sign-public-key = \"c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TFy\"\n",
	};
	uint8_t tpk[32];

	tu_unhex_into(tpk, 32, "3385f5326ceddb145337c6db7f88e917d90bb9a37d3c91901e11b0d1ce05a178");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct keys_public pub;
		struct diag d;

		diag_init(&d);
		if (keys_public_parse(ok[i], strlen(ok[i]), "t.cert", &pub, &d) != 0) {
			tu_diag_dump(&d);
			fail_msg("variant %zu refused", i);
		}
		assert_string_equal(pub.id, "XA-PIU");
		assert_memory_equal(pub.transport_pk, tpk, 32);
		diag_clear(&d);
	}
}

static void
refuses_malformed_certificates_precisely(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *expect; /* a substring of one diagnostic */
	} cases[] = {
		{"metadata\n\tgateway-id = \"XA-PIU\"\n", "t.cert:2:1: tab in indentation"},
		{"metadata\n   gateway-id = \"XA-PIU\"\n", "t.cert:2:1: indentation of 3 spaces"},
		{"curve\n    public-key = \"gLLGSz0/%>q-z.JE#9t9/:Cu=ElrTN9UCT7=io[^\"\n"
		 "metadata\n    sign-public-key = \"c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TFy\"\n",
		 "t.cert: missing 'gateway-id'"},
		{"metadata\n    gateway-id = \"xa\"\n", "t.cert:2:18: gateway-id 'xa' is not"},
		{"metadata\n    gateway-id = \"XA-PIU\"\n"
		 "    sign-public-key = \"c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TF\"\n",
		 "t.cert:3:23: sign-public-key is not a Z85 key of 40 characters"},
		{"metadata\n    gateway-id = \"XA-PIU\"\n"
		 "    sign-public-key = \"c+fB$X)j1kv9))iJgaR$W(hE{&Sv>+cqks8o+TF,\"\n",
		 "sign-public-key is not a Z85 key"},
		{PUB_OK "    public-key = \"gLLGSz0/%>q-z.JE#9t9/:Cu=ElrTN9UCT7=io[^\"\n",
		 "t.cert:6:18: 'public-key' given twice (first on line 5)"},
		{PUB_OK "    private-key = \"x\"\n", "unknown key 'private-key' under 'curve'"},
		{"metadata\n    gateway-id = \"XA-PIU\n", "t.cert:2:18: value has no closing \" quote"},
		{"metadata\n    gateway-id = \"XA-PIU\" junk\n", "t.cert:2:27: unexpected text"},
		{"metadata\n        deeper = \"x\"\n", "t.cert:2:9: expected 'name = \"value\"'"},
		{"    gateway-id = \"XA-PIU\"\n", "t.cert:1:5: expected 'name = \"value\"'"},
		{"metadata = \"x\"\n", "t.cert:1:12: a section name takes no value"},
		{"metadata\n    = \"x\"\n", "t.cert:2:5: expected a name"},
		{"metadata\n    gateway-id = \"XA-\0PIU\"\n", "NUL byte"},
		{"", "missing 'gateway-id'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keys_public pub;
		struct diag d;
		/* The NUL case needs its real length. */
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].expect, "NUL") != NULL)
			len += 1 + strlen(cases[i].text + len + 1);

		diag_init(&d);
		assert_int_equal(keys_public_parse(cases[i].text, len, "t.cert", &pub, &d),
				 PIUGW_EKEYFILE);
		if (!tu_diag_has(&d, cases[i].expect)) {
			tu_diag_dump(&d);
			fail_msg("case %zu: no diagnostic containing \"%s\"", i, cases[i].expect);
		}
		diag_clear(&d);
	}
}

static void
reports_every_problem_at_once(void **state)
{
	(void)state;
	const char *text = "metadata\n"
			   "    gateway-id = \"bad id\"\n"
			   "    sign-public-key = \"short\"\n"
			   "curve\n"
			   "    public-key = \"also short\"\n";
	struct keys_public pub;
	struct diag d;

	diag_init(&d);
	assert_int_equal(keys_public_parse(text, strlen(text), "t.cert", &pub, &d), PIUGW_EKEYFILE);
	assert_int_equal(d.n, 3);
	assert_true(tu_diag_has(&d, "t.cert:2:18: gateway-id"));
	assert_true(tu_diag_has(&d, "t.cert:3:23: sign-public-key"));
	assert_true(tu_diag_has(&d, "t.cert:5:18: public-key"));
	diag_clear(&d);
}

static void
refuses_secrets_that_do_not_match(void **state)
{
	(void)state;
	json_t *v = tu_load_vectors("envelope-v1.json");
	const json_t *xa = json_array_get(json_object_get(v, "parties"), 0);
	const json_t *xb = json_array_get(json_object_get(v, "parties"), 1);
	struct keys_secret *k = NULL;
	struct diag d;
	char *text = NULL;
	uint8_t tsk[32], ssk[64];

	diag_init(&d);
	/* XA's public keys with XB's transport secret. */
	assert_true(asprintf(&text,
			     "metadata\n    gateway-id = \"XA-PIU\"\n"
			     "    sign-public-key = \"%s\"\n    sign-secret-key = \"%s\"\n"
			     "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
			     tu_json_str(xa, "sign_public_z85"), tu_json_str(xa, "sign_secret_z85"),
			     tu_json_str(xa, "transport_public_z85"),
			     tu_json_str(xb, "transport_secret_z85")) > 0);
	assert_int_equal(keys_secret_parse(text, strlen(text), "t", &k, &d), PIUGW_EKEYMISMATCH);
	assert_true(tu_diag_has(&d, "do not belong"));
	assert_null(k);
	free(text);
	diag_clear(&d);

	/* The right secrets load, and equal the raw vector keys. */
	assert_true(asprintf(&text,
			     "metadata\n    gateway-id = \"XA-PIU\"\n"
			     "    sign-public-key = \"%s\"\n    sign-secret-key = \"%s\"\n"
			     "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
			     tu_json_str(xa, "sign_public_z85"), tu_json_str(xa, "sign_secret_z85"),
			     tu_json_str(xa, "transport_public_z85"),
			     tu_json_str(xa, "transport_secret_z85")) > 0);
	assert_int_equal(keys_secret_parse(text, strlen(text), "t", &k, &d), 0);
	keys_secret_free(&k);
	free(text);

	/* keys_from_raw: an Ed25519 secret whose public half was altered. */
	tu_unhex_into(tsk, 32, tu_json_str(xa, "transport_secret_hex"));
	tu_unhex_into(ssk, 64, tu_json_str(xa, "sign_secret_hex"));
	ssk[40] ^= 1;
	assert_int_equal(keys_from_raw("XA-PIU", tsk, ssk, &k), PIUGW_EKEYMISMATCH);
	assert_null(k);
	json_decref(v);
}

static void
refuses_low_order_peer_keys(void **state)
{
	(void)state;
	/* Points of small order on Curve25519: their shared secret is all zero. */
	static const char *const low[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	struct keys_secret *k = NULL;
	uint8_t pk[32], shared[32];

	assert_int_equal(keys_generate("XA-PIU", &k), 0);
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		tu_unhex_into(pk, 32, low[i]);
		memset(shared, 0xaa, sizeof(shared));
		assert_int_equal(keys_dh(k, pk, shared), PIUGW_EWEAKKEY);
		assert_true(sodium_is_zero(shared, 32));
	}
	keys_secret_free(&k);
}

/* ---- czmq interoperability ---- */

static void
czmq_saved_certificate_loads_in_ours(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *pub_path = tu_path(dir, "XC-PIU.cert");
	char *sec_path = tu_path(dir, "XC-PIU.cert_secret");
	uint8_t tpk[32], tsk[32], spk[32], ssk[64];
	char spk_z[41], ssk_z[81];
	zcert_t *cert;
	struct keys_public pub;
	struct keys_secret *k = NULL;
	struct diag d;

	diag_init(&d);
	crypto_box_keypair(tpk, tsk);
	crypto_sign_keypair(spk, ssk);
	z85_encode(spk_z, sizeof(spk_z), spk, 32);
	z85_encode(ssk_z, sizeof(ssk_z), ssk, 64);
	cert = zcert_new_from(tpk, tsk);
	assert_non_null(cert);
	zcert_set_meta(cert, "gateway-id", "%s", "XC-PIU");
	zcert_set_meta(cert, "sign-public-key", "%s", spk_z);
	/* zcert_save writes both files; the public one with only public metadata. */
	assert_int_equal(zcert_save_public(cert, pub_path), 0);
	zcert_set_meta(cert, "sign-secret-key", "%s", ssk_z);
	assert_int_equal(zcert_save_secret(cert, sec_path), 0);
	zcert_destroy(&cert);
	chmod(sec_path, 0600); /* whatever czmq chose, we insist on 0600 */

	if (keys_public_load(pub_path, &pub, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("czmq's public certificate did not load");
	}
	assert_string_equal(pub.id, "XC-PIU");
	assert_memory_equal(pub.transport_pk, tpk, 32);
	assert_memory_equal(pub.sign_pk, spk, 32);
	if (keys_secret_load(sec_path, &k, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("czmq's secret certificate did not load");
	}
	assert_memory_equal(keys_secret_public(k)->transport_pk, tpk, 32);
	keys_secret_free(&k);
	sodium_memzero(tsk, sizeof(tsk));
	sodium_memzero(ssk, sizeof(ssk));
	diag_clear(&d);
	free(pub_path);
	free(sec_path);
	tu_rmtree(dir);
}

static void
our_certificate_loads_in_czmq(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *pub_path = tu_path(dir, "XB-PIU.cert");
	char *sec_path = tu_path(dir, "XB-PIU.cert_secret");
	struct keys_secret *k = NULL;
	struct diag d;
	zcert_t *cert;
	char spk_z[41];
	uint8_t derived[32];

	diag_init(&d);
	assert_int_equal(keys_generate("XB-PIU", &k), 0);
	assert_int_equal(keys_save(k, dir, &d), 0);
	z85_encode(spk_z, sizeof(spk_z), keys_secret_public(k)->sign_pk, 32);

	/* The public file alone (as a peer would hold it). */
	cert = zcert_load(pub_path);
	assert_non_null(cert);
	assert_memory_equal(zcert_public_key(cert), keys_secret_public(k)->transport_pk, 32);
	assert_string_equal(zcert_meta(cert, "gateway-id"), "XB-PIU");
	assert_string_equal(zcert_meta(cert, "sign-public-key"), spk_z);
	zcert_destroy(&cert);

	/* The secret file: its secret key is the one behind our public key. */
	cert = zcert_load(sec_path);
	assert_non_null(cert);
	assert_memory_equal(zcert_public_key(cert), keys_secret_public(k)->transport_pk, 32);
	assert_int_equal(crypto_scalarmult_base(derived, zcert_secret_key(cert)), 0);
	assert_memory_equal(derived, keys_secret_public(k)->transport_pk, 32);
	assert_non_null(zcert_meta(cert, "sign-secret-key"));
	zcert_destroy(&cert);

	keys_secret_free(&k);
	diag_clear(&d);
	free(pub_path);
	free(sec_path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gateway_ids),
		cmocka_unit_test(generate_save_and_load_back),
		cmocka_unit_test(two_generated_keys_differ_and_agree_on_dh),
		cmocka_unit_test(refuses_to_overwrite),
		cmocka_unit_test(refuses_secret_readable_by_others),
		cmocka_unit_test(file_limits),
		cmocka_unit_test(parses_variants_of_zpl),
		cmocka_unit_test(refuses_malformed_certificates_precisely),
		cmocka_unit_test(reports_every_problem_at_once),
		cmocka_unit_test(refuses_secrets_that_do_not_match),
		cmocka_unit_test(refuses_low_order_peer_keys),
		cmocka_unit_test(czmq_saved_certificate_loads_in_ours),
		cmocka_unit_test(our_certificate_loads_in_czmq),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
