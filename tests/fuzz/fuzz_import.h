/*
 * fuzz_import.h: one import reader on arbitrary bytes, into an in-memory
 * store emptied every 1000 inputs (memory stays bounded). Included by
 * fuzz_paxlst.c, fuzz_pnrgov.c, fuzz_csv.c and fuzz_jsonl.c with FUZZ_FORMAT defined.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *fuzz_store;
static unsigned fuzz_runs;

static void
fuzz_close(void)
{
	store_close(&fuzz_store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_stats st;
	struct diag d;
	uint64_t gone = 0;

	if (fuzz_store == NULL) {
		if (store_open(":memory:", &fuzz_store, NULL) != 0)
			abort();
		atexit(fuzz_close);
	}
	diag_init(&d);
	if (import_text(fuzz_store, FUZZ_FORMAT, (const char *)data, size, "fuzz", 1800000000000LL,
			&st, &d, NULL, NULL) == 0 &&
	    st.stored + st.rejected > st.read + st.rejected)
		abort(); /* more stored than read: the counts lie */
	diag_clear(&d);
	if (++fuzz_runs % 1000 == 0)
		store_purge(fuzz_store, INT64_MAX, &gone);
	return 0;
}
