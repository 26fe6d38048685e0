/*
 * nonetlink.c: run a program as systemd's RestrictAddressFamilies= without
 * AF_NETLINK would (deploy/systemd/piugwd.service): socket(AF_NETLINK)
 * fails with EAFNOSUPPORT, everything else is allowed. For sandbox.sh.
 *
 *   nonetlink PROGRAM ARGS...
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (argc < 2) {
		fprintf(stderr, "usage: nonetlink PROGRAM ARGS...\n");
		return 2;
	}
	if (ctx == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK)) != 0 ||
	    seccomp_load(ctx) != 0) {
		fprintf(stderr, "nonetlink: the filter could not be installed\n");
		return 2;
	}
	seccomp_release(ctx);
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 2;
}
