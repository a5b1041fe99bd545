/*
 * query_layout: the kernel side of bench/bench_query.py.  Gives this process exactly
 * 655 VMAs, picks 3,244 addresses (464 unique) in 5 executable VMAs, and times the two
 * address-resolution methods of the kernel's selftest tools/testing/selftests/bpf/
 * procfs_query.c on its own /proc/self/maps:
 *
 *   text   fopen + setvbuf(4096) + fscanf("%zx-%zx %c%c%c%c %zx %x:%x %zu %[^\n]\n")
 *          per line, resolving the sorted addresses each line covers, stopping early;
 *   ioctl  PROCMAP_QUERY(COVERING_OR_NEXT_VMA, name buffer) for the lowest unresolved
 *          address; the VMA returned resolves every address it covers.
 *
 *   query_layout RUNS     prints "vmas N", "ioctls K", "text_ns t1,...", "ioctl_ns t1,..."
 *
 * Layout: whatever the process has (binary, libc, ld.so, heap, stack, vvar, vdso), plus
 * an arena of one-page anonymous VMAs alternating rw-/r-- (they cannot merge) sized so
 * that map_count (maps lines minus [vsyscall]) is exactly 655; one arena page is made
 * r-x so that the executable VMAs are: the binary, libc, ld.so, vdso and that page.
 * Both methods must resolve every address identically (checked before timing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The build host's uapi headers may predate 6.11: the ABI, from include/uapi/linux/fs.h. */
struct pmq {
    uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size,
        vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
#define PMQ_IOCTL 0xc0686611UL /* _IOWR('f', 17, struct procmap_query) */
#define PMQ_COVERING_OR_NEXT_VMA 0x10

_Static_assert(sizeof(struct pmq) == 104, "struct procmap_query is 104 bytes");
#define PG 4096UL
#define ARENA 0x100000000000UL
#define TARGET_VMAS 655
#define N_ADDRS 3244
#define N_UNIQUE 464
#define MAX_EXEC 16

struct resolved { unsigned long long file_off; const char *name; };

static unsigned long long addrs[N_ADDRS];
static struct resolved res_text[N_ADDRS], res_ioctl[N_ADDRS];
static char names[2][N_ADDRS][128];
static char fbuf[4096], vma_name[PATH_MAX], line_name[PATH_MAX];
static uint64_t seed = 655;

static uint64_t rnd(void) { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; return seed >> 11; }
static uint64_t now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec; }

static int map_count(unsigned long *xs, unsigned long *xe, int *nx) {
    FILE *f = fopen("/proc/self/maps", "r");
    char l[PATH_MAX + 128];
    int n = 0;
    if (!f) exit(2);
    *nx = 0;
    while (fgets(l, sizeof l, f)) {
        unsigned long s, e; char p[5];
        if (sscanf(l, "%lx-%lx %4s", &s, &e, p) != 3) exit(2);
        if (s >= 0xffffffffff600000UL) continue;
        n++;
        if (p[2] == 'x' && *nx < MAX_EXEC) { xs[*nx] = s; xe[*nx] = e; (*nx)++; }
    }
    fclose(f);
    return n;
}

static void resolve_text(void) {
    size_t vs, ve, off, ino; uint32_t maj, min; char perms[4];
    FILE *f = fopen("/proc/self/maps", "r");
    int err, idx = 0;
    if (!f || setvbuf(f, fbuf, _IOFBF, sizeof fbuf)) exit(2);
    /* The selftest's format has " %[^\n]", which on an unnamed line ("... 0 \n") skips the
     * newline and swallows the next line as the name; without that space the name
     * keeps its padding (skipped below) and an unnamed line yields " " or nothing. */
    while ((err = fscanf(f, "%zx-%zx %c%c%c%c %zx %x:%x %zu%[^\n]\n", &vs, &ve, &perms[0],
                         &perms[1], &perms[2], &perms[3], &off, &maj, &min, &ino, line_name)) >= 10) {
        const char *name = NULL;
        if (err > 10) {
            name = line_name + strspn(line_name, " ");
            if (!*name)
                name = NULL;
        }
        for (; idx < N_ADDRS && addrs[idx] < vs; idx++) {}
        for (; idx < N_ADDRS && addrs[idx] < ve; idx++) {
            res_text[idx].file_off = addrs[idx] - vs + off;
            res_text[idx].name = name;
        }
        if (idx >= N_ADDRS) break;
    }
    fclose(f);
}

static int resolve_ioctl(int fd) {
    struct pmq q;
    int i = 0, calls = 0;
    memset(&q, 0, sizeof q);
    q.size = sizeof q;
    q.query_flags = PMQ_COVERING_OR_NEXT_VMA;
    q.vma_name_addr = (uint64_t)(uintptr_t)vma_name;
    while (i < N_ADDRS) {
        q.query_addr = addrs[i];
        q.vma_name_size = sizeof vma_name;
        calls++;
        if (ioctl(fd, PMQ_IOCTL, &q) < 0) {
            if (errno == ENOENT) { i++; continue; }
            perror("PROCMAP_QUERY");
            exit(4);
        }
        for (; i < N_ADDRS && addrs[i] < q.vma_start; i++) {}
        for (; i < N_ADDRS && addrs[i] < q.vma_end; i++) {
            res_ioctl[i].file_off = addrs[i] - q.vma_start + q.vma_offset;
            res_ioctl[i].name = q.vma_name_size ? vma_name : NULL;
        }
    }
    return calls;
}

static int cmp(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 100, nx, fd;
    unsigned long xs[MAX_EXEC], xe[MAX_EXEC];
    static uint64_t t_text[100000], t_ioctl[100000];
    if (runs < 1 || runs > 100000) return 2;
    fd = open("/proc/self/maps", O_RDONLY);
    resolve_text(); /* warm stdio and the heap before counting */
    int base = map_count(xs, xe, &nx);
    long k = TARGET_VMAS - base - 0;
    if (k < 3) { fprintf(stderr, "already %d VMAs\n", base); return 3; }
    if (mmap((void *)ARENA, (size_t)k * PG, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)ARENA) return 3;
    for (long p = 1; p < k; p += 2)
        if (mprotect((void *)(ARENA + p * PG), PG, PROT_READ)) return 3;
    if (mprotect((void *)(ARENA + (k / 2 | 1) * PG), PG, PROT_READ | PROT_EXEC)) return 3;
    int vmas = map_count(xs, xe, &nx);
    if (vmas != TARGET_VMAS) { fprintf(stderr, "got %d VMAs\n", vmas); return 3; }
    /* 464 unique addresses in the executable VMAs (most in the first), 3,244 samples. */
    static unsigned long long uniq[N_UNIQUE];
    for (int u = 0; u < N_UNIQUE; u++) {
        int v = (rnd() % 10 < 6) ? 0 : (int)(rnd() % (uint64_t)nx);
        uniq[u] = xs[v] + rnd() % (xe[v] - xs[v]);
    }
    for (int a = 0; a < N_ADDRS; a++) addrs[a] = a < N_UNIQUE ? uniq[a] : uniq[rnd() % N_UNIQUE];
    qsort(addrs, N_ADDRS, sizeof addrs[0], cmp);
    resolve_text();
    int calls = resolve_ioctl(fd);
    for (int a = 0; a < N_ADDRS; a++) {
        if (res_text[a].file_off != res_ioctl[a].file_off) return 5;
        if (!!res_text[a].name != !!res_ioctl[a].name) return 5;
    }
    (void)names;
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = now_ns();
        resolve_text();
        uint64_t t1 = now_ns();
        resolve_ioctl(fd);
        uint64_t t2 = now_ns();
        t_text[r] = t1 - t0;
        t_ioctl[r] = t2 - t1;
    }
    printf("vmas %d\nexec_vmas %d\nioctls %d\ntext_ns", vmas, nx, calls);
    for (int r = 0; r < runs; r++) printf("%c%llu", r ? ',' : ' ', (unsigned long long)t_text[r]);
    printf("\nioctl_ns");
    for (int r = 0; r < runs; r++) printf("%c%llu", r ? ',' : ' ', (unsigned long long)t_ioctl[r]);
    printf("\n");
    return 0;
}
