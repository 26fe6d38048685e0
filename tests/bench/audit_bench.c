/*
 * audit_bench.c: records per second the audit log takes on this machine's
 * disk with group commit, as gateway threads use it: each thread appends
 * records and waits for durability before "sending an answer".
 *
 *   audit_bench [--records N] [--threads T] [--wait-every K] [--dir DIR]
 *
 * Prints records/s, fdatasyncs, records per fdatasync, and the same figure
 * with one fdatasync per record (no group commit) for comparison.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "num.h"

static struct audit_log *log_;
static uint64_t per_thread, wait_every;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	uint8_t dig[32];
	(void)arg;
	randombytes_buf(dig, sizeof(dig));
	for (uint64_t i = 0; i < per_thread; i++) {
		Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
		ProtobufCBinaryData dd = {32, dig};
		uint64_t seq;
		r.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
		r.peer = "XB-PIU";
		r.agreement_id = "XA-XB-2026-001";
		r.case_reference = "BENCH-CASE-0001";
		r.n_subject_digests = 1;
		r.subject_digests = &dd;
		r.record_count = 1;
		if (audit_append(log_, &r, &seq) != 0)
			abort();
		if ((i + 1) % wait_every == 0 && audit_wait_durable(log_, seq) != 0)
			abort();
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {{"records", required_argument, NULL, 'n'},
					   {"threads", required_argument, NULL, 't'},
					   {"wait-every", required_argument, NULL, 'w'},
					   {"dir", required_argument, NULL, 'd'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	uint64_t records = 200000, threads = 16;
	char tmpl[] = "/var/tmp/piugw-audit-bench-XXXXXX", *dir = NULL;
	struct keys_secret *k = NULL;
	struct diag d;
	int c;

	wait_every = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': if (!num_parse_u64(optarg, strlen(optarg), 1, 100000000, &records)) return 2; break;
		case 't': if (!num_parse_u64(optarg, strlen(optarg), 1, 256, &threads)) return 2; break;
		case 'w': if (!num_parse_u64(optarg, strlen(optarg), 1, 1000000, &wait_every)) return 2; break;
		case 'd': dir = optarg; break;
		default:
			printf("usage: audit_bench [--records N] [--threads T] [--wait-every K] [--dir DIR]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (sodium_init() < 0 || keys_generate("XA-PIU", &k) != 0)
		return 2;
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
		return 2;
	diag_init(&d);
	char adir[4096];
	snprintf(adir, sizeof(adir), "%s/audit", dir);
	struct audit_opts o = {.dir = adir, .signer = k};
	if (audit_open(&o, &log_, &d) != 0)
		return 2;
	per_thread = records / threads;
	pthread_t th[256];
	double t0 = now_s();
	for (uint64_t i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (uint64_t i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	if (audit_wait_durable(log_, audit_head(log_)) != 0)
		return 1;
	double t1 = now_s();
	uint64_t n = per_thread * threads, syncs = audit_syncs(log_);
	audit_close(&log_);

	/* The same disk, one fdatasync per record: what group commit saves. */
	char raw[4200];
	snprintf(raw, sizeof(raw), "%s/raw", dir);
	int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t rec[160];
	memset(rec, 'x', sizeof(rec));
	uint64_t m = 2000;
	double r0 = now_s();
	for (uint64_t i = 0; i < m; i++)
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) != 0)
			return 1;
	double r1 = now_s();
	close(fd);

	printf("audit: %ju records, %ju threads, durable wait every %ju per thread\n",
	       (uintmax_t)n, (uintmax_t)threads, (uintmax_t)wait_every);
	printf("  group commit     %10.0f records/s  (%ju fdatasyncs, %.1f records each)\n",
	       (double)n / (t1 - t0), (uintmax_t)syncs, (double)n / (double)(syncs ? syncs : 1));
	printf("  one sync/record  %10.0f records/s  (same disk, %ju plain writes)\n",
	       (double)m / (r1 - r0), (uintmax_t)m);
	printf("  ratio            %10.1f x\n", ((double)n / (t1 - t0)) / ((double)m / (r1 - r0)));
	if (dir == tmpl) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	keys_secret_free(&k);
	diag_clear(&d);
	return 0;
}
