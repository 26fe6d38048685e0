/*
 * report_html.c: the oversight report as one self-contained HTML file
 * (report.h): tables, and charts drawn here as inline SVG. Nothing is
 * fetched (no script, no font, no image from elsewhere); it opens in a
 * browser without a network and prints on A4.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <string.h>

#include "num.h"
#include "piugw/error.h"
#include "report.h"

/* Text escaped for HTML (element content and attribute values). */
static void
esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "";
}

static long long
num(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v)
	       : json_is_real(v)  ? (long long)json_real_value(v)
				  : 0;
}

/* The sum of the values of an object of counts. */
static long long
sum(const json_t *o)
{
	const char *k;
	json_t *v;
	long long n = 0;

	json_object_foreach((json_t *)o, k, v)
		n += json_integer_value(v);
	return n;
}

/* "name n, name n" of an object of counts, or a dash. */
static void
counts(FILE *f, const json_t *o)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)o, k, v) {
		fprintf(f, "%s", first ? "" : ", ");
		esc(f, k);
		fprintf(f, " %lld", (long long)json_integer_value(v));
		first = false;
	}
	if (first)
		fputs("&ndash;", f);
}

static void
ms_cell(FILE *f, const json_t *t)
{
	if (num(t, "count") == 0)
		fputs("<td class=n>&ndash;</td><td class=n>&ndash;</td>", f);
	else
		fprintf(f, "<td class=n>%.0f</td><td class=n>%.0f</td>",
			json_real_value(json_object_get(t, "median")),
			json_real_value(json_object_get(t, "p95")));
}

/* A palette that survives grey printing (distinct lightness). */
static const char *const colour[] = {"#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0",
				     "#2e75b6", "#bf9000", "#a5a5a5"};
#define NCOLOUR (sizeof(colour) / sizeof(colour[0]))

/*
 * Exchanges per day, per partner: stacked bars, one a day, or one for
 * several days when the period has more than NBARS (a year: about a week).
 */
#define NBARS 60
static void
chart_daily(FILE *f, const json_t *j)
{
	const json_t *daily = json_object_get(j, "daily"), *partners = json_object_get(j, "partners");
	const json_t *period = json_object_get(j, "period");
	size_t np = json_array_size(partners), nb, i;
	json_t *v;
	int32_t from = 0, to = 0;
	long long per[NBARS][8], top = 1;
	const int W = 640, H = 220, L = 40, B = 40;

	if (!num_parse_date(str(period, "from"), 10, &from) ||
	    !num_parse_date(str(period, "to"), 10, &to) || to < from)
		return;
	nb = (size_t)(to - from + 1) < NBARS ? (size_t)(to - from + 1) : NBARS;
	memset(per, 0, sizeof(per));
	json_array_foreach((json_t *)daily, i, v) {
		int32_t day;
		size_t b, p;
		if (!num_parse_date(str(v, "day"), 10, &day) || day < from || day > to)
			continue;
		b = (size_t)((int64_t)(day - from) * (int64_t)nb / (int64_t)(to - from + 1));
		for (p = 0; p < np && p < 8; p++)
			if (strcmp(str(json_array_get(partners, p), "partner"), str(v, "partner")) == 0)
				break;
		if (p < 8)
			per[b][p] += num(v, "sent") + num(v, "received");
	}
	for (size_t b = 0; b < nb; b++) {
		long long t = 0;
		for (size_t p = 0; p < 8; p++)
			t += per[b][p];
		if (t > top)
			top = t;
	}
	fprintf(f, "<figure><svg role=img aria-label=\"Exchanges per day per partner\" "
		   "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n", W, H, W, H);
	fprintf(f, "<line x1=%d y1=%d x2=%d y2=%d stroke=\"#000\"/>", L, H - B, W - 10, H - B);
	fprintf(f, "<text x=4 y=14 font-size=11>%lld</text><text x=4 y=%d font-size=11>0</text>\n",
		top, H - B);
	for (size_t b = 0; b < nb; b++) {
		double bw = (double)(W - L - 20) / (double)nb;
		double x = L + 5 + (double)b * bw, y = H - B;
		int32_t first = from + (int32_t)((int64_t)b * (to - from + 1) / (int64_t)nb);
		char day[11];
		num_format_date(first, day);
		for (size_t p = 0; p < 8 && p < np; p++) {
			double h = (double)per[b][p] * (H - B - 20) / (double)top;
			if (h <= 0)
				continue;
			y -= h;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				   "fill=\"%s\"><title>",
				x, y, bw * 0.8, h, colour[p % NCOLOUR]);
			esc(f, day);
			fputs(" ", f);
			esc(f, str(json_array_get(partners, p), "partner"));
			fprintf(f, ": %lld</title></rect>\n", per[b][p]);
		}
		if (nb <= 16 || b % (nb / 8 + 1) == 0) {
			fprintf(f, "<text x=\"%.1f\" y=%d font-size=10 transform=\"rotate(30 %.1f %d)\">",
				x, H - B + 14, x, H - B + 14);
			esc(f, day + 5);
			fputs("</text>\n", f);
		}
	}
	fprintf(f, "</svg><figcaption>Exchanges (queries sent and received) %s, per partner: ",
		nb < (size_t)(to - from + 1) ? "per bar of several days" : "per day");
	for (size_t p = 0; p < np && p < 8; p++) {
		fprintf(f, "<span class=key style=\"background:%s\"></span>", colour[p % NCOLOUR]);
		esc(f, str(json_array_get(partners, p), "partner"));
		fputs(p + 1 < np ? " " : "", f);
	}
	if (np > 8)
		fputs(" (the first eight partners; the tables have them all)", f);
	fputs("</figcaption></figure>\n", f);
}

/* Outcome shares of the queries sent and received: two stacked bars. */
static void
chart_outcomes(FILE *f, const json_t *j)
{
	static const char *const names[] = {"hit", "no_hit", "pending", "denied", "refused"};
	const json_t *tot = json_object_get(j, "totals");
	const char *dirs[2] = {"queries_sent", "queries_received"};
	const int W = 640, H = 110;

	fprintf(f, "<figure><svg role=img aria-label=\"Outcome shares\" viewBox=\"0 0 %d %d\" "
		   "width=\"%d\" height=\"%d\">\n", W, H, W, H);
	for (int d = 0; d < 2; d++) {
		const json_t *fl = json_object_get(tot, dirs[d]), *oc = json_object_get(fl, "outcomes");
		long long v[5], all = 0;
		double x = 110;
		v[0] = num(oc, "hit");
		v[1] = num(oc, "no_hit");
		v[2] = num(oc, "pending");
		v[3] = num(oc, "denied");
		v[4] = sum(json_object_get(fl, d == 0 ? "refused_by_partner" : "refused_here")) +
		       (d == 0 ? sum(json_object_get(fl, "stopped_here")) + num(oc, "bad_answer") : 0);
		for (int k = 0; k < 5; k++)
			all += v[k];
		fprintf(f, "<text x=4 y=%d font-size=12>%s</text>\n", 22 + d * 40,
			d == 0 ? "sent" : "received");
		for (int k = 0; k < 5 && all > 0; k++) {
			double w = (double)v[k] * (W - 120) / (double)all;
			if (w <= 0)
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=%d width=\"%.1f\" height=24 fill=\"%s\">"
				   "<title>%s: %lld</title></rect>\n",
				x, 6 + d * 40, w, colour[k], names[k], v[k]);
			if (w > 40)
				fprintf(f, "<text x=\"%.1f\" y=%d font-size=10 fill=\"#fff\">%.0f%%"
					   "</text>\n", x + 3, 22 + d * 40, 100.0 * (double)v[k] / (double)all);
			x += w;
		}
		if (all == 0)
			fprintf(f, "<text x=110 y=%d font-size=11>none</text>\n", 22 + d * 40);
	}
	fputs("</svg><figcaption>Outcome shares: ", f);
	for (int k = 0; k < 5; k++)
		fprintf(f, "<span class=key style=\"background:%s\"></span>%s ", colour[k],
			k == 1 ? "no hit" : names[k]);
	fputs("(refused includes stopped here and bad answers)</figcaption></figure>\n", f);
}

/* The distribution of our queries' answer times: a histogram. */
static void
chart_times(FILE *f, const json_t *j)
{
	const json_t *h = json_object_get(j, "answer_time_histogram");
	size_t n = json_array_size(h), i;
	json_t *v;
	long long top = 1;
	const int W = 640, H = 180, B = 36;

	json_array_foreach((json_t *)h, i, v)
		if (num(v, "count") > top)
			top = num(v, "count");
	fprintf(f, "<figure><svg role=img aria-label=\"Answer times\" viewBox=\"0 0 %d %d\" "
		   "width=\"%d\" height=\"%d\">\n", W, H, W, H);
	fprintf(f, "<line x1=30 y1=%d x2=%d y2=%d stroke=\"#000\"/>", H - B, W - 10, H - B);
	fprintf(f, "<text x=2 y=14 font-size=11>%lld</text>\n", top);
	json_array_foreach((json_t *)h, i, v) {
		double bw = (double)(W - 50) / (double)(n ? n : 1);
		double x = 35 + (double)i * bw;
		double hh = (double)num(v, "count") * (H - B - 20) / (double)top;
		json_t *le = json_object_get(v, "le_ms");
		char label[24];
		if (json_is_string(le))
			snprintf(label, sizeof(label), "more");
		else if (json_real_value(le) >= 1000)
			snprintf(label, sizeof(label), "%gs", json_real_value(le) / 1000);
		else
			snprintf(label, sizeof(label), "%gms", json_real_value(le));
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			   "<title>up to %s: %lld</title></rect>\n",
			x, H - B - hh, bw * 0.8, hh, colour[0], label, num(v, "count"));
		fprintf(f, "<text x=\"%.1f\" y=%d font-size=9>%s</text>\n", x, H - B + 12, label);
	}
	fputs("</svg><figcaption>Our queries: time from sending to the partner's final answer "
	      "(each bar: up to the time below it)</figcaption></figure>\n", f);
}

static void
flow_row(FILE *f, const char *who, const json_t *fl, bool sent)
{
	const json_t *oc = json_object_get(fl, "outcomes");

	fputs("<tr><td>", f);
	esc(f, who);
	fprintf(f, "</td><td class=n>%lld</td><td class=n>%lld</td><td class=n>%lld</td>"
		   "<td class=n>%lld</td><td class=n>%lld</td><td>",
		num(fl, "total"), num(oc, "hit"), num(oc, "no_hit"), num(oc, "pending"),
		num(oc, "denied"));
	counts(f, json_object_get(fl, sent ? "refused_by_partner" : "refused_here"));
	fputs("</td><td>", f);
	if (sent)
		counts(f, json_object_get(fl, "stopped_here"));
	else
		fputs("&ndash;", f);
	fputs("</td><td>", f);
	counts(f, json_object_get(fl, "by_purpose"));
	fputs("</td><td>", f);
	counts(f, json_object_get(fl, "by_query_type"));
	fputs("</td></tr>\n", f);
}

static void
flows(FILE *f, const json_t *j, const char *which, const char *title)
{
	size_t i;
	json_t *p;
	bool sent = strcmp(which, "queries_sent") == 0;

	fprintf(f, "<h2>%s</h2>\n<table><thead><tr><th>partner</th><th>queries</th><th>hit</th>"
		   "<th>no hit</th><th>pending</th><th>denied</th><th>refused %s</th>"
		   "<th>stopped here</th><th>by purpose</th><th>by query type</th></tr></thead>"
		   "<tbody>\n",
		title, sent ? "by the partner" : "here");
	json_array_foreach(json_object_get(j, "partners"), i, p)
		flow_row(f, str(p, "partner"), json_object_get(p, which), sent);
	flow_row(f, "all partners", json_object_get(json_object_get(j, "totals"), which), sent);
	fputs("</tbody></table>\n", f);
}

/* See report.h. */
int
report_write_html(const json_t *j, FILE *f)
{
	const json_t *log = json_object_get(j, "log"), *per = json_object_get(j, "period");
	const json_t *store = json_object_get(j, "store");
	size_t i;
	json_t *p, *c;

	fputs("<!doctype html>\n<html lang=en><head><meta charset=utf-8>\n<title>Oversight report: ",
	      f);
	esc(f, str(j, "gateway"));
	fputs("</title>\n<style>\n"
	      "body{font:13px/1.4 sans-serif;margin:24px;color:#111;max-width:1100px}\n"
	      "h1{font-size:20px}h2{font-size:15px;margin-top:24px;border-bottom:1px solid #999}\n"
	      "table{border-collapse:collapse;margin:6px 0;width:100%}\n"
	      "th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left}\n"
	      "th{background:#eee}td.n{text-align:right;white-space:nowrap}\n"
	      "figure{margin:10px 0}figcaption{font-size:12px;color:#333}\n"
	      ".key{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}\n"
	      "code{font-size:11px;word-break:break-all}\n"
	      "@media print{body{margin:0;max-width:none}h2{break-after:avoid}"
	      "table,figure{break-inside:avoid}}\n"
	      "</style></head><body>\n",
	      f);
	fputs("<h1>Oversight report: ", f);
	esc(f, str(j, "gateway"));
	fputs(", ", f);
	esc(f, str(per, "from"));
	fputs(" to ", f);
	esc(f, str(per, "to"));
	fputs("</h1>\n<p>Made from this gateway's audit log alone, after verifying it; it holds "
	      "no personal data (counts, codes, partners and agreements only). Generated ",
	      f);
	esc(f, str(j, "generated_at"));
	fputs(" (schema <code>", f);
	esc(f, str(j, "schema"));
	fputs("</code>).</p>\n<h2>What it covers</h2>\n<table><tbody>\n<tr><th>the log</th><td>",
	      f);
	esc(f, str(log, "verdict"));
	fprintf(f, ": records %lld to %lld, checkpoints up to record %lld</td></tr>\n",
		num(log, "log_first_seq"), num(log, "log_last_seq"),
		num(log, "log_last_checkpoint_seq"));
	fprintf(f, "<tr><th>this report</th><td>%lld records of the period, %lld to %lld; %lld "
		   "signed checkpoints among them</td></tr>\n",
		num(log, "records_in_period"), num(log, "first_seq"), num(log, "last_seq"),
		num(log, "checkpoints_in_period"));
	fputs("<tr><th>chain hash of its last record</th><td><code>", f);
	esc(f, str(log, "head_hash"));
	fputs("</code><br>the next record of the log carries it as its prev_hash; <code>piugw "
	      "audit verify</code> checks the whole chain</td></tr>\n</tbody></table>\n",
	      f);

	fputs("<h2>Exchanges</h2>\n", f);
	chart_daily(f, j);
	chart_outcomes(f, j);
	flows(f, j, "queries_sent", "Queries this gateway sent");
	flows(f, j, "queries_received", "Queries partners sent to this gateway");

	fputs("<h2>Answer times, approvals and disclosures</h2>\n", f);
	chart_times(f, j);
	fputs("<table><thead><tr><th>partner</th><th>answer ms, median</th><th>p95</th>"
	      "<th>approved</th><th>denied</th><th>wait ms, median</th><th>p95</th>"
	      "<th>records disclosed to it</th><th>of them masked</th><th>by category</th>"
	      "<th>records received from it</th></tr></thead><tbody>\n",
	      f);
	json_array_foreach(json_object_get(j, "partners"), i, p) {
		const json_t *ap = json_object_get(p, "approvals");
		const json_t *rec = json_object_get(p, "queries_received");
		fputs("<tr><td>", f);
		esc(f, str(p, "partner"));
		fputs("</td>", f);
		ms_cell(f, json_object_get(p, "answer_time_ms"));
		fprintf(f, "<td class=n>%lld</td><td class=n>%lld</td>", num(ap, "approved"),
			num(ap, "denied"));
		ms_cell(f, json_object_get(ap, "waiting_ms"));
		fprintf(f, "<td class=n>%lld</td><td class=n>%lld</td><td>",
			num(rec, "records_disclosed"), num(p, "records_disclosed_masked"));
		counts(f, json_object_get(rec, "records_by_category"));
		fprintf(f, "</td><td class=n>%lld</td></tr>\n",
			num(json_object_get(p, "queries_sent"), "records_disclosed"));
	}
	fputs("</tbody></table>\n", f);

	fputs("<h2>Masked data disclosed again (Art 12(3))</h2>\n<table><thead><tr>"
	      "<th>partner</th><th>asked by us</th><th>asked by the partner</th>"
	      "<th>approved here</th><th>refused here</th><th>records disclosed</th>"
	      "<th>prior authorisations</th></tr></thead><tbody>\n",
	      f);
	json_array_foreach(json_object_get(j, "partners"), i, p) {
		const json_t *u = json_object_get(p, "unmasking");
		size_t k;
		json_t *a;
		fputs("<tr><td>", f);
		esc(f, str(p, "partner"));
		fprintf(f, "</td><td class=n>%lld</td><td class=n>%lld</td><td class=n>%lld</td>"
			   "<td class=n>%lld</td><td class=n>%lld</td><td>",
			num(u, "asked_by_us"), num(u, "asked_by_partner"), num(u, "approved"),
			num(u, "refused"), num(u, "records_disclosed"));
		json_array_foreach(json_object_get(u, "authorisations"), k, a) {
			fputs(k ? ", " : "", f);
			esc(f, json_string_value(a));
		}
		if (json_array_size(json_object_get(u, "authorisations")) == 0)
			fputs("&ndash;", f);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);

	fputs("<h2>Lookouts and notifications</h2>\n<table><thead><tr><th>partner</th>"
	      "<th>its lookouts held here</th><th>ours placed there</th></tr></thead><tbody>\n",
	      f);
	json_array_foreach(json_object_get(j, "partners"), i, p) {
		fputs("<tr><td>", f);
		esc(f, str(p, "partner"));
		fputs("</td><td>", f);
		counts(f, json_object_get(p, "lookouts_held_for_partner"));
		fputs("</td><td>", f);
		counts(f, json_object_get(p, "lookouts_placed_at_partner"));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);

	fprintf(f, "<h2>The traveller store</h2>\n<table><tbody>"
		   "<tr><th>imports</th><td class=n>%lld</td><td>%lld records stored</td></tr>"
		   "<tr><th>erasures (retention, collected answers)</th><td class=n>%lld</td>"
		   "<td>%lld records deleted</td></tr>"
		   "<tr><th>audit log segments erased</th><td class=n>%lld</td><td></td></tr>"
		   "</tbody></table>\n",
		num(json_object_get(store, "imports"), "count"),
		num(json_object_get(store, "imports"), "records"),
		num(json_object_get(store, "purges"), "count"),
		num(json_object_get(store, "purges"), "records"),
		num(store, "audit_segments_erased"));

	fputs("<h2>Agreements, keys and the log itself</h2>\n<table><thead><tr><th>record</th>"
	      "<th>time (UTC)</th><th>event</th><th>partner</th><th>agreement</th><th>detail</th>"
	      "</tr></thead><tbody>\n",
	      f);
	json_array_foreach(json_object_get(j, "changes"), i, c) {
		fprintf(f, "<tr><td class=n>%lld</td><td>", num(c, "seq"));
		esc(f, str(c, "time"));
		fputs("</td><td>", f);
		esc(f, str(c, "event"));
		fputs("</td><td>", f);
		esc(f, str(c, "peer"));
		fputs("</td><td>", f);
		esc(f, str(c, "agreement"));
		fputs("</td><td>", f);
		esc(f, str(c, "detail"));
		fputs("</td></tr>\n", f);
	}
	if (json_array_size(json_object_get(j, "changes")) == 0)
		fputs("<tr><td colspan=6>none in the period</td></tr>\n", f);
	fputs("</tbody></table>\n", f);

	fputs("<h2>Partners' witness of this log</h2>\n<table><thead><tr><th>partner</th>"
	      "<th>its checkpoints witnessed here</th><th>its last witnessed record</th></tr>"
	      "</thead><tbody>\n",
	      f);
	json_array_foreach(json_object_get(j, "partners"), i, p) {
		const json_t *w = json_object_get(p, "witnessed");
		fputs("<tr><td>", f);
		esc(f, str(p, "partner"));
		fprintf(f, "</td><td class=n>%lld</td><td class=n>%lld</td></tr>\n",
			num(w, "checkpoints"), num(w, "last_seq"));
	}
	fputs("</tbody></table>\n<p>Refusals of requests that were no query, or not readable as "
	      "one (Hello, proposals, malformed): ",
	      f);
	counts(f, json_object_get(json_object_get(j, "totals"), "other_refusals"));
	fprintf(f, "; messages dropped unauthenticated: %lld.</p>\n</body></html>\n",
		num(json_object_get(j, "totals"), "dropped"));
	return ferror(f) ? PIUGW_ESYSTEM : 0;
}
