/*
 * sandbox.c: the seccomp filters of piugwd's processes (sandbox.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <seccomp.h>

#include "sandbox.h"

/*
 * An allow-list of n system calls for this thread; anything else kills the
 * process. First asks the kernel whether seccomp(2) is there for us at
 * all: a supervisor's own filter may deny it with EPERM (systemd's
 * @system-service does), and libseccomp would then fail with an error that
 * does not say so.
 */
static int
allow_only(const int *calls, size_t n)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int rc = 0;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
		return errno == EPERM ? SANDBOX_DENIED : -errno;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	if (rc == 0) /* the kernel's errno, not libseccomp's ECANCELED */
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
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
const char *
sandbox_strerror(int rc)
{
	if (rc == SANDBOX_DENIED)
		return "seccomp(2) is denied to this process by a filter of its supervisor: allow it "
		       "(systemd: SystemCallFilter=seccomp, as deploy/systemd/piugwd.service has)";
	return strerror(-rc);
}
