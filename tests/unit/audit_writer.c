/*
 * audit_writer.c: a helper for test_audit's crash test. Opens the audit log
 * in argv[1] with the secret certificate argv[2], then appends records
 * forever; after each batch it waits for durability and prints
 * "durable <seq>" on stdout, so the test knows what must survive a kill -9.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "audit.h"

int
main(int argc, char **argv)
{
	struct keys_secret *k = NULL;
	struct audit_log *log = NULL;
	struct diag d;
	struct audit_opts o = {0};
	char detail[64];

	if (argc != 3 || sodium_init() < 0)
		return 2;
	diag_init(&d);
	if (keys_secret_load(argv[2], &k, &d) != 0)
		return 2;
	o.dir = argv[1];
	o.signer = k;
	o.checkpoint_records = 7;
	o.segment_bytes = 4096; /* many segments: crashes land around rotations too */
	if (audit_open(&o, &log, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("opened %ju\n", (uintmax_t)audit_head(log));
	for (unsigned i = 0;; i++) {
		uint64_t seq = 0;
		for (int j = 0; j < 5; j++) {
			Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
			snprintf(detail, sizeof(detail), "batch %u record %d", i, j);
			r.event = PIUGW__AUDIT_EVENT__AUDIT_QUERY_RECEIVED;
			r.peer = "XB-PIU";
			r.detail = detail;
			if (audit_append(log, &r, &seq) != 0)
				return 1;
		}
		if (audit_wait_durable(log, seq) != 0)
			return 1;
		printf("durable %ju\n", (uintmax_t)seq);
	}
}
