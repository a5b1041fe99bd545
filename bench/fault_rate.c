/*
 * fault_rate: the real kernel's anonymous write-fault rate, for bench/bench_faults.py.
 *
 * Usage: fault_rate PAGES ROUNDS
 *
 * Each round maps PAGES pages of private anonymous memory (no MAP_POPULATE), writes
 * one byte to every page in address order (one write fault each: do_anonymous_page
 * under the per-VMA lock), and unmaps it again. Only the writes are timed
 * (clock_gettime(CLOCK_MONOTONIC)). Transparent huge pages are turned off for the
 * mapping (MADV_NOHUGEPAGE) so that every page is its own fault, as in the simulator.
 * Prints one line per round: "<pages> <nanoseconds>".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long pages, rounds, r, i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PAGES ROUNDS\n", argv[0]);
		return 2;
	}
	pages = atol(argv[1]);
	rounds = atol(argv[2]);
	if (pages <= 0 || rounds <= 0)
		return 2;
	for (r = 0; r < rounds; r++) {
		size_t len = (size_t)pages * 4096;
		volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long long t0, t1;

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		madvise((void *)p, len, MADV_NOHUGEPAGE);
		t0 = now_ns();
		for (i = 0; i < pages; i++)
			p[i * 4096] = 1;
		t1 = now_ns();
		munmap((void *)p, len);
		printf("%ld %lld\n", pages, t1 - t0);
	}
	return 0;
}
