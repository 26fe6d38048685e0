/*
 * piugwd.c: the gateway daemon.
 *
 * This build has the foundation only (keys, envelope): the peer links,
 * policy and answering arrive with the daemon issue. Until then piugwd says
 * so plainly instead of pretending to run.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#ifndef PIUGW_VERSION
#define PIUGW_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "Usage: piugwd -c FILE [-n]\n\n"
		   "Run a PIU gateway.\n\n"
		   "  -c FILE     configuration (default /etc/piugw/piugwd.yaml)\n"
		   "  -n          check the configuration and exit\n"
		   "  --version   print the version\n"
		   "  -h, --help  show this help\n");
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("piugwd %s\n", PIUGW_VERSION);
			return 0;
		}
	}
	fprintf(stderr, "piugwd: this build cannot serve yet: the configuration loader and "
			"peer links are not implemented (the daemon issue)\n");
	return 2;
}
