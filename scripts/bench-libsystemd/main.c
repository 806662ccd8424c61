/*
 * The cost of libsystemd itself per journal entry, without cflogd: how the
 * reading floor of `cflogd run` and `cflogd scan` is made up. Each mode
 * reads up to N entries of a journal directory:
 *
 *   bit 1: the six unit matches cflogd pushes (_SYSTEMD_UNIT= and
 *          SYSLOG_IDENTIFIER= of chainfire, flaredb, placement-driver, ORed)
 *   bit 2: every field enumerated once (sd_journal_enumerate_available_data)
 *   bit 4: a cursor formatted (sd_journal_get_cursor)
 *
 * and prints nanoseconds per entry returned by sd_journal_next.
 */
#include <systemd/sd-journal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	static const char *units[] = {
		"_SYSTEMD_UNIT=chainfire.service", "SYSLOG_IDENTIFIER=chainfire",
		"_SYSTEMD_UNIT=flaredb.service", "SYSLOG_IDENTIFIER=flaredb",
		"_SYSTEMD_UNIT=placement-driver.service", "SYSLOG_IDENTIFIER=placement-driver",
	};
	if (argc != 4) {
		fprintf(stderr, "usage: %s DIR MODE N\n", argv[0]);
		return 2;
	}
	int mode = atoi(argv[2]);
	long max = atol(argv[3]);
	sd_journal *j;
	int e = sd_journal_open_directory(&j, argv[1], 0);
	if (e < 0) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-e));
		return 1;
	}
	if (mode & 1)
		for (int i = 0; i < 6; i++) {
			if (i > 0) sd_journal_add_disjunction(j);
			sd_journal_add_match(j, units[i], 0);
		}
	double t0 = now();
	long n = 0;
	size_t sink = 0;
	while (n < max && sd_journal_next(j) > 0) {
		n++;
		if (mode & 2) {
			const void *d;
			size_t l;
			sd_journal_restart_data(j);
			while (sd_journal_enumerate_available_data(j, &d, &l) > 0) sink += l;
		}
		if (mode & 4) {
			char *c;
			if (sd_journal_get_cursor(j, &c) >= 0) {
				sink += strlen(c);
				free(c);
			}
		}
	}
	double dt = now() - t0;
	printf("%d %ld %.0f %zu\n", mode, n, dt / (double)n * 1e9, sink % 2);
	sd_journal_close(j);
	return 0;
}
