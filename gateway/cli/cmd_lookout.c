/*
 * cmd_lookout.c: piugw lookout place|list|withdraw, piugw alerts
 *
 * A lookout asks a partner to tell us when a person travels: the partner
 * holds it (doc/protocol-notes.md section 6) and checks every traveller
 * it imports against it; a match comes back as a notification, which this
 * gateway keeps as an alert until an operator marks it seen.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "num.h"
#include "piugw/client.h"
#include "piugw/error.h"
#include "vocab.h"

static void
lookout_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw lookout place --to PARTNER|all --purpose P --case REF --reason TEXT\n"
		"                           (--document NUMBER --issuer STATE |\n"
		"                            --name SURNAME --given NAMES --dob YYYY-MM-DD [--fuzzy])\n"
		"                           [--offence SCnn] [--expires 30d] [--agreement ID]\n"
		"                           [-c CONFIG | --api EP] [--json]\n"
		"       piugw lookout list [REF] [--peer] [--all] [-c CONFIG | --api EP] [--json]\n"
		"       piugw lookout withdraw REF [-c CONFIG | --api EP] [--json]\n\n"
		"  place     ask a partner (or every partner whose agreement allows it) to tell\n"
		"            us when this person travels. Waits until each partner holds it or\n"
		"            refuses it. The partner may shorten --expires to its terms' longest.\n"
		"  list      ours at partners, with their state and expiry (--peer: partners'\n"
		"            lookouts held here instead; --all: withdrawn, expired, refused too)\n"
		"  withdraw  withdraw one of ours: the partner stops looking out\n\n"
		"Options:\n"
		"  --expires D   how long: 90d, 12h, 30m or 45s (default: the longest the terms\n"
		"                allow)\n"
		"  --fuzzy       the name may be spelt otherwise; its notifications are reviewed\n"
		"                by a person at the partner first\n"
		"  -c, --config FILE   piugwd.yaml (default %s)\n"
		"  --api ENDPOINT      the gateway's local API\n"
		"  --json              machine-readable output\n"
		"  -h, --help          show this help\n\n"
		"Notifications arrive as alerts: piugw alerts.\n",
		CLI_DEFAULT_CONFIG);
}

static void
alerts_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw alerts [--all] [--wait SECONDS] [-c CONFIG | --api EP] [--json]\n"
		"       piugw alerts seen REF [-c CONFIG | --api EP] [--json]\n\n"
		"Notifications partners sent because one of our lookouts fired: the person,\n"
		"the flight, API or PNR, with what the agreement lets a notification carry.\n"
		"  (no verb)  the alerts not seen yet (--all: every alert)\n"
		"  seen REF   mark alert REF as seen by you (on record)\n\n"
		"Options:\n"
		"  --wait SECONDS  none new: wait up to this long for one (at most 3600)\n"
		"  --all           the seen ones too\n"
		"  -c, --config FILE   piugwd.yaml (default %s)\n"
		"  --api ENDPOINT      the gateway's local API\n"
		"  --json              machine-readable output\n"
		"  -h, --help          show this help\n",
		CLI_DEFAULT_CONFIG);
}

static void
when(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "-");
	else
		strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static const char *
lookout_state(Piugw__LookoutState s)
{
	switch (s) {
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_ACTIVE: return "active";
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_SUSPENDED: return "SUSPENDED";
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_SENDING: return "not answered yet";
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_REFUSED: return "REFUSED";
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_WITHDRAWN: return "withdrawn";
	case PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_EXPIRED: return "expired";
	default: return "?";
	}
}

/* "Document D12345678 (issuer D)" or "name SURNAME, Given, born ...". */
static void
criteria(const Piugw__Lookout *l, char *out, size_t size)
{
	const Piugw__LookoutPlace *p = l->place;

	if (p == NULL || p->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA__NOT_SET)
		snprintf(out, size, "a %s lookout (whom it looks for is the partner's to know)",
			 vocab_name(vocab_query_types, l->query_type));
	else if (p->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT)
		snprintf(out, size, "document %s issued by %s", cli_safe(p->document->number),
			 cli_safe(p->document->issuing_state));
	else {
		const Piugw__NameCriteria *n = p->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_NAME
						       ? p->name
						       : p->name_fuzzy;
		snprintf(out, size, "%sname %s, %s, born %s",
			 p->criteria_case == PIUGW__LOOKOUT_PLACE__CRITERIA_NAME ? "" : "fuzzy ",
			 cli_safe(n ? n->surname : ""), cli_safe(n ? n->given_names : ""),
			 cli_safe(n ? n->date_of_birth : ""));
	}
}

static void
print_lookout(const Piugw__Lookout *l)
{
	char c[400], exp[32], made[32];

	criteria(l, c, sizeof(c));
	when(l->expires_at_ms, exp);
	when(l->created_at_ms, made);
	printf("%s  %s %s  %s  agreement %s\n", cli_safe(l->reference),
	       l->incoming ? "from" : "at", cli_safe(l->peer), lookout_state(l->state),
	       cli_safe(l->agreement_id));
	printf("  %s\n", c);
	if (l->place != NULL)
		printf("  purpose %s%s%s, case %s\n", vocab_name(vocab_purposes, l->place->purpose),
		       l->place->offence[0] ? " " : "", cli_safe(l->place->offence),
		       cli_safe(l->place->case_reference));
	printf("  placed %s%s%s, expires %s, %u notification%s\n", made,
	       l->placed_by[0] ? " by " : "", cli_safe(l->placed_by), exp, l->notifications,
	       l->notifications == 1 ? "" : "s");
	if (l->their_reference[0] != '\0')
		printf("  their reference %s\n", cli_safe(l->their_reference));
	if (l->detail[0] != '\0')
		printf("  %s\n", cli_safe(l->detail));
}

/* "90d", "12h", "30m", "45s" in ms; 0 if not one. */
static int64_t
duration_ms(const char *s)
{
	size_t n = strlen(s);
	uint64_t v;
	int64_t unit;

	if (n < 2)
		return 0;
	switch (s[n - 1]) {
	case 'd': unit = 86400000; break;
	case 'h': unit = 3600000; break;
	case 'm': unit = 60000; break;
	case 's': unit = 1000; break;
	default: return 0;
	}
	if (!num_parse_u64(s, n - 1, 1, 3660, &v))
		return 0;
	return (int64_t)v * unit;
}

enum {
	O_TO = 256, O_PURPOSE, O_OFFENCE, O_CASE, O_REASON, O_DOCUMENT, O_ISSUER, O_NAME,
	O_GIVEN, O_DOB, O_FUZZY, O_EXPIRES, O_AGREEMENT, O_JSON, O_API,
};

static int
place_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"to", required_argument, NULL, O_TO},
		{"purpose", required_argument, NULL, O_PURPOSE},
		{"offence", required_argument, NULL, O_OFFENCE},
		{"case", required_argument, NULL, O_CASE},
		{"reason", required_argument, NULL, O_REASON},
		{"document", required_argument, NULL, O_DOCUMENT},
		{"issuer", required_argument, NULL, O_ISSUER},
		{"name", required_argument, NULL, O_NAME},
		{"given", required_argument, NULL, O_GIVEN},
		{"dob", required_argument, NULL, O_DOB},
		{"fuzzy", no_argument, NULL, O_FUZZY},
		{"expires", required_argument, NULL, O_EXPIRES},
		{"agreement", required_argument, NULL, O_AGREEMENT},
		{"json", no_argument, NULL, O_JSON},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, O_API},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalLookoutPlace llp = PIUGW__LOCAL_LOOKOUT_PLACE__INIT;
	Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
	Piugw__DocumentCriteria doc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__NameCriteria name = PIUGW__NAME_CRITERIA__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *config = CLI_DEFAULT_CONFIG, *api = NULL;
	bool json = false, fuzzy = false;
	int64_t expires = 0;
	int32_t day;
	int c, ret, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TO: llp.to = optarg; break;
		case O_PURPOSE: {
			int v = vocab_value(vocab_purposes, optarg, strlen(optarg));
			if (v < 0)
				return cli_usage("lookout place", "unknown purpose '%s' (one of %s)",
						 cli_safe(optarg), vocab_names(vocab_purposes));
			lp.purpose = (Piugw__Purpose)v;
			break;
		}
		case O_OFFENCE: lp.offence = optarg; break;
		case O_CASE: lp.case_reference = optarg; break;
		case O_REASON: lp.justification = optarg; break;
		case O_DOCUMENT: doc.number = optarg; break;
		case O_ISSUER: doc.issuing_state = optarg; break;
		case O_NAME: name.surname = optarg; break;
		case O_GIVEN: name.given_names = optarg; break;
		case O_DOB: name.date_of_birth = optarg; break;
		case O_FUZZY: fuzzy = true; break;
		case O_EXPIRES:
			if ((expires = duration_ms(optarg)) == 0)
				return cli_usage("lookout place", "--expires takes 90d, 12h, 30m or 45s, "
								  "not '%s'", cli_safe(optarg));
			break;
		case O_AGREEMENT: llp.agreement_id = optarg; break;
		case O_JSON: json = true; break;
		case 'c': config = optarg; break;
		case O_API: api = optarg; break;
		case 'h': lookout_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("lookout place", "unknown or incomplete option");
		}
	}
	if (optind != argc)
		return cli_usage("lookout place", "unexpected argument '%s'", cli_safe(argv[optind]));
	if (llp.to[0] == '\0')
		return cli_usage("lookout place", "name the partner with --to ID, or --to all");
	if (lp.purpose == 0)
		return cli_usage("lookout place", "name the purpose with --purpose (%s)",
				 vocab_names(vocab_purposes));
	if ((doc.number[0] != '\0') == (name.surname[0] != '\0'))
		return cli_usage("lookout place", "give either --document with --issuer, or --name "
						  "with --given and --dob");
	if (doc.number[0] != '\0') {
		if (doc.issuing_state[0] == '\0')
			return cli_usage("lookout place", "--document needs --issuer (the issuing "
							  "state)");
		if (fuzzy)
			return cli_usage("lookout place", "--fuzzy goes with --name");
		lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
		lp.document = &doc;
	} else {
		if (!num_parse_date(name.date_of_birth, strlen(name.date_of_birth), &day))
			return cli_usage("lookout place", "--name needs --dob YYYY-MM-DD, a real date");
		if (day > num_day_of_ms(cli_now_ms()))
			return cli_usage("lookout place", "--dob %s is in the future",
					 cli_safe(name.date_of_birth));
		lp.criteria_case = fuzzy ? PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY
					 : PIUGW__LOOKOUT_PLACE__CRITERIA_NAME;
		if (fuzzy)
			lp.name_fuzzy = &name;
		else
			lp.name = &name;
	}
	if (expires != 0)
		lp.expires_at_ms = cli_now_ms() + expires;
	llp.lookout = &lp;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_PLACE;
	req.lookout_place = &llp;
	if ((ret = cli_call("lookout place", config, api, &req, 320000, &reply)) != 0)
		return ret;
	/* Refused fails; not delivered yet is kept and sent again (its detail says so). */
	for (size_t i = 0; i < reply->lookouts->n_lookouts; i++)
		failed += reply->lookouts->lookouts[i]->state !=
				  PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_ACTIVE &&
			  reply->lookouts->lookouts[i]->state !=
				  PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_SENDING;
	if (json) {
		ret = cli_json_print(pbjson(&reply->lookouts->base));
	} else {
		for (size_t i = 0; i < reply->lookouts->n_lookouts; i++) {
			const Piugw__Lookout *l = reply->lookouts->lookouts[i];
			print_lookout(l);
			if (expires != 0 && l->state == PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_ACTIVE &&
			    l->expires_at_ms + 60000 < lp.expires_at_ms)
				printf("  shorter than asked: the agreement's terms allow no longer\n");
		}
		ret = CLI_EXIT_OK;
	}
	piugw_client_reply_free(&reply);
	return ret == CLI_EXIT_OK && failed > 0 ? CLI_EXIT_FAILED : ret;
}

static int
list_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"peer", no_argument, NULL, 'p'},
		{"all", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, O_JSON},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, O_API},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalLookouts ll = PIUGW__LOCAL_LOOKOUTS__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *config = CLI_DEFAULT_CONFIG, *api = NULL;
	bool json = false, peer = false, all = false;
	size_t shown = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': peer = true; break;
		case 'a': all = true; break;
		case O_JSON: json = true; break;
		case 'c': config = optarg; break;
		case O_API: api = optarg; break;
		case 'h': lookout_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("lookout list", "unknown or incomplete option");
		}
	}
	if (argc - optind > 1)
		return cli_usage("lookout list", "name at most one lookout");
	if (optind < argc)
		ll.reference = argv[optind];
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_LOOKOUTS;
	req.lookouts = &ll;
	if ((ret = cli_call("lookout list", config, api, &req, 10000, &reply)) != 0)
		return ret;
	{
		Piugw__LookoutsReply *lr = reply->lookouts;
		size_t k = 0;
		/* Ours or the partners', in force unless --all (or one named). */
		for (size_t i = 0; i < lr->n_lookouts; i++) {
			Piugw__Lookout *l = lr->lookouts[i];
			bool keep = ll.reference[0] != '\0' ||
				    (l->incoming == peer &&
				     (all || l->state == PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_ACTIVE ||
				      l->state == PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_SUSPENDED ||
				      l->state == PIUGW__LOOKOUT_STATE__LOOKOUT_STATE_SENDING));
			if (keep)
				lr->lookouts[k++] = l;
			else
				piugw__lookout__free_unpacked(l, NULL);
		}
		lr->n_lookouts = k;
		shown = k;
	}
	if (json) {
		ret = cli_json_print(pbjson(&reply->lookouts->base));
	} else {
		if (shown == 0)
			printf("%s\n", ll.reference[0] ? "no such lookout"
				       : peer ? "no partner's lookout is held here"
					      : "no lookout of ours is in force (--all: every one)");
		for (size_t i = 0; i < shown; i++)
			print_lookout(reply->lookouts->lookouts[i]);
		ret = CLI_EXIT_OK;
	}
	piugw_client_reply_free(&reply);
	return ll.reference[0] != '\0' && shown == 0 ? CLI_EXIT_FAILED : ret;
}

static int
withdraw_main(int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalLookoutWithdraw lw = PIUGW__LOCAL_LOOKOUT_WITHDRAW__INIT;
	Piugw__LocalReply *reply = NULL;
	struct cli_local_opts o = {0};
	int ret;

	if ((ret = cli_local_opts("lookout withdraw", argc, argv, &o, lookout_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.nargs != 1)
		return cli_usage("lookout withdraw", "name one lookout of ours (piugw lookout list)");
	lw.reference = o.args[0];
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_LOOKOUT_WITHDRAW;
	req.lookout_withdraw = &lw;
	if ((ret = cli_call("lookout withdraw", o.config, o.api, &req, 320000, &reply)) != 0)
		return ret;
	if (o.json)
		ret = cli_json_print(pbjson(&reply->lookouts->base));
	else
		for (size_t i = 0; i < reply->lookouts->n_lookouts; i++)
			print_lookout(reply->lookouts->lookouts[i]);
	piugw_client_reply_free(&reply);
	return ret;
}

/* See cli.h. */
int
lookout_main(int argc, char **argv)
{
	if (argc < 2) {
		lookout_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		lookout_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "place") == 0)
		return place_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return list_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "withdraw") == 0)
		return withdraw_main(argc - 1, argv + 1);
	return cli_usage("lookout", "unknown subcommand '%s' (place, list, withdraw)",
			 cli_safe(argv[1]));
}

static const char *
source_name(Piugw__NotificationSource s)
{
	switch (s) {
	case PIUGW__NOTIFICATION_SOURCE__SOURCE_API: return "API";
	case PIUGW__NOTIFICATION_SOURCE__SOURCE_PNR: return "PNR";
	case PIUGW__NOTIFICATION_SOURCE__SOURCE_API_AND_PNR: return "API and PNR";
	default: return "?";
	}
}

static void
print_alert(const Piugw__Alert *a)
{
	const Piugw__Notification *n = a->notification;
	char got[32];

	when(a->received_at_ms, got);
	printf("%s  from %s  %s%s  lookout %s  case %s\n", cli_safe(a->reference), cli_safe(a->peer),
	       got, a->state == PIUGW__NOTIFICATION_STATE__NOTIFICATION_STATE_NEW ? "  NEW" : "",
	       cli_safe(a->lookout_reference), cli_safe(a->case_reference));
	if (n == NULL)
		return;
	if (n->flight != NULL)
		printf("  travels on %s %s on %s%s%s%s%s  (%s)\n", cli_safe(n->flight->carrier),
		       cli_safe(n->flight->flight_number), cli_safe(n->flight->departure_date),
		       n->flight->departure_airport[0] ? " from " : "",
		       cli_safe(n->flight->departure_airport),
		       n->flight->arrival_airport[0] ? " to " : "",
		       cli_safe(n->flight->arrival_airport), source_name(n->source));
	if (n->match != NULL)
		cli_print_match(n->match, 1);
	{
		json_t *j = pbjson(&n->base);
		json_t *h = json_object_get(j, "handling_code"), *o = json_object_get(j, "onward_transfer");
		printf("  handling %s, onward transfer %s\n", h ? json_string_value(h) : "?",
		       o ? json_string_value(o) : "?");
		json_decref(j);
	}
	if (a->seen_by[0] != '\0')
		printf("  seen by %s\n", cli_safe(a->seen_by));
}

/* See cli.h. */
int
alerts_main(int argc, char **argv)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalAlerts la = PIUGW__LOCAL_ALERTS__INIT;
	Piugw__LocalAlertSeen ls = PIUGW__LOCAL_ALERT_SEEN__INIT;
	Piugw__LocalReply *reply = NULL;
	bool seen = argc >= 2 && strcmp(argv[1], "seen") == 0;
	struct cli_local_opts o = {.takes_all = !seen};
	uint64_t wait_s = 0;
	int ret;

	/* --wait SECONDS is ours; the rest are the local verbs' options. */
	for (int i = 1; !seen && i < argc; i++)
		if (strcmp(argv[i], "--wait") == 0) {
			if (i + 1 >= argc ||
			    !num_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, 3600, &wait_s))
				return cli_usage("alerts", "--wait takes 1 to 3600 seconds");
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			break;
		}
	if ((ret = cli_local_opts(seen ? "alerts seen" : "alerts", seen ? argc - 1 : argc,
				  seen ? argv + 1 : argv, &o, alerts_usage)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (seen) {
		if (o.nargs != 1)
			return cli_usage("alerts seen", "name one alert (piugw alerts)");
		ls.reference = o.args[0];
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_ALERT_SEEN;
		req.alert_seen = &ls;
	} else {
		if (o.nargs != 0)
			return cli_usage("alerts", "unexpected argument '%s' (seen REF?)",
					 cli_safe(o.args[0]));
		la.all = o.all;
		la.wait_ms = (uint32_t)wait_s * 1000;
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_ALERTS;
		req.alerts = &la;
	}
	if ((ret = cli_call(seen ? "alerts seen" : "alerts", o.config, o.api, &req,
			    (int)wait_s * 1000 + 10000, &reply)) != 0)
		return ret;
	if (o.json) {
		ret = cli_json_print(pbjson(&reply->alerts->base));
	} else {
		if (reply->alerts->n_alerts == 0)
			printf("%s\n", o.all ? "no alert" : "no new alert");
		for (size_t i = 0; i < reply->alerts->n_alerts; i++)
			print_alert(reply->alerts->alerts[i]);
		if (seen && reply->alerts->n_alerts == 1)
			printf("marked seen\n");
	}
	piugw_client_reply_free(&reply);
	return ret;
}
