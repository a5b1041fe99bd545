/* Corpus program: file mappings the way runtimes make them: a shared writable file
 * that is then deleted (like the JVM's hsperfdata), a read-only open mapped shared
 * (no "mw" in VmFlags), a file grown with ftruncate, and a dup'ed descriptor. */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/tmp/vmasim-corpus/perfdata", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ftruncate(fd, 32768);
	char *p = mmap(NULL, 32768, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	p[0] = 1;
	unlink("/tmp/vmasim-corpus/perfdata");
	close(fd);
	int ro = open("/etc/passwd", O_RDONLY);
	char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	int again = dup(ro);
	char *r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, again, 0);
	close(ro);
	close(again);
	int grow = open("/tmp/vmasim-corpus/grow", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ftruncate(grow, 3 * 4096);
	char *s = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, grow, 0);
	s[0] = q[0] + r[0];
	return 0;
}
