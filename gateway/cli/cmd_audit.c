/*
 * cmd_audit.c: piugw audit verify|show|subject|export|purge
 *
 * The oversight body's view of the audit log: verification with only the
 * gateway's public certificate, filtered listings, every event about one
 * person (recomputing the keyed digests), self-contained exports, and
 * retention.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* asprintf, memmem */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "audit.h"
#include "body.pb-c.h"
#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"
#include "report.h"
#include "state.h"
#include "vocab.h"

static void
audit_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw audit verify  [-c CONFIG | --dir DIR --cert FILE.cert] [--excerpt]\n"
		"                            [--witness FILE]... [--json]\n"
		"       piugw audit show    [-c CONFIG | --dir DIR] [filters] [--json]\n"
		"       piugw audit subject [-c CONFIG] (--document N --issuer XX |\n"
		"                            --name SURNAME [--given NAMES] --dob YYYY-MM-DD) [--json]\n"
		"       piugw audit export  [-c CONFIG] --out DIR [--since DATE] [--until DATE]\n"
		"       piugw audit purge   [-c CONFIG] [--older-than-days N]\n"
		"       piugw audit restore [-c CONFIG] --reason TEXT\n"
		"       piugw audit witnessed [-c CONFIG] --peer ID [--json]\n"
		"       piugw audit report  [-c CONFIG | --dir DIR --cert FILE.cert] --from DATE\n"
		"                            [--to DATE] [--format html|csv|json] [--out FILE]\n\n"
		"  verify   check every record, the chain and every checkpoint signature, offline,\n"
		"           with only the gateway's public certificate, and how the log starts and\n"
		"           ends. Verdicts and exit status:\n"
		"             complete and intact (0): every record verifies and the log ends with\n"
		"               the signed checkpoint of a clean stop;\n"
		"             intact up to record N, end not proven (3): every record verifies but\n"
		"               the end is not a clean stop: the gateway runs (or this is a copy of\n"
		"               a running log), it crashed, or records after N were cut;\n"
		"             BROKEN (1): a record was changed, removed, inserted, or the log starts\n"
		"               later than record 1 where no recorded purge left it; names the\n"
		"               first record where it breaks.\n"
		"           With -c it also checks the log against the newest record the gateway\n"
		"           made durable (state.db): a log cut back to an earlier clean stop is\n"
		"           BROKEN there. --excerpt: the folder is an export of part of a log\n"
		"           (its start needs no purge record). --witness FILE (any number): what\n"
		"           a partner witnessed of this log (its 'audit witnessed --json'); a log\n"
		"           that ends before a witnessed checkpoint, or holds another record\n"
		"           there, is BROKEN.\n"
		"  show     list events; filters: --since DATE --until DATE (YYYY-MM-DD, inclusive)\n"
		"           --peer ID --agreement ID --event NAME --refusal CODE --case REF\n"
		"  subject  every event about one person: who asked, who received what, when\n"
		"           (needs the gateway's audit key, audit.key_file of piugwd.yaml)\n"
		"  export   a verifiable bundle of the segments covering a time range, with the\n"
		"           public certificate, for an oversight body\n"
		"  purge    remove segments older than the retention (default from piugwd.yaml),\n"
		"           leaving a record of the erasure; a running piugwd does it itself,\n"
		"           pausing its work while it reads the oldest segments\n"
		"  restore  after an older copy of the log was put back on purpose (from a\n"
		"           backup), let the gateway start again: records that the restore lost\n"
		"           and why (--reason) go on the log, and numbering goes on past every\n"
		"           record ever made durable; with the gateway stopped, as its user\n"
		"  witnessed  the checkpoints of partner ID's audit log that this gateway\n"
		"           witnessed in Hello exchanges, signed by ID: with --json, the file\n"
		"           that 'verify --witness' checks ID's log against\n"
		"  report   the oversight report of a period (DATE: YYYY-MM-DD, inclusive; --to\n"
		"           defaults to today): exchanges per partner by purpose, query type and\n"
		"           outcome, refusals by code and side, answer and approval times,\n"
		"           disclosures by category, lookouts, imports and erasures, agreement\n"
		"           and key changes, partners' witness. Only from a log that verifies\n"
		"           (exit 1 and no report otherwise, naming the break); it says which\n"
		"           records it covers and the chain hash of the last. No personal data.\n"
		"           --format html (default: one self-contained file, charts included),\n"
		"           csv, or json (doc/oversight-report.md); --out FILE, else stdout\n\n"
		"  -c, --config FILE  piugwd.yaml (default %s)\n"
		"  --json             machine-readable output\n",
		CLI_DEFAULT_CONFIG);
}

struct aopts {
	const char *config, *dir, *cert, *out;
	const char *peer, *agreement, *event, *refusal, *case_ref;
	const char *document, *issuer, *name, *given, *dob, *reason;
	const char *witness[32];
	size_t nwitness;
	int64_t since_ms, until_ms;
	uint64_t older_days;
	bool json, have_older, excerpt;
	int64_t from_ms, to_ms;       /* report: 0 if not given */
	const char *format;
};

/* Event names as users type them: "query_received". */
static int
event_by_name(const char *s)
{
	char buf[64];

	for (int e = 1; e <= 60; e++) {
		const char *n = audit_event_name(e);
		size_t i;
		if (strcmp(n, "?") == 0)
			continue;
		for (i = 0; n[i] && i + 1 < sizeof(buf); i++)
			buf[i] = n[i] == ' ' ? '_' : n[i];
		buf[i] = '\0';
		if (strcmp(buf, s) == 0 || strcmp(n, s) == 0)
			return e;
	}
	return -1;
}

static int
refusal_by_name(const char *s)
{
	for (int w = PIUGW_WIRE_MALFORMED; w <= PIUGW_WIRE_LAST; w++)
		if (strcmp(piugw_wire_error_name(w), s) == 0)
			return w;
	return -1;
}

static bool
parse_day(const char *s, int64_t *ms)
{
	int32_t day;

	if (!num_parse_date(s, strlen(s), &day))
		return false;
	*ms = (int64_t)day * 86400000;
	return true;
}

/* Where the log and the public certificate are, from the options or piugwd.yaml. */
static int
locate(struct aopts *o, struct config **cfgp, char **dirp, char **certp, struct diag *d)
{
	int rc;

	*dirp = NULL;
	*certp = NULL;
	if (o->dir != NULL) {
		*dirp = strdup(o->dir);
		*certp = o->cert != NULL ? strdup(o->cert) : NULL;
		return 0;
	}
	if ((rc = config_load(o->config, cfgp, d)) != 0)
		return rc;
	*dirp = cli_concat((*cfgp)->state_dir, "/audit");
	if (o->cert != NULL) {
		*certp = strdup(o->cert);
	} else if ((*certp = strdup((*cfgp)->certificate)) != NULL) {
		/*
		 * The public certificate: ID.cert beside ID.cert_secret, or in the
		 * configuration folder's certs/ (the key files kept apart); else
		 * the secret certificate, whose public keys verify alike (but
		 * which an export refuses to copy).
		 */
		size_t l = strlen(*certp);
		if (l > 7 && strcmp(*certp + l - 7, "_secret") == 0) {
			(*certp)[l - 7] = '\0';
			if (access(*certp, F_OK) != 0) {
				const char *slash = strrchr(o->config, '/');
				char *alt = NULL;
				if (asprintf(&alt, "%.*s/certs/%s.cert",
					     slash != NULL ? (int)(slash - o->config) : 1,
					     slash != NULL ? o->config : ".", (*cfgp)->id) > 0 &&
				    access(alt, F_OK) == 0) {
					free(*certp);
					*certp = alt;
				} else {
					free(alt);
					(*certp)[l - 7] = '_';
				}
			}
		}
	}
	return 0;
}

#define EXIT_UNPROVEN 3 /* intact up to N, the end not proven */

/*
 * With a configuration, the gateway's own word on how far its log went:
 * the anchor in state.db. A log behind it or forking from it is broken.
 */
static void
verify_anchor(const struct config *cfg, const char *dir, struct audit_verify_report *rep,
	      uint64_t *anchor_seqp, struct diag *d)
{
	uint8_t want[32], got[32];
	char *path = cli_concat(cfg->state_dir, "/state.db");
	int rc;

	*anchor_seqp = 0;
	if (path == NULL || state_anchor_load(path, anchor_seqp, want, d) != 0 || *anchor_seqp == 0)
		goto out;
	if (*anchor_seqp > rep->last_seq) {
		rep->verdict = AUDIT_BROKEN;
		rep->bad_seq = rep->last_seq + 1;
		snprintf(rep->problem, sizeof(rep->problem), "the log ends at record %ju, but the "
			 "gateway had made record %ju durable (state.db): records were cut from its "
			 "end", (uintmax_t)rep->last_seq, (uintmax_t)*anchor_seqp);
	} else if (*anchor_seqp >= rep->first_seq &&
		   ((rc = audit_record_hash(dir, *anchor_seqp, got, d)) != 0 ||
		    sodium_memcmp(got, want, 32) != 0)) {
		rep->verdict = AUDIT_BROKEN;
		rep->bad_seq = *anchor_seqp;
		snprintf(rep->problem, sizeof(rep->problem), "record %ju is not the record %ju the "
			 "gateway made durable (state.db): the log was replaced by another one",
			 (uintmax_t)*anchor_seqp, (uintmax_t)*anchor_seqp);
	}
out:
	free(path);
}

static int
hex_field(json_t *o, const char *key, uint8_t *out, size_t len)
{
	const char *h = json_string_value(json_object_get(o, key));
	size_t got = 0;

	return h != NULL && sodium_hex2bin(out, len, h, strlen(h), NULL, &got, NULL) == 0 &&
		       got == len
		       ? 0
		       : -1;
}

/*
 * What a partner witnessed of this log (its 'audit witnessed --json'): each
 * checkpoint must be one this gateway signed, and the log must still hold
 * it. A file that is not such a witness is an error (2), not a verdict.
 */
static int
verify_witness(const char *file, const char *dir, const struct keys_public *pub,
	       struct audit_verify_report *rep, struct diag *d)
{
	json_error_t jerr;
	json_t *root = NULL, *list, *it;
	const char *gw, *by;
	uint8_t *buf = NULL;
	size_t i, len = 0;
	int ret = PIUGW_EINVAL;

	/* Through fileio: a FIFO or a device named here is refused, not waited on. */
	if (fileio_read(file, 16u << 20, 0, &buf, &len, d) != 0)
		return PIUGW_EINVAL;
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	fileio_free(buf, len, 0);
	if (root == NULL) {
		diag_add(d, "%s:%d: not a witness file (%s)", file, jerr.line, jerr.text);
		return PIUGW_EINVAL;
	}
	gw = json_string_value(json_object_get(root, "gateway"));
	by = json_string_value(json_object_get(root, "witness"));
	list = json_object_get(root, "checkpoints");
	if (gw == NULL || by == NULL || !json_is_array(list)) {
		diag_add(d, "%s: not a witness file: it needs gateway, witness and checkpoints (made "
			 "by 'piugw audit witnessed --peer ID --json')", file);
		goto out;
	}
	if (strcmp(gw, pub->id) != 0) {
		diag_add(d, "%s: witnesses %.40s's log, not %s's", file, gw, pub->id);
		goto out;
	}
	json_array_foreach(list, i, it)
	{
		struct audit_checkpoint cp;
		json_t *seq = json_object_get(it, "seq"), *t = json_object_get(it, "time_ms"),
		       *first = json_object_get(it, "first_seq");
		char why[300];
		memset(&cp, 0, sizeof(cp));
		snprintf(cp.gateway_id, sizeof(cp.gateway_id), "%s", pub->id);
		if (!json_is_integer(seq) || !json_is_integer(t) || !json_is_integer(first) ||
		    json_integer_value(seq) <= 0 || json_integer_value(first) < 0 ||
		    hex_field(it, "head_hash", cp.head, 32) != 0 ||
		    hex_field(it, "signature", cp.signature, 64) != 0) {
			diag_add(d, "%s: checkpoint %zu is incomplete (seq, time_ms, head_hash, "
				 "first_seq, signature)", file, i + 1);
			goto out;
		}
		cp.seq = (uint64_t)json_integer_value(seq);
		cp.time_ms = json_integer_value(t);
		cp.first_seq = (uint64_t)json_integer_value(first);
		if (audit_checkpoint_verify(&cp, pub->sign_pk) != 0) {
			diag_add(d, "%s: checkpoint %ju does not verify with %s's key: not what %s "
				 "signed", file, (uintmax_t)cp.seq, pub->id, pub->id);
			goto out;
		}
		int rc = audit_check_witnessed_dir(dir, &cp, why, sizeof(why), d);
		if (rc == PIUGW_EAUDITBEHIND) {
			rep->verdict = AUDIT_BROKEN;
			rep->bad_seq = cp.seq;
			snprintf(rep->problem, sizeof(rep->problem), "%.40s witnessed it: %.250s", by,
				 why);
			break;
		}
		if (rc != 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static const char *
verdict_name(int v)
{
	return v == AUDIT_COMPLETE ? "complete" : v == AUDIT_UNPROVEN ? "unproven_end" : "broken";
}

static int
cmd_verify(struct aopts *o)
{
	struct config *cfg = NULL;
	char *dir = NULL, *cert = NULL;
	struct keys_public pub;
	struct audit_verify_report rep;
	struct diag d;
	uint64_t anchor = 0;
	int rc, ret = CLI_EXIT_USAGE;

	diag_init(&d);
	if ((rc = locate(o, &cfg, &dir, &cert, &d)) != 0 || cert == NULL) {
		if (cert == NULL && rc == 0)
			diag_add(&d, "give the gateway's public certificate with --cert");
		cli_print_diag("audit verify", &d);
		goto out;
	}
	if ((rc = keys_public_load(cert, &pub, &d)) != 0) {
		cli_print_diag("audit verify", &d);
		goto out;
	}
	rc = audit_verify(dir, &pub, o->excerpt ? AUDIT_VERIFY_EXCERPT : 0, &rep, &d);
	if (rc != 0 && rc != PIUGW_EAUDITBROKEN) {
		cli_print_diag("audit verify", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	if (rc == 0 && cfg != NULL)
		verify_anchor(cfg, dir, &rep, &anchor, &d);
	for (size_t i = 0; i < o->nwitness && rep.verdict != AUDIT_BROKEN; i++)
		if ((rc = verify_witness(o->witness[i], dir, &pub, &rep, &d)) != 0) {
			cli_print_diag("audit verify", &d);
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	ret = rep.verdict == AUDIT_COMPLETE   ? CLI_EXIT_OK
	      : rep.verdict == AUDIT_UNPROVEN ? EXIT_UNPROVEN
					      : CLI_EXIT_FAILED;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "dir", dir, "gateway", pub.id, "verdict",
				      verdict_name(rep.verdict), "intact",
				      rep.verdict != AUDIT_BROKEN, "end_proven",
				      rep.verdict == AUDIT_COMPLETE, "records",
				      (json_int_t)rep.records, "first_seq", (json_int_t)rep.first_seq,
				      "last_seq", (json_int_t)rep.last_seq, "checkpoints",
				      (json_int_t)rep.checkpoints, "last_checkpoint_seq",
				      (json_int_t)rep.last_checkpoint_seq, "unsigned_tail",
				      (json_int_t)rep.unsigned_tail);
		if (anchor > 0)
			json_object_set_new(j, "anchor_seq", json_integer((json_int_t)anchor));
		if (rep.erased_before > 0)
			json_object_set_new(j, "erased_before_seq",
					    json_integer((json_int_t)rep.erased_before));
		if (rep.restores > 0)
			json_object_set_new(j, "restores", json_integer((json_int_t)rep.restores));
		if (rep.verdict == AUDIT_BROKEN) {
			json_object_set_new(j, "bad_seq", json_integer((json_int_t)rep.bad_seq));
			json_object_set_new(j, "problem", json_string(rep.problem));
		}
		if (cli_json_print(j) != 0)
			ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (rep.verdict == AUDIT_BROKEN) {
		printf("%s: BROKEN at record %ju: %s\n", dir, (uintmax_t)rep.bad_seq, rep.problem);
		printf("  %ju records verified before it\n", (uintmax_t)rep.records);
		goto out;
	}
	if (rep.verdict == AUDIT_COMPLETE)
		printf("%s: complete and intact\n", dir);
	else
		printf("%s: intact up to record %ju, but the end is not proven\n", dir,
		       (uintmax_t)rep.last_seq);
	printf("  gateway      %s\n  records      %ju (%ju to %ju)\n"
	       "  checkpoints  %ju signed, the last at record %ju\n",
	       pub.id, (uintmax_t)rep.records, (uintmax_t)rep.first_seq, (uintmax_t)rep.last_seq,
	       (uintmax_t)rep.checkpoints, (uintmax_t)rep.last_checkpoint_seq);
	if (rep.erased_before > 0)
		printf("  start        records before %ju were erased by a recorded purge\n",
		       (uintmax_t)rep.erased_before);
	else if (rep.first_seq > 1)
		printf("  start        an excerpt: says nothing of records before %ju\n",
		       (uintmax_t)rep.first_seq);
	if (rep.restores > 0 && rep.lost_to > 0)
		printf("  restores     %ju recorded; the last lost records %ju to %ju\n",
		       (uintmax_t)rep.restores, (uintmax_t)rep.lost_from, (uintmax_t)rep.lost_to);
	else if (rep.restores > 0)
		printf("  restores     %ju recorded\n", (uintmax_t)rep.restores);
	if (anchor > 0)
		printf("  state.db     the gateway made record %ju durable: the log reaches it\n",
		       (uintmax_t)anchor);
	if (rep.verdict == AUDIT_COMPLETE)
		printf("  end          the signed checkpoint of a clean stop (record %ju)\n",
		       (uintmax_t)rep.last_seq);
	else
		printf("  end          not a clean stop: the gateway runs (or this is a copy of a "
		       "running log), it crashed, or records after %ju were cut%s\n",
		       (uintmax_t)rep.last_seq,
		       rep.unsigned_tail > 0 ? "; the records after the last checkpoint are "
					       "chained but not yet signed"
					     : "");
out:
	free(dir);
	free(cert);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/* ---- show and subject ---- */

struct show_ctx {
	struct aopts *o;
	int event, refusal;
	bool subject;
	uint8_t digest[AUDIT_DIGEST_BYTES];
	json_t *list;
	unsigned n;
};

static void
print_record(struct show_ctx *c, const Piugw__AuditRecord *r)
{
	char when[32], cats[256] = "";
	time_t t = (time_t)(r->time_ms / 1000);
	struct tm tm;
	size_t o = 0;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (size_t i = 0; i < r->n_categories && o + 1 < sizeof(cats); i++)
		o += (size_t)snprintf(cats + o, sizeof(cats) - o, "%s%s", i ? "," : "",
				      vocab_name(vocab_categories, (int)r->categories[i]));
	if (c->list != NULL) {
		json_t *j = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)r->seq, "time", when,
				      "event", audit_event_name(r->event));
		if (r->peer[0])
			json_object_set_new(j, "peer", json_string(r->peer));
		if (r->agreement_id[0])
			json_object_set_new(j, "agreement", json_string(r->agreement_id));
		if (r->case_reference[0])
			json_object_set_new(j, "case", json_string(r->case_reference));
		if (r->operator_[0])
			json_object_set_new(j, "operator", json_string(r->operator_));
		if (r->via[0])
			json_object_set_new(j, "via", json_string(r->via));
		if (r->purpose)
			json_object_set_new(j, "purpose",
					    json_string(vocab_name(vocab_purposes, (int)r->purpose)));
		if (r->refusal)
			json_object_set_new(j, "refusal", json_string(piugw_wire_error_name(
									(enum piugw_wire_error)r->refusal)));
		if (r->n_categories)
			json_object_set_new(j, "categories", json_string(cats));
		if (r->record_count)
			json_object_set_new(j, "records", json_integer(r->record_count));
		if (r->detail[0])
			json_object_set_new(j, "detail", json_string(r->detail));
		if (r->witnessed_seq)
			json_object_set_new(j, "witnessed_seq", json_integer((json_int_t)r->witnessed_seq));
		if (r->message_id.len == 16) {
			char hex[33];
			sodium_bin2hex(hex, sizeof(hex), r->message_id.data, r->message_id.len);
			json_object_set_new(j, "message_id", json_string(hex));
		}
		json_array_append_new(c->list, j);
		return;
	}
	printf("%8ju  %s  %-18s %-7s %-16s %-12s", (uintmax_t)r->seq, when,
	       audit_event_name(r->event), r->peer[0] ? cli_safe(r->peer) : "-",
	       r->agreement_id[0] ? cli_safe(r->agreement_id) : "-",
	       r->case_reference[0] ? cli_safe(r->case_reference) : "-");
	if (r->refusal)
		printf(" %s", piugw_wire_error_name((enum piugw_wire_error)r->refusal));
	if (r->n_categories)
		printf(" disclosed %s (%u records)", cats, r->record_count);
	if (r->operator_[0])
		printf(" by %s", cli_safe(r->operator_));
	if (r->via[0])
		printf(" (%s)", cli_safe(r->via));
	if (r->detail[0])
		printf(" %s", cli_safe(r->detail));
	if (r->witnessed_seq)
		printf(" its checkpoint %ju", (uintmax_t)r->witnessed_seq);
	putchar('\n');
}

static int
show_cb(const Piugw__AuditRecord *r, const char *seg, void *ctx)
{
	struct show_ctx *c = ctx;
	struct aopts *o = c->o;

	(void)seg;
	if (o->since_ms && r->time_ms < o->since_ms)
		return 0;
	if (o->until_ms && r->time_ms >= o->until_ms + 86400000)
		return 0;
	if (o->peer && strcmp(r->peer, o->peer) != 0)
		return 0;
	if (o->agreement && strcmp(r->agreement_id, o->agreement) != 0)
		return 0;
	if (c->event > 0 && (int)r->event != c->event)
		return 0;
	if (c->refusal > 0 && (int)r->refusal != c->refusal)
		return 0;
	if (o->case_ref && strcmp(r->case_reference, o->case_ref) != 0)
		return 0;
	if (c->subject) {
		bool hit = false;
		for (size_t i = 0; i < r->n_subject_digests && !hit; i++)
			hit = r->subject_digests[i].len == AUDIT_DIGEST_BYTES &&
			      sodium_memcmp(r->subject_digests[i].data, c->digest,
					    AUDIT_DIGEST_BYTES) == 0;
		if (!hit)
			return 0;
	}
	c->n++;
	print_record(c, r);
	return 0;
}

static int
cmd_show(struct aopts *o, bool subject)
{
	const char *verb = subject ? "audit subject" : "audit show";
	struct config *cfg = NULL;
	char *dir = NULL, *cert = NULL;
	struct show_ctx c = {.o = o, .event = -1, .refusal = -1, .subject = subject};
	struct diag d;
	int rc, ret = CLI_EXIT_USAGE;

	diag_init(&d);
	if (o->event != NULL && (c.event = event_by_name(o->event)) < 0)
		return cli_usage(verb, "unknown event '%s' (e.g. query_received, refused, answered)",
				 o->event);
	if (o->refusal != NULL && (c.refusal = refusal_by_name(o->refusal)) < 0)
		return cli_usage(verb, "unknown refusal code '%s' (e.g. PURPOSE_NOT_ALLOWED)",
				 o->refusal);
	if (subject) {
		bool doc = o->document != NULL, name = o->name != NULL;
		if (doc == name || (doc && o->issuer == NULL) || (name && o->dob == NULL))
			return cli_usage(verb, "give --document N --issuer XX, or --name SURNAME "
					       "--dob YYYY-MM-DD (and --given NAMES)");
	}
	if ((rc = locate(o, &cfg, &dir, &cert, &d)) != 0) {
		cli_print_diag(verb, &d);
		goto out;
	}
	if (subject) {
		uint8_t key[AUDIT_KEY_BYTES];
		if (cfg == NULL) {
			ret = cli_usage(verb, "the audit key is found through piugwd.yaml: use -c");
			goto out;
		}
		if ((rc = audit_key_load(cfg->audit_key_file, false, key, &d)) != 0) {
			cli_print_diag(verb, &d);
			ret = cli_exit_for(rc);
			goto out;
		}
		if (o->document != NULL)
			audit_digest_document(key, o->issuer, o->document, c.digest);
		else
			audit_digest_name(key, o->name, o->given, o->dob, c.digest);
		sodium_memzero(key, sizeof(key));
	}
	if (o->json)
		c.list = json_array();
	else
		printf("%8s  %-20s  %-18s %-7s %-16s %-12s\n", "seq", "time (UTC)", "event", "peer",
		       "agreement", "case");
	rc = audit_scan(dir, show_cb, &c, &d);
	if (rc != 0) {
		cli_print_diag(verb, &d);
		json_decref(c.list);
		ret = cli_exit_for(rc);
		goto out;
	}
	if (o->json) {
		ret = cli_json_print(json_pack("{s:s, s:I, s:o}", "dir", dir, "count",
					       (json_int_t)c.n, "events", c.list));
	} else {
		printf("%u event%s\n", c.n, c.n == 1 ? "" : "s");
		ret = CLI_EXIT_OK;
	}
out:
	free(dir);
	free(cert);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/* ---- report ---- */

/* report_make's check of the log against the anchor state.db keeps (verify_anchor). */
static void
report_anchor(void *ctx, const char *dir, struct audit_verify_report *rep, struct diag *d)
{
	uint64_t anchor = 0;

	verify_anchor(ctx, dir, rep, &anchor, d);
}

static int
cmd_report(struct aopts *o)
{
	struct config *cfg = NULL;
	char *dir = NULL, *cert = NULL, *buf = NULL;
	struct keys_public pub;
	struct audit_verify_report rep;
	struct diag d;
	json_t *j = NULL;
	uint64_t first = 0, last = 0;
	size_t len = 0;
	const char *format = o->format != NULL ? o->format : "html";
	int64_t to = o->to_ms != 0 ? o->to_ms : (cli_now_ms() / 86400000) * 86400000;
	int rc, ret = CLI_EXIT_USAGE;

	diag_init(&d);
	if (o->from_ms == 0 && o->since_ms == 0)
		return cli_usage("audit report", "name the period's first day with --from YYYY-MM-DD");
	if (o->from_ms == 0)
		o->from_ms = o->since_ms;
	if (o->to_ms == 0 && o->until_ms != 0)
		to = o->until_ms;
	if (to < o->from_ms)
		return cli_usage("audit report", "--to is before --from");
	if (strcmp(format, "html") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return cli_usage("audit report", "--format is html, csv or json, not '%s'", format);
	if ((rc = locate(o, &cfg, &dir, &cert, &d)) != 0 || cert == NULL) {
		if (cert == NULL && rc == 0)
			diag_add(&d, "give the gateway's public certificate with --cert");
		cli_print_diag("audit report", &d);
		goto out;
	}
	if ((rc = keys_public_load(cert, &pub, &d)) != 0) {
		cli_print_diag("audit report", &d);
		goto out;
	}
	rc = report_make(dir, &pub, o->from_ms, to + 86400000, format, cli_now_ms(),
			 cfg != NULL ? report_anchor : NULL, cfg, &buf, &len, &rep, &first, &last, &j,
			 &d);
	if (rc == PIUGW_EAUDITBROKEN) {
		fprintf(stderr, "piugw audit report: %s: BROKEN at record %ju: %s; no report is made "
			"from a log that does not verify (piugw audit verify)\n", dir,
			(uintmax_t)rep.bad_seq, cli_safe(rep.problem));
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if (rc != 0) {
		cli_print_diag("audit report", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	if (o->out != NULL) {
		if ((rc = fileio_replace(o->out, buf, len, 0644, &d)) != 0) {
			cli_print_diag("audit report", &d);
			ret = cli_exit_for(rc);
			goto out;
		}
	} else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if (o->json && o->out != NULL)
		ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "out", o->out,
					       "format", format, "verdict",
					       json_string_value(json_object_get(
						       json_object_get(j, "log"), "verdict")),
					       "first_seq", (json_int_t)first, "last_seq",
					       (json_int_t)last, "head_hash",
					       json_string_value(json_object_get(
						       json_object_get(j, "log"), "head_hash"))));
	else {
		if (o->out != NULL)
			printf("%s: the %s report of records %ju to %ju (%s)\n", o->out, format,
			       (uintmax_t)first, (uintmax_t)last,
			       json_string_value(json_object_get(json_object_get(j, "log"),
								 "verdict")));
		ret = CLI_EXIT_OK;
	}
out:
	free(buf);
	json_decref(j);
	free(dir);
	free(cert);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/* ---- export ---- */

/* Does the file at path hold a secret key (a .cert_secret)? Unreadable: treated as one. */
static bool
is_secret_cert(const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0;
	struct diag d;
	bool secret;

	diag_init(&d);
	if (fileio_read(path, KEYS_FILE_MAX, 0, &text, &len, &d) != 0) {
		diag_clear(&d);
		return true;
	}
	secret = memmem(text, len, "secret-key", 10) != NULL;
	sodium_memzero(text, len);
	fileio_free(text, len, 0);
	diag_clear(&d);
	return secret;
}

struct range_ctx {
	int64_t since, until;
	char *first_seg, *last_seg; /* segments holding records in range */
	char *cur;
	uint64_t records;
};

static int
range_cb(const Piugw__AuditRecord *r, const char *seg, void *ctx)
{
	struct range_ctx *c = ctx;

	if (r->time_ms < c->since || (c->until && r->time_ms >= c->until))
		return 0;
	if (c->first_seg == NULL)
		c->first_seg = strdup(seg);
	if (c->last_seg == NULL || strcmp(c->last_seg, seg) != 0) {
		free(c->last_seg);
		c->last_seg = strdup(seg);
	}
	c->records++;
	return 0;
}

static int
copy_file(const char *from, const char *to, uint8_t hash[32], struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if ((ret = fileio_read(from, (size_t)1 << 34, 0, &buf, &len, d)) != 0)
		return ret;
	crypto_generichash(hash, 32, buf, len, NULL, 0);
	ret = fileio_create_excl(to, 0644, buf, len, d);
	fileio_free(buf, len, 0);
	return ret;
}

static int
cmd_export(struct aopts *o)
{
	struct config *cfg = NULL;
	char *dir = NULL, *cert = NULL, **segs = NULL;
	size_t n = 0;
	struct range_ctx rc_ = {.since = o->since_ms,
				.until = o->until_ms ? o->until_ms + 86400000 : 0};
	struct diag d;
	FILE *man = NULL;
	int rc, ret = CLI_EXIT_USAGE;
	bool copying = false;

	diag_init(&d);
	if (o->out == NULL)
		return cli_usage("audit export", "--out DIR is required");
	if ((rc = locate(o, &cfg, &dir, &cert, &d)) != 0 || cert == NULL) {
		cli_print_diag("audit export", &d);
		goto out;
	}
	if ((rc = audit_scan(dir, range_cb, &rc_, &d)) != 0 ||
	    (rc = audit_segments(dir, &segs, &n, &d)) != 0) {
		cli_print_diag("audit export", &d);
		goto out;
	}
	if (rc_.records == 0) {
		fprintf(stderr, "piugw audit export: no records in that range\n");
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if (mkdir(o->out, 0700) != 0) {
		fprintf(stderr, "piugw audit export: cannot create %s: %s (it must not exist yet)\n",
			o->out, strerror(errno));
		goto out;
	}
	char path[4096];
	uint8_t h[32];
	char hex[65];
	const char *cb = strrchr(cert, '/') != NULL ? strrchr(cert, '/') + 1 : cert;
	snprintf(path, sizeof(path), "%s/MANIFEST", o->out);
	if ((man = fopen(path, "wx")) == NULL)
		goto out;
	fprintf(man, "PIU gateway audit export\nrecords in range: %ju\n", (uintmax_t)rc_.records);
	snprintf(path, sizeof(path), "%s/%s", o->out, cb);
	if (is_secret_cert(cert)) {
		diag_add(&d, "%s is a secret certificate: a bundle carries the public one only "
			     "(ID.cert); give it with --cert", cert);
		goto fail;
	}
	if (copy_file(cert, path, h, &d) != 0)
		goto fail;
	sodium_bin2hex(hex, sizeof(hex), h, 32);
	fprintf(man, "certificate %s blake2b-256 %s\n", cb, hex);
	/* Whole segments from the first to the last that hold records in range. */
	for (size_t k = 0; k < n; k++) {
		const char *base = strrchr(segs[k], '/') + 1;
		if (strcmp(segs[k], rc_.first_seg) == 0)
			copying = true;
		if (!copying)
			continue;
		snprintf(path, sizeof(path), "%s/%s", o->out, base);
		if (copy_file(segs[k], path, h, &d) != 0)
			goto fail;
		sodium_bin2hex(hex, sizeof(hex), h, 32);
		fprintf(man, "segment %s blake2b-256 %s\n", base, hex);
		if (strcmp(segs[k], rc_.last_seg) == 0)
			break;
	}
	fprintf(man, "verify: piugw audit verify --excerpt --dir . --cert %s\n", cb);
	if (fclose(man) != 0) {
		man = NULL;
		goto fail;
	}
	man = NULL;
	printf("%s: %ju records in range, with the segments around them and %s\n"
	       "verify it with: piugw audit verify --excerpt --dir %s --cert %s/%s\n",
	       o->out, (uintmax_t)rc_.records, cb, o->out, o->out, cb);
	ret = CLI_EXIT_OK;
	goto out;
fail:
	cli_print_diag("audit export", &d);
	ret = CLI_EXIT_USAGE;
out:
	if (man != NULL)
		fclose(man);
	free(rc_.first_seg);
	free(rc_.last_seg);
	audit_segments_free(segs, n);
	free(dir);
	free(cert);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

static int
cmd_purge(struct aopts *o)
{
	struct config *cfg = NULL;
	struct keys_secret *k = NULL;
	struct audit_log *log = NULL;
	struct diag d;
	char *dir = NULL;
	unsigned removed = 0;
	uint64_t days;
	int rc, ret = CLI_EXIT_USAGE;

	diag_init(&d);
	if ((rc = config_load(o->config, &cfg, &d)) != 0) {
		cli_print_diag("audit purge", &d);
		goto out;
	}
	if (!cli_as_gateway_user(cfg, "audit purge"))
		goto out;
	if ((rc = keys_secret_load(cfg->certificate, &k, &d)) != 0) {
		cli_print_diag("audit purge", &d);
		goto out;
	}
	days = o->have_older ? o->older_days : cfg->audit_retention_days;
	if ((dir = cli_concat(cfg->state_dir, "/audit")) == NULL)
		goto out;
	struct audit_opts ao = {.dir = dir, .signer = k};
	if ((rc = cli_audit_open(cfg, &ao, &log, &d)) == PIUGW_EAUDITBUSY) {
		/* The gateway runs and alone writes the log: it purges, between two turns. */
		Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
		Piugw__LocalAuditPurge ap = PIUGW__LOCAL_AUDIT_PURGE__INIT;
		Piugw__LocalReply *rep = NULL;
		ap.older_than_days = (uint32_t)days;
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_AUDIT_PURGE;
		req.audit_purge = &ap;
		if ((ret = cli_call("audit purge", o->config, NULL, &req, 600000, &rep)) != 0)
			goto out;
		removed = rep->kind_case == PIUGW__LOCAL_REPLY__KIND_AUDIT_PURGE
				  ? rep->audit_purge->segments_removed
				  : 0;
		piugw_client_reply_free(&rep);
	} else if (rc != 0 ||
		   (rc = audit_purge(log, cli_now_ms() - (int64_t)days * 86400000, &removed, &d)) !=
			   0) {
		cli_print_diag("audit purge", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	printf("%s: removed %u segment%s older than %ju days%s\n", dir, removed,
	       removed == 1 ? "" : "s", (uintmax_t)days,
	       removed ? "; the erasure is recorded in the log" : "");
	ret = CLI_EXIT_OK;
out:
	if (log != NULL && cli_audit_close(cfg, &log) != 0 && ret == CLI_EXIT_OK)
		ret = CLI_EXIT_USAGE;
	keys_secret_free(&k);
	free(dir);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/*
 * An older copy of the log was put back on purpose: the gateway refuses to
 * start on it (audit_open), and this is how an operator says so, on the
 * record, as the gateway's user, with the gateway stopped.
 */
static int
cmd_restore(struct aopts *o)
{
	struct config *cfg = NULL;
	struct keys_secret *k = NULL;
	struct audit_log *log = NULL;
	struct diag d;
	char *dir = NULL, who[64];
	int rc, ret = CLI_EXIT_USAGE;

	if (o->reason == NULL || o->reason[0] == '\0')
		return cli_usage("audit restore", "--reason TEXT is required: why an older copy "
				 "of the log was put back (it goes on the log)");
	diag_init(&d);
	cli_whoami(who, sizeof(who));
	if ((rc = config_load(o->config, &cfg, &d)) != 0) {
		cli_print_diag("audit restore", &d);
		goto out;
	}
	if (!cli_as_gateway_user(cfg, "audit restore"))
		goto out;
	if ((rc = keys_secret_load(cfg->certificate, &k, &d)) != 0 ||
	    (dir = cli_concat(cfg->state_dir, "/audit")) == NULL) {
		cli_print_diag("audit restore", &d);
		goto out;
	}
	struct audit_opts ao = {.dir = dir, .signer = k, .restore = true, .restore_by = who,
				.restore_reason = o->reason};
	if ((rc = cli_audit_open(cfg, &ao, &log, &d)) != 0) {
		cli_print_diag("audit restore", &d);
		if (rc == PIUGW_EAUDITBUSY)
			fprintf(stderr, "piugw audit restore: stop the gateway first\n");
		ret = rc == PIUGW_EINVAL ? CLI_EXIT_FAILED : cli_exit_for(rc);
		goto out;
	}
	if ((rc = cli_audit_close(cfg, &log)) != 0) {
		fprintf(stderr, "piugw audit restore: %s\n", piugw_strerror(rc));
		goto out;
	}
	printf("%s: the restore is on the log; the gateway may start again "
	       "(piugw audit verify says what was lost)\n", dir);
	ret = CLI_EXIT_OK;
out:
	if (log != NULL)
		audit_close(&log);
	keys_secret_free(&k);
	free(dir);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/* The checkpoints of partner --peer's log that this gateway witnessed. */
struct witnessed_ctx {
	const char *peer;
	json_t *list;
	unsigned n;
	bool json;
};

static int
witnessed_cb(const Piugw__AuditRecord *r, const char *seg, void *ctx)
{
	struct witnessed_ctx *c = ctx;
	char head[65], sig[129], when[32];
	time_t t;
	struct tm tm;

	(void)seg;
	if (r->event != PIUGW__AUDIT_EVENT__AUDIT_WITNESSED || strcmp(r->peer, c->peer) != 0 ||
	    r->witnessed_head.len != 32 || r->witnessed_signature.len != 64)
		return 0;
	sodium_bin2hex(head, sizeof(head), r->witnessed_head.data, 32);
	sodium_bin2hex(sig, sizeof(sig), r->witnessed_signature.data, 64);
	t = (time_t)(r->witnessed_time_ms / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	c->n++;
	if (c->json)
		json_array_append_new(c->list,
				      json_pack("{s:I, s:I, s:s, s:I, s:s, s:I}", "seq",
						(json_int_t)r->witnessed_seq, "time_ms",
						(json_int_t)r->witnessed_time_ms, "head_hash", head,
						"first_seq", (json_int_t)r->witnessed_first_seq,
						"signature", sig, "witnessed_in_record",
						(json_int_t)r->seq));
	else
		printf("%10ju  %s  head %.16s...\n", (uintmax_t)r->witnessed_seq, when, head);
	return 0;
}

static int
cmd_witnessed(struct aopts *o)
{
	struct config *cfg = NULL;
	char *dir = NULL, *cert = NULL;
	struct diag d;
	struct witnessed_ctx c = {.peer = o->peer, .json = o->json};
	int rc, ret = CLI_EXIT_USAGE;

	if (o->peer == NULL)
		return cli_usage("audit witnessed", "--peer ID is required: whose log");
	diag_init(&d);
	o->dir = NULL; /* the log of this gateway, from its configuration */
	if ((rc = locate(o, &cfg, &dir, &cert, &d)) != 0) {
		cli_print_diag("audit witnessed", &d);
		goto out;
	}
	if (!o->json)
		printf("checkpoints of %s's audit log witnessed by %s:\n", o->peer, cfg->id);
	if ((c.list = json_array()) == NULL ||
	    (rc = audit_scan(dir, witnessed_cb, &c, &d)) != 0) {
		cli_print_diag("audit witnessed", &d);
		goto out;
	}
	if (o->json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:O}", "format",
					       "piugw witnessed checkpoints v1", "witness", cfg->id,
					       "gateway", o->peer, "checkpoints", c.list));
		if (ret != 0)
			goto out;
	}
	ret = c.n > 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (c.n == 0)
		fprintf(stderr, "piugw audit witnessed: %s has witnessed no checkpoint of %s's log "
				"(none in its audit log)\n", cfg->id, o->peer);
out:
	json_decref(c.list);
	free(dir);
	free(cert);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

int
audit_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"dir", required_argument, NULL, 'D'},
		{"cert", required_argument, NULL, 'C'},   {"out", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, 's'},  {"until", required_argument, NULL, 'u'},
		{"peer", required_argument, NULL, 'p'},   {"agreement", required_argument, NULL, 'a'},
		{"event", required_argument, NULL, 'e'},  {"refusal", required_argument, NULL, 'r'},
		{"case", required_argument, NULL, 'k'},   {"document", required_argument, NULL, 'n'},
		{"issuer", required_argument, NULL, 'i'}, {"name", required_argument, NULL, 'N'},
		{"given", required_argument, NULL, 'g'},  {"dob", required_argument, NULL, 'b'},
		{"older-than-days", required_argument, NULL, 'O'},
		{"reason", required_argument, NULL, 'R'}, {"excerpt", no_argument, NULL, 'x'},
		{"witness", required_argument, NULL, 'W'},
		{"from", required_argument, NULL, 'F'},   {"to", required_argument, NULL, 'T'},
		{"format", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct aopts o = {.config = CLI_DEFAULT_CONFIG};
	const char *sub;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		audit_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'D': o.dir = optarg; break;
		case 'C': o.cert = optarg; break;
		case 'o': o.out = optarg; break;
		case 's':
			if (!parse_day(optarg, &o.since_ms))
				return cli_usage("audit", "--since '%s' is not YYYY-MM-DD", optarg);
			break;
		case 'u':
			if (!parse_day(optarg, &o.until_ms))
				return cli_usage("audit", "--until '%s' is not YYYY-MM-DD", optarg);
			break;
		case 'p': o.peer = optarg; break;
		case 'a': o.agreement = optarg; break;
		case 'e': o.event = optarg; break;
		case 'r': o.refusal = optarg; break;
		case 'k': o.case_ref = optarg; break;
		case 'n': o.document = optarg; break;
		case 'i': o.issuer = optarg; break;
		case 'N': o.name = optarg; break;
		case 'g': o.given = optarg; break;
		case 'b': o.dob = optarg; break;
		case 'O':
			if (!num_parse_u64(optarg, strlen(optarg), 1, 36500, &o.older_days))
				return cli_usage("audit", "--older-than-days takes 1 to 36500");
			o.have_older = true;
			break;
		case 'R': o.reason = optarg; break;
		case 'x': o.excerpt = true; break;
		case 'W':
			if (o.nwitness == sizeof(o.witness) / sizeof(o.witness[0]))
				return cli_usage("audit", "at most 32 --witness files");
			o.witness[o.nwitness++] = optarg;
			break;
		case 'F':
			if (!parse_day(optarg, &o.from_ms))
				return cli_usage("audit", "--from '%s' is not YYYY-MM-DD", optarg);
			break;
		case 'T':
			if (!parse_day(optarg, &o.to_ms))
				return cli_usage("audit", "--to '%s' is not YYYY-MM-DD", optarg);
			break;
		case 'M': o.format = optarg; break;
		case 'j': o.json = true; break;
		case 'h': audit_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("audit", "unknown or incomplete option");
		}
	}
	if (optind != argc - 1)
		return cli_usage("audit", "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(&o);
	if (strcmp(sub, "show") == 0)
		return cmd_show(&o, false);
	if (strcmp(sub, "subject") == 0)
		return cmd_show(&o, true);
	if (strcmp(sub, "export") == 0)
		return cmd_export(&o);
	if (strcmp(sub, "purge") == 0)
		return cmd_purge(&o);
	if (strcmp(sub, "restore") == 0)
		return cmd_restore(&o);
	if (strcmp(sub, "witnessed") == 0)
		return cmd_witnessed(&o);
	if (strcmp(sub, "report") == 0)
		return cmd_report(&o);
	return cli_usage("audit", "unknown subcommand '%s' (verify, show, subject, export, purge, "
			 "restore, witnessed, report)", sub);
}
