/*
 * km-actions: the actions of the kernel-matrix scenario that busybox cannot do.
 *
 * Built on the host with `gcc -static -O2` (scripts/kernel-matrix.sh) and run in each guest by
 * scenario.sh under `osprey trace`. Every action is deterministic (no timing races, fixed
 * names, ports and contents), so the events it causes are the same on every kernel.
 *
 *   km-actions                       does nothing, exits 0 (what a memfd copy runs as)
 *   km-actions hello WORDS...        prints its arguments (the "exec of a binary")
 *   km-actions memfd-exec BIN        copies BIN into memfd "osprey-memfd" and executes it
 *                                    through /proc/self/fd/N as "memfd-true"
 *   km-actions wx DUMP               maps 2 pages RWX, fills them, mprotects them to RX and
 *                                    writes the region's bytes to DUMP
 *   km-actions tcp PORT              listen, connect, accept, one exchange on 127.0.0.1:PORT,
 *                                    then on [::1]:PORT+1
 *   km-actions uring PORT FILE       through io_uring (no liburing: the raw rings): an accept of
 *                                    a connection queued on 127.0.0.1:PORT, and a connect of a
 *                                    UDP socket to 127.0.0.1:PORT+1 (both complete at once, in
 *                                    io_uring_enter on every kernel: no io-wq worker); then two
 *                                    writes of 4000 bytes to FILE (created), at 0 and 4000
 *   km-actions dns-server ADDR PORT  binds UDP ADDR:PORT, then forks a server that answers one
 *                                    query (A 10.1.2.3, TTL 60); returns once bound
 *   km-actions dns-query NAME ADDR PORT   one A query, waits for the answer
 *   km-actions ptrace                a child PTRACE_TRACEMEs and stops; the parent continues it
 *   km-actions kill                  a child waits; the parent kills it with SIGTERM
 *   km-actions setuid UID            a child calls setuid(UID)
 *   km-actions module FILE           init_module(FILE's bytes) and finit_module(FILE's fd);
 *                                    both are expected to fail (FILE is not a module)
 *   km-actions storm DIR N ROUNDS    N children at once (more than the CPUs, so they preempt
 *                                    each other), child K named "storm-K", each creating,
 *                                    writing and unlinking DIR/cK-I for I in 0..ROUNDS-1
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "km-actions: %s: %s\n", what, strerror(errno));
	return 1;
}

static int wait_ok(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return fail("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads a whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static int hello(int argc, char **argv)
{
	printf("hello");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}

static int memfd_exec(const char *bin)
{
	size_t len;
	char *image = slurp(bin, &len);
	if (!image)
		return fail(bin);
	int fd = memfd_create("osprey-memfd", MFD_CLOEXEC);
	if (fd < 0)
		return fail("memfd_create");
	if (write_all(fd, image, len) < 0)
		return fail("write memfd");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	char *argv[] = {"memfd-true", NULL};
	char *envp[] = {"PATH=/bin", NULL};
	execve(path, argv, envp);
	return fail("execve memfd");
}

static int wx(const char *dump)
{
	const size_t len = 2 * 4096;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail("mmap rwx");
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	p[0] = 0xc3; /* ret: the region is code */
	if (mprotect(p, len, PROT_READ | PROT_EXEC) < 0)
		return fail("mprotect rx");
	int fd = open(dump, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, p, len) < 0 || close(fd) < 0)
		return fail(dump);
	return 0;
}

/* One listen/connect/accept/exchange on ADDR:PORT of family FAM. */
static int tcp_once(int fam, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		sl = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		sl = sizeof *a;
	}
	int one = 1;
	int s = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, sl) < 0)
		return fail("bind");
	if (listen(s, 4) < 0)
		return fail("listen");
	int c = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, sl) < 0)
		return fail("connect");
	int a = accept(s, NULL, NULL);
	if (a < 0)
		return fail("accept");
	char buf[16];
	if (write_all(c, "ping\n", 5) < 0 || read(a, buf, sizeof buf) != 5)
		return fail("ping");
	if (write_all(a, "pong\n", 5) < 0 || read(c, buf, sizeof buf) != 5)
		return fail("pong");
	close(a);
	close(c);
	close(s);
	return 0;
}

static int tcp(int port)
{
	if (tcp_once(AF_INET, "127.0.0.1", port))
		return 1;
	return tcp_once(AF_INET6, "::1", port + 1);
}

struct uring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int uring_setup(struct uring *u, unsigned entries)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	u->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (u->fd < 0)
		return fail("io_uring_setup");
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
			IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || u->sqes == MAP_FAILED)
		return fail("io_uring mmap");
	u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

static void uring_push(struct uring *u, const struct io_uring_sqe *sqe)
{
	unsigned tail = *u->sq_tail, i = tail & *u->sq_mask;
	u->sqes[i] = *sqe;
	u->sq_array[i] = i;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

/* Submits N requests and waits for them; every one must succeed. */
static int uring_run(struct uring *u, unsigned n)
{
	if (syscall(__NR_io_uring_enter, u->fd, n, n, IORING_ENTER_GETEVENTS, NULL, 0) != (long)n)
		return fail("io_uring_enter");
	unsigned head = *u->cq_head;
	for (; head != __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE); head++) {
		struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
		if (c->res < 0) {
			errno = -c->res;
			fprintf(stderr, "km-actions: io_uring request %llu: %s\n",
				(unsigned long long)c->user_data, strerror(errno));
			return 1;
		}
		n--;
	}
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
	return n ? fail("io_uring completions") : 0;
}

static void sin_loopback(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Two writes of 4000 bytes to a new FILE at offsets 0 and 4000, one request each. */
static int uring_write_file(struct uring *u, const char *file)
{
	static char buf[8000];
	struct io_uring_sqe sqe;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("open");
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)('a' + i % 26 + (i / 4000));
	for (int k = 0; k < 2; k++) {
		memset(&sqe, 0, sizeof sqe);
		sqe.opcode = IORING_OP_WRITE;
		sqe.fd = fd;
		sqe.addr = (uint64_t)(uintptr_t)(buf + 4000 * k);
		sqe.len = 4000;
		sqe.off = 4000 * k;
		sqe.user_data = 3 + k;
		uring_push(u, &sqe);
		if (uring_run(u, 1))
			return 1;
	}
	return close(fd) ? fail("close") : 0;
}

static int uring(int port, const char *file)
{
	struct sockaddr_in tcp_addr, dgram_addr;
	struct uring u;
	struct io_uring_sqe sqe;
	int one = 1;
	sin_loopback(&tcp_addr, port);
	sin_loopback(&dgram_addr, port + 1);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) < 0 || listen(s, 4) < 0)
		return fail("bind/listen");
	/* queued before the accept is submitted, so the accept completes at once */
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) < 0)
		return fail("connect");
	int d = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d < 0)
		return fail("socket");
	if (uring_setup(&u, 4))
		return 1;
	memset(&sqe, 0, sizeof sqe);
	sqe.opcode = IORING_OP_ACCEPT;
	sqe.fd = s;
	sqe.user_data = 1;
	uring_push(&u, &sqe);
	memset(&sqe, 0, sizeof sqe);
	sqe.opcode = IORING_OP_CONNECT;
	sqe.fd = d;
	sqe.addr = (uint64_t)(uintptr_t)&dgram_addr;
	sqe.off = sizeof dgram_addr;
	sqe.user_data = 2;
	uring_push(&u, &sqe);
	if (uring_run(&u, 2))
		return 1;
	if (uring_write_file(&u, file))
		return 1;
	close(u.fd);
	close(d);
	close(c);
	close(s);
	return 0;
}

static int udp_addr(const char *addr, int port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, addr, &a->sin_addr) == 1 ? 0 : -1;
}

/* A one-query DNS server: answers type A with 10.1.2.3 (TTL 60), anything else with no answer. */
static int dns_server(const char *addr, int port)
{
	struct sockaddr_in a;
	if (udp_addr(addr, port, &a) < 0)
		return fail("address");
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0)
		return fail("bind dns");
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid > 0)
		return 0; /* bound: the scenario may query now */
	alarm(60);
	unsigned char q[512], r[600];
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	ssize_t n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&peer, &pl);
	if (n < 17)
		_exit(1);
	/* header: same ID, QR+RD+RA, one question, one answer (A) or none */
	size_t qend = 12;
	while (qend < (size_t)n && q[qend] != 0)
		qend += q[qend] + 1u;
	qend += 5; /* root label, QTYPE, QCLASS */
	if (qend > (size_t)n)
		_exit(1);
	int is_a = q[qend - 4] == 0 && q[qend - 3] == 1;
	memcpy(r, q, qend);
	r[2] = 0x81;
	r[3] = 0x80;
	r[4] = 0, r[5] = 1;
	r[6] = 0, r[7] = is_a ? 1 : 0;
	memset(r + 8, 0, 4);
	size_t len = qend;
	if (is_a) {
		static const unsigned char ans[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3};
		memcpy(r + len, ans, sizeof ans);
		len += sizeof ans;
	}
	sendto(s, r, len, 0, (struct sockaddr *)&peer, pl);
	_exit(0);
}

static int dns_query(const char *name, const char *addr, int port)
{
	unsigned char q[300] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t len = 12;
	const char *p = name;
	while (*p && len < 250) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		q[len++] = (unsigned char)l;
		memcpy(q + len, p, l);
		len += l;
		p += l + (dot ? 1 : 0);
	}
	q[len++] = 0;
	q[len++] = 0, q[len++] = 1; /* A */
	q[len++] = 0, q[len++] = 1; /* IN */
	struct sockaddr_in a;
	if (udp_addr(addr, port, &a) < 0)
		return fail("address");
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (sendto(s, q, len, 0, (struct sockaddr *)&a, sizeof a) < 0)
		return fail("sendto");
	unsigned char r[600];
	ssize_t n = recv(s, r, sizeof r, 0);
	if (n < 0)
		return fail("recv");
	if (n < (ssize_t)len + 16 || r[0] != 0x12 || r[1] != 0x34 || r[7] != 1)
		return fprintf(stderr, "km-actions: bad DNS answer (%zd bytes)\n", n), 1;
	printf("%s is %d.%d.%d.%d\n", name, r[n - 4], r[n - 3], r[n - 2], r[n - 1]);
	return 0;
}

static int do_ptrace(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(2);
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st))
		return fail("waitpid stopped child");
	if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0)
		return fail("PTRACE_CONT");
	return wait_ok(pid);
}

static int do_kill(void)
{
	int p[2];
	if (pipe(p) < 0)
		return fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(p[0]);
		write_all(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	if (read(p[0], &c, 1) != 1)
		return fail("read ready");
	if (kill(pid, SIGTERM) < 0)
		return fail("kill");
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return fail("waitpid");
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? 0 : 1;
}

static int do_setuid(uid_t uid)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		_exit(setuid(uid) == 0 && getuid() == uid ? 0 : 1);
	return wait_ok(pid);
}

static int module(const char *file)
{
	size_t len;
	char *image = slurp(file, &len);
	if (!image)
		return fail(file);
	long r = syscall(SYS_init_module, image, (unsigned long)len, "");
	printf("init_module: %ld %s\n", r, r < 0 ? strerror(errno) : "loaded");
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(file);
	r = syscall(SYS_finit_module, fd, "", 0);
	printf("finit_module: %ld %s\n", r, r < 0 ? strerror(errno) : "loaded");
	return 0;
}

static int storm_child(const char *dir, int k, int rounds)
{
	char name[32], path[4096];
	snprintf(name, sizeof(name), "storm-%d", k);
	prctl(PR_SET_NAME, name);
	for (int i = 0; i < rounds; i++) {
		snprintf(path, sizeof(path), "%s/c%d-%d", dir, k, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail(path);
		if (write_all(fd, path, strlen(path)) || close(fd) || unlink(path))
			return fail(path);
	}
	return 0;
}

static int storm(const char *dir, int n, int rounds)
{
	pid_t pids[64];
	int failed = 0;
	if (n < 1 || n > 64 || (mkdir(dir, 0755) && errno != EEXIST))
		return fail(dir);
	for (int k = 0; k < n; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			return fail("fork");
		if (pids[k] == 0)
			_exit(storm_child(dir, k, rounds));
	}
	for (int k = 0; k < n; k++)
		failed |= wait_ok(pids[k]);
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 0;
	const char *a = argv[1];
	if (!strcmp(a, "hello"))
		return hello(argc - 2, argv + 2);
	if (!strcmp(a, "memfd-exec") && argc == 3)
		return memfd_exec(argv[2]);
	if (!strcmp(a, "wx") && argc == 3)
		return wx(argv[2]);
	if (!strcmp(a, "tcp") && argc == 3)
		return tcp(atoi(argv[2]));
	if (!strcmp(a, "uring") && argc == 4)
		return uring(atoi(argv[2]), argv[3]);
	if (!strcmp(a, "dns-server") && argc == 4)
		return dns_server(argv[2], atoi(argv[3]));
	if (!strcmp(a, "dns-query") && argc == 5)
		return dns_query(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(a, "ptrace"))
		return do_ptrace();
	if (!strcmp(a, "kill"))
		return do_kill();
	if (!strcmp(a, "setuid") && argc == 3)
		return do_setuid((uid_t)atoi(argv[2]));
	if (!strcmp(a, "module") && argc == 3)
		return module(argv[2]);
	if (!strcmp(a, "storm") && argc == 5)
		return storm(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "km-actions: unknown action or arguments: %s\n", a);
	return 2;
}
