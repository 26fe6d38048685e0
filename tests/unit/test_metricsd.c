/*
 * test_metricsd.c: piugwd's metrics process (gateway/daemon/metricsd.c), a
 * real process serving HTTP on 127.0.0.1, this test in the daemon's place
 * on its socket: each scrape is served from the snapshot the daemon gives
 * for it and no other, a snapshot given too late is never served to a
 * later scrape, what is not a scrape never reaches the daemon, and the
 * process runs under its filter.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <valgrind/valgrind.h>

#include "diag.h"
#include "keys.h"
#include "metricsd.h"
#include "testutil.h"

#define WAIT_MS 300 /* what the process waits for a snapshot, here */

struct fx {
	struct keys_secret *k;
	struct metricsd *m;
	struct sockaddr_storage ss;
};

/* A loopback port free now (the kernel's choice). */
static void
free_port(struct sockaddr_storage *ss)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(ss, 0, sizeof(*ss));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
	close(fd);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t tsk[KEYS_TRANSPORT_SECRET_BYTES], ssk[KEYS_SIGN_SECRET_BYTES], pk[32];
	struct diag d;

	tu_sodium_init();
	diag_init(&d);
	randombytes_buf(tsk, sizeof(tsk));
	crypto_sign_keypair(pk, ssk);
	assert_int_equal(keys_from_raw("XA-PIU", tsk, ssk, &f->k), 0);
	free_port(&f->ss);
	/* valgrind cannot run under a seccomp filter: its own system calls would be refused. */
	assert_int_equal(metricsd_start(&f->ss, "127.0.0.1:test", f->k, WAIT_MS,
					!RUNNING_ON_VALGRIND, &f->m, &d),
			 0);
	diag_clear(&d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	metricsd_stop(&f->m);
	keys_secret_free(&f->k);
	free(f);
	return 0;
}

/* Send request to the metrics process over HTTP/1.0; the connection. */
static int
http_send(struct fx *f, const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&f->ss, sizeof(struct sockaddr_in)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	return fd;
}

/*
 * Read the response on fd to its end, in the daemon's place meanwhile:
 * each snapshot wanted is answered with metrics (and health "{}", 503).
 * *asked: how many were wanted. The response, to free.
 */
static char *
http_read(struct fx *f, int fd, const char *metrics, int *asked)
{
	size_t n = 0, cap = 65536;
	char *buf = malloc(cap);

	*asked = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = metricsd_fd(f->m), .events = metricsd_events(f->m)}};
		assert_true(poll(p, 2, 10000) > 0);
		if (p[1].revents != 0 && metricsd_wanted(f->m) == 1) {
			(*asked)++;
			if (metrics != NULL)
				assert_int_equal(metricsd_send(f->m, 200, metrics, strlen(metrics),
							       503, "{}", 2),
						 0);
		}
		if (p[0].revents != 0) {
			ssize_t r = read(fd, buf + n, cap - 1 - n);
			assert_true(r >= 0);
			if (r == 0)
				break;
			n += (size_t)r;
		}
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

static char *
get(struct fx *f, const char *request, const char *metrics, int *asked)
{
	return http_read(f, http_send(f, request), metrics, asked);
}

/* The body: what follows the header's blank line. */
static const char *
body(const char *response)
{
	const char *b = strstr(response, "\r\n\r\n");

	return b != NULL ? b + 4 : "";
}

static void
serves_the_snapshot_of_each_scrape(void **state)
{
	struct fx *f = *state;
	int asked;
	char *r;

	r = get(f, "GET /metrics HTTP/1.0\r\n\r\n", "piugw_up 1\n", &asked);
	assert_int_equal(asked, 1);
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "text/plain; version=0.0.4"));
	assert_string_equal(body(r), "piugw_up 1\n");
	free(r);
	r = get(f, "GET /metrics HTTP/1.0\r\n\r\n", "piugw_up 2\n", &asked);
	assert_string_equal(body(r), "piugw_up 2\n");
	free(r);
	/* Health: its own status and body from the same snapshot. */
	r = get(f, "GET /healthz HTTP/1.0\r\n\r\n", "piugw_up 3\n", &asked);
	assert_non_null(strstr(r, "HTTP/1.1 503"));
	assert_non_null(strstr(r, "application/json"));
	assert_string_equal(body(r), "{}");
	free(r);
}

/* What is not a scrape is answered there: the daemon is never asked. */
static void
answers_what_is_no_scrape_itself(void **state)
{
	struct fx *f = *state;
	int asked;
	char *r;

	r = get(f, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", NULL, &asked);
	assert_non_null(strstr(r, "HTTP/1.1 405"));
	assert_int_equal(asked, 0);
	free(r);
	r = get(f, "GET /../../etc/passwd HTTP/1.0\r\n\r\n", NULL, &asked);
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	assert_int_equal(asked, 0);
	free(r);
	r = get(f, "NONSENSE\r\n\r\n", NULL, &asked);
	assert_int_equal(asked, 0);
	free(r);
}

/*
 * The daemon does not answer in time: a 503 that says so; its snapshot
 * when it comes is dropped, and the next scrape gets the next one.
 */
static void
a_late_snapshot_is_never_served(void **state)
{
	struct fx *f = *state;
	int asked, fd;
	char *r;

	r = get(f, "GET /metrics HTTP/1.0\r\n\r\n", NULL, &asked);
	assert_int_equal(asked, 1);
	assert_non_null(strstr(r, "HTTP/1.1 503"));
	assert_string_equal(body(r), "the gateway did not answer in time\n");
	free(r);
	/* Now the late one, and at once a scrape that gets the fresh one. */
	assert_int_equal(metricsd_send(f->m, 200, "stale\n", 6, 200, "{}", 2), 0);
	fd = http_send(f, "GET /metrics HTTP/1.0\r\n\r\n");
	r = http_read(f, fd, "fresh\n", &asked);
	assert_int_equal(asked, 1);
	assert_string_equal(body(r), "fresh\n");
	free(r);
	/* And a late one while it idles is dropped too. */
	r = get(f, "GET /metrics HTTP/1.0\r\n\r\n", NULL, &asked);
	assert_non_null(strstr(r, "HTTP/1.1 503"));
	free(r);
	assert_int_equal(metricsd_send(f->m, 200, "stale\n", 6, 200, "{}", 2), 0);
	r = get(f, "GET /metrics HTTP/1.0\r\n\r\n", "fresh\n", &asked);
	assert_string_equal(body(r), "fresh\n");
	free(r);
	assert_null(metricsd_problem(f->m));
}

/* Its own filter and no privilege; its name tells it apart. */
static void
runs_sandboxed(void **state)
{
	struct fx *f = *state;
	char path[64], *st = NULL;
	size_t cap = 0;
	FILE *fp;

	if (RUNNING_ON_VALGRIND)
		skip();
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)metricsd_pid(f->m));
	assert_non_null(fp = fopen(path, "r"));
	assert_true(getdelim(&st, &cap, '\0', fp) > 0);
	fclose(fp);
	assert_non_null(strstr(st, "Name:\tpiugwd-metrics\n"));
	assert_non_null(strstr(st, "Seccomp:\t2\n"));
	assert_non_null(strstr(st, "NoNewPrivs:\t1\n"));
	if (geteuid() == 0)
		assert_non_null(strstr(st, "Uid:\t65534\t65534\t65534\t65534\n"));
	free(st);
}

/* The address taken: it does not start, and says so. */
static void
address_in_use(void **state)
{
	struct fx *f = *state;
	struct metricsd *m2 = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_not_equal(metricsd_start(&f->ss, "127.0.0.1:test", f->k, WAIT_MS,
					    !RUNNING_ON_VALGRIND, &m2, &d),
			     0);
	assert_null(m2);
	assert_true(d.n > 0);
	assert_non_null(strstr(d.lines[0], "the metrics process did not start: it ended (exit status 2)"));
	diag_clear(&d);
}

/* The daemon closes its side: the process ends, cleanly. */
static void
ends_with_the_daemon(void **state)
{
	struct fx *f = *state;

	metricsd_stop(&f->m);
	assert_null(f->m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(serves_the_snapshot_of_each_scrape, setup, teardown),
		cmocka_unit_test_setup_teardown(answers_what_is_no_scrape_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(a_late_snapshot_is_never_served, setup, teardown),
		cmocka_unit_test_setup_teardown(runs_sandboxed, setup, teardown),
		cmocka_unit_test_setup_teardown(address_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(ends_with_the_daemon, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
