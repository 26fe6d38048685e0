/*
 * cli.h: what the piugw subcommands share.
 *
 * Exit codes, as minisign and signify use them: 0 success; 1 a check failed
 * or a request was refused (bad signature, refused query, file exists);
 * 2 misuse or a system error.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_CLI_H
#define PIUGW_CLI_H

#include <stdbool.h>

#include "diag.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

/* Print every diagnostic of d to stderr, prefixed with "piugw <verb>: ". */
void cli_print_diag(const char *verb, const struct diag *d);

/* Print "piugw <verb>: message" and a hint to --help to stderr; return 2. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a library error code. */
int cli_exit_for(int err);

int keygen_main(int argc, char **argv);

#endif /* PIUGW_CLI_H */
