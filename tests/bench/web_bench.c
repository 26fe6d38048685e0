/*
 * web_bench.c: what piugw-web adds to a query's round trip (issue 22: at
 * most 1 ms). The same document query, one at a time, through XA's local
 * API (the client library, as piugw does) and through XA's /v1/queries
 * over HTTPS (TLS 1.3 on one kept-alive connection, a national system's
 * client certificate), alternating in blocks of 50 so that both see the
 * same machine, the same partner and the same store. Prints the quantiles
 * of each, the added time (median and p99), and the web process's CPU per
 * query.
 *
 *   web_bench --api ipc://PATH --port N --ca CA --cert C --key K
 *             --to XB-PIU --document P1234567 --issuer XAA [--count N] [--web-pid PID]
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "bench.h"
#include "piugw/client.h"

static const char *api, *ca, *cert, *key, *to = "XB-PIU", *docno = "P1234567", *issuer = "XAA";
static int port, count = 1000, web_pid;

static double
proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		(void)sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the local API ---- */

static int
local_query(struct piugw_client *c)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	Piugw__Query q = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria d = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__LocalReply *r = NULL;
	int ok;

	d.number = (char *)docno;
	d.issuing_state = (char *)issuer;
	q.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	q.case_reference = (char *)"BENCH";
	q.justification = (char *)"benchmark";
	q.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
	q.document = &d;
	lq.to = (char *)to;
	lq.query = &q;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_QUERY;
	req.query = &lq;
	ok = piugw_client_call(c, &req, 30000, &r) == 0 &&
	     r->kind_case == PIUGW__LOCAL_REPLY__KIND_QUERY && r->query->n_answers == 1 &&
	     r->query->answers[0]->result != NULL &&
	     r->query->answers[0]->result->status == PIUGW__RESULT_STATUS__RESULT_HIT;
	piugw_client_reply_free(&r);
	return ok ? 0 : -1;
}

/* ---- HTTPS ---- */

struct tls {
	int fd;
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	char buf[65536];
	size_t have;
};

static int
tls_open(struct tls *t)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, rc;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if ((t->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	gnutls_certificate_allocate_credentials(&t->cred);
	if (gnutls_certificate_set_x509_trust_file(t->cred, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(t->cred, cert, key, GNUTLS_X509_FMT_PEM) != 0)
		return -1;
	gnutls_init(&t->s, GNUTLS_CLIENT);
	gnutls_priority_set_direct(t->s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->cred);
	gnutls_session_set_verify_cert(t->s, "127.0.0.1", 0);
	gnutls_transport_set_int(t->s, t->fd);
	do
		rc = gnutls_handshake(t->s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		fprintf(stderr, "web_bench: TLS: %s\n", gnutls_strerror(rc));
	return rc < 0 ? -1 : 0;
}

/* One POST /v1/queries on the kept connection; 0 if the answer is a hit. */
static int
web_query(struct tls *t)
{
	char body[512], req[1024];
	int n, bl;
	char *end, *cl;
	size_t want;

	bl = snprintf(body, sizeof(body),
		      "{\"to\":\"%s\",\"purpose\":\"terrorism\",\"case_reference\":\"BENCH\","
		      "\"justification\":\"benchmark\",\"document\":{\"number\":\"%s\","
		      "\"issuing_state\":\"%s\"}}",
		      to, docno, issuer);
	n = snprintf(req, sizeof(req),
		     "POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		     "X-PIU-End-User: bench\r\nContent-Length: %d\r\n\r\n%s",
		     bl, body);
	if (gnutls_record_send(t->s, req, (size_t)n) != n)
		return -1;
	t->have = 0;
	for (;;) {
		ssize_t r = gnutls_record_recv(t->s, t->buf + t->have, sizeof(t->buf) - 1 - t->have);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			return -1;
		t->have += (size_t)r;
		t->buf[t->have] = '\0';
		if ((end = strstr(t->buf, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strstr(t->buf, "\r\nContent-Length: ")) == NULL || cl > end)
			return -1;
		want = (size_t)(end + 4 - t->buf) + strtoul(cl + 18, NULL, 10);
		if (t->have >= want)
			break;
	}
	return strncmp(t->buf, "HTTP/1.1 200", 12) == 0 && strstr(t->buf, "\"status\":\"hit\"") ? 0
												    : -1;
}

static void
quantiles(const char *label, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_d);
	printf("%-10s n=%zu p50=%.3f p90=%.3f p99=%.3f max=%.3f ms\n", label, n,
	       bench_pct(v, n, 0.5) / 1e3, bench_pct(v, n, 0.9) / 1e3, bench_pct(v, n, 0.99) / 1e3,
	       v[n - 1] / 1e3);
}

int
main(int argc, char **argv)
{
	static const struct option o[] = {
		{"api", required_argument, NULL, 'a'},    {"port", required_argument, NULL, 'p'},
		{"ca", required_argument, NULL, 'C'},     {"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},    {"to", required_argument, NULL, 't'},
		{"document", required_argument, NULL, 'd'}, {"issuer", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'},  {"web-pid", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct piugw_client *c = NULL;
	struct tls t = {0};
	double *lv, *wv, t0, cpu0 = 0, web_s = 0;
	size_t nl = 0, nw = 0;
	int opt, errors = 0;

	while ((opt = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (opt) {
		case 'a': api = optarg; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'C': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 't': to = optarg; break;
		case 'd': docno = optarg; break;
		case 'i': issuer = optarg; break;
		case 'n': count = (int)strtol(optarg, NULL, 10); break;
		case 'w': web_pid = (int)strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (api == NULL || port <= 0 || ca == NULL || cert == NULL || key == NULL || count < 100) {
		fprintf(stderr, "usage: web_bench --api ipc://PATH --port N --ca F --cert F --key F "
				"[--to ID --document N --issuer XX] [--count N>=100] [--web-pid PID]\n");
		return 2;
	}
	gnutls_global_init();
	if (piugw_client_open(api, &c) != 0 || tls_open(&t) != 0) {
		fprintf(stderr, "web_bench: cannot reach the local API or piugw-web\n");
		return 1;
	}
	lv = calloc((size_t)count, sizeof(*lv));
	wv = calloc((size_t)count, sizeof(*wv));
	/* Warm both paths: connections, the store's pages, the partner's. */
	for (int i = 0; i < 50; i++)
		errors += (local_query(c) != 0) + (web_query(&t) != 0);
	for (int block = 0; block * 50 < count; block++) {
		for (int i = 0; i < 50 && (int)nl < count; i++) {
			t0 = bench_now_us();
			errors += local_query(c) != 0;
			lv[nl++] = bench_now_us() - t0;
		}
		if (web_pid)
			cpu0 = proc_cpu_s(web_pid);
		for (int i = 0; i < 50 && (int)nw < count; i++) {
			t0 = bench_now_us();
			errors += web_query(&t) != 0;
			wv[nw++] = bench_now_us() - t0;
		}
		if (web_pid)
			web_s += proc_cpu_s(web_pid) - cpu0;
	}
	quantiles("local API", lv, nl);
	quantiles("/v1 HTTPS", wv, nw);
	printf("added by piugw-web: median %.3f ms, p99 %.3f ms (target <= 1 ms)\n",
	       (bench_pct(wv, nw, 0.5) - bench_pct(lv, nl, 0.5)) / 1e3,
	       (bench_pct(wv, nw, 0.99) - bench_pct(lv, nl, 0.99)) / 1e3);
	if (web_pid)
		printf("piugw-web CPU per query: %.1f us (clock ticks of %ld Hz over %zu queries)\n",
		       web_s * 1e6 / (double)nw, sysconf(_SC_CLK_TCK), nw);
	printf("errors: %d\n", errors);
	gnutls_bye(t.s, GNUTLS_SHUT_RDWR);
	gnutls_deinit(t.s);
	gnutls_certificate_free_credentials(t.cred);
	close(t.fd);
	piugw_client_close(&c);
	free(lv);
	free(wv);
	return errors ? 1 : 0;
}
