/*
 * maps_layout: build a process with ~vm.max_map_count single-page anonymous VMAs and
 * time full reads of its own /proc/self/maps.  Used by bench/bench_maps.py.
 *
 *   maps_layout DUMP_FILE TARGET_MAP_COUNT REPS WARMUP
 *
 * Layout: one arena of K pages mapped read-write at ARENA_BASE (MAP_FIXED_NOREPLACE,
 * far from everything else), then every odd page mprotect()ed to read-only, so the
 * arena alternates rw-p / r--p one-page VMAs that cannot merge.  Each mprotect of an
 * inner page splits one VMA into three (+2); when the parity of the target needs it,
 * the last page is mprotect()ed too (an edge split, +1).  The target is clamped to
 * vm.max_map_count.  map_count is counted from the maps text itself (lines minus the
 * [vsyscall] gate line).
 *
 * After building, the maps text is written once to DUMP_FILE (with write(2), so the
 * layout does not change), then WARMUP untimed and REPS timed passes follow; one pass
 * is open(), read() into a 1 MiB buffer until EOF, close(), timed with
 * clock_gettime(CLOCK_MONOTONIC).  Results go to stdout as "key value" lines; stdio is
 * used only after the last timed pass, so nothing is allocated while timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
#define ARENA_BASE 0x100000000000UL
#define READ_BUF (1UL << 20)
#define DUMP_BUF (16UL << 20)
#define MAX_REPS 10000

static long long samples[MAX_REPS];

static void die(const char *what) {
    fprintf(stderr, "maps_layout: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Read all of /proc/self/maps into buf (at most cap bytes); return the byte count and
 * the number of read() calls that returned data. */
static size_t read_maps(char *buf, size_t cap, long *nreads) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /proc/self/maps");
    size_t total = 0;
    long calls = 0;
    for (;;) {
        size_t room = cap - total;
        if (room > READ_BUF)
            room = READ_BUF;
        if (room == 0) {
            errno = ENOSPC;
            die("maps text larger than the buffer");
        }
        ssize_t n = read(fd, buf + total, room);
        if (n < 0)
            die("read /proc/self/maps");
        if (n == 0)
            break;
        total += (size_t)n;
        calls++;
    }
    close(fd);
    if (nreads)
        *nreads = calls;
    return total;
}

/* map_count as the kernel counts it: maps lines minus the gate VMA line. */
static long count_vmas(const char *buf, size_t len) {
    long lines = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n')
            lines++;
    if (len >= 16 && memmem(buf, len, "ffffffffff600000-", 17) != NULL)
        lines--;
    return lines;
}

static long read_long_file(const char *path) {
    char tmp[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, tmp, sizeof tmp - 1);
    close(fd);
    if (n <= 0)
        return -1;
    tmp[n] = '\0';
    return strtol(tmp, NULL, 10);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DUMP_FILE TARGET_MAP_COUNT REPS WARMUP\n", argv[0]);
        return 2;
    }
    const char *dump_path = argv[1];
    long target = strtol(argv[2], NULL, 10);
    long reps = strtol(argv[3], NULL, 10);
    long warmup = strtol(argv[4], NULL, 10);
    if (reps < 1 || reps > MAX_REPS || warmup < 0) {
        fprintf(stderr, "maps_layout: REPS must be 1..%d and WARMUP >= 0\n", MAX_REPS);
        return 2;
    }
    long max_map_count = read_long_file("/proc/sys/vm/max_map_count");
    if (max_map_count > 0 && target > max_map_count)
        target = max_map_count;

    /* All buffers exist before the baseline count, so they are part of it. */
    char *buf = mmap(NULL, DUMP_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        die("mmap buffer");
    memset(buf, 0, DUMP_BUF); /* fault it in: no page faults while timing */
    memset(samples, 0, sizeof samples);

    size_t len = read_maps(buf, DUMP_BUF, NULL);
    long base_count = count_vmas(buf, len);
    long extra = target - base_count - 1; /* VMAs the splits must add to the arena's one */
    if (extra < 0) {
        fprintf(stderr, "maps_layout: target %ld is below the baseline %ld + 1\n", target,
                base_count);
        return 2;
    }
    long middles = extra / 2, edge = extra % 2;
    unsigned long pages = 2 * (unsigned long)middles + 1 + (unsigned long)edge;
    char *arena = mmap((void *)ARENA_BASE, pages * PG, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (arena == MAP_FAILED)
        die("mmap arena");
    if ((unsigned long)arena != ARENA_BASE) {
        fprintf(stderr, "maps_layout: arena landed at %p\n", (void *)arena);
        return 1;
    }
    for (long i = 0; i < middles; i++)
        if (mprotect(arena + (2 * i + 1) * PG, PG, PROT_READ) != 0)
            die("mprotect (inner page)");
    if (edge && mprotect(arena + (pages - 1) * PG, PG, PROT_READ) != 0)
        die("mprotect (last page)");

    long nreads = 0;
    void *brk_at_dump = sbrk(0); /* the program break the dump was taken with */
    len = read_maps(buf, DUMP_BUF, &nreads);
    long map_count = count_vmas(buf, len);
    int out = open(dump_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        die("open dump file");
    for (size_t done = 0; done < len;) {
        ssize_t n = write(out, buf + done, len - done);
        if (n < 0)
            die("write dump file");
        done += (size_t)n;
    }
    close(out);

    size_t bytes_min = len, bytes_max = len;
    for (long r = 0; r < warmup + reps; r++) {
        long long t0 = now_ns();
        size_t n = read_maps(buf, DUMP_BUF, NULL);
        long long t1 = now_ns();
        if (n < bytes_min)
            bytes_min = n;
        if (n > bytes_max)
            bytes_max = n;
        if (r >= warmup)
            samples[r - warmup] = t1 - t0;
    }

    printf("max_map_count %ld\n", max_map_count);
    printf("brk %p\n", brk_at_dump);
    printf("baseline_map_count %ld\n", base_count);
    printf("map_count %ld\n", map_count);
    printf("arena_base 0x%lx\n", ARENA_BASE);
    printf("arena_pages %lu\n", pages);
    printf("bytes %zu\n", len);
    printf("bytes_min %zu\n", bytes_min);
    printf("bytes_max %zu\n", bytes_max);
    printf("reads_per_pass %ld\n", nreads);
    printf("reps %ld\n", reps);
    printf("warmup %ld\n", warmup);
    printf("samples_ns");
    for (long r = 0; r < reps; r++)
        printf("%c%lld", r ? ',' : ' ', samples[r]);
    printf("\n");
    qsort(samples, (size_t)reps, sizeof samples[0], cmp_ll);
    long long median2 = samples[(reps - 1) / 2] + samples[reps / 2];
    printf("median_us %.1f\n", (double)median2 / 2000.0);
    printf("min_us %.1f\n", (double)samples[0] / 1000.0);
    return 0;
}
