/*
 * cmd_pending.c: piugw pending, piugw approve REF, piugw deny REF --reason TEXT
 *
 * The approver's verbs, for agreements whose terms say approval: manual.
 * The approver recorded in the audit log is the OS user the kernel reports
 * for this process.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "piugw/error.h"
#include "vocab.h"

static void
pending_usage(FILE *f)
{
	fprintf(f, "Usage: piugw pending [--json] [-c CONFIG | --api EP]\n"
		   "       piugw approve REF [--authorisation DECISION] [-c CONFIG | --api EP]\n"
		   "       piugw deny REF --reason TEXT [-c CONFIG | --api EP]\n\n"
		   "Requests from partners held for a person to decide (approval: manual): list\n"
		   "them, approve one (the gateway then searches and the partner collects the\n"
		   "answer), or deny it with a reason the partner is told. Also held here:\n"
		   "notifications of partners' lookouts (notify: after_approval, fuzzy\n"
		   "matches), and requests to disclose masked data again (UM-...), which only\n"
		   "an authoriser (piugwd.yaml authorisers) decides, never the analyst who\n"
		   "asked, approving with --authorisation: the authority's decision as checked.\n");
}

int
pending_main(int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalPending lp = PIUGW__LOCAL_PENDING__INIT;
	Piugw__LocalReply *reply = NULL;
	struct cli_local_opts o = {0};
	int ret;

	if ((ret = cli_local_opts("pending", argc, argv, &o, pending_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.nargs != 0)
		return cli_usage("pending", "unexpected argument '%s'", o.args[0]);
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_PENDING;
	req.pending = &lp;
	if ((ret = cli_call("pending", o.config, o.api, &req, 10000, &reply)) != 0)
		return ret;
	if (o.json) {
		ret = cli_json_print(pbjson(&reply->pending->base));
		piugw_client_reply_free(&reply);
		return ret;
	}
	if (reply->pending->n_items == 0)
		printf("no request is waiting for approval\n");
	for (size_t i = 0; i < reply->pending->n_items; i++) {
		const Piugw__PendingItem *it = reply->pending->items[i];
		char when[32];
		time_t t = (time_t)(it->received_at_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		if (strcmp(it->kind, "unmask") == 0) {
			/* Art 12(3): for an authoriser, with the asker's prior authorisation. */
			printf("%s  UNMASKING for %s  %s  agreement %s\n"
			       "  purpose %s, case %s, asked by %s\n"
			       "  authorisation %s by %s\n  justification: %s\n"
			       "  decide as an authoriser: piugw approve %s --authorisation DECISION, "
			       "or piugw deny %s --reason TEXT\n",
			       cli_safe(it->approval_ref), cli_safe(it->peer), when,
			       cli_safe(it->agreement_id), vocab_name(vocab_purposes, it->purpose),
			       cli_safe(it->case_reference), cli_safe(it->requested_by),
			       cli_safe(it->authorisation_reference), cli_safe(it->authority),
			       cli_safe(it->justification), cli_safe(it->approval_ref),
			       cli_safe(it->approval_ref));
			continue;
		}
		if (strcmp(it->kind, "notification") == 0) {
			/* A partner's lookout fired here: approve sends the notification. */
			printf("%s  notification to %s  %s  agreement %s  lookout %s%s\n"
			       "  purpose %s%s%s, %s lookout, case %s\n  justification: %s\n",
			       cli_safe(it->approval_ref), cli_safe(it->peer), when,
			       cli_safe(it->agreement_id), cli_safe(it->lookout_reference),
			       it->needs_review ? "  FUZZY MATCH: review it" : "",
			       vocab_name(vocab_purposes, it->purpose), it->offence[0] ? " " : "",
			       cli_safe(it->offence), vocab_name(vocab_query_types, it->query_type),
			       cli_safe(it->case_reference), cli_safe(it->justification));
			continue;
		}
		printf("%s  from %s  %s  agreement %s\n  purpose %s%s%s, %s query, case %s\n"
		       "  justification: %s\n",
		       cli_safe(it->approval_ref), cli_safe(it->peer), when, cli_safe(it->agreement_id),
		       vocab_name(vocab_purposes, it->purpose), it->offence[0] ? " " : "",
		       cli_safe(it->offence), vocab_name(vocab_query_types, it->query_type),
		       cli_safe(it->case_reference), cli_safe(it->justification));
	}
	piugw_client_reply_free(&reply);
	return CLI_EXIT_OK;
}

static int
decide(const char *verb, bool approve, int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalDecision d = PIUGW__LOCAL_DECISION__INIT;
	Piugw__LocalReply *reply = NULL;
	struct cli_local_opts o = {.takes_reason = !approve, .takes_authorisation = approve};
	int ret;

	if ((ret = cli_local_opts(verb, argc, argv, &o, pending_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.nargs != 1)
		return cli_usage(verb, "name one approval reference (see piugw pending)");
	if (!approve && (o.reason == NULL || o.reason[0] == '\0'))
		return cli_usage(verb, "a denial needs --reason TEXT (the partner is told it)");
	d.approval_ref = o.args[0];
	if (o.reason != NULL)
		d.reason = (char *)o.reason;
	if (o.authorisation != NULL)
		d.authorisation = (char *)o.authorisation;
	req.kind_case = approve ? PIUGW__LOCAL_REQUEST__KIND_APPROVE : PIUGW__LOCAL_REQUEST__KIND_DENY;
	if (approve)
		req.approve = &d;
	else
		req.deny = &d;
	if ((ret = cli_call(verb, o.config, o.api, &req, 30000, &reply)) != 0)
		return ret;
	if (o.json) {
		ret = cli_json_print(pbjson(&reply->decision->base));
	} else {
		const Piugw__DecisionReply *r = reply->decision;
		if (r->status == PIUGW__RESULT_STATUS__RESULT_DENIED)
			printf("%s: denied; the partner is told when it polls\n", r->approval_ref);
		else
			printf("%s: approved: %s, %u match%s; the partner collects it when it polls\n",
			       r->approval_ref,
			       r->status == PIUGW__RESULT_STATUS__RESULT_HIT ? "hit" : "no hit",
			       r->match_count, r->match_count == 1 ? "" : "es");
		ret = approve && r->status == PIUGW__RESULT_STATUS__RESULT_DENIED ? CLI_EXIT_FAILED
										 : CLI_EXIT_OK;
	}
	piugw_client_reply_free(&reply);
	return ret;
}

int
approve_main(int argc, char **argv)
{
	return decide("approve", true, argc, argv);
}

int
deny_main(int argc, char **argv)
{
	return decide("deny", false, argc, argv);
}
