/*
 * sensitive.c: see sensitive.h. The one table of the codes, with why each
 * is there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "sensitive.h"

#define MEAL "meal (religion or health)"
#define HEALTH "medical or assistance (health)"

static const struct {
	const char *code;
	const char *what;
} codes[] = {
	/* Meals (IATA SSR meal codes): religion, belief or health. */
	{"AVML", MEAL}, {"BBML", MEAL}, {"BLML", MEAL}, {"CHML", MEAL}, {"CNML", MEAL},
	{"DBML", MEAL}, {"FPML", MEAL}, {"GFML", MEAL}, {"HFML", MEAL}, {"HNML", MEAL},
	{"JNML", MEAL}, {"JPML", MEAL}, {"KSML", MEAL}, {"LCML", MEAL}, {"LFML", MEAL},
	{"LPML", MEAL}, {"LSML", MEAL}, {"MOML", MEAL}, {"NFML", MEAL}, {"NLML", MEAL},
	{"NSML", MEAL}, {"ORML", MEAL}, {"PFML", MEAL}, {"RVML", MEAL}, {"SFML", MEAL},
	{"SPML", MEAL}, {"VGML", MEAL}, {"VJML", MEAL}, {"VLML", MEAL}, {"VOML", MEAL},
	{"SPMLA", MEAL},
	/* Mobility, medical and other assistance: health. */
	{"BLND", HEALTH}, {"DEAF", HEALTH}, {"DPNA", HEALTH}, {"ESAN", HEALTH},
	{"MAAS", HEALTH}, {"MEDA", HEALTH}, {"MEQT", HEALTH}, {"OXYG", HEALTH},
	{"POCS", HEALTH}, {"PPOC", HEALTH}, {"STCR", HEALTH}, {"SVAN", HEALTH},
	{"WCBD", HEALTH}, {"WCBW", HEALTH}, {"WCHC", HEALTH}, {"WCHR", HEALTH},
	{"WCHS", HEALTH}, {"WCLB", HEALTH}, {"WCMP", HEALTH}, {"WCOB", HEALTH},
	{"LEGL", HEALTH}, {"LEGR", HEALTH}, {"EXST", "extra seat (health or body)"},
	{"PRGN", "pregnancy (health)"},
};

/* See sensitive.h. */
bool
sensitive_ssr(const char *code, const char **whatp)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].code, code) == 0) {
			if (whatp != NULL)
				*whatp = codes[i].what;
			return true;
		}
	return false;
}

/* See sensitive.h. */
unsigned
sensitive_filter_list(const char *list, char *out, size_t size)
{
	unsigned dropped = 0;
	size_t o = 0;

	if (size > 0)
		out[0] = '\0';
	while (list != NULL && *list != '\0') {
		size_t l = strcspn(list, ";");
		char code[16];
		/* The code is what the item starts with ("AVML", "WCHR KL1234"). */
		size_t cl = strcspn(list, "; /");
		snprintf(code, sizeof(code), "%.*s", (int)(cl < sizeof(code) ? cl : sizeof(code) - 1),
			 list);
		for (char *c = code; *c != '\0'; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		if (sensitive_ssr(code, NULL))
			dropped++;
		else if (l > 0 && o + l + (o ? 1 : 0) < size) {
			o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? ";" : "", (int)l, list);
		}
		list += l;
		if (*list == ';')
			list++;
	}
	return dropped;
}
