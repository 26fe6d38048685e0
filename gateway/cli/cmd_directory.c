/*
 * cmd_directory.c: piugw directory add|remove|set|sign|verify
 *
 * The secretariat's verbs. add, remove and set edit the master copy of the
 * directory (no signature needed to edit; each raises the serial and leaves
 * the file to be signed), writing it in the one layout directory_format
 * gives, and never a file gateways would refuse (it is parsed back first).
 * A convenience over minisign's own format: what `piugw directory sign`
 * writes, `minisign -V` verifies, and what `minisign -S` writes, gateways
 * verify. The secretariat may use either.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "directory.h"
#include "fileio.h"
#include "minisign.h"
#include "num.h"
#include "piugw/error.h"

static void
directory_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw directory add DIRECTORY.yaml --cert ID.cert --endpoint tcp://HOST:PORT\n"
		"                          --name TEXT --contact TEXT [--state XX] [--expires DATE]\n"
		"       piugw directory remove DIRECTORY.yaml ID\n"
		"       piugw directory set DIRECTORY.yaml ID [--cert FILE] [--endpoint E] [--name T]\n"
		"                          [--contact T] [--state XX] [--expires DATE]\n"
		"       piugw directory sign --key SECRET.key [--password-file FILE] DIRECTORY.yaml\n"
		"       piugw directory verify [--pubkey FILE | -c CONFIG] DIRECTORY.yaml [--json]\n\n"
		"  add     add the member whose keys the .cert holds (its id is the cert's); makes\n"
		"          DIRECTORY.yaml with serial 1 if it is not there (then --expires is needed)\n"
		"  remove  take member ID out\n"
		"  set     change member ID: its endpoint, name, contact, state, or keys (--cert)\n"
		"          add, remove and set raise the serial by one and leave the file to sign\n"
		"          (its old signature no longer matches: gateways refuse it until signed);\n"
		"          comments are not kept\n"
		"  sign    check DIRECTORY.yaml, then sign it into DIRECTORY.yaml.minisig with the\n"
		"          secretariat's minisign key (prehashed, as 'minisign -S' does)\n"
		"  verify  verify the signature with the secretariat's public key and show the\n"
		"          directory (exit 1 if the signature or the directory is bad)\n\n"
		"Options:\n"
		"  --key FILE            minisign secret key ('minisign -G' makes one)\n"
		"  --password-file FILE  its password (first line); default: asked on the terminal\n"
		"  --pubkey FILE         minisign public key of the secretariat\n"
		"  -c, --config FILE     take the public key from piugwd.yaml (default %s)\n"
		"  --sig FILE            signature file (default DIRECTORY.yaml.minisig)\n"
		"  --json                machine-readable output\n"
		"  -h, --help            show this help\n",
		CLI_DEFAULT_CONFIG);
}

/* A string option's new value in *field (owned by the directory). */
static bool
set_text(char **field, const char *v)
{
	char *c = strdup(v);

	if (c == NULL)
		return false;
	free(*field);
	*field = c;
	return true;
}

/* piugw directory add|remove|set: argv[0] is the subcommand. */
static int
edit_main(const char *sub, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cert", required_argument, NULL, 'C'},
		{"endpoint", required_argument, NULL, 'e'},
		{"name", required_argument, NULL, 'n'},
		{"contact", required_argument, NULL, 'u'},
		{"state", required_argument, NULL, 's'},
		{"expires", required_argument, NULL, 'x'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cert = NULL, *endpoint = NULL, *name = NULL, *contact = NULL, *st = NULL;
	const char *expires = NULL, *file, *id = NULL;
	char verb[32], *out = NULL, what[160];
	bool json = false, add = strcmp(sub, "add") == 0, fresh = false;
	uint8_t *text = NULL;
	size_t len = 0, olen = 0;
	struct directory *dir = NULL, *check = NULL;
	struct directory_member *m = NULL;
	struct keys_public pk;
	struct diag d;
	int32_t day = 0;
	uint64_t was = 0;
	int c, rc, ret = CLI_EXIT_USAGE;

	snprintf(verb, sizeof(verb), "directory %s", sub);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': cert = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'n': name = optarg; break;
		case 'u': contact = optarg; break;
		case 's': st = optarg; break;
		case 'x': expires = optarg; break;
		case 'j': json = true; break;
		case 'h': directory_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage(verb, "unknown or incomplete option");
		}
	}
	if (optind >= argc)
		return cli_usage(verb, "name the directory file");
	file = argv[optind++];
	if (!add) {
		if (optind >= argc)
			return cli_usage(verb, "name the member (its id, e.g. XA-PIU)");
		id = argv[optind++];
	}
	if (optind != argc)
		return cli_usage(verb, "unexpected argument '%s'", cli_safe(argv[optind]));
	if (strcmp(sub, "remove") == 0 && (cert || endpoint || name || contact || st || expires))
		return cli_usage(verb, "remove takes the file and the member's id only");
	if (add && (cert == NULL || endpoint == NULL || name == NULL || contact == NULL))
		return cli_usage(verb, "--cert, --endpoint, --name and --contact are required");
	if (endpoint != NULL && !directory_endpoint_valid(endpoint))
		return cli_usage(verb, "--endpoint '%s' is not tcp://HOST:PORT", cli_safe(endpoint));
	if (st != NULL && (strlen(st) != 2 || st[0] < 'A' || st[0] > 'Z' || st[1] < 'A' ||
			   st[1] > 'Z'))
		return cli_usage(verb, "--state '%s' is not an ISO 3166-1 alpha-2 code such as XA",
				 cli_safe(st));
	if (expires != NULL && !num_parse_date(expires, strlen(expires), &day))
		return cli_usage(verb, "--expires '%s' is not a date (YYYY-MM-DD)", cli_safe(expires));
	diag_init(&d);
	if (cert != NULL && (rc = keys_public_load(cert, &pk, &d)) != 0) {
		cli_print_diag(verb, &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	rc = fileio_read(file, 1024 * 1024, 0, &text, &len, &d);
	if (rc == PIUGW_ENOENT && add) {
		/* The first member makes the directory. */
		diag_clear(&d);
		if (expires == NULL) {
			ret = cli_usage(verb, "%s is not there: --expires DATE makes it", file);
			goto out;
		}
		if ((dir = calloc(1, sizeof(*dir))) == NULL)
			goto out;
		fresh = true;
	} else if (rc != 0 || (rc = directory_parse((const char *)text, len, file, &dir, &d)) != 0) {
		cli_print_diag(verb, &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	was = dir->serial;
	if (add) {
		struct directory_member *nm;
		const char *pid = pk.id;
		if (directory_member(dir, pid) != NULL) {
			fprintf(stderr, "piugw %s: %s is a member already: change it with piugw "
					"directory set %s %s ...\n", verb, pid, file, pid);
			ret = CLI_EXIT_FAILED;
			goto out;
		}
		/* XA-PIU's state is XA, unless said otherwise. */
		if (st == NULL && !(pid[0] >= 'A' && pid[0] <= 'Z' && pid[1] >= 'A' &&
				    pid[1] <= 'Z' && (pid[2] == '-' || pid[2] == '_' || pid[2] == '.'))) {
			ret = cli_usage(verb, "--state XX is needed: %s does not begin with one", pid);
			goto out;
		}
		if ((nm = realloc(dir->members, (dir->n + 1) * sizeof(*nm))) == NULL)
			goto out;
		dir->members = nm;
		m = &dir->members[dir->n++];
		memset(m, 0, sizeof(*m));
		m->keys = pk;
		memcpy(m->state, st != NULL ? st : pid, 2);
		snprintf(what, sizeof(what), "%s added", pid);
	} else {
		for (size_t i = 0; i < dir->n && m == NULL; i++)
			if (strcmp(dir->members[i].keys.id, id) == 0)
				m = &dir->members[i];
		if (m == NULL) {
			fprintf(stderr, "piugw %s: %s is not a member of %s\n", verb, cli_safe(id), file);
			ret = CLI_EXIT_FAILED;
			goto out;
		}
		if (strcmp(sub, "remove") == 0) {
			size_t at = (size_t)(m - dir->members);
			free(m->name);
			free(m->endpoint);
			free(m->urgent_contact);
			memmove(m, m + 1, (dir->n - at - 1) * sizeof(*m));
			dir->n--;
			m = NULL;
			snprintf(what, sizeof(what), "%s removed", id);
		} else {
			if (cert != NULL) {
				if (strcmp(pk.id, id) != 0) {
					fprintf(stderr, "piugw %s: %s is the certificate of %s, not of "
							"%s\n", verb, cert, pk.id, cli_safe(id));
					ret = CLI_EXIT_FAILED;
					goto out;
				}
				m->keys = pk;
			}
			if (st != NULL)
				memcpy(m->state, st, 2);
			snprintf(what, sizeof(what), "%s changed", id);
		}
	}
	if (m != NULL && ((endpoint != NULL && !set_text(&m->endpoint, endpoint)) ||
			  (name != NULL && !set_text(&m->name, name)) ||
			  (contact != NULL && !set_text(&m->urgent_contact, contact))))
		goto out;
	if (expires != NULL)
		dir->expires_day = day;
	dir->serial = was + 1;
	/* Never a file the gateways would refuse: what is written is parsed back first. */
	if ((rc = directory_format(dir, &out, &olen)) != 0 ||
	    (rc = directory_parse(out, olen, file, &check, &d)) != 0) {
		cli_print_diag(verb, &d);
		fprintf(stderr, "piugw %s: %s is unchanged\n", verb, file);
		ret = rc == PIUGW_ECONFIG ? CLI_EXIT_FAILED : cli_exit_for(rc);
		goto out;
	}
	if ((rc = cli_replace_file(file, out, olen, 0644, &d)) != 0) {
		cli_print_diag(verb, &d);
		goto out;
	}
	if (json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:I, s:I, s:i, s:b}", "directory", file,
					       "change", what, "serial_before", (json_int_t)was,
					       "serial", (json_int_t)dir->serial, "members",
					       (int)dir->n, "signed", 0));
	} else {
		if (fresh)
			printf("%s: made, %s; serial 1, 1 member\n", file, what);
		else
			printf("%s: %s; serial %ju -> %ju, %zu member%s\n", file, what,
			       (uintmax_t)was, (uintmax_t)dir->serial, dir->n, dir->n == 1 ? "" : "s");
		printf("  sign it before it goes out: piugw directory sign --key SECRETARIAT.key %s\n",
		       file);
		ret = CLI_EXIT_OK;
	}
out:
	free(out);
	directory_free(&dir);
	directory_free(&check);
	fileio_free(text, len, 0);
	diag_clear(&d);
	return ret;
}

int
directory_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{"password-file", required_argument, NULL, 'p'},
		{"pubkey", required_argument, NULL, 'P'},
		{"config", required_argument, NULL, 'c'},
		{"sig", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL, *pwfile = NULL, *pubkey = NULL, *config = CLI_DEFAULT_CONFIG;
	const char *sig_arg = NULL, *sub, *file;
	bool json = false, sign;
	struct diag d;
	uint8_t *text = NULL, *ktext = NULL;
	size_t len = 0, klen = 0;
	struct directory *dir = NULL;
	struct minisign_seckey *sk = NULL;
	struct minisign_pubkey pk;
	struct config *cfg = NULL;
	char *sig_path = NULL, *pw = NULL, *sig = NULL, tc[256];
	int c, rc, ret = CLI_EXIT_USAGE;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		directory_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0 || strcmp(sub, "set") == 0)
		return edit_main(sub, argc - 1, argv + 1);
	if (strcmp(sub, "sign") != 0 && strcmp(sub, "verify") != 0)
		return cli_usage("directory", "unknown subcommand '%s' (add, remove, set, sign, "
					      "verify)", sub);
	sign = strcmp(sub, "sign") == 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'P': pubkey = optarg; break;
		case 'c': config = optarg; break;
		case 's': sig_arg = optarg; break;
		case 'j': json = true; break;
		case 'h': directory_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("directory", "unknown or incomplete option");
		}
	}
	if (optind != argc - 2)
		return cli_usage("directory", "name one directory file");
	file = argv[optind + 1];
	if (sign && key == NULL)
		return cli_usage("directory sign", "--key is required (the secretariat's minisign "
						   "secret key)");
	diag_init(&d);
	if (sig_arg != NULL) {
		sig_path = strdup(sig_arg);
	} else {
		sig_path = cli_concat(file, ".minisig");
	}
	if (sig_path == NULL)
		goto out;

	if (sign) {
		/* Never sign a directory that gateways would refuse to load. */
		if ((rc = fileio_read(file, 1024 * 1024, 0, &text, &len, &d)) != 0 ||
		    (rc = directory_parse((const char *)text, len, file, &dir, &d)) != 0 ||
		    (rc = fileio_read(key, MINISIGN_FILE_MAX, 0, &ktext, &klen, &d)) != 0) {
			cli_print_diag("directory sign", &d);
			ret = cli_exit_for(rc);
			goto out;
		}
		if (minisign_seckey_encrypted((const char *)ktext, klen) == 1 &&
		    (pw = cli_read_password(pwfile, "Password: ", &d)) == NULL) {
			cli_print_diag("directory sign", &d);
			goto out;
		}
		if ((rc = minisign_seckey_parse((const char *)ktext, klen, key, pw, &sk, &d)) != 0) {
			cli_print_diag("directory sign", &d);
			ret = cli_exit_for(rc);
			goto out;
		}
		const char *base = strrchr(file, '/');
		snprintf(tc, sizeof(tc), "timestamp:%lld\tfile:%.100s\tserial:%ju\thashed",
			 (long long)(cli_now_ms() / 1000), base != NULL ? base + 1 : file,
			 (uintmax_t)dir->serial);
		if ((rc = minisign_sign(sk, text, len, tc, &sig)) != 0 ||
		    (rc = cli_replace_file(sig_path, sig, strlen(sig), 0644, &d)) != 0) {
			cli_print_diag("directory sign", &d);
			goto out;
		}
		if (json)
			ret = cli_json_print(json_pack("{s:s, s:s, s:I}", "directory", file,
						       "signature", sig_path,
						       "serial", (json_int_t)dir->serial));
		else {
			printf("%s: signed %s (serial %ju, %zu members)\n", sig_path, file,
			       (uintmax_t)dir->serial, dir->n);
			ret = CLI_EXIT_OK;
		}
		goto out;
	}

	/* verify */
	if (pubkey == NULL) {
		if ((rc = config_load(config, &cfg, &d)) != 0) {
			diag_add(&d, "give the secretariat's key with --pubkey, or a piugwd.yaml "
				     "with -c");
			cli_print_diag("directory verify", &d);
			ret = cli_exit_for(rc);
			goto out;
		}
		pubkey = cfg->secretariat_key;
	}
	if ((rc = minisign_pubkey_load(pubkey, &pk, &d)) != 0 ||
	    (rc = directory_load(file, sig_path, &pk, &dir, &d)) != 0) {
		if (json)
			ret = cli_json_print(json_pack("{s:s, s:b, s:o}", "directory", file, "valid",
						       0, "errors", cli_diag_json(&d)));
		else
			cli_print_diag("directory verify", &d);
		ret = rc == PIUGW_ENOENT && d.n == 0 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
		goto out;
	}
	{
		char exp[11], keyid[17];
		bool expired = directory_expired(dir, num_day_of_ms(cli_now_ms()));
		num_format_date(dir->expires_day, exp);
		minisign_keyid_hex(pk.keynum, keyid);
		if (json) {
			json_t *m = json_array();
			for (size_t i = 0; i < dir->n; i++)
				json_array_append_new(
					m, json_pack("{s:s, s:s, s:s, s:s}", "id",
						     dir->members[i].keys.id, "state",
						     dir->members[i].state, "name", dir->members[i].name,
						     "endpoint", dir->members[i].endpoint));
			ret = cli_json_print(json_pack("{s:s, s:b, s:s, s:I, s:s, s:b, s:o}",
						       "directory", file, "valid", 1, "signed_by",
						       keyid, "serial", (json_int_t)dir->serial,
						       "expires", exp, "expired", expired,
						       "members", m));
			goto out;
		}
		printf("%s: signature valid (secretariat key %s)\n  serial   %ju\n  expires  %s%s\n"
		       "  members  %zu\n", file, keyid, (uintmax_t)dir->serial, exp,
		       expired ? "  (EXPIRED: ask the secretariat for the current directory)" : "",
		       dir->n);
		for (size_t i = 0; i < dir->n; i++)
			printf("    %-12s %-3s %-36s %s\n", dir->members[i].keys.id,
			       dir->members[i].state, dir->members[i].endpoint, dir->members[i].name);
		ret = CLI_EXIT_OK;
	}
out:
	free(sig);
	free(sig_path);
	cli_free_password(pw);
	minisign_seckey_free(&sk);
	directory_free(&dir);
	config_free(&cfg);
	fileio_free(text, len, 0);
	fileio_free(ktext, klen, 0);
	diag_clear(&d);
	return ret;
}
