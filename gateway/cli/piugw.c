/*
 * piugw.c: the piugw command: a table of subcommands, one <verb>_main()
 * each, as wireguard-tools' wg.c does it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "cli.h"
#include "piugw/error.h"

#ifndef PIUGW_VERSION
#define PIUGW_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{"keygen", keygen_main, "generate this gateway's transport and signing keys"},
	{"agreement", agreement_main, "make, sign, check, compare, suspend and resume agreements"},
	{"config", config_main, "write a gateway's piugwd.yaml"},
	{"directory", directory_main, "edit, sign and verify the member directory (minisign)"},
	{"policy", policy_main, "check a whole configuration tree offline"},
	{"audit", audit_main, "verify, search and export the audit log"},
	{"import", import_main, "read PAXLST, CSV or JSON Lines into the traveller store"},
	{"store", store_main, "traveller store statistics and retention"},
	{"query", query_main, "ask a partner (or all) about a passenger"},
	{"results", results_main, "the answer to an earlier query (--wait for approval)"},
	{"peers", peers_main, "reachability, clocks and agreement hashes of partners"},
	{"status", status_main, "the running gateway at a glance"},
	{"pending", pending_main, "partners' requests waiting for approval"},
	{"approve", approve_main, "approve a pending request"},
	{"deny", deny_main, "deny a pending request, with a reason"},
	{"lookout", lookout_main, "ask partners to tell us when a person travels"},
	{"alerts", alerts_main, "notifications partners sent when our lookouts fired"},
	{"unmask", unmask_main, "ask for masked data again under a prior authorisation (Art 12(3))"},
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: piugw <command> [options]\n"
		   "       piugw <command> --help\n\n"
		   "The administrator's and analyst's command of the PIU gateway.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 a check failed or was refused, "
		   "2 misuse or system error.\n");
}

int
main(int argc, char **argv)
{
	struct rlimit no_core = {0, 0};

	/* Secrets pass through this process: never leave them in a core file. */
	setrlimit(RLIMIT_CORE, &no_core);
	if (sodium_init() < 0) {
		fprintf(stderr, "piugw: libsodium failed to initialise\n");
		return CLI_EXIT_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("piugw %s\n", PIUGW_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "piugw: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
