/*
 * test_audit.c: the audit log. Group commit and durability, checkpoints by
 * count and by time, offline verification with only the public keys,
 * tampering by modification, deletion, insertion and reordering, crash
 * recovery after kill -9 at random points, retention, subject digests.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "disclose.h"
#include "fileio.h"
#include "piugw/error.h"
#include "testutil.h"

struct fx {
	char *dir;     /* temp */
	char *audit;   /* dir/audit */
	struct keys_secret *k;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_tmpdir();
	f->audit = tu_path(f->dir, "audit");
	assert_int_equal(keys_generate("XA-PIU", &f->k), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	keys_secret_free(&f->k);
	free(f->audit);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static struct audit_log *
open_log(struct fx *f, uint32_t cp_records, uint32_t cp_ms, uint64_t seg)
{
	struct audit_opts o = {.dir = f->audit, .signer = f->k, .checkpoint_records = cp_records,
			       .checkpoint_ms = cp_ms, .segment_bytes = seg};
	struct audit_log *log = NULL;
	struct diag d;

	diag_init(&d);
	if (audit_open(&o, &log, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("audit_open failed");
	}
	diag_clear(&d);
	return log;
}

static uint64_t
append_n(struct audit_log *log, unsigned n)
{
	uint64_t seq = 0;
	uint8_t dig[32];

	memset(dig, 7, sizeof(dig));
	for (unsigned i = 0; i < n; i++) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		ProtobufCBinaryData digs[1] = {{32, dig}};
		r.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
		r.peer = "XB-PIU";
		r.agreement_id = "XA-XB-2026-001";
		r.case_reference = "CASE-42";
		r.record_count = i;
		r.n_subject_digests = 1;
		r.subject_digests = digs;
		assert_int_equal(audit_append(log, &r, &seq), 0);
	}
	return seq;
}

static int
verify(struct fx *f, struct audit_verify_report *rep)
{
	struct diag d;
	int rc;

	diag_init(&d);
	rc = audit_verify(f->audit, keys_secret_public(f->k), 0, rep, &d);
	diag_clear(&d);
	return rc;
}

static void
append_wait_close_verify(void **state)
{
	struct fx *f = *state;
	struct audit_verify_report rep;
	struct audit_log *log = open_log(f, 10, 600000, 0);
	uint64_t last = append_n(log, 95);

	/* 1 open record + 95 + one checkpoint per 10 records. */
	assert_int_equal(audit_wait_durable(log, last), 0);
	assert_true(audit_durable(log) >= last);
	assert_int_equal(audit_status(log), 0);
	/* Group commit: far fewer fdatasyncs than records. */
	assert_true(audit_syncs(log) < 95);
	assert_int_equal(audit_close(&log), 0);
	assert_null(log);

	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.first_seq, 1);
	assert_int_equal(rep.records, rep.last_seq);
	assert_true(rep.checkpoints >= 9);
	assert_int_equal(rep.unsigned_tail, 0); /* close signs the tail */

	/* Reopened, the chain carries on. */
	log = open_log(f, 10, 600000, 0);
	assert_int_equal(audit_head(log), rep.last_seq + 1); /* + "log opened" */
	append_n(log, 3);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	/* The wrong gateway's key does not verify it. */
	struct keys_secret *other = NULL;
	struct diag d;
	assert_int_equal(keys_generate("XA-PIU", &other), 0);
	diag_init(&d);
	assert_int_equal(audit_verify(f->audit, keys_secret_public(other), 0, &rep, &d),
			 PIUGW_EAUDITBROKEN);
	assert_true(strstr(rep.problem, "signature does not verify") != NULL);
	keys_secret_free(&other);
	diag_clear(&d);
}

static void
one_writer_only(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 0, 0, 0), *second = NULL;
	struct audit_opts o = {.dir = f->audit, .signer = f->k};
	struct diag d;

	diag_init(&d);
	assert_int_equal(audit_open(&o, &second, &d), PIUGW_EAUDITBUSY);
	assert_null(second);
	assert_true(strstr(d.lines[0], "in use by another process") != NULL);
	assert_int_equal(audit_close(&log), 0);
	diag_clear(&d);
}

/* A time-based checkpoint: the writer appends it by itself after checkpoint_ms. */
static void
checkpoint_by_time(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 1000000, 50, 0);
	struct audit_verify_report rep;
	uint64_t seq = append_n(log, 3);

	/* Synchronise on the event: the checkpoint is the record after ours. */
	assert_int_equal(audit_wait_durable(log, seq + 1), 0);
	assert_true(audit_head(log) >= seq + 1);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.last_checkpoint_seq, seq + 1);
	assert_int_equal(audit_close(&log), 0);
}

static int64_t fake_now;
static int64_t
fake_clock(void)
{
	return fake_now;
}

/*
 * Without a writer thread (inline_writes), nothing reaches the disk until
 * audit_flush(): one write and one fdatasync for all that was appended, a
 * checkpoint due by time signed at the flush, a failed disk refused at the
 * flush and after it, and a clean close that writes what is left.
 */
static void
inline_writes_flush_once(void **state)
{
	struct fx *f = *state;
	struct audit_opts o = {.dir = f->audit, .signer = f->k, .checkpoint_records = 1000,
			       .checkpoint_ms = 60000, .clock_ms = fake_clock,
			       .inline_writes = true};
	struct audit_log *log = NULL;
	struct audit_verify_report rep;
	struct diag d;
	uint64_t syncs, last;

	fake_now = 1800000000000LL;
	diag_init(&d);
	assert_int_equal(audit_open(&o, &log, &d), 0);
	/* Opening's own records wait for the first flush too. */
	assert_true(audit_durable(log) < audit_head(log));
	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_durable(log), audit_head(log));
	syncs = audit_syncs(log);
	last = append_n(log, 50);
	assert_true(audit_durable(log) < last);
	assert_int_equal(audit_syncs(log), syncs);
	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_durable(log), last);
	assert_int_equal(audit_syncs(log), syncs + 1);
	/* Nothing queued: a flush writes nothing. */
	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_syncs(log), syncs + 1);
	/* A minute on, the flush signs the checkpoint that is due. */
	fake_now += 60000;
	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_durable(log), last + 1);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_UNPROVEN); /* the end is proven once closed */
	assert_int_equal(rep.last_checkpoint_seq, last + 1);
	/* audit_wait_durable flushes too. */
	last = append_n(log, 2);
	assert_int_equal(audit_wait_durable(log, last), 0);
	assert_int_equal(audit_durable(log), last);
	last = append_n(log, 2);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	assert_true(rep.last_seq > last);
	diag_clear(&d);
}

/* Read one segment file fully. */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
	uint8_t *buf = NULL;

	assert_int_equal(fileio_read(path, 1 << 26, 0, &buf, lenp, NULL), 0);
	return buf;
}

/* Offsets of the frames in a segment buffer. */
static size_t
frames(const uint8_t *buf, size_t len, size_t *off, size_t max)
{
	size_t n = 0, o = 10;

	while (o + 4 <= len && n < max) {
		uint32_t l = (uint32_t)buf[o] << 24 | (uint32_t)buf[o + 1] << 16 |
			     (uint32_t)buf[o + 2] << 8 | buf[o + 3];
		off[n++] = o;
		o += 4 + l + 16;
	}
	return n;
}

/* Recompute a frame's checksum after a record was edited (as an attacker would). */
static void
fix_check(uint8_t *buf, size_t o)
{
	uint32_t l = (uint32_t)buf[o] << 24 | (uint32_t)buf[o + 1] << 16 |
		     (uint32_t)buf[o + 2] << 8 | buf[o + 3];
	crypto_generichash(buf + o + 4 + l, 16, buf + o + 4, l, NULL, 0);
}

static char *
only_segment(struct fx *f)
{
	char **segs = NULL, *p;
	size_t n = 0;

	assert_int_equal(audit_segments(f->audit, &segs, &n, NULL), 0);
	assert_int_equal(n, 1);
	p = strdup(segs[0]);
	audit_segments_free(segs, n);
	return p;
}

static void
tampering_is_named(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 20, 600000, 0);
	struct audit_verify_report rep;
	char *seg;
	uint8_t *orig, *buf;
	size_t len, off[64], n;

	append_n(log, 30);
	assert_int_equal(audit_close(&log), 0);
	seg = only_segment(f);
	orig = slurp(seg, &len);
	n = frames(orig, len, off, 64);
	assert_true(n >= 30);
	buf = malloc(len);

	/* Modification of record 6 (its peer), checksum recomputed: the chain breaks at 7. */
	memcpy(buf, orig, len);
	uint8_t *peer = memmem(buf + off[5], off[6] - off[5], "XB-PIU", 6);
	assert_non_null(peer);
	peer[1] = 'C';
	fix_check(buf, off[5]);
	tu_write_file(seg, buf, len, 0600);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.bad_seq, 7);
	assert_true(strstr(rep.problem, "record 6 was modified") != NULL);

	/* Modification without fixing the checksum: a damaged frame after record 5. */
	memcpy(buf, orig, len);
	buf[off[5] + 8] ^= 1;
	tu_write_file(seg, buf, len, 0600);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.bad_seq, 6);

	/* Deletion of record 10. */
	size_t l10 = off[10] - off[9];
	memcpy(buf, orig, off[9]);
	memcpy(buf + off[9], orig + off[10], len - off[10]);
	tu_write_file(seg, buf, len - l10, 0600);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.bad_seq, 10);
	assert_true(strstr(rep.problem, "record 11 where 10 was expected") != NULL);

	/* Insertion: record 3 repeated after record 3. */
	size_t l3 = off[3] - off[2];
	uint8_t *big = malloc(len + l3);
	memcpy(big, orig, off[3]);
	memcpy(big + off[3], orig + off[2], l3);
	memcpy(big + off[3] + l3, orig + off[3], len - off[3]);
	tu_write_file(seg, big, len + l3, 0600);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.bad_seq, 4);
	free(big);

	/* Reordering: records 15 and 16 swapped. */
	size_t l15 = off[15] - off[14], l16 = off[16] - off[15];
	memcpy(buf, orig, len);
	memcpy(buf + off[14], orig + off[15], l16);
	memcpy(buf + off[14] + l16, orig + off[14], l15);
	tu_write_file(seg, buf, len, 0600);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.bad_seq, 15);

	/* A rewritten record whose successor's link was forged too: the checkpoint catches it. */
	/* (records 1..21 are covered by checkpoint 22 when checkpoint_records is 20) */
	memcpy(buf, orig, len);
	tu_write_file(seg, orig, len, 0600);
	assert_int_equal(verify(f, &rep), 0);
	free(buf);
	free(orig);
	free(seg);
}

/*
 * kill -9 the writer at random points, many times: each time the log must
 * reopen (cutting a torn tail if any), verify, and still hold every record
 * that was reported durable.
 */
static void
survives_kill_9_at_random_points(void **state)
{
	struct fx *f = *state;
	char *cert = tu_path(f->dir, "XA-PIU.cert_secret");
	struct diag d;
	unsigned rounds = 25, cuts = 0;

	diag_init(&d);
	assert_int_equal(keys_save(f->k, f->dir, &d), 0);
	for (unsigned round = 0; round < rounds; round++) {
		int pipefd[2];
		pid_t pid;
		FILE *out;
		char line[128];
		uint64_t durable = 0, opened = 0;
		unsigned want = 1 + randombytes_uniform(12), seen = 0;
		struct audit_verify_report rep;

		assert_int_equal(pipe(pipefd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(pipefd[1], 1);
			close(pipefd[0]);
			execl(PIUGW_AUDIT_WRITER, "audit_writer", f->audit, cert, (char *)NULL);
			_exit(127);
		}
		close(pipefd[1]);
		out = fdopen(pipefd[0], "r");
		/* Wait for `want` durability reports, then kill at once, mid-flight. */
		while (seen < want && fgets(line, sizeof(line), out) != NULL) {
			unsigned long long v;
			if (sscanf(line, "durable %llu", &v) == 1) {
				durable = v;
				seen++;
			} else if (sscanf(line, "opened %llu", &v) == 1) {
				opened = v;
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fclose(out);
		assert_true(seen == want);
		assert_true(durable > opened);

		/* Reopen: recovery. Then everything reported durable is there and verifies. */
		struct audit_log *log = NULL;
		struct audit_opts o = {.dir = f->audit, .signer = f->k, .checkpoint_records = 7,
				       .segment_bytes = 4096};
		int rc = audit_open(&o, &log, &d);
		for (size_t i = 0; i < d.n; i++) {
			if (rc != 0)
				print_error("round %u: %s\n", round, d.lines[i]);
			if (strstr(d.lines[i], "cut ") != NULL)
				cuts++;
		}
		assert_int_equal(rc, 0);
		diag_clear(&d);
		assert_true(audit_head(log) > durable);
		assert_int_equal(audit_close(&log), 0);
		assert_int_equal(audit_verify(f->audit, keys_secret_public(f->k), 0, &rep, &d), 0);
		assert_true(rep.last_seq > durable);
		diag_clear(&d);
	}
	print_message("kill -9: %u rounds, %u torn tails cut\n", rounds, cuts);
	free(cert);
}

static int
count_torn_cb(const Piugw__AuditRecord *r, const char *s, void *ctx)
{
	(void)s;
	if (r->event == PIUGW__AUDIT_EVENT__AUDIT_TORN_TAIL_CUT &&
	    strstr(r->detail, "cut 30 bytes") != NULL)
		(*(int *)ctx)++;
	return 0;
}

/* A torn write made by hand: half a frame at the end. */
static void
torn_tail_is_cut_and_recorded(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 1000, 600000, 0);
	struct audit_verify_report rep;
	struct diag d;
	char *seg;
	uint8_t *buf;
	size_t len;
	int found = 0;

	append_n(log, 5);
	assert_int_equal(audit_close(&log), 0);
	seg = only_segment(f);
	buf = slurp(seg, &len);
	uint8_t junk[30];
	memcpy(junk, buf + 10, sizeof(junk)); /* the start of a plausible frame */
	uint8_t *torn = malloc(len + sizeof(junk));
	memcpy(torn, buf, len);
	memcpy(torn + len, junk, sizeof(junk));
	tu_write_file(seg, torn, len + sizeof(junk), 0600);

	diag_init(&d);
	struct audit_opts o = {.dir = f->audit, .signer = f->k};
	assert_int_equal(audit_open(&o, &log, &d), 0);
	assert_int_equal(d.n, 1);
	assert_true(strstr(d.lines[0], "cut 30 bytes") != NULL);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);

	/* And the log says so itself. */
	assert_int_equal(audit_scan(f->audit, count_torn_cb, &found, &d), 0);
	assert_int_equal(found, 1);
	free(torn);
	free(buf);
	free(seg);
	diag_clear(&d);
}


/*
 * A crash while a new segment was being created leaves a file shorter than
 * its magic. Reopening starts that segment again and the log goes on in it
 * (it used to try to create the same file anew, fail, and refuse all work).
 */
static void
torn_at_creation_is_restarted(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 1000, 600000, 0);
	struct audit_verify_report rep;
	struct diag d;
	char name[64], *seg;
	uint64_t next, seq = 0;

	append_n(log, 5);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	next = rep.last_seq + 1;
	snprintf(name, sizeof(name), "audit-%020ju.seg", (uintmax_t)next);
	seg = tu_path(f->audit, name);
	tu_write_file(seg, (const uint8_t *)"PIUG", 4, 0600); /* killed mid-magic */

	diag_init(&d);
	struct audit_opts o = {.dir = f->audit, .signer = f->k};
	if (audit_open(&o, &log, &d) != 0) {
		tu_diag_dump(&d);
		fail_msg("audit_open failed after a segment torn at creation");
	}
	append_n(log, 3);
	seq = audit_head(log);
	assert_int_equal(audit_wait_durable(log, seq), 0);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_true(rep.last_seq > seq);
	/* The records went into the restarted segment. */
	struct stat st;
	assert_int_equal(stat(seg, &st), 0);
	assert_true(st.st_size > 100);
	free(seg);
	diag_clear(&d);
}



static void
retention_removes_old_segments_and_says_so(void **state)
{
	struct fx *f = *state;
	struct audit_opts o = {.dir = f->audit, .signer = f->k, .checkpoint_records = 1000,
			       .checkpoint_ms = 600000000, .segment_bytes = 2048,
			       .clock_ms = fake_clock};
	struct audit_log *log = NULL;
	struct audit_verify_report rep;
	struct diag d;
	unsigned removed = 0;
	char **segs = NULL;
	size_t n0 = 0, n1 = 0;

	diag_init(&d);
	fake_now = 1700000000000LL; /* "six years ago" */
	assert_int_equal(audit_open(&o, &log, &d), 0);
	assert_int_equal(audit_wait_durable(log, append_n(log, 40)), 0);
	fake_now += 6LL * 365 * 86400000; /* now */
	assert_int_equal(audit_wait_durable(log, append_n(log, 40)), 0);
	assert_int_equal(audit_segments(f->audit, &segs, &n0, &d), 0);
	audit_segments_free(segs, n0);
	assert_true(n0 > 3);

	assert_int_equal(audit_purge(log, fake_now - 5LL * 365 * 86400000, &removed, &d), 0);
	assert_true(removed >= 1);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(audit_segments(f->audit, &segs, &n1, &d), 0);
	audit_segments_free(segs, n1);
	assert_int_equal(n1, n0 - removed);
	/* Still verifiable from the oldest kept record on: the purge record names that start. */
	assert_int_equal(audit_verify(f->audit, keys_secret_public(f->k), 0, &rep, &d), 0);
	assert_true(rep.first_seq > 1);
	assert_int_equal(rep.erased_before, rep.first_seq);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	diag_clear(&d);
}

/*
 * Only a clean stop makes a log complete. A cut anywhere, through a record
 * or at a record boundary (checkpoints included), leaves it intact at best,
 * with its end not proven, never complete.
 */
static void
only_a_clean_stop_is_complete(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 5, 600000, 0);
	struct audit_verify_report rep;
	char *seg;
	uint8_t *orig;
	size_t len, off[64], n;

	append_n(log, 23);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	seg = only_segment(f);
	orig = slurp(seg, &len);
	n = frames(orig, len, off, 64);
	assert_true(n >= 30);

	/* truncate -s -3: the final signed checkpoint is torn off. */
	tu_write_file(seg, orig, len - 3, 0600);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_UNPROVEN);
	assert_int_equal(rep.last_seq, n - 1);

	/* The last 8 records cut at a record boundary, checkpoints included. */
	tu_write_file(seg, orig, off[n - 8], 0600);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_UNPROVEN);
	assert_int_equal(rep.last_seq, n - 8);

	/* A torn frame after a clean stop: not complete either. */
	uint8_t *more = malloc(len + 3);
	memcpy(more, orig, len);
	memset(more + len, 0, 3);
	tu_write_file(seg, more, len + 3, 0600);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_UNPROVEN);
	free(more);

	/* A running log is not complete. */
	tu_write_file(seg, orig, len, 0600);
	log = open_log(f, 5, 600000, 0);
	assert_int_equal(audit_wait_durable(log, append_n(log, 2)), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_UNPROVEN);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	free(orig);
	free(seg);
}

/* Oldest segments removed by hand, with no purge: the start is a gap, named. */
static void
a_later_start_needs_a_purge_record(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 5, 600000, 1024);
	struct audit_verify_report rep;
	struct diag d;
	char **segs = NULL;
	size_t n = 0;

	append_n(log, 60);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(audit_segments(f->audit, &segs, &n, NULL), 0);
	assert_true(n > 3);
	assert_int_equal(unlink(segs[0]), 0);
	assert_int_equal(unlink(segs[1]), 0);
	audit_segments_free(segs, n);
	assert_int_equal(verify(f, &rep), PIUGW_EAUDITBROKEN);
	assert_int_equal(rep.verdict, AUDIT_BROKEN);
	assert_true(rep.bad_seq > 1);
	assert_non_null(strstr(rep.problem, "no purge record"));
	/* An export of part of a log says so, and is taken as an excerpt. */
	diag_init(&d);
	assert_int_equal(audit_verify(f->audit, keys_secret_public(f->k), AUDIT_VERIFY_EXCERPT,
				      &rep, &d), 0);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	assert_int_equal(rep.erased_before, 0);
	diag_clear(&d);
}

static int
open_anchored(struct fx *f, const struct audit_anchor *a, bool restore, struct audit_log **logp,
	      struct diag *d)
{
	struct audit_opts o = {.dir = f->audit, .signer = f->k, .anchor = a, .restore = restore,
			       .restore_by = "root", .restore_reason = "disk replaced"};

	return audit_open(&o, logp, d);
}

/*
 * No sequence number is ever used twice: a log cut back, or swapped for
 * another, is refused against its anchor before anything is written; an
 * operator's restore is recorded and numbering goes on past the anchor.
 */
static void
a_log_behind_its_anchor_is_refused(void **state)
{
	struct fx *f = *state;
	struct audit_log *log = open_log(f, 5, 600000, 0);
	struct audit_verify_report rep;
	struct audit_anchor a, head;
	struct diag d;
	char *seg;
	uint8_t *orig, *cut;
	size_t len, cut_len, off[64], n;

	diag_init(&d);
	append_n(log, 20);
	assert_int_equal(audit_close_head(&log, &a), 0);
	assert_true(a.seq > 20);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.last_seq, a.seq);
	seg = only_segment(f);
	orig = slurp(seg, &len);
	n = frames(orig, len, off, 64);
	assert_int_equal(n, a.seq);

	/* The anchor's own log opens. */
	assert_int_equal(open_anchored(f, &a, false, &log, &d), 0);
	assert_int_equal(audit_close_head(&log, &head), 0);
	assert_true(head.seq > a.seq);
	tu_write_file(seg, orig, len, 0600);

	/* Cut back at a record boundary: refused, both figures named, nothing written. */
	tu_write_file(seg, orig, off[n - 8], 0600);
	assert_int_equal(open_anchored(f, &a, false, &log, &d), PIUGW_EAUDITBEHIND);
	assert_null(log);
	assert_non_null(strstr(d.lines[d.n - 1], "ends at record"));
	char want[64];
	snprintf(want, sizeof(want), "record %zu", n - 8);
	assert_non_null(strstr(d.lines[d.n - 1], want));
	snprintf(want, sizeof(want), "record %ju (chain hash", (uintmax_t)a.seq);
	assert_non_null(strstr(d.lines[d.n - 1], want));
	cut = slurp(seg, &cut_len);
	assert_int_equal(cut_len, off[n - 8]);
	fileio_free(cut, cut_len, 0);
	/* A restore without a reason to: refused too, when the log agrees. */
	diag_clear(&d);

	/* Another log of the same length or longer: it forks from the anchor. */
	char *other = tu_path(f->dir, "other");
	assert_int_equal(rename(f->audit, other), 0);
	log = open_log(f, 5, 600000, 0);
	append_n(log, 25);
	assert_int_equal(audit_close(&log), 0);
	assert_int_equal(open_anchored(f, &a, false, &log, &d), PIUGW_EAUDITBEHIND);
	assert_non_null(strstr(d.lines[d.n - 1], "forks"));
	diag_clear(&d);
	tu_rmtree(f->audit);
	f->audit = tu_path(f->dir, "audit");
	assert_int_equal(rename(other, f->audit), 0);
	free(other);

	/* The operator says an older copy was restored: recorded, numbers not reused. */
	assert_int_equal(open_anchored(f, &a, true, &log, &d), 0);
	uint64_t seq = append_n(log, 1);
	assert_true(seq > a.seq + 1);
	assert_int_equal(audit_close_head(&log, &head), 0);
	assert_int_equal(verify(f, &rep), 0);
	assert_int_equal(rep.verdict, AUDIT_COMPLETE);
	assert_int_equal(rep.restores, 1);
	assert_int_equal(rep.lost_from, n - 8 + 1);
	assert_int_equal(rep.lost_to, a.seq);
	/* From the new head on, the anchor holds again; a second restore has nothing to do. */
	assert_int_equal(open_anchored(f, &head, true, &log, &d), PIUGW_EINVAL);
	assert_non_null(strstr(d.lines[d.n - 1], "nothing to restore"));
	assert_int_equal(open_anchored(f, &head, false, &log, &d), 0);
	assert_int_equal(audit_close(&log), 0);
	/* An anchor past the skipped numbers, inside the segment: found by its seq. */
	struct audit_anchor mid = {.seq = seq};
	assert_int_equal(audit_record_hash(f->audit, seq, mid.hash, NULL), 0);
	assert_int_equal(open_anchored(f, &mid, false, &log, &d), 0);
	assert_int_equal(audit_close(&log), 0);
	mid.hash[0] ^= 1;
	assert_int_equal(open_anchored(f, &mid, false, &log, &d), PIUGW_EAUDITBEHIND);
	diag_clear(&d);
	free(orig);
	free(seg);
}

/*
 * Partners witness checkpoints: only durable ones are shown, each verifies
 * with the gateway's key, and a log that no longer holds one is told apart
 * from one that does, in memory and on disk.
 */
static void
witnessed_checkpoints(void **state)
{
	struct fx *f = *state;
	/* Without a writer thread, what is appended waits for the flush. */
	struct audit_opts o = {.dir = f->audit, .signer = f->k, .checkpoint_records = 5,
			       .checkpoint_ms = 600000, .inline_writes = true};
	struct audit_log *log = NULL;
	struct audit_checkpoint cp, old, forged;
	struct keys_secret *other = NULL;
	struct diag d;
	char why[300];
	uint64_t seq;

	diag_init(&d);
	assert_int_equal(audit_open(&o, &log, &d), 0);
	diag_clear(&d);
	assert_int_equal(audit_flush(log), 0);
	assert_false(audit_last_checkpoint(log, &cp)); /* none signed yet */
	seq = append_n(log, 5); /* a checkpoint among them, not yet on disk */
	assert_false(audit_last_checkpoint(log, &cp));
	assert_int_equal(audit_flush(log), 0);
	assert_true(audit_durable(log) >= seq);
	assert_true(audit_last_checkpoint(log, &old));
	assert_true(old.seq > 1 && old.seq < seq);
	assert_string_equal(old.gateway_id, "XA-PIU");
	assert_int_equal(audit_checkpoint_verify(&old, keys_secret_public(f->k)->sign_pk), 0);
	assert_int_equal(keys_generate("XA-PIU", &other), 0);
	assert_int_equal(audit_checkpoint_verify(&old, keys_secret_public(other)->sign_pk),
			 PIUGW_EBADSIG);
	keys_secret_free(&other);
	forged = old;
	forged.head[0] ^= 1;
	assert_int_equal(audit_checkpoint_verify(&forged, keys_secret_public(f->k)->sign_pk),
			 PIUGW_EBADSIG);
	/* The log holds what it showed: in memory, and on disk. */
	assert_int_equal(audit_check_witnessed(log, &old, why, sizeof(why)), 0);
	assert_int_equal(audit_check_witnessed_dir(f->audit, &old, why, sizeof(why), NULL), 0);
	/* Another statement at that seq: a fork. */
	assert_int_equal(audit_check_witnessed(log, &forged, why, sizeof(why)), PIUGW_EAUDITBEHIND);
	assert_non_null(strstr(why, "forks"));
	assert_int_equal(audit_check_witnessed_dir(f->audit, &forged, why, sizeof(why), NULL),
			 PIUGW_EAUDITBEHIND);
	/* Beyond the end: cut. */
	cp = old;
	cp.seq = 1000;
	assert_int_equal(audit_check_witnessed(log, &cp, why, sizeof(why)), PIUGW_EAUDITBEHIND);
	assert_non_null(strstr(why, "ends at record"));
	assert_int_equal(audit_check_witnessed_dir(f->audit, &cp, why, sizeof(why), NULL),
			 PIUGW_EAUDITBEHIND);
	assert_non_null(strstr(why, "holds no record 1000"));
	assert_int_equal(audit_close(&log), 0);
	/* Reopened, the newest durable checkpoint is known again (the closing one). */
	log = open_log(f, 5, 600000, 0);
	assert_true(audit_last_checkpoint(log, &cp));
	assert_true(cp.seq > old.seq);
	assert_int_equal(audit_check_witnessed(log, &old, why, sizeof(why)), 0);
	assert_int_equal(audit_close(&log), 0);
}

/*
 * PIUGW_EAUDIT: the disk stops taking the log (a file-size limit stands in
 * for a full disk, in a child process). Appends fail closed from then on.
 */
static void
a_full_disk_fails_closed(void **state)
{
	struct fx *f = *state;

	/* With a writer thread, and without one (the daemon's way: audit_flush). */
	for (int inl = 0; inl < 2; inl++) {
		pid_t pid = fork();
		int status = 0;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct rlimit rl = {16384, 16384};
			struct audit_log *log = NULL;
			struct audit_opts o = {.dir = f->audit, .signer = f->k, .inline_writes = inl == 1};
			struct diag d;
			uint64_t seq = 0;
			int rc = 0;
			diag_init(&d);
			signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG */
			if (audit_open(&o, &log, &d) != 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0)
				_exit(2);
			for (int i = 0; i < 2000 && rc == 0; i++) {
				Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
				r.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
				r.detail = (char *)"filling the disk";
				if ((rc = audit_append(log, &r, &seq)) == 0)
					rc = audit_wait_durable(log, seq);
			}
			/* Failed closed: this error, and every append after it refused. */
			Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
			r.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
			bool closed = rc == PIUGW_EAUDIT && audit_status(log) == PIUGW_EAUDIT &&
				      audit_append(log, &r, &seq) == PIUGW_EAUDIT;
			audit_close(&log); /* reports the same error; frees what the child holds */
			diag_clear(&d);
			_exit(closed ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		tu_rmtree(f->audit);
		f->audit = tu_path(f->dir, "audit2");
	}
}

static void
subject_digests(void **state)
{
	(void)state;
	uint8_t k1[32], k2[32], a[32], b[32];

	memset(k1, 1, 32);
	memset(k2, 2, 32);
	audit_digest_document(k1, "xba", "P 123<456", a);
	audit_digest_document(k1, "XBA", "p123456", b);
	assert_memory_equal(a, b, 32); /* normalised */
	audit_digest_document(k2, "XBA", "P123456", b);
	assert_memory_not_equal(a, b, 32); /* keyed */
	audit_digest_document(k1, "XBA", "P123457", b);
	assert_memory_not_equal(a, b, 32);
	/* Field boundaries count: ("AB", "C") is not ("A", "BC"). */
	audit_digest_name(k1, "AB", "C", "1980-01-01", a);
	audit_digest_name(k1, "A", "BC", "1980-01-01", b);
	assert_memory_not_equal(a, b, 32);
	audit_digest_name(k1, "müller", "Hans-Peter", "1980-01-01", a);
	audit_digest_name(k1, "MUELLER", "hans peter", "19800101", b);
	assert_memory_equal(a, b, 32); /* the ICAO normalisation of the store */
	audit_digest_name(k1, "Мюллер", "Hans", "1980-01-01", a);
	audit_digest_name(k1, "MIULLER", "HANS", "1980-01-01", b);
	assert_memory_equal(a, b, 32);
}

/*
 * The persons a query searches for and an answer discloses, as the log
 * keeps them: a document, a name with its date of birth; nothing of a
 * masked record (its "***" would be one person for all).
 */
static void
query_and_result_digests(void **state)
{
	(void)state;
	uint8_t k[32], want[32], got[64][AUDIT_DIGEST_BYTES];
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;
	Piugw__QueryResult r = PIUGW__QUERY_RESULT__INIT;
	Piugw__Match m[2] = {PIUGW__MATCH__INIT, PIUGW__MATCH__INIT}, *mv[2] = {&m[0], &m[1]};
	Piugw__ApiDocument doc[2] = {PIUGW__API_DOCUMENT__INIT, PIUGW__API_DOCUMENT__INIT};
	Piugw__ApiIdentity id[2] = {PIUGW__API_IDENTITY__INIT, PIUGW__API_IDENTITY__INIT};

	memset(k, 3, sizeof(k));
	dc.issuing_state = (char *)"XBA";
	dc.number = (char *)"P1234567";
	q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q.document = &dc;
	assert_int_equal(audit_query_digests(k, &q, got), 1);
	audit_digest_document(k, "XBA", "P1234567", want);
	assert_memory_equal(got[0], want, 32);
	nc.surname = (char *)"Müller";
	nc.given_names = (char *)"Anna";
	nc.date_of_birth = (char *)"1985-04-12";
	q.criteria_case = PIUGW__QUERY__CRITERIA_NAME_FUZZY;
	q.name_fuzzy = &nc;
	assert_int_equal(audit_query_digests(k, &q, got), 1);
	audit_digest_name(k, "Müller", "Anna", "1985-04-12", want);
	assert_memory_equal(got[0], want, 32);
	q.criteria_case = PIUGW__QUERY__CRITERIA_LOCATOR;
	assert_int_equal(audit_query_digests(k, &q, got), 0);

	/* Two matches: one whole, one masked (its name and document are "***"). */
	doc[0].issuing_state = (char *)"XBA";
	doc[0].number = (char *)"P1234567";
	id[0].surname = (char *)"Müller";
	id[0].given_names = (char *)"Anna";
	id[0].date_of_birth = (char *)"1985-04-12";
	doc[1].issuing_state = (char *)"XCA";
	doc[1].number = (char *)DISCLOSE_MASK;
	id[1].surname = (char *)DISCLOSE_MASK;
	m[1].masked = true;
	for (int i = 0; i < 2; i++) {
		m[i].api_document = &doc[i];
		m[i].api_identity = &id[i];
	}
	r.matches = mv;
	r.n_matches = 2;
	assert_int_equal(audit_result_digests(k, &r, got, 64), 2);
	audit_digest_document(k, "XBA", "P1234567", want);
	assert_memory_equal(got[0], want, 32);
	audit_digest_name(k, "Müller", "Anna", "1985-04-12", want);
	assert_memory_equal(got[1], want, 32);
	/* Never more than max. */
	assert_int_equal(audit_result_digests(k, &r, got, 1), 0);
}

static void
audit_key_file(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "audit.key");
	uint8_t k[32], again[32];
	struct diag d;
	struct stat st;

	diag_init(&d);
	assert_int_equal(audit_key_load(p, false, k, &d), PIUGW_ENOENT);
	assert_int_equal(audit_key_load(p, true, k, &d), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(audit_key_load(p, true, again, &d), 0);
	assert_memory_equal(k, again, 32);
	chmod(p, 0644);
	assert_int_equal(audit_key_load(p, false, again, &d), PIUGW_EKEYPERM);
	free(p);
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(append_wait_close_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(one_writer_only, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(inline_writes_flush_once, setup, teardown),
		cmocka_unit_test_setup_teardown(tampering_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(survives_kill_9_at_random_points, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_tail_is_cut_and_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_at_creation_is_restarted, setup, teardown),
		cmocka_unit_test_setup_teardown(retention_removes_old_segments_and_says_so, setup,
						teardown),
		cmocka_unit_test_setup_teardown(only_a_clean_stop_is_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(a_later_start_needs_a_purge_record, setup, teardown),
		cmocka_unit_test_setup_teardown(a_log_behind_its_anchor_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(witnessed_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(a_full_disk_fails_closed, setup, teardown),
		cmocka_unit_test(subject_digests),
		cmocka_unit_test(query_and_result_digests),
		cmocka_unit_test_setup_teardown(audit_key_file, setup, teardown),
	};
	tu_sodium_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
