/*
 * fuzz_audit.c: the audit segment reader (verify and scan) on arbitrary
 * segment bytes, as an oversight body would meet a damaged or forged log.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], seg[320];
static struct keys_public pub;

static void
cleanup(void)
{
	unlink(seg);
	rmdir(dir);
}

static int
count_cb(const Piugw__AuditRecord *r, const char *s, void *ctx)
{
	(void)r;
	(void)s;
	(*(unsigned *)ctx)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_report rep;
	struct diag d;
	unsigned n = 0;
	int fd;

	if (dir[0] == '\0') {
		struct keys_secret *k = NULL;
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/piugw-fuzz-audit-%ld", tmp && *tmp ? tmp : "/tmp",
			 (long)getpid());
		if (sodium_init() < 0 || mkdir(dir, 0700) != 0 || keys_generate("XA-PIU", &k) != 0)
			abort();
		pub = *keys_secret_public(k);
		keys_secret_free(&k);
		snprintf(seg, sizeof(seg), "%s/audit-00000000000000000001.seg", dir);
		atexit(cleanup);
	}
	if ((fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	diag_init(&d);
	(void)audit_verify(dir, &pub, 0, &rep, &d);
	(void)audit_scan(dir, count_cb, &n, &d);
	diag_clear(&d);
	return 0;
}
