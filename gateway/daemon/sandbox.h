/*
 * sandbox.h: the seccomp filters of piugwd's processes.
 *
 * Each is an allow-list (libseccomp): a system call not on it kills the
 * whole process (SECCOMP_RET_KILL_PROCESS), so that a bug in what a process
 * parses cannot reach past what the process needs. Installing one also
 * sets no_new_privs. Applied to the calling thread and every thread it
 * starts afterwards.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_SANDBOX_H
#define PIUGW_SANDBOX_H

/* seccomp(2) itself is denied (a supervisor's filter): not an errno. */
#define SANDBOX_DENIED (-10000)

/*
 * The key holder's: read and write its socket, page rights, end. Installed
 * while it has one thread. 0, SANDBOX_DENIED, or -errno.
 */
int sandbox_keyholder(void);

/* What a sandbox_* failure means, for a log line. */
const char *sandbox_strerror(int rc);

#endif /* PIUGW_SANDBOX_H */
