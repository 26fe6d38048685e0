/*
 * cmd_peers.c: piugw peers and piugw status
 *
 * peers asks every partner (Hello) and shows reachability, round trip,
 * clock offset and both sides' agreement hashes; status is the operator's
 * one-screen view of the running gateway.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "piugw/error.h"

static void
peers_usage(FILE *f)
{
	fprintf(f, "Usage: piugw peers [--json] [-c CONFIG | --api EP]\n\n"
		   "Ask every partner now (Hello) and show whether it answers, the round trip, the\n"
		   "offset of its clock from ours, and both sides' agreement fingerprints.\n"
		   "Exit 1 if a partner is unreachable or holds an agreement under another hash.\n");
}

static void
hash8(const ProtobufCBinaryData *h, char out[17])
{
	sodium_bin2hex(out, 17, h->data, h->len < 8 ? h->len : 8);
}

int
peers_main(int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalPeers lp = PIUGW__LOCAL_PEERS__INIT;
	Piugw__LocalReply *reply = NULL;
	struct cli_local_opts o = {0};
	int ret;

	if ((ret = cli_local_opts("peers", argc, argv, &o, peers_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.nargs != 0)
		return cli_usage("peers", "unexpected argument '%s'", o.args[0]);
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_PEERS;
	req.peers = &lp;
	if ((ret = cli_call("peers", o.config, o.api, &req, 15000, &reply)) != 0)
		return ret;
	for (size_t i = 0; i < reply->peers->n_peers; i++) {
		const Piugw__PeerInfo *p = reply->peers->peers[i];
		if (!p->reachable || (p->problem != NULL && p->problem[0] != '\0'))
			ret = CLI_EXIT_FAILED;
	}
	if (o.json) {
		int rc = cli_json_print(pbjson(&reply->peers->base));
		piugw_client_reply_free(&reply);
		return rc != 0 ? rc : ret;
	}
	printf("%-12s %-24s %-11s %9s %10s  agreements (ours / theirs)\n", "PARTNER", "ENDPOINT",
	       "STATE", "RTT", "CLOCK");
	for (size_t i = 0; i < reply->peers->n_peers; i++) {
		const Piugw__PeerInfo *p = reply->peers->peers[i];
		char rtt[16] = "-", off[16] = "-", age[40] = "";
		int64_t now = cli_now_ms();
		if (p->rtt_us > 0) { /* it answered, if only to refuse */
			snprintf(rtt, sizeof(rtt), "%.2f ms", (double)p->rtt_us / 1000.0);
			snprintf(off, sizeof(off), "%+lld ms", (long long)p->clock_offset_ms);
			/* A dead partner's figures are its last: say how old. */
			if (p->measured_at_ms > 0 && (!p->reachable || now - p->measured_at_ms > 90000))
				snprintf(age, sizeof(age), " (%s ago)",
					 cli_ago(now - p->measured_at_ms));
		}
		printf("%-12s %-24s %-11s %9s %10s%s ", p->id, p->endpoint,
		       p->reachable ? "reachable" : "UNREACHABLE", rtt, off, age);
		for (size_t k = 0; k < p->n_ours; k++) {
			char a[17], b[17] = "-";
			hash8(&p->ours[k]->hash, a);
			for (size_t t = 0; t < p->n_theirs; t++)
				if (strcmp(p->theirs[t]->id, p->ours[k]->id) == 0)
					hash8(&p->theirs[t]->hash, b);
			printf(" %s %s/%s%s", p->ours[k]->id, a, b,
			       strcmp(b, "-") != 0 && strcmp(a, b) != 0 ? " DIFFER" : "");
		}
		printf("\n");
		if (p->problem != NULL && p->problem[0] != '\0')
			printf("  %s\n", cli_safe(p->problem));
	}
	piugw_client_reply_free(&reply);
	return ret;
}

static void
status_usage(FILE *f)
{
	fprintf(f, "Usage: piugw status [--json] [-c CONFIG | --api EP]\n\n"
		   "The running gateway at a glance: directory, agreements and days left, partners'\n"
		   "connections, pending approvals, queries in flight, the audit log, the store.\n"
		   "Exit 1 if the audit log cannot be written, or a partner witnessed a checkpoint\n"
		   "of it that the log no longer holds (it was cut or swapped since).\n");
}

int
status_main(int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalStatus ls = PIUGW__LOCAL_STATUS__INIT;
	Piugw__LocalReply *reply = NULL;
	const Piugw__StatusReply *s;
	struct cli_local_opts o = {0};
	int ret;

	if ((ret = cli_local_opts("status", argc, argv, &o, status_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.nargs != 0)
		return cli_usage("status", "unexpected argument '%s'", o.args[0]);
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_STATUS;
	req.status = &ls;
	if ((ret = cli_call("status", o.config, o.api, &req, 10000, &reply)) != 0)
		return ret;
	s = reply->status;
	bool alarm = s->audit_witness_alarm != NULL && s->audit_witness_alarm[0] != '\0';
	ret = (s->audit_problem != NULL && s->audit_problem[0] != '\0') || alarm ? CLI_EXIT_FAILED
										  : CLI_EXIT_OK;
	if (o.json) {
		int rc = cli_json_print(pbjson(&s->base));
		piugw_client_reply_free(&reply);
		return rc != 0 ? rc : ret;
	}
	printf("gateway     %s (%s)\n", s->gateway_id, s->software);
	printf("directory   serial %ju, expires %s, %ju members\n", (uintmax_t)s->directory_serial,
	       s->directory_expires, (uintmax_t)s->directory_members);
	printf("agreements\n");
	for (size_t i = 0; i < s->n_agreements; i++)
		printf("  %-24s with %-10s %s, %d days left\n", s->agreements[i]->id,
		       s->agreements[i]->peer, s->agreements[i]->state, s->agreements[i]->days_left);
	printf("partners\n");
	for (size_t i = 0; i < s->n_peers; i++) {
		const Piugw__PeerInfo *p = s->peers[i];
		char rtt[48] = "";
		if (p->rtt_us > 0)
			snprintf(rtt, sizeof(rtt), ", last round trip %.2f ms", (double)p->rtt_us / 1000.0);
		printf("  %-10s %-24s %s%s%s%s\n", p->id, p->endpoint,
		       p->connected ? "connected" : "not connected", rtt,
		       p->problem && p->problem[0] ? ": " : "", cli_safe(p->problem));
	}
	printf("pending     %u approval(s) waiting (piugw pending)\n", s->pending_approvals);
	if (s->proposals_held > 0)
		printf("proposals   %u agreement(s) proposed to us, waiting for a decision "
		       "(piugw agreement incoming)\n", s->proposals_held);
	printf("in flight   %u query(ies)\n", s->queries_in_flight);
	bool problem = s->audit_problem != NULL && s->audit_problem[0] != '\0';
	printf("audit       head %ju, durable %ju, last checkpoint %lld s ago%s%s\n",
	       (uintmax_t)s->audit_head, (uintmax_t)s->audit_durable,
	       (long long)((cli_now_ms() - s->audit_last_checkpoint_ms) / 1000),
	       problem ? ", PROBLEM: " : "", problem ? s->audit_problem : "");
	if (alarm)
		printf("            ALARM: %s\n", cli_safe(s->audit_witness_alarm));
	printf("store       %ju traveller rows\n", (uintmax_t)s->store_rows);
	piugw_client_reply_free(&reply);
	return ret;
}
