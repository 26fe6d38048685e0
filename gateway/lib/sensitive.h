/*
 * sensitive.h: the special service request codes that reveal what the EU
 * PNR Directive forbids a PIU to process (Directive (EU) 2016/681, Art
 * 13(4): data revealing racial or ethnic origin, political opinions,
 * religion or philosophical beliefs, trade union membership, health, sex
 * life or sexual orientation; the same rule in ICAO Doc 9944, Guidelines
 * on PNR data, and ICAO Annex 9, 9.26). Meal codes reveal religion or
 * health, assistance and medical codes health. An import drops such an
 * element before anything is stored, and counts it.
 *
 * The codes are IATA's (AIRIMP / Reservations Services Manual, SSR codes
 * as carriers send them in PNRGOV SSR segments).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_SENSITIVE_H
#define PIUGW_SENSITIVE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Is code (the 4-letter SSR code, "AVML") one that reveals sensitive data?
 * *whatp (may be NULL) gets why: "meal (religion or health)", ...
 */
bool sensitive_ssr(const char *code, const char **whatp);

/*
 * list (';'-separated SSR codes, as the ssr column of CSV and JSON Lines
 * holds them) without the sensitive ones, into out; how many were dropped.
 */
unsigned sensitive_filter_list(const char *list, char *out, size_t size);

#endif /* PIUGW_SENSITIVE_H */
