/*
 * test_keyholder.c: piugwd's key holder (gateway/daemon/keyholder.c), a
 * real process over a real socketpair: what it signs and digests, that the
 * daemon's side holds neither secret afterwards, that every request outside
 * its protocol ends it with its reason, and that its seccomp filter kills it
 * when it attempts what it must not.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <valgrind/valgrind.h>

#include "audit.h"
#include "diag.h"
#include "keyholder.h"
#include "keys.h"
#include "piugw/error.h"
#include "testutil.h"

#define SIG_PREFIX "piugw v1 sig" /* with its 0x00: sizeof */
#define MAX_SIGN 4096

struct fx {
	struct keys_secret *k;
	struct keyholder *kh;
	uint8_t pk[KEYS_PUBLIC_BYTES];
	uint8_t akey[AUDIT_KEY_BYTES]; /* the test's copy of the audit key */
	/* The Ed25519 seed, kept masked so that no copy of it lies in this process. */
	uint8_t seed_masked[32], mask[32];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t tsk[KEYS_TRANSPORT_SECRET_BYTES], ssk[KEYS_SIGN_SECRET_BYTES];
	uint8_t key[AUDIT_KEY_BYTES];
	struct diag d;

	tu_sodium_init();
	diag_init(&d);
	randombytes_buf(tsk, sizeof(tsk));
	randombytes_buf(f->mask, sizeof(f->mask));
	crypto_sign_keypair(f->pk, ssk);
	for (int i = 0; i < 32; i++)
		f->seed_masked[i] = ssk[i] ^ f->mask[i];
	assert_int_equal(keys_from_raw("XA-PIU", tsk, ssk, &f->k), 0);
	sodium_memzero(ssk, sizeof(ssk));
	randombytes_buf(key, sizeof(key));
	memcpy(f->akey, key, sizeof(key));
	/* valgrind cannot run under a seccomp filter: its own system calls would kill it. */
	assert_int_equal(keyholder_start(f->k, key, MAX_SIGN, !RUNNING_ON_VALGRIND, &f->kh, &d), 0);
	assert_true(sodium_is_zero(key, sizeof(key))); /* the caller's copy is wiped */
	diag_clear(&d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	keyholder_stop(&f->kh);
	keys_secret_free(&f->k);
	free(f);
	return 0;
}

static void
signs_and_digests(void **state)
{
	struct fx *f = *state;
	uint8_t m1[sizeof(SIG_PREFIX) + 5], m2[] = "piugw v1 audit checkpoint\0xyz";
	const uint8_t *m[2] = {m1, m2};
	size_t mlen[2] = {sizeof(m1), sizeof(m2) - 1};
	uint8_t sig[2][KEYS_SIGNATURE_BYTES], one[KEYS_SIGNATURE_BYTES];
	struct audit_digest_input in[2];
	uint8_t got[2][AUDIT_DIGEST_BYTES], want[AUDIT_DIGEST_BYTES];

	memcpy(m1, SIG_PREFIX, sizeof(SIG_PREFIX));
	memcpy(m1 + sizeof(SIG_PREFIX), "hello", 5);
	/* Two in one round trip, each verifying with the public key. */
	assert_int_equal(keyholder_sign(f->kh, m, mlen, 2, sig), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(crypto_sign_verify_detached(sig[i], m[i], mlen[i], f->pk), 0);
	/* The envelopes and the audit log sign through keys_sign, delegated. */
	assert_int_equal(keys_sign(f->k, one, m1, sizeof(m1)), 0);
	assert_memory_equal(one, sig[0], sizeof(one)); /* Ed25519 is deterministic */
	/* Digests: the same as the audit key gives here (what piugw audit subject computes). */
	audit_digest_input_document("XBA", "P1234567", &in[0]);
	audit_digest_input_name("Müller", "Anna", "1985-04-12", &in[1]);
	assert_int_equal(keyholder_digest(f->kh, in, 2, got), 0);
	audit_digest_document(f->akey, "xba", "p 123 4567", want);
	assert_memory_equal(got[0], want, sizeof(want));
	audit_digest_name(f->akey, "MUELLER", "ANNA", "19850412", want);
	assert_memory_equal(got[1], want, sizeof(want));
	assert_null(keyholder_problem(f->kh));
	/* The daemon's side keeps its CURVE secret (the key holder forgets its copy). */
	{
		uint8_t other_pk[32], other_sk[32], shared[32];
		crypto_box_keypair(other_pk, other_sk);
		assert_int_equal(keys_dh(f->k, other_pk, shared), 0);
	}
}

/*
 * A message and its audit record's digests in one round trip
 * (KH_SIGN_DIGEST): the same signature and digests as asked for apart.
 */
static void
signs_and_digests_at_once(void **state)
{
	struct fx *f = *state;
	uint8_t m1[sizeof(SIG_PREFIX) + 5], sig[1][KEYS_SIGNATURE_BYTES], one[KEYS_SIGNATURE_BYTES];
	uint8_t got[2][AUDIT_DIGEST_BYTES], want[AUDIT_DIGEST_BYTES];
	const uint8_t *m[1] = {m1};
	size_t mlen[1] = {sizeof(m1)};
	struct audit_digest_input in[2];
	unsigned long before = keyholder_round_trips(f->kh);

	memcpy(m1, SIG_PREFIX, sizeof(SIG_PREFIX));
	memcpy(m1 + sizeof(SIG_PREFIX), "query", 5);
	audit_digest_input_document("XBA", "P1234567", &in[0]);
	audit_digest_input_name("Müller", "Anna", "1985-04-12", &in[1]);
	assert_int_equal(keyholder_sign_digest(f->kh, m, mlen, 1, in, 2, sig, got), 0);
	assert_int_equal(keyholder_round_trips(f->kh), before + 1);
	assert_int_equal(crypto_sign_verify_detached(sig[0], m1, sizeof(m1), f->pk), 0);
	assert_int_equal(keyholder_sign(f->kh, m, mlen, 1, (uint8_t(*)[KEYS_SIGNATURE_BYTES])one), 0);
	assert_memory_equal(one, sig[0], sizeof(one));
	audit_digest_document(f->akey, "xba", "p 123 4567", want);
	assert_memory_equal(got[0], want, sizeof(want));
	audit_digest_name(f->akey, "MUELLER", "ANNA", "19850412", want);
	assert_memory_equal(got[1], want, sizeof(want));
}

/* Does this process's memory hold the signing seed anywhere, even in pages it cannot read? */
static bool
seed_in_memory(const struct fx *f)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	static uint8_t buf[1 << 20];
	char line[512];
	bool found = false;

	assert_non_null(maps);
	assert_true(mem >= 0);
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		/* Not the kernel's pages, nor a sanitizer's shadow (the keys' pages are small). */
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL || hi - lo > 256UL << 20)
			continue;
		for (unsigned long at = lo; !found && at < hi; at += sizeof(buf) - 31) {
			size_t want = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
			ssize_t n = pread(mem, buf, want, (off_t)at);
			if (n < 32)
				break;
			for (ssize_t i = 0; i + 32 <= n && !found; i++) {
				int j = 0;
				/* Compare unmasked byte by byte: the seed is never whole here. */
				while (j < 32 && (buf[i + j] ^ f->mask[j]) == f->seed_masked[j])
					j++;
				found = j == 32;
			}
		}
	}
	fclose(maps);
	close(mem);
	return found;
}

static void
daemon_side_holds_no_signing_key(void **state)
{
	struct fx *f = *state;
	struct keys_secret *k = NULL;
	uint8_t tsk[KEYS_TRANSPORT_SECRET_BYTES], ssk[KEYS_SIGN_SECRET_BYTES];
	struct diag d;
	char *dir = tu_tmpdir();

	/* Once the key holder runs, the seed is nowhere in this process. */
	assert_false(seed_in_memory(f));
	diag_init(&d);
	assert_int_equal(keys_save(f->k, dir, &d), PIUGW_EINVAL); /* nor can it be written out */
	diag_clear(&d);
	tu_rmtree(dir);
	/* And the scan finds a seed held the ordinary way. */
	randombytes_buf(tsk, sizeof(tsk));
	for (int i = 0; i < 32; i++)
		ssk[i] = f->seed_masked[i] ^ f->mask[i];
	memcpy(ssk + 32, f->pk, 32);
	assert_int_equal(keys_from_raw("XA-PIU", tsk, ssk, &k), 0);
	sodium_memzero(ssk, sizeof(ssk));
	assert_true(seed_in_memory(f));
	keys_secret_free(&k);
}

/* Send req raw; the key holder must answer KH_ENDED with why and end with status 2. */
static void
ends_with(struct fx *f, const uint8_t *req, size_t len, const char *why)
{
	uint8_t buf[512];
	size_t got;
	int st;

	assert_int_equal(keyholder_raw(f->kh, req, len, buf, sizeof(buf), &got), 0);
	assert_true(got >= 5);
	assert_int_equal(buf[4], KH_ENDED);
	buf[got < sizeof(buf) ? got : sizeof(buf) - 1] = '\0';
	if (strstr((char *)buf + 5, why) == NULL)
		fail_msg("ended with '%s', not '%s'", buf + 5, why);
	assert_int_equal(waitpid(keyholder_pid(f->kh), &st, 0), keyholder_pid(f->kh));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
}

/* A request of kind with one item of n bytes from m, and extra trailing bytes. */
static size_t
request(uint8_t *out, uint8_t kind, const void *m, uint32_t n, size_t extra)
{
	uint32_t len = 1 + 4 + 4 + n + (uint32_t)extra;

	out[0] = (uint8_t)(len >> 24), out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8), out[3] = (uint8_t)len;
	out[4] = kind;
	out[5] = out[6] = out[7] = 0, out[8] = 1;
	out[9] = (uint8_t)(n >> 24), out[10] = (uint8_t)(n >> 16);
	out[11] = (uint8_t)(n >> 8), out[12] = (uint8_t)n;
	memcpy(out + 13, m, n);
	memset(out + 13 + n, 0, extra);
	return 13 + n + extra;
}

static void
refuses_unsignable_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t r[256];
	const char agreement[] = "piugw v1 agreement\0terms";

	/* An agreement is the administrators' to sign, with the CLI: never the daemon's. */
	ends_with(f, r, request(r, KH_SIGN, agreement, sizeof(agreement), 0),
		  "without a prefix it signs");
}

/*
 * A turn's replies may be larger together than one frame holds (each at
 * most max_sign_bytes): they are signed in as many round trips as needed,
 * not refused as too large (which lost the turn's replies).
 */
static void
signs_a_batch_larger_than_a_frame(void **state)
{
	struct fx *f = *state;
	/* The frame holds one full batch of digest inputs: about 50 KB here. */
	enum { N = 3, SIZE = 64 * (4 + AUDIT_DIGEST_INPUT_MAX) / 2 };
	uint8_t *big = calloc(N, SIZE), sig[N][KEYS_SIGNATURE_BYTES];
	const uint8_t *m[N];
	size_t mlen[N];
	unsigned long before = keyholder_round_trips(f->kh);

	for (int i = 0; i < N; i++) {
		m[i] = big + (size_t)i * SIZE;
		mlen[i] = SIZE;
		memcpy(big + (size_t)i * SIZE, SIG_PREFIX, sizeof(SIG_PREFIX));
		big[(size_t)i * SIZE + sizeof(SIG_PREFIX)] = (uint8_t)i;
	}
	assert_int_equal(keyholder_sign(f->kh, m, mlen, N, sig), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(crypto_sign_verify_detached(sig[i], m[i], mlen[i], f->pk), 0);
	assert_int_equal(keyholder_round_trips(f->kh), before + N); /* one each: two do not fit */
	free(big);
}

/* In a KH_SIGN_DIGEST frame, the items to sign follow the rules of KH_SIGN. */
static void
refuses_unsignable_bytes_beside_digests(void **state)
{
	struct fx *f = *state;
	const char agreement[] = "piugw v1 agreement\0terms";
	uint8_t r[256];
	struct audit_digest_input in;
	size_t n = 4 + 9;

	audit_digest_input_document("XBA", "P1234567", &in);
	r[4] = KH_SIGN_DIGEST;
	memcpy(r + 5, "\0\0\0\1\0\0\0\1", 8); /* one to sign, one to digest */
	r[n] = r[n + 1] = r[n + 2] = 0, r[n + 3] = sizeof(agreement);
	memcpy(r + n + 4, agreement, sizeof(agreement));
	n += 4 + sizeof(agreement);
	r[n] = r[n + 1] = r[n + 2] = 0, r[n + 3] = (uint8_t)in.len;
	memcpy(r + n + 4, in.b, in.len);
	n += 4 + in.len;
	r[0] = r[1] = 0, r[2] = (uint8_t)((n - 4) >> 8), r[3] = (uint8_t)(n - 4);
	ends_with(f, r, n, "without a prefix it signs");
}

/* Its two counts, each and together, within a batch. */
static void
refuses_a_mixed_batch_too_large(void **state)
{
	struct fx *f = *state;
	/* 0xffffffff to sign and 2 to digest: together 1 once wrapped, if added unchecked. */
	uint8_t r[13] = {0, 0, 0, 9, KH_SIGN_DIGEST, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2};

	ends_with(f, r, sizeof(r), "a batch of a size it does not take");
}

static void
refuses_no_prefix_through_the_api(void **state)
{
	struct fx *f = *state;
	const uint8_t *m = (const uint8_t *)"piugw v1 si";
	size_t n = 11;
	uint8_t sig[1][KEYS_SIGNATURE_BYTES];

	assert_int_equal(keyholder_sign(f->kh, &m, &n, 1, sig), PIUGW_EINTERNAL);
	assert_non_null(keyholder_problem(f->kh));
	assert_non_null(strstr(keyholder_problem(f->kh), "without a prefix it signs"));
	assert_non_null(strstr(keyholder_problem(f->kh), "exit status 2"));
	/* Every request fails from now on. */
	m = (const uint8_t *)SIG_PREFIX;
	n = sizeof(SIG_PREFIX);
	assert_int_equal(keyholder_sign(f->kh, &m, &n, 1, sig), PIUGW_EINTERNAL);
}

static void
refuses_what_is_no_digest_input(void **state)
{
	struct fx *f = *state;
	uint8_t r[256];

	ends_with(f, r, request(r, KH_DIGEST, "documen", 7, 0), "no digest input");
}

static void
refuses_trailing_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t r[256];

	ends_with(f, r, request(r, KH_DIGEST, "name\0A\0B\0C", 11, 1), "trailing bytes");
}

static void
refuses_unknown_kinds(void **state)
{
	struct fx *f = *state;
	uint8_t r[256];

	ends_with(f, r, request(r, 4, "name\0", 5, 0), "unknown kind");
}

static void
refuses_an_oversized_frame(void **state)
{
	struct fx *f = *state;
	/* Past its frame bound, so it never reads (or allocates for) the rest. */
	uint8_t r[5] = {0x7f, 0xff, 0xff, 0xff, KH_SIGN};

	ends_with(f, r, sizeof(r), "a length it does not take");
}

static void
refuses_a_cut_request(void **state)
{
	struct fx *f = *state;
	uint8_t r[256];
	size_t n = request(r, KH_SIGN, SIG_PREFIX, sizeof(SIG_PREFIX), 0);

	ends_with(f, r, n - 1, "cut short");
}

/* The seccomp filter: read the process's status, then make it try an escape. */
static void
sandboxed(void **state, const char *escape)
{
	struct fx *f = *state;
	char path[64], line[256];
	bool seccomp = false, nnp = false;
	uint8_t r[64], buf[64];
	size_t got;
	FILE *st;

	if (RUNNING_ON_VALGRIND) {
		print_message("the seccomp filter is not installed under valgrind: not checked here\n");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)keyholder_pid(f->kh));
	assert_non_null(st = fopen(path, "r"));
	while (fgets(line, sizeof(line), st) != NULL) {
		seccomp |= strcmp(line, "Seccomp:\t2\n") == 0;
		nnp |= strcmp(line, "NoNewPrivs:\t1\n") == 0;
	}
	fclose(st);
	assert_true(seccomp);
	assert_true(nnp);
	r[0] = r[1] = r[2] = 0;
	r[3] = (uint8_t)(1 + strlen(escape));
	r[4] = KH_TEST;
	memcpy(r + 5, escape, strlen(escape));
	assert_int_equal(keyholder_raw(f->kh, r, 5 + strlen(escape), buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 0); /* killed before a word */
	{
		const uint8_t *m = (const uint8_t *)SIG_PREFIX;
		size_t n = sizeof(SIG_PREFIX);
		uint8_t sig[1][KEYS_SIGNATURE_BYTES];
		assert_int_equal(keyholder_sign(f->kh, &m, &n, 1, sig), PIUGW_EINTERNAL);
	}
	if (strstr(keyholder_problem(f->kh), "killed by signal 31, SIGSYS") == NULL)
		fail_msg("%s: %s", escape, keyholder_problem(f->kh));
}

static void
sandbox_no_shadow(void **state)
{
	sandboxed(state, "shadow");
}

static void
sandbox_no_execve(void **state)
{
	sandboxed(state, "execve");
}

static void
sandbox_no_socket(void **state)
{
	sandboxed(state, "socket");
}

/*
 * What systemd's SystemCallFilter=@system-service does to seccomp(2): EPERM,
 * everything else allowed. By hand (classic BPF through prctl), not with
 * libseccomp, whose probe of the kernel would then be made here, in this
 * process, and not in the key holder as under systemd.
 */
static bool
supervisor_denies_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

/*
 * Under a supervisor's filter that denies seccomp(2) with EPERM (a systemd
 * unit whose SystemCallFilter= leaves it out, as @system-service does), the
 * key holder does not start unfiltered: it ends, and says what to allow.
 */
static void
filtered_by_a_supervisor(void **state)
{
	pid_t child;
	int st;

	(void)state;
	if (RUNNING_ON_VALGRIND) {
		print_message("the seccomp filter is not installed under valgrind: not checked here\n");
		return;
	}
	tu_sodium_init();
	if ((child = fork()) == 0) {
		struct keys_secret *k = NULL;
		struct keyholder *kh = NULL;
		uint8_t key[AUDIT_KEY_BYTES] = {1};
		struct diag d;
		bool ok;

		diag_init(&d);
		if (!supervisor_denies_seccomp() || keys_generate("XA-PIU", &k) != 0)
			_exit(3);
		ok = keyholder_start(k, key, MAX_SIGN, true, &kh, &d) == PIUGW_ESYSTEM &&
		     tu_diag_has(&d, "seccomp(2) is denied to this process by a filter of its "
				     "supervisor: allow it (systemd: SystemCallFilter=seccomp");
		if (!ok)
			tu_diag_dump(&d);
		_exit(ok ? 0 : 1);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(signs_and_digests, setup, teardown),
		cmocka_unit_test_setup_teardown(daemon_side_holds_no_signing_key, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_unsignable_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_no_prefix_through_the_api, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_what_is_no_digest_input, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_trailing_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_unknown_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(signs_and_digests_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(signs_a_batch_larger_than_a_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_unsignable_bytes_beside_digests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_a_mixed_batch_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_an_oversized_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_a_cut_request, setup, teardown),
		cmocka_unit_test_setup_teardown(sandbox_no_shadow, setup, teardown),
		cmocka_unit_test_setup_teardown(sandbox_no_execve, setup, teardown),
		cmocka_unit_test_setup_teardown(sandbox_no_socket, setup, teardown),
		cmocka_unit_test(filtered_by_a_supervisor),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
