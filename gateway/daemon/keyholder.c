/*
 * keyholder.c: the key holder process and the daemon's side of its socket
 * (keyholder.h says what it answers and why).
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "encoding.h"
#include "keyholder.h"
#include "piugw/error.h"
#include "sandbox.h"

/* The prefixes of PROTOCOL.md that the daemon signs (each with its 0x00). */
static const struct {
	const char *label;
	size_t len;
} signable[] = {
	{"piugw v1 sig", sizeof("piugw v1 sig")},
	{"piugw v1 audit checkpoint", sizeof("piugw v1 audit checkpoint")},
};

#define KH_HEAD 9 /* len, kind, count */
#define KH_REPLY_MAX (5 + KH_BATCH_MAX * KEYS_SIGNATURE_BYTES)

struct keyholder {
	pid_t pid;
	int fd;
	size_t frame_max;
	uint8_t *buf;          /* frame_max bytes: the request being built */
	unsigned long round_trips;
	char problem[256];
};

/* Read exactly n bytes; 1: done, 0: end of file before the first byte, -1: cut or error. */
static int
read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

/* The key holder writes (its filter allows no send); the daemon sends, without SIGPIPE. */
static int
write_full(int fd, const uint8_t *p, size_t n, bool daemon)
{
	while (n > 0) {
		ssize_t w = daemon ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- the key holder ---- */

/* Tell the daemon why, then end. Nothing here allocates or logs: the filter allows neither. */
static _Noreturn void
holder_end(int fd, int status, const char *why)
{
	uint8_t f[5 + 200];
	size_t n = strnlen(why, 200);

	be32_put(f, (uint32_t)(1 + n));
	f[4] = KH_ENDED;
	memcpy(f + 5, why, n);
	(void)write_full(fd, f, 5 + n, false);
	_exit(status);
}

static bool
holder_signable(const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < sizeof(signable) / sizeof(signable[0]); i++)
		if (n >= signable[i].len && memcmp(m, signable[i].label, signable[i].len) == 0)
			return true;
	return false;
}

#ifdef PIUGW_TEST_HOOKS
/* Tests only: do what the filter must stop (keyholder_raw with kind KH_TEST). */
static void
holder_test_escape(const uint8_t *what, size_t n)
{
	if (n == 6 && memcmp(what, "shadow", 6) == 0)
		(void)open("/etc/shadow", O_RDONLY);
	else if (n == 6 && memcmp(what, "execve", 6) == 0)
		execl("/bin/true", "true", (char *)NULL);
	else if (n == 6 && memcmp(what, "socket", 6) == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
}
#endif

static _Noreturn void
holder_serve(int fd, struct keys_secret *k, uint8_t *akey, uint8_t *buf, size_t frame_max)
{
	uint8_t reply[KH_REPLY_MAX];

	for (;;) {
		uint8_t head[4];
		uint32_t len, count, nsign;
		size_t at, out = 5;
		int r = read_full(fd, head, 4);

		if (r == 0)
			_exit(0); /* the daemon closed its end */
		if (r < 0)
			holder_end(fd, 2, "a request cut short");
		len = be32_get(head);
		if (len < 5 || len > frame_max)
			holder_end(fd, 2, "a request of a length it does not take");
		if (read_full(fd, buf, len) != 1)
			holder_end(fd, 2, "a request cut short");
#ifdef PIUGW_TEST_HOOKS
		if (buf[0] == KH_TEST) {
			holder_test_escape(buf + 1, len - 1);
			holder_end(fd, 2, "a test escape that its filter let through");
		}
#endif
		/* How many to sign, then how many to digest. */
		if (buf[0] == KH_SIGN || buf[0] == KH_DIGEST) {
			count = be32_get(buf + 1);
			nsign = buf[0] == KH_SIGN ? count : 0;
			at = 5;
		} else if (buf[0] == KH_SIGN_DIGEST && len >= 9) {
			nsign = be32_get(buf + 1);
			count = be32_get(buf + 5);
			count = count > KH_BATCH_MAX || nsign > KH_BATCH_MAX ? UINT32_MAX : nsign + count;
			at = 9;
		} else
			holder_end(fd, 2, "a request of an unknown kind");
		if (count < 1 || count > KH_BATCH_MAX)
			holder_end(fd, 2, "a batch of a size it does not take");
		for (uint32_t i = 0; i < count; i++) {
			uint32_t n;
			if (len - at < 4 || (n = be32_get(buf + at), len - at - 4 < n))
				holder_end(fd, 2, "an item past the end of its request");
			at += 4;
			if (i < nsign) {
				if (!holder_signable(buf + at, n))
					holder_end(fd, 2, "bytes to sign without a prefix it signs");
				if (keys_sign(k, reply + out, buf + at, n) != 0)
					holder_end(fd, 2, "a signature failed");
				out += KEYS_SIGNATURE_BYTES;
			} else {
				if (!audit_digest_input_valid(buf + at, n))
					holder_end(fd, 2, "bytes to digest that are no digest input");
				sodium_mprotect_readonly(akey);
				audit_digest_keyed(akey, buf + at, n, reply + out);
				sodium_mprotect_noaccess(akey);
				out += AUDIT_DIGEST_BYTES;
			}
			at += n;
		}
		if (at != len)
			holder_end(fd, 2, "trailing bytes after its items");
		be32_put(reply, (uint32_t)(out - 4));
		reply[4] = buf[0];
		if (write_full(fd, reply, out, false) != 0)
			_exit(0); /* the daemon is gone */
	}
}

/* The child's side of keyholder_start: never returns. */
static _Noreturn void
holder_main(int fd, struct keys_secret *k, const uint8_t audit_key[AUDIT_KEY_BYTES],
	    size_t frame_max, bool sandbox)
{
	sigset_t all;
	int rc;
	uint8_t *akey = sodium_malloc(AUDIT_KEY_BYTES);
	uint8_t *buf = malloc(frame_max);

	prctl(PR_SET_NAME, "piugwd-keys", 0, 0, 0); /* ps and /proc tell it apart */
	/* What it does not need: the CURVE secret (inherited with the daemon's memory). */
	keys_secret_forget_transport(k);
	/* Signals are the daemon's: this process ends when the daemon closes the socket. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (akey == NULL || buf == NULL)
		holder_end(fd, 2, "out of memory at start");
	memcpy(akey, audit_key, AUDIT_KEY_BYTES);
	sodium_mprotect_noaccess(akey);
	/* Every descriptor but its socket and stderr goes: it reads nothing else. */
	if (dup2(fd, 3) != 3)
		holder_end(fd, 2, "its socket could not be moved to descriptor 3");
	fd = 3;
	if (close_range(4, ~0U, 0) != 0)
		holder_end(fd, 2, "its other descriptors could not be closed");
	if (sandbox && (rc = sandbox_keyholder()) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "its seccomp filter could not be installed: %s",
			 sandbox_strerror(rc));
		holder_end(fd, 2, why);
	}
	{
		const uint8_t ready[5] = {0, 0, 0, 1, KH_READY};
		if (write_full(fd, ready, sizeof(ready), false) != 0)
			_exit(0);
	}
	holder_serve(fd, k, akey, buf, frame_max);
}

/* ---- the daemon's side ---- */

/* Wait for the key holder to end (its socket is closed: it has or is about to); how it did. */
static void
kh_reap(struct keyholder *kh, char *how, size_t size)
{
	sandbox_reap(&kh->pid, how, size);
}

/* Every request fails from now on; end the key holder if it still runs (stop: it may). */
static int
kh_failed(struct keyholder *kh, const char *why, bool stop)
{
	char how[128];

	if (kh->problem[0] == '\0') {
		if (stop && kh->pid > 0)
			kill(kh->pid, SIGKILL);
		kh_reap(kh, how, sizeof(how));
		snprintf(kh->problem, sizeof(kh->problem), "%.127s%.127s", why, how);
	}
	return PIUGW_EINTERNAL;
}

/* Send the request in kh->buf (len bytes after its u32), read the reply into reply. */
static int
kh_call(struct keyholder *kh, size_t len, uint8_t *reply, size_t want)
{
	uint8_t head[4];
	uint32_t rlen;
	int r;

	if (kh->problem[0] != '\0')
		return PIUGW_EINTERNAL;
	be32_put(kh->buf, (uint32_t)len);
	kh->round_trips++;
	if (write_full(kh->fd, kh->buf, 4 + len, true) != 0)
		return kh_failed(kh, "its socket is closed", false);
	if ((r = read_full(kh->fd, head, 4)) != 1)
		return kh_failed(kh, "it ended without a word", false);
	rlen = be32_get(head);
	if (rlen < 1 || rlen > KH_REPLY_MAX || read_full(kh->fd, reply, rlen) != 1)
		return kh_failed(kh, "its reply was malformed", true);
	if (reply[0] == KH_ENDED) {
		char why[256];
		snprintf(why, sizeof(why), "it ended: %.*s", (int)rlen - 1, (const char *)reply + 1);
		return kh_failed(kh, why, false);
	}
	if (reply[0] != kh->buf[4] || rlen != 1 + want)
		return kh_failed(kh, "its reply was not to the request", true);
	return 0;
}

/*
 * Put items into kh->buf as a request of kind, the first nsign of the n to
 * sign and the rest to digest (kinds KH_SIGN and KH_DIGEST: all of one):
 * as many as fit in a frame. *taken: how many; the frame's length, 0 if
 * not even the first fits.
 */
static size_t
kh_build(struct keyholder *kh, enum kh_kind kind, const uint8_t *const *m, const size_t *mlen,
	 size_t n, size_t nsign, size_t *taken)
{
	size_t at = 4 + (kind == KH_SIGN_DIGEST ? 9 : 5), i;

	kh->buf[4] = (uint8_t)kind;
	for (i = 0; i < n && i < KH_BATCH_MAX; i++) {
		if (mlen[i] > kh->frame_max - (at - 4) || kh->frame_max - (at - 4) - mlen[i] < 4)
			break;
		be32_put(kh->buf + at, (uint32_t)mlen[i]);
		memcpy(kh->buf + at + 4, m[i], mlen[i]);
		at += 4 + mlen[i];
	}
	*taken = i;
	if (kind == KH_SIGN_DIGEST) {
		be32_put(kh->buf + 5, (uint32_t)(nsign < i ? nsign : i));
		be32_put(kh->buf + 9, (uint32_t)(nsign < i ? i - nsign : 0));
	} else
		be32_put(kh->buf + 5, (uint32_t)i);
	return i == 0 ? 0 : at - 4;
}

/* See keyholder.h. As many frames as the messages' sizes need. */
int
keyholder_sign(struct keyholder *kh, const uint8_t *const *m, const size_t *mlen, size_t n,
	       uint8_t sig[][KEYS_SIGNATURE_BYTES])
{
	uint8_t reply[KH_REPLY_MAX];
	size_t len, k;
	int rc;

	if (n < 1 || n > KH_BATCH_MAX)
		return PIUGW_EINVAL;
	for (size_t at = 0; at < n; at += k) {
		if ((len = kh_build(kh, KH_SIGN, m + at, mlen + at, n - at, n - at, &k)) == 0)
			return PIUGW_ETOOLARGE;
		if ((rc = kh_call(kh, len, reply, k * KEYS_SIGNATURE_BYTES)) != 0)
			return rc;
		memcpy(sig + at, reply + 1, k * KEYS_SIGNATURE_BYTES);
	}
	return 0;
}

/* See keyholder.h. */
int
keyholder_sign_digest(struct keyholder *kh, const uint8_t *const *m, const size_t *mlen,
		      size_t nsign, const struct audit_digest_input *in, size_t nin,
		      uint8_t sig[][KEYS_SIGNATURE_BYTES], uint8_t out[][AUDIT_DIGEST_BYTES])
{
	uint8_t reply[KH_REPLY_MAX];
	const uint8_t *item[KH_BATCH_MAX] = {NULL};
	size_t ilen[KH_BATCH_MAX] = {0}, len, k;
	int rc;

	if (nsign + nin < 1 || nsign + nin > KH_BATCH_MAX)
		return PIUGW_EINVAL;
	if (nin == 0)
		return keyholder_sign(kh, m, mlen, nsign, sig);
	if (nsign == 0)
		return keyholder_digest(kh, in, nin, out);
	for (size_t i = 0; i < nsign; i++) {
		item[i] = m[i];
		ilen[i] = mlen[i];
	}
	for (size_t i = 0; i < nin; i++) {
		item[nsign + i] = in[i].b;
		ilen[nsign + i] = in[i].len;
	}
	len = kh_build(kh, KH_SIGN_DIGEST, item, ilen, nsign + nin, nsign, &k);
	if (k < nsign + nin) {
		/* Too large for one frame: as two requests. */
		if ((rc = keyholder_sign(kh, m, mlen, nsign, sig)) != 0)
			return rc;
		return keyholder_digest(kh, in, nin, out);
	}
	if ((rc = kh_call(kh, len, reply, nsign * KEYS_SIGNATURE_BYTES + nin * AUDIT_DIGEST_BYTES)) !=
	    0)
		return rc;
	memcpy(sig, reply + 1, nsign * KEYS_SIGNATURE_BYTES);
	memcpy(out, reply + 1 + nsign * KEYS_SIGNATURE_BYTES, nin * AUDIT_DIGEST_BYTES);
	return 0;
}

/* keys_sign_fn: one signature, for the envelopes and the audit log. */
static int
kh_sign_one(void *ctx, uint8_t sig[KEYS_SIGNATURE_BYTES], const uint8_t *m, size_t mlen)
{
	return keyholder_sign(ctx, &m, &mlen, 1, (uint8_t(*)[KEYS_SIGNATURE_BYTES])sig);
}

/* See keyholder.h. */
int
keyholder_digest(struct keyholder *kh, const struct audit_digest_input *in, size_t n,
		 uint8_t out[][AUDIT_DIGEST_BYTES])
{
	uint8_t reply[KH_REPLY_MAX];
	const uint8_t *m[KH_BATCH_MAX] = {NULL};
	size_t mlen[KH_BATCH_MAX] = {0}, len, k;
	int rc;

	if (n < 1 || n > KH_BATCH_MAX)
		return PIUGW_EINVAL;
	for (size_t i = 0; i < n; i++) {
		m[i] = in[i].b;
		mlen[i] = in[i].len;
	}
	if ((len = kh_build(kh, KH_DIGEST, m, mlen, n, 0, &k)) == 0 || k < n)
		return PIUGW_ETOOLARGE; /* not with inputs of their bounded size */
	if ((rc = kh_call(kh, len, reply, n * AUDIT_DIGEST_BYTES)) != 0)
		return rc;
	memcpy(out, reply + 1, n * AUDIT_DIGEST_BYTES);
	return 0;
}

/* Its first frame: KH_READY once sandboxed, or KH_ENDED and why not. */
static int
kh_wait_ready(struct keyholder *kh, struct diag *d)
{
	uint8_t r[5 + 200];
	uint32_t n;

	if (read_full(kh->fd, r, 5) != 1 || (n = be32_get(r)) < 1 || n > 1 + 200 ||
	    (n > 1 && read_full(kh->fd, r + 5, n - 1) != 1)) {
		diag_add(d, "the key holder ended as it started");
		return PIUGW_ESYSTEM;
	}
	if (r[4] == KH_READY && n == 1)
		return 0;
	diag_add(d, "the key holder did not start: %.*s", r[4] == KH_ENDED ? (int)n - 1 : 0,
		 (const char *)r + 5);
	return PIUGW_ESYSTEM;
}

/* See keyholder.h. */
int
keyholder_start(struct keys_secret *k, uint8_t audit_key[AUDIT_KEY_BYTES], size_t max_sign_bytes,
		bool sandbox, struct keyholder **outp, struct diag *d)
{
	struct keyholder *kh = calloc(1, sizeof(*kh));
	int sv[2];

	*outp = NULL;
	if (kh == NULL)
		return PIUGW_ENOMEM;
	/* One item of the largest size, or a full batch of digest inputs. */
	kh->frame_max = 5 + 4 + max_sign_bytes;
	if (kh->frame_max < 5 + KH_BATCH_MAX * (4 + AUDIT_DIGEST_INPUT_MAX))
		kh->frame_max = 5 + KH_BATCH_MAX * (4 + AUDIT_DIGEST_INPUT_MAX);
	if ((kh->buf = malloc(4 + kh->frame_max)) == NULL) {
		free(kh);
		return PIUGW_ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		diag_add(d, "the key holder's socket: %s", strerror(errno));
		free(kh->buf);
		free(kh);
		return PIUGW_ESYSTEM;
	}
	fflush(NULL); /* nothing buffered is written twice */
	kh->pid = fork();
	if (kh->pid < 0) {
		diag_add(d, "the key holder could not be started: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(kh->buf);
		free(kh);
		return PIUGW_ESYSTEM;
	}
	if (kh->pid == 0) {
		close(sv[0]);
		holder_main(sv[1], k, audit_key, kh->frame_max, sandbox);
	}
	close(sv[1]);
	kh->fd = sv[0];
	if (kh_wait_ready(kh, d) != 0) {
		keyholder_stop(&kh);
		return PIUGW_ESYSTEM;
	}
	keys_secret_delegate_sign(k, kh_sign_one, kh);
	sodium_memzero(audit_key, AUDIT_KEY_BYTES);
	*outp = kh;
	return 0;
}

/* See keyholder.h. */
const char *
keyholder_problem(const struct keyholder *kh)
{
	return kh->problem[0] != '\0' ? kh->problem : NULL;
}

/* See keyholder.h. */
unsigned long
keyholder_round_trips(const struct keyholder *kh)
{
	return kh->round_trips;
}

/* See keyholder.h. */
pid_t
keyholder_pid(const struct keyholder *kh)
{
	return kh->pid;
}

/* See keyholder.h. */
void
keyholder_stop(struct keyholder **khp)
{
	struct keyholder *kh;
	int st;

	if (khp == NULL || (kh = *khp) == NULL)
		return;
	close(kh->fd);
	while (kh->pid > 0 && waitpid(kh->pid, &st, 0) < 0 && errno == EINTR)
		;
	free(kh->buf);
	free(kh);
	*khp = NULL;
}

#ifdef PIUGW_TEST_HOOKS
/* See keyholder.h. */
int
keyholder_raw(struct keyholder *kh, const uint8_t *req, size_t len, uint8_t *buf, size_t size,
	      size_t *gotp)
{
	ssize_t r;

	*gotp = 0;
	if (write_full(kh->fd, req, len, true) != 0)
		return PIUGW_ESYSTEM;
	shutdown(kh->fd, SHUT_WR);
	while (*gotp < size && (r = read(kh->fd, buf + *gotp, size - *gotp)) > 0)
		*gotp += (size_t)r;
	return 0;
}
#endif
