/* mlockstat: run a script of mmap/mlock/munmap/madvise/mremap/fork lines and print,
 * at each `snap`, how much /proc/vmstat's unevictable_pgs_mlocked and
 * unevictable_pgs_munlocked grew since the last one. Used by test_mlock_vmstat.py; the
 * simulator runs the same script (the commands are listed there).
 *
 * The counters are the kernel's per-CPU event counts summed, and the mlock batch they
 * drain through is per CPU: the helper pins itself to the CPU it starts on. Another
 * process mlocking on the machine at the same time adds to the counts: the test runs
 * the script several times before it calls a difference real (another process's
 * lru_add_drain on this CPU drains the batch early). It starts by draining
 * its CPU's mlock batch, which may hold what an earlier process left there. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096L
#define SLOTS 16

static char *addr[SLOTS];
static long npages[SLOTS];
static long last_mlocked, last_munlocked;
static pid_t child = -1;
static int child_pipe[2];

static long vmstat(const char *key) {
    FILE *f = fopen("/proc/vmstat", "r");
    char name[128];
    long value, found = -1;
    if (!f) { perror("/proc/vmstat"); exit(2); }
    while (fscanf(f, "%127s %ld", name, &value) == 2)
        if (!strcmp(name, key)) found = value;
    fclose(f);
    return found;
}

static void snap(void) {
    long m = vmstat("unevictable_pgs_mlocked"), u = vmstat("unevictable_pgs_munlocked");
    printf("mlocked +%ld munlocked +%ld\n", m - last_mlocked, u - last_munlocked);
    last_mlocked = m;
    last_munlocked = u;
}

static int advice(const char *name) {
    if (!strcmp(name, "cold")) return MADV_COLD;
    if (!strcmp(name, "pageout")) return MADV_PAGEOUT;
    if (!strcmp(name, "free")) return MADV_FREE;
    if (!strcmp(name, "dontneed")) return MADV_DONTNEED;
    if (!strcmp(name, "dontneed_locked")) return 24; /* MADV_DONTNEED_LOCKED */
    if (!strcmp(name, "populate_write")) return 23; /* MADV_POPULATE_WRITE */
    fprintf(stderr, "unknown advice %s\n", name);
    exit(2);
}

int main(void) {
    char line[256], cmd[32], arg[32];
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set)) { perror("sched_setaffinity"); return 2; }
    /* Drain this CPU's mlock batch of what earlier processes left in it (an exit
     * queues the munlocks of its locked folios): munlock drains after its walk. */
    char *page = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || mlock(page, P) || munlock(page, P) || munmap(page, P)) {
        perror("draining the mlock batch");
        return 2;
    }
    last_mlocked = vmstat("unevictable_pgs_mlocked");
    last_munlocked = vmstat("unevictable_pgs_munlocked");
    while (fgets(line, sizeof(line), stdin)) {
        int s = 0;
        long a = 0, b = 0;
        arg[0] = 0;
        if (sscanf(line, "%31s", cmd) != 1) continue;
        if (!strcmp(cmd, "snap")) { snap(); fflush(stdout); continue; }
        if (!strcmp(cmd, "mmap")) {
            int flags = MAP_PRIVATE | MAP_ANONYMOUS;
            sscanf(line, "%*s %d %ld %31s", &s, &a, arg);
            if (strstr(arg, "locked")) flags |= MAP_LOCKED;
            if (strstr(arg, "populate")) flags |= MAP_POPULATE;
            addr[s] = mmap(NULL, a * P, PROT_READ | PROT_WRITE, flags, -1, 0);
            if (addr[s] == MAP_FAILED) { perror("mmap"); return 2; }
            npages[s] = a;
        } else if (!strcmp(cmd, "touch")) {
            sscanf(line, "%*s %d %ld %ld", &s, &a, &b);
            for (long i = a; i < a + b; i++) addr[s][i * P] = 1;
        } else if (!strcmp(cmd, "mlock")) {
            sscanf(line, "%*s %d", &s);
            mlock(addr[s], npages[s] * P);
        } else if (!strcmp(cmd, "onfault")) {
            sscanf(line, "%*s %d", &s);
            syscall(SYS_mlock2, addr[s], npages[s] * P, 1 /* MLOCK_ONFAULT */);
        } else if (!strcmp(cmd, "munlock")) {
            sscanf(line, "%*s %d", &s);
            munlock(addr[s], npages[s] * P);
        } else if (!strcmp(cmd, "munmap")) {
            sscanf(line, "%*s %d", &s);
            munmap(addr[s], npages[s] * P);
        } else if (!strcmp(cmd, "madvise")) {
            sscanf(line, "%*s %d %31s", &s, arg);
            madvise(addr[s], npages[s] * P, advice(arg)); /* errors are part of the script */
        } else if (!strcmp(cmd, "mremap")) {
            sscanf(line, "%*s %d %ld %31s", &s, &a, arg);
            char *to = mremap(addr[s], npages[s] * P, a * P, strcmp(arg, "maymove") ? 0 : MREMAP_MAYMOVE);
            if (to == MAP_FAILED) { perror("mremap"); return 2; }
            addr[s] = to;
            npages[s] = a;
        } else if (!strcmp(cmd, "fork")) {  /* a child that waits for `reap` */
            if (pipe(child_pipe)) { perror("pipe"); return 2; }
            child = fork();
            if (child == 0) { char c; close(child_pipe[1]); (void)!read(child_pipe[0], &c, 1); _exit(0); }
            close(child_pipe[0]);
        } else if (!strcmp(cmd, "reap")) {
            close(child_pipe[1]);
            waitpid(child, NULL, 0);
        } else if (!strcmp(cmd, "child_locked")) {  /* a child maps N locked pages, exits */
            sscanf(line, "%*s %ld", &a);
            pid_t pid = fork();
            if (pid == 0) { mmap(NULL, a * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0); _exit(0); }
            waitpid(pid, NULL, 0);
        } else {
            fprintf(stderr, "unknown command %s\n", cmd);
            return 2;
        }
    }
    return 0;
}
