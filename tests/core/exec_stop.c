/*
 * exec_stop: run a program and print its address space at its first instruction.
 *
 *   exec_stop [-R] [-e NAME=VALUE]... -- PATH [ARGV0 [ARG]...]
 *
 * The child asks to be traced (PTRACE_TRACEME) and calls execve(PATH, ARGV, ENV) with
 * exactly the -e variables as its environment (none by default; no ARGV0 is an empty
 * argv, which the kernel turns into one empty argument). A traced process
 * stops with SIGTRAP once execve has built the new image and before the first
 * user-space instruction runs (ptrace(2), "execve(2) under ptrace"); the parent then
 * prints, from /proc/PID:
 *
 *   the maps text, verbatim
 *   "#stat " and the stat line (start_code, end_code, start_stack, start_data,
 *            end_data, start_brk, arg_start, arg_end, env_start, env_end are in it)
 *   "#status " and each Vm* line of status
 *
 * and kills the child by its pid. -R sets the ADDR_NO_RANDOMIZE personality in the
 * child first, as `setarch -R` does. A failed execve prints "#errno N" and exits 2.
 * Used by tests/core/test_exec_oracle.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void dump(pid_t pid, const char *what, const char *prefix, const char *only)
{
	char path[64], line[8192];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (!only || strncmp(line, only, strlen(only)) == 0)
			printf("%s%s", prefix, line);
	fclose(f);
}

int main(int argc, char **argv)
{
	int norandom = 0, nenv = 0, i = 1;
	char **env = calloc((size_t)argc + 1, sizeof(char *));
	if (!env)
		return 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-R") == 0)
			norandom = 1;
		else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
			env[nenv++] = argv[++i];
		else {
			fprintf(stderr, "usage: exec_stop [-R] [-e NAME=VALUE]... -- PATH [ARGV0 [ARG]...]\n");
			return 1;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "exec_stop: PATH is required\n");
		return 1;
	}
	const char *path = argv[i + 1];
	char **args = &argv[i + 2];
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return 1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(pipefd[0]);
		if (norandom && personality(ADDR_NO_RANDOMIZE) < 0)
			_exit(3);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(3);
		execve(path, args, env);
		int err = errno;
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err))
			_exit(4);
		_exit(2);
	}
	close(pipefd[1]);
	int status, err = 0;
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	if (read(pipefd[0], &err, sizeof(err)) == sizeof(err)) {
		printf("#errno %d\n", err);
		if (WIFSTOPPED(status))
			kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 2;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
		fprintf(stderr, "exec_stop: child did not stop at exec (status %#x)\n", status);
		return 1;
	}
	dump(pid, "maps", "", NULL);
	dump(pid, "stat", "#stat ", NULL);
	dump(pid, "status", "#status ", "Vm");
	fflush(stdout);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}
