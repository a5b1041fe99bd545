/*
 * maps_layout: give this process ~vm.max_map_count single-page anonymous VMAs, then
 * time full reads of its own /proc/self/maps on request.  Used by bench/bench_maps.py.
 *
 *   maps_layout DUMP_FILE TARGET_MAP_COUNT
 *
 * Layout: one arena of K pages mapped read-write at ARENA_BASE (MAP_FIXED_NOREPLACE,
 * far from everything else), then every odd page mprotect()ed to read-only, so the
 * arena alternates rw-p / r--p one-page VMAs that cannot merge.  Each mprotect of an
 * inner page splits one VMA into three (+2); when the parity of the target needs it,
 * the last page is mprotect()ed too (an edge split, +1).  The target is clamped to
 * vm.max_map_count.  map_count is counted from the maps text itself (lines minus the
 * [vsyscall] gate line).
 *
 * The maps text is then written once to DUMP_FILE, "key value" lines describing the
 * layout are printed, then "ready".  After that the helper serves commands, one per
 * line on stdin:
 *
 *   read N      N timed passes; replies "samples t1,...,tN" (ns) and "bytes MIN MAX"
 *   ops N SEED  N iterations of bench/bench_maps.py's six timed operations (op_iterations:
 *               the same calls on a random read-write arena page p, each leaving the
 *               layout as it found it); replies one "op K t1,...,tN" line per operation
 *               K = 0..5 (ns), then "map_count M" counted from the maps text afterwards
 *   quit        exit
 *
 * One pass is open(), read() into a 1 MiB buffer until EOF, close(), timed with
 * clock_gettime(CLOCK_MONOTONIC).  Nothing here allocates after the baseline count:
 * no stdio (output is snprintf into static buffers + write(2)), no malloc, so the
 * layout the reads see is exactly the dumped one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

static char out_buf[1 << 16];
static size_t out_len;

static void flush_out(void) {
    for (size_t done = 0; done < out_len;) {
        ssize_t n = write(1, out_buf + done, out_len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        done += (size_t)n;
    }
    out_len = 0;
}

/* printf-like output to stdout without stdio's heap buffer. */
static void say(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = sizeof line - 1;
    if (out_len + (size_t)n > sizeof out_buf)
        flush_out();
    memcpy(out_buf + out_len, line, (size_t)n);
    out_len += (size_t)n;
}

static void die(const char *what) {
    char line[256];
    int n = snprintf(line, sizeof line, "maps_layout: %s: %s\n", what, strerror(errno));
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    _exit(1);
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
    if (memmem(buf, len, "ffffffffff600000-", 17) != NULL)
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

/* xorshift64: the page sequence of one "ops" command, reproducible from its seed. */
static unsigned long long rng_state;

static unsigned long long rng_next(void) {
    unsigned long long x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define N_OPS 6
static long long op_samples[N_OPS][MAX_REPS];

static void must(int ok, const char *what) {
    if (!ok)
        die(what);
}

/* bench_maps.py's op_iterations, on the kernel: for each iteration a random read-write
 * arena page p = 2k (both neighbours one-page r--p VMAs), six timed calls, each of
 * which leaves the layout as it found it (the untimed calls restore what the timed
 * ones changed).  Replies "op K samples" for K = 0..5. */
static void run_ops(char *arena, unsigned long pages, long iters, unsigned long long seed) {
    unsigned long pairs = (pages - 3) / 2; /* even pages 2 .. pages - 3 */
    rng_state = seed;
    for (long r = 0; r < iters; r++) {
        char *a = arena + 2 * (1 + rng_next() % pairs) * PG;
        long long t0, t1;
        t0 = now_ns(); /* merge: p-1, p, p+1 all r--: one VMA */
        must(mprotect(a, PG, PROT_READ) == 0, "mprotect merge");
        t1 = now_ns();
        op_samples[0][r] = t1 - t0;
        t0 = now_ns(); /* split: back to three VMAs */
        must(mprotect(a, PG, PROT_READ | PROT_WRITE) == 0, "mprotect split");
        t1 = now_ns();
        op_samples[1][r] = t1 - t0;
        must(mprotect(a, PG, PROT_READ) == 0, "mprotect");
        t0 = now_ns(); /* the middle page of the 3-page VMA: two VMAs remain */
        must(munmap(a, PG) == 0, "munmap split");
        t1 = now_ns();
        op_samples[2][r] = t1 - t0;
        t0 = now_ns(); /* fills the hole; both neighbours are r-- */
        void *m = mmap(a, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                       -1, 0);
        t1 = now_ns();
        must(m == a, "mmap MAP_FIXED");
        op_samples[3][r] = t1 - t0;
        t0 = now_ns();
        must(munmap(a, PG) == 0, "munmap whole");
        t1 = now_ns();
        op_samples[4][r] = t1 - t0;
        must(mmap(a, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                  0) == a,
             "mmap MAP_FIXED");
        t0 = now_ns();
        void *b = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        t1 = now_ns();
        must(b != MAP_FAILED && munmap(b, PG) == 0, "mmap no hint");
        op_samples[5][r] = t1 - t0;
    }
    for (int k = 0; k < N_OPS; k++) {
        say("op %d", k);
        for (long r = 0; r < iters; r++)
            say("%c%lld", r ? ',' : ' ', op_samples[k][r]);
        say("\n");
    }
}

/* One command line from stdin into line (NUL-terminated, without the newline);
 * returns 0 at EOF. */
static int read_command(char *line, size_t cap) {
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t n = read(0, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (c == '\n')
            break;
        if (len + 1 < cap)
            line[len++] = c;
    }
    line[len] = '\0';
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        say("usage: %s DUMP_FILE TARGET_MAP_COUNT\n", argv[0]);
        flush_out();
        return 2;
    }
    const char *dump_path = argv[1];
    long target = strtol(argv[2], NULL, 10);
    long max_map_count = read_long_file("/proc/sys/vm/max_map_count");
    if (max_map_count > 0 && target > max_map_count)
        target = max_map_count;

    /* The one big buffer exists before the baseline count, so it is part of it. */
    char *buf = mmap(NULL, DUMP_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        die("mmap buffer");
    memset(buf, 0, DUMP_BUF); /* fault it in: no first-touch faults while timing */
    static long long samples[MAX_REPS];
    memset(samples, 0, sizeof samples);

    size_t len = read_maps(buf, DUMP_BUF, NULL);
    long base_count = count_vmas(buf, len);
    long extra = target - base_count - 1; /* VMAs the splits must add to the arena's one */
    if (extra < 0) {
        errno = EINVAL;
        die("target is below the baseline map_count + 1");
    }
    long middles = extra / 2, edge = extra % 2;
    unsigned long pages = 2 * (unsigned long)middles + 1 + (unsigned long)edge;
    char *arena = mmap((void *)ARENA_BASE, pages * PG, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (arena == MAP_FAILED)
        die("mmap arena");
    if ((unsigned long)arena != ARENA_BASE) {
        errno = EEXIST;
        die("arena not at ARENA_BASE");
    }
    for (long i = 0; i < middles; i++)
        if (mprotect(arena + (2 * i + 1) * PG, PG, PROT_READ) != 0)
            die("mprotect (inner page)");
    if (edge && mprotect(arena + (pages - 1) * PG, PG, PROT_READ) != 0)
        die("mprotect (last page)");

    long nreads = 0;
    void *brk_now = sbrk(0); /* the program break the dump is taken with */
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

    say("max_map_count %ld\n", max_map_count);
    say("baseline_map_count %ld\n", base_count);
    say("map_count %ld\n", map_count);
    say("arena_base 0x%lx\n", ARENA_BASE);
    say("arena_pages %lu\n", pages);
    say("brk %p\n", brk_now);
    say("bytes %zu\n", len);
    say("reads_per_pass %ld\n", nreads);
    say("ready\n");
    flush_out();

    char cmd[64];
    while (read_command(cmd, sizeof cmd)) {
        if (strcmp(cmd, "quit") == 0)
            break;
        if (strncmp(cmd, "ops ", 4) == 0) {
            char *rest;
            long iters = strtol(cmd + 4, &rest, 10);
            unsigned long long seed = strtoull(rest, NULL, 10);
            if (iters < 1 || iters > MAX_REPS || pages < 5) {
                say("error bad command (ops 1..%d SEED)\n", MAX_REPS);
                flush_out();
                continue;
            }
            run_ops(arena, pages, iters, seed ? seed : 1);
            len = read_maps(buf, DUMP_BUF, NULL);
            say("map_count %ld\n", count_vmas(buf, len));
            flush_out();
            continue;
        }
        long reps = 0;
        if (strncmp(cmd, "read ", 5) == 0)
            reps = strtol(cmd + 5, NULL, 10);
        if (reps < 1 || reps > MAX_REPS) {
            say("error bad command (read 1..%d | quit)\n", MAX_REPS);
            flush_out();
            continue;
        }
        size_t bytes_min = (size_t)-1, bytes_max = 0;
        for (long r = 0; r < reps; r++) {
            long long t0 = now_ns();
            size_t n = read_maps(buf, DUMP_BUF, NULL);
            long long t1 = now_ns();
            samples[r] = t1 - t0;
            if (n < bytes_min)
                bytes_min = n;
            if (n > bytes_max)
                bytes_max = n;
        }
        say("samples");
        for (long r = 0; r < reps; r++)
            say("%c%lld", r ? ',' : ' ', samples[r]);
        say("\nbytes %zu %zu\n", bytes_min, bytes_max);
        flush_out();
    }
    return 0;
}
