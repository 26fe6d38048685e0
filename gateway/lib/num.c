/*
 * num.c: see num.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

/* See num.h. */
bool
num_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned digit;
		if (s[i] < '0' || s[i] > '9')
			return false;
		digit = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* See num.h. */
bool
num_parse_double(const char *s, size_t len, double min, double max, double *out)
{
	char buf[32];
	char *end = NULL;
	double v;
	bool dot = false;

	if (s == NULL || len == 0 || len >= sizeof(buf))
		return false;
	/* Digits and at most one dot: no exponents, hex, inf or nan. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' && !dot && i > 0 && i + 1 < len)
			dot = true;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* See num.h. Howard Hinnant's days_from_civil. */
int32_t
num_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + (int)doe - 719468);
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* See num.h. */
bool
num_parse_date(const char *s, size_t len, int32_t *days)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	uint64_t y, m, d;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	/* Leading zeros are normal in dates: parse digit by digit. */
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = (uint64_t)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
	m = (uint64_t)((s[5] - '0') * 10 + (s[6] - '0'));
	d = (uint64_t)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return false;
	if (d > mdays[m - 1] + (m == 2 && leap((int)y) ? 1u : 0u))
		return false;
	*days = num_days_from_civil((int)y, (unsigned)m, (unsigned)d);
	return true;
}

/* See num.h. Howard Hinnant's civil_from_days. */
void
num_format_date(int32_t days, char out[11])
{
	int z = days + 719468;
	const int era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int y = (int)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned d = doy - (153 * mp + 2) / 5 + 1;
	const unsigned m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	if (y < 0 || y > 9999)
		y = 0;
	/* m is 1..12 and d 1..31 by construction; the casts tell the compiler. */
	snprintf(out, 11, "%04d-%02u-%02u", y, (unsigned)(m % 13), (unsigned)(d % 32));
}

/* See num.h. */
int32_t
num_day_of_ms(int64_t ms)
{
	int64_t day = ms / 86400000;
	if (ms < 0 && ms % 86400000 != 0)
		day--;
	return (int32_t)day;
}
