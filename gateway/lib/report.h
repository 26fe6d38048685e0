/*
 * report.h: the oversight report, built from a verified audit log alone.
 *
 * An oversight body (a data protection authority, the working group's
 * legal sub-group) does not read hash chains: it wants how many exchanges,
 * with whom, for what, refused how often and why, how fast, what was
 * disclosed, imported and erased, and which agreements and keys changed.
 * The report counts exactly that from the records of a period and says
 * which part of the log it covers (first and last record, the chain hash
 * of the last: the head an auditor finds again with piugw audit verify),
 * so that it can be checked against the log. It holds no personal data: no
 * names, documents, locators, subject digests, case references, operator
 * names or free text from partners; only counts, codes, partner and
 * agreement ids, and the gateway's own details of agreement and key changes.
 *
 * One set of figures (report_json) is rendered three ways: JSON (schema in
 * doc/oversight-report.md), CSV (one figure a row) and one self-contained
 * HTML file with inline SVG charts, readable when printed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_REPORT_H
#define PIUGW_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "audit.h"

#define REPORT_SCHEMA "piugw-oversight-report/1"

struct report;

/* A report of the records with from_ms <= time_ms < to_ms. */
int report_new(int64_t from_ms, int64_t to_ms, struct report **outp);
void report_free(struct report **rp);

/* Take one record of the log, in log order (an audit_scan callback's work). */
void report_add(struct report *r, const Piugw__AuditRecord *rec);
/* The first and last record of the period taken (0, 0: none). */
void report_range(const struct report *r, uint64_t *firstp, uint64_t *lastp);

/*
 * The figures, once every record was added: gateway the log's own, the
 * verification's report of the whole log, head the chain hash of the last
 * record covered, now when it was made. A new reference (json_decref).
 */
json_t *report_json(const struct report *r, const char *gateway,
		    const struct audit_verify_report *vr, const uint8_t head[32], int64_t now_ms);

/* The same figures as CSV (section,partner,figure,value) and as one HTML file. */
int report_write_csv(const json_t *j, FILE *f);
int report_write_html(const json_t *j, FILE *f);

/*
 * The whole of it, as `piugw audit report` and piugwd (for piugw-web) make
 * it: verify the log in dir against pub (then verified(ctx, ...), if not
 * NULL, may mark it broken, e.g. behind its anchor in state.db), refuse a
 * broken one (PIUGW_EAUDITBROKEN, *vr saying where), take the records of
 * [from_ms, to_ms), and render them as format ("html", "csv", "json") into
 * *bufp (malloc'd, *lenp bytes). *firstp and *lastp: the records covered.
 */
struct keys_public;
typedef void (*report_verified_fn)(void *ctx, const char *dir, struct audit_verify_report *vr,
				   struct diag *d);
int report_make(const char *dir, const struct keys_public *pub, int64_t from_ms, int64_t to_ms,
		const char *format, int64_t now_ms, report_verified_fn verified, void *ctx,
		char **bufp, size_t *lenp, struct audit_verify_report *vr, uint64_t *firstp,
		uint64_t *lastp, json_t **jsonp, struct diag *d);

#endif /* PIUGW_REPORT_H */
