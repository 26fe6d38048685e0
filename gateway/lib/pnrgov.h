/*
 * pnrgov.h: PNR data as carriers push it, the PNRGOV EDIFACT message
 * (IATA/WCO/ICAO PADIS implementation guide, versions 11.1 to 15.1), read
 * into the store: one row per traveller of each booking on the flight the
 * message reports (import.h says how files are stored).
 *
 * Per message (UNH..UNT): MSG (:22 a push of the flight's bookings, :141
 * the bookings changed since), the flight (TVL before the first SRC), EQN
 * (the number of bookings, checked with a warning). Per booking (SRC): RCI
 * (record locator, creation date), DAT (710: ticket issue), ORG (agency),
 * ADD (address), IFT (contacts CTCE, CTCM, CTCH, CTCB, CTCR; "//" stands
 * for "@" in e-mail), FOP (form of payment, as sent), TKT and MON
 * (ticketing), FTI (frequent flyer), TIF (travellers, a title stuck to the
 * given name removed), SSR DOCS (documents), SSR DOCA (residence), SSR
 * SEAT, SSR FQTV, SSR UMNR (remarks: unaccompanied minor), EBD (bags), TVL
 * with RPI (the itinerary). Co-travellers are the booking's other travellers.
 *
 * Each booking replaces what was stored of it on that flight (a push, an
 * update or the same file again leave its current state); one whose
 * segment for the reported flight carries a cancelled status (RPI XX, HX,
 * UN, UC, NO) is removed from the flight. Sensitive elements (sensitive.h)
 * and free text nobody can vouch for (IFT other than contacts, SSR codes
 * not listed above, LTS) are dropped before anything is stored, and
 * counted. A booking cut short or malformed is refused with
 * "file:segment: reason"; the others are stored.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_PNRGOV_H
#define PIUGW_PNRGOV_H

#include "import.h"

/* Read a PNRGOV interchange into s (inside import_text's transaction). */
int pnrgov_import(struct store *s, const char *text, size_t len, const char *label,
		  int64_t now_ms, struct import_stats *st, struct diag *d, import_progress cb,
		  void *ctx);

#endif /* PIUGW_PNRGOV_H */
