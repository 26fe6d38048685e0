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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "audit.h"
#include "config.h"
#include "diag.h"
#include "local.pb-c.h"
#include "pbjson.h"
#include "piugw/client.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

/* Print every diagnostic of d to stderr, prefixed with "piugw <verb>: ". */
void cli_print_diag(const char *verb, const struct diag *d);

/* Print "piugw <verb>: message" and a hint to --help to stderr; return 2. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a library error code. */
int cli_exit_for(int err);

/* Print o (consumed) as indented JSON on stdout. */
int cli_json_print(json_t *o);

/* The diagnostics of d as a JSON array of strings. */
json_t *cli_diag_json(const struct diag *d);

/* Replace path atomically (write aside, fsync, rename) with buf. */
int cli_replace_file(const char *path, const void *buf, size_t len, unsigned mode, struct diag *d);

/*
 * A password from the first line of file, or from the terminal without echo
 * when file is NULL. Guarded memory: free with cli_free_password().
 */
char *cli_read_password(const char *file, const char *prompt, struct diag *d);
void cli_free_password(char *pw);

/* a followed by b, in new memory (free it); NULL when out of memory. */
char *cli_concat(const char *a, const char *b);

/* Unix time in milliseconds. */
int64_t cli_now_ms(void);
/* A duration for people: "12 s", "5 min", "3 h", "4 days" (a static buffer). */
const char *cli_ago(int64_t ms);

/*
 * Open the audit log of the gateway of cfg as the gateway itself would:
 * ao (dir and signer set by the caller) gets the anchor that state.db
 * keeps, so that a log cut back or swapped is refused (PIUGW_EAUDITBEHIND)
 * before anything is written. PIUGW_EAUDITBUSY: the gateway runs, and it
 * alone writes its log.
 */
int cli_audit_open(const struct config *cfg, struct audit_opts *ao, struct audit_log **logp,
		   struct diag *d);

/* Close it cleanly and keep its final head in state.db as the anchor. */
int cli_audit_close(const struct config *cfg, struct audit_log **logp);

/*
 * Work on the gateway's state (its store, audit log, keys) is for the user
 * that owns the state folder: anyone else is told so, by name, with the
 * command to run instead, rather than meeting "Permission denied" on some
 * file. Returns true if this user may go on (or the folder does not exist).
 */
bool cli_as_gateway_user(const struct config *cfg, const char *verb);

/* The name of the user running this command ("uid:N" if it has none). */
void cli_whoami(char *out, size_t size);

/*
 * s made safe for a terminal: text from a partner or a file (a case
 * reference, a justification, a refusal's detail) may hold escape
 * sequences or line breaks that would forge output. Control characters
 * (C0, DEL and the C1 range U+0080..U+009F) and bytes that are not UTF-8
 * are shown as \xNN or \u00NN; the rest, names in any script included,
 * as it is. The one function every human output uses for such text. Returns
 * one of 8 static buffers in turn (several may be used in one printf);
 * NULL prints as "".
 */
const char *cli_safe(const char *s);

/* The default configuration file. */
#define CLI_DEFAULT_CONFIG "/etc/piugw/piugwd.yaml"

/*
 * One call to the running gateway's local API: --api (or PIUGW_API), else
 * the local_api of config. Prints why on failure; a LocalError reply is a
 * refusal (exit 1). Returns the exit code; *replyp only on success.
 */
int cli_call(const char *verb, const char *config, const char *api, const Piugw__LocalRequest *req,
	     int timeout_ms, Piugw__LocalReply **replyp);
/*
 * cli_call for a request answered more than once (LocalQuery.stream): each
 * reply with more set goes to more(r, ctx) as it comes (more may be NULL);
 * *replyp is the final one.
 */
int cli_call_stream(const char *verb, const char *config, const char *api,
		    const Piugw__LocalRequest *req, int timeout_ms,
		    void (*more)(const Piugw__LocalReply *r, void *ctx), void *ctx,
		    Piugw__LocalReply **replyp);

/* The options of the verbs that only talk to the gateway (peers, status, pending...). */
struct cli_local_opts {
	const char *config, *api, *reason, *cert_secret, *authorisation;
	bool json, all;
	bool takes_reason; /* set by the caller: --reason is allowed */
	bool takes_cert_secret, takes_all; /* likewise --cert-secret FILE and --all */
	bool takes_authorisation;          /* --authorisation REF */
	char **args;       /* what is left */
	int nargs;
};

/* Parse them; returns 0, -1 after --help (exit 0), or the exit code of misuse. */
int cli_local_opts(const char *verb, int argc, char **argv, struct cli_local_opts *o,
		   void (*usage)(FILE *));


/* Match n of an answer or a notification, readable (partner text made safe). */
void cli_print_match(const Piugw__Match *m, size_t n);
/* One partner's answer, readable; returns 0 if answered or waiting, else 1. */
int cli_print_answer(const Piugw__PeerAnswer *a);

struct agreement;
/*
 * The differences between two agreements, term by term and direction by
 * direction (identity, parties, period, each direction's terms): printed
 * one a line, or into list as objects {where, field, first, second}
 * (list not NULL). a NULL: every term of b against none. How many.
 */
unsigned cli_agreement_diff(const struct agreement *a, const struct agreement *b, json_t *list);
/* piugw agreement propose|incoming|outgoing|accept|decline (cmd_proposal.c). */
int agreement_mesh_main(const char *sub, int argc, char **argv);
void agreement_mesh_usage(FILE *f);

int keygen_main(int argc, char **argv);
int agreement_main(int argc, char **argv);
int config_main(int argc, char **argv);
int directory_main(int argc, char **argv);
int policy_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int import_main(int argc, char **argv);
int store_main(int argc, char **argv);
int query_main(int argc, char **argv);
int results_main(int argc, char **argv);
int peers_main(int argc, char **argv);
int status_main(int argc, char **argv);
int pending_main(int argc, char **argv);
int approve_main(int argc, char **argv);
int deny_main(int argc, char **argv);
int lookout_main(int argc, char **argv);
int alerts_main(int argc, char **argv);
int unmask_main(int argc, char **argv);

#endif /* PIUGW_CLI_H */
