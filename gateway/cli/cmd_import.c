/*
 * cmd_import.c: piugw import --format paxlst|pnrgov|csv|jsonl [-c CONFIG | --store FILE] FILE...
 *               piugw store stats|purge [-c CONFIG | --store FILE]
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "import.h"
#include "keys.h"
#include "num.h"
#include "piugw/error.h"
#include "store.h"

#define IMPORT_FILE_MAX ((size_t)2 << 30)

static void
import_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw import --format paxlst|pnrgov|csv|jsonl [-c CONFIG | --store FILE] FILE...\n\n"
		"Read API/PNR data into this gateway's traveller store. Each file is stored whole\n"
		"or not at all: the counts printed (read, stored, rejected, replaced) are what\n"
		"was committed, and a file that fails says that nothing of it was stored (exit 2).\n"
		"Inside a file, a PAXLST message or a PNRGOV booking that is malformed or cut\n"
		"short is rejected whole (file:segment: reason) and the rest still imports;\n"
		"CSV and JSON Lines rows likewise (exit 1). A PNRGOV booking replaces what was\n"
		"stored of it on its flight; a cancelled one is removed from the flight.\n"
		"Sensitive data (meal, medical and assistance codes; free text nobody can vouch\n"
		"for) is dropped before anything is stored, and counted.\n"
		"Importing the same records again replaces them, never adds\n"
		"them twice: a record is known by its record_id where the file gives one, else\n"
		"by source, flight (carrier, number, date, departure) and the passenger's\n"
		"document, or name and date of birth. A transfer time in the future is refused.\n"
		"The import goes on the gateway's audit log (through piugwd if it runs): run\n"
		"it as the user that owns the gateway's state folder.\n\n"
		"  --format F         paxlst (UN/EDIFACT PAXLST D02B/D05B), pnrgov (PNRGOV\n"
		"                     EDIFACT 11.1 to 15.1), csv or jsonl\n"
		"  -c, --config FILE  piugwd.yaml, for the store's path (default %s)\n"
		"  --store FILE       a bare store file of no gateway (nothing is recorded)\n"
		"  --json             the summary as JSON\n\n"
		"CSV has a header row; JSON Lines one object per line. Their fields are:\n"
		"  source (API|PNR), transferred_at (YYYY-MM-DD[THH:MM:SSZ]), record_id,\n",
		CLI_DEFAULT_CONFIG);
	for (int i = 0; i < COL__COUNT; i++)
		fprintf(f, "%s%s%s", i % 6 == 0 ? "  " : "", store_cols[i].name,
			i + 1 == COL__COUNT ? "\n" : i % 6 == 5 ? ",\n" : ", ");
	fprintf(f, "  (lists such as phones are separated by ';').\n");
}

struct progress {
	bool tty;
	const char *file;
};

static void
show_progress(const struct import_stats *st, void *ctx)
{
	struct progress *p = ctx;

	if (p->tty)
		fprintf(stderr, "\r%s: %ju read, %ju stored, %ju rejected ", p->file,
			(uintmax_t)st->read, (uintmax_t)st->stored, (uintmax_t)st->rejected);
}

/*
 * An import is a collection of personal data and a purge an erasure: each
 * goes on the gateway's audit log. While the gateway runs it alone writes
 * that log, so the record goes through its local API; otherwise this command
 * opens the log itself (and holds it till the end: the gateway cannot start
 * meanwhile). Either way is made sure of before the store is touched.
 * A bare store file (--store) belongs to no gateway and has no log.
 */
struct store_audit {
	const char *verb;
	const char *config;
	struct config *cfg;
	struct keys_secret *key;
	struct audit_log *log; /* NULL: through the running gateway */
};

static void
store_audit_end(struct store_audit *a)
{
	if (a->log != NULL && cli_audit_close(a->cfg, &a->log) != 0)
		fprintf(stderr, "piugw %s: the audit log could not be closed cleanly; "
				"`piugw audit verify` says what it holds\n", a->verb);
	keys_secret_free(&a->key);
	config_free(&a->cfg);
}

static int
store_audit_begin(const char *verb, const char *config, struct store_audit *a)
{
	struct diag d;
	char *dir = NULL;
	int rc, ret = CLI_EXIT_USAGE;

	memset(a, 0, sizeof(*a));
	a->verb = verb;
	a->config = config;
	diag_init(&d);
	if (config_load(config, &a->cfg, &d) != 0) {
		diag_add(&d, "name the store with --store FILE, or a piugwd.yaml with -c");
		cli_print_diag(verb, &d);
		goto out;
	}
	/* What this command creates in the state folder must stay the gateway's own. */
	if (!cli_as_gateway_user(a->cfg, verb))
		goto out;
	if (keys_secret_load(a->cfg->certificate, &a->key, &d) != 0 ||
	    (dir = cli_concat(a->cfg->state_dir, "/audit")) == NULL) {
		cli_print_diag(verb, &d);
		goto out;
	}
	struct audit_opts ao = {.dir = dir, .signer = a->key};
	rc = cli_audit_open(a->cfg, &ao, &a->log, &d);
	/* Busy: the gateway runs and writes the record (the first one proves the way). */
	if (rc != 0 && rc != PIUGW_EAUDITBUSY) {
		cli_print_diag(verb, &d);
		fprintf(stderr, "piugw %s: this change must go on the gateway's audit log, which "
				"could not be opened; nothing was changed\n", verb);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	if (ret != CLI_EXIT_OK)
		store_audit_end(a);
	free(dir);
	diag_clear(&d);
	return ret;
}

/*
 * Put the change on record: before it begins (done false: so that one cut
 * short still shows), and once it is done with its counts. Says loudly
 * when it could not be.
 */
static int
store_audit_record(struct store_audit *a, bool imported, uint64_t count, const char *detail,
		   bool done)
{
	const char *what = imported ? "the import" : "the purge";
	char why[200];
	int rc = 0;

	if (a->log != NULL) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		char who[64];
		uint64_t seq;
		cli_whoami(who, sizeof(who));
		r.event = imported ? PIUGW__AUDIT_EVENT__AUDIT_IMPORTED
				   : PIUGW__AUDIT_EVENT__AUDIT_PURGED;
		r.record_count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
		r.detail = (char *)detail;
		r.operator_ = who;
		if ((rc = audit_append(a->log, &r, &seq)) == 0)
			rc = audit_wait_durable(a->log, seq);
		snprintf(why, sizeof(why), "its audit record could not be written (%s)",
			 piugw_strerror(rc));
	} else {
		Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
		Piugw__LocalStoreChange sc = PIUGW__LOCAL_STORE_CHANGE__INIT;
		Piugw__LocalReply *rep = NULL;
		sc.kind = imported ? PIUGW__LOCAL_STORE_CHANGE__KIND__KIND_IMPORTED
				   : PIUGW__LOCAL_STORE_CHANGE__KIND__KIND_PURGED;
		sc.record_count = count;
		sc.detail = (char *)detail;
		req.kind_case = PIUGW__LOCAL_REQUEST__KIND_STORE_CHANGE;
		req.store_change = &sc;
		rc = cli_call(a->verb, a->config, NULL, &req, 30000, &rep);
		snprintf(why, sizeof(why), "the gateway did not put it on its audit log");
		piugw_client_reply_free(&rep);
	}
	if (rc != 0 && done)
		fprintf(stderr, "piugw %s: %s is done but %s: note it in the log of your own "
				"procedures, and see that the audit folder's disk has room\n",
			a->verb, what, why);
	else if (rc != 0)
		fprintf(stderr, "piugw %s: %s goes on the audit log before it begins, and %s; "
				"nothing was changed\n", a->verb, what, why);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

static int
open_store(const char *config, const char *store_path, struct store **sp, const char *verb)
{
	struct config *cfg = NULL;
	struct diag d;
	int rc;

	diag_init(&d);
	if (store_path == NULL) {
		if ((rc = config_load(config, &cfg, &d)) != 0) {
			diag_add(&d, "name the store with --store FILE, or a piugwd.yaml with -c");
			cli_print_diag(verb, &d);
			diag_clear(&d);
			return CLI_EXIT_USAGE;
		}
		store_path = cfg->store_file;
	}
	rc = store_open(store_path, sp, &d);
	if (rc != 0)
		cli_print_diag(verb, &d);
	config_free(&cfg);
	diag_clear(&d);
	return rc == 0 ? 0 : CLI_EXIT_USAGE;
}

int
import_main(int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"config", required_argument, NULL, 'c'},
					   {"store", required_argument, NULL, 's'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *config = CLI_DEFAULT_CONFIG, *store_path = NULL;
	int fmt = -1, c, ret = CLI_EXIT_OK;
	bool json = false;
	struct store *s = NULL;
	struct import_stats total = {0};
	struct store_audit sa = {0};
	json_t *files = NULL;
	char detail[200];
	int nfiles = 0, nfailed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if ((fmt = import_format_by_name(optarg)) < 0)
				return cli_usage("import", "unknown format '%s' (paxlst, pnrgov, csv, jsonl)",
						 optarg);
			break;
		case 'c': config = optarg; break;
		case 's': store_path = optarg; break;
		case 'j': json = true; break;
		case 'h': import_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("import", "unknown or incomplete option");
		}
	}
	if (fmt < 0)
		return cli_usage("import", "--format is required (paxlst, pnrgov, csv or jsonl)");
	if (optind >= argc)
		return cli_usage("import", "name at least one file");
	if (store_path == NULL) {
		if ((ret = store_audit_begin("import", config, &sa)) != 0)
			return ret;
		snprintf(detail, sizeof(detail), "%s import begins: %d file%s",
			 import_format_name((enum import_format)fmt), argc - optind,
			 argc - optind == 1 ? "" : "s");
		if (store_audit_record(&sa, true, 0, detail, false) != 0) {
			store_audit_end(&sa);
			return CLI_EXIT_USAGE;
		}
	}
	if ((ret = open_store(config, sa.cfg != NULL ? sa.cfg->store_file : store_path, &s,
			      "import")) != 0) {
		store_audit_end(&sa);
		return ret;
	}
	files = json_array();
	for (int i = optind; i < argc; i++) {
		struct progress p = {isatty(2) == 1, argv[i]};
		struct import_stats st;
		struct diag d;
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc;

		diag_init(&d);
		if ((rc = fileio_read(argv[i], IMPORT_FILE_MAX, 0, &buf, &len, &d)) != 0) {
			cli_print_diag("import", &d);
			diag_clear(&d);
			ret = CLI_EXIT_FAILED;
			continue;
		}
		rc = import_text(s, (enum import_format)fmt, (const char *)buf, len, argv[i],
				 cli_now_ms(), &st, &d, show_progress, &p);
		fileio_free(buf, len, 0);
		if (p.tty)
			fprintf(stderr, "\r\033[K");
		cli_print_diag("import", &d);
		if (rc == PIUGW_EMALFORMED) {
			/* The file's form (its header) is wrong: a failed check, not a system error. */
			fprintf(stderr, "piugw import: %s: nothing of this file was stored: fix what is "
					"named above and import it again\n", argv[i]);
			if (ret == CLI_EXIT_OK)
				ret = CLI_EXIT_FAILED;
			nfailed++;
		} else if (rc != 0) {
			fprintf(stderr, "piugw import: %s: %s; nothing of this file was stored (%ju "
					"records read before it failed)\n", argv[i], piugw_strerror(rc),
				(uintmax_t)st.read);
			ret = CLI_EXIT_USAGE;
			nfailed++;
		}
		if (st.rejected > 0 && ret == CLI_EXIT_OK)
			ret = CLI_EXIT_FAILED;
		if (st.messages_rejected > 0 && ret == CLI_EXIT_OK)
			ret = CLI_EXIT_FAILED;
		/* Printed after the commit (import_text returned): what is said is stored. */
		if (!json && fmt == IMPORT_PAXLST)
			printf("%s: %ju messages (%ju rejected); %ju travellers x legs read, %ju stored "
			       "(%ju replaced a record with the same key), %ju rejected%s\n", argv[i],
			       (uintmax_t)st.messages, (uintmax_t)st.messages_rejected,
			       (uintmax_t)st.read, (uintmax_t)st.stored, (uintmax_t)st.replaced,
			       (uintmax_t)st.rejected, rc != 0 ? "; FAILED: nothing stored" : "");
		else if (!json && fmt == IMPORT_PNRGOV)
			printf("%s: %ju bookings (%ju rejected); %ju travellers read, %ju stored (%ju "
			       "replaced a record with the same key), %ju removed from their flight "
			       "(cancelled, or no longer on the booking), %ju rejected; %ju sensitive "
			       "element%s dropped%s\n", argv[i], (uintmax_t)st.messages,
			       (uintmax_t)st.messages_rejected, (uintmax_t)st.read,
			       (uintmax_t)st.stored, (uintmax_t)st.replaced, (uintmax_t)st.removed,
			       (uintmax_t)st.rejected, (uintmax_t)st.sensitive_dropped,
			       st.sensitive_dropped == 1 ? "" : "s",
			       rc != 0 ? "; FAILED: nothing stored" : "");
		else if (!json)
			printf("%s: %ju rows read, %ju stored (%ju replaced a record with the same key), "
			       "%ju rejected%s\n", argv[i], (uintmax_t)st.read, (uintmax_t)st.stored,
			       (uintmax_t)st.replaced, (uintmax_t)st.rejected,
			       rc != 0 ? "; FAILED: nothing stored" : "");
		if (!json && fmt != IMPORT_PNRGOV && st.sensitive_dropped > 0)
			printf("%s: %ju sensitive SSR code%s dropped (never stored)\n", argv[i],
			       (uintmax_t)st.sensitive_dropped, st.sensitive_dropped == 1 ? "" : "s");
		json_array_append_new(files, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
						       "s:o}",
						       "file", argv[i], "committed", rc == 0,
						       "messages_rejected",
						       (json_int_t)st.messages_rejected,
						       "read", (json_int_t)st.read, "stored",
						       (json_int_t)st.stored, "replaced",
						       (json_int_t)st.replaced, "removed",
						       (json_int_t)st.removed, "sensitive_dropped",
						       (json_int_t)st.sensitive_dropped, "rejected",
						       (json_int_t)st.rejected, "reasons",
						       cli_diag_json(&d)));
		total.read += st.read;
		total.stored += st.stored;
		total.replaced += st.replaced;
		total.rejected += st.rejected;
		total.removed += st.removed;
		total.sensitive_dropped += st.sensitive_dropped;
		nfiles++;
		diag_clear(&d);
	}
	/* Counts only (file names may name people), and only what was committed. */
	if (nfailed > 0)
		snprintf(detail, sizeof(detail), "%s import failed: %d of %d file%s not stored; "
			 "%ju read, %ju stored (%ju replaced), %ju rejected",
			 import_format_name((enum import_format)fmt), nfailed, nfiles,
			 nfiles == 1 ? "" : "s", (uintmax_t)total.read, (uintmax_t)total.stored,
			 (uintmax_t)total.replaced, (uintmax_t)total.rejected);
	else
		snprintf(detail, sizeof(detail), "%s import: %d file%s, %ju read, %ju stored (%ju "
			 "replaced), %ju removed, %ju rejected, %ju sensitive dropped",
			 import_format_name((enum import_format)fmt), nfiles, nfiles == 1 ? "" : "s",
			 (uintmax_t)total.read, (uintmax_t)total.stored, (uintmax_t)total.replaced,
			 (uintmax_t)total.removed, (uintmax_t)total.rejected,
			 (uintmax_t)total.sensitive_dropped);
	if (store_path == NULL && store_audit_record(&sa, true, total.stored, detail, true) != 0)
		ret = CLI_EXIT_USAGE;
	store_audit_end(&sa);
	if (json)
		cli_json_print(json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "files", files, "read",
					 (json_int_t)total.read, "stored", (json_int_t)total.stored,
					 "replaced", (json_int_t)total.replaced, "removed",
					 (json_int_t)total.removed, "sensitive_dropped",
					 (json_int_t)total.sensitive_dropped, "rejected",
					 (json_int_t)total.rejected));
	else
		json_decref(files);
	store_close(&s);
	return ret;
}

static void
store_usage(FILE *f)
{
	fprintf(f, "Usage: piugw store stats [-c CONFIG | --store FILE] [--json]\n"
		   "       piugw store purge [-c CONFIG | --store FILE] [--older-than-days N]\n"
		   "       piugw store migrate [-c CONFIG | --store FILE] [--json]\n\n"
		   "  stats  rows by source, persons (one on a flight, from API and PNR, counted\n"
		   "         once), by age band, and the range of flight dates\n"
		   "  purge  delete rows transferred longer ago than the retention (default from\n"
		   "         piugwd.yaml, else 1826 days: five years) and say how many; the\n"
		   "         erasure goes on the gateway's audit log, as an import does\n"
		   "  migrate  create the store's schema, or bring it to this piugw's version\n"
		   "         (a newer one is refused); says which it found and which it is now.\n"
		   "         --store takes a SQLite file or postgresql:CONNINFO\n");
}

int
store_main(int argc, char **argv)
{
	static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
					   {"store", required_argument, NULL, 's'},
					   {"older-than-days", required_argument, NULL, 'o'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *config = CLI_DEFAULT_CONFIG, *store_path = NULL, *sub;
	uint64_t days = 0;
	bool json = false;
	struct store *s = NULL;
	struct store_audit sa = {0};
	int c, ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		store_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 's': store_path = optarg; break;
		case 'o':
			if (!num_parse_u64(optarg, strlen(optarg), 1, 36500, &days))
				return cli_usage("store", "--older-than-days takes 1 to 36500");
			break;
		case 'j': json = true; break;
		case 'h': store_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("store", "unknown or incomplete option");
		}
	}
	if (strcmp(sub, "stats") != 0 && strcmp(sub, "purge") != 0 && strcmp(sub, "migrate") != 0)
		return cli_usage("store", "unknown subcommand '%s' (stats, purge, migrate)", sub);
	if (days == 0 && strcmp(sub, "purge") == 0) {
		struct config *cfg = NULL;
		days = 1826;
		if (store_path == NULL && config_load(config, &cfg, NULL) == 0)
			days = cfg->store_retention_days;
		config_free(&cfg);
	}
	if (strcmp(sub, "purge") == 0 && store_path == NULL) {
		char detail[96];
		if ((ret = store_audit_begin("store purge", config, &sa)) != 0)
			return ret;
		snprintf(detail, sizeof(detail), "store purge begins: rows transferred more than "
			 "%ju days ago", (uintmax_t)days);
		if (store_audit_record(&sa, false, 0, detail, false) != 0) {
			store_audit_end(&sa);
			return CLI_EXIT_USAGE;
		}
	}
	if ((ret = open_store(config, sa.cfg != NULL ? sa.cfg->store_file : store_path, &s,
			      "store")) != 0) {
		store_audit_end(&sa);
		return ret;
	}
	if (strcmp(sub, "migrate") == 0) {
		/* Opening made or upgraded it: say from what to what. */
		int was = store_schema_was(s);
		if (json)
			ret = cli_json_print(json_pack("{s:s, s:i, s:i}", "backend",
						       store_backend_name(s), "was", was, "now",
						       STORE_SCHEMA_VERSION));
		else if (was == STORE_SCHEMA_VERSION)
			printf("the store (%s) is at schema %d, as this piugw knows it: nothing to "
			       "do\n", store_backend_name(s), was);
		else if (was == 0)
			printf("the store (%s) had no schema: made at schema %d\n",
			       store_backend_name(s), STORE_SCHEMA_VERSION);
		else
			printf("the store (%s) was at schema %d: upgraded to %d\n",
			       store_backend_name(s), was, STORE_SCHEMA_VERSION);
	} else if (strcmp(sub, "purge") == 0) {
		uint64_t deleted = 0;
		char detail[96];
		if (store_purge(s, cli_now_ms() - (int64_t)days * 86400000, &deleted) != 0) {
			fprintf(stderr, "piugw store purge: the store could not be changed\n");
			ret = CLI_EXIT_USAGE;
		} else {
			if (json)
				ret = cli_json_print(json_pack("{s:I, s:I}", "deleted",
							       (json_int_t)deleted, "older_than_days",
							       (json_int_t)days));
			else
				printf("deleted %ju rows transferred more than %ju days ago\n",
				       (uintmax_t)deleted, (uintmax_t)days);
			snprintf(detail, sizeof(detail), "store purge: rows transferred more than "
				 "%ju days ago", (uintmax_t)days);
			if (store_path == NULL &&
			    store_audit_record(&sa, false, deleted, detail, true) != 0)
				ret = CLI_EXIT_USAGE;
		}
	} else {
		struct store_stats st;
		if (store_stats(s, cli_now_ms(), &st) != 0) {
			fprintf(stderr, "piugw store stats: the store could not be read\n");
			ret = CLI_EXIT_USAGE;
		} else if (json) {
			ret = cli_json_print(json_pack(
				"{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:s, s:s}", "rows",
				(json_int_t)st.rows, "persons", (json_int_t)st.persons, "api",
				(json_int_t)st.api, "pnr", (json_int_t)st.pnr,
				"age", "under_30_days", (json_int_t)st.age_bands[0], "under_183_days",
				(json_int_t)st.age_bands[1], "under_5_years", (json_int_t)st.age_bands[2],
				"older", (json_int_t)st.age_bands[3], "first_flight", st.first_flight,
				"last_flight", st.last_flight));
		} else {
			printf("rows          %ju (API %ju, PNR %ju)\n"
			       "persons       %ju (a person on a flight counted once, from API and PNR)\n"
			       "transferred   < 30 days %ju, < 183 days %ju, < 5 years %ju, older %ju\n"
			       "flight dates  %s to %s\n",
			       (uintmax_t)st.rows, (uintmax_t)st.api, (uintmax_t)st.pnr,
			       (uintmax_t)st.persons,
			       (uintmax_t)st.age_bands[0], (uintmax_t)st.age_bands[1],
			       (uintmax_t)st.age_bands[2], (uintmax_t)st.age_bands[3],
			       st.first_flight[0] ? st.first_flight : "-",
			       st.last_flight[0] ? st.last_flight : "-");
		}
	}
	store_close(&s);
	store_audit_end(&sa);
	return ret;
}
