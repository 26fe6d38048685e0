/*
 * fake_links.h: what fake_links.c kept of what the daemon sent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_FAKE_LINKS_H
#define PIUGW_FAKE_LINKS_H

#include "gw.h"

#define FAKE_SENT_MAX 64

struct fake_sent {
	uint8_t *env;
	size_t len;
	bool router;            /* a reply on the public ROUTER */
	bool api;               /* a reply to a local caller (else to a partner) */
	uint64_t durable, head; /* the audit log at the moment it left */
};

extern struct fake_sent fake_sent[FAKE_SENT_MAX];
extern size_t fake_nsent;
void fake_sent_clear(void);

#endif
