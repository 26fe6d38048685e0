/*
 * store_bench.c: the traveller store at scale. Generates N travellers with
 * gen_travellers, imports them through the CSV reader into a fresh store,
 * then times document lookups and fuzzy name searches (names given in the
 * other order, as a partner might send them) of travellers that exist.
 *
 *   store_bench [--travellers N] [--gen PATH] [--dir DIR] [--pnrgov] [--lookouts N]
 *
 * --lookouts N: N partners' lookouts in force (lookout.h), one in a hundred
 * for a traveller that exists (documents, and fuzzy names with the names in
 * the other order), the rest for documents nobody holds; then every row the
 * import stored is checked against them as piugwd does after an import
 * (store_keys_since in its batches, lookout_index_match), timed against the
 * import itself, and each hit searched again as a firing lookout does.
 *
 * --pnrgov: the same travellers' PNR too, as the carriers' PNRGOV pushes
 * (gen_travellers --pnrgov, one push per booking), imported after the CSV
 * and timed; the lookups then run on the store where each person's API and
 * PNR rows are joined (store.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fileio.h"
#include "import.h"
#include "lookout.h"
#include "num.h"
#include "store.h"
#include "bench.h"


struct q {
	char iss[8], doc[16], sn[64], gn[96], dob[11];
};

/* The lookouts that fired (their index), as a firing lookout is then searched again. */
struct hitlist {
	size_t n, cap;
	size_t *v;
};

static void
count_hit(void *arg, const struct lookout_entry *e, double score)
{
	struct hitlist *h = arg;

	(void)score;
	if (h->n == h->cap) {
		size_t nc = h->cap ? 2 * h->cap : 256;
		size_t *nv = realloc(h->v, nc * sizeof(*nv));
		if (nv == NULL)
			return;
		h->v = nv;
		h->cap = nc;
	}
	h->v[h->n++] = e->user;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {{"travellers", required_argument, NULL, 't'},
					   {"gen", required_argument, NULL, 'g'},
					   {"dir", required_argument, NULL, 'd'},
					   {"pnrgov", no_argument, NULL, 'p'},
					   {"lookouts", required_argument, NULL, 'l'},
					   {"store", required_argument, NULL, 's'},
					   {NULL, 0, NULL, 0}};
	const char *where = NULL;
	uint64_t nlookouts = 0;
	bool pnrgov = false;
	double p0 = 0, p1 = 0;
	uint64_t bookings = 0, pnr_travellers = 0;
	uint64_t n = 1000000;
	const char *gen = "build/release/deploy/examples/gen_travellers";
	char tmpl[] = "/var/tmp/piugw-store-bench-XXXXXX", *dir = NULL, path[4200], cmd[9000];
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 't' && num_parse_u64(optarg, strlen(optarg), 100, 100000000, &n))
			continue;
		if (c == 'g') {
			gen = optarg;
			continue;
		}
		if (c == 'd') {
			dir = optarg;
			continue;
		}
		if (c == 'p') {
			pnrgov = true;
			continue;
		}
		if (c == 'l' && num_parse_u64(optarg, strlen(optarg), 1, 10000000, &nlookouts))
			continue;
		if (c == 's' && strncmp(optarg, "postgresql:", 11) == 0) {
			where = optarg;
			continue;
		}
		fprintf(stderr, "usage: store_bench [--travellers N] [--gen PATH] [--dir DIR] [--pnrgov] "
				"[--lookouts N] [--store postgresql:CONNINFO]\n");
		return 2;
	}
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
		return 2;
	snprintf(cmd, sizeof(cmd), "'%s' %ju --queries '%s/queries.tsv' > '%s/travellers.csv'", gen,
		 (uintmax_t)n, dir, dir);
	double g0 = bench_now_us();
	if (system(cmd) != 0) {
		fprintf(stderr, "store_bench: the generator failed\n");
		return 1;
	}
	double g1 = bench_now_us();

	struct store *s = NULL;
	struct diag d;
	diag_init(&d);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	unlink(path);
	if (where != NULL) {
		/* A PostgreSQL database, emptied first: the same work from the same start. */
		PGconn *pc = PQconnectdb(where + 11);
		PGresult *pr = PQexec(pc, "SET client_min_messages = warning;"
					  "DROP TABLE IF EXISTS selector, traveller, store_meta");
		if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
			fprintf(stderr, "store_bench: %s", PQerrorMessage(pc));
			return 1;
		}
		PQclear(pr);
		PQfinish(pc);
		snprintf(path, sizeof(path), "%s", where);
	}
	if (store_open(path, &s, &d) != 0) {
		for (size_t k = 0; k < d.n && k < 5; k++)
			fprintf(stderr, "%s\n", d.lines[k]);
		return 1;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/travellers.csv", dir);
	if (fileio_read(path, (size_t)4 << 30, 0, &buf, &len, &d) != 0)
		return 1;
	struct import_stats st;
	double i0 = bench_now_us();
	if (import_text(s, IMPORT_CSV, (char *)buf, len, "travellers.csv", 1811851200000LL, &st, &d,
			NULL, NULL) != 0 || st.rejected != 0) {
		for (size_t k = 0; k < d.n && k < 5; k++)
			fprintf(stderr, "%s\n", d.lines[k]);
		return 1;
	}
	double i1 = bench_now_us();
	fileio_free(buf, len, 0);

	if (pnrgov) {
		struct import_stats ps;
		snprintf(cmd, sizeof(cmd), "'%s' %ju --pnrgov > '%s/pnr.edi'", gen, (uintmax_t)n, dir);
		if (system(cmd) != 0)
			return 1;
		snprintf(path, sizeof(path), "%s/pnr.edi", dir);
		if (fileio_read(path, (size_t)4 << 30, 0, &buf, &len, &d) != 0)
			return 1;
		p0 = bench_now_us();
		if (import_text(s, IMPORT_PNRGOV, (char *)buf, len, "pnr.edi", 1811851200000LL, &ps, &d,
				NULL, NULL) != 0 || ps.rejected != 0) {
			for (size_t k = 0; k < d.n && k < 5; k++)
				fprintf(stderr, "%s\n", d.lines[k]);
			return 1;
		}
		p1 = bench_now_us();
		bookings = ps.messages;
		pnr_travellers = ps.stored;
		fileio_free(buf, len, 0);
	}

	/* The sample of travellers that exist. */
	snprintf(path, sizeof(path), "%s/queries.tsv", dir);
	FILE *qf = fopen(path, "r");
	struct q *qs = calloc(100000, sizeof(*qs));
	size_t nq = 0;
	char line[512];
	while (qf != NULL && nq < 100000 && fgets(line, sizeof(line), qf) != NULL) {
		if (sscanf(line, "%7[^\t]\t%15[^\t]\t%63[^\t]\t%95[^\t]\t%10s", qs[nq].iss, qs[nq].doc,
			   qs[nq].sn, qs[nq].gn, qs[nq].dob) == 5)
			nq++;
	}
	if (qf != NULL)
		fclose(qf);
	if (nq == 0)
		return 1;

	size_t nd = nq < 2000 ? 20000 : nq * 5, nz = nq < 1000 ? 2000 : nq;
	double *lat = malloc(sizeof(double) * (nd > nz ? nd : nz));
	unsigned misses = 0;
	for (size_t k = 0; k < nd; k++) {
		struct store_result r;
		const struct q *x = &qs[k % nq];
		double t0 = bench_now_us();
		store_search_document(s, x->iss, x->doc, 10, &r);
		lat[k] = bench_now_us() - t0;
		misses += r.total == 0;
		store_result_clear(&r);
	}
	qsort(lat, nd, sizeof(double), bench_cmp_d);
	double d50 = bench_pct(lat, nd, 0.5), d99 = bench_pct(lat, nd, 0.99);

	unsigned fz_miss = 0;
	for (size_t k = 0; k < nz; k++) {
		struct store_result r;
		const struct q *x = &qs[k % nq];
		double t0 = bench_now_us();
		/* Given names where the surname was: the order a partner may use. */
		store_search_name_fuzzy(s, x->gn, x->sn, x->dob, 0.88, 10, &r);
		lat[k] = bench_now_us() - t0;
		fz_miss += r.total == 0;
		store_result_clear(&r);
	}
	qsort(lat, nz, sizeof(double), bench_cmp_d);
	double f50 = bench_pct(lat, nz, 0.5), f99 = bench_pct(lat, nz, 0.99);

	/* Lookouts in force, checked against every row the import stored. */
	double l0 = 0, l1 = 0, l2 = 0, f0 = 0, f1 = 0;
	size_t rows_checked = 0, hits = 0;
	if (nlookouts > 0) {
		struct lookout_index *ix = NULL;
		struct store_keys *k = malloc(5000 * sizeof(*k));
		int64_t mark = 0;
		size_t got;
		l0 = bench_now_us();
		if (k == NULL || lookout_index_new(&ix) != 0)
			return 1;
		for (uint64_t i = 0; i < nlookouts; i++) {
			Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
			Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
			Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;
			char num[32], ref[32];
			const struct q *x = &qs[i % nq];
			snprintf(ref, sizeof(ref), "LO-%012ju", (uintmax_t)i);
			if (i % 200 == 0) { /* a traveller that exists, by document */
				dc.issuing_state = (char *)x->iss;
				dc.number = (char *)x->doc;
			} else if (i % 200 == 100) { /* by fuzzy name, the names the other way round */
				nc.surname = (char *)x->gn;
				nc.given_names = (char *)x->sn;
				nc.date_of_birth = (char *)x->dob;
			} else {
				snprintf(num, sizeof(num), "Z%08ju", (uintmax_t)i);
				dc.issuing_state = (char *)"XZZ";
				dc.number = num;
			}
			if (i % 200 == 100) {
				lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY;
				lp.name_fuzzy = &nc;
			} else {
				lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
				lp.document = &dc;
			}
			if (lookout_index_add(ix, ref, &lp, 0.88, (size_t)i) != 0)
				return 1;
		}
		lookout_index_ready(ix);
		l1 = bench_now_us();
		struct hitlist hl = {0, 0, NULL};
		while (store_keys_since(s, mark, k, 5000, &got) == 0 && got > 0) {
			for (size_t r = 0; r < got; r++)
				hits += lookout_index_match(ix, &k[r], count_hit, &hl);
			rows_checked += got;
			mark = k[got - 1].id;
		}
		l2 = bench_now_us();
		/* Each hit fires: the person searched again, as the notification is built. */
		f0 = bench_now_us();
		for (size_t h = 0; h < hl.n; h++) {
			struct store_result r;
			const struct q *x = &qs[(hl.v[h]) % nq];
			if (hl.v[h] % 200 == 0)
				store_search_document(s, x->iss, x->doc, 64, &r);
			else
				store_search_name_fuzzy(s, x->gn, x->sn, x->dob, 0.88, 64, &r);
			store_result_clear(&r);
		}
		f1 = bench_now_us();
		free(hl.v);
		free(k);
		lookout_index_free(&ix);
	}

	printf("store: %ju travellers (generated in %.1f s)\n", (uintmax_t)st.stored,
	       (g1 - g0) / 1e6);
	printf("  import (CSV)       %8.1f s   %10.0f rows/s\n", (i1 - i0) / 1e6,
	       (double)st.stored / ((i1 - i0) / 1e6));
	if (pnrgov) {
		struct store_stats ss;
		store_stats(s, 1811851200000LL, &ss);
		printf("  import (PNRGOV)    %8.1f s   %10.0f travellers/s (%ju bookings, %ju "
		       "travellers; then %ju rows, %ju persons)\n",
		       (p1 - p0) / 1e6, (double)pnr_travellers / ((p1 - p0) / 1e6),
		       (uintmax_t)bookings, (uintmax_t)pnr_travellers, (uintmax_t)ss.rows,
		       (uintmax_t)ss.persons);
	}
	if (nlookouts > 0) {
		double imp = (i1 - i0) / 1e6, chk = (l2 - l1) / 1e6, fire = (f1 - f0) / 1e6;
		printf("  lookouts           %ju in force, indexed in %.3f s\n", (uintmax_t)nlookouts,
		       (l1 - l0) / 1e6);
		printf("  lookout check      %8.2f s for %zu rows (%.2f us a row): %.1f%% of the "
		       "import's time (target <= 20%%)\n",
		       chk, rows_checked, chk * 1e6 / (double)(rows_checked ? rows_checked : 1),
		       100.0 * chk / imp);
		printf("  lookouts fired     %zu, searched again in %.2f s; check and fires: %.1f%% of "
		       "the import's time\n",
		       hits, fire, 100.0 * (chk + fire) / imp);
	}
	printf("  document lookup    p50 %7.1f us   p99 %7.1f us   (%zu lookups, %u misses)\n", d50,
	       d99, nd, misses);
	printf("  fuzzy name search  p50 %7.1f us   p99 %7.1f us   (%zu searches, %u misses)\n",
	       f50, f99, nz, fz_miss);
	store_close(&s);
	free(lat);
	free(qs);
	diag_clear(&d);
	if (dir == tmpl) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return misses == 0 && fz_miss == 0 ? 0 : 1;
}
