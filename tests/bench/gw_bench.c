/*
 * gw_bench.c: the gateway against the physical limit of this machine.
 *
 *   gw_bench baseline [--count N] [--seconds S] [--inflight K]
 *       A ZeroMQ CURVE DEALER/ROUTER echo between two processes on
 *       127.0.0.1 with 512-byte messages, K in flight, each side
 *       Ed25519-signing what it sends and verifying what it receives: the
 *       cost floor of any gateway round trip here.
 *
 *   gw_bench gateway --api ipc://PATH --queries FILE --to ID
 *            [--type document|name|fuzzy] [--count N] [--seconds S] [--inflight K]
 *            [--deadline-ms MS] [--rate R] [--watch NAME=PID ...]
 *       Queries through a running gateway's local API (one DEALER, K
 *       requests in flight told apart by LocalRequest.tag), of travellers
 *       that exist (gen_travellers --queries), with the full policy, audit
 *       and disclosure path. --rate paces the queries at R per second
 *       (open loop: a query's latency counts from when it was due, so a
 *       gateway that falls behind shows it), still at most K in flight.
 *
 * Prints one line: queries (or messages) per second and latency p50, p99,
 * p99.9 in microseconds, as "key=value" for the run script to compare.
 * Then, for each process watched (the baseline watches its two; --watch
 * names the gateways), one line of what it cost over the measured
 * interval, from /proc: CPU seconds (user + system, every thread) per query
 * and voluntary context switches (every thread) per query; and the total
 * CPU of the watched processes per query, the figure that does not depend
 * on how many cores there are. Every run is bounded in count and in time.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "local.pb-c.h"
#include "bench.h"


static void
report(const char *what, size_t n, double secs, double *lat, size_t nlat, size_t errors)
{
	qsort(lat, nlat, sizeof(*lat), bench_cmp_d);
	printf("%s count=%zu seconds=%.2f rate=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f errors=%zu\n",
	       what, n, secs, (double)n / secs, bench_pct(lat, nlat, 0.50), bench_pct(lat, nlat, 0.99),
	       bench_pct(lat, nlat, 0.999), errors);
	fflush(stdout);
}

/* ---- what a process cost: /proc ---- */

#define WATCH_MAX 8

struct watch {
	char name[32];
	pid_t pid;
	double cpu0, cpu1;   /* seconds, user + system, all threads */
	long vcsw0, vcsw1;   /* voluntary context switches, all threads */
};

static struct watch watched[WATCH_MAX];
static size_t nwatched;

static double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After "pid (comm) ": field 3 is the state; utime and stime are 14 and 15. */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
proc_vcsw(pid_t pid)
{
	char path[300], line[256];
	long total = 0, v;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue; /* a thread gone meanwhile */
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
				total += v;
		fclose(f);
	}
	closedir(d);
	return total;
}

static void
watch_add(const char *name, pid_t pid)
{
	if (nwatched == WATCH_MAX)
		return;
	snprintf(watched[nwatched].name, sizeof(watched[nwatched].name), "%s", name);
	watched[nwatched++].pid = pid;
}

static void
watch_mark(bool end)
{
	for (size_t i = 0; i < nwatched; i++) {
		struct watch *w = &watched[i];
		*(end ? &w->cpu1 : &w->cpu0) = proc_cpu_s(w->pid);
		*(end ? &w->vcsw1 : &w->vcsw0) = proc_vcsw(w->pid);
	}
}

static void
watch_report(const char *what, size_t n)
{
	double total = 0;

	if (nwatched == 0 || n == 0)
		return;
	for (size_t i = 0; i < nwatched; i++) {
		const struct watch *w = &watched[i];
		printf("%s cost process=%s cpu_us_per_q=%.1f vcsw_per_q=%.2f\n", what, w->name,
		       (w->cpu1 - w->cpu0) * 1e6 / (double)n, (double)(w->vcsw1 - w->vcsw0) / (double)n);
		total += w->cpu1 - w->cpu0;
	}
	printf("%s cost process=all cpu_us_per_q=%.1f\n", what, total * 1e6 / (double)n);
	fflush(stdout);
}

/* ---- baseline ---- */

#define MSG 512
#define SIG crypto_sign_BYTES

struct party {
	uint8_t curve_pk[32], curve_sk[32], sign_pk[32], sign_sk[64];
};

static void
party_new(struct party *p)
{
	char pk[41], sk[41];

	zmq_curve_keypair(pk, sk);
	zmq_z85_decode(p->curve_pk, pk);
	zmq_z85_decode(p->curve_sk, sk);
	crypto_sign_keypair(p->sign_pk, p->sign_sk);
}

/* payload: 8-byte send time, then filler, then the signature of the rest. */
static void
make(uint8_t buf[MSG], const struct party *me, double t)
{
	memset(buf, 0xA5, MSG);
	memcpy(buf, &t, sizeof(t));
	crypto_sign_detached(buf + MSG - SIG, NULL, buf, MSG - SIG, me->sign_sk);
}

static int
check(const uint8_t *buf, size_t len, const struct party *from)
{
	return len == MSG &&
	       crypto_sign_verify_detached(buf + MSG - SIG, buf, MSG - SIG, from->sign_pk) == 0;
}

static int
baseline(size_t count, double seconds, int inflight)
{
	struct party srv, cli;
	char ep[64];
	int port = 20000 + (int)(getpid() % 20000), linger = 0, one = 1;
	pid_t child;
	void *ctx, *s;
	double *lat = calloc(count, sizeof(double)), start, deadline;
	size_t sent = 0, got = 0, bad = 0;
	uint8_t buf[MSG];
	int pipefd[2];

	party_new(&srv);
	party_new(&cli);
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	if (lat == NULL || pipe(pipefd) != 0)
		return 2;
	if ((child = fork()) == 0) {
		/* The server: verify each request, sign and send the reply. */
		ctx = zmq_ctx_new();
		s = zmq_socket(ctx, ZMQ_ROUTER);
		zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
		zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, srv.curve_sk, 32);
		zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
		if (zmq_bind(s, ep) != 0)
			_exit(2);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(2);
		for (;;) {
			uint8_t rid[256], in[MSG + 16];
			int rl = zmq_recv(s, rid, sizeof(rid), 0), n;
			if (rl < 0)
				break;
			n = zmq_recv(s, in, sizeof(in), 0);
			if (n < 0 || !check(in, (size_t)n, &cli))
				continue;
			double t;
			memcpy(&t, in, sizeof(t));
			make(buf, &srv, t);
			zmq_send(s, rid, (size_t)rl, ZMQ_SNDMORE);
			zmq_send(s, buf, MSG, 0);
		}
		_exit(0);
	}
	{
		char c;
		if (read(pipefd[0], &c, 1) != 1)
			return 2;
	}
	watch_add("client", getpid());
	watch_add("server", child);
	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, srv.curve_pk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cli.curve_pk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, cli.curve_sk, 32);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(s, ep);
	watch_mark(false);
	start = bench_now_us();
	deadline = start + seconds * 1e6;
	while (got < count && bench_now_us() < deadline) {
		while (sent < count && sent - got < (size_t)inflight) {
			make(buf, &cli, bench_now_us());
			zmq_send(s, buf, MSG, 0);
			sent++;
		}
		zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
		if (zmq_poll(&it, 1, 1000) <= 0)
			continue;
		int n = zmq_recv(s, buf, sizeof(buf), 0);
		if (n < 0)
			continue;
		if (!check(buf, (size_t)n, &srv)) {
			bad++;
		} else {
			double t;
			memcpy(&t, buf, sizeof(t));
			lat[got] = bench_now_us() - t;
		}
		got++;
	}
	watch_mark(true);
	report("baseline", got, (bench_now_us() - start) / 1e6, lat, got, bad);
	watch_report("baseline", got);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(lat);
	return 0;
}

/* ---- gateway ---- */

struct q {
	char iss[8], doc[16], sn[64], gn[96], dob[11];
};

struct slot {
	double t0;
	bool busy;
};

static uint32_t deadline_ms; /* 0: the gateway's */
static double rate;          /* queries per second; 0: as fast as K in flight allow */

static uint8_t *
pack_query(const struct q *q, const char *to, const char *type, uint64_t tag, size_t *lenp)
{
	Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
	Piugw__LocalQuery lq = PIUGW__LOCAL_QUERY__INIT;
	Piugw__Query qu = PIUGW__QUERY__INIT;
	Piugw__DocumentCriteria dc = PIUGW__DOCUMENT_CRITERIA__INIT;
	Piugw__NameCriteria nc = PIUGW__NAME_CRITERIA__INIT;
	uint8_t *buf;

	qu.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	qu.case_reference = (char *)"BENCH-1";
	qu.justification = (char *)"benchmark of the gateway";
	if (strcmp(type, "document") == 0) {
		dc.number = (char *)q->doc;
		dc.issuing_state = (char *)q->iss;
		qu.criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
		qu.document = &dc;
	} else {
		nc.surname = (char *)q->sn;
		nc.given_names = (char *)q->gn;
		nc.date_of_birth = (char *)q->dob;
		if (strcmp(type, "fuzzy") == 0) {
			qu.criteria_case = PIUGW__QUERY__CRITERIA_NAME_FUZZY;
			qu.name_fuzzy = &nc;
		} else {
			qu.criteria_case = PIUGW__QUERY__CRITERIA_NAME;
			qu.name = &nc;
		}
	}
	lq.to = (char *)to;
	lq.query = &qu;
	lq.deadline_ms = deadline_ms;
	req.kind_case = PIUGW__LOCAL_REQUEST__KIND_QUERY;
	req.query = &lq;
	req.tag = tag;
	*lenp = piugw__local_request__get_packed_size(&req);
	if ((buf = malloc(*lenp)) != NULL)
		piugw__local_request__pack(&req, buf);
	return buf;
}

static int
gateway(const char *api, const char *qpath, const char *to, const char *type, size_t count,
	double seconds, int inflight)
{
	FILE *f = fopen(qpath, "r");
	struct q *qs = calloc(100000, sizeof(*qs));
	size_t nq = 0, sent = 0, got = 0, errors = 0, hits = 0;
	char line[512], what[64];
	struct slot *sl = calloc((size_t)inflight, sizeof(*sl));
	void *sock;
	int fd = -1, ev = 0;
	size_t fdlen = sizeof(fd), evlen = sizeof(ev);
	double *lat = calloc(count, sizeof(double)), start, deadline;
	void *ctx = zmq_ctx_new();
	int linger = 0;

	if (f == NULL || qs == NULL || sl == NULL || lat == NULL) {
		fprintf(stderr, "gw_bench: cannot read %s\n", qpath);
		return 2;
	}
	while (nq < 100000 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%7[^\t]\t%15[^\t]\t%63[^\t]\t%95[^\t]\t%10s", qs[nq].iss, qs[nq].doc,
			   qs[nq].sn, qs[nq].gn, qs[nq].dob) == 5)
			nq++;
	fclose(f);
	if (nq == 0)
		return 2;
	/* One connection, as a national system would hold; the tag says which slot a reply is for. */
	sock = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(sock, api);
	watch_add("gw_bench", getpid());
	watch_mark(false);
	start = bench_now_us();
	deadline = start + seconds * 1e6;
	zmq_getsockopt(sock, ZMQ_FD, &fd, &fdlen);
	while (got < count && bench_now_us() < deadline) {
		/* Until the next query is due (paced), else until a reply (at most 1 s). */
		double wait_us = 1e6;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct timespec ts;
		size_t drained = 0;
		for (int i = 0; i < inflight && sent < count; i++) {
			double due = rate > 0 ? start + (double)sent * 1e6 / rate : 0, now;
			if (sl[i].busy)
				continue;
			if (rate > 0 && (now = bench_now_us()) < due) {
				wait_us = due - now;
				break;
			}
			size_t len;
			uint8_t *buf = pack_query(&qs[sent % nq], to, type, (uint64_t)i, &len);
			sl[i].t0 = rate > 0 ? due : bench_now_us();
			zmq_send(sock, buf, len, 0);
			free(buf);
			sl[i].busy = true;
			sent++;
		}
		for (;;) {
			zmq_msg_t m;
			Piugw__LocalReply *r;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			drained++;
			r = piugw__local_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
			zmq_msg_close(&m);
			if (r == NULL || r->tag >= (uint64_t)inflight || !sl[r->tag].busy) {
				fprintf(stderr, "gw_bench: a reply that answers no request in flight\n");
				return 2;
			}
			if (r->kind_case != PIUGW__LOCAL_REPLY__KIND_QUERY || r->query->n_answers != 1 ||
			    r->query->answers[0]->outcome != PIUGW__OUTCOME__OUTCOME_ANSWERED)
				errors++;
			else if (r->query->answers[0]->result->status == PIUGW__RESULT_STATUS__RESULT_HIT)
				hits++;
			lat[got++] = bench_now_us() - sl[r->tag].t0;
			sl[r->tag].busy = false;
			piugw__local_reply__free_unpacked(r, NULL);
			if (got == count)
				break;
		}
		if (drained > 0 || got == count)
			continue;
		/*
		 * Nothing waiting: ZMQ_EVENTS (which also re-arms ZMQ_FD) says
		 * whether that is still so; then sleep on the socket's descriptor
		 * with sub-millisecond precision, so that pacing does not spin a
		 * core the gateways need.
		 */
		if (zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &evlen) == 0 && (ev & ZMQ_POLLIN))
			continue;
		ts.tv_sec = (time_t)(wait_us / 1e6);
		ts.tv_nsec = (long)((wait_us - (double)ts.tv_sec * 1e6) * 1e3);
		ppoll(&pfd, 1, &ts, NULL);
	}
	watch_mark(true);
	snprintf(what, sizeof(what), "gateway-%s-x%d", type, inflight);
	report(what, got, (bench_now_us() - start) / 1e6, lat, got, errors);
	watch_report(what, got);
	if (hits == 0 && got > 0)
		fprintf(stderr, "gw_bench: no query hit: is the store the generated one?\n");
	zmq_close(sock);
	zmq_ctx_term(ctx);
	free(qs);
	free(sl);
	free(lat);
	return errors > got / 100 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "", *api = NULL, *qpath = NULL, *to = "XB-PIU",
		   *type = "document";
	size_t count = 200000;
	double seconds = 10;
	int inflight = 64;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--count") == 0)
			count = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--inflight") == 0)
			inflight = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--api") == 0)
			api = argv[i + 1];
		else if (strcmp(argv[i], "--queries") == 0)
			qpath = argv[i + 1];
		else if (strcmp(argv[i], "--to") == 0)
			to = argv[i + 1];
		else if (strcmp(argv[i], "--type") == 0)
			type = argv[i + 1];
		else if (strcmp(argv[i], "--deadline-ms") == 0)
			deadline_ms = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0)
			rate = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--watch") == 0 && strchr(argv[i + 1], '=') != NULL) {
			char name[32];
			snprintf(name, sizeof(name), "%.*s", (int)(strchr(argv[i + 1], '=') - argv[i + 1]),
				 argv[i + 1]);
			watch_add(name, (pid_t)strtol(strchr(argv[i + 1], '=') + 1, NULL, 10));
		} else {
			fprintf(stderr, "gw_bench: unknown option '%s' (see the source's head)\n",
				argv[i]);
			return 2;
		}
	}
	if (sodium_init() < 0 || count == 0 || count > 10000000 || inflight < 1 || inflight > 1024 ||
	    seconds <= 0 || seconds > 3600 || rate < 0 || rate > 1e6) {
		fprintf(stderr, "gw_bench: bad arguments\n");
		return 2;
	}
	if (strcmp(mode, "baseline") == 0)
		return baseline(count, seconds, inflight);
	if (strcmp(mode, "gateway") == 0 && api != NULL && qpath != NULL)
		return gateway(api, qpath, to, type, count, seconds, inflight);
	fprintf(stderr, "usage: gw_bench baseline|gateway [options] (see the source's head)\n");
	return 2;
}
