/*
 * mmap_probe: a live process prints its own /proc/self/maps, then makes a fixed series
 * of mmap/munmap calls and prints where each landed, so a simulated copy of it
 * (imported from that maps text) can be asked the same and compared.
 *
 *   mmap_probe MODE SMALL_FILE BIG_FILE
 *
 * MODE shapes the address space first, as programs do: "plain" (nothing), "dlopen"
 * (libraries loaded by ld.so, some over 2 MiB), "malloc" (glibc's mmap'd chunks, some
 * freed: holes), "threads" (three thread stacks with guard pages). Between reading the
 * maps and the last call nothing allocates: the maps are read with raw read(2) into a
 * static buffer and the results are kept in a static array, printed at the end.
 *
 * Output: the maps text, then one line per call:
 *   "#mmap ADDR LEN PROT FLAGS FILE OFF = RESULT" (FILE -1, 0 small, 1 big; RESULT
 *   an address or -ERRNO) or "#munmap ADDR LEN = RESULT".
 * Used by tests/core/test_exec_import.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1024UL * 1024UL)

struct rec {
	char munmap;
	unsigned long addr, len;
	int prot, flags, file;
	unsigned long off;
	long ret;
};

static char maps[4 * 1024 * 1024];
static struct rec recs[64];
static int nrecs;
static int fds[2];
static int block[2];

static long do_mmap(unsigned long addr, unsigned long len, int prot, int flags, int file,
		    unsigned long off)
{
	void *p = mmap((void *)addr, len, prot, flags, file < 0 ? -1 : fds[file], (off_t)off);
	long ret = p == MAP_FAILED ? -errno : (long)p;
	recs[nrecs++] = (struct rec){0, addr, len, prot, flags, file, off, ret};
	return ret;
}

static void do_munmap(unsigned long addr, unsigned long len)
{
	long ret = munmap((void *)addr, len) ? -errno : 0;
	recs[nrecs++] = (struct rec){1, addr, len, 0, 0, -1, 0, ret};
}

static void *sleeper(void *arg)
{
	char c;
	(void)arg;
	if (read(block[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *mode = argv[1];
	fds[0] = open(argv[2], O_RDONLY);
	fds[1] = open(argv[3], O_RDONLY);
	if (fds[0] < 0 || fds[1] < 0 || pipe(block) < 0)
		return 2;
	void *keep[8] = {0};
	if (strcmp(mode, "dlopen") == 0) {
		const char *libs[] = {"libm.so.6", "libz.so.1", "libstdc++.so.6", "libcrypto.so.3"};
		for (int i = 0; i < 4; i++)
			keep[i] = dlopen(libs[i], RTLD_NOW);
	} else if (strcmp(mode, "malloc") == 0) {
		size_t sizes[] = {300000, 1 << 20, 5 << 20, 200000, 3 << 20, 700000};
		for (int i = 0; i < 6; i++)
			keep[i] = malloc(sizes[i]);
		free(keep[1]);
		free(keep[4]);
	} else if (strcmp(mode, "threads") == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
	}
	int mfd = open("/proc/self/maps", O_RDONLY);
	size_t total = 0;
	ssize_t n;
	while ((n = read(mfd, maps + total, sizeof(maps) - 1 - total)) > 0)
		total += (size_t)n;
	close(mfd);

	const int RW = PROT_READ | PROT_WRITE, PA = MAP_PRIVATE | MAP_ANONYMOUS;
	do_mmap(0, 4096, RW, PA, -1, 0);
	do_mmap(0, 8192, PROT_READ, PA, -1, 0);
	long a = do_mmap(0, 65536, RW, PA, -1, 0);
	long b = do_mmap(0, 1 * MiB, RW, PA, -1, 0);
	do_mmap(0, 2 * MiB, RW, PA, -1, 0);
	do_mmap(0, 4 * MiB, RW, PA, -1, 0);
	do_mmap(0, 3 * MiB + 4096, RW, PA, -1, 0);
	do_mmap(0, 4096, PROT_READ, MAP_PRIVATE, 0, 0);
	do_mmap(0, 3 * MiB, PROT_READ, MAP_PRIVATE, 1, 0);
	do_mmap(0, 2 * MiB, PROT_READ, MAP_SHARED, 1, 4096);
	do_mmap(0, 1 * MiB, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	do_mmap(0, 64 * MiB, PROT_NONE, PA | MAP_NORESERVE, -1, 0);
	if (b > 0)
		do_munmap((unsigned long)b, 1 * MiB);
	do_mmap(0, 512 * 1024, RW, PA, -1, 0);
	if (a > 0)
		do_mmap((unsigned long)a, 4096, RW, PA, -1, 0); /* an occupied hint */
	do_mmap(0x200000000000UL, 4096, RW, PA, -1, 0);	/* a free hint */
	do_mmap(0x200000000800UL, 8192, RW, PA, -1, 0);	/* an unaligned one */
	do_mmap(0, 8 * MiB + 4096, PROT_NONE, PA | MAP_STACK, -1, 0);
	do_mmap(0, 4096, RW, PA | MAP_GROWSDOWN, -1, 0);
	do_mmap(0, 10 * MiB, RW, PA, -1, 0);
	do_mmap(0, 4096, RW, PA, -1, 0);
	/* Last: more than RAM + swap, which overcommit heuristics refuse. */
	do_mmap(0, 1UL << 40, RW, PA, -1, 0);

	fwrite(maps, 1, total, stdout);
	for (int i = 0; i < nrecs; i++) {
		struct rec *r = &recs[i];
		if (r->munmap)
			printf("#munmap %#lx %#lx = %ld\n", r->addr, r->len, r->ret);
		else
			printf("#mmap %#lx %#lx %d %d %d %#lx = %ld\n", r->addr, r->len, r->prot,
			       r->flags, r->file, r->off, r->ret);
	}
	return keep[0] == (void *)1;
}
