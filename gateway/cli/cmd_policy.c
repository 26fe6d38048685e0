/*
 * cmd_policy.c: piugw policy check [DIR | -c CONFIG] [--json]
 *
 * Loads the whole configuration tree exactly as piugwd would, offline and
 * writing nothing, and lists every problem and warning.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "num.h"
#include "piugw/error.h"
#include "policy.h"

static void
policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw policy check [DIR | -c CONFIG] [--json]\n\n"
		"Check a whole configuration tree offline, as piugwd would load it: piugwd.yaml,\n"
		"this gateway's certificate, the signed member directory and its serial, every\n"
		"agreement and its signatures. Every problem is listed; nothing is written.\n"
		"Exit 1 if piugwd would refuse the tree.\n\n"
		"  DIR                the folder holding piugwd.yaml (e.g. /etc/piugw)\n"
		"  -c, --config FILE  piugwd.yaml (default %s)\n"
		"  --json             machine-readable output\n"
		"  -h, --help         show this help\n",
		CLI_DEFAULT_CONFIG);
}

int
policy_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = CLI_DEFAULT_CONFIG;
	char *joined = NULL;
	bool json = false;
	struct policy *p = NULL;
	struct diag d;
	int c, rc, ret = CLI_EXIT_USAGE;
	int64_t now = cli_now_ms();

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		policy_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "check") != 0)
		return cli_usage("policy", "unknown subcommand '%s' (check)", argv[1]);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': policy_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("policy check", "unknown or incomplete option");
		}
	}
	if (optind + 1 == argc - 1) {
		const char *dir = argv[optind + 1];
		if ((joined = cli_concat(dir, "/piugwd.yaml")) == NULL)
			return CLI_EXIT_USAGE;
		config = joined;
	} else if (optind != argc - 1) {
		return cli_usage("policy check", "name at most one configuration folder");
	}
	diag_init(&d);
	rc = policy_load(config, now, &p, &d);
	if (json) {
		json_t *agreements = json_array();
		json_t *o;
		for (size_t i = 0; p != NULL && i < policy_agreement_count(p); i++) {
			char why[256], hex[65];
			enum policy_state st = policy_agreement_state(policy_agreement_at(p, i),
								      now, why, sizeof(why));
			sodium_bin2hex(hex, sizeof(hex), policy_agreement_at(p, i)->a->hash, 32);
			json_array_append_new(agreements,
					      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id",
							policy_agreement_at(p, i)->a->id, "file",
							policy_agreement_at(p, i)->path, "peer",
							policy_agreement_at(p, i)->peer,
							"fingerprint", hex, "state",
							policy_state_name(st), "why", why));
		}
		o = json_pack("{s:s, s:b, s:o, s:o}", "config", config, "ok", rc == 0, "messages",
			      cli_diag_json(&d), "agreements", agreements);
		if (p != NULL) {
			char exp[11];
			num_format_date(policy_directory(p)->expires_day, exp);
			json_object_set_new(o, "gateway", json_string(policy_config(p)->id));
			json_object_set_new(o, "directory_serial",
					    json_integer((json_int_t)policy_directory(p)->serial));
			json_object_set_new(o, "directory_expires", json_string(exp));
		}
		ret = cli_json_print(o);
		if (ret == 0)
			ret = rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		fprintf(rc == 0 ? stdout : stderr, "%s\n", d.lines[i]);
	if (rc != 0) {
		fprintf(stderr, "%s: piugwd would refuse this configuration (%zu problem%s above)\n",
			config, d.n, d.n == 1 ? "" : "s");
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	{
		char exp[11];
		num_format_date(policy_directory(p)->expires_day, exp);
		printf("%s: ok\n  gateway    %s (listening on %s)\n  directory  serial %ju, "
		       "expires %s, %zu members\n  agreements %zu\n",
		       config, policy_config(p)->id, policy_config(p)->listen,
		       (uintmax_t)policy_directory(p)->serial, exp, policy_directory(p)->n,
		       policy_agreement_count(p));
		for (size_t i = 0; i < policy_agreement_count(p); i++) {
			char why[256];
			enum policy_state st = policy_agreement_state(policy_agreement_at(p, i),
								      now, why, sizeof(why));
			printf("    %-24s with %-12s %s%s\n", policy_agreement_at(p, i)->a->id,
			       policy_agreement_at(p, i)->peer,
			       st == POLICY_IN_FORCE ? "in force" : "NOT in force: ",
			       st == POLICY_IN_FORCE ? "" : why);
		}
	}
	ret = CLI_EXIT_OK;
out:
	policy_free(&p);
	free(joined);
	diag_clear(&d);
	return ret;
}
