/*
 * audit.h: the append-only, hash-chained, signed audit log.
 *
 * On disk: a folder of segment files "audit-<first seq, 20 digits>.seg",
 * each starting with the 10-byte magic "PIUGWAUD1\n" followed by frames
 *
 *     u32be length || AuditRecord (proto/audit.proto) || 16-byte BLAKE2b(record)
 *
 * The checksum only detects torn writes; integrity comes from the chain:
 * record n carries prev_hash = BLAKE2b-256("piugw v1 audit" || 0x00 ||
 * bytes of record n-1). Every N records or T seconds, and on close, a
 * checkpoint record is appended and signed with the gateway's Ed25519 key
 * over
 *
 *     "piugw v1 audit checkpoint" || 0x00 || u64be(seq) || u64be(time_ms) ||
 *     prev_hash || u64be(checkpoint_first_seq) || gateway id
 *
 * so that anyone with the gateway's public certificate can verify the log
 * offline. Records after the last checkpoint are chained but not yet signed.
 * A clean stop appends AUDIT_LOG_CLOSED and then a checkpoint: only a log
 * that ends so is "complete"; any other end (a crash, a copy of a running
 * log, a cut) is "intact up to N, the end not proven".
 *
 * A log that has been cut at a record boundary, or replaced by an older
 * copy, still verifies on its own. What catches it is the anchor: the
 * newest durable (seq, chain hash) that the gateway keeps outside the log
 * (state.db). audit_open() refuses a log that is behind its anchor or
 * disagrees with it at the anchor's seq, before it writes anything, so that
 * no sequence number is ever used twice.
 *
 * Retention removes whole segments from the head only together with an
 * AUDIT_LOG_ERASED record naming the first seq kept and the hash the chain
 * continues from; a log that starts later than seq 1 verifies only with it.
 *
 * Appends are queued (the chain is computed under a lock, so order is seq
 * order) and written by one writer thread that makes each batch durable
 * with a single fdatasync (group commit); audit_append() never waits for
 * the disk, audit_wait_durable() does.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_AUDIT_H
#define PIUGW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.pb-c.h"
#include "body.pb-c.h"
#include "diag.h"
#include "keys.h"

#define AUDIT_RECORD_MAX (64 * 1024)
#define AUDIT_KEY_BYTES 32
#define AUDIT_DIGEST_BYTES 32

/* A durable record of the log: its seq and its chain hash. */
struct audit_anchor {
	uint64_t seq; /* 0: none */
	uint8_t hash[32];
};

struct audit_opts {
	const char *dir;                /* created if missing (mode 0700) */
	/*
	 * The newest durable head recorded outside the log (NULL or seq 0: none
	 * known). The log must reach it and hold the same record at its seq.
	 */
	const struct audit_anchor *anchor;
	/*
	 * An operator restores an older copy on purpose: a log behind or
	 * forking from the anchor is taken, an AUDIT_LOG_RESTORED record says
	 * so (with restore_by, restore_reason), and numbering goes on past the
	 * anchor's seq.
	 */
	bool restore;
	const char *restore_by, *restore_reason;
	const struct keys_secret *signer; /* signs checkpoints; must outlive the log */
	uint32_t checkpoint_records;    /* 0: 1000 */
	uint32_t checkpoint_ms;         /* 0: 60000 */
	/*
	 * No writer thread: records wait in memory until the caller's
	 * audit_flush() writes and syncs them, in the caller's thread (an
	 * event loop's one durable step a turn). Checkpoints due by time are
	 * signed at a flush. The records opening appends wait for the first
	 * flush too (a full disk then fails that flush, not the open).
	 * Without it, a writer thread writes each batch as it comes (the CLI's
	 * imports and purges).
	 */
	bool inline_writes;
	uint64_t segment_bytes;         /* 0: 64 MiB; a new segment starts after */
	int64_t (*clock_ms)(void);      /* NULL: the real clock (tests may pass their own) */
};

struct audit_log;

/*
 * Open (or create) the log in o->dir for writing. Only one writer at a time:
 * a second one is refused (PIUGW_EAUDITBUSY). A torn tail left by a crash is
 * cut and an AUDIT_TORN_TAIL_CUT record says how much; then AUDIT_LOG_OPENED
 * is appended. Returns 0 or an error with the reason in d.
 */
int audit_open(const struct audit_opts *o, struct audit_log **outp, struct diag *d);

/*
 * Append r: its seq, time_ms, prev_hash and gateway_id are filled in here
 * (the caller sets the rest). Never waits for the disk. *seqp gets the
 * record's seq. Fails with PIUGW_EAUDIT once the writer has hit an I/O error
 * (e.g. disk full): nothing may then be answered unaudited.
 */
int audit_append(struct audit_log *log, Piugw__AuditRecord *r, uint64_t *seqp);

/* Block until seq is on disk (fdatasync'd). Returns 0 or PIUGW_EAUDIT. */
int audit_wait_durable(struct audit_log *log, uint64_t seq);

/*
 * Everything appended so far made durable now: one write and one
 * fdatasync for all of it (with inline_writes, in this thread; else it
 * waits for the writer). A checkpoint due by time is signed first. Returns
 * 0 or the error that stopped the log (PIUGW_EAUDIT: fail closed).
 */
int audit_flush(struct audit_log *log);

/* Append a signed checkpoint now. */
int audit_checkpoint(struct audit_log *log, uint64_t *seqp);

/* The last seq appended, and the last one durable. */
uint64_t audit_head(struct audit_log *log);
uint64_t audit_durable(struct audit_log *log);

/*
 * The last seq the log held when it was opened, before the records opening
 * appends: what had reached the disk. Anything numbered past it that the
 * caller kept elsewhere (a reply waiting for its record) never was.
 */
uint64_t audit_found_head(struct audit_log *log);

/* The newest durable record and its chain hash: what to keep as the anchor. */
void audit_durable_head(struct audit_log *log, struct audit_anchor *out);

/* When the last checkpoint was signed (or the log opened), Unix ms. */
int64_t audit_last_checkpoint_ms(struct audit_log *log);

/* 0 while healthy; else the error that stopped the writer. */
int audit_status(struct audit_log *log);

/* How many fdatasync calls the writer has made (for the benchmark). */
uint64_t audit_syncs(struct audit_log *log);

/*
 * A clean stop: append AUDIT_LOG_CLOSED and a final signed checkpoint, make
 * everything durable, stop, free; *logp = NULL. head (may be NULL) gets the
 * final durable head, to keep as the anchor.
 */
int audit_close(struct audit_log **logp);
int audit_close_head(struct audit_log **logp, struct audit_anchor *head);

/* ---- checkpoints, as partners witness them ---- */

/*
 * A signed checkpoint: everything its signature covers (the input of the
 * comment at the top). head is the chain hash of record seq - 1, the
 * checkpoint's prev_hash. What a gateway shows its partners in Hello
 * exchanges, and what it keeps of theirs.
 */
struct audit_checkpoint {
	char gateway_id[KEYS_ID_MAX + 1];
	uint64_t seq; /* 0: none */
	int64_t time_ms;
	uint8_t head[32];
	uint64_t first_seq;
	uint8_t signature[64];
};

/* Does cp's signature verify with sign_pk? 0 or PIUGW_EBADSIG. */
int audit_checkpoint_verify(const struct audit_checkpoint *cp, const uint8_t sign_pk[32]);

/*
 * The newest checkpoint of this log that is durable (only those are shown:
 * one lost in a crash would make a partner's witness a false alarm).
 * false if there is none yet.
 */
bool audit_last_checkpoint(struct audit_log *log, struct audit_checkpoint *out);

/*
 * A partner witnessed cp, a checkpoint of this log: does the log hold it?
 * 0 if so (or if it was purged since); PIUGW_EAUDITBEHIND with why filled
 * when the log ends before it or holds another record there.
 */
int audit_check_witnessed(struct audit_log *log, const struct audit_checkpoint *cp, char *why,
			  size_t whylen);

/* The same, offline, against the log in dir (piugw audit verify --witness). */
int audit_check_witnessed_dir(const char *dir, const struct audit_checkpoint *cp, char *why,
			      size_t whylen, struct diag *d);

/* ---- reading ---- */

enum audit_verdict {
	AUDIT_BROKEN = 0,   /* damaged, altered, cut inside, or an unexplained start */
	AUDIT_UNPROVEN = 1, /* intact up to last_seq; the end is not a clean stop */
	AUDIT_COMPLETE = 2, /* intact, and ends with a clean stop's signed checkpoint */
};

struct audit_verify_report {
	int verdict; /* enum audit_verdict */
	uint64_t records;
	uint64_t checkpoints;
	uint64_t first_seq;
	uint64_t last_seq;
	uint64_t last_checkpoint_seq;
	uint64_t unsigned_tail; /* records after the last checkpoint */
	uint64_t bad_seq;       /* the first record where the chain breaks; 0 if none */
	uint64_t erased_before; /* the start is explained by a purge: records before it erased */
	uint64_t lost_from, lost_to; /* the last restore's lost span (0, 0: none) */
	uint64_t restores;
	char problem[320];
};

/* Flags of audit_verify(). */
enum audit_verify_flags {
	/* An excerpt (piugw audit export): a later start needs no purge record. */
	AUDIT_VERIFY_EXCERPT = 1 << 0,
};

/*
 * Verify the whole log in dir with only the gateway's public keys: frames,
 * sequence, chain, checkpoint signatures, how it starts (seq 1, or where a
 * recorded purge left it) and how it ends. Returns 0 if intact (the verdict
 * in rep says whether the end is proven), PIUGW_EAUDITBROKEN with
 * rep->bad_seq and rep->problem naming the first break, or an I/O error.
 */
int audit_verify(const char *dir, const struct keys_public *pub, int flags,
		 struct audit_verify_report *rep, struct diag *d);

/*
 * The chain hash of record seq of the log in dir (the hash the next record
 * carries as prev_hash). PIUGW_ENOENT if the log does not hold it.
 */
int audit_record_hash(const char *dir, uint64_t seq, uint8_t out[32], struct diag *d);

/*
 * Call cb for every record in order (stopping if it returns non-zero, which
 * audit_scan returns). Frames are checked; the chain is not (see verify).
 * seg is the segment file the record is in.
 */
typedef int (*audit_scan_cb)(const Piugw__AuditRecord *r, const char *seg, void *ctx);
int audit_scan(const char *dir, audit_scan_cb cb, void *ctx, struct diag *d);

/* The sorted segment file names (full paths) of dir; free with audit_segments_free. */
int audit_segments(const char *dir, char ***outp, size_t *np, struct diag *d);
void audit_segments_free(char **v, size_t n);

/*
 * Retention: remove whole segments whose every record is older than
 * before_ms (never the segment being written), then append an
 * AUDIT_LOG_ERASED record naming what went. *removedp: segments removed.
 */
int audit_purge(struct audit_log *log, int64_t before_ms, unsigned *removedp, struct diag *d);

/* ---- subject digests ---- */

/* Load the gateway's audit key from path, creating it (0600) if absent. */
int audit_key_load(const char *path, bool create, uint8_t key[AUDIT_KEY_BYTES], struct diag *d);

/*
 * Keyed digests of the identifiers of a person: BLAKE2b-256 keyed with the
 * audit key over an input that names its kind ("document" || 0x00 or
 * "name" || 0x00) followed by the fields, each then 0x00. Inputs are
 * normalised here as the store normalises them (match.h: ICAO 9303
 * transliteration for names; A-Z 0-9 only for document numbers and dates),
 * so the query path and `piugw audit subject` compute the same digest
 * however it was typed. piugwd builds the inputs and has its key holder
 * (keyholder.h), which alone holds the key, digest them.
 */
#define AUDIT_DIGEST_DOCUMENT "document"
#define AUDIT_DIGEST_NAME "name"
#define AUDIT_DIGEST_INPUT_MAX (sizeof(AUDIT_DIGEST_DOCUMENT) + 3 * 256)
struct audit_digest_input {
	size_t len;
	uint8_t b[AUDIT_DIGEST_INPUT_MAX];
};
void audit_digest_input_document(const char *issuer, const char *number,
				 struct audit_digest_input *in);
void audit_digest_input_name(const char *surname, const char *given_names,
			     const char *date_of_birth, struct audit_digest_input *in);
/* Does b begin as a digest input must (its kind), within the size bound? */
bool audit_digest_input_valid(const uint8_t *b, size_t len);
void audit_digest_keyed(const uint8_t key[AUDIT_KEY_BYTES], const uint8_t *b, size_t len,
			uint8_t out[AUDIT_DIGEST_BYTES]);

void audit_digest_document(const uint8_t key[AUDIT_KEY_BYTES], const char *issuer,
			   const char *number, uint8_t out[AUDIT_DIGEST_BYTES]);
void audit_digest_name(const uint8_t key[AUDIT_KEY_BYTES], const char *surname,
		       const char *given_names, const char *date_of_birth,
		       uint8_t out[AUDIT_DIGEST_BYTES]);

/*
 * The persons a query searches for (at most 2 digests: its document, or its
 * name with the date of birth), and those an answer discloses (a document
 * and a name a match, masked ones left out; at most max). Returns how many
 * (audit_result_digests: 0 also when out of memory).
 */
size_t audit_query_digest_inputs(const Piugw__Query *q, struct audit_digest_input out[2]);
size_t audit_result_digest_inputs(const Piugw__QueryResult *r, struct audit_digest_input *out,
				  size_t max);
size_t audit_query_digests(const uint8_t key[AUDIT_KEY_BYTES], const Piugw__Query *q,
			   uint8_t out[][AUDIT_DIGEST_BYTES]);
size_t audit_result_digests(const uint8_t key[AUDIT_KEY_BYTES], const Piugw__QueryResult *r,
			    uint8_t out[][AUDIT_DIGEST_BYTES], size_t max);

/* The name of an event ("query received"). */
const char *audit_event_name(int event);

#endif /* PIUGW_AUDIT_H */
