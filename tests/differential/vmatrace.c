/*
 * vmatrace: run a trace of mmap/munmap/mprotect/mremap calls in this (fresh)
 * process and print, after every operation, its result and the lines of
 * /proc/self/maps that intersect a fixed arena.  The Python side runs the same
 * trace on the simulator and compares the two outputs (tests/differential).
 *
 * Usage: vmatrace DIR < trace
 *
 * DIR is an existing, empty directory for the trace's files (named f0, f1, ...).
 *
 * Trace format (one item per line; '#' starts a comment line; numbers are
 * decimal or 0x-prefixed hex, parsed with strtoull(..., 0)):
 *
 *   arena <base> <pages>                   must come first; declares the arena
 *   open <fd> <file> <pages> rdwr|rdonly   open DIR/f<file> (created and
 *                                          ftruncate'd to <pages> pages if it
 *                                          does not exist) into slot <fd>
 *   unlink <file>                          unlink DIR/f<file>
 *   mmap <addr> <len> <prot> <flags> <fd> <off>       <fd> is a slot or -1
 *   munmap <addr> <len>
 *   mprotect <addr> <len> <prot>
 *   mremap <old> <oldlen> <newlen> <flags> <newaddr>
 *   touch <addr> r|w|x                     read a byte, write a 0 byte, or execute
 *                                          one instruction at <addr> (in the arena)
 *   smaps                                  from now on, also report per-VMA Rss and
 *                                          Anonymous (kB) of the arena after each op
 *   smaps all [files]                      from now on, report every smaps field of
 *                                          each arena VMA after each op (see below)
 *   madvise <addr> <len> <advice> [drain]  madvise(2); <advice> is a name (dontneed,
 *                                          free, guard_install, ...) or a number; with
 *                                          "drain", lru_add_drain() right after it
 *   fork child|parent                      fork(2); the trace goes on in the child
 *                                          (the parent waits for it) or in the parent
 *                                          (the child sleeps until the parent exits)
 *   drain                                  lru_add_drain() on this CPU: MADV_COLD of a
 *                                          private scratch page outside the arena
 *   fill <headroom>                        map PROT_NONE/PROT_READ pages far from the
 *                                          arena (at 0x300000000000) until the process
 *                                          has vm.max_map_count - <headroom> VMAs
 *   (mlock, mlock2, munlock, mlockall, munlockall, mseal, prctl_anon_name, memlock,
 *   cap_ipc_lock, headroom and the "locks" directive: see the block before do_op())
 *
 * <prot> is '|'-separated tokens: an "rwx" triple with '-' for absent bits
 * ("rw-", "---"), "sem", "growsdown", "growsup" or a number.  mmap <flags> are
 * '|'-separated names (shared private shared_validate droppable fixed
 * fixed_noreplace anonymous growsdown noreserve sync stack populate locked) or
 * numbers; mremap <flags> are maymove
 * fixed dontunmap or numbers ("0" for none).
 *
 * Output, for every operation line (not for arena/comment lines):
 *   "= 0x<hex>"  mmap/mremap success (the address)
 *   "= 0"        success of the other operations
 *   "! ENAME"    failure, with the errno's symbolic name
 *   "= ok"       touch: the access completed
 *   "! SIGSEGV SEGV_MAPERR" (or SEGV_ACCERR, SIGBUS BUS_ADRERR ...): touch faulted
 * then every /proc/self/maps line whose range intersects the arena, verbatim,
 * then (after a "smaps" line) "~ <start>-<end> Rss=<kB> Anonymous=<kB>" for each
 * arena VMA from /proc/self/smaps, then a line containing only ".".
 *
 * "smaps all" lines are "~ <start>-<end> Label=value ..." with every field of the
 * VMA's /proc/self/smaps block in the kernel's order (values in kB without the
 * unit, VmFlags as comma-joined mnemonics).  For a VMA backed by a regular file the
 * fields that count its page-cache pages (Rss, Pss, Pss_Dirty, Shared_*, Private_*,
 * Referenced, Locked) are printed as "-", as Rss is in the "smaps" lines, unless
 * the directive was "smaps all files" (for traces whose files' page-cache state is
 * known: exact page counts, no large folios).
 *
 * The helper pins itself to the CPU it starts on: the per-CPU LRU batches (the
 * lru_add and lru_lazyfree folio batches behind MADV_FREE's LazyFree and the
 * young bits MADV_COLD clears) then belong to one CPU, as in the simulator.
 *
 * Touches: a SIGSEGV/SIGBUS handler records the signal and si_code and
 * siglongjmp()s back.  Writes store 0, so every byte of the arena stays zero;
 * an execute touch single-steps (EFLAGS.TF) exactly one instruction at <addr>,
 * which for zero bytes is "add %al,(%rax)" with %rax pointing at a scratch
 * byte, and the SIGTRAP after it ends the touch.
 *
 * Every syscall is made with syscall(2) so that libc adds no checks of its own.
 *
 * Safety: an operation that could change memory outside the arena (a MAP_FIXED
 * target, a munmap/mprotect range, an mremap source, destination or in-place
 * growth outside it) is refused with exit status 2, unless its arguments are of
 * a form the kernel rejects before looking at any mapping (unaligned address,
 * zero or absurd length, unknown flags; see arg_error_only()).  Non-fixed mmap
 * hints and mremap moves without MREMAP_FIXED are always allowed: the kernel
 * only ever places those in free space.
 * Exit status: 0 on success, 2 on a malformed trace, 3 if the arena (plus a
 * guard margin) is not free before the trace starts, 1 on other failures.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define MAX_SLOTS 64
#define PAGE 4096UL
/* Nothing may be mapped this close to the arena before the trace starts: a
 * neighbour could change where hinted mappings land (stack guard gap is 1 MiB). */
#define GUARD (16UL << 20)

static const char *dir;
static unsigned long arena_base, arena_end;
static int slots[MAX_SLOTS];
static char *maps_buf;
static size_t maps_cap;
static unsigned long lineno;
static int smaps_enabled;
static int smaps_all; /* "smaps all": every field (issue 13) */
static int smaps_files; /* "smaps all files": regular files' page counts too */

/* touch state, shared with the signal handlers */
static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_signo, touch_code, step_started;
static volatile unsigned long touch_target;
static volatile char scratch[64];

static void die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, "vmatrace: line %lu: ", lineno);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fflush(stdout);
	exit(code);
}

static const char *errno_name(int e)
{
	static char buf[16];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ETXTBSY: return "ETXTBSY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

static unsigned long parse_num(const char *tok)
{
	char *end;
	unsigned long v;

	if (!tok || !*tok)
		die(2, "missing number%s", "");
	errno = 0;
	if (tok[0] == '-')
		v = (unsigned long)strtoll(tok, &end, 0);
	else
		v = strtoull(tok, &end, 0);
	if (*end || errno)
		die(2, "bad number '%s'", tok);
	return v;
}

struct name_val {
	const char *name;
	unsigned long val;
};

static const struct name_val mmap_flag_names[] = {
	{ "shared", MAP_SHARED },
	{ "private", MAP_PRIVATE },
	{ "shared_validate", MAP_SHARED_VALIDATE },
	{ "droppable", MAP_DROPPABLE },
	{ "fixed", MAP_FIXED },
	{ "fixed_noreplace", MAP_FIXED_NOREPLACE },
	{ "anonymous", MAP_ANONYMOUS },
	{ "growsdown", MAP_GROWSDOWN },
	{ "noreserve", MAP_NORESERVE },
	{ "sync", MAP_SYNC },
	{ "stack", MAP_STACK },
	{ "populate", MAP_POPULATE },
	{ "locked", MAP_LOCKED },
	{ NULL, 0 },
};

static const struct name_val mremap_flag_names[] = {
	{ "maymove", MREMAP_MAYMOVE },
	{ "fixed", MREMAP_FIXED },
	{ "dontunmap", MREMAP_DONTUNMAP },
	{ NULL, 0 },
};

static const struct name_val prot_names[] = {
	{ "sem", 0x8 },
	{ "growsdown", PROT_GROWSDOWN },
	{ "growsup", PROT_GROWSUP },
	{ NULL, 0 },
};

/* Parse '|'-separated tokens: names from the table, numbers, and (for prot)
 * "rwx" triples. */
static unsigned long parse_bits(const char *field, const struct name_val *names, int rwx)
{
	char copy[256];
	char *save, *tok;
	unsigned long v = 0;

	if (!field)
		die(2, "missing flags%s", "");
	if (strlen(field) >= sizeof(copy))
		die(2, "flags too long: %s", field);
	strcpy(copy, field);
	for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		const struct name_val *nv;
		int found = 0;

		if (rwx && strlen(tok) == 3 && strchr("r-", tok[0]) && strchr("w-", tok[1]) &&
		    strchr("x-", tok[2])) {
			v |= (tok[0] == 'r' ? PROT_READ : 0) | (tok[1] == 'w' ? PROT_WRITE : 0) |
			     (tok[2] == 'x' ? PROT_EXEC : 0);
			continue;
		}
		for (nv = names; nv->name; nv++) {
			if (!strcmp(nv->name, tok)) {
				v |= nv->val;
				found = 1;
				break;
			}
		}
		if (!found)
			v |= parse_num(tok);
	}
	return v;
}

/* Read the whole of /proc/self/maps with a loop of read() calls (each read()
 * returns at most a page of whole lines). */
static size_t read_maps(void)
{
	size_t len = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		perror("vmatrace: open /proc/self/maps");
		exit(1);
	}
	for (;;) {
		ssize_t n;

		if (maps_cap - len < 8192) {
			maps_cap = maps_cap ? maps_cap * 2 : 65536;
			maps_buf = realloc(maps_buf, maps_cap);
			if (!maps_buf) {
				perror("vmatrace: realloc");
				exit(1);
			}
		}
		n = read(fd, maps_buf + len, maps_cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vmatrace: read /proc/self/maps");
			exit(1);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	maps_buf[len] = '\0';
	return len;
}

/* Print (or, with print == 0, report on stderr) every maps line that
 * intersects [lo, hi); return how many there were. */
static int for_each_line_in(unsigned long lo, unsigned long hi, int print)
{
	char *p, *nl;
	int count = 0;

	read_maps();
	for (p = maps_buf; *p; p = nl + 1) {
		unsigned long start, end;
		char saved;
		int parsed;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		/* sscanf() measures its whole input string: end it at the line. */
		saved = *nl;
		*nl = '\0';
		parsed = sscanf(p, "%lx-%lx", &start, &end);
		*nl = saved;
		if (parsed != 2) {
			fprintf(stderr, "vmatrace: unparsable maps line: %.*s\n", (int)(nl - p), p);
			exit(1);
		}
		if (start < hi && end > lo) {
			count++;
			if (print)
				fwrite(p, 1, (size_t)(nl - p) + 1, stdout);
			else
				fprintf(stderr, "vmatrace: busy: %.*s\n", (int)(nl - p), p);
		}
		if (!*nl)
			break;
	}
	return count;
}

static void result_addr(long r)
{
	if (r == -1)
		printf("! %s\n", errno_name(errno));
	else
		printf("= 0x%lx\n", (unsigned long)r);
}

static void result_zero(long r)
{
	if (r == -1)
		printf("! %s\n", errno_name(errno));
	else
		printf("= 0\n");
}

static int slot_index(const char *tok)
{
	long i = (long)parse_num(tok);

	if (i < -1 || i >= MAX_SLOTS)
		die(2, "bad fd slot '%s'", tok);
	return (int)i;
}

#define TASK_SIZE ((1UL << 47) - PAGE)
#define PAGE_ALIGN(x) (((x) + PAGE - 1) & ~(PAGE - 1))

static int in_arena(unsigned long addr, unsigned long len)
{
	unsigned long alen = PAGE_ALIGN(len);

	return addr >= arena_base && addr <= arena_end && alen >= len && alen <= arena_end - addr;
}

/* Is this call certain to fail in the kernel's argument checks, before any
 * mapping is looked up or changed?  Only a few forms are recognised. */
static int arg_error_only(const char *op, unsigned long addr, unsigned long len,
			  unsigned long flags, unsigned long off)
{
	if (!strcmp(op, "mmap"))
		return (off % PAGE) || !len || !PAGE_ALIGN(len) || len > TASK_SIZE || (addr % PAGE);
	if (!strcmp(op, "munmap"))
		return (addr % PAGE) || !len || addr > TASK_SIZE || len > TASK_SIZE - addr;
	if (!strcmp(op, "mprotect"))
		return (addr % PAGE) || !len || addr + PAGE_ALIGN(len) <= addr;
	/* mremap: flags carries the mremap flags, len the new length */
	return (flags & ~7UL) || (addr % PAGE) || !PAGE_ALIGN(len) ||
	       ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) ||
	       ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_MAYMOVE));
}

static void refuse(const char *op)
{
	die(2, "refusing '%s': it could change mappings outside the arena", op);
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	touch_signo = sig;
	touch_code = si->si_code;
	siglongjmp(touch_env, 1);
}

static void trap_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned long ip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];

	(void)sig;
	(void)si;
	if (!step_started) {
		if (ip == touch_target)
			step_started = 1; /* about to execute the target: one more step */
		return;
	}
	touch_signo = 0;
	siglongjmp(touch_env, 1); /* the instruction at the target ran */
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_sigaction = trap_handler;
	sigaction(SIGTRAP, &sa, NULL);
}

static const char *si_code_name(int sig, int code)
{
	static char buf[32];

	if (sig == SIGSEGV && code == SEGV_MAPERR)
		return "SEGV_MAPERR";
	if (sig == SIGSEGV && code == SEGV_ACCERR)
		return "SEGV_ACCERR";
	if (sig == SIGBUS && code == BUS_ADRERR)
		return "BUS_ADRERR";
	if (sig == SIGBUS && code == BUS_OBJERR)
		return "BUS_OBJERR";
	snprintf(buf, sizeof(buf), "code%d", code);
	return buf;
}

static void do_touch(unsigned long addr, const char *how)
{
	sigset_t none;

	touch_signo = 0;
	touch_code = 0;
	step_started = 0;
	touch_target = addr;
	sigemptyset(&none);
	if (sigsetjmp(touch_env, 1) == 0) {
		if (!strcmp(how, "r")) {
			(void)*(volatile char *)addr;
		} else if (!strcmp(how, "w")) {
			*(volatile char *)addr = 0;
		} else {
			/* Set TF and jump: SIGTRAP before and after the target instruction. */
			__asm__ volatile("pushfq\n\t"
					 "orq $0x100, (%%rsp)\n\t"
					 "popfq\n\t"
					 "jmp *%%rdx\n\t"
					 :
					 : "a"(scratch), "d"(addr)
					 : "memory", "cc");
		}
	}
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (touch_signo == 0)
		printf("= ok\n");
	else
		printf("! %s %s\n", touch_signo == SIGSEGV ? "SIGSEGV" : "SIGBUS",
		       si_code_name(touch_signo, touch_code));
}

/* "~ <range> Rss=<kB> Anonymous=<kB>" for every arena VMA, from /proc/self/smaps.
 * The Rss of a VMA backed by a regular file (a device other than 00:00 and the shmem
 * mount 00:01) is printed as "-": it depends on fault-around over the page cache's
 * large folios, which the simulator does not model (docs/kernel-differences.md). */
static void print_smaps(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512], range[64] = "";
	unsigned long start = 0, end = 0, rss = 0, val;
	int in_arena_vma = 0, regular_file = 0;

	if (!f) {
		perror("vmatrace: open /proc/self/smaps");
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char c;

		unsigned int major, minor;

		if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ') {
			start = s;
			end = e;
			in_arena_vma = start < arena_end && end > arena_base;
			snprintf(range, sizeof(range), "%lx-%lx", start, end);
			regular_file = sscanf(line, "%*s %*s %*s %x:%x", &major, &minor) == 2 &&
				       (major || minor > 1);
		} else if (in_arena_vma && sscanf(line, "Rss: %lu kB", &val) == 1) {
			rss = val;
		} else if (in_arena_vma && sscanf(line, "Anonymous: %lu kB", &val) == 1) {
			if (regular_file)
				printf("~ %s Rss=- Anonymous=%lu\n", range, val);
			else
				printf("~ %s Rss=%lu Anonymous=%lu\n", range, rss, val);
		}
	}
	fclose(f);
}

/* ------------------------------------------------------------------------
 * mlock, mseal, anonymous VMA names, RLIMIT_MEMLOCK/CAP_IPC_LOCK and the
 * max_map_count boundary (issue 13, part B).
 *
 *   mlock <addr> <len>                  mlock(2)
 *   mlock2 <addr> <len> <flags>         flags: onfault or a number ("0": none)
 *   munlock <addr> <len>
 *   mlockall <flags>                    current|future|onfault or a number
 *   munlockall
 *   mseal <addr> <len> <flags>          syscall 462 (glibc 2.36 has no wrapper)
 *   prctl_anon_name <addr> <len> <name> prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME);
 *                                       "-" passes NULL, %XX escapes a byte
 *   memlock <cur> <max>                 setrlimit(RLIMIT_MEMLOCK), "inf" = unlimited
 *   cap_ipc_lock 0|1                    drop/raise CAP_IPC_LOCK in the effective set
 *   headroom <n>                        map or unmap one-page filler VMAs far from
 *                                       the arena until map_count + n equals
 *                                       vm.max_map_count (no smaps/locks output then)
 *   locks                               (directive, like smaps) after every op print
 *                                       "@ <start>-<end> Locked=<kB> VmFlags=<flags>"
 *                                       per arena VMA (Locked=- for a regular file, as
 *                                       Rss in smaps mode) and "@ VmLck=<kB>": VmLck
 *                                       less the size of locked VMAs outside the arena
 *
 * While filler VMAs exist the arena's lines are built from PROCMAP_QUERY
 * (the same fields and padding as show_map_vma()): reading 65,000 lines of
 * /proc/self/maps after every op would cost ~60 ms each.
 * ------------------------------------------------------------------------ */
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#define CAP_IPC_LOCK_BIT 14
#define FILL_BASE 0x200000000000UL
#define PROCMAP_QUERY_IOCTL 0xC0686611UL
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define PROCMAP_QUERY_VMA_SHARED 0x08

struct pm_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	uint64_t vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};

static int locks_enabled;
static unsigned long fillers; /* one-page VMAs at FILL_BASE + 2 * i pages */
static char count_buf[16 << 20];

static const struct name_val mlock2_flag_names[] = {
	{ "onfault", MLOCK_ONFAULT },
	{ NULL, 0 },
};

static const struct name_val mlockall_flag_names[] = {
	{ "current", MCL_CURRENT },
	{ "future", MCL_FUTURE },
	{ "onfault", MCL_ONFAULT },
	{ NULL, 0 },
};

/* mlock/munlock: a range the kernel rounds out to pages, so it must lie in the arena
 * once rounded (a zero length does nothing anywhere). */
static int lock_range_ok(unsigned long addr, unsigned long len)
{
	unsigned long start = addr & ~(PAGE - 1);

	if (!len)
		return 1;
	return in_arena(start, len + (addr - start));
}

/* mseal/prctl_anon_name: unaligned starts and wrapping lengths fail before any lookup. */
static int seal_arg_error_only(unsigned long addr, unsigned long len, unsigned long flags)
{
	return flags || (addr % PAGE) || (len && !PAGE_ALIGN(len)) || addr + PAGE_ALIGN(len) < addr ||
	       !len;
}

static unsigned long parse_limit(const char *tok)
{
	return tok && !strcmp(tok, "inf") ? RLIM_INFINITY : parse_num(tok);
}

/* "%XX" escapes a byte of an anonymous VMA name; "-" alone is a NULL name. */
static const char *decode_name(const char *tok, char *out, size_t cap)
{
	size_t n = 0;

	if (!strcmp(tok, "-"))
		return NULL;
	while (*tok) {
		unsigned int byte;

		if (n + 1 >= cap)
			die(2, "prctl_anon_name: name too long: %s", tok);
		if (tok[0] == '%' && isxdigit((unsigned char)tok[1]) &&
		    isxdigit((unsigned char)tok[2]) && sscanf(tok + 1, "%2x", &byte) == 1) {
			out[n++] = (char)byte;
			tok += 3;
		} else {
			out[n++] = *tok++;
		}
	}
	out[n] = '\0';
	return out;
}

static void set_cap_ipc_lock(int on)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0) {
		perror("vmatrace: capget");
		exit(1);
	}
	if (on)
		data[0].effective |= 1U << CAP_IPC_LOCK_BIT;
	else
		data[0].effective &= ~(1U << CAP_IPC_LOCK_BIT);
	result_zero(syscall(SYS_capset, &hdr, data));
}

static unsigned long read_ulong_file(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	buf[n] = '\0';
	return strtoul(buf, NULL, 10);
}

/* mm->map_count: the lines of /proc/self/maps except the [vsyscall] gate. Read into a
 * static buffer, so counting maps nothing itself. */
static unsigned long count_vmas(void)
{
	size_t len = 0;
	unsigned long lines = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char *p;

	if (fd < 0) {
		perror("vmatrace: open /proc/self/maps");
		exit(1);
	}
	for (;;) {
		ssize_t n = read(fd, count_buf + len, sizeof(count_buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("vmatrace: read /proc/self/maps");
			exit(1);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len >= sizeof(count_buf) - 1)
			die(1, "maps larger than the count buffer%s", "");
	}
	close(fd);
	count_buf[len] = '\0';
	for (p = count_buf; *p; p++)
		lines += *p == '\n';
	if (strstr(count_buf, "[vsyscall]"))
		lines--;
	return lines;
}

static void do_headroom(unsigned long n)
{
	unsigned long max = read_ulong_file("/proc/sys/vm/max_map_count");
	unsigned long count = count_vmas(), want;

	if (smaps_enabled || locks_enabled)
		die(2, "headroom cannot be combined with smaps or locks%s", "");
	if (n > max)
		die(2, "headroom larger than vm.max_map_count%s", "");
	want = max - n;
	while (count < want) {
		void *at = (void *)(FILL_BASE + 2 * fillers * PAGE);

		if (mmap(at, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) !=
		    at) {
			perror("vmatrace: filler mmap");
			exit(1);
		}
		fillers++;
		count++;
	}
	while (count > want && fillers) {
		fillers--;
		if (munmap((void *)(FILL_BASE + 2 * fillers * PAGE), PAGE) != 0) {
			perror("vmatrace: filler munmap");
			exit(1);
		}
		count--;
	}
	if (count != want)
		die(1, "cannot reach the requested headroom%s", "");
	printf("= 0\n");
}

/* The arena's maps lines from PROCMAP_QUERY, formatted as show_map_vma() does. */
static void print_arena_by_query(void)
{
	static char name[4096];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	unsigned long addr = arena_base;

	if (fd < 0) {
		perror("vmatrace: open /proc/self/maps");
		exit(1);
	}
	while (addr < arena_end) {
		struct pm_query q;
		char line[4200];
		int n;

		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		q.query_addr = addr;
		q.vma_name_addr = (uintptr_t)name;
		q.vma_name_size = sizeof(name);
		if (ioctl(fd, PROCMAP_QUERY_IOCTL, &q) != 0) {
			if (errno == ENOENT)
				break;
			perror("vmatrace: PROCMAP_QUERY");
			exit(1);
		}
		if (q.vma_start >= arena_end)
			break;
		n = snprintf(line, sizeof(line), "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %llu ",
			     (unsigned long)q.vma_start, (unsigned long)q.vma_end,
			     q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? 'r' : '-',
			     q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? 'w' : '-',
			     q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? 'x' : '-',
			     q.vma_flags & PROCMAP_QUERY_VMA_SHARED ? 's' : 'p',
			     (unsigned long long)q.vma_offset, q.dev_major, q.dev_minor,
			     (unsigned long long)q.inode);
		if (q.vma_name_size > 1)
			printf("%s%*s %s\n", line, n < 72 ? 72 - n : 0, "", name);
		else
			printf("%s\n", line);
		addr = q.vma_end;
	}
	close(fd);
}

/* "@ <range> Locked=<kB> VmFlags=<flags>" per arena VMA, then "@ VmLck=<kB>" less the
 * locked VMAs outside the arena (the helper's own memory after mlockall). */
static void print_locks(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512], range[64] = "";
	unsigned long start = 0, end = 0, locked = 0, outside = 0, val;
	int in_arena_vma = 0, regular_file = 0;

	if (!f) {
		perror("vmatrace: open /proc/self/smaps");
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned int major, minor;
		char c;

		if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ') {
			start = s;
			end = e;
			in_arena_vma = start < arena_end && end > arena_base;
			snprintf(range, sizeof(range), "%lx-%lx", start, end);
			regular_file = sscanf(line, "%*s %*s %*s %x:%x", &major, &minor) == 2 &&
				       (major || minor > 1);
		} else if (sscanf(line, "Locked: %lu kB", &val) == 1) {
			locked = val;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			char *flags = line + 8, *nl = strchr(flags, '\n');

			if (nl)
				*nl = '\0';
			flags += strspn(flags, " ");
			while (*flags && flags[strlen(flags) - 1] == ' ')
				flags[strlen(flags) - 1] = '\0';
			if (in_arena_vma && regular_file)
				printf("@ %s Locked=- VmFlags=%s\n", range, flags);
			else if (in_arena_vma)
				printf("@ %s Locked=%lu VmFlags=%s\n", range, locked, flags);
			else if (strstr(line + 8, " lo") && (end - start) < (1UL << 47))
				outside += (end - start) >> 10;
		}
	}
	fclose(f);
	f = fopen("/proc/self/status", "re");
	if (!f) {
		perror("vmatrace: open /proc/self/status");
		exit(1);
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %lu kB", &val) == 1)
			printf("@ VmLck=%ld\n", (long)val - (long)outside);
	fclose(f);
}

/* One of the operations above; 0 if tok[0] is none of them. */
static int do_lock_op(char **tok, int ntok)
{
	const char *op = tok[0];

	if (!strcmp(op, "mlock") && ntok == 3) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);

		if (!lock_range_ok(addr, len))
			refuse(op);
		result_zero(syscall(SYS_mlock, addr, len));
	} else if (!strcmp(op, "mlock2") && ntok == 4) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		unsigned long flags = parse_bits(tok[3], mlock2_flag_names, 0);

		if (!lock_range_ok(addr, len) && !(flags & ~(unsigned long)MLOCK_ONFAULT))
			refuse(op);
		result_zero(syscall(SYS_mlock2, addr, len, flags));
	} else if (!strcmp(op, "munlock") && ntok == 3) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);

		if (!lock_range_ok(addr, len))
			refuse(op);
		result_zero(syscall(SYS_munlock, addr, len));
	} else if (!strcmp(op, "mlockall") && ntok == 2) {
		result_zero(syscall(SYS_mlockall, parse_bits(tok[1], mlockall_flag_names, 0)));
	} else if (!strcmp(op, "munlockall") && ntok == 1) {
		result_zero(syscall(SYS_munlockall));
	} else if (!strcmp(op, "mseal") && ntok == 4) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		unsigned long flags = parse_num(tok[3]);

		if (!in_arena(addr, len) && !seal_arg_error_only(addr, len, flags))
			refuse(op);
		result_zero(syscall(SYS_mseal, addr, len, flags));
	} else if (!strcmp(op, "prctl_anon_name") && ntok == 4) {
		static char name[512];
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		const char *arg = decode_name(tok[3], name, sizeof(name));

		if (!in_arena(addr, len) && !seal_arg_error_only(addr, len, 0))
			refuse(op);
		result_zero(syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, arg));
	} else if (!strcmp(op, "memlock") && ntok == 3) {
		struct rlimit rl = { parse_limit(tok[1]), parse_limit(tok[2]) };

		result_zero(setrlimit(RLIMIT_MEMLOCK, &rl));
	} else if (!strcmp(op, "cap_ipc_lock") && ntok == 2) {
		set_cap_ipc_lock(parse_num(tok[1]) != 0);
	} else if (!strcmp(op, "headroom") && ntok == 2) {
		do_headroom(parse_num(tok[1]));
	} else {
		return 0;
	}
	return 1;
}
/* ------------------------------------------------------------------------ */

/* ---- madvise, fork, drain and full smaps (issue 13 part A) -------------------- */

static const struct name_val madvise_names[] = {
	{ "normal", 0 },	  { "random", 1 },	    { "sequential", 2 },
	{ "willneed", 3 },	  { "dontneed", 4 },	    { "free", 8 },
	{ "remove", 9 },	  { "dontfork", 10 },	    { "dofork", 11 },
	{ "mergeable", 12 },	  { "unmergeable", 13 },    { "hugepage", 14 },
	{ "nohugepage", 15 },	  { "dontdump", 16 },	    { "dodump", 17 },
	{ "wipeonfork", 18 },	  { "keeponfork", 19 },	    { "cold", 20 },
	{ "pageout", 21 },	  { "populate_read", 22 },  { "populate_write", 23 },
	{ "dontneed_locked", 24 }, { "collapse", 25 },	    { "hwpoison", 100 },
	{ "soft_offline", 101 },  { "guard_install", 102 }, { "guard_remove", 103 },
	{ NULL, 0 },
};

static char *scratch_page; /* outside the arena: the target of "drain" */

/* Pin to the current CPU (see the header) and map the scratch page. */
static void pin_and_map_scratch(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("vmatrace: sched_setaffinity");
		exit(1);
	}
	scratch_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch_page == MAP_FAILED) {
		perror("vmatrace: mmap scratch");
		exit(1);
	}
	scratch_page[0] = 1;
}

/* madvise_should_skip() rejects these before looking at any mapping. */
static int madvise_arg_error_only(unsigned long addr, unsigned long len, unsigned long advice)
{
	const struct name_val *nv;
	int known = 0;

	for (nv = madvise_names; nv->name; nv++)
		known |= nv->val == advice && advice != 100 && advice != 101;
	return !known || (addr % PAGE) || (len && !PAGE_ALIGN(len)) || addr + PAGE_ALIGN(len) < addr;
}

static void do_fork(const char *who)
{
	int pipefd[2];
	pid_t pid;

	if (strcmp(who, "child") && strcmp(who, "parent"))
		die(2, "fork child|parent, not '%s'", who);
	if (pipe(pipefd) != 0) {
		perror("vmatrace: pipe");
		exit(1);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("! %s\n", errno_name(errno));
		return;
	}
	if (!strcmp(who, "child")) {
		if (pid > 0) { /* the parent keeps its mm until the child is done */
			int status = 0;

			close(pipefd[0]);
			close(pipefd[1]);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
		}
	} else if (pid == 0) { /* the child sleeps until the parent exits */
		char c;

		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);
	if (!strcmp(who, "child"))
		close(pipefd[1]);
	else
		fcntl(pipefd[1], F_SETFD, FD_CLOEXEC); /* closed when this process exits */
	printf("= 0\n");
}

/* Where "fill" maps: away from the arena and from part B's "headroom" fillers. */
#define ALT_FILL_BASE 0x300000000000UL

/* "fill <headroom>": vm.max_map_count - headroom VMAs in all, the new ones alternating
 * PROT_NONE/PROT_READ pages at ALT_FILL_BASE (n pages alternating make n VMAs). Unlike
 * "headroom", one mmap and n/2 mprotects, and it can be combined with smaps. */
static void do_fill(unsigned long headroom)
{
	long max = (long)read_ulong_file("/proc/sys/vm/max_map_count"), need, i;
	char *region;

	/* A maps buffer big enough for max lines now, so that growing it (a new malloc
	 * mapping) does not change the count later. */
	if (maps_cap < (size_t)max * 128) {
		maps_cap = (size_t)max * 128;
		maps_buf = realloc(maps_buf, maps_cap);
		if (!maps_buf) {
			perror("vmatrace: realloc");
			exit(1);
		}
	}
	need = max - (long)headroom - (long)count_vmas();
	if (need <= 0)
		die(2, "fill: already at or above the target map count%s", "");
	region = (char *)syscall(SYS_mmap, ALT_FILL_BASE, need * PAGE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1,
				 0);
	if (region != (char *)ALT_FILL_BASE) {
		perror("vmatrace: fill mmap");
		exit(1);
	}
	for (i = 1; i < need; i += 2)
		if (syscall(SYS_mprotect, region + i * PAGE, PAGE, PROT_READ) != 0) {
			printf("! %s\n", errno_name(errno));
			return;
		}
	if ((long)count_vmas() != max - (long)headroom)
		die(1, "fill: the map count missed its target%s", "");
	printf("= 0\n");
}

/* Returns 1 if it handled the operation. */
static int do_op_madvise_fork(char **tok, int ntok)
{
	const char *op = tok[0];

	if (!strcmp(op, "madvise") && (ntok == 4 || (ntok == 5 && !strcmp(tok[4], "drain")))) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		unsigned long advice = parse_bits(tok[3], madvise_names, 0);
		long r;
		int saved;

		if (!in_arena(addr, len) && !madvise_arg_error_only(addr, len, advice))
			refuse(op);
		r = syscall(SYS_madvise, addr, len, advice);
		saved = errno;
		if (ntok == 5) /* then lru_add_drain(), before anything can look */
			syscall(SYS_madvise, scratch_page, PAGE, 20 /* MADV_COLD */);
		errno = saved;
		result_zero(r);
		return 1;
	}
	if (!strcmp(op, "fork") && ntok == 2) {
		do_fork(tok[1]);
		return 1;
	}
	if (!strcmp(op, "drain") && ntok == 1) {
		result_zero(syscall(SYS_madvise, scratch_page, PAGE, 20 /* MADV_COLD */));
		return 1;
	}
	if (!strcmp(op, "fill") && ntok == 2) {
		do_fill(parse_num(tok[1]));
		return 1;
	}
	return 0;
}

/* "~ <range> Label=value ..." per arena VMA, every field of /proc/self/smaps. */
static void print_smaps_all(void)
{
	static const char *const file_counted[] = { "Rss",	     "Pss",	      "Pss_Dirty",
						    "Shared_Clean",  "Shared_Dirty",  "Private_Clean",
						    "Private_Dirty", "Referenced",    "Locked",
						    NULL };
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512], out[4096];
	size_t used = 0;
	int in_arena_vma = 0, regular_file = 0;

	if (!f) {
		perror("vmatrace: open /proc/self/smaps");
		exit(1);
	}
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned int major, minor;
		char c, label[64], *colon, *val;
		const char *const *fc;
		int n;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ') {
			if (used)
				printf("%s\n", out);
			used = 0;
			out[0] = '\0';
			in_arena_vma = s < arena_end && e > arena_base;
			regular_file = sscanf(line, "%*s %*s %*s %x:%x", &major, &minor) == 2 &&
				       (major || minor > 1);
			if (in_arena_vma)
				used = (size_t)snprintf(out, sizeof(out), "~ %lx-%lx", s, e);
			continue;
		}
		if (!in_arena_vma || !(colon = strchr(line, ':')))
			continue;
		n = (int)(colon - line);
		if (n <= 0 || n >= (int)sizeof(label))
			continue;
		memcpy(label, line, (size_t)n);
		label[n] = '\0';
		val = colon + 1 + strspn(colon + 1, " ");
		if (!strcmp(label, "VmFlags")) {
			char *p;

			val[strcspn(val, "\n")] = '\0';
			while ((p = strchr(val, ' ')) && p[1])
				*p = ',';
			val[strcspn(val, " ")] = '\0';
		} else {
			val[strcspn(val, " ")] = '\0'; /* drop " kB" */
		}
		for (fc = file_counted; regular_file && !smaps_files && *fc; fc++)
			if (!strcmp(*fc, label))
				val = "-";
		used += (size_t)snprintf(out + used, sizeof(out) - used, " %s=%s", label, val);
		if (used >= sizeof(out))
			die(1, "smaps line too long%s", "");
	}
	if (used)
		printf("%s\n", out);
	fclose(f);
}

static void do_op(char **tok, int ntok)
{
	const char *op = tok[0];
	char path[4096];

	if (!strcmp(op, "open") && ntok == 5) {
		int s = slot_index(tok[1]);
		unsigned long file = parse_num(tok[2]), pages = parse_num(tok[3]);
		int mode, fd;

		if (s < 0)
			die(2, "bad slot %s", tok[1]);
		if (!strcmp(tok[4], "rdwr"))
			mode = O_RDWR;
		else if (!strcmp(tok[4], "rdonly"))
			mode = O_RDONLY;
		else
			die(2, "bad open mode '%s'", tok[4]);
		snprintf(path, sizeof(path), "%s/f%lu", dir, file);
		if (access(path, F_OK) != 0) {
			int cfd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

			if (cfd < 0 || ftruncate(cfd, (off_t)(pages * PAGE)) != 0) {
				perror("vmatrace: create file");
				exit(1);
			}
			close(cfd);
		}
		if (slots[s] >= 0)
			close(slots[s]);
		fd = open(path, mode | O_CLOEXEC);
		slots[s] = fd;
		result_zero(fd < 0 ? -1 : 0);
	} else if (!strcmp(op, "unlink") && ntok == 2) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, parse_num(tok[1]));
		result_zero(unlink(path));
	} else if (!strcmp(op, "mmap") && ntok == 7) {
		int s = slot_index(tok[5]);
		long fd = s < 0 ? -1 : slots[s];
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		unsigned long prot = parse_bits(tok[3], prot_names, 1);
		unsigned long flags = parse_bits(tok[4], mmap_flag_names, 0), off = parse_num(tok[6]);

		if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && !in_arena(addr, len) &&
		    !arg_error_only(op, addr, len, flags, off))
			refuse(op);
		result_addr(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
	} else if (!strcmp(op, "munmap") && ntok == 3) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);

		if (!in_arena(addr, len) && !arg_error_only(op, addr, len, 0, 0))
			refuse(op);
		result_zero(syscall(SYS_munmap, addr, len));
	} else if (!strcmp(op, "mprotect") && ntok == 4) {
		unsigned long addr = parse_num(tok[1]), len = parse_num(tok[2]);
		unsigned long prot = parse_bits(tok[3], prot_names, 1);

		if (!in_arena(addr, len) && !arg_error_only(op, addr, len, 0, 0))
			refuse(op);
		result_zero(syscall(SYS_mprotect, addr, len, prot));
	} else if (!strcmp(op, "mremap") && ntok == 6) {
		unsigned long old = parse_num(tok[1]), oldlen = parse_num(tok[2]);
		unsigned long newlen = parse_num(tok[3]), newaddr = parse_num(tok[5]);
		unsigned long flags = parse_bits(tok[4], mremap_flag_names, 0);

		/* the source (and anything it may grow into in place) must be in the
		 * arena, and so must a MREMAP_FIXED destination */
		if (!arg_error_only(op, old, newlen, flags, 0) &&
		    (!in_arena(old, oldlen) ||
		     (!(flags & MREMAP_FIXED) && newlen > oldlen && !in_arena(old, newlen)) ||
		     ((flags & MREMAP_FIXED) && !in_arena(newaddr, newlen))))
			refuse(op);
		result_addr(syscall(SYS_mremap, old, oldlen, newlen, flags, newaddr));
	} else if (!strcmp(op, "touch") && ntok == 3) {
		unsigned long addr = parse_num(tok[1]);

		if (strcmp(tok[2], "r") && strcmp(tok[2], "w") && strcmp(tok[2], "x"))
			die(2, "bad touch access '%s'", tok[2]);
		if (addr < arena_base || addr + 16 > arena_end || (addr % PAGE) > PAGE - 16)
			refuse(op);
		do_touch(addr, tok[2]);
	} else if (do_lock_op(tok, ntok)) {
		/* mlock, mseal, prctl, limits, headroom: issue 13 part B, see its block */
	} else if (do_op_madvise_fork(tok, ntok)) {
		/* madvise, fork, drain, fill: issue 13 part A, see its block */
	} else {
		die(2, "unknown operation or wrong field count: %s", op);
	}
	if (fillers)
		print_arena_by_query();
	else
		for_each_line_in(arena_base, arena_end, 1);
	if (smaps_all)
		print_smaps_all();
	else if (smaps_enabled)
		print_smaps();
	if (locks_enabled)
		print_locks();
	fputs(".\n", stdout);
}

int main(int argc, char **argv)
{
	char line[1024];
	int have_arena = 0, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR < trace\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	install_handlers();
	pin_and_map_scratch();
	for (i = 0; i < MAX_SLOTS; i++)
		slots[i] = -1;

	while (fgets(line, sizeof(line), stdin)) {
		char *tok[8], *save, *t;
		int ntok = 0;

		lineno++;
		if (!strchr(line, '\n') && !feof(stdin))
			die(2, "line too long%s", "");
		t = line + strspn(line, " \t");
		if (*t == '#')
			continue;
		for (t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (ntok == 8)
				die(2, "too many fields%s", "");
			tok[ntok++] = t;
		}
		if (ntok == 0 || tok[0][0] == '#')
			continue;
		if (!strcmp(tok[0], "arena")) {
			unsigned long pages;

			if (ntok != 3 || have_arena)
				die(2, "bad or repeated arena line%s", "");
			arena_base = parse_num(tok[1]);
			pages = parse_num(tok[2]);
			if (arena_base % PAGE || pages == 0 || pages > (1UL << 25) ||
			    arena_base < GUARD || arena_base + pages * PAGE + GUARD > (1UL << 47))
				die(2, "unusable arena%s", "");
			arena_end = arena_base + pages * PAGE;
			if (for_each_line_in(arena_base - GUARD, arena_end + GUARD, 0)) {
				fprintf(stderr,
					"vmatrace: the arena 0x%lx-0x%lx (with a %lu MiB guard on each "
					"side) is not free in this process; refusing to run\n",
					arena_base, arena_end, GUARD >> 20);
				return 3;
			}
			have_arena = 1;
			continue;
		}
		if (!have_arena)
			die(2, "the trace must start with an arena line, not '%s'", tok[0]);
		if (!strcmp(tok[0], "smaps") && ntok == 1) {
			smaps_enabled = 1;
			continue;
		}
		if (!strcmp(tok[0], "smaps") && ntok >= 2 && ntok <= 3 && !strcmp(tok[1], "all") &&
		    (ntok == 2 || !strcmp(tok[2], "files"))) {
			smaps_enabled = smaps_all = 1;
			smaps_files = ntok == 3;
			continue;
		}
		if (!strcmp(tok[0], "locks") && ntok == 1) {
			locks_enabled = 1;
			continue;
		}
		do_op(tok, ntok);
	}
	if (ferror(stdin)) {
		perror("vmatrace: stdin");
		return 1;
	}
	if (fflush(stdout) != 0) {
		perror("vmatrace: stdout");
		return 1;
	}
	return 0;
}
