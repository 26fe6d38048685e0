/*
 * cmd_unmask.c: piugw unmask
 *
 * Ask a partner to disclose again, unmasked, a match of an earlier answer
 * that came masked (older than the agreement's mask_after_days: Art 12(2)
 * of Directive 2016/681), under a prior authorisation by a judicial or other
 * independent authority (Art 12(3)). The partner holds the request for a
 * person of its authorisers' role; its decision is collected as any held
 * answer (piugw results).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "num.h"
#include "piugw/client.h"
#include "vocab.h"

static void
unmask_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw unmask REQUEST-ID --match N --authorisation REF --authority NAME\n"
		"                    --purpose P --reason TEXT [--case REF] [-c CONFIG | --api EP]\n"
		"                    [--json]\n\n"
		"Ask the partner that answered REQUEST-ID to disclose its masked match N again,\n"
		"unmasked, under the prior authorisation REF given by NAME (a court, or another\n"
		"independent authority: Art 12(3) of Directive 2016/681). Only where the\n"
		"agreement's terms say unmasking: allowed. The partner holds it for a person\n"
		"of its authorisers' role, who checks the authority's decision and lets it go\n"
		"or refuses it; collect the answer with piugw results REQUEST --wait 600 (the\n"
		"request id this command prints). Every step is on both audit logs.\n\n"
		"Options:\n"
		"  --match N            the masked match's place in the answer (1, 2, ...)\n"
		"  --authorisation REF  the authorisation's reference (at most 128 characters)\n"
		"  --authority NAME     who gave it (at most 200 characters)\n"
		"  --purpose P          %s\n"
		"  --reason TEXT        why the full data is necessary for this case\n"
		"  --case REF           your case file\n"
		"  -c, --config FILE    piugwd.yaml (default %s)\n"
		"  --api ENDPOINT       the gateway's local API\n"
		"  --json               machine-readable output\n",
		vocab_names(vocab_purposes), CLI_DEFAULT_CONFIG);
}

enum { O_MATCH = 256, O_AUTH, O_AUTHORITY, O_PURPOSE, O_REASON, O_CASE, O_JSON, O_API };

/* See cli.h. */
int
unmask_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"match", required_argument, NULL, O_MATCH},
		{"authorisation", required_argument, NULL, O_AUTH},
		{"authority", required_argument, NULL, O_AUTHORITY},
		{"purpose", required_argument, NULL, O_PURPOSE},
		{"reason", required_argument, NULL, O_REASON},
		{"case", required_argument, NULL, O_CASE},
		{"json", no_argument, NULL, O_JSON},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, O_API},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalUnmask lu = PIUGW__LOCAL_UNMASK__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *config = CLI_DEFAULT_CONFIG, *api = NULL;
	bool json = false;
	uint64_t v;
	int c, ret;

	if (argc < 2) {
		unmask_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_MATCH:
			if (!num_parse_u64(optarg, strlen(optarg), 1, 1000, &v))
				return cli_usage("unmask", "--match takes the match's place, 1 to 1000");
			lu.match = (uint32_t)v;
			break;
		case O_AUTH: lu.authorisation_reference = optarg; break;
		case O_AUTHORITY: lu.authority = optarg; break;
		case O_PURPOSE: {
			int p = vocab_value(vocab_purposes, optarg, strlen(optarg));
			if (p < 0)
				return cli_usage("unmask", "unknown purpose '%s' (one of %s)",
						 cli_safe(optarg), vocab_names(vocab_purposes));
			lu.purpose = (Piugw__Purpose)p;
			break;
		}
		case O_REASON: lu.justification = optarg; break;
		case O_CASE: lu.case_reference = optarg; break;
		case O_JSON: json = true; break;
		case 'c': config = optarg; break;
		case O_API: api = optarg; break;
		case 'h': unmask_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("unmask", "unknown or incomplete option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("unmask", "name the earlier query's request id (piugw results)");
	lu.request_id = argv[optind];
	if (lu.match == 0 || lu.authorisation_reference[0] == '\0' || lu.authority[0] == '\0' ||
	    lu.justification[0] == '\0' || lu.purpose == 0)
		return cli_usage("unmask", "give --match, --authorisation, --authority, --purpose "
					   "and --reason: an unmasking needs a prior authorisation "
					   "and its grounds");
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_UNMASK;
	req.unmask = &lu;
	if ((ret = cli_call("unmask", config, api, &req, 320000, &reply)) != 0)
		return ret;
	if (json) {
		ret = cli_json_print(pbjson(&reply->query->base));
	} else {
		ret = CLI_EXIT_OK;
		for (size_t i = 0; i < reply->query->n_answers; i++)
			ret |= cli_print_answer(reply->query->answers[i]);
	}
	if (ret == CLI_EXIT_OK)
		for (size_t i = 0; i < reply->query->n_answers; i++)
			if (reply->query->answers[i]->outcome != PIUGW__OUTCOME__OUTCOME_WAITING)
				ret = CLI_EXIT_FAILED;
	piugw_client_reply_free(&reply);
	return ret;
}
