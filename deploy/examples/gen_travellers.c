/*
 * gen_travellers.c: N realistic synthetic travellers as CSV (the import
 * format of import.h), for benchmarks and the demo.
 *
 *   gen_travellers N [--seed S] [--queries FILE]
 *
 * Names from several scripts and naming traditions (German, French,
 * Spanish, Turkish, Polish, Arabic and Chinese romanisations, Russian in
 * Cyrillic), bookings shared by families and colleagues, repeat travellers
 * on other flights, a quarter of the records older than the masking age.
 * --queries writes sample lookups (issuer, number, surname, given names,
 * date of birth) of travellers that exist. All of it is invented.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "num.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned
pick(unsigned n)
{
	return (unsigned)(next() % n);
}

static const char *const surnames[] = {
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
	"Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "García", "Martínez", "López",
	"González", "Rodríguez", "Fernández", "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik",
	"Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Al-Hassan", "Abdullah",
	"Haddad", "Khalil", "Mansour", "Wang", "Li", "Zhang", "Liu", "Chen", "Иванов", "Смирнов",
	"Кузнецов", "Попов", "Соколов", "van der Berg", "de la Cruz", "O'Brien", "Papadopoulos",
	"Nakamura", "Okafor", "Mensah", "Silva", "Santos", "Pereira", "Johansson", "Andersen",
	"Novák", "Horváth", "Dvořák", "Kovačević"};
static const char *const given[] = {
	"Anna", "Hans", "Peter", "Maria", "Jean", "Marie", "Luc", "Camille", "José", "Lucía",
	"Carlos", "Elena", "Mehmet", "Ayşe", "Fatma", "Mustafa", "Piotr", "Katarzyna", "Tomasz",
	"Agnieszka", "Mohammed", "Fatima", "Ahmed", "Layla", "Wei", "Fang", "Jun", "Mei",
	"Сергей", "Ольга", "Дмитрий", "Анна", "Jan", "Sean", "Nikos", "Yuki", "Chidi", "Kwame",
	"João", "Ana", "Lars", "Ingrid", "Jiří", "Zoltán", "Ivana", "Hans-Peter", "Marie-Claire"};
static const char *const states[] = {"XAA", "XBA", "XCA", "XDA", "XEA", "XFA", "XGA", "XHA",
				     "XIA", "XJA", "XKA", "XLA"};
static const char *const airports[] = {"XAA", "XBB", "XCC", "XDD", "XEE", "XFF", "XGG", "XHH"};

#define N_SURNAMES (sizeof(surnames) / sizeof(surnames[0]))
#define N_GIVEN (sizeof(given) / sizeof(given[0]))

struct person {
	unsigned sn, gn, gn2;
	char dob[11], doc[12], sex;
	unsigned state;
};

static void
new_person(struct person *p, uint64_t serial)
{
	char date[11];
	p->sn = pick(N_SURNAMES);
	p->gn = pick(N_GIVEN);
	p->gn2 = pick(4) == 0 ? pick(N_GIVEN) : N_GIVEN; /* a quarter have a second name */
	num_format_date(num_days_from_civil(1940, 1, 1) + (int32_t)pick(80 * 365), date);
	memcpy(p->dob, date, 11);
	p->sex = pick(2) ? 'F' : 'M';
	p->state = pick(sizeof(states) / sizeof(states[0]));
	/* Unique by construction: a letter and the serial, scrambled. */
	snprintf(p->doc, sizeof(p->doc), "%c%09llu", 'A' + (char)(serial % 26),
		 (unsigned long long)((serial * 2654435761ull) % 1000000000ull));
}

static void
csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int
main(int argc, char **argv)
{
	uint64_t n = 0, seed = 1;
	const char *qpath = NULL;
	FILE *q = NULL;
	struct person *recent;
	size_t nrecent = 4096;
	/* Flight dates count back from today, so that the masking age means what it says. */
	int64_t today = num_day_of_ms((int64_t)time(NULL) * 1000);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			if (!num_parse_u64(argv[i + 1], strlen(argv[i + 1]), 1, UINT64_MAX, &seed))
				return 2;
			i++;
		} else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
			qpath = argv[++i];
		} else if (!num_parse_u64(argv[i], strlen(argv[i]), 1, 100000000, &n)) {
			fprintf(stderr, "usage: gen_travellers N [--seed S] [--queries FILE]\n");
			return 2;
		}
	}
	if (n == 0) {
		fprintf(stderr, "usage: gen_travellers N [--seed S] [--queries FILE]\n");
		return 2;
	}
	rng ^= seed * 0xD1B54A32D192ED03ull;
	if (qpath != NULL && (q = fopen(qpath, "w")) == NULL)
		return 2;
	recent = calloc(nrecent, sizeof(*recent));
	printf("source,transferred_at,surname,given_names,date_of_birth,sex,nationality,doc_type,"
	       "doc_number,doc_issuer,carrier,flight_number,flight_date,dep_airport,arr_airport,"
	       "record_locator,phones,emails,seat\n");
	for (uint64_t i = 0, serial = 1; i < n;) {
		/* One booking: 1 to 4 people on the same flight. */
		unsigned party = 1 + (pick(10) < 7 ? 0 : pick(4));
		char locator[7], flight_date[11], carrier[3];
		unsigned fnum = 1 + pick(999), dep = pick(8), arr = (dep + 1 + pick(7)) % 8;
		/* A quarter older than 183 days, so masking has work to do. */
		int32_t fday = (int32_t)(today - (pick(4) == 0 ? 184 + pick(1500) : pick(180)));
		num_format_date(fday, flight_date);
		for (int k = 0; k < 6; k++)
			locator[k] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[pick(32)];
		locator[6] = '\0';
		carrier[0] = 'X';
		carrier[1] = (char)('A' + pick(26));
		carrier[2] = '\0';
		for (unsigned m = 0; m < party && i < n; m++, i++) {
			struct person p;
			/* Repeat travellers: one in ten is someone seen before. */
			if (i > nrecent && pick(10) == 0)
				p = recent[pick((unsigned)nrecent)];
			else
				new_person(&p, serial++);
			if (m > 0 && pick(2) == 0)
				p.sn = recent[(i - 1) % nrecent].sn; /* families share a name */
			recent[i % nrecent] = p;
			bool pnr = pick(3) == 0;
			printf("%s,%sT06:00:00Z,", pnr ? "PNR" : "API", flight_date);
			csv_field(stdout, surnames[p.sn]);
			putchar(',');
			if (p.gn2 < N_GIVEN) {
				char both[128];
				snprintf(both, sizeof(both), "%s %s", given[p.gn], given[p.gn2]);
				csv_field(stdout, both);
			} else {
				csv_field(stdout, given[p.gn]);
			}
			printf(",%s,%c,%s,P,%s,%s,%s,%u,%s,%s,%s,%s,", p.dob, p.sex, states[p.state],
			       p.doc, states[p.state], carrier, fnum, flight_date, airports[dep],
			       airports[arr], locator);
			if (pnr)
				printf("+00 555 %04u,%s%llu@example.org,%u%c\n", pick(10000), "traveller",
				       (unsigned long long)(serial % 100000), 1 + pick(40),
				       'A' + pick(6));
			else
				printf(",,\n");
			if (q != NULL && pick(256) == 0) {
				fprintf(q, "%s\t%s\t%s\t%s", states[p.state], p.doc, surnames[p.sn],
					given[p.gn]);
				if (p.gn2 < N_GIVEN)
					fprintf(q, " %s", given[p.gn2]);
				fprintf(q, "\t%s\n", p.dob);
			}
		}
	}
	free(recent);
	if (q != NULL)
		fclose(q);
	return 0;
}
