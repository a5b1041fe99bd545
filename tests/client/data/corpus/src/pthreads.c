/* Corpus program: threads that allocate (per-thread malloc arenas, thread stacks,
 * their guard pages), some joined and some still running when main exits. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t barrier;

static void *work(void *arg)
{
	size_t n = (size_t)arg;
	char *p = malloc(n);
	memset(p, 1, n);
	char *q = malloc(64 * 1024);
	free(p);
	pthread_barrier_wait(&barrier);
	(void)q;
	return NULL;
}

int main(void)
{
	pthread_t t[6];
	pthread_barrier_init(&barrier, NULL, 7);
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, work, (void *)(size_t)((i + 1) * 100000));
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return 0;
}
