/*
 * fileio.h: reading and writing the files an administrator manages, with
 * the limits STYLE.md asks for: opened first (never blocking, so a FIFO or
 * a device cannot hang the caller), then checked with fstat on the opened
 * descriptor (regular file, size cap), read whole; secret files into
 * guarded memory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_FILEIO_H
#define PIUGW_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum fileio_flags {
	FILEIO_SECRET = 1 << 0, /* sodium_malloc buffer; refuse group/other access */
};

/*
 * Read the whole of path into a new NUL-terminated buffer of *lenp bytes
 * (the NUL not counted). With FILEIO_SECRET the buffer comes from
 * sodium_malloc and the file must not be accessible to group or others.
 * The caller frees with fileio_free(buf, len, flags).
 * Returns 0, or PIUGW_ENOENT, PIUGW_EFILETYPE, PIUGW_EFILESIZE,
 * PIUGW_EKEYPERM, PIUGW_ESYSTEM, PIUGW_ENOMEM; every error also goes to d
 * with the path and how to fix it.
 */
int fileio_read(const char *path, size_t max, int flags, uint8_t **bufp, size_t *lenp,
		struct diag *d);

/* Free a buffer from fileio_read (wiping it first when secret). NULL is fine. */
void fileio_free(uint8_t *buf, size_t len, int flags);

/*
 * Create path exclusively (O_CREAT|O_EXCL) with mode, write len bytes,
 * fsync, close. Refuses to replace an existing file (PIUGW_EEXIST). On a
 * write error the partial file is removed.
 */
int fileio_create_excl(const char *path, unsigned mode, const void *buf, size_t len,
		       struct diag *d);

/*
 * Replace path with len bytes, or create it: written aside (PATH.tmpPID,
 * mode), made durable, renamed over path, and the folder's entry made
 * durable too. A reader sees the old file or the new one, never a part.
 */
int fileio_replace(const char *path, const void *buf, size_t len, unsigned mode, struct diag *d);

/*
 * Is path closed to everyone but this process's user: owned by it, with no
 * group or other permission? A folder is checked with everything in it (two
 * levels down: the state directory and its audit folder). Each entry that is
 * not closed goes to d with its mode and the chmod that closes it, all at
 * once. Returns 0, PIUGW_EFILEPERM, or PIUGW_ESYSTEM; a missing path is fine
 * (whoever creates it creates it closed).
 */
int fileio_check_private(const char *path, struct diag *d);

/*
 * Create path empty, mode 0600, if it does not exist yet, so that a
 * database opened on it next is born closed whatever the umask (SQLite gives
 * its -wal and -shm files the database's mode).
 */
int fileio_precreate_private(const char *path, struct diag *d);

#endif /* PIUGW_FILEIO_H */
