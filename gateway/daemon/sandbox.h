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

#include <stddef.h>
#include <sys/types.h>

/* seccomp(2) itself is denied (a supervisor's filter): not an errno. */
#define SANDBOX_DENIED (-10000)

/*
 * The key holder's: read and write its socket, page rights, end. Installed
 * while it has one thread. 0, SANDBOX_DENIED, or -errno.
 */
int sandbox_keyholder(void);

/*
 * Before the first socket: socket(AF_NETLINK) fails with EOPNOTSUPP, the
 * one error on which libzmq binds an address without an interface lookup
 * (sandbox.c). 0, or -errno.
 */
int sandbox_no_netlink(void);

/*
 * The main process's, once it serves (after its sockets are open: libzmq's
 * threads get it too): main_calls in sandbox.c allowed, socket(2) for
 * AF_UNIX, AF_INET and AF_INET6 only, kill(2) to its key holder and metrics
 * process only (metrics 0: none);
 * running a program, tracing, new processes, privileges and namespaces
 * kill it; anything else fails with EPERM. 0, SANDBOX_DENIED, or -errno.
 */
int sandbox_main(pid_t keyholder, pid_t metrics);

/*
 * The metrics process's, once its listening socket is open (one thread):
 * libmicrohttpd's calls on sockets it is given, its pipe, memory and time;
 * no new socket, no file; what kills the main process kills it; anything
 * else fails with EPERM. 0, SANDBOX_DENIED, or -errno.
 */
int sandbox_metrics(void);

/*
 * Landlock (before any thread starts: threads inherit it): from now on this
 * process reads only the system's libraries and name files, /proc, and the
 * ro paths (files or folders), and writes only beneath the rw paths. 0;
 * SANDBOX_NO_LANDLOCK if the kernel has none; or -errno. *abip: the
 * kernel's Landlock ABI (0: none).
 */
#define SANDBOX_NO_LANDLOCK (-10001)
int sandbox_files(const char *const *ro, size_t nro, const char *const *rw, size_t nrw,
		  int *abip);

/*
 * Landlock with no rule: from now on this process opens no file or folder,
 * and where the kernel knows them (ABI 4, 6), binds and connects no TCP
 * port and signals or reaches no process outside its own domain. 0;
 * SANDBOX_NO_LANDLOCK; or -errno. *abip as for sandbox_files.
 */
int sandbox_nothing(int *abip);

/*
 * Wait for child *pidp (its socket closed: it has ended or is about to), set
 * *pidp to -1, and say how it ended for a log line: "" for exit 0, " (exit
 * status 2)", " (killed by signal 31, SIGSYS: a system call its seccomp
 * filter does not allow)".
 */
void sandbox_reap(pid_t *pidp, char *how, size_t size);

/* What a sandbox_* failure means, for a log line. */
const char *sandbox_strerror(int rc);

#endif /* PIUGW_SANDBOX_H */
