/*
 * gw.h: the parts of piugwd and what they share.
 *
 * One thread runs one zmq_poll loop over every socket: the public ROUTER
 * that partners' DEALERs connect to, the ZAP handler that admits them, one
 * DEALER per partner, the local API ROUTER, the socket monitors, a
 * signalfd, the metrics server's epoll fd and the suspensions' inotify fd.
 * Timers (retries, deadlines, polls of pending answers, the flush of
 * records nothing waits for) set the poll timeout. A turn ends with its one
 * durable step in this thread (gw_turn_end): state.db committed, the audit
 * log written and flushed, then the replies sent.
 *
 * The only other thread is libzmq's I/O thread, which shares nothing of
 * ours. The audit log has no thread of its own in the daemon
 * (inline_writes), state.db none at all (SQLite checkpoints after a commit).
 *
 * The signing key and the audit key are in another process, the key holder
 * (keyholder.c), forked at start: this one asks it for signatures and
 * digests. Both run sandboxed (sandbox.c): the key holder under a seccomp
 * filter of seven calls; this process, once it serves, under Landlock (its
 * configuration read, its state, runtime and store folders written) and a
 * seccomp filter on every thread.
 *
 * The files call downwards only (tests/integration/daemon_dag.sh checks it
 * on the objects):
 *   piugwd.c   start: options, configuration, files, refusals; shutdown
 *   loop.c     the loop and its turn, signals, reload
 *   localapi.c the operators' requests on the local API socket
 *   outbound.c our queries, fan-out, retries, polls, Hellos, and their answers
 *   inbound.c  partners' requests: receiving rules, answers, approvals
 *   proposals.c agreements proposed and co-signed over the mesh, both sides
 *   witness.c  partners witness each other's audit logs
 *   metrics.c  /metrics and /healthz
 *   reply.c    the local API's replies, held until their records are durable
 *   links.c    sockets: ZAP, the public ROUTER, partner DEALERs, monitors
 *   gw.c       log lines, clocks, user names, the audit, sealing a body
 *   keyholder.c the key holder process and our side of its socket
 *   sandbox.c  the seccomp filters
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_GW_H
#define PIUGW_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <zmq.h>

#include "audit.h"
#include "body.pb-c.h"
#include "envelope.h"
#include "keyholder.h"
#include "local.pb-c.h"
#include "piugw/error.h"
#include "policy.h"
#include "state.h"
#include "store.h"

#define GW_ZAP_DOMAIN "piugw"
#define GW_ZAP_DOMAIN_LOCAL "piugw-local"
#define GW_HELLO_DEADLINE_MS 3000
#define GW_WITNESS_MS 60000 /* a Hello round to every partner (witness.c) */
#define GW_PEER_DOWN_WARN_MS 60000 /* a partner away this long is a warning, once */
#define GW_LOCAL_MAX_BYTES (256 * 1024)
/*
 * Records nothing waits for (our query sent, a configuration loaded) are
 * flushed with the next turn that has a reply waiting, or this long after
 * they were appended: one fdatasync for a query and its answer.
 */
#define GW_FLUSH_MS 10

/* ---- logging (gw.c) ---- */

enum gw_level { GW_DEBUG, GW_INFO, GW_WARN, GW_ERROR };
extern int gw_log_level;
extern bool gw_log_syslog; /* also to syslog (daemon facility) */
/*
 * One line "time level event k=v ..." on stderr. Values that came from a
 * peer or a file go through gw_esc() first; personal data never.
 */
void gw_log(enum gw_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* s made safe for a log value: printable ASCII, quoted if it has spaces. Static buffer ring. */
const char *gw_esc(const char *s);

/* ---- partners: the outbound links ---- */

struct peer {
	char id[KEYS_ID_MAX + 1];
	char endpoint[128];
	uint8_t transport_pk[KEYS_PUBLIC_BYTES];
	void *dealer;
	void *mon;            /* PAIR end of the DEALER's monitor */
	bool mon_again;       /* mon has more than the last turn took */
	bool connected;       /* handshake done, connection up */
	bool ever_connected;
	char problem[200];    /* last transport problem, for peers/status */
	int64_t last_hello_ms;
	int64_t rtt_us;
	int64_t clock_offset_ms;
	bool reachable;
	bool keep;            /* reload bookkeeping */
	int64_t down_since_ms; /* not connected since (health, PEER_UNREACHABLE); 0 while up */
	bool down_warned;      /* down for GW_PEER_DOWN_WARN_MS: said once, as a warning */
	int64_t measured_at_ms; /* when rtt_us and clock_offset_ms were measured */
	int64_t redial_ms;      /* links_peer_redial's last */
	/* witness.c: its audit log as we saw it, ours as it saw it */
	struct audit_checkpoint witnessed; /* its newest checkpoint we witnessed */
	bool witnessed_loaded;             /* read from state.db */
	uint64_t seen_ok_seq;              /* the last of ours it handed back that we hold */
	uint64_t regressed_seq;            /* the last lower one it showed (logged once) */
	/*
	 * A member we hold no agreement with, connected only to carry our
	 * agreement proposals (proposals.c): no Hellos, no queries, not in
	 * piugw peers or the health.
	 */
	bool stranger;
	bool hint;             /* it sent us something: ask about our proposals to it now */
};

/* One message this gateway sent and waits an answer to. */
enum outreq_kind { OUT_QUERY, OUT_POLL, OUT_HELLO, OUT_PROPOSAL, OUT_OTHER };

struct job;
struct outreq;
struct gw;
/*
 * OUT_OTHER: what the part that sent it does with its answer (stale:
 * outside the freshness window, not to be used) and at its deadline.
 */
typedef void (*outreq_answer_fn)(struct gw *g, struct outreq *o, const struct envelope_header *h,
				 const Piugw__Body *b, bool stale);
typedef void (*outreq_expire_fn)(struct gw *g, struct outreq *o);

struct outreq {
	struct outreq *next;
	enum outreq_kind kind;
	char peer[KEYS_ID_MAX + 1];
	uint8_t mid[ENVELOPE_MESSAGE_ID_BYTES];
	char request_id[2 * ENVELOPE_MESSAGE_ID_BYTES + 1]; /* the query's, also for polls */
	char agreement_id[ENVELOPE_AGREEMENT_ID_MAX + 1];
	bool has_hash;
	uint8_t agreement_hash[ENVELOPE_AGREEMENT_HASH_BYTES]; /* as the request carried it */
	uint8_t *env;          /* the exact envelope: retries re-send these bytes */
	size_t env_len;
	int64_t first_ms;      /* when it was made */
	int64_t sent_ms;       /* last actual send; 0: never got out */
	int64_t next_ms;       /* next retry */
	int64_t deadline_ms;
	int64_t hello_us;      /* monotonic send time, for the round trip */
	struct job *job;       /* the local caller waiting, or NULL (background poll) */
	uint32_t uid;          /* the operator who asked */
	size_t slot;           /* which answer of the job */
	/* OUT_PROPOSAL: request_id holds the proposal's reference; its caller, if one waits */
	uint8_t *caller;
	size_t caller_len;
	/* OUT_OTHER (lookouts.c): request_id holds the sender's reference */
	outreq_answer_fn on_answer;
	outreq_expire_fn on_expire; /* may be NULL */
};

/* A local caller waiting for answers (a query, a fan-out, peers, results --wait). */
enum job_kind { JOB_QUERY, JOB_PEERS, JOB_RESULTS };

/*
 * A local caller, as the daemon keeps it until it answers: the routing id of
 * its connection (at most 255 bytes) followed by the 8-byte tag of its
 * request (LocalRequest.tag), which the reply carries back. Passed around as
 * (rid, rid_len) with rid_len counting the tag.
 */
#define GW_CALLER_MAX (255 + 8)

struct job {
	struct job *next;
	enum job_kind kind;
	uint8_t rid[GW_CALLER_MAX]; /* the caller (see GW_CALLER_MAX) */
	size_t rid_len;
	uint32_t uid;
	size_t n, open;        /* answers expected, still open */
	Piugw__PeerAnswer **answers;  /* JOB_QUERY, JOB_RESULTS */
	Piugw__PeerInfo **infos;      /* JOB_PEERS */
	char request_id[2 * ENVELOPE_MESSAGE_ID_BYTES + 1]; /* JOB_RESULTS */
	int64_t deadline_ms;
	uint64_t seq;          /* the audit records its answers were recorded up to */
	bool stream;           /* JOB_QUERY: each answer to the caller as it is settled */
};


/* A reply to a partner held until the audit record about it is durable. */
struct deferred {
	struct deferred *next;
	uint64_t seq;
	uint8_t rid[256];
	size_t rid_len;
	char peer[KEYS_ID_MAX + 1];
	/* What an Error in its place needs, if the record never becomes durable. */
	bool has_mid, has_hash;
	uint8_t req_mid[ENVELOPE_MESSAGE_ID_BYTES];
	char agreement_id[ENVELOPE_AGREEMENT_ID_MAX + 1];
	uint8_t agreement_hash[ENVELOPE_AGREEMENT_HASH_BYTES];
	bool early;            /* an early refusal: into the early cache when sent */
	uint8_t early_hash[32];
	uint8_t *env;          /* NULL while sealing waits for the turn's signatures */
	size_t env_len;
	struct envelope_sealing *sealing; /* signed and sealed at the turn's end */
	bool remember;         /* then into the replay cache (the request's row) */
};

/*
 * A message from a partner as a turn of the loop takes it: first received
 * (up to GW_BATCH from one socket, the most any socket gets in a turn),
 * then opened (gw_open_all), then handled one by one in arrival order,
 * every check in the order of PROTOCOL.md section 8.
 */
#define GW_BATCH 64

struct inmsg {
	zmq_msg_t rid, msg;    /* rid: the public ROUTER only */
	int frames;            /* frames of the message (the ROUTER's count the id) */
	bool admitted;         /* the sender holds an agreement in force (ROUTER; as received) */
	bool open;             /* passed the checks before rule 3: opened (gw_open_all) into rc, o */
	struct envelope_open_opts opts;
	struct envelope_opened o;
	int rc;
};

/*
 * A reply to a local caller held until the end of the loop's turn, and
 * until audit record seq is durable if seq is not 0.
 */
struct api_out {
	struct api_out *next;
	uint8_t rid[256];      /* routing id only */
	size_t rid_len;
	uint64_t tag;          /* the request's tag (for an error in its place) */
	uint64_t seq;
	size_t len;
	uint8_t buf[];
};

/*
 * A turn of the loop (gw_turn_begin/end, loop.c): state.db writes join one
 * transaction and audit records wait in memory. The turn ends with its one
 * durable step: state.db committed (the replay rows, with the replies and
 * the records they wait for), then the audit log written and flushed
 * (audit_flush), so that no record of handling a request reaches the disk
 * before the row that stops it being handled twice; then every reply of
 * the turn goes, to partners (deferred, inbound.c) and local callers
 * (api_out, reply.c).
 */
struct gw_turn {
	bool open;
	struct inmsg *inbox;   /* GW_BATCH messages of the socket being read */
	struct deferred *deferred, **deferred_tail;
	struct api_out *api_out, **api_out_tail;
	uint64_t anchor_seq;   /* the audit head last kept in state.db (gw_commit) */
	bool audit_failed;     /* the flush failed: logged once */
	int64_t unflushed_ms;  /* since when records wait that nothing waits for (0: none) */
};

/* The sockets (links.c; the loop polls them). */
struct gw_links {
	void *zctx;
	void *router;          /* public endpoint, partners' DEALERs; NULL while rebinding */
	int64_t rebind_since_ms;
	void *router_mon;
	void *zap;             /* REP on inproc://zeromq.zap.01 */
	bool zap_again, router_mon_again; /* more than the last turn took */
	void *api;             /* local API */
	char *api_path;        /* the ipc socket file */
	uint64_t refused_at_zap;
};

/* Our exchanges in flight (outbound.c). */
struct gw_outbound {
	struct outreq *reqs;   /* each message we sent and wait an answer to */
	struct job *jobs;      /* each local caller waiting for them */
	int64_t next_poll_ms;  /* background polls of WAITING results */
	int64_t last_poll_ms;  /* when they last ran (0: not since the start) */
};

/* Partners witness each other's audit logs (witness.c; outbound.c sends the Hellos). */
struct gw_witness {
	char alarm[512];       /* a partner's witness says our log was cut */
	int64_t next_round_ms; /* the next Hello round to every partner */
};

/*
 * The daemon: what the configuration and the files give, then its parts.
 * The exchanges in flight are objects of their own, each carrying its state
 * from arrival to reply, and a part holds the list of them: a partner's
 * request is a struct inmsg in the turn's inbox until judged, its reply a
 * struct deferred until its record is durable (inbound.c); a local
 * caller's request is a struct job with one struct outreq per partner asked
 * (outbound.c), its reply a struct api_out (reply.c); an audit purge is a
 * struct purge (localapi.c). The early refusals' cache (struct early_slot)
 * is inbound.c's own.
 */
struct gw {
	char *config_path;
	struct policy *policy;
	struct policy_rates *rates;
	struct keys_secret *keys;  /* public keys, the CURVE secret; signs through kh */
	struct keyholder *kh;      /* the process that holds the signing and audit keys */
	struct envelope_ctx *env;
	struct audit_log *audit;
	struct store *store;
	struct state *state;
	char refusal[600];     /* refusing to serve (audit log behind state.db): why */
	struct peer *peers;    /* one per partner of the policy (links_peers_sync) */
	size_t npeers;

	struct gw_turn turn;
	struct gw_links links;
	struct gw_outbound out;
	struct early_slot *early; /* GW_EARLY_SLOTS, made on first use (inbound.c) */
	struct gw_witness witness;
	struct gw_metrics *metrics;
	struct purge *purge;   /* piugw audit purge, taken and run after the turn (localapi.c) */
	bool reload_wanted;    /* an agreement was installed: reload at the next turn */
	struct gw_lookouts *lookouts; /* lookouts.c */

	/* The loop (loop.c). */
	int sigfd;
	int64_t started_ms;
	int64_t next_housekeeping_ms;
	bool draining;
	/* While a local request made through a delegate is handled: "via piugw-web[, system S,
	 * user U]", set on the audit records of its operator (gw_audit); else NULL. */
	const char *req_via;
	bool store_down;       /* the store could not be reached at the last look (loop.c) */
	bool stop;
};

/* ---- loop.c: the loop and its turn ---- */
/* Serve until stopped (SIGTERM drains first); 0, or an error of the poll. */
int loop_run(struct gw *g);
/* The envelope context for every member of the directory but us. */
int loop_envelope_build(struct gw *g, struct envelope_ctx **outp);
/*
 * Load the configuration tree again (SIGHUP): a failed load keeps the one
 * in force; members no longer admitted are cut off; the change is audited.
 */
void loop_reload(struct gw *g);
/* Record the configuration in force (detail: why it was loaded). */
void loop_audit_config(struct gw *g, const char *detail);
/* Commit state.db's open transaction (logging a failure). */
void gw_commit(struct gw *g);
void gw_turn_begin(struct gw *g);
void gw_turn_end(struct gw *g);
/* Open the n messages of v marked open. */
void gw_open_all(struct gw *g, struct inmsg *v, size_t n);

/* ---- localapi.c: the operators' requests ---- */
bool localapi_handle(struct gw *g);        /* one local API request; false: none there */
/*
 * The audit purge a local caller asked for: outside a turn only (the loop
 * pauses meanwhile: it reads the oldest segments whole).
 */
void localapi_audit_purge_run(struct gw *g);

/* auditor.c: an auditor's search of the log by subject, and the oversight report. */
void auditor_subject(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		     const Piugw__LocalAuditSubject *as);
void auditor_report(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		    const Piugw__LocalAuditReport *ar);

/* ---- outbound.c: our queries, polls and Hellos ---- */
/* Take one answer from p's DEALER into m (false: none there). */
bool outbound_recv(struct gw *g, struct peer *p, struct inmsg *m);
void outbound_handle(struct gw *g, struct peer *p, struct inmsg *m); /* handle m; releases it */
void outbound_timers(struct gw *g, int64_t now_ms);
int64_t outbound_next_timer(const struct gw *g);  /* earliest time something is due; 0: none */
void outbound_abort_all(struct gw *g, const char *why);
/* A partner connected: send what waited for a connection. */
void outbound_peer_connected(struct gw *g, const char *peer);
/* A local query (LocalQuery) to one partner or all: answered through a job. */
void outbound_query(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		    const Piugw__LocalQuery *lq);
/* A local caller waiting for n answers (infos for JOB_PEERS); NULL: out of memory, told. */
struct job *outbound_job_new(struct gw *g, enum job_kind kind, const uint8_t *rid, size_t rid_len,
			     uint32_t uid, size_t n);
/* Answer the job's caller with what it has, and free it. */
void outbound_job_finish(struct gw *g, struct job *j);
/* The query of that request_id still in flight, or NULL; and its answer so far. */
struct outreq *outbound_in_flight(struct gw *g, const char *request_id);
Piugw__PeerAnswer *outbound_in_flight_answer(const struct outreq *o);
/* What we know of partner p (peers, status); heap-built, NULL on out of memory. */
Piugw__PeerInfo *outbound_peer_info(struct gw *g, const struct peer *p);
/* An agreement proposal (LocalPropose) to its other party: answered once it is held or refused. */
void outbound_propose(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		      const Piugw__LocalPropose *lp);
/* A Hello to p carrying refs and the witnessed checkpoints, sent now. */
struct outreq *outbound_hello(struct gw *g, struct peer *p, Piugw__AgreementRef **refs,
			      size_t nrefs, int64_t now);

/*
 * A request of another part (lookouts.c) to peer: body sealed here, or env
 * (with its message id mid) sent as it is, copied; its answer to
 * on_answer. NULL if it could not be sealed. The caller sets request_id.
 */
struct outreq *outbound_request(struct gw *g, const char *peer, const char *agreement_id,
				const uint8_t *hash, const Piugw__Body *body, const uint8_t *env,
				size_t env_len, const uint8_t *mid, int64_t deadline_ms,
				outreq_answer_fn on_answer, outreq_expire_fn on_expire);

/*
 * Does the reply's header carry o's agreement fields (PROTOCOL.md section
 * 11)? An Error (is_error) may leave both out. why says how not.
 */
bool outbound_reply_agreement_ok(const struct outreq *o, const struct envelope_header *h,
				 bool is_error, char *why, size_t n);
/* Another part's request to request_id answered by on_answer, in flight, or NULL. */
struct outreq *outbound_other_in_flight(struct gw *g, outreq_answer_fn on_answer,
					const char *request_id);

/* ---- lookouts.c: lookouts and notifications, both sides ---- */
/* A reply to a lookout request or a notification, and its storage. */
struct lookouts_answer {
	Piugw__Body body;
	Piugw__LookoutReply lr;
	Piugw__NotificationAck na;
	Piugw__Category cats[32];
	size_t ncats;
	char ref[65];
	Piugw__LookoutPlace *place; /* a withdrawal: what was looked out for (for the digests); caller frees */
	char case_ref[256];         /* a notification: our lookout's case, for the record */
};
/*
 * A LookoutPlace, LookoutWithdraw or Notification from peer (header h):
 * a->body is the reply, rec's event and fields set, why the record's
 * detail; else the PIUGW_E* code to refuse with, why its detail.
 */
int lookouts_receive_place(struct gw *g, const char *peer, const struct envelope_header *h,
			   const Piugw__LookoutPlace *in, struct lookouts_answer *a,
			   Piugw__AuditRecord *rec, char *why, size_t n);
int lookouts_receive_withdraw(struct gw *g, const char *peer, const struct envelope_header *h,
			      const Piugw__LookoutWithdraw *in, struct lookouts_answer *a,
			      Piugw__AuditRecord *rec, char *why, size_t n);
int lookouts_receive_notification(struct gw *g, const char *peer, const struct envelope_header *h,
				  const Piugw__Notification *in, struct lookouts_answer *a,
				  Piugw__AuditRecord *rec, char *why, size_t n);
/* The local API: place (answered once each partner answered), withdraw, list, alerts. */
void lookouts_local_place(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
			  const Piugw__LocalLookoutPlace *lp);
void lookouts_local_withdraw(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
			     const Piugw__LocalLookoutWithdraw *lw);
void lookouts_local_list(struct gw *g, const char *ref, Piugw__LocalReply *out);
void lookouts_local_alerts(struct gw *g, const uint8_t *rid, size_t rid_len,
			   const Piugw__LocalAlerts *la);
void lookouts_local_seen(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
			 const Piugw__LocalAlertSeen *s);
/* Held notifications, added to a PendingReply. */
void lookouts_pending(struct gw *g, Piugw__PendingReply *pr);
/* A decision on a held notification; false if approval_ref is not one (a query's). */
bool lookouts_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec, uint32_t uid,
		     Piugw__LocalReply *out, uint64_t *seqp);
void lookouts_status(struct gw *g, Piugw__StatusReply *sr);
/* Expiry, suspension, notifications sent again, the store's new rows checked. */
void lookouts_timers(struct gw *g, int64_t now);
int64_t lookouts_next_timer(const struct gw *g);
void lookouts_store_changed(struct gw *g); /* an import: check the new rows now */
void lookouts_policy_changed(struct gw *g); /* a reload or a suspension */
void lookouts_free(struct gw *g);

/* ---- unmask.c: lawful unmasking, both sides (doc/protocol-notes.md section 7) ---- */
/* piugw unmask: the request for a masked match, answered like a query held at the partner. */
void unmask_local(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		  const Piugw__LocalUnmask *lu);
/* The PENDING reply to an UnmaskRequest, and its storage. */
struct unmask_answer {
	Piugw__Body body;
	Piugw__QueryResult qr;
	char ref[65];
};
/*
 * An UnmaskRequest (message id mid) from peer: held for an authoriser (a->body
 * the reply, rec's event and fields set, *personp the person it is about,
 * for the record's digests: disclose_free), or the PIUGW_E* code, why.
 */
int unmask_receive(struct gw *g, const char *peer, const uint8_t mid[16],
		   const struct envelope_header *h, const Piugw__UnmaskRequest *in,
		   struct unmask_answer *a, Piugw__AuditRecord *rec, Piugw__QueryResult **personp,
		   char *why, size_t n);
/*
 * A decision on a held unmasking: only an authoriser's, never the asking
 * analyst's. false if approval_ref is not an unmasking's.
 */
bool unmask_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec, uint32_t uid,
		   Piugw__LocalReply *out, uint64_t *seqp);
/* What piugw pending shows of a held unmasking. */
void unmask_pending_item(const struct state_pending *p, Piugw__PendingItem *it);

/* ---- inbound.c: partners' requests and their answers ---- */
/* Take one message from the public ROUTER into m (false: none there). */
bool inbound_recv(struct gw *g, struct inmsg *m);
void inbound_handle(struct gw *g, struct inmsg *m); /* handle m; releases it */
void inbound_send_ready(struct gw *g);  /* send replies whose audit is durable */
/*
 * Sign the turn's replies in as few round trips to the key holder as its
 * batches allow, seal them, and keep in the replay cache those a repeat
 * gets: before the turn's commit.
 */
void inbound_seal_turn(struct gw *g);
/*
 * Approvals, for the local API. Fill reply; for a decision, *seqp is the
 * audit record the reply must wait for (0: none, an error).
 */
void inbound_pending_list(struct gw *g, Piugw__LocalReply *reply);
void inbound_decide(struct gw *g, bool approve, const Piugw__LocalDecision *dec, uint32_t uid,
		    Piugw__LocalReply *reply, uint64_t *seqp);

/* ---- proposals.c: agreements proposed and co-signed over the mesh ---- */
/*
 * An AgreementProposal from peer (doc/protocol-notes.md section 5): checked,
 * and held for a person, or found held already (*row filled, why the audit
 * detail). Else the PIUGW_E* code to refuse it with, why its detail.
 */
int proposals_receive(struct gw *g, const char *peer, const struct envelope_header *h,
		      const Piugw__AgreementProposal *ap, struct state_proposal *row, char *why,
		      size_t n);
/* The AgreementResponse that tells where row stands (pointing into row). */
void proposals_response(const struct state_proposal *row, Piugw__AgreementResponse *r);
/*
 * Our proposal of lp: checked and kept (*row). *resendp: send it (else it
 * was only installed again, after a failure). PIUGW_E* with why else.
 */
int proposals_make(struct gw *g, const Piugw__LocalPropose *lp, struct state_proposal *row,
		   bool *resendp, char *why, size_t n);
/*
 * The partner's answer b to our proposal ref: *row updated and kept (an
 * acceptance installed), rec's event and refusal set, why its detail. Else
 * a bad answer (rec->event AUDIT_DROPPED, nothing changed).
 */
int proposals_answered(struct gw *g, const char *ref, const struct envelope_header *h,
		       const Piugw__Body *b, struct state_proposal *row, Piugw__AuditRecord *rec,
		       char *why, size_t n);
/* A person's decision (who) on a proposal held here: *row updated, kept, installed if accepted. */
int proposals_decide(struct gw *g, const Piugw__LocalProposalDecision *dec, const char *who,
		     struct state_proposal *row, char *why, size_t n);
Piugw__Proposal *proposals_info(const struct state_proposal *row); /* heap; NULL: no memory */
/* The audit record's fields of row: peer, agreement id and hash, who (a local operator, or NULL). */
void proposals_record(const struct state_proposal *row, const char *who, Piugw__AuditRecord *r);
/* The wire code a local caller is told for the PIUGW_E* code of proposals_make or _decide. */
enum piugw_wire_error proposals_wire_code(int rc);
/* Answer a local caller with row (a ProposalsReply of one), once record seq is durable. */
void proposals_reply_local(struct gw *g, const uint8_t *rid, size_t rid_len, uint64_t seq,
			   const struct state_proposal *row);
/* Every proposal (or the one of ref) into out, a ProposalsReply. */
void proposals_list(struct gw *g, const char *ref, Piugw__LocalReply *out);

/* ---- witness.c: partners witness each other's audit logs ---- */
/* What this gateway shows a partner in a Hello or HelloReply. */
struct witness_out {
	struct audit_checkpoint own, theirs;
	Piugw__AuditCheckpoint own_m, theirs_m;
	Piugw__AuditCheckpoint *checkpoint; /* &own_m, or NULL: none yet */
	Piugw__AuditCheckpoint *witnessed;  /* &theirs_m, or NULL: none witnessed */
};
void witness_fill(struct gw *g, const char *peer, struct witness_out *w);
/* What a Hello or HelloReply from peer carried (either may be NULL). */
void witness_receive(struct gw *g, const char *peer, const Piugw__AuditCheckpoint *theirs,
		     const Piugw__AuditCheckpoint *ours);

#ifdef PIUGW_TEST_HOOKS
/*
 * Test builds only: with the environment's variable set, attempt once what
 * the sandbox forbids (sandbox.sh), and log what happened: "shadow" (read
 * /etc/shadow), "read:PATH" (open PATH), "socket" (an AF_PACKET socket),
 * "parent_memory" (open the parent's /proc/PID/mem), "execve" (run
 * /bin/true: the filter kills).
 */
void gw_test_escape(const char *process, const char *variable);
#endif

/* ---- metrics.c: /metrics and /healthz on a loopback address ---- */
struct gw_metrics;
/*
 * The counters, and with metrics.listen the metrics process (metricsd.h),
 * forked now: call it before the store, the audit log or a socket is open.
 */
int metrics_open(struct gw *g);
void metrics_close(struct gw *g);
int metrics_fd(struct gw *g);              /* the metrics process's socket, or -1 */
short metrics_events(struct gw *g);        /* the poll events to wait for on it */
pid_t metrics_pid(struct gw *g);           /* 0: none */
void metrics_run(struct gw *g);            /* its socket is ready: answer what it asks */
/* Add v to the counter name{labels} (name: one of the static family names). */
void metrics_add(struct gw *g, const char *name, const char *labels, double v);
/* One round trip of a query to peer. */
void metrics_observe(struct gw *g, const char *peer, double seconds);
/* Health: true if all is well; *outp the JSON body with the reasons. */
bool metrics_health(struct gw *g, json_t **outp);

/* ---- links.c: sockets ---- */
int links_open(struct gw *g);              /* ZAP, ROUTER, API, monitors */
int links_router_rebind(struct gw *g);     /* cut every partner connection */
int links_router_retry(struct gw *g);      /* bind again after a rebind; 0 once listening */
int links_peers_sync(struct gw *g);        /* one DEALER per partner of the policy */
void links_close(struct gw *g);
void links_zap_handle(struct gw *g);
/* Take one event of a monitor (p NULL: the public ROUTER's); true: p just connected. */
bool links_monitor_handle(struct gw *g, struct peer *p, void *mon);
/* Send env to partner p now; false if no connection takes it (retry later). */
bool links_peer_send(struct gw *g, struct peer *p, const uint8_t *env, size_t len);
/*
 * p is down and a query waits for it: try to connect now, not at the end of
 * libzmq's backoff (up to 5 s), at most once a second.
 */
void links_peer_redial(struct gw *g, struct peer *p, int64_t now);
/* Send [rid, buf] to a local caller on the local API; PIUGW_ESYSTEM (errno) if not. */
int links_api_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *buf,
		   size_t len);
/* Send [rid, env] on the public ROUTER. */
int links_router_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *env,
		      size_t len);
/* ---- reply.c: replies to the local API ---- */
void reply_local(struct gw *g, const uint8_t *rid, size_t rid_len, const Piugw__LocalReply *reply);
void reply_local_error(struct gw *g, const uint8_t *rid, size_t rid_len, int wire_code,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, once audit record seq is durable (or an error if the log fails first). */
void reply_local_durable(struct gw *g, uint64_t seq, const uint8_t *rid, size_t rid_len,
			 const Piugw__LocalReply *reply);
/* Send the local replies held during a turn whose records are durable. */
void reply_local_flush(struct gw *g);
/* Is a local reply still waiting for its audit record? */
bool reply_local_waiting(const struct gw *g);

/* ---- gw.c: clocks, names, the audit ---- */
/* Unix time in ms: the real clock, or gw_clock_ms if set (tests/unit/test_daemon.c). */
int64_t gw_now_ms(void);
extern int64_t (*gw_clock_ms)(void);
int64_t gw_mono_us(void);
/*
 * Append r to the audit log (filling the peer's OS-independent fields); *seqp its seq.
 * Refused (PIUGW_EINTERNAL) once the key holder failed: r's digests may be missing.
 */
int gw_audit(struct gw *g, Piugw__AuditRecord *r, uint64_t *seqp);
/*
 * The keyed digests of n inputs, by the key holder in as few round trips as
 * its batches allow; n, or 0 if it failed (gw_audit then refuses the record).
 */
size_t gw_digests(struct gw *g, const struct audit_digest_input *in, size_t n,
		  uint8_t out[][AUDIT_DIGEST_BYTES]);
/*
 * The keyed digests of the persons an answer discloses (at most max), made
 * by the key holder; how many. Should it fail, none: gw_audit then refuses
 * the record. (A query's are made with its signatures: gw_seal_finish_digests.)
 */
size_t gw_result_digests(struct gw *g, const Piugw__QueryResult *r,
			 uint8_t out[][AUDIT_DIGEST_BYTES], size_t max);
/* The OS user name of uid ("alice"), or its number. */
void gw_user_name(uint32_t uid, char *out, size_t size);
/* Seal body for peer (header filled here: fresh id, now); *envp malloc'd. */
int gw_seal(struct gw *g, const char *peer, const uint8_t *in_reply_to, const char *agreement_id,
	    const uint8_t *agreement_hash, const Piugw__Body *body, uint8_t mid[16], uint8_t **envp,
	    size_t *lenp);

/*
 * The same in two steps, for a turn's replies signed in one round trip to
 * the key holder (gw_seal is the two for one message): begin packs what is
 * signed (mid: its message id, may be NULL); finish signs n (at most
 * KH_BATCH_MAX) at once and seals each into env[i] (NULL where that one
 * failed, logged). finish fails as a whole only if the key holder does.
 */
int gw_seal_begin(struct gw *g, const char *peer, const uint8_t *in_reply_to,
		  const char *agreement_id, const uint8_t *agreement_hash, const Piugw__Body *body,
		  uint8_t mid[16], struct envelope_sealing **sp);
int gw_seal_finish(struct gw *g, struct envelope_sealing **s, size_t n, uint8_t **env,
		   size_t *len);
/*
 * finish with the nin keyed digests of in made in the same round trip
 * (n may be 0: the digests alone); *ndp how many (0 if the key holder
 * failed: gw_audit then refuses the record). n + nin at most KH_BATCH_MAX.
 */
int gw_seal_finish_digests(struct gw *g, struct envelope_sealing **s, size_t n, uint8_t **env,
			   size_t *len, const struct audit_digest_input *in, size_t nin,
			   uint8_t out[][AUDIT_DIGEST_BYTES], size_t *ndp);

/* The partner of this id among g->peers, or NULL. */
struct peer *gw_peer(struct gw *g, const char *id);
/* Replace a heap-built message's string field (never freeing protobuf-c's static ""). */
void gw_set_str(char **field, const char *v);

#endif /* PIUGW_GW_H */
