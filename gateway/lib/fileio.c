/*
 * fileio.c: see fileio.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fileio.h"
#include "piugw/error.h"

/* See fileio.h. */
int
fileio_read(const char *path, size_t max, int flags, uint8_t **bufp, size_t *lenp,
	    struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	int fd = -1;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0, got = 0;

	*bufp = NULL;
	*lenp = 0;
	/*
	 * O_NONBLOCK: a FIFO or a device where a file is expected must not
	 * block the open (a reload would hang the daemon's loop for good); it
	 * is refused by the fstat below. On a regular file the flag changes
	 * nothing.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = errno == ENOENT ? PIUGW_ENOENT : PIUGW_ESYSTEM;
		diag_add(d, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		ret = PIUGW_ESYSTEM;
		diag_add(d, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = PIUGW_EFILETYPE;
		diag_add(d, "%s: not a regular file", path);
		goto out;
	}
	/* Like ssh, refuse a secret that others could have read or replaced. */
	if ((flags & FILEIO_SECRET) && (st.st_mode & 077) != 0) {
		ret = PIUGW_EKEYPERM;
		diag_add(d,
			 "%s: secret key file has mode %04o and is readable by group or others; "
			 "run 'chmod 600 %s' (and consider the key compromised if others read it)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		ret = PIUGW_EFILESIZE;
		diag_add(d, "%s: file is %jd bytes, more than the %zu allowed", path,
			 (intmax_t)st.st_size, max);
		goto out;
	}
	len = (size_t)st.st_size;
	buf = (flags & FILEIO_SECRET) ? sodium_malloc(len + 1) : malloc(len + 1);
	if (buf == NULL) {
		ret = PIUGW_ENOMEM;
		diag_add(d, "%s: out of memory", path);
		goto out;
	}
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = PIUGW_ESYSTEM;
			diag_add(d, "%s: read failed: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break; /* shrank while we read: take what is there */
		got += (size_t)r;
	}
	buf[got] = '\0';
	*bufp = buf;
	*lenp = got;
	buf = NULL;
	ret = 0;
out:
	fileio_free(buf, len, flags);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* See fileio.h. */
void
fileio_free(uint8_t *buf, size_t len, int flags)
{
	if (buf == NULL)
		return;
	if (flags & FILEIO_SECRET) {
		sodium_free(buf); /* wipes */
	} else {
		(void)len;
		free(buf);
	}
}

/* See fileio.h. */
int
fileio_replace(const char *path, const void *buf, size_t len, unsigned mode, struct diag *d)
{
	size_t n = strlen(path) + 24;
	char *tmp = malloc(n), *dir = NULL, *slash;
	int ret, dfd;

	if (tmp == NULL)
		return PIUGW_ENOMEM;
	snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
	unlink(tmp); /* a leftover of a crash of this very pid */
	if ((ret = fileio_create_excl(tmp, mode, buf, len, d)) != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		diag_add(d, "%s: cannot replace: %s", path, strerror(errno));
		unlink(tmp);
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	/* The rename itself made durable: the folder's entry. */
	if ((dir = strdup(path)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if ((dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	free(dir);
	free(tmp);
	return ret;
}

/* See fileio.h. */
int
fileio_create_excl(const char *path, unsigned mode, const void *buf, size_t len,
		   struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	int fd = -1;
	const uint8_t *p = buf;
	size_t done = 0;
	bool created = false;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
	if (fd < 0) {
		ret = errno == EEXIST ? PIUGW_EEXIST : PIUGW_ESYSTEM;
		if (errno == EEXIST)
			diag_add(d, "%s: already exists; refusing to overwrite it", path);
		else
			diag_add(d, "%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	created = true;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = PIUGW_ESYSTEM;
			diag_add(d, "%s: write failed: %s", path, strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0) {
		ret = PIUGW_ESYSTEM;
		diag_add(d, "%s: fsync failed: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = PIUGW_ESYSTEM;
		diag_add(d, "%s: close failed: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0 && created)
		unlink(path);
	return ret;
}

/* One entry of fileio_check_private(), and what is below it. */
static int
check_private(const char *path, int depth, struct diag *d)
{
	struct stat st;
	DIR *dh;
	struct dirent *de;
	int ret = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : (diag_add(d, "%s: cannot stat: %s", path,
						       strerror(errno)), PIUGW_ESYSTEM);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0; /* a socket left by an older version, a lock: no data */
	if (st.st_uid != geteuid()) {
		diag_add(d, "%s: owned by uid %u, not by the gateway's user (uid %u): run 'chown %u "
			 "%s'", path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
			 path);
		ret = PIUGW_EFILEPERM;
	}
	if ((st.st_mode & 077) != 0) {
		diag_add(d, "%s: mode %04o lets others than the gateway's user in; the gateway's "
			 "state (traveller store, state, audit log and key) is its own: run 'chmod "
			 "%s %s'", path, (unsigned)(st.st_mode & 07777),
			 S_ISDIR(st.st_mode) ? "0700" : "0600", path);
		ret = PIUGW_EFILEPERM;
	}
	if (!S_ISDIR(st.st_mode) || depth == 0)
		return ret;
	if ((dh = opendir(path)) == NULL) {
		diag_add(d, "%s: cannot read: %s", path, strerror(errno));
		return PIUGW_ESYSTEM;
	}
	while ((de = readdir(dh)) != NULL) {
		char sub[4096];
		int rc;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
			continue;
		if ((rc = check_private(sub, depth - 1, d)) != 0 && ret != PIUGW_ESYSTEM)
			ret = rc;
	}
	closedir(dh);
	return ret;
}

/* See fileio.h. */
int
fileio_check_private(const char *path, struct diag *d)
{
	return check_private(path, 2, d);
}

/* See fileio.h. */
int
fileio_precreate_private(const char *path, struct diag *d)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0)
		return close(fd) == 0 ? 0 : PIUGW_ESYSTEM;
	if (errno == EEXIST)
		return 0;
	diag_add(d, "%s: cannot create: %s", path, strerror(errno));
	return errno == EACCES ? PIUGW_EACCESS : PIUGW_ESYSTEM;
}
