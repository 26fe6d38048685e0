/*
 * auditor.c: what piugwd does for its auditors (piugwd.yaml auditors: a
 * data protection officer, through piugw-web): every record of its audit
 * log about one person, found by the keyed digest only the key holder can
 * make, and the oversight report of a period. Both read the log's
 * segments from disk between two turns of the loop.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gw.h"
#include "num.h"
#include "piugw/error.h"
#include "report.h"

/* ---- audit search by subject ---- */

struct subject_scan {
	uint8_t digest[AUDIT_DIGEST_BYTES];
	Piugw__AuditRecord **recs; /* a ring of the newest limit */
	size_t limit, n, next;
	uint64_t scanned, matched;
};

static int
subject_cb(const Piugw__AuditRecord *r, const char *seg, void *ctx)
{
	struct subject_scan *sc = ctx;
	Piugw__AuditRecord *c;
	bool hit = false;

	(void)seg;
	sc->scanned++;
	for (size_t i = 0; i < r->n_subject_digests && !hit; i++)
		hit = r->subject_digests[i].len == AUDIT_DIGEST_BYTES &&
		      sodium_memcmp(r->subject_digests[i].data, sc->digest, AUDIT_DIGEST_BYTES) == 0;
	if (!hit)
		return 0;
	sc->matched++;
	/* A copy without what the caller has no use for: digests, hashes, signatures. */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PIUGW_ENOMEM;
	piugw__audit_record__init(c);
	c->seq = r->seq;
	c->time_ms = r->time_ms;
	c->event = r->event;
	c->purpose = r->purpose;
	c->offence = r->offence;
	c->refusal = r->refusal;
	c->record_count = r->record_count;
	c->query_type = r->query_type;
	c->outbound = r->outbound;
	c->n_categories = r->n_categories;
	c->categories = r->n_categories ? malloc(r->n_categories * sizeof(*c->categories)) : NULL;
	if (c->categories != NULL)
		memcpy(c->categories, r->categories, r->n_categories * sizeof(*c->categories));
	else
		c->n_categories = 0;
	c->peer = strdup(r->peer);
	c->agreement_id = strdup(r->agreement_id);
	c->case_reference = strdup(r->case_reference);
	c->operator_ = strdup(r->operator_);
	c->detail = strdup(r->detail);
	c->via = strdup(r->via);
	c->gateway_id = strdup("");
	if (c->peer == NULL || c->agreement_id == NULL || c->case_reference == NULL ||
	    c->operator_ == NULL || c->detail == NULL || c->via == NULL || c->gateway_id == NULL) {
		piugw__audit_record__free_unpacked(c, NULL);
		return PIUGW_ENOMEM;
	}
	if (sc->recs[sc->next] != NULL)
		piugw__audit_record__free_unpacked(sc->recs[sc->next], NULL);
	sc->recs[sc->next] = c;
	sc->next = (sc->next + 1) % sc->limit;
	if (sc->n < sc->limit)
		sc->n++;
	return 0;
}

/* Whoever looks into a person's history is in it from then on. */
static int
subject_audit(struct gw *g, uint32_t uid, uint8_t digest[AUDIT_DIGEST_BYTES], uint64_t matched,
	      bool doc)
{
	Piugw__AuditRecord rec = PIUGW__AUDIT_RECORD__INIT;
	ProtobufCBinaryData dv = {AUDIT_DIGEST_BYTES, digest};
	char who[64];

	gw_user_name(uid, who, sizeof(who));
	rec.event = PIUGW__AUDIT_EVENT__AUDIT_SUBJECT_SEARCHED;
	rec.operator_ = who;
	rec.subject_digests = &dv;
	rec.n_subject_digests = 1;
	rec.record_count = (uint32_t)(matched > UINT32_MAX ? UINT32_MAX : matched);
	rec.detail = (char *)(doc ? "by document" : "by name and date of birth");
	return gw_audit(g, &rec, NULL);
}

/*
 * Every record about one person, found by the keyed digest the key holder
 * makes: the caller (piugw-web for a DPO) never holds the audit key. The
 * scan reads the log's segments from disk between two turns of the loop.
 */
/* See gw.h. */
void
auditor_subject(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		       const Piugw__LocalAuditSubject *as)
{
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__AuditEventsReply aer = PIUGW__AUDIT_EVENTS_REPLY__INIT;
	struct subject_scan sc = {0};
	struct audit_digest_input in;
	struct diag d;
	char dir[PATH_MAX], who[64];
	int rc;
	bool doc = as->document[0] != '\0', name = as->surname[0] != '\0';

	if (!policy_may_audit(g->policy, uid)) {
		gw_user_name(uid, who, sizeof(who));
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_SENDER,
				  "%s is not in a group of auditors (piugwd.yaml auditors): only they "
				  "search the audit log by subject", who);
		return;
	}
	if (doc == name || (doc && as->issuer[0] == '\0') ||
	    (name && as->date_of_birth[0] == '\0')) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "give a document with its issuer, or a surname with a date of birth");
		return;
	}
	if (doc)
		audit_digest_input_document(as->issuer, as->document, &in);
	else
		audit_digest_input_name(as->surname, as->given_names, as->date_of_birth, &in);
	if (gw_digests(g, &in, 1, &sc.digest) != 1) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the key holder could not make the subject's digest");
		return;
	}
	sc.limit = as->limit == 0 || as->limit > 10000 ? 1000 : as->limit;
	if ((sc.recs = calloc(sc.limit, sizeof(*sc.recs))) == NULL) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		return;
	}
	diag_init(&d);
	snprintf(dir, sizeof(dir), "%s/audit", policy_config(g->policy)->state_dir);
	if ((rc = audit_scan(dir, subject_cb, &sc, &d)) != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "reading the audit log: %s%s%s",
				  piugw_strerror(rc), d.n > 0 ? ": " : "", d.n > 0 ? d.lines[0] : "");
	} else if (subject_audit(g, uid, sc.digest, sc.matched, doc) != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the audit log cannot record the search: nothing is shown");
	} else {
		/* The ring, oldest first. */
		Piugw__AuditRecord **ordered = calloc(sc.n ? sc.n : 1, sizeof(*ordered));
		if (ordered == NULL) {
			reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "out of memory");
		} else {
			size_t first = sc.n < sc.limit ? 0 : sc.next;
			for (size_t i = 0; i < sc.n; i++)
				ordered[i] = sc.recs[(first + i) % sc.limit];
			aer.records = ordered;
			aer.n_records = sc.n;
			aer.scanned = sc.scanned;
			aer.truncated = sc.matched > sc.n;
			reply.kind_case = PIUGW__LOCAL_REPLY__KIND_AUDIT_EVENTS;
			reply.audit_events = &aer;
			reply_local(g, rid, rid_len, &reply);
			free(ordered);
		}
		gw_user_name(uid, who, sizeof(who));
		gw_log(GW_INFO, "audit_subject_searched", "operator=%s scanned=%ju matched=%ju",
		       gw_esc(who), (uintmax_t)sc.scanned, (uintmax_t)sc.matched);
	}
	for (size_t i = 0; i < sc.limit; i++)
		if (sc.recs[i] != NULL)
			piugw__audit_record__free_unpacked(sc.recs[i], NULL);
	free(sc.recs);
	sodium_memzero(&in, sizeof(in));
	diag_clear(&d);
}

/*
 * The oversight report of a period, for piugw-web's DPO: the log verified,
 * counted and rendered here, between two turns of the loop (it reads the
 * whole log: `piugw audit report` on the gateway is the way for long logs).
 */
/* See gw.h. */
void
auditor_report(struct gw *g, const uint8_t *rid, size_t rid_len, uint32_t uid,
		      const Piugw__LocalAuditReport *ar)
{
	Piugw__LocalReply reply = PIUGW__LOCAL_REPLY__INIT;
	Piugw__AuditReportReply rr = PIUGW__AUDIT_REPORT_REPLY__INIT;
	struct audit_verify_report vr;
	const char *format = ar->format[0] != '\0' ? ar->format : "html";
	int64_t now = gw_now_ms(), t0 = now;
	int32_t from, to;
	char dir[PATH_MAX], who[64], *buf = NULL;
	size_t len = 0;
	struct diag d;
	int rc;

	gw_user_name(uid, who, sizeof(who));
	if (!policy_may_audit(g->policy, uid)) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_UNKNOWN_SENDER,
				  "%s is not in a group of auditors (piugwd.yaml auditors): only they "
				  "make the oversight report here", who);
		return;
	}
	if (!num_parse_date(ar->from, strlen(ar->from), &from) ||
	    (ar->to[0] != '\0' && !num_parse_date(ar->to, strlen(ar->to), &to))) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED,
				  "the period is two dates, from and to (YYYY-MM-DD)");
		return;
	}
	if (ar->to[0] == '\0')
		to = num_day_of_ms(now) - 1;
	if (to < from || (strcmp(format, "html") != 0 && strcmp(format, "csv") != 0 &&
			  strcmp(format, "json") != 0)) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_MALFORMED, "%s",
				  to < from ? "the period ends before it starts"
					    : "the format is html, csv or json");
		return;
	}
	diag_init(&d);
	snprintf(dir, sizeof(dir), "%s/audit", policy_config(g->policy)->state_dir);
	rc = report_make(dir, keys_secret_public(g->keys), (int64_t)from * 86400000,
			 ((int64_t)to + 1) * 86400000, format, now, NULL, NULL, &buf, &len, &vr,
			 &rr.first_seq, &rr.last_seq, NULL, &d);
	if (rc == PIUGW_EAUDITBROKEN) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL,
				  "the audit log does not verify (BROKEN at record %ju): no report is "
				  "made from it (piugw audit verify)", (uintmax_t)vr.bad_seq);
	} else if (rc != 0) {
		reply_local_error(g, rid, rid_len, PIUGW_WIRE_INTERNAL, "the report: %s%s%s",
				  piugw_strerror(rc), d.n > 0 ? ": " : "", d.n > 0 ? d.lines[0] : "");
	} else {
		rr.content.data = (uint8_t *)buf;
		rr.content.len = len;
		rr.media_type = (char *)(strcmp(format, "html") == 0  ? "text/html; charset=utf-8"
					 : strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8"
								      : "application/json");
		rr.verdict = (char *)(vr.verdict == AUDIT_COMPLETE ? "complete" : "intact up to its last record (the log is open)");
		reply.kind_case = PIUGW__LOCAL_REPLY__KIND_AUDIT_REPORT;
		reply.audit_report = &rr;
		reply_local(g, rid, rid_len, &reply);
		gw_log(GW_INFO, "audit_report_made", "operator=%s format=%s records=%ju-%ju ms=%lld",
		       gw_esc(who), format, (uintmax_t)rr.first_seq, (uintmax_t)rr.last_seq,
		       (long long)(gw_now_ms() - t0));
	}
	free(buf);
	diag_clear(&d);
}
