/*
 * local.c: what the piugw verbs that talk to the running piugwd share:
 * finding its local API, one call, and turning replies into JSON (for
 * --json) and readable text, both from the messages' own descriptors so
 * that every field of local.proto and body.proto is shown the same way.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "piugw/client.h"
#include "piugw/error.h"
#include "vocab.h"

/* See cli.h. */
int
cli_call(const char *verb, const char *config, const char *api, const Piugw__LocalRequest *req,
	 int timeout_ms, Piugw__LocalReply **replyp)
{
	return cli_call_stream(verb, config, api, req, timeout_ms, NULL, NULL, replyp);
}

/* See cli.h. */
int
cli_call_stream(const char *verb, const char *config, const char *api,
		const Piugw__LocalRequest *req, int timeout_ms,
		void (*more)(const Piugw__LocalReply *r, void *ctx), void *ctx,
		Piugw__LocalReply **replyp)
{
	struct piugw_client *c = NULL;
	struct config *cfg = NULL;
	struct diag d;
	char *endpoint = NULL;
	int rc, ret = CLI_EXIT_USAGE;

	*replyp = NULL;
	diag_init(&d);
	if (api == NULL)
		api = getenv("PIUGW_API");
	if (api != NULL) {
		endpoint = strdup(api);
	} else {
		if (config_load(config, &cfg, &d) != 0) {
			cli_print_diag(verb, &d);
			fprintf(stderr, "piugw %s: name the gateway's configuration with -c, or its "
					"local API with --api ipc://PATH\n", verb);
			goto out;
		}
		endpoint = strdup(cfg->local_api);
	}
	if (endpoint == NULL)
		goto out;
	if ((rc = piugw_client_open(endpoint, &c)) != 0) {
		if (rc == PIUGW_EACCESS)
			fprintf(stderr, "piugw %s: %s: permission denied: the gateway's operators "
					"are the owner and group of that socket; ask its administrator "
					"to add you to the group\n", verb, endpoint);
		else
			fprintf(stderr, "piugw %s: no gateway is listening at %s%s\n", verb, endpoint,
				rc == PIUGW_ENOENT ? " (is piugwd running with this configuration?)" : "");
		goto out;
	}
	rc = piugw_client_send(c, req);
	/* Replies with more set come first, each handed to more as it comes. */
	while (rc == 0 && (rc = piugw_client_recv(c, timeout_ms, replyp)) == 0 && (*replyp)->more &&
	       (*replyp)->kind_case != PIUGW__LOCAL_REPLY__KIND_ERROR) {
		if (more != NULL)
			more(*replyp, ctx);
		piugw_client_reply_free(replyp);
	}
	if (rc != 0) {
		fprintf(stderr, "piugw %s: %s\n", verb,
			rc == PIUGW_ESYSTEM && errno == ETIMEDOUT
				? "the gateway did not answer in time"
			: rc == PIUGW_ESYSTEM && errno == ECONNRESET
				? "the gateway closed the connection before it answered (it stopped "
				  "or crashed: see its log); the request may or may not have gone "
				  "out, 'piugw results' tells once it runs again"
				: piugw_strerror(rc));
		goto out;
	}
	if ((*replyp)->kind_case == PIUGW__LOCAL_REPLY__KIND_ERROR) {
		fprintf(stderr, "piugw %s: refused: %s: %s\n", verb,
			piugw_wire_error_name((enum piugw_wire_error)(*replyp)->error->code),
			(*replyp)->error->detail);
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	if (ret != CLI_EXIT_OK)
		piugw_client_reply_free(replyp);
	piugw_client_close(&c);
	config_free(&cfg);
	free(endpoint);
	diag_clear(&d);
	return ret;
}

/* See cli.h. */
int
cli_local_opts(const char *verb, int argc, char **argv, struct cli_local_opts *o,
	       void (*usage)(FILE *))
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"reason", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, 'a'},
		{"cert-secret", required_argument, NULL, 's'},
		{"all", no_argument, NULL, 'A'},
		{"authorisation", required_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->config = CLI_DEFAULT_CONFIG;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'r':
			if (!o->takes_reason)
				return cli_usage(verb, "--reason is not an option of piugw %s", verb);
			o->reason = optarg;
			break;
		case 'c': o->config = optarg; break;
		case 'a': o->api = optarg; break;
		case 's':
			if (!o->takes_cert_secret)
				return cli_usage(verb, "--cert-secret is not an option of piugw %s", verb);
			o->cert_secret = optarg;
			break;
		case 'U':
			if (!o->takes_authorisation)
				return cli_usage(verb, "--authorisation is not an option of piugw %s",
						 verb);
			o->authorisation = optarg;
			break;
		case 'A':
			if (!o->takes_all)
				return cli_usage(verb, "--all is not an option of piugw %s", verb);
			o->all = true;
			break;
		case 'h': usage(stdout); return -1;
		default: return cli_usage(verb, "unknown or incomplete option");
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return 0;
}

/* "k=v k=v" of a flat object's scalars, arrays joined with commas. */
static void
print_flat(const char *indent, const char *label, json_t *o)
{
	const char *k;
	json_t *v;

	printf("%s%-20s", indent, label);
	json_object_foreach(o, k, v) {
		if (json_is_object(v))
			continue;
		printf(" %s=", k);
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				if (json_is_object(e)) {
					const char *k2;
					json_t *v2;
					printf("%s[", i ? "," : "");
					json_object_foreach(e, k2, v2) {
						char *s = json_dumps(v2, JSON_ENCODE_ANY);
						printf(" %s=%s", k2, s ? s : "");
						free(s);
					}
					printf(" ]");
				} else {
					char *s = json_dumps(e, JSON_ENCODE_ANY);
					printf("%s%s", i ? "," : "", s ? s : "");
					free(s);
				}
			}
		} else if (json_is_string(v)) {
			printf("%s", json_string_value(v));
		} else {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			printf("%s", s ? s : "");
			free(s);
		}
	}
	printf("\n");
}

/* See cli.h. */
void
cli_print_match(const Piugw__Match *m, size_t n)
{
	const char *k;
	json_t *j, *v;

	printf("  match %zu  score %.2f%s%s  matched on", n, m->score,
	       m->needs_review ? "  NEEDS REVIEW" : "", m->masked ? "  MASKED" : "");
	for (size_t t = 0; t < m->n_matched_on; t++)
		printf(" %s", cli_safe(m->matched_on[t]));
	printf("\n");
	j = pbjson(&m->base);
	json_object_foreach(j, k, v) {
		if (json_is_object(v))
			print_flat("    ", k, v);
	}
	json_decref(j);
}

/* See cli.h. */
int
cli_print_answer(const Piugw__PeerAnswer *a)
{
	static const char *outcomes[] = {"?", "answered", "refused", "stopped locally",
					 "PEER_UNREACHABLE", "TIMEOUT", "waiting for approval",
					 "BAD_ANSWER"};
	const char *o = a->outcome <= 7 ? outcomes[a->outcome] : "?";

	if (a->outcome == PIUGW__OUTCOME__OUTCOME_UNSPECIFIED)
		o = "in flight";
	printf("%s  %s", a->peer, o);
	/* Who decided: the partner, or this gateway judging the partner's answer. */
	if (a->outcome == PIUGW__OUTCOME__OUTCOME_REFUSED)
		printf(a->decided_here ? " here, by this gateway" : " by %s", a->peer);
	if (a->request_id[0] != '\0')
		printf("  request %s", a->request_id);
	if (a->agreement_id[0] != '\0')
		printf("  agreement %s", a->agreement_id);
	printf("\n");
	if (a->error != NULL)
		printf("  %s: %s\n", piugw_wire_error_name((enum piugw_wire_error)a->error->code),
		       cli_safe(a->error->detail));
	if (a->detail != NULL && a->detail[0] != '\0')
		printf("  %s\n", cli_safe(a->detail));
	if (a->result != NULL) {
		const Piugw__QueryResult *r = a->result;
		json_t *rj = pbjson(&r->base);
		json_t *st = json_object_get(rj, "status");
		printf("  %s", st ? json_string_value(st) : "?");
		if (r->status == PIUGW__RESULT_STATUS__RESULT_PENDING)
			printf(" (approval reference %s: collect with piugw results %s --wait 60)",
			       cli_safe(r->approval_ref), a->request_id);
		else if (r->status == PIUGW__RESULT_STATUS__RESULT_DENIED)
			printf(": %s", cli_safe(r->denial_reason));
		else
			printf(": %u match%s%s", r->match_count, r->match_count == 1 ? "" : "es",
			       r->truncated ? " (more than the agreement lets be shown)" : "");
		if (json_object_get(rj, "disclosure"))
			printf(", disclosure %s", json_string_value(json_object_get(rj, "disclosure")));
		if (json_object_get(rj, "handling_code"))
			printf(", handling %s", json_string_value(json_object_get(rj, "handling_code")));
		if (json_object_get(rj, "onward_transfer"))
			printf(", onward transfer %s",
			       json_string_value(json_object_get(rj, "onward_transfer")));
		printf("\n");
		for (size_t i = 0; i < r->n_matches; i++)
			cli_print_match(r->matches[i], i + 1);
		json_decref(rj);
	}
	return a->outcome == PIUGW__OUTCOME__OUTCOME_ANSWERED ||
			       a->outcome == PIUGW__OUTCOME__OUTCOME_WAITING ||
			       a->outcome == PIUGW__OUTCOME__OUTCOME_UNSPECIFIED
		       ? CLI_EXIT_OK
		       : CLI_EXIT_FAILED;
}
