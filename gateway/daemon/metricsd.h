/*
 * metricsd.h: the process that serves /metrics and /healthz.
 *
 * libmicrohttpd parses what anyone on the host sends to metrics.listen, so
 * it runs in a process of its own: forked at start after the key holder,
 * before the audit log, the stores or a partner's socket are opened, it
 * holds no key (the CURVE secret inherited with the daemon's memory is
 * wiped) and has never held personal data. It runs as nobody when piugwd
 * runs as root, opens no file (Landlock with no rule), and its seccomp
 * filter allows what libmicrohttpd does on the sockets it has (sandbox.c).
 *
 * It knows nothing of the gateway: for each scrape it asks the daemon for a
 * snapshot of what it serves, over a socketpair (integers big-endian):
 *
 *   metrics -> daemon   one byte: MX_READY once, when it serves; MX_WANT a scrape
 *   daemon -> metrics   u32 len || u8 MX_SNAPSHOT || u16 metrics status ||
 *                       u16 health status || u32 metrics length || metrics text ||
 *                       health JSON (the rest)
 *
 * len counts what follows it and is at most MX_FRAME_MAX. The daemon answers
 * each MX_WANT with one snapshot, in order, and reads no new request while
 * one is still being written. A byte of another kind ends the metrics
 * process: the daemon logs event=metrics_failed and serves on without it.
 * A snapshot the daemon does not give in time (MX_WAIT_MS in piugwd) is a
 * 503 to the scraper ("the gateway did not answer in time"); it is dropped
 * when it comes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_METRICSD_H
#define PIUGW_METRICSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "diag.h"
#include "keys.h"

enum mx_kind { MX_WANT = 1, MX_SNAPSHOT = 2, MX_READY = 0x7d };
#define MX_BODY_MAX (256 * 1024)
#define MX_FRAME_MAX (1 + 2 + 2 + 4 + 2 * MX_BODY_MAX)
#define MX_WAIT_MS 10000

struct metricsd;

/*
 * Fork the metrics process to serve on ss (listen: the address as
 * configured, for its log lines), waiting wait_ms for each snapshot.
 * Returns once it serves, or fails with why in d (the address is taken,
 * its sandbox could not be installed).
 * sandbox false: no filter and no Landlock (tools that cannot run under
 * one).
 */
int metricsd_start(const struct sockaddr_storage *ss, const char *listen, struct keys_secret *k,
		   int wait_ms, bool sandbox, struct metricsd **outp, struct diag *d);

/* Its socket (-1 once it failed), and the poll events the daemon waits for on it. */
int metricsd_fd(const struct metricsd *m);
short metricsd_events(const struct metricsd *m);

/*
 * Its socket is ready: write what is pending, read requests. Returns the
 * number of snapshots wanted now (0 or 1: the next request is read once
 * this one is written), or -1 once it failed (metricsd_problem says why).
 */
int metricsd_wanted(struct metricsd *m);

/* Queue a snapshot and write what the socket takes now. 0, or -1 (failed). */
int metricsd_send(struct metricsd *m, unsigned metrics_status, const char *metrics, size_t mlen,
		  unsigned health_status, const char *health, size_t hlen);

/* NULL while it serves; once it failed, why ("killed by signal 31 ..."). */
const char *metricsd_problem(const struct metricsd *m);
pid_t metricsd_pid(const struct metricsd *m);

/* Close its socket and wait for it to end; *mp NULL after. */
void metricsd_stop(struct metricsd **mp);

#endif /* PIUGW_METRICSD_H */
