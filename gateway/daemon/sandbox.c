/*
 * sandbox.c: the seccomp filters and the Landlock rules of piugwd's
 * processes (sandbox.h). Landlock has no library in Debian: its three
 * system calls are made here, as the kernel's documentation shows.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "sandbox.h"

/*
 * Is seccomp(2) there for us at all? A supervisor's own filter may deny it
 * with EPERM (systemd's @system-service does), and libseccomp would then
 * fail with an error that does not say so. 0, SANDBOX_DENIED, or -errno.
 */
static int
seccomp_usable(void)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
		return errno == EPERM ? SANDBOX_DENIED : -errno;
	return 0;
}

/*
 * Load the filter ctx if building it went well (rc 0), for every thread of
 * the process with tsync; release it either way. 0, or the first error.
 */
static int
load(scmp_filter_ctx ctx, int rc, bool tsync)
{
	if (rc == 0 && tsync)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0) /* the kernel's errno, not libseccomp's ECANCELED */
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

/* Add one rule, action for each of the n calls, while rc is 0. */
static int
rules(scmp_filter_ctx ctx, int rc, uint32_t action, const int *calls, size_t n)
{
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, action, calls[i], 0);
	return rc;
}

#define RULES(ctx, rc, action, calls) rules(ctx, rc, action, calls, sizeof(calls) / sizeof(calls[0]))

/* An allow-list of n system calls for this thread; anything else kills the process. */
static int
allow_only(const int *calls, size_t n)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((rc = seccomp_usable()) != 0)
		return rc;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -ENOMEM;
	return load(ctx, rules(ctx, 0, SCMP_ACT_ALLOW, calls, n), false);
}

/* See sandbox.h. */
int
sandbox_keyholder(void)
{
	static const int calls[] = {
		SCMP_SYS(read),         SCMP_SYS(write),          SCMP_SYS(mprotect),
		SCMP_SYS(exit_group),   SCMP_SYS(exit),           SCMP_SYS(rt_sigreturn),
		SCMP_SYS(restart_syscall),
#ifdef __SANITIZE_ADDRESS__
		SCMP_SYS(sigaltstack), /* AddressSanitizer's interceptors (test builds) */
#endif
	};

	return allow_only(calls, sizeof(calls) / sizeof(calls[0]));
}

/* See sandbox.h. */
void
sandbox_reap(pid_t *pidp, char *how, size_t size)
{
	int st;

	how[0] = '\0';
	if (*pidp <= 0)
		return;
	while (waitpid(*pidp, &st, 0) < 0)
		if (errno != EINTR)
			return;
	*pidp = -1;
	if (WIFSIGNALED(st))
		snprintf(how, size, " (killed by signal %d%s)", WTERMSIG(st),
			 WTERMSIG(st) == SIGSYS ? ", SIGSYS: a system call its seccomp filter "
						  "does not allow"
						: "");
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		snprintf(how, size, " (exit status %d)", WEXITSTATUS(st));
}

/* See sandbox.h. */
const char *
sandbox_strerror(int rc)
{
	if (rc == SANDBOX_NO_LANDLOCK)
		return "no Landlock here (not in this kernel, or hidden by a container's filter)";
	if (rc == SANDBOX_DENIED)
		return "seccomp(2) is denied to this process by a filter of its supervisor: allow it "
		       "(systemd: SystemCallFilter=seccomp, as deploy/systemd/piugwd.service has)";
	return strerror(-rc);
}

/* ---- the main process ---- */

/*
 * What piugwd's main process calls once it serves: files (the state, the
 * store, the configuration on reload), sockets (libzmq's, the metrics',
 * syslog's), its loop, memory, time, threads' locks. socket(2) is allowed
 * for AF_UNIX, AF_INET and AF_INET6 only (below).
 */
static const int main_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(statx), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(getdents64), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(ftruncate), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(fallocate), SCMP_SYS(flock), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(getcwd), SCMP_SYS(umask), SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(fchown), SCMP_SYS(utimensat), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(futex),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(shutdown), SCMP_SYS(socketpair), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getgroups), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(wait4), SCMP_SYS(inotify_add_watch),
	SCMP_SYS(inotify_rm_watch), SCMP_SYS(inotify_init1), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(restart_syscall),
	/* libzmq's threads read their scheduling as they start; libsodium locks its guarded pages. */
	SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler), SCMP_SYS(sched_setscheduler),
	SCMP_SYS(mlock), SCMP_SYS(munlock),
};

#ifdef __SANITIZE_ADDRESS__
/*
 * Test builds with AddressSanitizer: LeakSanitizer stops the world at exit
 * with a tracer (clone, prctl PR_SET_PTRACER, ptrace, wait4) that reads
 * /proc/PID/task with the old open and getdents.
 */
static const int sanitizer_calls[] = {
	SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(prctl), SCMP_SYS(open), SCMP_SYS(getdents),
};
#define MAIN_KILLS_PTRACE
#else
#define MAIN_KILLS_PTRACE SCMP_SYS(ptrace),
#endif

/*
 * What must end the process, not just fail: running another program,
 * reading or writing another process, new processes, privileges,
 * namespaces, the kernel's own tables.
 */
static const int main_kills[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), MAIN_KILLS_PTRACE SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(setuid),
	SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid),
	SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(capset), SCMP_SYS(unshare),
	SCMP_SYS(setns), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(init_module),
	SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(userfaultfd),
	SCMP_SYS(personality), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
};

/*
 * A filter whose default fails with EPERM (a path nobody foresaw fails, it
 * does not crash): the n calls allowed, and in sanitizer builds what their
 * runtime needs; what main_kills names kills. NULL with *rcp set if there
 * can be none; else *rcp is 0 or the first error, for load().
 */
static scmp_filter_ctx
eperm_filter(const int *calls, size_t n, int *rcp)
{
	scmp_filter_ctx ctx;

	if ((*rcp = seccomp_usable()) != 0)
		return NULL;
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		*rcp = -ENOMEM;
		return NULL;
	}
	*rcp = rules(ctx, 0, SCMP_ACT_ALLOW, calls, n);
#ifdef __SANITIZE_ADDRESS__
	*rcp = RULES(ctx, *rcp, SCMP_ACT_ALLOW, sanitizer_calls);
#endif
	*rcp = RULES(ctx, *rcp, SCMP_ACT_KILL_PROCESS, main_kills);
	return ctx;
}

/*
 * socket(AF_NETLINK) fails with EOPNOTSUPP. libzmq looks a bound address up
 * as an interface name first, with getifaddrs(3), which opens a netlink
 * socket, and aborts on any error but EOPNOTSUPP or EINVAL (src/
 * ip_resolver.cpp): under systemd's RestrictAddressFamilies= (EAFNOSUPPORT)
 * it could not bind at all. Of two filters that fail a call, the kernel
 * takes the errno of the newer one.
 */
static int
netlink_unsupported(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(socket), 1,
				SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
}

/* See sandbox.h. */
int
sandbox_no_netlink(void)
{
	scmp_filter_ctx ctx;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -ENOMEM;
	return load(ctx, netlink_unsupported(ctx), false);
}

/* See sandbox.h. */
int
sandbox_main(pid_t keyholder, pid_t metrics)
{
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = eperm_filter(main_calls, sizeof(main_calls) / sizeof(main_calls[0]), &rc)) == NULL)
		return rc;
	if (rc == 0)
		rc = netlink_unsupported(ctx);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
	/* prctl: threads' names only (libzmq names its own). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	/* Signals: only to its key holder and metrics process (to end one that broke the rules). */
	if (rc == 0 && keyholder > 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)keyholder));
	if (rc == 0 && metrics > 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)metrics));
	return load(ctx, rc, true); /* libzmq's threads run already */
}

/* ---- the metrics process ---- */

/*
 * What the metrics process calls once it serves: libmicrohttpd's loop
 * (epoll, accept, reading and writing connections), its own pipe to the
 * daemon, memory and time. No socket(2), no file: anything else fails with
 * EPERM, and what main_kills names kills it.
 */
static const int metrics_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(fcntl), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(shutdown),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(brk), SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
};

/* See sandbox.h. */
int
sandbox_metrics(void)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = eperm_filter(metrics_calls, sizeof(metrics_calls) / sizeof(metrics_calls[0]),
				&rc)) == NULL)
		return rc;
#ifdef __SANITIZE_ADDRESS__
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
#endif
	return load(ctx, rc, false); /* one thread */
}

/* ---- Landlock: the main process's files ---- */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3; older headers lack it */
#endif

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_EXEC LANDLOCK_ACCESS_FS_EXECUTE /* mapping a library (NSS modules) */
#define FS_WRITE                                                                              \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                      \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |                       \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                         \
	 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_ALL                                                                                \
	(FS_READ | FS_EXEC | FS_WRITE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                        \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK)

/* Allow access beneath path (a file or a folder); one not there, or NULL, is left out. */
static int
ll_allow(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access};
	struct stat st;
	int rc = 0;

	if (path == NULL)
		return 0;
	if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A file takes only the rights of a file. */
	if (fstat(pb.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				     LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_TRUNCATE;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
		rc = -errno;
	close(pb.parent_fd);
	return rc;
}

/*
 * The ruleset's attributes as the kernel's ABI 6 knows them: Debian 12's
 * headers stop at the first field. The kernel takes the leading part its
 * ABI knows (ll_attr_size).
 */
struct ll_attr {
	uint64_t fs, net, scoped;
};
#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)        /* ABI 6 */

static size_t
ll_attr_size(int abi)
{
	return abi >= 6 ? sizeof(struct ll_attr) : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
}

/* The kernel's Landlock ABI, 0 if none, or SANDBOX_NO_LANDLOCK / -errno in *rcp. */
static int
ll_abi(int *rcp)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	*rcp = 0;
	/* Not built in, turned off at boot, or hidden by a container's filter. */
	if (abi < 0)
		*rcp = errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM ? SANDBOX_NO_LANDLOCK
										: -errno;
	return abi < 0 ? 0 : abi;
}

/* The file-system rights ABI abi knows. */
static uint64_t
ll_fs(int abi)
{
	uint64_t fs = FS_ALL;

	if (abi < 2)
		fs &= ~LANDLOCK_ACCESS_FS_REFER;
	if (abi < 3)
		fs &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
	return fs;
}

/* See sandbox.h. */
int
sandbox_nothing(int *abip)
{
	struct ll_attr attr = {0};
	int ruleset, rc;

	if ((*abip = ll_abi(&rc)) == 0)
		return rc;
	attr.fs = ll_fs(*abip);
	attr.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	if ((ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, ll_attr_size(*abip), 0)) < 0)
		return -errno;
	rc = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		rc = -errno;
	close(ruleset);
	return rc;
}

/* See sandbox.h. */
int
sandbox_files(const char *const *ro, size_t nro, const char *const *rw, size_t nrw, int *abip)
{
	/* What any process of the system reads: libraries, names and addresses, time zones. */
	static const char *const system_ro[] = {
		"/usr", "/lib", "/lib64", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
		"/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",
		"/etc/services", "/etc/protocols", "/etc/localtime", "/etc/ld.so.cache",
		"/proc", "/sys/devices/system/cpu", "/dev/urandom",
	};
	struct landlock_ruleset_attr attr = {0};
	int ruleset, rc;

	if ((*abip = ll_abi(&rc)) == 0)
		return rc;
	attr.handled_access_fs = ll_fs(*abip);
	if ((ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(system_ro) / sizeof(system_ro[0]) && rc == 0; i++)
		rc = ll_allow(ruleset, system_ro[i], (FS_READ | FS_EXEC) & attr.handled_access_fs);
	if (rc == 0)
		rc = ll_allow(ruleset, "/dev/null",
			      (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE));
	for (size_t i = 0; i < nro && rc == 0; i++)
		rc = ll_allow(ruleset, ro[i], FS_READ & attr.handled_access_fs);
	for (size_t i = 0; i < nrw && rc == 0; i++)
		rc = ll_allow(ruleset, rw[i], (FS_READ | FS_WRITE) & attr.handled_access_fs);
	if (rc == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
			syscall(SYS_landlock_restrict_self, ruleset, 0) != 0))
		rc = -errno;
	close(ruleset);
	return rc;
}
