/*
 * cmd_directory.c: piugw directory sign|verify
 *
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
		"Usage: piugw directory sign --key SECRET.key [--password-file FILE] DIRECTORY.yaml\n"
		"       piugw directory verify [--pubkey FILE | -c CONFIG] DIRECTORY.yaml [--json]\n\n"
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
	if (strcmp(sub, "sign") != 0 && strcmp(sub, "verify") != 0)
		return cli_usage("directory", "unknown subcommand '%s' (sign, verify)", sub);
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
