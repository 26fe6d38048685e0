/*
 * num.h: the one checked parser for numbers and dates from files and the
 * command line (STYLE.md bans atoi and friends).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_NUM_H
#define PIUGW_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse s[0..len) as a decimal unsigned integer within [min, max]: digits
 * only, no sign, no spaces, no leading zeros (except "0"). Returns false on
 * anything else, *out untouched.
 */
bool num_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/* Parse s[0..len) as a finite decimal number in [min, max] ("0.88", "1"). */
bool num_parse_double(const char *s, size_t len, double min, double max, double *out);

/*
 * Parse an ISO 8601 calendar date "YYYY-MM-DD" (years 1900..9999) into days
 * since 1970-01-01. Refuses impossible dates such as 2026-02-29.
 */
bool num_parse_date(const char *s, size_t len, int32_t *days);

/* Days since 1970-01-01 of a valid y-m-d. */
int32_t num_days_from_civil(int y, unsigned m, unsigned d);

/* Format days since 1970-01-01 as "YYYY-MM-DD" into out (11 bytes). */
void num_format_date(int32_t days, char out[11]);

/* The UTC day number of a Unix time in milliseconds. */
int32_t num_day_of_ms(int64_t ms);

#endif /* PIUGW_NUM_H */
