/*
 * maps_labels: print this process's /proc/self/maps together with the mm fields that
 * decide the [heap] and [stack] labels (get_vma_name: vma_is_initial_heap,
 * vma_is_initial_stack), at several steps that put a VMA edge exactly on start_brk
 * or brk.  Used by tests/core/test_procfs.py.
 *
 * Output, per step:
 *
 *   step NAME
 *   start_brk HEX brk HEX start_stack HEX
 *   <the maps text>
 *   end
 *
 * The program re-executes itself with ADDR_NO_RANDOMIZE so that start_brk is the page
 * right after the anonymous .bss VMA (no brk randomisation gap).  It uses no stdio
 * streams and no malloc (glibc's malloc would move brk): output goes through snprintf
 * into static buffers and write(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

#define PG 4096UL

/* Large enough that the program has an anonymous .bss VMA ending at start_brk. */
static char bss[64 * 1024];
static char maps[1 << 20];
static char stat_buf[4096];
static char line[256];

static void out(const char *s, size_t n) {
    while (n) {
        ssize_t w = write(1, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        s += w;
        n -= (size_t)w;
    }
}

static size_t slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        _exit(4);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(5);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return len;
}

/* Field `want` (1-based, proc(5)) of /proc/self/stat. */
static unsigned long stat_field(int want) {
    slurp("/proc/self/stat", stat_buf, sizeof stat_buf);
    char *p = strrchr(stat_buf, ')'); /* comm may contain spaces */
    if (p == NULL)
        _exit(6);
    int field = 2;
    while (*p && field < want) {
        if (*p == ' ')
            field++;
        p++;
    }
    return strtoul(p, NULL, 10);
}

static void dump(const char *step) {
    unsigned long start_brk = stat_field(47), start_stack = stat_field(28);
    unsigned long brk = (unsigned long)sbrk(0);
    size_t n = slurp("/proc/self/maps", maps, sizeof maps);
    int k = snprintf(line, sizeof line, "step %s\nstart_brk %lx brk %lx start_stack %lx\n",
                     step, start_brk, brk, start_stack);
    out(line, (size_t)k);
    out(maps, n);
    out("end\n", 4);
}

static void *map_at(unsigned long addr, unsigned long len, int prot) {
    void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p != (void *)addr)
        _exit(7);
    return p;
}

int main(int argc, char **argv) {
    (void)argc;
    int pers = personality(0xffffffff);
    if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE)) {
        personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
        execv("/proc/self/exe", argv);
        /* no exec: carry on randomised (the test still compares what it sees) */
    }
    bss[0] = 1;
    unsigned long b0 = (unsigned long)sbrk(0);

    dump("initial"); /* brk == start_brk; the .bss VMA ends at start_brk */

    map_at(b0, PG, PROT_READ); /* starts at start_brk == brk */
    dump("vma_at_start_brk");
    munmap((void *)b0, PG);

    if (sbrk(2 * PG) == (void *)-1)
        _exit(8);
    dump("heap_two_pages"); /* [start_brk, brk): the heap; .bss ends at start_brk */

    map_at(b0 + 2 * PG, PG, PROT_READ); /* starts exactly at brk */
    dump("vma_at_brk");
    munmap((void *)(b0 + 2 * PG), PG);

    if (sbrk(-(long)PG - 100) == (void *)-1) /* unaligned brk inside the last page */
        _exit(9);
    dump("unaligned_brk");

    if (brk((void *)b0) != 0) /* back to start_brk: the heap VMA goes */
        _exit(10);
    map_at(b0 + PG, PG, PROT_READ); /* a VMA not touching start_brk */
    dump("heap_gone");

    map_at(b0, PG, PROT_READ | PROT_WRITE); /* merges with .bss: a VMA across brk */
    dump("vma_across_brk");
    return 0;
}
