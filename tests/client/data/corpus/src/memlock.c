/* Corpus program: the locking, sealing and naming calls: mlock and munlock in the
 * middle of a mapping (splits), mlock2(MLOCK_ONFAULT), mseal (raw syscall: glibc 2.36
 * has no wrapper) and the munmap/mprotect it refuses, prctl(PR_SET_VMA,
 * PR_SET_VMA_ANON_NAME) (a kernel without CONFIG_ANON_VMA_NAME refuses it with EINVAL),
 * a fork while ranges are locked (the child's copies are unlocked, MCL_FUTURE is not
 * inherited), mlockall(MCL_CURRENT|MCL_FUTURE) with a mapping made while it holds,
 * munlockall, mlockall(MCL_FUTURE|MCL_ONFAULT), and a lock left at exit; madvise
 * DONTFORK, WIPEONFORK and DONTDUMP before the fork. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#define SYS_mseal_ 462

int main(void)
{
	long page = 4096;
	int prw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	char *a = mmap(NULL, 16 * page, prw, anon, -1, 0);
	mlock(a + 4 * page, 4 * page);
	munlock(a + 5 * page, page);
	char *b = mmap(NULL, 8 * page, prw, anon, -1, 0);
	char *c = mmap(NULL, 8 * page, prw, anon, -1, 0);
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, c, 2 * page, "heap-a");
	syscall(SYS_mseal_, c + 4 * page, 2 * page, 0);
	munmap(c + 4 * page, page); /* EPERM: sealed */
	mprotect(c + 5 * page, page, PROT_READ); /* EPERM */
	madvise(b, 2 * page, MADV_DONTFORK); /* the child has no copy of it */
	madvise(b + 6 * page, 2 * page, MADV_WIPEONFORK);
	madvise(a + 14 * page, 2 * page, MADV_DONTDUMP);
	mlockall(MCL_FUTURE);
	pid_t child = fork();
	if (child == 0) {
		/* Away from inherited memory: the replay cannot know which anon_vma the
		 * memory ld.so touched has, and a forked one refuses to merge. */
		char *f = mmap((void *)0x200000000000, 2 * page, prw, anon, -1, 0);
		mlock(f, page);
		f[0] = a[4 * page];
		_exit(0);
	}
	waitpid(child, NULL, 0);
	munlockall();
	mlockall(MCL_CURRENT | MCL_FUTURE);
	char *d = mmap(NULL, 4 * page, prw, anon, -1, 0);
	munlockall();
	mlock(a + 12 * page, 2 * page);
	/* Left in force at exit, so the final maps show them: lf, and MCL_FUTURE's lo lf. */
	syscall(SYS_mlock2, b + 2 * page, 3 * page, MLOCK_ONFAULT);
	mlockall(MCL_FUTURE | MCL_ONFAULT);
	char *e = mmap(NULL, 4 * page, prw, anon, -1, 0);
	(void)d;
	(void)e;
	return 0;
}
