/*
 * Syscall storm for the tracer benchmark: N getppid() calls on each of T threads, through
 * syscall(2) so libc cannot cache or skip them. Prints the wall time and ns per call.
 *
 * usage: storm [calls per thread, default 2000000] [threads, default 1]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long calls;

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < calls; i++)
		syscall(SYS_getppid);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t tid[64];
	double t0, t1;

	calls = argc > 1 ? atol(argv[1]) : 2000000;
	if (threads < 1 || threads > 64)
		threads = 1;
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, run, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t1 = now();
	printf("storm: %ld calls x %d threads in %.3f s, %.0f ns/call, %.0f calls/s\n", calls, threads,
	       t1 - t0, (t1 - t0) * 1e9 / calls, calls * threads / (t1 - t0));
	return 0;
}
