/*
 * test_directory.c: the member directory, signed with Debian's real
 * minisign tool and verified here, and the other way round; tampering,
 * legacy signatures, other keys, rollback, and malformed directories.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <sodium.h>

#include "directory.h"
#include "encoding.h"
#include "fileio.h"
#include "minisign.h"
#include "piugw/error.h"
#include "testutil.h"

struct fx {
	char *dir;
	char *pub, *key, *yaml, *sig;
	char *text; /* the directory text */
};

/* Run a shell command; returns its exit status. Paths are ours (mkdtemp). */
static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL;
	int rc;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A directory text with n freshly generated members XA.., serial, expiry. */
static char *
directory_text(unsigned serial, const char *expires)
{
	char *text = NULL, *members = strdup("");
	const char *ids[] = {"XA-PIU", "XB-PIU", "XC-PIU"};

	for (int i = 0; i < 3; i++) {
		struct keys_secret *k = NULL;
		char tpk[41], spk[41], *m = NULL;
		assert_int_equal(keys_generate(ids[i], &k), 0);
		z85_encode(tpk, sizeof(tpk), keys_secret_public(k)->transport_pk, 32);
		z85_encode(spk, sizeof(spk), keys_secret_public(k)->sign_pk, 32);
		assert_true(asprintf(&m,
				     "%s  - id: %s\n    state: %.2s\n    name: PIU %.2s\n"
				     "    endpoint: tcp://127.0.0.1:%d\n    transport_key: \"%s\"\n"
				     "    signing_key: \"%s\"\n    urgent_contact: \"+00 555 010%d\"\n",
				     members, ids[i], ids[i], ids[i], 7401 + i, tpk, spk, i) > 0);
		free(members);
		members = m;
		keys_secret_free(&k);
	}
	assert_true(asprintf(&text, "serial: %u\nexpires: %s\nmembers:\n%s", serial, expires,
			     members) > 0);
	free(members);
	return text;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_tmpdir();
	f->pub = tu_path(f->dir, "secretariat.pub");
	f->key = tu_path(f->dir, "secretariat.key");
	f->yaml = tu_path(f->dir, "directory.yaml");
	f->sig = tu_path(f->dir, "directory.yaml.minisig");
	if (sh("minisign -G -W -p '%s' -s '%s' >/dev/null 2>&1", f->pub, f->key) != 0)
		fail_msg("the minisign tool is needed (apt-get install minisign)");
	f->text = directory_text(7, "2099-12-31");
	tu_write_file(f->yaml, f->text, strlen(f->text), 0644);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	free(f->pub);
	free(f->key);
	free(f->yaml);
	free(f->sig);
	free(f->text);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static int
load(struct fx *f, struct directory **dirp, struct diag *d)
{
	struct minisign_pubkey pk;

	assert_int_equal(minisign_pubkey_load(f->pub, &pk, d), 0);
	return directory_load(f->yaml, f->sig, &pk, dirp, d);
}

static void
signed_by_minisign_verifies_here(void **state)
{
	struct fx *f = *state;
	struct directory *dir = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(sh("minisign -S -s '%s' -m '%s' >/dev/null 2>&1", f->key, f->yaml), 0);
	if (load(f, &dir, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("a directory signed by minisign did not verify");
	}
	assert_int_equal(dir->serial, 7);
	assert_int_equal(dir->n, 3);
	assert_non_null(directory_member(dir, "XB-PIU"));
	assert_string_equal(directory_member(dir, "XB-PIU")->endpoint, "tcp://127.0.0.1:7402");
	assert_null(directory_member(dir, "XZ-PIU"));
	assert_false(directory_expired(dir, 0));
	directory_free(&dir);
	assert_null(dir);

	/* One byte changed after signing: refused. */
	f->text[20] ^= 0x01;
	tu_write_file(f->yaml, f->text, strlen(f->text), 0644);
	assert_int_equal(load(f, &dir, &d), PIUGW_EBADSIG);
	assert_true(tu_diag_has(&d, "signature verification failed"));
	assert_null(dir);
	f->text[20] ^= 0x01;
	tu_write_file(f->yaml, f->text, strlen(f->text), 0644);
	diag_clear(&d);
}

static void
legacy_signature_refused_clearly(void **state)
{
	struct fx *f = *state;
	struct directory *dir = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(sh("minisign -S -l -s '%s' -m '%s' >/dev/null 2>&1", f->key, f->yaml), 0);
	assert_int_equal(load(f, &dir, &d), PIUGW_ELEGACYSIG);
	assert_true(tu_diag_has(&d, "legacy (non-prehashed) minisign signature"));
	diag_clear(&d);
}

static void
other_key_and_altered_comment_refused(void **state)
{
	struct fx *f = *state;
	struct directory *dir = NULL;
	struct diag d;
	char *pub2 = tu_path(f->dir, "other.pub"), *key2 = tu_path(f->dir, "other.key");
	uint8_t *sig = NULL;
	size_t len = 0;
	char *p;

	diag_init(&d);
	assert_int_equal(sh("minisign -G -W -p '%s' -s '%s' >/dev/null 2>&1", pub2, key2), 0);
	assert_int_equal(sh("minisign -S -s '%s' -m '%s' >/dev/null 2>&1", key2, f->yaml), 0);
	assert_int_equal(load(f, &dir, &d), PIUGW_EKEYID);
	assert_true(tu_diag_has(&d, "but the trusted key is"));
	diag_clear(&d);

	/* Signed by the right key, then the trusted comment edited. */
	assert_int_equal(sh("minisign -S -s '%s' -m '%s' -t 'serial 7' >/dev/null 2>&1", f->key,
			    f->yaml), 0);
	assert_int_equal(fileio_read(f->sig, 4096, 0, &sig, &len, NULL), 0);
	assert_non_null(p = strstr((char *)sig, "serial 7"));
	p[7] = '8';
	tu_write_file(f->sig, sig, len, 0644);
	assert_int_equal(load(f, &dir, &d), PIUGW_EBADSIG);
	assert_true(tu_diag_has(&d, "trusted comment was changed"));
	fileio_free(sig, len, 0);

	/* No signature file at all. */
	remove(f->sig);
	assert_int_equal(load(f, &dir, &d), PIUGW_ENOENT);
	assert_true(tu_diag_has(&d, "must be signed by the secretariat"));
	diag_clear(&d);
	free(pub2);
	free(key2);
}

/* piugw's signer produces what the stock minisign tool verifies. */
static void
our_signature_verifies_with_minisign(void **state)
{
	struct fx *f = *state;
	struct minisign_seckey *k = NULL;
	uint8_t *key = NULL;
	size_t key_len = 0;
	char *text = NULL;
	struct diag d;
	struct directory *dir = NULL;

	diag_init(&d);
	assert_int_equal(fileio_read(f->key, 4096, 0, &key, &key_len, NULL), 0);
	assert_int_equal(minisign_seckey_encrypted((char *)key, key_len), 0);
	assert_int_equal(minisign_seckey_parse((char *)key, key_len, "k", NULL, &k, &d), 0);
	assert_int_equal(minisign_sign(k, (const uint8_t *)f->text, strlen(f->text), "serial 7",
				       &text), 0);
	tu_write_file(f->sig, text, strlen(text), 0644);
	assert_int_equal(sh("minisign -V -q -p '%s' -m '%s'", f->pub, f->yaml), 0);
	assert_int_equal(load(f, &dir, &d), 0);
	directory_free(&dir);
	free(text);
	assert_int_equal(minisign_sign(k, (const uint8_t *)"x", 1, "two\nlines", &text),
			 PIUGW_EINVAL);
	assert_null(text);
	minisign_seckey_free(&k);
	fileio_free(key, key_len, 0);
	diag_clear(&d);
}

/* A password-protected minisign key (scrypt), as the secretariat should keep it. */
static void
encrypted_secret_key(void **state)
{
	struct fx *f = *state;
	char *pub = tu_path(f->dir, "enc.pub"), *key = tu_path(f->dir, "enc.key");
	struct minisign_seckey *k = NULL;
	struct minisign_pubkey pk;
	uint8_t *text = NULL;
	size_t len = 0;
	char *sig = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(sh("printf 'correct horse\\ncorrect horse\\n' | minisign -G -p '%s' -s '%s' "
			    ">/dev/null 2>&1", pub, key), 0);
	assert_int_equal(fileio_read(key, 4096, 0, &text, &len, NULL), 0);
	assert_int_equal(minisign_seckey_encrypted((char *)text, len), 1);
	assert_int_equal(minisign_seckey_parse((char *)text, len, "enc.key", NULL, &k, &d),
			 PIUGW_EPASSWORD);
	assert_int_equal(minisign_seckey_parse((char *)text, len, "enc.key", "wrong", &k, &d),
			 PIUGW_EPASSWORD);
	assert_true(tu_diag_has(&d, "wrong password"));
	assert_null(k);
	assert_int_equal(minisign_seckey_parse((char *)text, len, "enc.key", "correct horse", &k,
					       &d), 0);
	assert_int_equal(minisign_sign(k, (const uint8_t *)"m", 1, "c", &sig), 0);
	assert_int_equal(minisign_pubkey_load(pub, &pk, &d), 0);
	assert_int_equal(minisign_verify(&pk, (const uint8_t *)"m", 1, sig, strlen(sig), "s", NULL,
					 &d), 0);
	free(sig);
	minisign_seckey_free(&k);
	fileio_free(text, len, 0);
	free(pub);
	free(key);
	diag_clear(&d);
}

static void
malformed_directories(void **state)
{
	(void)state;
	char *good = directory_text(3, "2027-01-01");
	static const struct {
		const char *from, *to, *expect;
	} cases[] = {
		{"serial: 3", "serial: 0", "serial '0' is not a whole number"},
		{"serial: 3", "serial: three", "serial 'three' is not a whole number"},
		{"expires: 2027-01-01", "expires: 2027-13-01", "expires '2027-13-01' is not a date"},
		{"    state: XB", "    state: xb", "state 'xb' is not an ISO 3166-1 alpha-2 code"},
		{"tcp://127.0.0.1:7402", "udp://127.0.0.1:7402", "is not tcp://HOST:PORT"},
		{"tcp://127.0.0.1:7402", "tcp://127.0.0.1:99999", "is not tcp://HOST:PORT"},
		{"  - id: XC-PIU", "  - id: XB-PIU", "member XB-PIU is listed twice"},
		{"  - id: XC-PIU", "  - id: xc", "member id 'xc' is not a gateway id"},
		{"    urgent_contact: \"+00 555 0101\"", "    urgent_contct: x",
		 "unknown key 'urgent_contct' in a member; did you mean 'urgent_contact'?"},
		{"    urgent_contact: \"+00 555 0101\"", "", "missing 'urgent_contact' in the member"},
		{"members:", "memberz:", "did you mean 'members'?"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = malloc(strlen(good) + 64), *at;
		struct directory *dir = NULL;
		struct diag d;

		diag_init(&d);
		assert_non_null(at = strstr(good, cases[i].from));
		size_t pre = (size_t)(at - good);
		memcpy(text, good, pre);
		strcpy(text + pre, cases[i].to);
		strcat(text, at + strlen(cases[i].from));
		assert_int_equal(directory_parse(text, strlen(text), "dir.yaml", &dir, &d),
				 PIUGW_ECONFIG);
		if (!tu_diag_has(&d, cases[i].expect)) {
			tu_diag_dump(&d);
			fail_msg("case %zu: no \"%s\"", i, cases[i].expect);
		}
		free(text);
		diag_clear(&d);
	}

	/* Two members with the same transport key (a copy-paste mistake). */
	{
		char *text = strdup(good), *k1, *k2;
		struct directory *dir = NULL;
		struct diag d;
		diag_init(&d);
		k1 = strstr(text, "transport_key: \"") + 16;
		k2 = strstr(k1, "transport_key: \"") + 16;
		memcpy(k2, k1, 40);
		assert_int_equal(directory_parse(text, strlen(text), "dir.yaml", &dir, &d),
				 PIUGW_ECONFIG);
		assert_true(tu_diag_has(&d, "has the transport key of XA-PIU"));
		free(text);
		diag_clear(&d);
	}
	free(good);
}

/* What directory_format writes, directory_parse reads back the same, free text included. */
static void
format_round_trips(void **state)
{
	(void)state;
	char *text = directory_text(3, "2027-01-01"), *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;
	struct directory *a = NULL, *b = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(directory_parse(text, strlen(text), "t", &a, &d), 0);
	/* Text that needs quoting: a colon, quotes, a backslash, a hash, non-ASCII. */
	free(a->members[1].name);
	a->members[1].name = strdup("PIU \"Zentrale\": Bundeskriminalamt \\ # Köln");
	assert_int_equal(directory_format(a, &out, &len), 0);
	assert_int_equal(directory_parse(out, len, "formatted", &b, &d), 0);
	assert_int_equal(b->serial, 3);
	assert_int_equal(b->expires_day, a->expires_day);
	assert_int_equal(b->n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(b->members[i].keys.id, a->members[i].keys.id);
		assert_memory_equal(b->members[i].state, a->members[i].state, 2);
		assert_string_equal(b->members[i].name, a->members[i].name);
		assert_string_equal(b->members[i].endpoint, a->members[i].endpoint);
		assert_string_equal(b->members[i].urgent_contact, a->members[i].urgent_contact);
		assert_memory_equal(b->members[i].keys.transport_pk, a->members[i].keys.transport_pk, 32);
		assert_memory_equal(b->members[i].keys.sign_pk, a->members[i].keys.sign_pk, 32);
	}
	/* And the same text again: one canonical form. */
	assert_int_equal(directory_format(b, &out2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(out2, out, len);
	directory_free(&a);
	directory_free(&b);
	free(text);
	free(out);
	free(out2);
	diag_clear(&d);
}

static void
serial_rollback(void **state)
{
	struct fx *f = *state;
	uint64_t highest = 99;
	struct diag d;

	diag_init(&d);
	assert_int_equal(directory_serial_check(f->dir, 5, &highest, &d), 0);
	assert_int_equal(highest, 0);
	assert_int_equal(directory_serial_store(f->dir, 5, &d), 0);
	assert_int_equal(directory_serial_check(f->dir, 5, &highest, &d), 0);
	assert_int_equal(highest, 5);
	assert_int_equal(directory_serial_check(f->dir, 4, &highest, &d), PIUGW_EROLLBACK);
	assert_true(tu_diag_has(&d, "directory serial 4 is lower than 5"));
	assert_int_equal(directory_serial_store(f->dir, 4, &d), PIUGW_EROLLBACK);
	assert_int_equal(directory_serial_store(f->dir, 9, &d), 0);
	assert_int_equal(directory_serial_check(f->dir, 8, &highest, &d), PIUGW_EROLLBACK);
	assert_int_equal(highest, 9);
	/* A damaged record is an error, not a reset. */
	char *p = tu_path(f->dir, "directory.serial");
	tu_write_file(p, "nine\n", 5, 0644);
	assert_int_equal(directory_serial_check(f->dir, 100, &highest, &d), PIUGW_ECONFIG);
	assert_true(tu_diag_has(&d, "damaged"));
	remove(p);
	free(p);
	diag_clear(&d);
}

static void
public_key_and_signature_formats(void **state)
{
	(void)state;
	struct minisign_pubkey pk;
	struct diag d;
	const char *bad[] = {
		"untrusted comment: x\nnot base64!\n",
		"untrusted comment: x\nRWQ=\n",
		"",
	};

	diag_init(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(minisign_pubkey_parse(bad[i], strlen(bad[i]), "p", &pk, &d),
				 PIUGW_ESIGFILE);
	assert_int_equal(minisign_verify(&pk, (const uint8_t *)"x", 1, "one line", 8, "s", NULL, &d),
			 PIUGW_ESIGFILE);
	assert_true(tu_diag_has(&d, "not a minisign signature"));
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(signed_by_minisign_verifies_here, setup, teardown),
		cmocka_unit_test_setup_teardown(legacy_signature_refused_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(other_key_and_altered_comment_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(our_signature_verifies_with_minisign, setup,
						teardown),
		cmocka_unit_test_setup_teardown(encrypted_secret_key, setup, teardown),
		cmocka_unit_test(malformed_directories),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test_setup_teardown(serial_rollback, setup, teardown),
		cmocka_unit_test(public_key_and_signature_formats),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
