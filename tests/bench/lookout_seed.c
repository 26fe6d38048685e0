/*
 * lookout_seed.c: N partners' lookouts in force, written into a gateway's
 * state.db as if its partner had placed them (the daemon's own rows, through
 * state.h), for tests/bench/run: placing 10,000 over the mesh would measure
 * the placing, not the import. One in 200 is for a traveller of the
 * generator's sample (its queries file), by document; the rest are for
 * documents nobody holds.
 *
 *   lookout_seed STATE.DB PEER AGREEMENT-ID N QUERIES.TSV
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "body.pb-c.h"
#include "num.h"
#include "state.h"

int
main(int argc, char **argv)
{
	struct state *s = NULL;
	struct diag d;
	uint64_t n = 0;
	FILE *qf;
	char line[512], iss[8] = "XZZ", doc[16] = "";
	struct timespec ts;
	int64_t now;

	if (argc != 6 || !num_parse_u64(argv[4], strlen(argv[4]), 0, 10000000, &n)) {
		fprintf(stderr, "usage: lookout_seed STATE.DB PEER AGREEMENT-ID N QUERIES.TSV\n");
		return 2;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000;
	diag_init(&d);
	if (state_open(argv[1], &s, &d) != 0 || (qf = fopen(argv[5], "r")) == NULL) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "lookout_seed: %s\n", d.lines[i]);
		return 1;
	}
	state_batch(s, true);
	for (uint64_t i = 0; i < n; i++) {
		Piugw__LookoutPlace lp = PIUGW__LOOKOUT_PLACE__INIT;
		Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
		struct state_lookout l;
		char num[24], ref[32];

		snprintf(num, sizeof(num), "Z%08ju", (uintmax_t)i);
		dc.issuing_state = (char *)"XZZ";
		dc.number = num;
		if (i % 200 == 0 && fgets(line, sizeof(line), qf) != NULL &&
		    sscanf(line, "%7[^\t]\t%15[^\t]", iss, doc) == 2) {
			dc.issuing_state = iss;
			dc.number = doc;
		}
		snprintf(ref, sizeof(ref), "LO-B%011ju", (uintmax_t)i);
		lp.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
		lp.case_reference = (char *)"BENCH";
		lp.justification = (char *)"benchmark";
		lp.expires_at_ms = now + 30 * 86400000LL;
		lp.criteria_case = PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT;
		lp.document = &dc;
		memset(&l, 0, sizeof(l));
		snprintf(l.ref, sizeof(l.ref), "%s", ref);
		l.incoming = true;
		snprintf(l.peer, sizeof(l.peer), "%s", argv[2]);
		snprintf(l.agreement_id, sizeof(l.agreement_id), "%s", argv[3]);
		l.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT;
		l.state = STATE_LOOKOUT_ACTIVE;
		l.expires_ms = lp.expires_at_ms;
		l.created_ms = l.updated_ms = now;
		l.place_len = piugw__lookout_place__get_packed_size(&lp);
		if ((l.place = malloc(l.place_len)) == NULL)
			return 1;
		piugw__lookout_place__pack(&lp, l.place);
		if (state_lookout_put(s, &l) != 0)
			return 1;
		state_lookout_clear(&l);
	}
	if (state_commit(s) != 0)
		return 1;
	fclose(qf);
	state_close(&s);
	printf("lookout_seed: %ju lookouts of %s held\n", (uintmax_t)n, argv[2]);
	return 0;
}
