/*
 * keyholder.h: the process that alone holds piugwd's signing key and audit key.
 *
 * piugwd forks it at start, once it has read its own key files and before
 * it opens a socket or reads what partners or operators send. From then on
 * the daemon holds neither secret: its envelope signatures, audit
 * checkpoints and the keyed digests of its audit records are made here, over
 * a socketpair, with a protocol small enough to read at a glance (all
 * integers big-endian):
 *
 *   request  u32 len || u8 kind || u32 count || count x (u32 n || n bytes)
 *            u32 len || KH_SIGN_DIGEST || u32 nsign || u32 ndigest ||
 *                       (nsign + ndigest) x (u32 n || n bytes)
 *   reply    u32 len || u8 kind || the items' signatures (64 bytes) and
 *                       digests (32 bytes), in the order of the items
 *
 * len counts what follows it. kind KH_SIGN signs each item, which must
 * begin with one of the prefixes of PROTOCOL.md the daemon signs ("piugw v1
 * sig" || 0x00: an envelope; "piugw v1 audit checkpoint" || 0x00); kind
 * KH_DIGEST digests each item, which must be an audit digest input
 * (audit_digest_input_valid); kind KH_SIGN_DIGEST signs its first nsign
 * items and digests the ndigest after them, under the same rules: a message
 * and its audit record's digests in one round trip. count (nsign + ndigest)
 * is 1 to KH_BATCH_MAX; the items must fill the frame exactly. Anything else (an unknown kind, a prefix it does
 * not sign, a frame too long or cut short, a trailing byte) ends the key
 * holder, and with it the daemon: it first sends a frame of kind KH_ENDED
 * with its reason, which the daemon logs. Once sandboxed, before its first
 * request, it sends a frame of kind KH_READY and nothing else: keyholder_start
 * returns only then.
 *
 * The key holder keeps its secrets in sodium_malloc memory, no access
 * except while it signs or digests; it blocks every signal (it ends when
 * the daemon closes the socket), and with sandbox set installs a seccomp
 * filter (sandbox.c) that allows read, write, mprotect and exit: any other
 * system call kills it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_KEYHOLDER_H
#define PIUGW_KEYHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "diag.h"
#include "keys.h"

enum kh_kind { KH_SIGN = 1, KH_DIGEST = 2, KH_SIGN_DIGEST = 3, KH_READY = 0x7d, KH_ENDED = 0x7f };
#define KH_BATCH_MAX 64

struct keyholder;

/*
 * Fork the key holder with k's signing key and audit_key. On return k
 * signs through it (keys_secret_delegate_sign: the signing secret is gone
 * from this process) and audit_key is wiped. max_sign_bytes bounds one
 * item to sign (the largest envelope's signing input). sandbox: install
 * the seccomp filter (false only where a tool cannot run under one: the
 * unit tests under valgrind).
 */
int keyholder_start(struct keys_secret *k, uint8_t audit_key[AUDIT_KEY_BYTES],
		    size_t max_sign_bytes, bool sandbox, struct keyholder **outp, struct diag *d);

/* Keyed digests of n inputs (n <= KH_BATCH_MAX), in one round trip. */
int keyholder_digest(struct keyholder *kh, const struct audit_digest_input *in, size_t n,
		     uint8_t out[][AUDIT_DIGEST_BYTES]);

/*
 * Signatures of n messages (n <= KH_BATCH_MAX): in one round trip, or as
 * many as their sizes need (a frame holds at most max_sign_bytes).
 */
int keyholder_sign(struct keyholder *kh, const uint8_t *const *m, const size_t *mlen, size_t n,
		   uint8_t sig[][KEYS_SIGNATURE_BYTES]);

/*
 * Signatures of nsign messages and keyed digests of nin inputs (nsign + nin
 * <= KH_BATCH_MAX), in one round trip when they fit one frame.
 */
int keyholder_sign_digest(struct keyholder *kh, const uint8_t *const *m, const size_t *mlen,
			  size_t nsign, const struct audit_digest_input *in, size_t nin,
			  uint8_t sig[][KEYS_SIGNATURE_BYTES], uint8_t out[][AUDIT_DIGEST_BYTES]);

/*
 * NULL while it serves; once it failed, why (its own reason, or how it
 * ended: "killed by signal 31 (SIGSYS: a system call its seccomp filter
 * does not allow)"). Every request fails from then on.
 */
const char *keyholder_problem(const struct keyholder *kh);
/* Requests made so far (round trips): what batching saves shows here. */
unsigned long keyholder_round_trips(const struct keyholder *kh);
pid_t keyholder_pid(const struct keyholder *kh);

/* Close its socket and wait for it to end; *khp NULL after. */
void keyholder_stop(struct keyholder **khp);

#ifdef PIUGW_TEST_HOOKS
/*
 * Tests only. A request of kind KH_TEST makes the key holder attempt what
 * its filter must stop: "shadow" (open /etc/shadow), "execve", "socket" (an
 * AF_INET socket). keyholder_raw sends raw bytes as a request, ends the
 * daemon's writing side, and reads all that comes back into buf.
 */
#define KH_TEST 0x7e
int keyholder_raw(struct keyholder *kh, const uint8_t *req, size_t len, uint8_t *buf,
		  size_t size, size_t *gotp);
#endif

#endif /* PIUGW_KEYHOLDER_H */
