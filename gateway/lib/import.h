/*
 * import.h: reading API/PNR data into the store.
 *
 *   PAXLST  UN/EDIFACT PAXLST D02B/D05B as airlines send it (IATA/WCO API
 *           guidelines): UNA, any separators it declares, the release
 *           character, UNB..UNZ interchanges with several UNH..UNT messages,
 *           TDT/LOC/DTM legs, NAD+FL (passengers) and NAD+FM (crew), ATT,
 *           DTM+329, NAT, DOC, DTM+36, LOC+91, RFF+AVF, CNT+42 checked.
 *           A message that is malformed is rejected whole with
 *           "file:segment-number: reason"; the rest of the file still imports.
 *   CSV     RFC 4180, a header row naming the columns (store.h, plus
 *           "source" API|PNR and "transferred_at" YYYY-MM-DD[THH:MM[:SS]Z]).
 *   JSONL   one JSON object per line with the same keys.
 *   PNRGOV  PNR as carriers push it (pnrgov.h): a booking that is malformed
 *           or cut short is rejected whole, the rest of the file imports.
 *
 * Sensitive data never enters the store (sensitive.h): SSR codes that
 * reveal religion or health, in PNRGOV or in the ssr column of CSV and JSON
 * Lines, are dropped and counted.
 *
 * A file is stored whole or not at all (one transaction): the counts are the
 * truth once import_text() returns 0, and 0 stored otherwise. Inside it, a
 * PAXLST message that is malformed, or a CSV/JSONL row, is rejected whole
 * and the rest goes on. Imports are idempotent: a record stored before
 * (store.h: its natural key, or the record_id column of CSV and JSON Lines)
 * is replaced, never added twice. A transfer time in the future is refused.
 * Rejections name the place and the reason, never the personal data.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_IMPORT_H
#define PIUGW_IMPORT_H

#include <stdint.h>

#include "diag.h"
#include "store.h"

enum import_format { IMPORT_PAXLST = 1, IMPORT_CSV = 2, IMPORT_JSONL = 3, IMPORT_PNRGOV = 4 };

struct import_stats {
	uint64_t read;     /* records (passengers x legs, or rows) read */
	uint64_t stored;
	uint64_t rejected;
	uint64_t messages; /* PAXLST messages, or rows */
	uint64_t messages_rejected;
	uint64_t replaced; /* of the stored: records that were in the store already */
	uint64_t removed;  /* PNRGOV: travellers of cancelled or changed bookings taken off a flight */
	uint64_t sensitive_dropped; /* elements never stored (sensitive.h), or unvouched free text */
};

/* Called now and then with the running totals (for a progress line). */
typedef void (*import_progress)(const struct import_stats *st, void *ctx);

/*
 * Import text (label names it in diagnostics) into s, in one transaction.
 * now_ms is the default transfer time where the data carries none, and the
 * limit of a transfer time given (a few minutes of clock skew allowed).
 * Returns 0 once the file is committed (rejections are counted in st and
 * explained in d), or an error if the store failed: then nothing of the
 * file is stored and st->stored is 0.
 */
int import_text(struct store *s, enum import_format fmt, const char *text, size_t len,
		const char *label, int64_t now_ms, struct import_stats *st, struct diag *d,
		import_progress progress, void *ctx);

/* The format named "paxlst", "csv", "jsonl" or "pnrgov", or -1. */
int import_format_by_name(const char *name);
/* And back. */
const char *import_format_name(enum import_format fmt);

#endif /* PIUGW_IMPORT_H */
