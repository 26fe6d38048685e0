/*
 * state.h: what a running gateway must remember across a restart, in one
 * SQLite file (state.db, WAL):
 *
 *   replay    (sender, message_id) of every request accepted within twice
 *             the freshness window, with a digest of its envelope and the
 *             exact reply bytes sent (PROTOCOL.md section 8 rule 5: a repeat
 *             gets the same reply again, other bytes are REPLAYED); looked
 *             up through an index in memory: 16-byte slots, two to four per
 *             request in that window (1,000 requests a second with the
 *             default 300 s window: 600,000 requests, 32 MiB);
 *   pending   requests held for manual approval at this (answering) gateway,
 *             with the decision the asker's poll collects;
 *   audit_anchor  the newest record this gateway made durable in its audit
 *             log, (seq, chain hash): a log behind it or forking from it
 *             was cut or swapped (audit.h);
 *   witnessed the newest signed checkpoint of each partner's audit log that
 *             this gateway has seen, handed back to the partner in Hello
 *             exchanges (doc/protocol-notes.md);
 *   proposal  agreements proposed over the mesh, sent and received, and
 *             what became of them (doc/protocol-notes.md section 5);
 *   lookout   lookouts placed (ours at partners, partners' here), and
 *   notification  the notifications they fired, sent and received
 *             (doc/protocol-notes.md section 6);
 *   mark      how far work went (the store rows checked against lookouts);
 *   results   answers this (asking) gateway keeps for `piugw results`: the
 *             partners' PENDING answers it is still polling for, their final
 *             answers, and answers that came after their caller stopped
 *             waiting (an answer handed to its caller is not kept).
 * Decided requests and final results hold personal data kept only to be
 * collected: state_kept_expire() deletes them after a while.
 *
 * A row is committed before the reply it concerns is sent, and before the
 * audit records of that turn reach the disk (piugwd's turn commits state.db,
 * then flushes the audit log), so a crash never lets a request be processed
 * twice.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_STATE_H
#define PIUGW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "diag.h"
#include "keys.h"

#define STATE_SCHEMA_VERSION 6
#define STATE_ID_BYTES 16
#define STATE_HASH_BYTES 32
#define STATE_REF_MAX 64

struct state;

/* Open (creating) the state database at path. */
int state_open(const char *path, struct state **outp, struct diag *d);
void state_close(struct state **sp);

/*
 * Batching. After state_batch(s, true) every write joins one open
 * transaction, which state_commit() ends (the next write opens another):
 * an event loop commits once per turn instead of once per message, and
 * must call state_commit() before it sends anything that a row speaks
 * for. state_commit() returns 0 or PIUGW_ESYSTEM (the batch is rolled back).
 */
void state_batch(struct state *s, bool on);
int state_commit(struct state *s);

/* ---- replay cache ---- */

enum state_seen {
	STATE_SEEN_NEW,         /* first time: recorded now, process it */
	STATE_SEEN_REPEAT,      /* same bytes again: *replyp holds the reply sent */
	STATE_SEEN_IN_PROGRESS, /* same bytes, reply not sent yet: drop this copy */
	STATE_SEEN_REPLAYED,    /* same (sender, id), other bytes: REPLAYED */
};

/*
 * Look up (sender, message_id); record it if new. req_hash digests the whole
 * envelope. On STATE_SEEN_REPEAT *replyp (malloc, caller frees) holds the
 * reply. A reply whose audit record is not durable yet (its audit_seq past
 * durable_seq) is not one to repeat: IN_PROGRESS. Returns 0 with *seenp
 * set, or an error.
 *
 * After a crash between the commit of a new row and the reply (whose audit
 * record was not yet durable), the row stays without a reply: retries of
 * that request are IN_PROGRESS and go unanswered, so the asker sees a
 * TIMEOUT, and the row goes when it expires. That is the price of never
 * processing a request twice and never replying unaudited; the asker may
 * ask again under a new message id.
 */
int state_replay_check(struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES],
		       const uint8_t req_hash[STATE_HASH_BYTES], int64_t now_ms,
		       uint64_t durable_seq, int *seenp, uint8_t **replyp, size_t *reply_lenp);

/*
 * Remember the reply to (sender, id), for repeats, with audit_seq the audit
 * record it may leave after. It is written in the same transaction as the
 * request's row, before that record is durable; a row whose record never
 * became durable (a crash between the commit and the flush) is undone at
 * the next start by state_replay_unaudited().
 */
int state_replay_set_reply(struct state *s, const char *sender, const uint8_t id[STATE_ID_BYTES],
			   const uint8_t *reply, size_t len, uint64_t audit_seq);

/*
 * Forget the replies whose audit record is past durable_seq, the head the
 * audit log was found at on opening: they never left. Their requests stay
 * IN_PROGRESS until they expire. *np how many (may be NULL).
 */
int state_replay_unaudited(struct state *s, uint64_t durable_seq, uint64_t *np);

/* Forget requests received before before_ms; *np how many (may be NULL). */
int state_replay_expire(struct state *s, int64_t before_ms, uint64_t *np);

/*
 * Delete answers kept only to be collected, once older than before_ms:
 * results whose outcome is not keep_outcome (the answers still waiting at a
 * partner, which are polled), by when they last changed; and requests held
 * for approval once decided, by when they were decided (an undecided one
 * stays). *resultsp and *decidedp get how many (either may be NULL).
 */
int state_kept_expire(struct state *s, int64_t before_ms, int keep_outcome, uint64_t *resultsp,
		      uint64_t *decidedp);

/* ---- the audit log's anchor ---- */

/*
 * The anchor kept in the state database at path, read without opening it
 * for writing (before the audit log is opened, and while a gateway may run).
 * A missing file, or one from before anchors were kept: *seqp = 0.
 */
int state_anchor_load(const char *path, uint64_t *seqp, uint8_t hash[STATE_HASH_BYTES],
		      struct diag *d);

/* Keep (seq, hash) as the anchor; it never moves back. Joins the batch. */
int state_anchor_set(struct state *s, uint64_t seq, const uint8_t hash[STATE_HASH_BYTES],
		     int64_t now_ms);

/* ---- partners' audit checkpoints, as this gateway witnessed them ---- */

/* The newest checkpoint of peer's log kept here (cp->seq 0: none). */
int state_witness_get(struct state *s, const char *peer, struct audit_checkpoint *cp);

/* Keep cp as peer's newest witnessed checkpoint. Joins the batch. */
int state_witness_set(struct state *s, const char *peer, const struct audit_checkpoint *cp,
		      int64_t now_ms);

/* ---- requests held for approval (answering side) ---- */

enum state_pending_status {
	STATE_PENDING = 0,
	STATE_APPROVED = 1,
	STATE_DENIED = 2,
};

/* What a request held for a person is (its query column's message). */
enum state_pending_kind {
	STATE_PENDING_QUERY = 0,  /* a Query: approvers decide */
	STATE_PENDING_UNMASK = 1, /* an UnmaskRequest: authorisers decide (Art 12(3)) */
};

struct state_pending {
	char ref[STATE_REF_MAX + 1];
	int kind;                /* enum state_pending_kind */
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	uint8_t message_id[STATE_ID_BYTES];
	int64_t received_ms;
	int status;              /* enum state_pending_status */
	uint8_t *query;          /* the serialized Query */
	size_t query_len;
	uint8_t *result;         /* approved or denied: the serialized QueryResult */
	size_t result_len;
	char decided_by[64];
	int64_t decided_ms;
};

void state_pending_clear(struct state_pending *p);
int state_pending_add(struct state *s, const struct state_pending *p);
/* PIUGW_EUNKNOWNQUERY if there is no such ref. */
int state_pending_get(struct state *s, const char *ref, struct state_pending *out);
/* Every request still waiting for a decision, oldest first; free each and *vp. */
int state_pending_list(struct state *s, struct state_pending **vp, size_t *np);
int state_pending_count(struct state *s, uint32_t *np);
/* Record the decision (only on a request still pending: PIUGW_EUNKNOWNQUERY else). */
int state_pending_decide(struct state *s, const char *ref, int status, const uint8_t *result,
			 size_t result_len, const char *by, int64_t now_ms);

/* ---- answers received (asking side) ---- */

struct state_result {
	char request_id[2 * STATE_ID_BYTES + 1]; /* hex of the Query's message_id */
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	char approval_ref[STATE_REF_MAX + 1];   /* the partner's, while it is PENDING there */
	uint32_t operator_uid;
	int outcome;                              /* Outcome of local.proto */
	int64_t sent_ms, updated_ms;
	uint8_t *answer;                          /* the serialized PeerAnswer */
	size_t answer_len;
};

void state_result_clear(struct state_result *r);
/* Insert or replace by request_id. */
int state_result_put(struct state *s, const struct state_result *r);
int state_result_get(struct state *s, const char *request_id, struct state_result *out);
/* Every result with this outcome (e.g. still waiting), oldest first. */
int state_result_list(struct state *s, int outcome, struct state_result **vp, size_t *np);

/* ---- agreements proposed over the mesh (both sides) ---- */

/* The values of local.proto's ProposalState. */
enum state_proposal_state {
	STATE_PROPOSAL_SENDING = 1,  /* ours, not yet held by the partner */
	STATE_PROPOSAL_HELD = 2,     /* held for a person at the recipient */
	STATE_PROPOSAL_ACCEPTED = 3, /* co-signed and installed here */
	STATE_PROPOSAL_DECLINED = 4,
	STATE_PROPOSAL_REFUSED = 5,  /* ours, refused by the partner's gateway */
	STATE_PROPOSAL_FAILED = 6,   /* accepted, not installed here: detail says why */
};

struct state_proposal {
	char ref[STATE_REF_MAX + 1];       /* ours: "AG-..." received, "PR-..." sent */
	bool incoming;
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	uint8_t hash[STATE_HASH_BYTES];
	bool has_replaces;
	uint8_t replaces[STATE_HASH_BYTES];
	uint8_t *bytes;                    /* the agreement file */
	size_t len;
	uint8_t proposer_sig[KEYS_SIGNATURE_BYTES];
	bool has_responder_sig;
	uint8_t responder_sig[KEYS_SIGNATURE_BYTES];
	int state;                         /* enum state_proposal_state */
	char detail[512];
	char their_ref[STATE_REF_MAX + 1];
	char decided_by[64];
	char installed[512];               /* where it was installed */
	int64_t created_ms, updated_ms;
};

void state_proposal_clear(struct state_proposal *p);
/* Insert, or replace the row of p->ref. Joins the batch. */
int state_proposal_put(struct state *s, const struct state_proposal *p);
/* PIUGW_EUNKNOWNQUERY if there is no such row. */
int state_proposal_get(struct state *s, const char *ref, struct state_proposal *out);
int state_proposal_find(struct state *s, bool incoming, const char *peer,
			const uint8_t hash[STATE_HASH_BYTES], struct state_proposal *out);
/* All, newest first; free each (state_proposal_clear) and *vp. */
int state_proposal_list(struct state *s, struct state_proposal **vp, size_t *np);
/* Proposals received and held for a decision here. */
int state_proposal_count_held(struct state *s, uint32_t *np);
/* Our proposals not decided yet (SENDING, HELD), oldest first: what is still asked about. */
int state_proposal_waiting(struct state *s, struct state_proposal **vp, size_t *np);
/* Proposals received from peer since since_ms (the rate limit). */
int state_proposal_count_since(struct state *s, const char *peer, int64_t since_ms,
			       uint32_t *np);

/* ---- lookouts and notifications (doc/protocol-notes.md section 6) ---- */

/* The values of local.proto's LookoutState. */
enum state_lookout_state {
	STATE_LOOKOUT_ACTIVE = 1,     /* in force */
	STATE_LOOKOUT_SUSPENDED = 2,  /* its agreement is not in force: fires nothing */
	STATE_LOOKOUT_SENDING = 3,    /* ours, not answered yet */
	STATE_LOOKOUT_REFUSED = 4,    /* ours, refused by the partner (detail) */
	STATE_LOOKOUT_WITHDRAWN = 5,
	STATE_LOOKOUT_EXPIRED = 6,
};

struct state_lookout {
	char ref[STATE_REF_MAX + 1];       /* ours: "LO-..." held here, "LK-..." placed by us */
	bool incoming;                     /* a partner's, held here */
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	char their_ref[STATE_REF_MAX + 1]; /* the other side's reference (a partner's: its asker_reference) */
	uint8_t *place;                    /* the serialized LookoutPlace */
	size_t place_len;
	int query_type;
	int state;                         /* enum state_lookout_state */
	int64_t expires_ms;
	char detail[512];
	char operator_name[64];            /* ours: who placed it */
	int64_t created_ms, updated_ms;
};

void state_lookout_clear(struct state_lookout *l);
/* Insert, or replace the row of l->ref. Joins the batch. */
int state_lookout_put(struct state *s, const struct state_lookout *l);
/* PIUGW_EUNKNOWNQUERY if there is none. */
int state_lookout_get(struct state *s, const char *ref, struct state_lookout *out);
/*
 * By the other side's reference: ours at peer (incoming false: peer's
 * reference), or peer's held here (incoming: the asker's own reference).
 */
int state_lookout_theirs(struct state *s, bool incoming, const char *peer, const char *their_ref,
			 struct state_lookout *out);
/*
 * Newest first; incoming -1 for any; state -1 for any, STATE_LOOKOUTS_IN_FORCE
 * for active or suspended. Free each and *vp.
 */
#define STATE_LOOKOUTS_IN_FORCE (-2)
int state_lookout_list(struct state *s, int incoming, int state, struct state_lookout **vp,
		       size_t *np);
/*
 * Lookouts with peer under agreement_id that count against max_in_force:
 * active or suspended, and ours not answered yet. incoming: peer's held
 * here; else ours at peer.
 */
int state_lookout_count(struct state *s, bool incoming, const char *peer,
			const char *agreement_id, uint32_t *np);

/* The values of local.proto's NotificationState. */
enum state_notification_state {
	STATE_NOTIFICATION_HELD = 1,     /* sent by us: waiting for a person here */
	STATE_NOTIFICATION_SENDING = 2,  /* sent by us: until acknowledged */
	STATE_NOTIFICATION_ACKED = 3,
	STATE_NOTIFICATION_REFUSED = 4,  /* the asker's gateway refused it (detail) */
	STATE_NOTIFICATION_DENIED = 5,   /* a person here did not let it go (detail) */
	STATE_NOTIFICATION_NEW = 6,      /* received: not seen by an operator yet */
	STATE_NOTIFICATION_SEEN = 7,     /* received: an operator marked it seen */
};

struct state_notification {
	char ref[STATE_REF_MAX + 1];       /* ours: "NT-..." sent (its notification_id), "AL-..." received */
	bool incoming;
	char peer[KEYS_ID_MAX + 1];
	char agreement_id[STATE_REF_MAX + 1];
	char lookout_ref[STATE_REF_MAX + 1]; /* our lookout's reference (either side) */
	char their_id[STATE_REF_MAX + 1];  /* received: the sender's notification_id */
	bool has_fire_key;
	uint8_t fire_key[STATE_HASH_BYTES]; /* sent: digest of (person, flight): fires once */
	uint8_t *body;                     /* the serialized Notification */
	size_t body_len;
	uint8_t *env;                      /* sent: the envelope last sealed, sent again as is */
	size_t env_len;
	int64_t env_ms;                    /* when it was sealed */
	int state;                         /* enum state_notification_state */
	char detail[256];
	char decided_by[64];               /* approved, denied or seen by */
	int64_t created_ms, updated_ms;
};

void state_notification_clear(struct state_notification *n);
int state_notification_put(struct state *s, const struct state_notification *n);
int state_notification_get(struct state *s, const char *ref, struct state_notification *out);
/* Received from peer under its id. */
int state_notification_theirs(struct state *s, const char *peer, const char *their_id,
			      struct state_notification *out);
/* Has lookout_ref fired for key already? */
int state_notification_fired(struct state *s, const char *lookout_ref,
			     const uint8_t key[STATE_HASH_BYTES], bool *firedp);
/* Oldest first; incoming and state -1 for any. */
int state_notification_list(struct state *s, int incoming, int state,
			    struct state_notification **vp, size_t *np);

/*
 * Forget what is over and older than before_ms (by its last change):
 * lookouts refused, withdrawn or expired, and notifications acknowledged,
 * refused, denied or seen whose lookout is no longer in force (while it
 * is, they stop it firing twice for one person and flight). *lookoutsp
 * and *notificationsp how many (may be NULL). Joins the batch.
 */
int state_lookouts_expire(struct state *s, int64_t before_ms, uint64_t *lookoutsp,
			  uint64_t *notificationsp);

/* ---- masked matches that may be asked for again (doc/protocol-notes.md section 7) ---- */

struct state_masked {
	uint8_t ref[STATE_ID_BYTES];       /* Match.record_ref as sent */
	bool answerer;                     /* kept by the answerer (row_id), or by the asker */
	char peer[KEYS_ID_MAX + 1];        /* the other party */
	char agreement_id[STATE_REF_MAX + 1];
	char request_id[2 * STATE_ID_BYTES + 1]; /* the query's message id, hex */
	uint32_t match_no;                 /* the match's place in the answer, 1-based */
	int64_t row_id;                    /* answerer: the store row of the match */
	int64_t created_ms;
};

int state_masked_put(struct state *s, const struct state_masked *m);
/* The answerer's, by the reference it sent (PIUGW_EUNKNOWNQUERY: none). */
int state_masked_by_ref(struct state *s, const uint8_t ref[STATE_ID_BYTES],
			struct state_masked *out);
/* The asker's, by the query and the match's place in its answer. */
int state_masked_by_match(struct state *s, const char *request_id, uint32_t match_no,
			  struct state_masked *out);

/* Forget masked matches' references made before before_ms (none can be asked for then). */
int state_masked_expire(struct state *s, int64_t before_ms, uint64_t *np);

/* A named mark of work done (e.g. the store rows checked): *hasp false if never set. */
int state_mark_get(struct state *s, const char *name, int64_t *valuep, bool *hasp);
int state_mark_set(struct state *s, const char *name, int64_t value);

#define STATE_POLL_MAX_MS 300000

/*
 * When to poll a partner about an answer it holds for approval: at ages
 * (since the query was sent) first, 2 first, 4 first ... up to five minutes,
 * then every five minutes. A person may take hours to decide, and each poll
 * is an exchange and an audit record on both sides. True if such a point
 * lies in (from, to]; from < 0 (no look since the start) is always due.
 */
bool state_poll_due(int64_t from, int64_t to, int64_t first);

#endif /* PIUGW_STATE_H */
