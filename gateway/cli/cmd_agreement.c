/*
 * cmd_agreement.c: piugw agreement sign|check|diff|suspend|resume
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agreement.h"
#include "cli.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"
#include "policy.h"

static void
agreement_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw agreement new --template FILE --party A --party B --id ID\n"
		"                           --from DATE --until DATE [--out FILE] [--json]\n"
		"       piugw agreement sign --cert-secret FILE AGREEMENT.yaml... [--json]\n"
		"       piugw agreement check [-c CONFIG] AGREEMENT.yaml... [--json]\n"
		"       piugw agreement diff FILE1 FILE2 [--json]\n"
		"       piugw agreement suspend [-c CONFIG] [--reason TEXT] ID [--json]\n"
		"       piugw agreement resume [-c CONFIG] ID [--json]\n"
		"       (over the mesh: propose, incoming, outgoing, accept, decline: below)\n\n"
		"  new      a new agreement from a template (any agreement file): its id, dates\n"
		"           and parties replaced (the template's first party by the first --party,\n"
		"           its second by the second, in every term), its terms per direction kept;\n"
		"           written to --out (default ID.yaml), never over a file that is there\n"
		"  sign     add (or replace) this gateway's signature in AGREEMENT.yaml.sig, for\n"
		"           each file named (exit 1 if one could not be signed)\n"
		"  check    which signatures are present and valid, and whether the agreement\n"
		"           is in force today, or why not, for each file (exit 1 if one is not)\n"
		"  diff     term-by-term differences between two copies (exit 1 if they differ)\n"
		"  suspend  stop using an agreement here, at once, without anyone's signature\n"
		"  resume   lift a local suspension\n\n"
		"Options:\n"
		"  --cert-secret FILE  this gateway's secret certificate (ID.cert_secret)\n"
		"  -c, --config FILE   piugwd.yaml (default %s): where the directory,\n"
		"                      the secretariat key and the state directory are\n"
		"  --reason TEXT       why, for the record (suspend)\n"
		"  --template FILE     new: the agreement to start from\n"
		"  --party ID          new: twice, the two parties (gateway ids)\n"
		"  --id ID             new: the new agreement's id\n"
		"  --from, --until D   new: in force from and until these days (YYYY-MM-DD)\n"
		"  --out FILE          new: where to write it\n"
		"  --json              machine-readable output\n"
		"  -h, --help          show this help\n\n",
		CLI_DEFAULT_CONFIG);
	agreement_mesh_usage(f);
}

struct opts {
	const char *cert_secret;
	const char *config;
	const char *reason;
	const char *template, *id, *from, *until, *out;
	const char *party[2];
	int nparty;
	bool json;
	int argc;
	char **argv; /* operands */
};

static int
parse_opts(const char *verb, int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"cert-secret", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"reason", required_argument, NULL, 'r'},
		{"template", required_argument, NULL, 'T'},
		{"party", required_argument, NULL, 'P'},
		{"id", required_argument, NULL, 'I'},
		{"from", required_argument, NULL, 'F'},
		{"until", required_argument, NULL, 'U'},
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = CLI_DEFAULT_CONFIG;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->cert_secret = optarg; break;
		case 'c': o->config = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'T': o->template = optarg; break;
		case 'P':
			if (o->nparty == 2)
				return cli_usage(verb, "--party twice: an agreement has two parties");
			o->party[o->nparty++] = optarg;
			break;
		case 'I': o->id = optarg; break;
		case 'F': o->from = optarg; break;
		case 'U': o->until = optarg; break;
		case 'o': o->out = optarg; break;
		case 'j': o->json = true; break;
		case 'h': agreement_usage(stdout); return -1;
		default: return cli_usage(verb, "unknown or incomplete option");
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	return 0;
}

static char *
sig_path_of(const char *path)
{
	size_t n = strlen(path) + sizeof(".sig");
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s.sig", path);
	return p;
}

/* Sign file as k; one JSON object into list (with --json). An exit code. */
static int
sign_one(struct opts *o, struct keys_secret *k, const char *file, json_t *list)
{
	struct agreement *a = NULL;
	struct agreement_sigs sigs;
	struct diag d;
	char *sig_path = NULL, *text = NULL, hex[65];
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	int ret = CLI_EXIT_USAGE, rc;

	diag_init(&d);
	if ((rc = agreement_load(file, &a, &d)) != 0) {
		cli_print_diag("agreement sign", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	/* Only a party signs: a signature by anyone else would never count. */
	if (!agreement_has_party(a, keys_secret_public(k)->id)) {
		fprintf(stderr, "piugw agreement sign: %s is not a party to %s (%s, %s)\n",
			keys_secret_public(k)->id, a->id, a->parties[0], a->parties[1]);
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if ((sig_path = sig_path_of(file)) == NULL)
		goto out;
	if ((rc = agreement_sigs_load(sig_path, &sigs, &d)) != 0) {
		cli_print_diag("agreement sign", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	if ((rc = agreement_sign(a, k, sig)) != 0)
		goto out;
	agreement_sigs_put(&sigs, keys_secret_public(k)->id, sig);
	if ((text = agreement_sigs_format(&sigs)) == NULL ||
	    (rc = cli_replace_file(sig_path, text, strlen(text), 0644, &d)) != 0) {
		cli_print_diag("agreement sign", &d);
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), a->hash, 32);
	if (o->json)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:i}", "agreement", a->id,
						      "signed_by", keys_secret_public(k)->id,
						      "signature_file", sig_path, "fingerprint", hex,
						      "signatures", (int)sigs.n));
	else
		printf("%s: signed %s as %s\n  fingerprint %s\n  signatures now: %zu of 2\n",
		       sig_path, a->id, keys_secret_public(k)->id, hex, sigs.n);
	ret = CLI_EXIT_OK;
out:
	free(text);
	free(sig_path);
	agreement_free(&a);
	diag_clear(&d);
	return ret;
}

/* The worse of two exit codes (usage beats failed beats ok). */
static int
worse(int a, int b)
{
	return a == CLI_EXIT_USAGE || b == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : a > b ? a : b;
}

/* One object for one file (as before), an array for more. */
static int
print_list(json_t *list)
{
	if (json_array_size(list) == 1) {
		json_t *one = json_incref(json_array_get(list, 0));
		json_decref(list);
		return cli_json_print(one);
	}
	return cli_json_print(list);
}

static int
cmd_sign(struct opts *o)
{
	struct keys_secret *k = NULL;
	struct diag d;
	json_t *list;
	int ret = CLI_EXIT_OK, rc;

	if (o->argc < 1)
		return cli_usage("agreement sign", "name the agreement files to sign");
	if (o->cert_secret == NULL)
		return cli_usage("agreement sign", "--cert-secret is required (e.g. "
						   "/etc/piugw/certs/XA-PIU.cert_secret)");
	diag_init(&d);
	if ((rc = keys_secret_load(o->cert_secret, &k, &d)) != 0) {
		cli_print_diag("agreement sign", &d);
		diag_clear(&d);
		return cli_exit_for(rc);
	}
	diag_clear(&d);
	list = json_array();
	for (int i = 0; i < o->argc; i++)
		ret = worse(ret, sign_one(o, k, o->argv[i], list));
	keys_secret_free(&k);
	if (o->json && json_array_size(list) > 0) {
		rc = print_list(list);
		return rc != 0 ? rc : ret;
	}
	json_decref(list);
	return ret;
}

/* Check one file against cfg's directory; its object into list (--json). An exit code. */
static int
check_one(struct opts *o, struct config *cfg, struct directory *dir, const char *file,
	  json_t *list)
{
	struct policy_agreement pa;
	struct diag d;
	char why[256], hex[65], from[11], until[11];
	enum policy_state st;
	int ret, rc;
	int64_t now = cli_now_ms();

	diag_init(&d);
	memset(&pa, 0, sizeof(pa));
	if ((rc = policy_agreement_load(cfg, dir, file, &pa, &d)) != 0) {
		if (o->json)
			json_array_append_new(list, json_pack("{s:s, s:b, s:o}", "file", file,
							      "in_force", 0, "errors",
							      cli_diag_json(&d)));
		else
			cli_print_diag("agreement check", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	st = policy_agreement_state(&pa, now, why, sizeof(why));
	sodium_bin2hex(hex, sizeof(hex), pa.a->hash, 32);
	num_format_date(pa.a->from_day, from);
	num_format_date(pa.a->until_day, until);
	ret = st == POLICY_IN_FORCE ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (o->json) {
		json_t *sigs = json_array();
		for (int i = 0; i < 2; i++)
			json_array_append_new(sigs, json_pack("{s:s, s:b, s:b}", "party",
							      pa.a->parties[i], "present",
							      pa.signed_by[i], "valid",
							      pa.valid_by[i]));
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:[s,s], s:s, s:s, s:o, s:s, s:b, s:s}",
					"file", file, "agreement", pa.a->id, "fingerprint", hex,
					"parties", pa.a->parties[0], pa.a->parties[1], "from", from,
					"until", until, "signatures", sigs, "state",
					policy_state_name(st), "in_force", st == POLICY_IN_FORCE,
					"why", why));
		goto out;
	}
	printf("%s: agreement %s between %s and %s\n", file, pa.a->id, pa.a->parties[0],
	       pa.a->parties[1]);
	printf("  fingerprint  %s\n  period       %s to %s\n", hex, from, until);
	for (int i = 0; i < 2; i++)
		printf("  signature    %-12s %s\n", pa.a->parties[i],
		       !pa.signed_by[i] ? "missing"
		       : pa.valid_by[i] ? "valid"
					: "INVALID (another file or another key)");
	if (st == POLICY_IN_FORCE)
		printf("  state        in force\n");
	else
		printf("  state        NOT in force: %s\n", why);
out:
	policy_agreement_clear(&pa);
	diag_clear(&d);
	return ret;
}

static int
cmd_check(struct opts *o)
{
	struct config *cfg = NULL;
	struct directory *dir = NULL;
	struct diag d;
	json_t *list = json_array();
	int ret = CLI_EXIT_OK, rc;

	if (o->argc < 1) {
		json_decref(list);
		return cli_usage("agreement check", "name the agreement files to check");
	}
	diag_init(&d);
	if ((rc = config_load(o->config, &cfg, &d)) != 0 ||
	    (rc = policy_directory_load(cfg, &dir, &d)) != 0) {
		if (o->json)
			cli_json_print(json_pack("{s:s, s:b, s:o}", "file", o->argv[0], "in_force", 0,
						 "errors", cli_diag_json(&d)));
		else
			cli_print_diag("agreement check", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	for (int i = 0; i < o->argc; i++) {
		if (i > 0 && !o->json)
			printf("\n");
		ret = worse(ret, check_one(o, cfg, dir, o->argv[i], list));
	}
	if (o->json) {
		rc = print_list(list);
		list = NULL;
		if (rc != 0)
			ret = rc;
	}
out:
	json_decref(list);
	directory_free(&dir);
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

/* piugw agreement new: an agreement from a template, for two parties. */
static int
cmd_new(struct opts *o)
{
	uint8_t *text = NULL;
	size_t len = 0, olen = 0;
	char *out = NULL, *path = NULL;
	struct diag d;
	int32_t f = 0, u = 0;
	int ret = CLI_EXIT_USAGE, rc;

	if (o->argc != 0)
		return cli_usage("agreement new", "unexpected argument '%s'", cli_safe(o->argv[0]));
	if (o->template == NULL || o->nparty != 2 || o->id == NULL || o->from == NULL ||
	    o->until == NULL)
		return cli_usage("agreement new", "--template, --party twice, --id, --from and "
						  "--until are required");
	if (!num_parse_date(o->from, strlen(o->from), &f) ||
	    !num_parse_date(o->until, strlen(o->until), &u))
		return cli_usage("agreement new", "--from and --until take dates (YYYY-MM-DD)");
	if (u < f)
		return cli_usage("agreement new", "--until %s is before --from %s", o->until,
				 o->from);
	if (strcmp(o->party[0], o->party[1]) == 0)
		return cli_usage("agreement new", "the two parties are one: %s",
				 cli_safe(o->party[0]));
	diag_init(&d);
	if (o->out != NULL)
		path = strdup(o->out);
	else
		path = cli_concat(o->id, ".yaml");
	if (path == NULL)
		goto out;
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "piugw agreement new: %s is there already: name another with --out, "
				"or move it away\n", path);
		ret = CLI_EXIT_FAILED;
		goto out;
	}
	if ((rc = fileio_read(o->template, 1024 * 1024, 0, &text, &len, &d)) != 0 ||
	    (rc = agreement_from_template((const char *)text, len, o->template, o->id, o->party,
					  o->from, o->until, &out, &olen, &d)) != 0) {
		cli_print_diag("agreement new", &d);
		ret = rc == PIUGW_ECONFIG ? CLI_EXIT_FAILED : cli_exit_for(rc);
		goto out;
	}
	if ((rc = cli_replace_file(path, out, olen, 0644, &d)) != 0) {
		cli_print_diag("agreement new", &d);
		goto out;
	}
	if (o->json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:[s,s], s:s, s:s}", "file", path,
					       "agreement", o->id, "parties", o->party[0],
					       o->party[1], "from", o->from, "until", o->until));
		goto out;
	}
	printf("%s: agreement %s between %s and %s, %s to %s (terms of %s)\n"
	       "  next: each party signs it (piugw agreement sign --cert-secret ID.cert_secret "
	       "%s)\n",
	       path, o->id, o->party[0], o->party[1], o->from, o->until, o->template, path);
	ret = CLI_EXIT_OK;
out:
	free(out);
	free(path);
	fileio_free(text, len, 0);
	diag_clear(&d);
	return ret;
}

/* ---- diff ---- */

struct diff_out {
	bool json;
	json_t *list;
	unsigned n;
};

static void
diff_line(struct diff_out *o, const char *where, const char *field, const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return;
	/* A term the first has not (a new agreement's, against none). */
	if (strcmp(a, "?") == 0)
		a = "(none)";
	o->n++;
	if (o->json)
		json_array_append_new(o->list, json_pack("{s:s, s:s, s:s, s:s}", "where", where,
							 "field", field, "first", a, "second", b));
	else
		printf("  %-22s %-16s %s  |  %s\n", where, field, a, b);
}

static void
set_names(vocab_set set, const struct vocab *list, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (const struct vocab *v = list; v->name != NULL && o + 1 < len; v++)
		if (set & VOCAB_BIT(v->value))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", v->name);
	if (o == 0)
		snprintf(buf, len, "(none)");
}

static void
diff_terms(struct diff_out *o, const char *where, const struct agreement_terms *a,
	   const struct agreement_terms *b)
{
	char x[512], y[512];

#define DIFF_U(field)                                                                              \
	do {                                                                                       \
		snprintf(x, sizeof(x), "%u", a->field);                                            \
		snprintf(y, sizeof(y), "%u", b->field);                                            \
		diff_line(o, where, #field, x, y);                                                 \
	} while (0)
#define DIFF_SET(field, list)                                                                      \
	do {                                                                                       \
		set_names(a->field, list, x, sizeof(x));                                           \
		set_names(b->field, list, y, sizeof(y));                                           \
		diff_line(o, where, #field, x, y);                                                 \
	} while (0)
#define DIFF_WORD(field, list)                                                                     \
	diff_line(o, where, #field, vocab_name(list, a->field), vocab_name(list, b->field))

	DIFF_SET(purposes, vocab_purposes);
	snprintf(x, sizeof(x), "%#x", a->offences);
	snprintf(y, sizeof(y), "%#x", b->offences);
	diff_line(o, where, "offences", x, y);
	DIFF_SET(query_types, vocab_query_types);
	DIFF_SET(categories, vocab_categories);
	DIFF_WORD(disclosure, vocab_disclosures);
	DIFF_U(max_results);
	DIFF_U(rate_per_hour);
	DIFF_U(rate_per_day);
	DIFF_WORD(approval, vocab_approvals);
	diff_line(o, where, "justification", a->justification_required ? "required" : "optional",
		  b->justification_required ? "required" : "optional");
	DIFF_U(mask_after_days);
	DIFF_WORD(handling_code, vocab_handling_codes);
	DIFF_WORD(onward_transfer, vocab_onward_transfers);
	snprintf(x, sizeof(x), "%.2f", a->min_score);
	snprintf(y, sizeof(y), "%.2f", b->min_score);
	diff_line(o, where, "min_score", x, y);
	diff_line(o, where, "unmasking", a->unmasking_allowed ? "allowed" : "forbidden",
		  b->unmasking_allowed ? "allowed" : "forbidden");
	/* Lookouts: "not allowed" without the block. */
	diff_line(o, where, "lookouts", a->lookouts.allowed ? "allowed" : "not allowed",
		  b->lookouts.allowed ? "allowed" : "not allowed");
	if (a->lookouts.allowed || b->lookouts.allowed) {
		DIFF_SET(lookouts.purposes, vocab_purposes);
		DIFF_SET(lookouts.query_types, vocab_query_types);
		DIFF_SET(lookouts.categories, vocab_categories);
		DIFF_U(lookouts.max_in_force);
		DIFF_U(lookouts.max_days);
		diff_line(o, where, "lookouts.notify",
			  a->lookouts.allowed ? vocab_name(vocab_notify, a->lookouts.notify) : "-",
			  b->lookouts.allowed ? vocab_name(vocab_notify, b->lookouts.notify) : "-");
		DIFF_U(lookouts.ack_within_hours);
	}
#undef DIFF_U
#undef DIFF_SET
#undef DIFF_WORD
}

/* See cli.h. */
unsigned
cli_agreement_diff(const struct agreement *a, const struct agreement *b, json_t *list)
{
	struct diff_out out = {.json = list != NULL, .list = list};
	char x[2 * KEYS_ID_MAX + 8], y[2 * KEYS_ID_MAX + 8];

	if (a == NULL) {
		/* Nothing in force: every term of b, against none. */
		static const struct agreement_terms none;
		for (size_t i = 0; i < b->nterms; i++) {
			char where[80];
			snprintf(where, sizeof(where), "%s -> %s", b->terms[i].requester,
				 b->terms[i].responder);
			diff_terms(&out, where, &none, &b->terms[i]);
		}
		return out.n;
	}
	diff_line(&out, "agreement", "id", a->id, b->id);
	snprintf(x, sizeof(x), "%s, %s", a->parties[0], a->parties[1]);
	snprintf(y, sizeof(y), "%s, %s", b->parties[0], b->parties[1]);
	diff_line(&out, "agreement", "parties", x, y);
	num_format_date(a->from_day, x);
	num_format_date(b->from_day, y);
	diff_line(&out, "in_force", "from", x, y);
	num_format_date(a->until_day, x);
	num_format_date(b->until_day, y);
	diff_line(&out, "in_force", "until", x, y);
	/* Terms by direction, whichever order the files list them in. */
	for (int pass = 0; pass < 2; pass++) {
		const struct agreement *p = pass == 0 ? a : b, *q = pass == 0 ? b : a;
		for (size_t i = 0; i < p->nterms; i++) {
			const struct agreement_terms *t = &p->terms[i];
			const struct agreement_terms *u =
				agreement_terms_for(q, t->requester, t->responder);
			char where[80];
			snprintf(where, sizeof(where), "%s -> %s", t->requester, t->responder);
			if (u == NULL)
				diff_line(&out, where, "terms", pass == 0 ? "present" : "absent",
					  pass == 0 ? "absent" : "present");
			else if (pass == 0)
				diff_terms(&out, where, t, u);
		}
	}
	return out.n;
}

static int
cmd_diff(struct opts *o)
{
	struct agreement *a = NULL, *b = NULL;
	struct diag d;
	struct diff_out out = {.json = o->json};
	char x[2 * KEYS_ID_MAX + 8], y[2 * KEYS_ID_MAX + 8];
	int ret = CLI_EXIT_USAGE, rc;
	bool same_bytes;

	diag_init(&d);
	if (o->argc != 2)
		return cli_usage("agreement diff", "name two agreement files");
	rc = agreement_load(o->argv[0], &a, &d);
	if (rc == 0)
		rc = agreement_load(o->argv[1], &b, &d);
	if (rc != 0) {
		cli_print_diag("agreement diff", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	same_bytes = a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
	if (o->json)
		out.list = json_array();
	else
		printf("comparing %s  |  %s\n", o->argv[0], o->argv[1]);
	out.n = cli_agreement_diff(a, b, out.list);
	if (out.n == 0 && !same_bytes)
		diff_line(&out, "file", "bytes", "differ", "(same terms)");
	ret = out.n == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (o->json) {
		sodium_bin2hex(x, 65, a->hash, 32);
		sodium_bin2hex(y, 65, b->hash, 32);
		rc = cli_json_print(json_pack("{s:b, s:b, s:s, s:s, s:o}", "identical", same_bytes,
					      "same_terms", out.n == 0 || (out.n == 1 && !same_bytes),
					      "first_fingerprint", x, "second_fingerprint", y,
					      "differences", out.list));
		if (rc != 0)
			ret = rc;
	} else if (same_bytes) {
		printf("identical: same bytes, same fingerprint\n");
	} else {
		printf("%u difference%s. Both parties must hold byte-identical files for the "
		       "signatures and fingerprints to match.\n", out.n, out.n == 1 ? "" : "s");
	}
out:
	agreement_free(&a);
	agreement_free(&b);
	diag_clear(&d);
	return ret;
}

static int
cmd_suspend(struct opts *o, bool suspend)
{
	const char *verb = suspend ? "agreement suspend" : "agreement resume";
	struct config *cfg = NULL;
	struct diag d;
	int ret = CLI_EXIT_USAGE, rc;

	diag_init(&d);
	if (o->argc != 1)
		return cli_usage(verb, "name one agreement id");
	if ((rc = config_load(o->config, &cfg, &d)) != 0) {
		cli_print_diag(verb, &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	rc = suspend ? policy_suspend(cfg->state_dir, o->argv[0], o->reason, &d)
		     : policy_resume(cfg->state_dir, o->argv[0], &d);
	if (rc != 0) {
		cli_print_diag(verb, &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	if (o->json)
		ret = cli_json_print(json_pack("{s:s, s:b}", "agreement", o->argv[0], "suspended",
					       suspend));
	else {
		printf("agreement %s %s here, with effect from the next request.\n", o->argv[0],
		       suspend ? "suspended" : "resumed");
		ret = CLI_EXIT_OK;
	}
out:
	config_free(&cfg);
	diag_clear(&d);
	return ret;
}

int
agreement_main(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int rc;

	if (argc < 2) {
		agreement_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		agreement_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(sub, "propose") == 0 || strcmp(sub, "incoming") == 0 ||
	    strcmp(sub, "outgoing") == 0 || strcmp(sub, "accept") == 0 ||
	    strcmp(sub, "decline") == 0)
		return agreement_mesh_main(sub, argc - 1, argv + 1);
	if ((rc = parse_opts("agreement", argc - 1, argv + 1, &o)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (strcmp(sub, "new") == 0)
		return cmd_new(&o);
	if (strcmp(sub, "sign") == 0)
		return cmd_sign(&o);
	if (strcmp(sub, "check") == 0)
		return cmd_check(&o);
	if (strcmp(sub, "diff") == 0)
		return cmd_diff(&o);
	if (strcmp(sub, "suspend") == 0)
		return cmd_suspend(&o, true);
	if (strcmp(sub, "resume") == 0)
		return cmd_suspend(&o, false);
	return cli_usage("agreement",
			 "unknown subcommand '%s' (new, sign, check, diff, suspend, resume, "
			 "propose, incoming, outgoing, accept, decline)", sub);
}
