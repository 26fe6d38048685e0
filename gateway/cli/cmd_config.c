/*
 * cmd_config.c: piugw config new
 *
 * A gateway's piugwd.yaml from the command line: what an administrator
 * would otherwise write by hand, checked as piugwd reads it before it is
 * written, never over a file that is there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "piugw/error.h"
#include "yamlconf.h"

static void
config_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw config new --id ID --listen tcp://HOST:PORT --out piugwd.yaml\n"
		"                        [--certificate FILE] [--audit-key FILE] [--state DIR]\n"
		"                        [--runtime DIR] [--metrics HOST:PORT] [--json]\n\n"
		"Write a gateway's piugwd.yaml (piugwd.yaml(5)); what is not given keeps its\n"
		"default. It is read back as piugwd reads it before it is written, and never\n"
		"written over a file that is there.\n\n"
		"Options:\n"
		"  --id ID               this gateway's id, as in the member directory\n"
		"  --listen ENDPOINT     its public endpoint, e.g. tcp://0.0.0.0:7401\n"
		"  --certificate FILE    its secret certificate (default certs/ID.cert_secret);\n"
		"                        keep it out of the configuration and state folders\n"
		"  --audit-key FILE      the audit key (default audit.key in the state folder)\n"
		"  --state DIR           the state folder (default /var/lib/piugw)\n"
		"  --runtime DIR         the runtime folder, the local API's (default /run/piugw)\n"
		"  --metrics HOST:PORT   serve /metrics and /healthz there (loopback only)\n"
		"  --out FILE            where to write it\n"
		"  --json                machine-readable output\n"
		"  -h, --help            show this help\n");
}

/* key: value, with a mapping for the sections (section NULL: top level). */
static int
emit_section(yaml_emitter_t *e, const char *section, const char *const *kv, size_t n)
{
	int rc = 0;
	size_t given = 0;

	for (size_t i = 0; i < n; i += 2)
		given += kv[i + 1] != NULL;
	if (given == 0)
		return 0;
	if (section != NULL) {
		rc = yconf_emit_scalar(e, section, false);
		if (rc == 0)
			rc = yconf_emit_block(e, true, true);
	}
	for (size_t i = 0; i < n && rc == 0; i += 2)
		if (kv[i + 1] != NULL)
			rc = yconf_emit_pair(e, kv[i], kv[i + 1], false);
	if (rc == 0 && section != NULL)
		rc = yconf_emit_block(e, true, false);
	return rc;
}

int
config_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"id", required_argument, NULL, 'i'},
		{"listen", required_argument, NULL, 'l'},
		{"certificate", required_argument, NULL, 'C'},
		{"audit-key", required_argument, NULL, 'a'},
		{"state", required_argument, NULL, 's'},
		{"runtime", required_argument, NULL, 'r'},
		{"metrics", required_argument, NULL, 'm'},
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *id = NULL, *listen = NULL, *cert = NULL, *akey = NULL, *state = NULL;
	const char *runtime = NULL, *metrics = NULL, *out = NULL;
	bool json = false;
	struct yconf_out o;
	yaml_emitter_t e;
	struct config *cfg = NULL;
	struct diag d;
	char *text = NULL;
	size_t len = 0;
	int c, rc, ret = CLI_EXIT_USAGE;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		config_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "new") != 0)
		return cli_usage("config", "unknown subcommand '%s' (new)", cli_safe(argv[1]));
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': id = optarg; break;
		case 'l': listen = optarg; break;
		case 'C': cert = optarg; break;
		case 'a': akey = optarg; break;
		case 's': state = optarg; break;
		case 'r': runtime = optarg; break;
		case 'm': metrics = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'h': config_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("config new", "unknown or incomplete option");
		}
	}
	if (optind != argc - 1)
		return cli_usage("config new", "unexpected argument '%s'", cli_safe(argv[optind + 1]));
	if (id == NULL || listen == NULL || out == NULL)
		return cli_usage("config new", "--id, --listen and --out are required");
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "piugw config new: %s is there already: name another with --out, or "
				"move it away\n", out);
		return CLI_EXIT_FAILED;
	}
	diag_init(&d);
	{
		const char *gateway[] = {"id", id, "listen", listen, "certificate", cert};
		const char *top[] = {"state", state, "runtime", runtime};
		const char *mx[] = {"listen", metrics};
		const char *audit[] = {"key_file", akey};
		rc = yconf_emit_begin(&e, &o);
		if (rc == 0)
			rc = yconf_emit_block(&e, true, true);
		if (rc == 0)
			rc = emit_section(&e, "gateway", gateway, 6);
		if (rc == 0)
			rc = emit_section(&e, NULL, top, 4);
		if (rc == 0)
			rc = emit_section(&e, "metrics", mx, 2);
		if (rc == 0)
			rc = emit_section(&e, "audit", audit, 2);
		if (rc == 0)
			rc = yconf_emit_block(&e, true, false);
		if ((rc = yconf_emit_end(&e, &o, rc, &text, &len)) != 0)
			goto out;
	}
	/* As piugwd will read it, relative paths from where it is written. */
	if ((rc = config_parse(text, len, out, &cfg, &d)) != 0) {
		cli_print_diag("config new", &d);
		fprintf(stderr, "piugw config new: %s not written\n", out);
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if ((rc = cli_replace_file(out, text, len, 0644, &d)) != 0) {
		cli_print_diag("config new", &d);
		goto out;
	}
	if (json)
		ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s}", "file", out, "id", cfg->id,
					       "certificate", cfg->certificate, "state",
					       cfg->state_dir, "audit_key", cfg->audit_key_file));
	else {
		printf("%s: piugwd.yaml of %s\n  certificate  %s\n  state        %s\n"
		       "  audit key    %s\n  check it with: piugw policy check -c %s\n",
		       out, cfg->id, cfg->certificate, cfg->state_dir, cfg->audit_key_file, out);
		ret = CLI_EXIT_OK;
	}
out:
	free(text);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}
