/*
 * bench.h: the timing helpers every benchmark shares.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_BENCH_H
#define PIUGW_BENCH_H

#include <stddef.h>
#include <time.h>

/* Monotonic time in microseconds. */
static inline double
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* qsort comparator for doubles. */
static inline int
bench_cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile (0..1) of n sorted values; 0 when there are none. */
static inline double
bench_pct(const double *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (double)(n - 1))] : 0;
}

#endif /* PIUGW_BENCH_H */
