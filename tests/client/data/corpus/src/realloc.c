/* Corpus program: malloc/realloc/free of growing blocks (brk heap, mmap'd chunks,
 * mremap moves), then a few holes. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *small[200];
	for (int i = 0; i < 200; i++) {
		small[i] = malloc(100 + i * 50);
		memset(small[i], 0, 100);
	}
	char *big = malloc(200 * 1024);
	for (size_t n = 400 * 1024; n < 24 * 1024 * 1024; n *= 2) {
		big = realloc(big, n);
		big[n - 1] = 1;
	}
	for (int i = 0; i < 200; i += 2)
		free(small[i]);
	char *keep = malloc(3 * 1024 * 1024);
	keep[0] = 1;
	free(big);
	return 0;
}
