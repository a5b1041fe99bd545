/*
 * proc-vs-map on the real kernel: the oracle for lab/proc_vs_map.py.
 *
 * One mapper thread maps and unmaps randomly chosen 4 KiB pages of a 128 MiB region
 * (MAP_FIXED anonymous pages into holes, munmap of mapped ones) for SECONDS seconds,
 * while K scanner threads at nice 19 read FILE ("maps" or "smaps" of this process) in
 * 4 KiB read() calls, again and again. Prints one line:
 *
 *   file=maps k=10 ops=123456 p50_us=1.2 p99_us=3.4 max_us=5678.9 reads=42
 *
 * On 6.17+ /proc/PID/maps is read under per-VMA locks; smaps still takes mmap_lock
 * for read for each read() (m_start), like maps did up to 6.16.
 *
 * Build: cc -O2 -Wall -pthread -o proc_vs_map proc_vs_map.c
 * Usage: proc_vs_map FILE K SECONDS [SEED]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define REGION (128UL << 20)
#define NPAGES (REGION / PAGE)
#define MAX_SAMPLES (1UL << 24)

static volatile int stop;
static char path[64];
static long reads;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *scanner(void *arg)
{
	char buf[4096];
	(void)arg;
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	while (!stop) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			exit(1);
		}
		while (!stop && read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s maps|smaps K SECONDS [SEED]\n", argv[0]);
		return 2;
	}
	int k = atoi(argv[2]);
	double seconds = atof(argv[3]);
	unsigned seed = argc > 4 ? (unsigned)atoi(argv[4]) : 1;
	snprintf(path, sizeof(path), "/proc/self/%s", argv[1]);
	/*
	 * The region sits between two PROT_NONE guard pages that stay mapped, so no hole
	 * it gets is next to free address space: otherwise a thread stack placed just
	 * below it can take the region's first pages (a hole at that moment), and the
	 * mapper's MAP_FIXED then maps over the stack's top (seen: SIGSEGV in the scanner).
	 */
	char *guard = mmap(NULL, REGION + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *base = guard + PAGE;
	if (mprotect(base, REGION, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		return 1;
	}
	/* A random half of the pages mapped, as in the simulator's set-up. */
	static unsigned char mapped[NPAGES];
	srand(seed);
	for (unsigned long i = 0; i < NPAGES; i++) {
		mapped[i] = rand() & 1;
		if (!mapped[i])
			munmap(base + i * PAGE, PAGE);
	}
	pthread_t *threads = calloc(k > 0 ? k : 1, sizeof(*threads));
	for (int i = 0; i < k; i++)
		pthread_create(&threads[i], NULL, scanner, NULL);
	double *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	unsigned long n = 0;
	double end = now_us() + seconds * 1e6;
	while (now_us() < end && n < MAX_SAMPLES) {
		unsigned long i = (unsigned long)rand() % NPAGES;
		char *addr = base + i * PAGE;
		double t0 = now_us();
		if (mapped[i])
			munmap(addr, PAGE);
		else if (mmap(addr, PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		lat[n++] = now_us() - t0;
		mapped[i] = !mapped[i];
	}
	stop = 1;
	for (int i = 0; i < k; i++)
		pthread_join(threads[i], NULL);
	qsort(lat, n, sizeof(*lat), cmp);
	printf("file=%s k=%d ops=%lu p50_us=%.1f p99_us=%.1f max_us=%.1f reads=%ld\n", argv[1], k, n,
	       lat[n / 2], lat[(unsigned long)(n * 0.99)], lat[n - 1], reads);
	return 0;
}
