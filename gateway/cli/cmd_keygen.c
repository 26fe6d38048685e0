/*
 * cmd_keygen.c: piugw keygen --id ID [--out DIR] [--json]
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "encoding.h"
#include "keys.h"
#include "piugw/error.h"

static void
keygen_usage(FILE *f)
{
	fprintf(f,
		"Usage: piugw keygen --id ID [--out DIR] [--json]\n\n"
		"Generate this gateway's X25519 transport key and Ed25519 signing key and\n"
		"write them as ZeroMQ certificates:\n"
		"  DIR/ID.cert         public: give it to the IWG secretariat\n"
		"  DIR/ID.cert_secret  secret, mode 0600: never leaves this gateway\n\n"
		"Options:\n"
		"  --id ID     gateway id: 3 to 32 of A-Z 0-9 . _ - (e.g. XA-PIU)\n"
		"  --out DIR   where to write (default: the current directory; created\n"
		"              with mode 0700 if missing)\n"
		"  --json      print the result as JSON\n"
		"  -h, --help  show this help\n\n"
		"Existing key files are never overwritten.\n");
}

int
keygen_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"id", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *id = NULL, *dir = ".";
	bool json = false;
	struct keys_secret *k = NULL;
	struct diag d;
	char tpk[Z85_LEN(32) + 1], spk[Z85_LEN(32) + 1];
	int c, ret = CLI_EXIT_USAGE, rc;

	diag_init(&d);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': id = optarg; break;
		case 'o': dir = optarg; break;
		case 'j': json = true; break;
		case 'h': keygen_usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage("keygen", "unknown or incomplete option");
		}
	}
	if (optind != argc)
		return cli_usage("keygen", "unexpected argument '%s'", argv[optind]);
	if (id == NULL)
		return cli_usage("keygen", "--id is required (e.g. --id XA-PIU)");
	if (!keys_id_valid(id, strlen(id)))
		return cli_usage("keygen", "'%s' is not a gateway id: use 3 to 32 of A-Z 0-9 . _ - "
					   "(e.g. XA-PIU)", id);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "piugw keygen: cannot create %s: %s\n", dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if ((rc = keys_generate(id, &k)) != 0) {
		fprintf(stderr, "piugw keygen: %s\n", piugw_strerror(rc));
		ret = cli_exit_for(rc);
		goto out;
	}
	if ((rc = keys_save(k, dir, &d)) != 0) {
		cli_print_diag("keygen", &d);
		ret = cli_exit_for(rc);
		goto out;
	}
	z85_encode(tpk, sizeof(tpk), keys_secret_public(k)->transport_pk, 32);
	z85_encode(spk, sizeof(spk), keys_secret_public(k)->sign_pk, 32);
	if (json) {
		json_t *o = json_pack("{s:s, s:s+++, s:s+++, s:s, s:s}", "gateway_id", id, "cert",
				      dir, "/", id, ".cert", "cert_secret", dir, "/", id,
				      ".cert_secret", "transport_public_key", tpk,
				      "sign_public_key", spk);
		if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			json_decref(o);
			fprintf(stderr, "piugw keygen: cannot format JSON\n");
			goto out;
		}
		putchar('\n');
		json_decref(o);
	} else {
		printf("Generated keys for %s\n"
		       "  public certificate  %s/%s.cert         (give it to the IWG secretariat)\n"
		       "  secret certificate  %s/%s.cert_secret  (mode 0600; never copy it off this "
		       "gateway)\n"
		       "  transport key       %s\n"
		       "  signing key         %s\n",
		       id, dir, id, dir, id, tpk, spk);
	}
	ret = CLI_EXIT_OK;
out:
	keys_secret_free(&k);
	diag_clear(&d);
	return ret;
}
