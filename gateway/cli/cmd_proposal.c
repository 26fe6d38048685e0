/*
 * cmd_proposal.c: piugw agreement propose|incoming|outgoing|accept|decline
 *
 * Agreements co-signed over the mesh (doc/protocol-notes.md section 5): an
 * administrator signs an agreement file and proposes it; the other party's
 * gateway holds it for a person, who reads it term by term against the
 * agreement in force and accepts (signing it there) or declines with a
 * reason. Both gateways then install the file and its two signatures and
 * reload. The signing key is read here, by the administrator's command,
 * never by the daemon's main process.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "agreement.h"
#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"

/* See cli.h. */
void
agreement_mesh_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw agreement propose AGREEMENT.yaml [--cert-secret FILE] [-c CONFIG] [--json]\n"
		"       piugw agreement incoming [--all] [-c CONFIG] [--json]\n"
		"       piugw agreement outgoing [-c CONFIG] [--json]\n"
		"       piugw agreement accept REF [--cert-secret FILE] [-c CONFIG] [--json]\n"
		"       piugw agreement decline REF --reason TEXT [-c CONFIG] [--json]\n\n"
		"  propose   sign AGREEMENT.yaml as this gateway and send it to its other party,\n"
		"            which holds it for a person there; an agreement with the id of one\n"
		"            in force here is an amendment of it. Waits until the partner holds\n"
		"            it (or refuses it); if it cannot be reached, the gateway keeps the\n"
		"            proposal and sends it again until it can.\n"
		"  incoming  proposals received and held for a decision here, each compared\n"
		"            term by term with the agreement in force under its id (--all: the\n"
		"            decided ones too)\n"
		"  outgoing  our proposals and what became of them\n"
		"  accept    sign the proposal REF as this gateway; both gateways install the\n"
		"            agreement with the two signatures and reload\n"
		"  decline   refuse it; the proposer is told the reason\n\n"
		"Options:\n"
		"  --cert-secret FILE  this gateway's secret certificate (default: the\n"
		"                      gateway.certificate of CONFIG)\n"
		"  -c, --config FILE   piugwd.yaml (default %s)\n"
		"  --api ENDPOINT      the gateway's local API (default: CONFIG's local_api)\n"
		"  --reason TEXT       decline: why, for the proposer and the record\n"
		"  --all               incoming: decided proposals too\n"
		"  --json              machine-readable output\n"
		"  -h, --help          show this help\n\n"
		"Only root and the gateway's own user may propose or decide.\n",
		CLI_DEFAULT_CONFIG);
}

static const char *
state_name(Piugw__ProposalState s)
{
	switch (s) {
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_SENDING: return "not delivered yet";
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_HELD: return "held for a decision";
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_ACCEPTED: return "accepted";
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_DECLINED: return "declined";
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_REFUSED: return "refused by the gateway";
	case PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_FAILED: return "accepted, NOT installed";
	default: return "?";
	}
}

static void
when(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "?");
	else
		strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* The secret certificate: --cert-secret, or the configuration's. */
static int
load_key(const char *verb, const struct cli_local_opts *o, struct keys_secret **kp)
{
	struct config *cfg = NULL;
	struct diag d;
	const char *path = o->cert_secret;
	int rc;

	diag_init(&d);
	if (path == NULL) {
		if ((rc = config_load(o->config, &cfg, &d)) != 0) {
			cli_print_diag(verb, &d);
			diag_clear(&d);
			return cli_exit_for(rc);
		}
		path = cfg->certificate;
	}
	if ((rc = keys_secret_load(path, kp, &d)) != 0) {
		cli_print_diag(verb, &d);
		fprintf(stderr, "piugw %s: signing needs this gateway's secret certificate: run "
			"as root or the gateway's user, or name it with --cert-secret\n", verb);
	}
	config_free(&cfg);
	diag_clear(&d);
	return rc != 0 ? cli_exit_for(rc) : 0;
}

/*
 * The agreement of this id among the configuration's agreement files
 * (*pathp: its file), or NULL. Only files that parse are looked at.
 */
static struct agreement *
held_agreement(const char *config, const char *id, char **pathp)
{
	struct config *cfg = NULL;
	struct diag d;
	struct agreement *found = NULL;
	DIR *dir;
	struct dirent *e;

	*pathp = NULL;
	diag_init(&d);
	if (config_load(config, &cfg, &d) != 0 || (dir = opendir(cfg->agreements_dir)) == NULL) {
		config_free(&cfg);
		diag_clear(&d);
		return NULL;
	}
	while (found == NULL && (e = readdir(dir)) != NULL) {
		size_t n = strlen(e->d_name);
		char *path;
		struct agreement *a = NULL;
		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
			continue;
		size_t size = strlen(cfg->agreements_dir) + n + 2;
		if ((path = malloc(size)) == NULL)
			break;
		snprintf(path, size, "%s/%s", cfg->agreements_dir, e->d_name);
		if (agreement_load(path, &a, &d) == 0 && strcmp(a->id, id) == 0) {
			found = a;
			*pathp = path;
			continue;
		}
		agreement_free(&a);
		free(path);
	}
	closedir(dir);
	config_free(&cfg);
	diag_clear(&d);
	return found;
}

/* One proposal, for people: where it stands, and for a held one, what it changes. */
static void
print_proposal(const struct cli_local_opts *o, const Piugw__Proposal *p, json_t *list)
{
	char created[32], updated[32], fp[65] = "", rep[65] = "", from[11] = "?", until[11] = "?";
	struct agreement *a = NULL, *cur = NULL;
	char *cur_path = NULL;
	struct diag d;
	json_t *diffs = NULL;

	diag_init(&d);
	when(p->created_at_ms, created);
	when(p->updated_at_ms, updated);
	if (p->hash.len == 32)
		sodium_bin2hex(fp, sizeof(fp), p->hash.data, 32);
	if (p->replaces_hash.len == 32)
		sodium_bin2hex(rep, sizeof(rep), p->replaces_hash.data, 32);
	if (agreement_parse((const char *)p->agreement.data, p->agreement.len, p->reference, &a,
			    &d) == 0) {
		num_format_date(a->from_day, from);
		num_format_date(a->until_day, until);
		if (p->incoming)
			cur = held_agreement(o->config, a->id, &cur_path);
	}
	if (list != NULL) {
		json_t *j = pbjson(&p->base);
		if (j != NULL) {
			json_object_del(j, "agreement");
			json_object_set_new(j, "state", json_string(state_name(p->state)));
			json_object_set_new(j, "from", json_string(from));
			json_object_set_new(j, "until", json_string(until));
			if (a != NULL && p->incoming) {
				diffs = json_array();
				cli_agreement_diff(cur, a, diffs);
				json_object_set_new(j, "in_force_file",
						    cur_path ? json_string(cur_path) : json_null());
				json_object_set_new(j, "differences", diffs);
			}
			json_array_append_new(list, j);
		}
		goto out;
	}
	printf("%s  %s %s  %s  %s\n", cli_safe(p->reference), p->incoming ? "from" : "to",
	       cli_safe(p->peer), created, state_name(p->state));
	printf("  agreement %s, in force %s to %s\n  fingerprint %s\n", cli_safe(p->agreement_id),
	       from, until, fp);
	printf("  %s%s\n", rep[0] ? "an amendment of " : "a new agreement", rep);
	if (p->their_reference[0] != '\0')
		printf("  their reference %s\n", cli_safe(p->their_reference));
	if (p->decided_by[0] != '\0')
		printf("  decided here by %s, %s\n", cli_safe(p->decided_by), updated);
	if (p->detail[0] != '\0')
		printf("  %s: %s\n",
		       p->state == PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_DECLINED ? "reason"
										   : "detail",
		       cli_safe(p->detail));
	if (p->installed_path[0] != '\0')
		printf("  installed at %s\n", cli_safe(p->installed_path));
	if (a != NULL && p->incoming &&
	    p->state == PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_HELD) {
		if (cur != NULL) {
			printf("  against the agreement in force (%s):  in force  |  proposed\n",
			       cli_safe(cur_path));
			if (cli_agreement_diff(cur, a, NULL) == 0)
				printf("  (the same terms)\n");
		} else {
			printf("  no agreement %s is held here; its terms:  (none)  |  proposed\n",
			       cli_safe(a->id));
			cli_agreement_diff(NULL, a, NULL);
		}
		printf("  decide: piugw agreement accept %s | piugw agreement decline %s "
		       "--reason TEXT\n", cli_safe(p->reference), cli_safe(p->reference));
	}
out:
	agreement_free(&a);
	agreement_free(&cur);
	free(cur_path);
	diag_clear(&d);
}

/* Ask the gateway for its proposals (or the one of ref). */
static int
fetch(const char *verb, const struct cli_local_opts *o, const char *ref, Piugw__LocalReply **replyp)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalProposals lp = PIUGW__LOCAL_PROPOSALS__INIT;

	lp.reference = (char *)(ref != NULL ? ref : "");
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_PROPOSALS;
	req.proposals = &lp;
	return cli_call(verb, o->config, o->api, &req, 10000, replyp);
}

static int
cmd_list(const char *verb, const struct cli_local_opts *o, bool incoming)
{
	Piugw__LocalReply *reply = NULL;
	json_t *list = o->json ? json_array() : NULL;
	size_t shown = 0;
	int ret;

	if (o->nargs != 0)
		return cli_usage(verb, "unexpected argument '%s'", o->args[0]);
	if ((ret = fetch(verb, o, NULL, &reply)) != 0) {
		json_decref(list);
		return ret;
	}
	for (size_t i = 0; i < reply->proposals->n_proposals; i++) {
		const Piugw__Proposal *p = reply->proposals->proposals[i];
		if (p->incoming != incoming ||
		    (incoming && !o->all && p->state != PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_HELD))
			continue;
		print_proposal(o, p, list);
		shown++;
	}
	if (o->json)
		ret = cli_json_print(json_pack("{s:o}", "proposals", list));
	else if (shown == 0)
		printf("%s\n", incoming ? (o->all ? "no proposal was received"
						  : "no proposal is waiting for a decision")
					: "this gateway has proposed no agreement");
	piugw_client_reply_free(&reply);
	return ret;
}

/* Print the outcome of a propose or a decision; the exit code it means. */
static int
outcome(const struct cli_local_opts *o, const Piugw__LocalReply *reply)
{
	const Piugw__Proposal *p;

	if (reply->kind_case != PIUGW__LOCAL_REPLY__KIND_PROPOSALS ||
	    reply->proposals->n_proposals != 1) {
		fprintf(stderr, "piugw agreement: an unexpected reply from the gateway\n");
		return CLI_EXIT_FAILED;
	}
	p = reply->proposals->proposals[0];
	if (o->json) {
		json_t *list = json_array();
		print_proposal(o, p, list);
		if (cli_json_print(json_incref(json_array_get(list, 0))) != 0) {
			json_decref(list);
			return CLI_EXIT_USAGE;
		}
		json_decref(list);
	} else {
		print_proposal(o, p, NULL);
	}
	return p->state == PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_REFUSED ||
			       p->state == PIUGW__PROPOSAL_STATE__PROPOSAL_STATE_FAILED
		       ? CLI_EXIT_FAILED
		       : CLI_EXIT_OK;
}

static int
cmd_propose(const struct cli_local_opts *o)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalPropose lp = PIUGW__LOCAL_PROPOSE__INIT;
	Piugw__LocalReply *reply = NULL;
	struct keys_secret *k = NULL;
	struct agreement *a = NULL;
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	struct diag d;
	int ret, rc;

	if (o->nargs != 1)
		return cli_usage("agreement propose", "name one agreement file");
	diag_init(&d);
	if ((rc = agreement_load(o->args[0], &a, &d)) != 0) {
		cli_print_diag("agreement propose", &d);
		diag_clear(&d);
		return cli_exit_for(rc);
	}
	diag_clear(&d);
	if ((ret = load_key("agreement propose", o, &k)) != 0)
		goto out;
	if (!agreement_has_party(a, keys_secret_public(k)->id)) {
		fprintf(stderr, "piugw agreement propose: %s is not a party to %s (%s and %s)\n",
			keys_secret_public(k)->id, a->id, a->parties[0], a->parties[1]);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if ((rc = agreement_sign(a, k, sig)) != 0) {
		fprintf(stderr, "piugw agreement propose: cannot sign: %s\n", piugw_strerror(rc));
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	lp.agreement.data = a->bytes;
	lp.agreement.len = a->len;
	lp.signature.data = sig;
	lp.signature.len = sizeof(sig);
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_PROPOSE;
	req.propose = &lp;
	if ((ret = cli_call("agreement propose", o->config, o->api, &req, 120000, &reply)) != 0)
		goto out;
	ret = outcome(o, reply);
out:
	piugw_client_reply_free(&reply);
	keys_secret_free(&k);
	agreement_free(&a);
	return ret;
}

static int
cmd_decide(const struct cli_local_opts *o, bool accept)
{
	const char *verb = accept ? "agreement accept" : "agreement decline";
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalProposalDecision dec = PIUGW__LOCAL_PROPOSAL_DECISION__INIT;
	Piugw__LocalReply *reply = NULL, *got = NULL;
	struct keys_secret *k = NULL;
	struct agreement *a = NULL;
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	const Piugw__Proposal *p;
	struct diag d;
	int ret, rc;

	diag_init(&d);
	if (o->nargs != 1)
		return cli_usage(verb, "name one proposal (see piugw agreement incoming)");
	if (!accept && (o->reason == NULL || o->reason[0] == '\0'))
		return cli_usage(verb, "a decline needs --reason TEXT (the proposer is told it)");
	dec.reference = o->args[0];
	dec.accept = accept;
	if (!accept) {
		dec.reason = (char *)o->reason;
	} else {
		/* What is signed is what the gateway holds, read back and shown. */
		if ((ret = fetch(verb, o, o->args[0], &got)) != 0)
			goto out;
		if (got->proposals->n_proposals != 1 || !got->proposals->proposals[0]->incoming) {
			fprintf(stderr, "piugw %s: %s: no such proposal received (see piugw "
				"agreement incoming)\n", verb, cli_safe(o->args[0]));
			ret = CLI_EXIT_FAILED;
			goto out;
		}
		p = got->proposals->proposals[0];
		if ((rc = agreement_parse((const char *)p->agreement.data, p->agreement.len,
					  p->reference, &a, &d)) != 0) {
			cli_print_diag(verb, &d);
			ret = cli_exit_for(rc);
			goto out;
		}
		if ((ret = load_key(verb, o, &k)) != 0)
			goto out;
		if (!agreement_has_party(a, keys_secret_public(k)->id)) {
			fprintf(stderr, "piugw %s: %s is not a party to %s\n", verb,
				keys_secret_public(k)->id, cli_safe(a->id));
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		if ((rc = agreement_sign(a, k, sig)) != 0) {
			fprintf(stderr, "piugw %s: cannot sign: %s\n", verb, piugw_strerror(rc));
			ret = CLI_EXIT_FAILED;
			goto out;
		}
		dec.signature.data = sig;
		dec.signature.len = sizeof(sig);
	}
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_PROPOSAL_DECISION;
	req.proposal_decision = &dec;
	if ((ret = cli_call(verb, o->config, o->api, &req, 30000, &reply)) != 0)
		goto out;
	ret = outcome(o, reply);
out:
	piugw_client_reply_free(&reply);
	piugw_client_reply_free(&got);
	keys_secret_free(&k);
	agreement_free(&a);
	diag_clear(&d);
	return ret;
}

/* See cli.h. */
int
agreement_mesh_main(const char *sub, int argc, char **argv)
{
	char verb[32];
	/* Each verb takes what it uses: a decline its reason, a signer the key. */
	struct cli_local_opts o = {
		.takes_reason = strcmp(sub, "decline") == 0,
		.takes_cert_secret = strcmp(sub, "propose") == 0 || strcmp(sub, "accept") == 0,
		.takes_all = strcmp(sub, "incoming") == 0,
	};
	int rc;

	snprintf(verb, sizeof(verb), "agreement %s", sub);
	if ((rc = cli_local_opts(verb, argc, argv, &o, agreement_mesh_usage)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (strcmp(sub, "propose") == 0)
		return cmd_propose(&o);
	if (strcmp(sub, "incoming") == 0)
		return cmd_list(verb, &o, true);
	if (strcmp(sub, "outgoing") == 0)
		return cmd_list(verb, &o, false);
	if (strcmp(sub, "accept") == 0)
		return cmd_decide(&o, true);
	return cmd_decide(&o, false);
}
