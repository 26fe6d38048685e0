/*
 * gen_travellers.c: N realistic synthetic travellers as CSV (the import
 * format of import.h), for benchmarks and the demo.
 *
 *   gen_travellers N [--seed S] [--queries FILE] [--pnrgov]
 *
 * Names from several scripts and naming traditions (German, French,
 * Spanish, Turkish, Polish, Arabic and Chinese romanisations, Russian in
 * Cyrillic), bookings shared by families and colleagues, repeat travellers
 * on other flights, a quarter of the records older than the masking age.
 * --queries writes sample lookups (issuer, number, surname, given names,
 * date of birth) of travellers that exist. --pnrgov writes the same people
 * and bookings (the same seed gives the same ones) as PNRGOV EDIFACT, one
 * push per booking, every traveller with a document, those whose CSV row is
 * PNR with its contacts and seat. All of it is invented.
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

/* A value in an EDIFACT segment: the separators and the release character released. */
static void
edi_field(const char *s)
{
	for (; *s; s++) {
		if (*s == '\'' || *s == '+' || *s == ':' || *s == '?')
			putchar('?');
		putchar(*s);
	}
}

/* DDMMYY of a day number. */
static void
ddmmyy(int32_t day, char out[7])
{
	char d[11];
	num_format_date(day, d);
	snprintf(out, 7, "%.2s%.2s%.2s", d + 8, d + 5, d + 2);
}

/*
 * One booking as a PNRGOV interchange of its own (one push of its flight,
 * sent the morning of the flight): the travellers with their documents,
 * the contacts and seats of those with PNR data in the CSV form.
 */
static void
pnrgov_booking(uint64_t ref, int32_t fday, const char *carrier, unsigned fnum, const char *dep,
	       const char *arr, const char *locator, const struct person *who, unsigned np,
	       const unsigned *phone, const uint64_t *mail, const unsigned *seat,
	       const char *seatl)
{
	static const char *const mon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
	char fd[7], date[11];
	unsigned segs = 0;

	ddmmyy(fday, fd);
	num_format_date(fday, date);
	printf("UNB+IATA:1+%s+XXPIU+%.2s%.2s%.2s:0600+%llu++PNRGOV'\n", carrier, date + 2,
	       date + 5, date + 8, (unsigned long long)ref);
	printf("UNH+1+PNRGOV:13:1:IA+%llu'\n", (unsigned long long)ref);
	printf("MSG+:22'\nTVL+%s:0900::1100+%s+%s+%s+%u'\nEQN+1'\nSRC'\nRCI+%s:%s'\n", fd, dep,
	       arr, carrier, fnum, carrier, locator);
	segs = 6; /* UNH, MSG, TVL, EQN, SRC, RCI */
	for (unsigned m = 0; m < np; m++) {
		const struct person *p = &who[m];
		int y, mo, dd;
		printf("TIF+");
		edi_field(surnames[p->sn]);
		printf("+");
		edi_field(given[p->gn]);
		if (p->gn2 < N_GIVEN) {
			putchar(' ');
			edi_field(given[p->gn2]);
		}
		printf(":A:%u'\n", m + 1);
		sscanf(p->dob, "%d-%d-%d", &y, &mo, &dd);
		printf("SSR+DOCS:HK:1:%s:::::/P/%s/%s/%s/%02d%s%02d/%c+::%u'\n", carrier,
		       states[p->state], p->doc, states[p->state], dd, mon[(mo - 1) % 12], y % 100,
		       p->sex, m + 1);
		segs += 2;
		if (seat[m] > 0) {
			printf("IFT+4:28::%s+CTCM 00555%04u'\nIFT+4:28::%s+CTCE TRAVELLER%llu//EXAMPLE.ORG'\n",
			       carrier, phone[m], carrier, (unsigned long long)mail[m]);
			printf("SSR+SEAT:HK:1:%s:::%s:%s+%u%c::%u'\n", carrier, dep, arr, seat[m],
			       seatl[m], m + 1);
			segs += 3;
		}
	}
	printf("TVL+%s:0900::1100+%s+%s+%s+%u'\nRPI+%u+HK'\n", fd, dep, arr, carrier, fnum, np);
	segs += 2;
	printf("UNT+%u+1'\nUNZ+1+%llu'\n", segs + 1, (unsigned long long)ref);
}

int
main(int argc, char **argv)
{
	uint64_t n = 0, seed = 1;
	const char *qpath = NULL;
	bool pnrgov = false;
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
		} else if (strcmp(argv[i], "--pnrgov") == 0) {
			pnrgov = true;
		} else if (!num_parse_u64(argv[i], strlen(argv[i]), 1, 100000000, &n)) {
			fprintf(stderr, "usage: gen_travellers N [--seed S] [--queries FILE] [--pnrgov]\n");
			return 2;
		}
	}
	if (n == 0) {
		fprintf(stderr, "usage: gen_travellers N [--seed S] [--queries FILE] [--pnrgov]\n");
		return 2;
	}
	rng ^= seed * 0xD1B54A32D192ED03ull;
	if (qpath != NULL && (q = fopen(qpath, "w")) == NULL)
		return 2;
	recent = calloc(nrecent, sizeof(*recent));
	if (!pnrgov)
		printf("source,transferred_at,surname,given_names,date_of_birth,sex,nationality,"
		       "doc_type,doc_number,doc_issuer,carrier,flight_number,flight_date,dep_airport,"
		       "arr_airport,record_locator,phones,emails,seat\n");
	else
		printf("UNA:+.? '");
	for (uint64_t i = 0, serial = 1, nb = 0; i < n; nb++) {
		/* One booking: 1 to 4 people on the same flight. */
		unsigned party = 1 + (pick(10) < 7 ? 0 : pick(4));
		char locator[7], flight_date[11], carrier[3];
		unsigned fnum = 1 + pick(999), dep = pick(8), arr = (dep + 1 + pick(7)) % 8;
		struct person who[4];
		bool pnr[4];
		unsigned phone[4], seat[4], np = 0;
		char seatl[4];
		uint64_t mail[4];
		/* A quarter older than 183 days, so masking has work to do. */
		int32_t fday = (int32_t)(today - (pick(4) == 0 ? 184 + pick(1500) : pick(180)));
		num_format_date(fday, flight_date);
		for (int k = 0; k < 6; k++)
			locator[k] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[pick(32)];
		locator[6] = '\0';
		carrier[0] = 'X';
		carrier[1] = (char)('A' + pick(26));
		carrier[2] = '\0';
		/* Every random value drawn first: both formats describe the same people. */
		for (unsigned m = 0; m < party && i < n; m++, i++, np++) {
			struct person p;
			/* Repeat travellers: one in ten is someone seen before. */
			if (i > nrecent && pick(10) == 0)
				p = recent[pick((unsigned)nrecent)];
			else
				new_person(&p, serial++);
			if (m > 0 && pick(2) == 0)
				p.sn = recent[(i - 1) % nrecent].sn; /* families share a name */
			recent[i % nrecent] = p;
			who[m] = p;
			pnr[m] = pick(3) == 0;
			phone[m] = pnr[m] ? pick(10000) : 0;
			mail[m] = serial % 100000;
			seat[m] = pnr[m] ? 1 + pick(40) : 0;
			seatl[m] = pnr[m] ? (char)('A' + pick(6)) : 'A';
			/* Drawn with or without --queries: the same seed, the same people. */
			bool sample = pick(256) == 0;
			if (q != NULL && sample) {
				fprintf(q, "%s\t%s\t%s\t%s", states[p.state], p.doc, surnames[p.sn],
					given[p.gn]);
				if (p.gn2 < N_GIVEN)
					fprintf(q, " %s", given[p.gn2]);
				fprintf(q, "\t%s\n", p.dob);
			}
		}
		if (pnrgov) {
			pnrgov_booking(nb + 1, fday, carrier, fnum, airports[dep], airports[arr], locator,
				       who, np, phone, mail, seat, seatl);
			continue;
		}
		for (unsigned m = 0; m < np; m++) {
			const struct person *pp = &who[m];
			printf("%s,%sT06:00:00Z,", pnr[m] ? "PNR" : "API", flight_date);
			csv_field(stdout, surnames[pp->sn]);
			putchar(',');
			if (pp->gn2 < N_GIVEN) {
				char both[128];
				snprintf(both, sizeof(both), "%s %s", given[pp->gn], given[pp->gn2]);
				csv_field(stdout, both);
			} else {
				csv_field(stdout, given[pp->gn]);
			}
			printf(",%s,%c,%s,P,%s,%s,%s,%u,%s,%s,%s,%s,", pp->dob, pp->sex,
			       states[pp->state], pp->doc, states[pp->state], carrier, fnum, flight_date,
			       airports[dep], airports[arr], locator);
			if (pnr[m])
				printf("+00 555 %04u,%s%llu@example.org,%u%c\n", phone[m], "traveller",
				       (unsigned long long)mail[m], seat[m], seatl[m]);
			else
				printf(",,\n");
		}
	}
	free(recent);
	if (q != NULL)
		fclose(q);
	return 0;
}
