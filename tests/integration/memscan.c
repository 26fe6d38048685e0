/*
 * memscan.c: does process PID hold a gateway's Ed25519 signing key (or,
 * with --transport, its CURVE secret) anywhere in its memory, readable or
 * not? For sandbox.sh (issue 18): the key holder holds the one and not the
 * other, piugwd's main process the other and not the one.
 *
 *   memscan [--transport] PID CERT_SECRET    exit 1: found, 0: not found, 2: could not look
 *   memscan --text TEXT PID                  the same for TEXT (a traveller's document number)
 *
 * The seed (the first 32 bytes of sign-secret-key), or the curve section's
 * secret-key, is searched for through
 * /proc/PID/mem, which reads pages whatever their protection (as a debugger
 * would: root, or the same user with ptrace allowed). Mappings larger than
 * 256 MiB are left out: a sanitizer's shadow, never a key's page.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"

static uint8_t buf[1 << 20];

int
main(int argc, char **argv)
{
	char path[64], line[512], *text = NULL, *p, *q;
	uint8_t sk[64];
	size_t cap = 0;
	FILE *f;
	int mem, found = 0;

	bool transport = argc == 4 && strcmp(argv[1], "--transport") == 0;
	bool plain = argc == 4 && strcmp(argv[1], "--text") == 0;
	const char *what = transport ? "\n    secret-key = \"" : "sign-secret-key = \"";
	const char *name = plain ? "text" : transport ? "CURVE secret" : "signing key";
	size_t klen = transport ? 32 : 64, nlen = 32;
	const uint8_t *needle = sk;

	if (argc != 3 && !transport && !plain) {
		fprintf(stderr, "usage: memscan [--transport] PID CERT_SECRET | --text TEXT PID\n");
		return 2;
	}
	if (plain) {
		needle = (const uint8_t *)argv[2];
		if ((nlen = strlen(argv[2])) == 0 || nlen > 4096) {
			fprintf(stderr, "memscan: TEXT: 1 to 4096 bytes\n");
			return 2;
		}
		argv[2] = argv[3]; /* PID where the others have it */
		argv[1] = argv[2];
	} else {
		argv += transport;
		if ((f = fopen(argv[2], "r")) == NULL || getdelim(&text, &cap, '\0', f) < 0) {
			perror(argv[2]);
			return 2;
		}
		fclose(f);
		if ((p = strstr(text, what)) == NULL || (q = strchr(p += strlen(what), '"')) == NULL ||
		    z85_decode(sk, klen, p, (size_t)(q - p)) != 0) {
			fprintf(stderr, "memscan: %s: no %s\n", argv[2],
				transport ? "secret-key" : "sign-secret-key");
			return 2;
		}
		free(text);
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY)) < 0) {
		perror(path);
		return 2;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL || hi - lo > 256UL << 20)
			continue;
		for (unsigned long at = lo; !found && at < hi; at += sizeof(buf) - (nlen - 1)) {
			size_t want = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
			ssize_t n = pread(mem, buf, want, (off_t)at);
			if (n < (ssize_t)nlen)
				break;
			found = memmem(buf, (size_t)n, needle, nlen) != NULL;
		}
	}
	fclose(f);
	close(mem);
	printf("%s: the %s is %s\n", argv[1], name, found ? "there" : "not there");
	return found;
}
