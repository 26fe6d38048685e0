/*
 * audit.c: see audit.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "disclose.h"
#include "fileio.h"
#include "match.h"
#include "piugw/error.h"

#define MAGIC "PIUGWAUD1\n"
#define MAGIC_LEN 10
#define CHECK_BYTES 16
#define HASH_LABEL "piugw v1 audit"
#define CP_LABEL "piugw v1 audit checkpoint"
#define RECENT_CPS 64 /* durable checkpoints kept in memory, for partners' witnesses */
#define SEG_PREFIX "audit-"
#define SEG_SUFFIX ".seg"

struct frame {
	uint8_t *buf;
	size_t len;
	uint64_t seq;
	bool new_segment; /* the frame starts a new segment named after seq */
};

struct audit_log {
	char *dir;
	int lock_fd;
	int dir_fd;
	const struct keys_secret *signer;
	uint32_t cp_records;
	uint32_t cp_ms;
	uint64_t seg_bytes;
	int64_t (*clock_ms)(void);

	pthread_mutex_t mu;
	pthread_cond_t work;    /* writer: something to do */
	pthread_cond_t durable; /* waiters: durable_seq moved or error */
	pthread_t thread;
	bool thread_started;
	bool inline_writes; /* no thread: audit_flush() writes (audit_opts) */
	uint64_t found_seq; /* the head found on disk at open (audit_found_head) */

	/* chain, under mu */
	uint64_t next_seq;
	uint8_t prev_hash[32];
	uint64_t since_cp;
	uint64_t cp_first;
	int64_t last_cp_ms;
	uint64_t planned_size; /* bytes of the current segment including queued frames */
	struct audit_checkpoint queued_cp; /* the newest checkpoint appended, not yet durable */
	struct audit_checkpoint recent[RECENT_CPS]; /* durable ones, a ring; recent_n in all */
	uint64_t recent_n;

	/* queue, under mu */
	struct frame *q;
	size_t qn, qcap;
	struct frame *spare; /* the other queue, swapped in while one is written */
	size_t spare_cap;

	/* writer */
	int seg_fd;
	char *seg_path;
	uint64_t durable_seq;
	uint8_t durable_hash[32]; /* the chain hash of record durable_seq */
	int error;
	bool stop;
	uint64_t syncs;
};

static int64_t
real_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The chain hash of a record's bytes. */
static void
record_hash(const uint8_t *rec, size_t len, uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)HASH_LABEL, sizeof(HASH_LABEL)); /* + 0x00 */
	crypto_generichash_update(&st, rec, len);
	crypto_generichash_final(&st, out, 32);
}

/* The signing input of a checkpoint (see audit.h). */
static size_t
cp_input(const struct audit_checkpoint *cp, uint8_t *out, size_t cap)
{
	size_t n = sizeof(CP_LABEL) + 8 + 8 + 32 + 8 + strlen(cp->gateway_id), o = 0;

	if (n > cap)
		return 0;
	memcpy(out, CP_LABEL, sizeof(CP_LABEL)); /* with its 0x00 */
	o += sizeof(CP_LABEL);
	be64(out + o, cp->seq);
	o += 8;
	be64(out + o, (uint64_t)cp->time_ms);
	o += 8;
	memcpy(out + o, cp->head, 32);
	o += 32;
	be64(out + o, cp->first_seq);
	o += 8;
	memcpy(out + o, cp->gateway_id, strlen(cp->gateway_id));
	return n;
}

/* A checkpoint record as the checkpoint it signs; false if it is none or malformed. */
static bool
cp_from_record(const Piugw__AuditRecord *r, struct audit_checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	if (r->event != PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT || r->prev_hash.len != 32 ||
	    strlen(r->gateway_id) > KEYS_ID_MAX)
		return false;
	snprintf(cp->gateway_id, sizeof(cp->gateway_id), "%s", r->gateway_id);
	cp->seq = r->seq;
	cp->time_ms = r->time_ms;
	memcpy(cp->head, r->prev_hash.data, 32);
	cp->first_seq = r->checkpoint_first_seq;
	if (r->signature.len == 64)
		memcpy(cp->signature, r->signature.data, 64);
	return true;
}

static size_t
checkpoint_input(const Piugw__AuditRecord *r, uint8_t *out, size_t cap)
{
	struct audit_checkpoint cp;

	return cp_from_record(r, &cp) ? cp_input(&cp, out, cap) : 0;
}

/* Two checkpoints are the same statement: every signed field and the signature. */
static bool
cp_same(const struct audit_checkpoint *a, const struct audit_checkpoint *b)
{
	return a->seq == b->seq && a->time_ms == b->time_ms && a->first_seq == b->first_seq &&
	       strcmp(a->gateway_id, b->gateway_id) == 0 && sodium_memcmp(a->head, b->head, 32) == 0 &&
	       sodium_memcmp(a->signature, b->signature, 64) == 0;
}

/* See audit.h. */
int
audit_checkpoint_verify(const struct audit_checkpoint *cp, const uint8_t sign_pk[32])
{
	uint8_t sin[256];
	size_t n = cp_input(cp, sin, sizeof(sin));

	if (n == 0 || cp->seq == 0 ||
	    crypto_sign_verify_detached(cp->signature, sin, n, sign_pk) != 0)
		return PIUGW_EBADSIG;
	return 0;
}

/* ---- appending ---- */

static int append_locked(struct audit_log *log, Piugw__AuditRecord *r, uint64_t *seqp);

static int
checkpoint_locked(struct audit_log *log, uint64_t *seqp)
{
	Piugw__AuditRecord cp = PIUGW__AUDIT_RECORD__INIT;

	cp.event = PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT;
	cp.checkpoint_first_seq = log->cp_first;
	return append_locked(log, &cp, seqp);
}

static int
append_locked(struct audit_log *log, Piugw__AuditRecord *r, uint64_t *seqp)
{
	struct frame f = {0};
	uint8_t sin[256], sig[64], check[CHECK_BYTES];
	size_t len, n;
	bool is_cp = r->event == PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT;
	int ret;

	if (log->error != 0)
		return log->error;
	if (log->stop)
		return PIUGW_EINVAL;
	r->seq = log->next_seq;
	r->time_ms = log->clock_ms();
	r->prev_hash.data = log->prev_hash;
	r->prev_hash.len = 32;
	r->gateway_id = (char *)(is_cp ? keys_secret_public(log->signer)->id : "");
	r->signature.data = NULL;
	r->signature.len = 0;
	if (is_cp) {
		if ((n = checkpoint_input(r, sin, sizeof(sin))) == 0 ||
		    (ret = keys_sign(log->signer, sig, sin, n)) != 0)
			return PIUGW_EINTERNAL;
		r->signature.data = sig;
		r->signature.len = sizeof(sig);
		cp_from_record(r, &log->queued_cp); /* shown to partners once durable */
	}
	len = piugw__audit_record__get_packed_size(r);
	if (len > AUDIT_RECORD_MAX)
		return PIUGW_ETOOLARGE;
	if (log->qn == log->qcap) {
		size_t ncap = log->qcap ? log->qcap * 2 : 64;
		struct frame *nq = realloc(log->q, ncap * sizeof(*nq));
		if (nq == NULL)
			return PIUGW_ENOMEM;
		log->q = nq;
		log->qcap = ncap;
	}
	if ((f.buf = malloc(4 + len + CHECK_BYTES)) == NULL)
		return PIUGW_ENOMEM;
	f.len = 4 + len + CHECK_BYTES;
	f.buf[0] = (uint8_t)(len >> 24);
	f.buf[1] = (uint8_t)(len >> 16);
	f.buf[2] = (uint8_t)(len >> 8);
	f.buf[3] = (uint8_t)len;
	piugw__audit_record__pack(r, f.buf + 4);
	crypto_generichash(check, CHECK_BYTES, f.buf + 4, len, NULL, 0);
	memcpy(f.buf + 4 + len, check, CHECK_BYTES);
	f.seq = r->seq;
	/* Rotate at a record boundary once the segment is full. */
	if (log->planned_size == 0 ||
	    (log->planned_size > MAGIC_LEN && log->planned_size + f.len > log->seg_bytes)) {
		f.new_segment = true;
		log->planned_size = MAGIC_LEN;
	}
	log->planned_size += f.len;
	/* The chain moves on only once the record is certainly queued. */
	record_hash(f.buf + 4, len, log->prev_hash);
	log->q[log->qn++] = f;
	log->next_seq++;
	if (seqp != NULL)
		*seqp = f.seq;
	if (!log->inline_writes)
		pthread_cond_signal(&log->work);
	if (is_cp) {
		log->since_cp = 0;
		log->cp_first = log->next_seq;
		log->last_cp_ms = log->clock_ms();
	} else if (++log->since_cp >= log->cp_records) {
		return checkpoint_locked(log, NULL);
	}
	return 0;
}

/* See audit.h. */
int
audit_append(struct audit_log *log, Piugw__AuditRecord *r, uint64_t *seqp)
{
	int ret;

	pthread_mutex_lock(&log->mu);
	ret = append_locked(log, r, seqp);
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* See audit.h. */
int
audit_checkpoint(struct audit_log *log, uint64_t *seqp)
{
	int ret;

	pthread_mutex_lock(&log->mu);
	ret = checkpoint_locked(log, seqp);
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* See audit.h. */
int
audit_wait_durable(struct audit_log *log, uint64_t seq)
{
	int ret;

	if (log->inline_writes && seq > audit_durable(log))
		return audit_flush(log);
	pthread_mutex_lock(&log->mu);
	while (log->durable_seq < seq && log->error == 0)
		pthread_cond_wait(&log->durable, &log->mu);
	ret = log->durable_seq >= seq ? 0 : log->error;
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* See audit.h. */
uint64_t
audit_head(struct audit_log *log)
{
	uint64_t v;

	pthread_mutex_lock(&log->mu);
	v = log->next_seq - 1;
	pthread_mutex_unlock(&log->mu);
	return v;
}

/* See audit.h. */
uint64_t
audit_found_head(struct audit_log *log)
{
	return log->found_seq;
}

/* See audit.h. */
int64_t
audit_last_checkpoint_ms(struct audit_log *log)
{
	int64_t v;

	pthread_mutex_lock(&log->mu);
	v = log->last_cp_ms;
	pthread_mutex_unlock(&log->mu);
	return v;
}

/* See audit.h. */
uint64_t
audit_durable(struct audit_log *log)
{
	uint64_t v;

	pthread_mutex_lock(&log->mu);
	v = log->durable_seq;
	pthread_mutex_unlock(&log->mu);
	return v;
}

/* See audit.h. */
void
audit_durable_head(struct audit_log *log, struct audit_anchor *out)
{
	pthread_mutex_lock(&log->mu);
	out->seq = log->durable_seq;
	memcpy(out->hash, log->durable_hash, 32);
	pthread_mutex_unlock(&log->mu);
}

/* See audit.h. */
int
audit_status(struct audit_log *log)
{
	int v;

	pthread_mutex_lock(&log->mu);
	v = log->error;
	pthread_mutex_unlock(&log->mu);
	return v;
}

/* See audit.h. */
uint64_t
audit_syncs(struct audit_log *log)
{
	uint64_t v;

	pthread_mutex_lock(&log->mu);
	v = log->syncs;
	pthread_mutex_unlock(&log->mu);
	return v;
}

/* See audit.h. */
bool
audit_last_checkpoint(struct audit_log *log, struct audit_checkpoint *out)
{
	bool have;

	pthread_mutex_lock(&log->mu);
	have = log->recent_n > 0;
	if (have)
		*out = log->recent[(log->recent_n - 1) % RECENT_CPS];
	pthread_mutex_unlock(&log->mu);
	return have;
}

/* See audit.h. */
int
audit_check_witnessed(struct audit_log *log, const struct audit_checkpoint *cp, char *why,
		      size_t whylen)
{
	uint64_t head;
	bool found = false, same = false;
	struct diag quiet;
	int ret;

	pthread_mutex_lock(&log->mu);
	head = log->next_seq - 1;
	for (uint64_t i = 0; i < RECENT_CPS && i < log->recent_n && !found; i++) {
		const struct audit_checkpoint *r = &log->recent[(log->recent_n - 1 - i) % RECENT_CPS];
		if (r->seq == cp->seq) {
			found = true;
			same = cp_same(r, cp);
		}
	}
	pthread_mutex_unlock(&log->mu);
	if (cp->seq > head) {
		snprintf(why, whylen, "this log ends at record %ju, but checkpoint %ju of it was "
			 "witnessed: records were cut or an older copy was put back", (uintmax_t)head,
			 (uintmax_t)cp->seq);
		return PIUGW_EAUDITBEHIND;
	}
	if (found && same)
		return 0;
	if (found) {
		snprintf(why, whylen, "checkpoint %ju of this log is not the one that was witnessed: "
			 "the log forks from what it showed its partners", (uintmax_t)cp->seq);
		return PIUGW_EAUDITBEHIND;
	}
	/* Older than the ones in memory: read from the segments. */
	diag_init(&quiet);
	ret = audit_check_witnessed_dir(log->dir, cp, why, whylen, &quiet);
	diag_clear(&quiet);
	return ret == PIUGW_EAUDITBEHIND ? ret : 0;
}

/* ---- the writer ---- */

static char *
segment_path(const char *dir, uint64_t first_seq)
{
	size_t n = strlen(dir) + sizeof("/" SEG_PREFIX SEG_SUFFIX) + 21;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/" SEG_PREFIX "%020ju" SEG_SUFFIX, dir, (uintmax_t)first_seq);
	return p;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write frames q[0..n) to fd with as few system calls as it takes. */
static int
write_frames(int fd, const struct frame *q, size_t n)
{
	struct iovec iov[64];

	while (n > 0) {
		size_t k = n < 64 ? n : 64, skip = 0;
		int cnt = (int)k;
		for (size_t i = 0; i < k; i++)
			iov[i] = (struct iovec){.iov_base = q[i].buf, .iov_len = q[i].len};
		while (cnt > 0) {
			ssize_t w = writev(fd, iov + skip, cnt);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			/* A short write: go on from where it stopped. */
			while (cnt > 0 && (size_t)w >= iov[skip].iov_len) {
				w -= (ssize_t)iov[skip].iov_len;
				skip++;
				cnt--;
			}
			if (cnt > 0) {
				iov[skip].iov_base = (uint8_t *)iov[skip].iov_base + w;
				iov[skip].iov_len -= (size_t)w;
			}
		}
		q += k;
		n -= k;
	}
	return 0;
}

/* Write one batch of frames and make it durable. Writer thread only. */
static int
write_batch(struct audit_log *log, struct frame *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (q[i].new_segment) {
			char *path = segment_path(log->dir, q[i].seq);
			int fd;
			if (path == NULL)
				return PIUGW_ENOMEM;
			/* Finish the old segment before the new one exists. */
			if (log->seg_fd >= 0 && (fdatasync(log->seg_fd) != 0 || close(log->seg_fd) != 0)) {
				log->seg_fd = -1;
				free(path);
				return PIUGW_EAUDIT;
			}
			log->seg_fd = -1;
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
			if (fd < 0 || write_all(fd, (const uint8_t *)MAGIC, MAGIC_LEN) != 0) {
				if (fd >= 0)
					close(fd);
				free(path);
				return PIUGW_EAUDIT;
			}
			free(log->seg_path);
			log->seg_path = path;
			log->seg_fd = fd;
			if (fsync(log->dir_fd) != 0) /* the new file's name must survive a crash */
				return PIUGW_EAUDIT;
		}
		/* This frame and the ones after it in the same segment, at once. */
		size_t j = i + 1;
		while (j < n && !q[j].new_segment)
			j++;
		if (write_frames(log->seg_fd, q + i, j - i) != 0)
			return PIUGW_EAUDIT;
		i = j - 1;
	}
	if (fdatasync(log->seg_fd) != 0)
		return PIUGW_EAUDIT;
	return 0;
}

/*
 * Write the whole queue as one batch and make it durable: one write and one
 * fdatasync for all of it. Called with mu held by the one writer of the log
 * (its thread, or audit_flush() without one); mu is let go meanwhile, so
 * that appends go on into the other queue.
 */
static void
write_queue_locked(struct audit_log *log)
{
	struct frame *batch = log->q;
	size_t bn = log->qn, bcap = log->qcap;
	uint8_t head[32];
	int rc;

	log->q = log->spare;
	log->qcap = log->spare_cap;
	log->qn = 0;
	pthread_mutex_unlock(&log->mu);

	rc = log->error != 0 ? log->error : write_batch(log, batch, bn);
	if (rc == 0) /* the anchor a caller may keep: one hash per batch */
		record_hash(batch[bn - 1].buf + 4, batch[bn - 1].len - 4 - CHECK_BYTES, head);
	pthread_mutex_lock(&log->mu);
	if (rc != 0) {
		/* Fail closed: nothing more is accepted, waiters are told. */
		log->error = rc;
	} else {
		log->durable_seq = batch[bn - 1].seq;
		memcpy(log->durable_hash, head, 32);
		log->syncs++;
		if (log->queued_cp.seq != 0 && log->queued_cp.seq <= log->durable_seq) {
			log->recent[log->recent_n++ % RECENT_CPS] = log->queued_cp;
			log->queued_cp.seq = 0;
		}
	}
	for (size_t i = 0; i < bn; i++)
		free(batch[i].buf);
	log->spare = batch;
	log->spare_cap = bcap;
	if (!log->inline_writes)
		pthread_cond_broadcast(&log->durable); /* waiters in other threads */
}

/* Is a checkpoint due by time? Under mu. */
static bool
checkpoint_due_locked(struct audit_log *log)
{
	return log->since_cp > 0 && log->error == 0 &&
	       log->clock_ms() - log->last_cp_ms >= (int64_t)log->cp_ms;
}

static void *
writer_main(void *arg)
{
	struct audit_log *log = arg;

	pthread_mutex_lock(&log->mu);
	for (;;) {
		while (log->qn == 0 && !log->stop) {
			if (log->since_cp > 0 && log->error == 0) {
				int64_t left = log->last_cp_ms + log->cp_ms - log->clock_ms();
				int64_t due;
				struct timespec ts;
				if (left <= 0) {
					checkpoint_locked(log, NULL);
					break;
				}
				/* The record clock may be a test's; the wait is in real time. */
				due = real_clock_ms() + left;
				ts.tv_sec = due / 1000;
				ts.tv_nsec = (long)(due % 1000) * 1000000;
				pthread_cond_timedwait(&log->work, &log->mu, &ts);
			} else {
				pthread_cond_wait(&log->work, &log->mu);
			}
		}
		if (log->qn == 0 && log->stop)
			break;
		write_queue_locked(log);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

/* See audit.h. */
int
audit_flush(struct audit_log *log)
{
	int ret;

	if (!log->inline_writes)
		return audit_wait_durable(log, audit_head(log));
	pthread_mutex_lock(&log->mu);
	if (checkpoint_due_locked(log))
		checkpoint_locked(log, NULL);
	if (log->qn > 0)
		write_queue_locked(log);
	ret = log->error;
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* ---- reading segments ---- */

/* See audit.h. */
void
audit_segments_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* See audit.h. */
int
audit_segments(const char *dir, char ***outp, size_t *np, struct diag *d)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*outp = NULL;
	*np = 0;
	if (dh == NULL) {
		diag_add(d, "%s: cannot read the audit folder: %s", dir, strerror(errno));
		return errno == ENOENT ? PIUGW_ENOENT : PIUGW_ESYSTEM;
	}
	while ((de = readdir(dh)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l != strlen(SEG_PREFIX) + 20 + strlen(SEG_SUFFIX) ||
		    strncmp(de->d_name, SEG_PREFIX, strlen(SEG_PREFIX)) != 0 ||
		    strcmp(de->d_name + l - strlen(SEG_SUFFIX), SEG_SUFFIX) != 0)
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL) {
				closedir(dh);
				audit_segments_free(v, n);
				return PIUGW_ENOMEM;
			}
			v = nv;
		}
		size_t pl = strlen(dir) + l + 2;
		if ((v[n] = malloc(pl)) == NULL) {
			closedir(dh);
			audit_segments_free(v, n);
			return PIUGW_ENOMEM;
		}
		snprintf(v[n++], pl, "%s/%s", dir, de->d_name);
	}
	closedir(dh);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*outp = v;
	*np = n;
	return 0;
}

/* A segment read whole; frames walked with next_frame(). */
struct seg {
	uint8_t *buf;
	size_t len;
	size_t off;
};

static int
seg_read(const char *path, struct seg *s, struct diag *d)
{
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = fileio_read(path, (size_t)1 << 34, 0, &s->buf, &s->len, d)) != 0)
		return ret;
	s->off = MAGIC_LEN;
	return 0;
}

enum frame_result { FRAME_OK, FRAME_END, FRAME_TORN, FRAME_BAD };

/* The next frame of s: the record bytes in *rec, their length in *len. */
static enum frame_result
next_frame(struct seg *s, const uint8_t **rec, size_t *len)
{
	uint8_t check[CHECK_BYTES];
	uint32_t l;

	if (s->off == s->len)
		return FRAME_END;
	if (s->len - s->off < 4)
		return FRAME_TORN;
	l = rd32(s->buf + s->off);
	if (l == 0 || l > AUDIT_RECORD_MAX)
		return FRAME_BAD;
	if (s->len - s->off < 4 + (size_t)l + CHECK_BYTES)
		return FRAME_TORN;
	crypto_generichash(check, CHECK_BYTES, s->buf + s->off + 4, l, NULL, 0);
	if (sodium_memcmp(check, s->buf + s->off + 4 + l, CHECK_BYTES) != 0)
		return FRAME_BAD;
	*rec = s->buf + s->off + 4;
	*len = l;
	s->off += 4 + (size_t)l + CHECK_BYTES;
	return FRAME_OK;
}

/* The seq a segment's name says it starts with (0 if the name is not one). */
static uint64_t
seg_name_seq(const char *path)
{
	const char *base = strrchr(path, '/');
	uint64_t v = 0;

	base = base != NULL ? base + 1 : path;
	if (strncmp(base, SEG_PREFIX, strlen(SEG_PREFIX)) != 0)
		return 0;
	for (const char *p = base + strlen(SEG_PREFIX); *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/*
 * The record seq in the segments segs[0..n): its chain hash into out, and
 * (if prevp) the prev_hash it carries. Finds the segment by its name; within
 * it, each record is read for its seq (a restore may have skipped numbers).
 */
static int
find_record(char **segs, size_t n, uint64_t seq, uint8_t out[32], uint8_t *prevp,
	    struct diag *d)
{
	size_t k = n;
	struct seg s;
	const uint8_t *rec = NULL;
	size_t len = 0;
	int ret;

	while (k > 0 && seg_name_seq(segs[k - 1]) > seq)
		k--;
	if (k == 0)
		return PIUGW_ENOENT;
	if ((ret = seg_read(segs[k - 1], &s, d)) != 0)
		return ret;
	ret = PIUGW_ENOENT;
	if (s.len >= MAGIC_LEN && memcmp(s.buf, MAGIC, MAGIC_LEN) == 0) {
		while (ret == PIUGW_ENOENT && next_frame(&s, &rec, &len) == FRAME_OK) {
			Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
			if (r == NULL)
				break;
			if (r->seq == seq && r->prev_hash.len == 32) {
				record_hash(rec, len, out);
				if (prevp != NULL)
					memcpy(prevp, r->prev_hash.data, 32);
				ret = 0;
			}
			piugw__audit_record__free_unpacked(r, NULL);
		}
	}
	fileio_free(s.buf, s.len, 0);
	return ret;
}

/* See audit.h. */
int
audit_record_hash(const char *dir, uint64_t seq, uint8_t out[32], struct diag *d)
{
	char **segs = NULL;
	size_t n = 0;
	int ret;

	if ((ret = audit_segments(dir, &segs, &n, d)) != 0)
		return ret;
	ret = find_record(segs, n, seq, out, NULL, d);
	audit_segments_free(segs, n);
	return ret;
}

/* See audit.h. */
int
audit_check_witnessed_dir(const char *dir, const struct audit_checkpoint *cp, char *why,
			  size_t whylen, struct diag *d)
{
	char **segs = NULL;
	size_t n = 0, k;
	struct seg s;
	const uint8_t *rec;
	size_t len;
	uint64_t last = 0;
	int ret;

	if ((ret = audit_segments(dir, &segs, &n, d)) != 0)
		return ret;
	k = n;
	while (k > 0 && seg_name_seq(segs[k - 1]) > cp->seq)
		k--;
	if (k == 0) { /* before the oldest segment kept: purged, nothing to compare */
		audit_segments_free(segs, n);
		return 0;
	}
	/* The segment that would hold it (they are named after their first record). */
	if ((ret = seg_read(segs[k - 1], &s, d)) != 0) {
		audit_segments_free(segs, n);
		return ret;
	}
	ret = PIUGW_ENOENT;
	while (ret == PIUGW_ENOENT && s.len >= MAGIC_LEN && next_frame(&s, &rec, &len) == FRAME_OK) {
		Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
		struct audit_checkpoint have;
		if (r == NULL)
			break;
		last = r->seq;
		if (r->seq == cp->seq)
			ret = cp_from_record(r, &have) && cp_same(&have, cp) ? 0 : PIUGW_EAUDITBEHIND;
		piugw__audit_record__free_unpacked(r, NULL);
	}
	fileio_free(s.buf, s.len, 0);
	if (ret == PIUGW_EAUDITBEHIND)
		snprintf(why, whylen, "record %ju of the log is not checkpoint %ju as it was "
			 "witnessed: the log forks from what it showed its partners",
			 (uintmax_t)cp->seq, (uintmax_t)cp->seq);
	else if (ret == PIUGW_ENOENT)
		snprintf(why, whylen, "the log holds no record %ju (%s ends at %ju), but checkpoint "
			 "%ju of it was witnessed: records were cut or an older copy was put back",
			 (uintmax_t)cp->seq, k == n ? "it" : "the segment that would hold it",
			 (uintmax_t)last, (uintmax_t)cp->seq);
	audit_segments_free(segs, n);
	return ret == PIUGW_ENOENT ? PIUGW_EAUDITBEHIND : ret;
}

/* ---- opening and recovery ---- */

/* Cut a torn tail off the last segment; learn the chain's head. */
static int
recover(struct audit_log *log, char **segs, size_t nsegs, size_t *cutp, char **cut_segp,
	struct diag *d)
{
	int ret = 0;

	*cutp = 0;
	*cut_segp = NULL;
	for (size_t k = nsegs; k-- > 0;) {
		struct seg s;
		const uint8_t *rec = NULL, *last = NULL;
		size_t len = 0, last_len = 0, good;
		enum frame_result fr;
		bool is_last = k == nsegs - 1;

		if ((ret = seg_read(segs[k], &s, d)) != 0)
			return ret;
		if (s.len < MAGIC_LEN || memcmp(s.buf, MAGIC, MAGIC_LEN) != 0) {
			if (is_last && s.len < MAGIC_LEN && memcmp(s.buf, MAGIC, s.len) == 0) {
				/* Torn at creation: start the segment again. */
				int fd = open(segs[k], O_WRONLY | O_TRUNC | O_CLOEXEC);
				int ok = fd >= 0 && write_all(fd, (const uint8_t *)MAGIC, MAGIC_LEN) == 0 &&
					 fsync(fd) == 0;
				if (fd >= 0)
					close(fd);
				fileio_free(s.buf, s.len, 0);
				if (!ok) {
					diag_add(d, "%s: cannot repair: %s", segs[k], strerror(errno));
					return PIUGW_EAUDIT;
				}
				*cutp = s.len;
				*cut_segp = strdup(segs[k]);
				/*
				 * The log goes on in this segment: it holds the magic
				 * and nothing else (0 would mean "make a new segment",
				 * whose name, from the next seq, is this one's).
				 */
				log->planned_size = MAGIC_LEN;
				continue;
			}
			diag_add(d, "%s: not an audit segment (bad header); run 'piugw audit verify'",
				 segs[k]);
			fileio_free(s.buf, s.len, 0);
			return PIUGW_EAUDITBROKEN;
		}
		good = s.off;
		while ((fr = next_frame(&s, &rec, &len)) == FRAME_OK) {
			last = rec;
			last_len = len;
			good = s.off;
			/* The durable checkpoints partners may have witnessed, newest last. */
			if (is_last) {
				Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
				struct audit_checkpoint cp;
				if (r != NULL && cp_from_record(r, &cp))
					log->recent[log->recent_n++ % RECENT_CPS] = cp;
				if (r != NULL)
					piugw__audit_record__free_unpacked(r, NULL);
			}
		}
		if (fr != FRAME_END) {
			if (!is_last) {
				diag_add(d, "%s: damaged at offset %zu (not the segment being written); "
					    "run 'piugw audit verify'", segs[k], good);
				fileio_free(s.buf, s.len, 0);
				return PIUGW_EAUDITBROKEN;
			}
			/* A crash mid-write: cut back to the last complete record. */
			if (truncate(segs[k], (off_t)good) != 0) {
				diag_add(d, "%s: cannot cut the torn tail: %s", segs[k], strerror(errno));
				fileio_free(s.buf, s.len, 0);
				return PIUGW_EAUDIT;
			}
			*cutp = s.len - good;
			*cut_segp = strdup(segs[k]);
		}
		if (is_last)
			log->planned_size = good;
		if (last != NULL) {
			Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, last_len, last);
			if (r == NULL) {
				diag_add(d, "%s: the last record does not parse", segs[k]);
				fileio_free(s.buf, s.len, 0);
				return PIUGW_EAUDITBROKEN;
			}
			log->next_seq = r->seq + 1;
			record_hash(last, last_len, log->prev_hash);
			piugw__audit_record__free_unpacked(r, NULL);
			fileio_free(s.buf, s.len, 0);
			return 0;
		}
		fileio_free(s.buf, s.len, 0);
		/* An empty segment: the head is in the one before. */
	}
	return 0;
}

static void
hex8(char out[17], const uint8_t *h)
{
	sodium_bin2hex(out, 17, h, 8);
}

/*
 * Does the log reach the anchor, and hold the same record at its seq? On a
 * mismatch that o->restore accepts: *lostp the first seq lost (0: none) and
 * numbering moved past the anchor; what says what was found.
 */
static int
check_anchor(struct audit_log *log, const struct audit_opts *o, char **segs, size_t n,
	     bool *restorep, uint64_t *lostp, char *what, size_t whatlen, struct diag *d)
{
	const struct audit_anchor *a = o->anchor;
	uint64_t head = log->next_seq - 1;
	uint8_t h[32];
	char want[17], got[17];
	int rc;

	*restorep = false;
	*lostp = 0;
	if (a == NULL || a->seq == 0) {
		if (!o->restore)
			return 0;
		diag_add(d, "%s: nothing to restore: this gateway has no record of its log's head "
			 "yet (state.db)", log->dir);
		return PIUGW_EINVAL;
	}
	hex8(want, a->hash);
	if (head < a->seq) {
		snprintf(what, whatlen, "the log ends at record %ju, but this gateway had made record "
			 "%ju (chain hash %s...) durable", (uintmax_t)head, (uintmax_t)a->seq, want);
		*lostp = head + 1;
	} else {
		if (head == a->seq) {
			memcpy(h, log->prev_hash, 32);
		} else if ((rc = find_record(segs, n, a->seq, h, NULL, d)) == PIUGW_ENOENT &&
			   n > 0 && a->seq < seg_name_seq(segs[0])) {
			return o->restore ? PIUGW_EINVAL : 0; /* purged since: nothing to compare */
		} else if (rc != 0) {
			diag_add(d, "%s: record %ju, the newest this gateway made durable, is not in "
				 "the log; run 'piugw audit verify'", log->dir, (uintmax_t)a->seq);
			return rc == PIUGW_ENOENT ? PIUGW_EAUDITBEHIND : rc;
		}
		if (sodium_memcmp(h, a->hash, 32) == 0) {
			if (!o->restore)
				return 0;
			diag_add(d, "%s: nothing to restore: the log reaches record %ju, the newest "
				 "this gateway made durable, and agrees with it", log->dir,
				 (uintmax_t)a->seq);
			return PIUGW_EINVAL;
		}
		hex8(got, h);
		snprintf(what, whatlen, "record %ju of the log has chain hash %s..., but the record "
			 "%ju this gateway made durable had %s...: the log forks from its own past",
			 (uintmax_t)a->seq, got, (uintmax_t)a->seq, want);
	}
	if (!o->restore) {
		diag_add(d, "%s: %s (state.db keeps the newest durable record of the log). Records "
			 "were cut from the log or another copy was put in its place; nothing was "
			 "written. If an older copy was restored on purpose, say so with 'piugw audit "
			 "restore --reason TEXT', which records it", log->dir, what);
		return PIUGW_EAUDITBEHIND;
	}
	*restorep = true;
	/* No number is used twice: the log goes on past every record ever made durable. */
	log->next_seq = (head > a->seq ? head : a->seq) + 1;
	return 0;
}

static int
lock_dir(struct audit_log *log, struct diag *d)
{
	size_t n = strlen(log->dir) + sizeof("/.lock");
	char *p = malloc(n);

	if (p == NULL)
		return PIUGW_ENOMEM;
	snprintf(p, n, "%s/.lock", log->dir);
	log->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (log->lock_fd < 0) {
		diag_add(d, "%s: cannot create the lock: %s", log->dir, strerror(errno));
		return PIUGW_EAUDIT;
	}
	/* One writer only: two would fork the chain. */
	if (flock(log->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		diag_add(d, "%s: the audit log is in use by another process (a running piugwd, "
			 "or piugw import, store purge or audit purge)", log->dir);
		return PIUGW_EAUDITBUSY;
	}
	return 0;
}

static void
log_free(struct audit_log *log)
{
	if (log == NULL)
		return;
	for (size_t i = 0; i < log->qn; i++)
		free(log->q[i].buf);
	free(log->q);
	free(log->spare);
	if (log->seg_fd >= 0)
		close(log->seg_fd);
	if (log->dir_fd >= 0)
		close(log->dir_fd);
	if (log->lock_fd >= 0)
		close(log->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&log->mu);
	pthread_cond_destroy(&log->work);
	pthread_cond_destroy(&log->durable);
	free(log->seg_path);
	free(log->dir);
	free(log);
}

/* See audit.h. */
int
audit_open(const struct audit_opts *o, struct audit_log **outp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	struct audit_log *log = NULL;
	char **segs = NULL, *cut_seg = NULL;
	size_t nsegs = 0, cut = 0;
	pthread_condattr_t ca;
	bool restore = false;
	uint64_t lost = 0;
	char what[320];

	*outp = NULL;
	if (o->signer == NULL || o->dir == NULL)
		return PIUGW_EINVAL;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return PIUGW_ENOMEM;
	log->lock_fd = log->dir_fd = log->seg_fd = -1;
	pthread_mutex_init(&log->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&log->work, &ca); /* CLOCK_REALTIME: timed waits use wall time */
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&log->durable, NULL);
	log->signer = o->signer;
	log->cp_records = o->checkpoint_records ? o->checkpoint_records : 1000;
	log->cp_ms = o->checkpoint_ms ? o->checkpoint_ms : 60000;
	log->seg_bytes = o->segment_bytes ? o->segment_bytes : 64ull * 1024 * 1024;
	log->clock_ms = o->clock_ms ? o->clock_ms : real_clock_ms;
	log->next_seq = 1;
	if ((log->dir = strdup(o->dir)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	if (mkdir(log->dir, 0700) != 0 && errno != EEXIST) {
		diag_add(d, "%s: cannot create the audit folder: %s", log->dir, strerror(errno));
		ret = PIUGW_EAUDIT;
		goto out;
	}
	if ((log->dir_fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		diag_add(d, "%s: cannot open: %s", log->dir, strerror(errno));
		ret = PIUGW_EAUDIT;
		goto out;
	}
	if ((ret = lock_dir(log, d)) != 0)
		goto out;
	if ((ret = audit_segments(log->dir, &segs, &nsegs, d)) != 0)
		goto out;
	if ((ret = recover(log, segs, nsegs, &cut, &cut_seg, d)) != 0)
		goto out;
	/* What is on disk now is durable: the head a caller may keep as its anchor. */
	log->durable_seq = log->next_seq - 1;
	log->found_seq = log->durable_seq;
	memcpy(log->durable_hash, log->prev_hash, 32);
	if ((ret = check_anchor(log, o, segs, nsegs, &restore, &lost, what, sizeof(what), d)) != 0)
		goto out;
	if (nsegs > 0) {
		log->seg_path = strdup(segs[nsegs - 1]);
		log->seg_fd = open(segs[nsegs - 1], O_WRONLY | O_APPEND | O_CLOEXEC);
		if (log->seg_path == NULL || log->seg_fd < 0) {
			diag_add(d, "%s: cannot open for appending: %s", segs[nsegs - 1],
				 strerror(errno));
			ret = PIUGW_EAUDIT;
			goto out;
		}
	}
	log->cp_first = log->next_seq;
	log->last_cp_ms = log->clock_ms();
	log->inline_writes = o->inline_writes;
	if (!log->inline_writes) {
		if (pthread_create(&log->thread, NULL, writer_main, log) != 0) {
			ret = PIUGW_ESYSTEM;
			goto out;
		}
		log->thread_started = true;
	}
	if (restore) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		char detail[640];
		snprintf(detail, sizeof(detail), "an older copy of the log was restored: %s; reason: "
			 "%.200s", what, o->restore_reason != NULL ? o->restore_reason : "-");
		r.event = PIUGW__AUDIT_EVENT__AUDIT_LOG_RESTORED;
		r.lost_from_seq = lost;
		r.detail = detail;
		r.operator_ = (char *)(o->restore_by != NULL ? o->restore_by : "");
		if ((ret = audit_append(log, &r, NULL)) != 0)
			goto out;
	}
	if (cut > 0) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		char detail[256];
		const char *base = strrchr(cut_seg, '/');
		snprintf(detail, sizeof(detail), "cut %zu bytes of an incomplete record from %s", cut,
			 base != NULL ? base + 1 : cut_seg);
		r.event = PIUGW__AUDIT_EVENT__AUDIT_TORN_TAIL_CUT;
		r.detail = detail;
		if ((ret = audit_append(log, &r, NULL)) != 0)
			goto out;
		diag_add(d, "warning: %s: %s (a crash interrupted a write)", log->dir, detail);
	}
	{
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		r.event = PIUGW__AUDIT_EVENT__AUDIT_LOG_OPENED;
		if ((ret = audit_append(log, &r, NULL)) != 0)
			goto out;
	}
	*outp = log;
	log = NULL;
	ret = 0;
out:
	if (log != NULL) {
		if (log->thread_started) {
			pthread_mutex_lock(&log->mu);
			log->stop = true;
			pthread_cond_signal(&log->work);
			pthread_mutex_unlock(&log->mu);
			pthread_join(log->thread, NULL);
		}
		log_free(log);
	}
	audit_segments_free(segs, nsegs);
	free(cut_seg);
	return ret;
}

/* See audit.h. */
int
audit_close_head(struct audit_log **logp, struct audit_anchor *head)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	struct audit_log *log;
	int ret;

	if (logp == NULL || *logp == NULL)
		return 0;
	log = *logp;
	pthread_mutex_lock(&log->mu);
	/* The mark of a clean stop, then the signature over it: the log's proven end. */
	r.event = PIUGW__AUDIT_EVENT__AUDIT_LOG_CLOSED;
	if (log->error == 0 && append_locked(log, &r, NULL) == 0 && log->since_cp > 0)
		checkpoint_locked(log, NULL);
	if (log->inline_writes) {
		if (log->qn > 0)
			write_queue_locked(log);
		log->stop = true;
		pthread_mutex_unlock(&log->mu);
	} else {
		log->stop = true;
		pthread_cond_signal(&log->work);
		pthread_mutex_unlock(&log->mu);
		pthread_join(log->thread, NULL);
	}
	ret = log->error;
	if (head != NULL) {
		head->seq = ret == 0 ? log->durable_seq : 0;
		memcpy(head->hash, log->durable_hash, 32);
	}
	log_free(log);
	*logp = NULL;
	return ret;
}

/* See audit.h. */
int
audit_close(struct audit_log **logp)
{
	return audit_close_head(logp, NULL);
}

/* ---- verification and scanning ---- */

/* See audit.h. */
int
audit_scan(const char *dir, audit_scan_cb cb, void *ctx, struct diag *d)
{
	char **segs = NULL;
	size_t n = 0;
	int ret;

	if ((ret = audit_segments(dir, &segs, &n, d)) != 0)
		return ret;
	for (size_t k = 0; k < n && ret == 0; k++) {
		struct seg s;
		const uint8_t *rec;
		size_t len;
		enum frame_result fr;

		if ((ret = seg_read(segs[k], &s, d)) != 0)
			break;
		if (s.len < MAGIC_LEN || memcmp(s.buf, MAGIC, MAGIC_LEN) != 0) {
			diag_add(d, "%s: not an audit segment", segs[k]);
			ret = PIUGW_EAUDITBROKEN;
		}
		while (ret == 0 && (fr = next_frame(&s, &rec, &len)) == FRAME_OK) {
			Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
			if (r == NULL) {
				diag_add(d, "%s: a record at offset %zu does not parse", segs[k],
					 s.off - len - 4 - CHECK_BYTES);
				ret = PIUGW_EAUDITBROKEN;
				break;
			}
			ret = cb(r, segs[k], ctx);
			piugw__audit_record__free_unpacked(r, NULL);
		}
		/* A torn last frame of the last segment is a write in progress, not damage. */
		if (ret == 0 && fr == FRAME_BAD) {
			diag_add(d, "%s: damaged record at offset %zu", segs[k], s.off);
			ret = PIUGW_EAUDITBROKEN;
		} else if (ret == 0 && fr == FRAME_TORN && k + 1 < n) {
			diag_add(d, "%s: truncated at offset %zu", segs[k], s.off);
			ret = PIUGW_EAUDITBROKEN;
		}
		fileio_free(s.buf, s.len, 0);
	}
	audit_segments_free(segs, n);
	return ret;
}

static int
broken(struct audit_verify_report *rep, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
broken(struct audit_verify_report *rep, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	rep->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
	va_end(ap);
	return PIUGW_EAUDITBROKEN;
}

/* What audit_verify() learns on its way, besides the report. */
struct verify_walk {
	uint8_t prev[32];
	bool have_prev;
	uint64_t expect;
	uint8_t first_prev[32]; /* the prev_hash the first record carries */
	uint64_t start_explained_at; /* the purge record that explains a later start */
	uint64_t restored_at;        /* the newest restore record that skipped numbers */
	int last_event, before_last_event;
	bool torn; /* the last segment ends in an incomplete frame */
};

/* One record of the walk: numbering, chain, signature. 0 or PIUGW_EAUDITBROKEN. */
static int
verify_record(struct verify_walk *w, const Piugw__AuditRecord *r, const uint8_t *rec, size_t len,
	      const struct keys_public *pub, const char *base, size_t at,
	      struct audit_verify_report *rep)
{
	bool first = rep->records == 0;

	if (first) {
		rep->first_seq = r->seq;
		w->expect = r->seq;
		if (r->prev_hash.len == 32)
			memcpy(w->first_prev, r->prev_hash.data, 32);
	}
	/* Removal, insertion and reordering all break the numbering... */
	if (r->seq != w->expect) {
		/* ...except where an operator recorded that an older copy was put back. */
		if (r->event == PIUGW__AUDIT_EVENT__AUDIT_LOG_RESTORED && r->seq > w->expect &&
		    r->lost_from_seq == w->expect) {
			rep->lost_from = r->lost_from_seq;
			rep->lost_to = r->seq - 1;
			w->restored_at = r->seq;
		} else {
			return broken(rep, w->expect, "%s offset %zu: record %ju where %ju was expected: "
				      "records were removed, inserted or reordered", base, at,
				      (uintmax_t)r->seq, (uintmax_t)w->expect);
		}
	}
	/* ...and a modification breaks the chain at the next record. */
	if (r->prev_hash.len != 32 ||
	    (w->have_prev && sodium_memcmp(r->prev_hash.data, w->prev, 32) != 0))
		return broken(rep, r->seq, "record %ju does not chain to record %ju: record %ju was "
			      "modified, or records around it were replaced", (uintmax_t)r->seq,
			      (uintmax_t)(r->seq - 1), (uintmax_t)(r->seq - 1));
	if (r->event == PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT) {
		uint8_t sin[256];
		size_t sn = checkpoint_input(r, sin, sizeof(sin));
		if (strcmp(r->gateway_id, pub->id) != 0 || r->signature.len != 64 || sn == 0 ||
		    crypto_sign_verify_detached(r->signature.data, sin, sn, pub->sign_pk) != 0)
			return broken(rep, r->seq, "checkpoint %ju: the signature does not verify with "
				      "%s's key: records up to it were altered", (uintmax_t)r->seq,
				      pub->id);
		rep->checkpoints++;
		rep->last_checkpoint_seq = r->seq;
	}
	if (r->event == PIUGW__AUDIT_EVENT__AUDIT_LOG_RESTORED)
		rep->restores++;
	/* A purge that names this log's start, and the hash its first record carries. */
	if (r->event == PIUGW__AUDIT_EVENT__AUDIT_LOG_ERASED && rep->first_seq > 1 &&
	    r->first_kept_seq == rep->first_seq && r->kept_prev_hash.len == 32 &&
	    sodium_memcmp(r->kept_prev_hash.data, w->first_prev, 32) == 0)
		w->start_explained_at = r->seq;
	record_hash(rec, len, w->prev);
	w->have_prev = true;
	w->before_last_event = w->last_event;
	w->last_event = r->event;
	rep->records++;
	rep->last_seq = r->seq;
	w->expect = r->seq + 1;
	return 0;
}

/* How the log starts and ends, once every record checked out. */
static int
verify_ends(const struct verify_walk *w, int flags, struct audit_verify_report *rep)
{
	/*
	 * A record in the unsigned tail proves nothing (anyone can chain one):
	 * what explains a gap must be under a signed checkpoint.
	 */
	if (w->restored_at > rep->last_checkpoint_seq)
		return broken(rep, w->restored_at, "record %ju says records %ju to %ju were lost in "
			      "a restore, but no signed checkpoint covers it", (uintmax_t)w->restored_at,
			      (uintmax_t)rep->lost_from, (uintmax_t)rep->lost_to);
	if (rep->first_seq > 1 && !(flags & AUDIT_VERIFY_EXCERPT)) {
		if (w->start_explained_at == 0)
			return broken(rep, rep->first_seq, "the log starts at record %ju and no purge "
				      "record in it names that start: records 1 to %ju were removed "
				      "outside a purge", (uintmax_t)rep->first_seq,
				      (uintmax_t)(rep->first_seq - 1));
		if (w->start_explained_at > rep->last_checkpoint_seq)
			return broken(rep, rep->first_seq, "the log starts at record %ju; the purge "
				      "record that names that start (%ju) is not yet covered by a signed "
				      "checkpoint", (uintmax_t)rep->first_seq,
				      (uintmax_t)w->start_explained_at);
		rep->erased_before = rep->first_seq;
	}
	/* A torn frame after the end: a write in progress, or bytes cut or added. */
	rep->verdict = !w->torn && w->last_event == PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT &&
				       w->before_last_event == PIUGW__AUDIT_EVENT__AUDIT_LOG_CLOSED
			       ? AUDIT_COMPLETE
			       : AUDIT_UNPROVEN;
	return 0;
}

/* See audit.h. */
int
audit_verify(const char *dir, const struct keys_public *pub, int flags,
	     struct audit_verify_report *rep, struct diag *d)
{
	char **segs = NULL;
	size_t n = 0;
	struct verify_walk w;
	int ret;

	memset(rep, 0, sizeof(*rep));
	memset(&w, 0, sizeof(w));
	if ((ret = audit_segments(dir, &segs, &n, d)) != 0)
		return ret;
	if (n == 0) {
		diag_add(d, "%s: no audit segments", dir);
		audit_segments_free(segs, n);
		return PIUGW_ENOENT;
	}
	for (size_t k = 0; k < n && ret == 0; k++) {
		struct seg s;
		const uint8_t *rec;
		size_t len;
		enum frame_result fr;
		const char *base = strrchr(segs[k], '/') + 1;

		if ((ret = seg_read(segs[k], &s, d)) != 0)
			break;
		if (s.len < MAGIC_LEN || memcmp(s.buf, MAGIC, MAGIC_LEN) != 0) {
			ret = broken(rep, w.expect, "%s: not an audit segment (bad header)", base);
			fileio_free(s.buf, s.len, 0);
			break;
		}
		while ((fr = next_frame(&s, &rec, &len)) == FRAME_OK) {
			Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
			size_t at = s.off - len - 4 - CHECK_BYTES;
			if (r == NULL) {
				ret = broken(rep, w.expect, "%s offset %zu: the record after %ju does not "
						     "parse", base, at, (uintmax_t)(w.expect - 1));
				break;
			}
			ret = verify_record(&w, r, rec, len, pub, base, at, rep);
			piugw__audit_record__free_unpacked(r, NULL);
			if (ret != 0)
				break;
		}
		if (ret == 0 && fr == FRAME_BAD)
			ret = broken(rep, w.expect, "%s offset %zu: damaged record (bad length or "
						    "checksum) after record %ju", base, s.off,
				     (uintmax_t)(w.expect - 1));
		else if (ret == 0 && fr == FRAME_TORN && k + 1 < n)
			ret = broken(rep, w.expect, "%s: cut short at offset %zu, after record %ju",
				     base, s.off, (uintmax_t)(w.expect - 1));
		w.torn = fr == FRAME_TORN;
		fileio_free(s.buf, s.len, 0);
	}
	if (ret == 0)
		ret = verify_ends(&w, flags, rep);
	rep->unsigned_tail = rep->last_seq - rep->last_checkpoint_seq;
	if (rep->last_checkpoint_seq == 0)
		rep->unsigned_tail = rep->records;
	audit_segments_free(segs, n);
	return ret;
}

/* ---- retention ---- */

/* The newest record time of a segment, its first seq and the prev_hash that carries. */
struct seg_summary {
	int64_t last_ms;
	uint64_t first_seq, last_seq, records;
	uint8_t first_prev[32];
};

static int
seg_summarise(const char *path, struct seg_summary *out, struct diag *d)
{
	struct seg s;
	const uint8_t *rec;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = seg_read(path, &s, d)) != 0)
		return ret;
	while (next_frame(&s, &rec, &len) == FRAME_OK) {
		Piugw__AuditRecord *r = piugw__audit_record__unpack(NULL, len, rec);
		if (r == NULL || r->prev_hash.len != 32) {
			if (r != NULL)
				piugw__audit_record__free_unpacked(r, NULL);
			diag_add(d, "%s: a record does not parse; run 'piugw audit verify'", path);
			ret = PIUGW_EAUDITBROKEN;
			break;
		}
		if (out->records++ == 0) {
			out->first_seq = r->seq;
			memcpy(out->first_prev, r->prev_hash.data, 32);
		}
		out->last_ms = r->time_ms;
		out->last_seq = r->seq;
		piugw__audit_record__free_unpacked(r, NULL);
	}
	fileio_free(s.buf, s.len, 0);
	return ret;
}

/* See audit.h. */
int
audit_purge(struct audit_log *log, int64_t before_ms, unsigned *removedp, struct diag *d)
{
	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	struct seg_summary sum, kept;
	char **segs = NULL, *current = NULL, detail[200];
	size_t n = 0, k;
	uint64_t first = 0, last = 0, records = 0, seq = 0;
	int ret;

	*removedp = 0;
	/* Everything queued must be on disk before old segments are judged. */
	if ((ret = audit_wait_durable(log, audit_head(log))) != 0)
		return ret;
	pthread_mutex_lock(&log->mu);
	current = log->seg_path != NULL ? strdup(log->seg_path) : NULL;
	pthread_mutex_unlock(&log->mu);
	if (current == NULL || (ret = audit_segments(log->dir, &segs, &n, d)) != 0)
		goto out;
	/* Segments are in time order: the old ones are a run from the first. */
	for (k = 0; k < n && strcmp(segs[k], current) != 0; k++) {
		if ((ret = seg_summarise(segs[k], &sum, d)) != 0)
			goto out;
		if (sum.records == 0 || sum.last_ms >= before_ms)
			break;
		if (first == 0)
			first = sum.first_seq;
		last = sum.last_seq;
		records += sum.records;
	}
	if (k == 0 || k == n)
		goto out;
	/* Where the log will start, and the hash it goes on from there. */
	if ((ret = seg_summarise(segs[k], &kept, d)) != 0)
		goto out;
	if (kept.records == 0 || kept.first_seq != last + 1) {
		diag_add(d, "%s: the segment after the ones to remove does not start with record "
			 "%ju; run 'piugw audit verify'", segs[k], (uintmax_t)(last + 1));
		ret = PIUGW_EAUDITBROKEN;
		goto out;
	}
	/*
	 * The erasure is recorded, durably, before anything goes: a log that
	 * starts later than record 1 verifies only with this record.
	 */
	snprintf(detail, sizeof(detail), "retention: removed %zu segment%s, records %ju to %ju",
		 k, k == 1 ? "" : "s", (uintmax_t)first, (uintmax_t)last);
	r.event = PIUGW__AUDIT_EVENT__AUDIT_LOG_ERASED;
	r.detail = detail;
	r.record_count = records > UINT32_MAX ? UINT32_MAX : (uint32_t)records;
	r.first_kept_seq = kept.first_seq;
	r.kept_prev_hash.data = kept.first_prev;
	r.kept_prev_hash.len = 32;
	if ((ret = audit_append(log, &r, &seq)) != 0 || (ret = audit_wait_durable(log, seq)) != 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (unlink(segs[i]) != 0) {
			diag_add(d, "%s: cannot remove: %s; run the purge again to finish it (until "
				 "then the log starts at a record no purge names)", segs[i],
				 strerror(errno));
			ret = PIUGW_ESYSTEM;
			break;
		}
		(*removedp)++;
	}
	fsync(log->dir_fd);
out:
	free(current);
	audit_segments_free(segs, n);
	return ret;
}

/* ---- digests ---- */

/* See audit.h. */
int
audit_key_load(const char *path, bool create, uint8_t key[AUDIT_KEY_BYTES], struct diag *d)
{
	uint8_t *buf = NULL, fresh[AUDIT_KEY_BYTES];
	size_t len = 0;
	int ret;

	ret = fileio_read(path, 64, FILEIO_SECRET, &buf, &len, NULL);
	if (ret == PIUGW_ENOENT && create) {
		randombytes_buf(fresh, sizeof(fresh));
		ret = fileio_create_excl(path, 0600, fresh, sizeof(fresh), d);
		if (ret == 0)
			memcpy(key, fresh, AUDIT_KEY_BYTES);
		sodium_memzero(fresh, sizeof(fresh));
		return ret;
	}
	if (ret != 0)
		return fileio_read(path, 64, FILEIO_SECRET, &buf, &len, d); /* again, to say why */
	if (len != AUDIT_KEY_BYTES) {
		diag_add(d, "%s: an audit key is %d bytes, this file has %zu", path, AUDIT_KEY_BYTES,
			 len);
		fileio_free(buf, len, FILEIO_SECRET);
		return PIUGW_EKEYFILE;
	}
	memcpy(key, buf, AUDIT_KEY_BYTES);
	fileio_free(buf, len, FILEIO_SECRET);
	return 0;
}

/* One field of a digest input, then a 0x00 separator. */
static void
input_field(struct audit_digest_input *in, const char *s, size_t len)
{
	memcpy(in->b + in->len, s, len);
	in->len += len;
	in->b[in->len++] = 0;
}

/* See audit.h. */
void
audit_digest_input_document(const char *issuer, const char *number, struct audit_digest_input *in)
{
	char iss[16], num[64];

	memcpy(in->b, AUDIT_DIGEST_DOCUMENT, sizeof(AUDIT_DIGEST_DOCUMENT));
	in->len = sizeof(AUDIT_DIGEST_DOCUMENT);
	input_field(in, iss, match_document(issuer, iss, sizeof(iss)));
	input_field(in, num, match_document(number, num, sizeof(num)));
}

/* See audit.h. The names go through the store's own normalisation (match.h). */
void
audit_digest_input_name(const char *surname, const char *given_names, const char *date_of_birth,
			struct audit_digest_input *in)
{
	char sn[MATCH_NAME_MAX], gn[MATCH_NAME_MAX], dob[16];

	memcpy(in->b, AUDIT_DIGEST_NAME, sizeof(AUDIT_DIGEST_NAME));
	in->len = sizeof(AUDIT_DIGEST_NAME);
	input_field(in, sn, match_normalise(surname, sn, 0));
	input_field(in, gn, match_normalise(given_names, gn, 0));
	input_field(in, dob, match_document(date_of_birth, dob, sizeof(dob)));
}

/* See audit.h. */
bool
audit_digest_input_valid(const uint8_t *b, size_t len)
{
	return len <= AUDIT_DIGEST_INPUT_MAX &&
	       ((len >= sizeof(AUDIT_DIGEST_DOCUMENT) &&
		 memcmp(b, AUDIT_DIGEST_DOCUMENT, sizeof(AUDIT_DIGEST_DOCUMENT)) == 0) ||
		(len >= sizeof(AUDIT_DIGEST_NAME) &&
		 memcmp(b, AUDIT_DIGEST_NAME, sizeof(AUDIT_DIGEST_NAME)) == 0));
}

/* See audit.h. */
void
audit_digest_keyed(const uint8_t key[AUDIT_KEY_BYTES], const uint8_t *b, size_t len,
		   uint8_t out[AUDIT_DIGEST_BYTES])
{
	crypto_generichash(out, AUDIT_DIGEST_BYTES, b, len, key, AUDIT_KEY_BYTES);
}

/* See audit.h. */
void
audit_digest_document(const uint8_t key[AUDIT_KEY_BYTES], const char *issuer, const char *number,
		      uint8_t out[AUDIT_DIGEST_BYTES])
{
	struct audit_digest_input in;

	audit_digest_input_document(issuer, number, &in);
	audit_digest_keyed(key, in.b, in.len, out);
}

/* See audit.h. */
void
audit_digest_name(const uint8_t key[AUDIT_KEY_BYTES], const char *surname,
		  const char *given_names, const char *date_of_birth,
		  uint8_t out[AUDIT_DIGEST_BYTES])
{
	struct audit_digest_input in;

	audit_digest_input_name(surname, given_names, date_of_birth, &in);
	audit_digest_keyed(key, in.b, in.len, out);
}

/* See audit.h. */
size_t
audit_query_digest_inputs(const Piugw__Query *q, struct audit_digest_input out[2])
{
	size_t n = 0;

	if (q->criteria_case == PIUGW__QUERY__CRITERIA_DOCUMENT) {
		audit_digest_input_document(q->document->issuing_state, q->document->number,
					    &out[n++]);
	} else if (q->criteria_case == PIUGW__QUERY__CRITERIA_NAME ||
		   q->criteria_case == PIUGW__QUERY__CRITERIA_NAME_FUZZY) {
		const Piugw__NameCriteria *nc =
			q->criteria_case == PIUGW__QUERY__CRITERIA_NAME ? q->name : q->name_fuzzy;
		audit_digest_input_name(nc->surname, nc->given_names, nc->date_of_birth, &out[n++]);
	}
	return n;
}

/* See audit.h. */
size_t
audit_result_digest_inputs(const Piugw__QueryResult *r, struct audit_digest_input *out,
			   size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_matches && n + 2 <= max; i++) {
		const Piugw__Match *m = r->matches[i];
		if (m->api_document != NULL && m->api_document->number[0] != '\0' &&
		    strcmp(m->api_document->number, DISCLOSE_MASK) != 0)
			audit_digest_input_document(m->api_document->issuing_state,
						    m->api_document->number, &out[n++]);
		if (m->api_identity != NULL && !m->masked && m->api_identity->surname[0] != '\0')
			audit_digest_input_name(m->api_identity->surname,
						m->api_identity->given_names,
						m->api_identity->date_of_birth, &out[n++]);
	}
	return n;
}

/* See audit.h. */
size_t
audit_query_digests(const uint8_t key[AUDIT_KEY_BYTES], const Piugw__Query *q,
		    uint8_t out[][AUDIT_DIGEST_BYTES])
{
	struct audit_digest_input in[2];
	size_t n = audit_query_digest_inputs(q, in);

	for (size_t i = 0; i < n; i++)
		audit_digest_keyed(key, in[i].b, in[i].len, out[i]);
	return n;
}

/* See audit.h. */
size_t
audit_result_digests(const uint8_t key[AUDIT_KEY_BYTES], const Piugw__QueryResult *r,
		     uint8_t out[][AUDIT_DIGEST_BYTES], size_t max)
{
	struct audit_digest_input *in = max > 0 ? malloc(max * sizeof(*in)) : NULL;
	size_t n;

	if (in == NULL)
		return 0;
	n = audit_result_digest_inputs(r, in, max);
	for (size_t i = 0; i < n; i++)
		audit_digest_keyed(key, in[i].b, in[i].len, out[i]);
	free(in);
	return n;
}

/* See audit.h. */
const char *
audit_event_name(int event)
{
	switch (event) {
	case PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT: return "query sent";
	case PIUGW__AUDIT_EVENT__AUDIT_QUERY_RECEIVED: return "query received";
	case PIUGW__AUDIT_EVENT__AUDIT_REFUSED: return "refused";
	case PIUGW__AUDIT_EVENT__AUDIT_ANSWERED: return "answered";
	case PIUGW__AUDIT_EVENT__AUDIT_PENDING: return "pending";
	case PIUGW__AUDIT_EVENT__AUDIT_APPROVED: return "approved";
	case PIUGW__AUDIT_EVENT__AUDIT_DENIED: return "denied";
	case PIUGW__AUDIT_EVENT__AUDIT_POLLED: return "polled";
	case PIUGW__AUDIT_EVENT__AUDIT_IMPORTED: return "imported";
	case PIUGW__AUDIT_EVENT__AUDIT_MASKED: return "masked";
	case PIUGW__AUDIT_EVENT__AUDIT_PURGED: return "purged";
	case PIUGW__AUDIT_EVENT__AUDIT_CONFIG_LOADED: return "configuration loaded";
	case PIUGW__AUDIT_EVENT__AUDIT_KEY_CHANGED: return "key changed";
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_CHANGED: return "agreement changed";
	case PIUGW__AUDIT_EVENT__AUDIT_DROPPED: return "dropped";
	case PIUGW__AUDIT_EVENT__AUDIT_RESULT_RECEIVED: return "result received";
	case PIUGW__AUDIT_EVENT__AUDIT_CHECKPOINT: return "checkpoint";
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_OPENED: return "log opened";
	case PIUGW__AUDIT_EVENT__AUDIT_TORN_TAIL_CUT: return "torn tail cut";
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_ERASED: return "log erased";
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_CLOSED: return "log closed";
	case PIUGW__AUDIT_EVENT__AUDIT_LOG_RESTORED: return "log restored";
	case PIUGW__AUDIT_EVENT__AUDIT_WITNESSED: return "witnessed";
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_PROPOSED: return "agreement proposed";
	case PIUGW__AUDIT_EVENT__AUDIT_AGREEMENT_DECIDED: return "agreement decided";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_PLACED: return "lookout placed";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_ACCEPTED: return "lookout accepted";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_REFUSED: return "lookout refused";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_WITHDRAWN: return "lookout withdrawn";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_EXPIRED: return "lookout expired";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_SUSPENDED: return "lookout suspended";
	case PIUGW__AUDIT_EVENT__AUDIT_LOOKOUT_FIRED: return "lookout fired";
	case PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_HELD: return "notification held";
	case PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_DECIDED: return "notification decided";
	case PIUGW__AUDIT_EVENT__AUDIT_NOTIFIED: return "notified";
	case PIUGW__AUDIT_EVENT__AUDIT_NOTIFICATION_ACKNOWLEDGED: return "notification acknowledged";
	case PIUGW__AUDIT_EVENT__AUDIT_UNMASK_REQUESTED: return "unmask requested";
	case PIUGW__AUDIT_EVENT__AUDIT_UNMASK_DECIDED: return "unmask decided";
	case PIUGW__AUDIT_EVENT__AUDIT_SUBJECT_SEARCHED: return "subject searched";
	default: return "?";
	}
}
