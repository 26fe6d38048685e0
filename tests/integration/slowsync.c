/*
 * slowsync.c: a disk whose flushes are slow, to see what waits for them.
 * LD_PRELOADed into piugwd by faults.sh: every fdatasync() of a file of the
 * audit log (a path with "/audit/") first takes SLOWSYNC_MS milliseconds
 * (default 1000). It appends one line "start" to the file SLOWSYNC_LOG as
 * it is called and one line "synced" once the real one has returned. A
 * reply that promises "on disk" was sent too early if, when it arrives,
 * the flush that began after the request has not ended ("start" with no
 * "synced" after it). Other files (SQLite's) are flushed as usual.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);

/*
 * The log is opened as the library loads, before piugwd's Landlock rules
 * (which leave the test's folder out) apply.
 */
static int log_fd = -1;

__attribute__((constructor)) static void
open_log(void)
{
	const char *log = getenv("SLOWSYNC_LOG");

	if (log != NULL)
		log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void
note(const char *line)
{
	if (log_fd >= 0) {
		ssize_t w = write(log_fd, line, strlen(line));
		(void)w;
	}
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	const char *ms = getenv("SLOWSYNC_MS");
	long delay = ms != NULL ? strtol(ms, NULL, 10) : 1000;
	struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
	char link[64], path[4096];
	ssize_t n;
	int rc;

	if (real == NULL) {
		void *sym = dlsym(RTLD_NEXT, "fdatasync");
		memcpy(&real, &sym, sizeof(real)); /* POSIX: dlsym's pointer is callable */
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return real(fd);
	path[n] = '\0';
	if (strstr(path, "/audit/") == NULL)
		return real(fd);
	note("start\n");
	while (nanosleep(&ts, &ts) != 0)
		;
	rc = real(fd);
	note("synced\n");
	return rc;
}
