/*
 * smaps on the real kernel: the cost model and the oracle of lab/monitor_vs_workload.py.
 *
 * Two modes, each printing key=value lines (lab/smaps_oracle.py parses them):
 *
 *   smaps_oracle cost [MIB]
 *     The cost of reading /proc/self/smaps and smaps_rollup on this host:
 *     - per resident page: smaps_rollup of one populated anonymous VMA of MIB/8 and
 *       MIB MiB (4 KiB pages, MADV_NOHUGEPAGE); the slope between the two sizes;
 *     - per VMA: smaps_rollup and smaps with 20,000 extra one-page VMAs (unpopulated,
 *       alternating PROT_READ/PROT_NONE so they never merge) against none;
 *     - per chunk: smaps of those VMAs read with 4096-byte and 512-byte read()s (each
 *       read() is one m_start .. m_stop: mmap_read_lock, a VMA lookup, the unlock);
 *       (time difference) / (difference in read() calls).
 *     Every figure is the median of REPS reads, timed by the reading thread's CPU
 *     time (CLOCK_THREAD_CPUTIME_ID: the read()'s system time, as process-exporter
 *     reports it; other tenants of a shared host do not inflate it).
 *
 *   smaps_oracle scale seq|random MIB...
 *     Whether the per-page cost holds with size: for each MIB (ascending), one populated
 *     anonymous VMA of MIB MiB (4 KiB pages), touched in address order ("seq": the
 *     pages' frames, hence their struct pages, mostly in the same order) or in a
 *     shuffled order ("random": the walk meets the struct pages scattered, as in a
 *     long-lived heap); then the CPU time of smaps_rollup read back to back ("warm":
 *     page tables and struct pages left in the caches by the previous read) and read
 *     after writing a 1 GiB buffer of transparent huge pages ("cold": the caches
 *     flushed, as for a heap whose page tables and struct pages exceed the last-level
 *     cache; the buffer's 512 PMDs add nothing measurable to the walk), REPS each, and
 *     smaps warm. Prints one line per size (medians; per_page = (time - empty) / pages),
 *     with the share of neighbouring pages whose frames are neighbours (pagemap).
 *
 *   smaps_oracle stall FILE HEAP_MIB SECONDS INTERVAL_MS [SEED]
 *     A process with HEAP_MIB MiB of resident anonymous 4 KiB pages (one VMA), a mapper
 *     thread (mmap then munmap of one anonymous page, each timed, 50 us apart), a
 *     faulter thread (first touches of a 64 MiB region, each timed, 50 us apart; the
 *     region is unmapped and mapped again untimed when used up) and, unless FILE is
 *     "none", a monitor reading /proc/self/FILE (smaps or smaps_rollup, 4 KiB read()s)
 *     every INTERVAL_MS ms. Prints one line:
 *
 *       file=smaps_rollup heap_mib=2048 mmap_ops=... mmap_p50_us=... mmap_p99_us=...
 *       mmap_max_us=... munmap_...  fault_ops=... fault_p50_us=... scans=...
 *       scan_p50_us=... scan_max_us=...
 *
 * On 6.18 smaps and smaps_rollup hold mmap_lock for read for the page walk of a whole
 * VMA (fs/proc/task_mmu.c: m_start -> lock_vma_range takes mmap_read_lock for every
 * file but maps; show_smap -> smap_gather_stats -> walk_page_vma; show_smaps_rollup
 * drops the lock between two VMAs only when mmap_lock_is_contended), so the mapper's
 * mmap_write_lock waits for the walk of the heap.
 *
 * Build: cc -O2 -Wall -pthread -o smaps_oracle smaps_oracle.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define REPS 7
#define EXTRA_VMAS 20000
#define MAX_SAMPLES (1UL << 22)
#define FAULT_REGION (64UL << 20)

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* CPU time of the calling thread: a read()'s system time, whatever else runs. */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int use_cpu_time;

/*
 * Read the whole of /proc/self/NAME in read()s of BUFSIZE; returns ns (the thread's CPU
 * time in cost mode, wall time otherwise), *reads set to the read() calls made.
 */
static double read_file(const char *name, size_t bufsize, long *reads)
{
	static char buf[1 << 16];
	char path[64];
	double (*clock)(void) = use_cpu_time ? cpu_ns : now_ns;
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	double t0 = clock();
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	long n = 0;
	while (read(fd, buf, bufsize) > 0)
		n++;
	close(fd);
	if (reads)
		*reads = n + 1;
	return clock() - t0;
}

static double median_read(const char *name, size_t bufsize, long *reads)
{
	double t[REPS];
	for (int i = 0; i < REPS; i++)
		t[i] = read_file(name, bufsize, reads);
	qsort(t, REPS, sizeof(*t), cmp);
	return t[REPS / 2];
}

/* An anonymous private mapping of BYTES, 4 KiB pages only (no THP), not yet touched. */
static char *map_heap(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap heap");
		exit(1);
	}
	madvise(p, bytes, MADV_NOHUGEPAGE);
	return p;
}

static char *populate(size_t bytes)
{
	char *p = map_heap(bytes);
	for (size_t off = 0; off < bytes; off += PAGE)
		p[off] = 1;
	return p;
}

static int cost(long mib)
{
	size_t small = (size_t)mib << 17, big = (size_t)mib << 20; /* MIB/8 and MIB MiB */
	use_cpu_time = 1;
	double base = median_read("smaps_rollup", 4096, NULL);
	char *p = populate(small);
	double t_small = median_read("smaps_rollup", 4096, NULL);
	munmap(p, small);
	p = populate(big);
	double t_big = median_read("smaps_rollup", 4096, NULL);
	double t_big_smaps = median_read("smaps", 4096, NULL);
	munmap(p, big);
	double per_page = (t_big - t_small) / ((big - small) / PAGE);
	printf("resident_small_pages=%zu rollup_small_ns=%.0f resident_big_pages=%zu "
	       "rollup_big_ns=%.0f smaps_big_ns=%.0f rollup_empty_ns=%.0f page_ns=%.2f\n",
	       small / PAGE, t_small, big / PAGE, t_big, t_big_smaps, base, per_page);

	long reads0, reads4096, reads512;
	double smaps0 = median_read("smaps", 4096, &reads0);
	double rollup0 = median_read("smaps_rollup", 4096, NULL);
	char *area = mmap(NULL, EXTRA_VMAS * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap vmas");
		return 1;
	}
	for (long i = 1; i < EXTRA_VMAS; i += 2)
		mprotect(area + i * PAGE, PAGE, PROT_NONE);
	double smaps4096 = median_read("smaps", 4096, &reads4096);
	double smaps512 = median_read("smaps", 512, &reads512);
	double rollup = median_read("smaps_rollup", 4096, NULL);
	printf("vmas=%d rollup_ns=%.0f rollup_base_ns=%.0f smaps_ns=%.0f smaps_base_ns=%.0f "
	       "reads=%ld reads_base=%ld smaps_512_ns=%.0f reads_512=%ld\n",
	       EXTRA_VMAS, rollup, rollup0, smaps4096, smaps0, reads4096, reads0, smaps512,
	       reads512);
	double per_chunk = (smaps512 - smaps4096) / (double)(reads512 - reads4096);
	double rollup_vma = (rollup - rollup0) / EXTRA_VMAS;
	double smaps_vma = (smaps4096 - smaps0 - per_chunk * (reads4096 - reads0)) / EXTRA_VMAS;
	printf("rollup_vma_ns=%.1f smaps_vma_ns=%.1f chunk_ns=%.1f\n", rollup_vma, smaps_vma,
	       per_chunk);
	munmap(area, EXTRA_VMAS * PAGE);
	return 0;
}

#define FLUSH_BYTES (1UL << 30)

static char *flush_buf;

/* Write FLUSH_BYTES (huge pages if the kernel gives them) to evict the caches. */
static void flush_caches(void)
{
	for (size_t off = 0; off < FLUSH_BYTES; off += 64)
		flush_buf[off]++;
}

static double median_cold_read(const char *name)
{
	double t[REPS];
	for (int i = 0; i < REPS; i++) {
		flush_caches();
		t[i] = read_file(name, 4096, NULL);
	}
	qsort(t, REPS, sizeof(*t), cmp);
	return t[REPS / 2];
}

/* Populate BYTES touching its pages in a shuffled order (xorshift, fixed seed). */
static char *populate_random(size_t bytes)
{
	char *p = map_heap(bytes);
	size_t n = bytes / PAGE;
	unsigned *order = malloc(n * sizeof(*order));
	if (!order) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (unsigned)i;
	unsigned long long x = 88172645463325252ULL;
	for (size_t i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t j = x % (i + 1);
		unsigned tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < n; i++)
		p[(size_t)order[i] * PAGE] = 1;
	free(order);
	return p;
}

/*
 * Share of the heap's neighbouring virtual pages whose frames are neighbours too
 * (/proc/self/pagemap: PFN in bits 0-54, visible to root): 1 for frames in address
 * order, near 0 for scattered ones. -1 if the PFNs cannot be read.
 */
static double pfn_contiguity(const char *p, size_t pages)
{
	static unsigned long long e[1 << 16];
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	unsigned long long prev = 0, pfn_mask = (1ULL << 55) - 1;
	size_t contiguous = 0;
	for (size_t i = 0; i < pages; i += 1 << 16) {
		size_t n = pages - i < (1 << 16) ? pages - i : (1 << 16);
		off_t at = (off_t)(((unsigned long)p / PAGE + i) * sizeof(e[0]));
		if (pread(fd, e, n * sizeof(e[0]), at) != (ssize_t)(n * sizeof(e[0]))) {
			close(fd);
			return -1;
		}
		for (size_t j = 0; j < n; j++) {
			unsigned long long pfn = e[j] & pfn_mask;
			if (pfn == 0) {
				close(fd);
				return -1;
			}
			if (i + j > 0 && pfn == prev + 1)
				contiguous++;
			prev = pfn;
		}
	}
	close(fd);
	return pages > 1 ? (double)contiguous / (double)(pages - 1) : 1;
}

static int scale(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s scale seq|random MIB...\n", argv[0]);
		return 2;
	}
	int shuffled = !strcmp(argv[2], "random");
	use_cpu_time = 1;
	/* 2 MiB-aligned, so that the kernel can back it with transparent huge pages. */
	char *raw = mmap(NULL, FLUSH_BYTES + (2UL << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap flush");
		return 1;
	}
	flush_buf = (char *)(((unsigned long)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	madvise(flush_buf, FLUSH_BYTES, MADV_HUGEPAGE);
	flush_caches();
	double empty_warm = median_read("smaps_rollup", 4096, NULL);
	double empty_cold = median_cold_read("smaps_rollup");
	for (int a = 3; a < argc; a++) {
		size_t bytes = (size_t)atol(argv[a]) << 20, pages = bytes / PAGE;
		double t0 = cpu_ns();
		char *p = shuffled ? populate_random(bytes) : populate(bytes);
		double populate_ns = cpu_ns() - t0;
		double contiguity = pfn_contiguity(p, pages);
		double warm = median_read("smaps_rollup", 4096, NULL);
		double cold = median_cold_read("smaps_rollup");
		double smaps = median_read("smaps", 4096, NULL);
		printf("order=%s mib=%s pages=%zu rollup_warm_ns=%.0f rollup_cold_ns=%.0f "
		       "smaps_warm_ns=%.0f empty_warm_ns=%.0f empty_cold_ns=%.0f populate_ns=%.0f "
		       "pfn_contiguity=%.4f warm_page_ns=%.2f cold_page_ns=%.2f smaps_page_ns=%.2f\n",
		       argv[2], argv[a], pages, warm, cold, smaps, empty_warm, empty_cold,
		       populate_ns, contiguity, (warm - empty_warm) / pages, (cold - empty_cold) / pages,
		       (smaps - empty_warm) / pages);
		fflush(stdout);
		munmap(p, bytes);
	}
	munmap(raw, FLUSH_BYTES + (2UL << 20));
	return 0;
}

static volatile int stop;
static const char *monitor_file;
static long interval_ms;

struct series {
	double *v;
	unsigned long n;
};

static void add(struct series *s, double x)
{
	if (s->n < MAX_SAMPLES)
		s->v[s->n++] = x;
}

static struct series mmap_lat, munmap_lat, fault_lat, scan_lat;

static void pause_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

static void *mapper(void *arg)
{
	(void)arg;
	while (!stop) {
		double t0 = now_ns();
		char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t1 = now_ns();
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		add(&mmap_lat, (t1 - t0) / 1e3);
		pause_us(50);
		t0 = now_ns();
		munmap(p, PAGE);
		add(&munmap_lat, (now_ns() - t0) / 1e3);
		pause_us(50);
	}
	return NULL;
}

static void *faulter(void *arg)
{
	(void)arg;
	char *region = NULL;
	size_t off = FAULT_REGION;
	while (!stop) {
		if (off >= FAULT_REGION) {
			if (region)
				munmap(region, FAULT_REGION);
			region = mmap(NULL, FAULT_REGION, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (region == MAP_FAILED) {
				perror("mmap faulter");
				exit(1);
			}
			madvise(region, FAULT_REGION, MADV_NOHUGEPAGE);
			off = 0;
		}
		double t0 = now_ns();
		region[off] = 1;
		add(&fault_lat, (now_ns() - t0) / 1e3);
		off += PAGE;
		pause_us(50);
	}
	return NULL;
}

static void *monitor(void *arg)
{
	(void)arg;
	while (!stop) {
		add(&scan_lat, read_file(monitor_file, 4096, NULL) / 1e3);
		for (long slept = 0; slept < interval_ms && !stop; slept += 10)
			pause_us(10000);
	}
	return NULL;
}

static void report(const char *name, struct series *s)
{
	if (!s->n) {
		printf(" %s_ops=0", name);
		return;
	}
	qsort(s->v, s->n, sizeof(double), cmp);
	printf(" %s_ops=%lu %s_p50_us=%.1f %s_p99_us=%.1f %s_max_us=%.1f", name, s->n, name,
	       s->v[s->n / 2], name, s->v[(unsigned long)(s->n * 0.99)], name, s->v[s->n - 1]);
}

static int stall(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s stall none|smaps|smaps_rollup HEAP_MIB SECONDS INTERVAL_MS\n",
			argv[0]);
		return 2;
	}
	monitor_file = argv[2];
	long heap_mib = atol(argv[3]);
	double seconds = atof(argv[4]);
	interval_ms = atol(argv[5]);
	struct series *all[] = {&mmap_lat, &munmap_lat, &fault_lat, &scan_lat};
	for (int i = 0; i < 4; i++)
		all[i]->v = malloc(MAX_SAMPLES * sizeof(double));
	populate((size_t)heap_mib << 20);
	pthread_t t[3];
	int n = 0;
	pthread_create(&t[n++], NULL, mapper, NULL);
	pthread_create(&t[n++], NULL, faulter, NULL);
	if (strcmp(monitor_file, "none"))
		pthread_create(&t[n++], NULL, monitor, NULL);
	pause_us(0);
	struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("file=%s heap_mib=%ld seconds=%g interval_ms=%ld", monitor_file, heap_mib, seconds,
	       interval_ms);
	report("mmap", &mmap_lat);
	report("munmap", &munmap_lat);
	report("fault", &fault_lat);
	report("scan", &scan_lat);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "cost"))
		return cost(argc > 2 ? atol(argv[2]) : 2048);
	if (argc >= 2 && !strcmp(argv[1], "stall"))
		return stall(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "scale"))
		return scale(argc, argv);
	fprintf(stderr, "usage: %s cost [MIB] | scale seq|random MIB... | stall FILE HEAP_MIB "
		"SECONDS INTERVAL_MS\n", argv[0]);
	return 2;
}
