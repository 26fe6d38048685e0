/*
 * policy.h: who may ask what of whom. A policy is one immutable snapshot of
 * the configuration tree (piugwd.yaml, the verified member directory, the
 * agreements and their signatures, local suspensions), built completely
 * aside and swapped in one step by policy_reload(). One decision function
 * serves both the asking gateway (outbound: stop locally what the partner
 * would refuse, with the same code) and the answering one (inbound).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_POLICY_H
#define PIUGW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agreement.h"
#include "body.pb-c.h"
#include "config.h"
#include "diag.h"
#include "directory.h"
#include "vocab.h"

enum policy_direction {
	POLICY_OUTBOUND, /* this gateway asks peer */
	POLICY_INBOUND,  /* peer asks this gateway */
};

enum policy_state {
	POLICY_IN_FORCE,
	POLICY_NOT_SIGNED,    /* a party's signature is missing */
	POLICY_BAD_SIGNATURE, /* a signature does not verify */
	POLICY_NOT_YET,       /* before in_force.from */
	POLICY_ENDED,         /* after in_force.until */
	POLICY_SUSPENDED,     /* suspended here with piugw agreement suspend */
	POLICY_NOT_MEMBER,    /* the other party is not in the member directory */
};

struct policy_agreement {
	struct agreement *a;
	char *path;
	char peer[KEYS_ID_MAX + 1];       /* the other party */
	struct agreement_sigs sigs;
	bool not_member;                  /* the other party is not in the directory */
	bool signed_by[2];                /* per a->parties[i]: present */
	bool valid_by[2];                 /* per a->parties[i]: verifies with the directory key */
	char *suspend_path;               /* state/suspended/<id>: checked at every decision */
	bool suspended;                   /* as loaded (for reports) */
	bool watched;                     /* live_suspended is kept current (policy_watch) */
	bool live_suspended;              /* suspend_path exists, as last seen by the watch */
	char suspend_reason[256];
};

/*
 * The configuration, the directory and the agreements in force for this
 * gateway, as one whole that a reload replaces. Opaque: read it through
 * the functions below.
 */
struct policy;

const struct config *policy_config(const struct policy *p);
const struct directory *policy_directory(const struct policy *p);
/* The agreements this gateway is a party to, in file-name order: i < count. */
size_t policy_agreement_count(const struct policy *p);
const struct policy_agreement *policy_agreement_at(const struct policy *p, size_t i);

/*
 * Load the tree that config_path names. Problems that make the tree unusable
 * (syntax, unknown keys, bad signatures on the directory, rollback, a party
 * missing from the directory, our keys differing from the directory's...)
 * fail the load with PIUGW_ECONFIG (or the specific code) and are all in d.
 * Conditions an operator must see but that do not stop service (expired
 * directory, agreements not in force) are added to d as "warning:" lines.
 * Nothing is written: see policy_activate().
 */
int policy_load(const char *config_path, int64_t now_ms, struct policy **outp, struct diag *d);
/*
 * The same with our public keys given (the running gateway's) instead of
 * read from gateway.certificate: piugwd, once its key holder runs, never
 * reads the secret certificate again (and Landlock keeps it from doing so).
 */
int policy_load_as(const char *config_path, int64_t now_ms, const struct keys_public *self,
		   struct policy **outp, struct diag *d);
void policy_free(struct policy **pp);

/* Record what a gateway that starts using p must remember (the directory serial). */
int policy_activate(const struct policy *p, struct diag *d);

/*
 * Build a new policy aside; only if it loads and activates, replace *current
 * with it and free the old one. Our keys are the current policy's (the
 * certificate is not read; another gateway.certificate is refused: new keys
 * take a restart). On failure *current is untouched and d says why.
 * Returns 0 or the load's error.
 */
int policy_reload(struct policy **current, const char *config_path, int64_t now_ms,
		  struct diag *d);

/*
 * The state of an agreement on the UTC day of now_ms; why (may be NULL) says
 * why not. Suspension is read from the state directory at each call, so
 * `piugw agreement suspend` takes effect at once, without a reload.
 */
enum policy_state policy_agreement_state(const struct policy_agreement *pa, int64_t now_ms,
					 char *why, size_t why_len);
const char *policy_state_name(enum policy_state s);

/* The directory that cfg names, verified with the secretariat's key. */
int policy_directory_load(const struct config *cfg, struct directory **outp, struct diag *d);

/*
 * Load one agreement file of gateway cfg->id with its signatures, checked
 * against dir, and its local suspension. Clear pa with
 * policy_agreement_clear() whatever the result.
 */
int policy_agreement_load(const struct config *cfg, const struct directory *dir, const char *path,
			  struct policy_agreement *pa, struct diag *d);
void policy_agreement_clear(struct policy_agreement *pa);

/* The agreement with this id, or NULL. */
const struct policy_agreement *policy_agreement(const struct policy *p, const char *id);

/*
 * Does member id hold at least one agreement in force with us at now_ms?
 * (Without one, a member may only propose one.) Never us.
 */
bool policy_admitted(const struct policy *p, const char *id, int64_t now_ms);
/*
 * Is id a member of the directory other than us? The public endpoint takes
 * every member (one without an agreement may only propose one).
 */
bool policy_member(const struct policy *p, const char *id);

/* Root or the gateway's own user: may do anything on the local API. */
bool policy_local_admin(uint32_t uid);

/*
 * May this local user see and decide requests held for approval? Yes for
 * a local admin, for anyone when no approvers are configured, else only
 * for a member of one of the approvers' groups (unknown users: no).
 */
bool policy_may_decide(const struct policy *p, uint32_t uid);
/*
 * May this local user authorise an unmasking (Art 12(3))? Only a member of
 * one of the authorisers' groups: not root for being root, and nobody when
 * none are configured.
 */
bool policy_may_authorise(const struct policy *p, uint32_t uid);
/*
 * May this local user search the audit log by subject over the local API?
 * A local admin, or a member of one of the auditors' groups.
 */
bool policy_may_audit(const struct policy *p, uint32_t uid);
/*
 * Is this local user one of piugwd.yaml's delegates, whose requests may
 * name the operator they act for (piugw-web)? Unknown users: no.
 */
bool policy_is_delegate(const struct policy *p, uint32_t uid);

/*
 * The agreement agreement_id with peer, for a request that is no Query (a
 * lookout's notification, an unmasking): held with peer, under hash (NULL:
 * not compared), in force at now_ms, with terms for requester -> responder
 * (*tp). 0 with *pap and *tp, or NO_AGREEMENT, AGREEMENT_MISMATCH (why: our
 * hash in hex) or NOT_IN_FORCE with why.
 */
int policy_agreement_check(const struct policy *p, const char *agreement_id, const char *peer,
			   const uint8_t *hash, const char *requester, const char *responder,
			   int64_t now_ms, const struct policy_agreement **pap,
			   const struct agreement_terms **tp, char *why, size_t n);

/* ---- rates ---- */

struct policy_rates; /* counters per agreement and direction; outlive reloads */

int policy_rates_new(struct policy_rates **outp);
void policy_rates_free(struct policy_rates **rp);

/* ---- decisions ---- */

struct policy_request {
	enum policy_direction direction;
	const char *peer;
	const char *agreement_id;      /* NULL: choose (outbound) */
	const uint8_t *agreement_hash; /* NULL: not compared */
	int purpose;                   /* vocab_purposes value */
	int offence;                   /* 1..26 for SCnn, 0 none */
	int query_type;                /* vocab_query_types value */
	bool has_justification;
	vocab_set categories;          /* requested; 0: all the agreement allows */
	uint32_t max_results;          /* requested; 0: the agreement's */
	int64_t now_ms;
	/*
	 * A lookout (LookoutPlace), judged by the terms' lookouts block: its
	 * purposes and query types; the decision's categories are what a
	 * notification may carry, approval MANUAL where notify is
	 * after_approval. Not counted against the rate.
	 */
	bool lookout;
};

struct policy_decision {
	int code;                       /* 0: allowed; else the one refusal (PIUGW_E*) */
	char detail[320];               /* why, for people and the Error detail */
	const struct policy_agreement *agreement; /* when one was found */
	const struct agreement_terms *terms;
	vocab_set categories;           /* what may be disclosed */
	uint32_t max_results;
	uint32_t mask_after_days;
	int disclosure;
	int handling_code;
	int onward_transfer;
	int approval;
	double min_score;
};

/*
 * Decide on a request. Allowed requests are counted against the
 * agreement's rate for that direction (rates may be NULL: not counted, not
 * limited). Returns the decision's code.
 */
int policy_decide(const struct policy *p, struct policy_rates *rates,
		  const struct policy_request *req, struct policy_decision *out);

/* ---- queries ---- */

/* The query type of q's criteria (vocab_query_types value), 0 if none. */
int policy_query_type(const Piugw__Query *q);
/* Fill the policy fields of req from q (a Query from a peer or the local API);
 * false, with why, when q is malformed. */
bool policy_from_query(const Piugw__Query *q, struct policy_request *req, char *why,
		       size_t why_len);

/*
 * Watch state/suspended/ with inotify so that a decision need not look at
 * the file system: returns the fd to poll (owned by p), or -1 if no watch
 * could be set up (then every decision checks the files, as without a
 * watch). When the fd is readable, call policy_watch_changed() before
 * deciding anything else: it reads the events and looks at the files again.
 */
int policy_watch(struct policy *p);
void policy_watch_changed(struct policy *p);

/* ---- local suspension ---- */

/* Suspend or resume agreement id under state_dir, at once and without signatures. */
int policy_suspend(const char *state_dir, const char *id, const char *reason, struct diag *d);
int policy_resume(const char *state_dir, const char *id, struct diag *d);

#endif /* PIUGW_POLICY_H */
