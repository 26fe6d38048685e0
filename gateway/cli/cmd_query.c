/*
 * cmd_query.c: piugw query ... and piugw results ID
 *
 * The analyst's verbs: ask one partner or all of them about a passenger,
 * through the running gateway, and collect answers that were held for
 * approval at the partner.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "num.h"
#include "piugw/error.h"
#include "vocab.h"

static void
query_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw query --to PARTNER|all --purpose PURPOSE [--offence SCnn]\n"
		"                   --case REF --reason TEXT CRITERIA [options]\n\n"
		"Ask a partner PIU (or every partner whose agreement allows it) about a passenger.\n"
		"Our own outbound terms are checked first: a request the partner would refuse is\n"
		"stopped here with the same reason.\n\n"
		"Criteria (one kind):\n"
		"  --document NUMBER --issuer STATE [--doc-type T]   travel document\n"
		"  --name SURNAME [--given NAMES] --dob YYYY-MM-DD    exact (normalised) name\n"
		"       [--fuzzy] [--nationality N]                   --fuzzy: similar names\n"
		"  --locator PNR [--carrier XX]                       booking record locator\n"
		"  --flight NUMBER --carrier XX --date YYYY-MM-DD     everyone on a flight\n"
		"  --phone P | --email E | --ff 'XX 12345'            selector\n\n"
		"Request:\n"
		"  --to PARTNER|all    gateway id of the partner, or all partners\n"
		"  --purpose P         %s\n"
		"  --offence SCnn      Annex II offence code, with serious_crime\n"
		"  --case REF          your case reference\n"
		"  --reason TEXT       the reasoned justification of this request\n"
		"  --categories LIST   comma-separated categories to ask for (default: all allowed)\n"
		"  --max N             at most N records\n"
		"  --agreement ID      ask under this agreement\n"
		"  --deadline SECONDS  give up after this long (default: the gateway's)\n\n"
		"Output: each partner's answer as it comes, then a summary line (how many\n"
		"answered, hit, no hit, pending, refused, unreachable, and who). A partner whose\n"
		"connection is down is answered PEER_UNREACHABLE within seconds, not at the deadline.\n"
		"  --json              machine-readable: one object at the end, with \"summary\"\n"
		"  --stream            with --json: one JSON object a line, each answer as it\n"
		"                      comes ({\"answer\": ...}), then {\"summary\": ...}\n"
		"  -c, --config FILE   the gateway's piugwd.yaml (default %s)\n"
		"  --api ipc://PATH    the gateway's local API instead (or PIUGW_API)\n"
		"  -h, --help          show this help\n\n"
		"Exit 0 if every partner answered (or holds it for approval), 1 if any refused\n"
		"or could not be reached, 2 on misuse.\n",
		vocab_names(vocab_purposes), CLI_DEFAULT_CONFIG);
}

enum {
	O_TO = 256, O_PURPOSE, O_OFFENCE, O_CASE, O_REASON, O_DOCUMENT, O_ISSUER, O_DOCTYPE,
	O_NAME, O_GIVEN, O_DOB, O_FUZZY, O_NATIONALITY, O_LOCATOR, O_CARRIER, O_FLIGHT, O_DATE,
	O_PHONE, O_EMAIL, O_FF, O_CATEGORIES, O_MAX, O_AGREEMENT, O_DEADLINE, O_JSON, O_API,
	O_WAIT, O_STREAM,
};

/* Parse "a,b,c" categories into q. */
static bool
parse_categories(const char *s, Piugw__Query *q)
{
	static Piugw__Category v[16];
	size_t n = 0;

	while (*s != '\0') {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		int c = vocab_value(vocab_categories, s, len);
		if (c < 0 || n == 16) {
			fprintf(stderr, "piugw query: unknown category '%.*s' (one of %s)\n", (int)len,
				s, vocab_names(vocab_categories));
			return false;
		}
		v[n++] = (Piugw__Category)c;
		s += len + (e != NULL);
	}
	q->categories = v;
	q->n_categories = n;
	return true;
}

/* What the analyst sees as answers come: each once, in text or as JSON lines. */
struct shown {
	bool json;     /* JSON lines (--json --stream), else text */
	char **peers;  /* those shown so far */
	size_t n;
};

static bool
shown_already(const struct shown *sh, const char *peer)
{
	for (size_t i = 0; i < sh->n; i++)
		if (strcmp(sh->peers[i], peer) == 0)
			return true;
	return false;
}

static void
show_answer(struct shown *sh, const Piugw__PeerAnswer *a)
{
	char **np;

	if (shown_already(sh, a->peer))
		return;
	if (sh->json) {
		json_t *o = json_pack("{s:o}", "answer", pbjson(&a->base));
		char *t = json_dumps(o, JSON_COMPACT);
		if (t != NULL)
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else {
		if (sh->n > 0)
			printf("\n");
		cli_print_answer(a);
	}
	fflush(stdout);
	if ((np = realloc(sh->peers, (sh->n + 1) * sizeof(*np))) != NULL) {
		sh->peers = np;
		sh->peers[sh->n++] = strdup(a->peer);
	}
}

/* A streamed answer (LocalReply with more set): shown as it comes. */
static void
on_more(const Piugw__LocalReply *r, void *ctx)
{
	if (r->kind_case == PIUGW__LOCAL_REPLY__KIND_QUERY)
		for (size_t i = 0; i < r->query->n_answers; i++)
			show_answer(ctx, r->query->answers[i]);
}

/* The summary's groups, in the order it names them. */
enum { S_HIT, S_NO_HIT, S_PENDING, S_REFUSED, S_UNREACHABLE, S_TIMEOUT, S_BAD, S_N };
static const char *const group_names[S_N] = {"hit", "no hit", "pending", "refused",
					     "unreachable", "timed out", "bad answer"};
static const char *const group_keys[S_N] = {"hit", "no_hit", "pending", "refused",
					    "unreachable", "timeout", "bad_answer"};

static int
group_of(const Piugw__PeerAnswer *a)
{
	switch (a->outcome) {
	case PIUGW__OUTCOME__OUTCOME_ANSWERED:
		if (a->result == NULL)
			return S_BAD;
		if (a->result->status == PIUGW__RESULT_STATUS__RESULT_HIT)
			return S_HIT;
		if (a->result->status == PIUGW__RESULT_STATUS__RESULT_NO_HIT)
			return S_NO_HIT;
		if (a->result->status == PIUGW__RESULT_STATUS__RESULT_PENDING)
			return S_PENDING;
		return S_REFUSED; /* DENIED by a person there */
	case PIUGW__OUTCOME__OUTCOME_WAITING:
	case PIUGW__OUTCOME__OUTCOME_UNSPECIFIED:
		return S_PENDING;
	case PIUGW__OUTCOME__OUTCOME_REFUSED:
	case PIUGW__OUTCOME__OUTCOME_REFUSED_LOCALLY:
		return S_REFUSED;
	case PIUGW__OUTCOME__OUTCOME_PEER_UNREACHABLE:
		return S_UNREACHABLE;
	case PIUGW__OUTCOME__OUTCOME_TIMEOUT:
		return S_TIMEOUT;
	default:
		return S_BAD;
	}
}

/*
 * The last line: how many partners, how many answered, hit, no hit,
 * pending, refused, unreachable, timed out, and who (all but the no hits).
 */
static json_t *
summary(const Piugw__QueryReply *qr, bool text)
{
	json_t *o = json_object(), *who[S_N];
	size_t count[S_N] = {0};

	for (int k = 0; k < S_N; k++)
		who[k] = json_array();
	for (size_t i = 0; i < qr->n_answers; i++) {
		int k = group_of(qr->answers[i]);
		count[k]++;
		json_array_append_new(who[k], json_string(qr->answers[i]->peer));
	}
	json_object_set_new(o, "partners", json_integer((json_int_t)qr->n_answers));
	json_object_set_new(o, "answered",
			    json_integer((json_int_t)(count[S_HIT] + count[S_NO_HIT])));
	for (int k = 0; k < S_N; k++) {
		json_t *g = json_object();
		json_object_set_new(g, "count", json_integer((json_int_t)count[k]));
		json_object_set_new(g, "who", who[k]);
		json_object_set_new(o, group_keys[k], g);
	}
	if (text) {
		printf("%ssummary: %zu partner%s, %zu answered (%zu hit, %zu no hit)",
		       qr->n_answers > 0 ? "\n" : "", qr->n_answers, qr->n_answers == 1 ? "" : "s",
		       count[S_HIT] + count[S_NO_HIT], count[S_HIT], count[S_NO_HIT]);
		for (int k = S_PENDING; k < S_N; k++)
			if (count[k] > 0 || k <= S_UNREACHABLE)
				printf(", %zu %s", count[k], group_names[k]);
		for (int k = 0; k < S_N; k++) {
			if (k == S_NO_HIT || count[k] == 0)
				continue;
			printf("; %s: ", group_names[k]);
			for (size_t i = 0; i < json_array_size(who[k]); i++)
				printf("%s%s", i ? " " : "",
				       json_string_value(json_array_get(who[k], i)));
		}
		printf("\n");
	}
	return o;
}

/* The answers (those not shown as they came), and with summarise the summary. */
static int
print_reply(const Piugw__LocalReply *r, bool json, bool stream, bool summarise, struct shown *sh)
{
	const Piugw__QueryReply *qr = r->query;
	int ret = CLI_EXIT_OK;

	if (r->kind_case != PIUGW__LOCAL_REPLY__KIND_QUERY) {
		fprintf(stderr, "piugw: unexpected reply from the gateway\n");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < qr->n_answers; i++) {
		const Piugw__PeerAnswer *a = qr->answers[i];
		if (a->outcome != PIUGW__OUTCOME__OUTCOME_ANSWERED &&
		    a->outcome != PIUGW__OUTCOME__OUTCOME_WAITING &&
		    a->outcome != PIUGW__OUTCOME__OUTCOME_UNSPECIFIED)
			ret = CLI_EXIT_FAILED;
	}
	if (json && !stream) {
		json_t *o = pbjson(&qr->base);
		if (summarise)
			json_object_set_new(o, "summary", summary(qr, false));
		int rc = cli_json_print(o);
		return rc != 0 ? rc : ret;
	}
	/* What did not come streamed (all of it from an older gateway), then the summary. */
	for (size_t i = 0; i < qr->n_answers; i++)
		show_answer(sh, qr->answers[i]);
	if (!summarise)
		return ret;
	if (json) {
		json_t *o = json_pack("{s:o}", "summary", summary(qr, false));
		char *t = json_dumps(o, JSON_COMPACT);
		if (t != NULL)
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else
		json_decref(summary(qr, true));
	return ret;
}

int
query_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"to", required_argument, NULL, O_TO},
		{"purpose", required_argument, NULL, O_PURPOSE},
		{"offence", required_argument, NULL, O_OFFENCE},
		{"case", required_argument, NULL, O_CASE},
		{"reason", required_argument, NULL, O_REASON},
		{"document", required_argument, NULL, O_DOCUMENT},
		{"issuer", required_argument, NULL, O_ISSUER},
		{"doc-type", required_argument, NULL, O_DOCTYPE},
		{"name", required_argument, NULL, O_NAME},
		{"given", required_argument, NULL, O_GIVEN},
		{"dob", required_argument, NULL, O_DOB},
		{"fuzzy", no_argument, NULL, O_FUZZY},
		{"nationality", required_argument, NULL, O_NATIONALITY},
		{"locator", required_argument, NULL, O_LOCATOR},
		{"carrier", required_argument, NULL, O_CARRIER},
		{"flight", required_argument, NULL, O_FLIGHT},
		{"date", required_argument, NULL, O_DATE},
		{"phone", required_argument, NULL, O_PHONE},
		{"email", required_argument, NULL, O_EMAIL},
		{"ff", required_argument, NULL, O_FF},
		{"categories", required_argument, NULL, O_CATEGORIES},
		{"max", required_argument, NULL, O_MAX},
		{"agreement", required_argument, NULL, O_AGREEMENT},
		{"deadline", required_argument, NULL, O_DEADLINE},
		{"json", no_argument, NULL, O_JSON},
		{"stream", no_argument, NULL, O_STREAM},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, O_API},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria doc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__NameCriteria name = PIUGW__NAME_CRITERIA__INIT;
	Piugw__LocatorCriteria loc = PIUGW__LOCATOR_CRITERIA__INIT;
	Piugw__FlightCriteria fl = PIUGW__FLIGHT_CRITERIA__INIT;
	Piugw__SelectorCriteria sel = PIUGW__SELECTOR_CRITERIA__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *config = CLI_DEFAULT_CONFIG, *api = NULL, *flight = NULL, *carrier = NULL;
	bool json = false, fuzzy = false, stream = false;
	struct shown sh = {0};
	int32_t day = 0;
	int c, kinds = 0, ret;
	uint64_t v;

	if (argc < 2) {
		query_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TO: lq.to = optarg; break;
		case O_PURPOSE:
			if ((v = (uint64_t)vocab_value(vocab_purposes, optarg, strlen(optarg))) ==
			    (uint64_t)-1)
				return cli_usage("query", "unknown purpose '%s' (one of %s)", optarg,
						 vocab_names(vocab_purposes));
			q.purpose = (Piugw__Purpose)v;
			break;
		case O_OFFENCE: q.offence = optarg; break;
		case O_CASE: q.case_reference = optarg; break;
		case O_REASON: q.justification = optarg; break;
		case O_DOCUMENT: doc.number = optarg; kinds |= 1; break;
		case O_ISSUER: doc.issuing_state = optarg; break;
		case O_DOCTYPE: doc.type = optarg; break;
		case O_NAME: name.surname = optarg; kinds |= 2; break;
		case O_GIVEN: name.given_names = optarg; break;
		case O_DOB: name.date_of_birth = optarg; break;
		case O_FUZZY: fuzzy = true; break;
		case O_NATIONALITY: name.nationality = optarg; break;
		case O_LOCATOR: loc.record_locator = optarg; kinds |= 4; break;
		case O_CARRIER: carrier = optarg; break;
		case O_FLIGHT: flight = optarg; kinds |= 8; break;
		case O_DATE: fl.departure_date = optarg; break;
		case O_PHONE: sel.kind = PIUGW__SELECTOR_KIND__SELECTOR_PHONE; sel.value = optarg; kinds |= 16; break;
		case O_EMAIL: sel.kind = PIUGW__SELECTOR_KIND__SELECTOR_EMAIL; sel.value = optarg; kinds |= 16; break;
		case O_FF: sel.kind = PIUGW__SELECTOR_KIND__SELECTOR_FREQUENT_FLYER; sel.value = optarg; kinds |= 16; break;
		case O_CATEGORIES:
			if (!parse_categories(optarg, &q))
				return CLI_EXIT_USAGE;
			break;
		case O_MAX:
			if (!num_parse_u64(optarg, strlen(optarg), 1, 10000, &v))
				return cli_usage("query", "--max takes 1 to 10000");
			q.max_results = (uint32_t)v;
			break;
		case O_AGREEMENT: lq.agreement_id = optarg; break;
		case O_DEADLINE:
			if (!num_parse_u64(optarg, strlen(optarg), 1, 300, &v))
				return cli_usage("query", "--deadline takes 1 to 300 seconds");
			lq.deadline_ms = (uint32_t)v * 1000;
			break;
		case O_JSON: json = true; break;
		case O_STREAM: stream = true; break;
		case 'c': config = optarg; break;
		case O_API: api = optarg; break;
		case 'h': query_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("query", "unknown or incomplete option");
		}
	}
	if (optind != argc)
		return cli_usage("query", "unexpected argument '%s'", argv[optind]);
	if (lq.to[0] == '\0')
		return cli_usage("query", "name the partner with --to ID, or --to all");
	if (q.purpose == 0)
		return cli_usage("query", "name the purpose with --purpose (%s)",
				 vocab_names(vocab_purposes));
	if (kinds == 0 || (kinds & (kinds - 1)) != 0)
		return cli_usage("query", "give exactly one kind of criteria (--document, --name, "
					  "--locator, --flight, or a selector)");
	switch (kinds) {
	case 1:
		if (doc.issuing_state[0] == '\0')
			return cli_usage("query", "--document needs --issuer (the issuing state)");
		q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
		q.document = &doc;
		break;
	case 2:
		if (name.date_of_birth[0] == '\0')
			return cli_usage("query", "--name needs --dob YYYY-MM-DD");
		/* Sent as it is, a date no one has would come back a false "no hit". */
		if (!num_parse_date(name.date_of_birth, strlen(name.date_of_birth), &day))
			return cli_usage("query", "--dob '%s' is not a real date (YYYY-MM-DD)",
					 cli_safe(name.date_of_birth));
		if (day > num_day_of_ms(cli_now_ms()))
			return cli_usage("query", "--dob %s is in the future", name.date_of_birth);
		q.criteria_case = fuzzy ? PIUGW__QUERY__CRITERIA_NAME_FUZZY : PIUGW__QUERY__CRITERIA_NAME;
		if (fuzzy)
			q.name_fuzzy = &name;
		else
			q.name = &name;
		break;
	case 4:
		if (carrier != NULL)
			loc.carrier = (char *)carrier;
		q.criteria_case = PIUGW__QUERY__CRITERIA_LOCATOR;
		q.locator = &loc;
		break;
	case 8:
		if (carrier == NULL || fl.departure_date[0] == '\0')
			return cli_usage("query", "--flight needs --carrier and --date");
		if (!num_parse_date(fl.departure_date, strlen(fl.departure_date), &day))
			return cli_usage("query", "--date '%s' is not a real date (YYYY-MM-DD)",
					 cli_safe(fl.departure_date));
		fl.carrier = (char *)carrier;
		fl.flight_number = (char *)flight;
		q.criteria_case = PIUGW__QUERY__CRITERIA_FLIGHT;
		q.flight = &fl;
		break;
	default:
		q.criteria_case = PIUGW__QUERY__CRITERIA_SELECTOR;
		q.selector = &sel;
		break;
	}
	lq.query = &q;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_QUERY;
	req.query = &lq;
	/* Text shows each answer as it comes; JSON is one object, or with --stream one a line. */
	lq.stream = !json || stream;
	sh.json = json;
	ret = cli_call_stream("query", config, api, &req,
			      (int)(lq.deadline_ms ? lq.deadline_ms : 300000) + 5000, on_more, &sh,
			      &reply);
	if (ret == CLI_EXIT_OK)
		ret = print_reply(reply, json, lq.stream, true, &sh);
	piugw_client_reply_free(&reply);
	for (size_t i = 0; i < sh.n; i++)
		free(sh.peers[i]);
	free(sh.peers);
	return ret;
}

static void
results_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw results REQUEST-ID [--wait SECONDS] [--json] [-c CONFIG | --api EP]\n\n"
		"Show the answer to a query this gateway sent (the request id piugw query printed).\n"
		"An answer held for approval at the partner is polled for by the gateway; --wait\n"
		"waits up to SECONDS for it to become final.\n");
}

int
results_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"wait", required_argument, NULL, O_WAIT},
		{"json", no_argument, NULL, O_JSON},
		{"config", required_argument, NULL, 'c'},
		{"api", required_argument, NULL, O_API},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalResults lr = PIUGW__LOCAL_RESULTS__INIT;
	Piugw__LocalReply *reply = NULL;
	const char *config = CLI_DEFAULT_CONFIG, *api = NULL;
	bool json = false;
	int c, ret;
	uint64_t v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_WAIT:
			if (!num_parse_u64(optarg, strlen(optarg), 0, 600, &v))
				return cli_usage("results", "--wait takes 0 to 600 seconds");
			lr.wait_ms = (uint32_t)v * 1000;
			break;
		case O_JSON: json = true; break;
		case 'c': config = optarg; break;
		case O_API: api = optarg; break;
		case 'h': results_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("results", "unknown or incomplete option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage("results", "name one request id");
	lr.request_id = argv[optind];
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_RESULTS;
	req.results = &lr;
	if ((ret = cli_call("results", config, api, &req, (int)lr.wait_ms + 10000, &reply)) != 0)
		return ret;
	{
		struct shown sh = {.json = false};
		ret = print_reply(reply, json, false, false, &sh);
		for (size_t i = 0; i < sh.n; i++)
			free(sh.peers[i]);
		free(sh.peers);
	}
	piugw_client_reply_free(&reply);
	return ret;
}
