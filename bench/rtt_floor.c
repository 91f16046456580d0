/* rtt_floor: the floor under bench/wsql.sh's point selects at few requests
 * in flight (issue 19): what a round trip over loopback TCP costs on this
 * machine when the server does no work at all, so a server's own share of
 * a round trip (its time above the floor) can be told from what the kernel
 * and the wake-ups of both sides cost everyone.
 *
 *   rtt_floor [N [SECONDS [SERVER_CPU CLIENT_CPU]]]
 *
 * N connections (default 1), each with one request in flight, for SECONDS
 * (default 5). The server (a forked child, on SERVER_CPU) waits in
 * epoll_wait, and answers each 74-byte request (wsql_bench's point select)
 * with 33 bytes (its answer) from one recv and one send. Each client thread
 * (on CLIENT_CPU) sends, waits in poll() and reads, as pgbench does. CPUs
 * -1: not pinned. Prints one JSON line like wsql_bench's:
 *   {"ops_per_s":N,"p50_ms":X,"p99_ms":Y,"in_flight":N} */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kRequest = 74, kAnswer = 33, kMaxConns = 64, kMaxSamples = 4000000 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("rtt_floor: sched_setaffinity");
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void serve(int listener, int n) {
  int ep = epoll_create1(0);
  if (ep < 0) die("rtt_floor: epoll_create1");
  for (int i = 0; i < n; ++i) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) die("rtt_floor: accept");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) != 0) die("rtt_floor: epoll_ctl");
  }
  char answer[kAnswer];
  memset(answer, 'a', sizeof answer);
  int open = n;
  while (open > 0) {
    struct epoll_event evs[kMaxConns];
    int k = epoll_wait(ep, evs, kMaxConns, -1);
    for (int i = 0; i < k; ++i) {
      char buf[4096];
      ssize_t r = recv(evs[i].data.fd, buf, sizeof buf, 0);
      if (r <= 0) {
        close(evs[i].data.fd);
        --open;
        continue;
      }
      if (send(evs[i].data.fd, answer, sizeof answer, MSG_NOSIGNAL) != (ssize_t)sizeof answer)
        die("rtt_floor: send");
    }
  }
  exit(0);
}

struct Conn {
  struct sockaddr_in addr;
  int cpu;
  double seconds;
  double* latency; /* seconds, one per round trip */
  long count, capacity;
};

static void* run_client(void* arg) {
  struct Conn* c = arg;
  pin(c->cpu);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || connect(s, (struct sockaddr*)&c->addr, sizeof c->addr) != 0)
    die("rtt_floor: connect");
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char request[kRequest], buf[4096];
  memset(request, 'q', sizeof request);
  const double end = now() + c->seconds;
  for (double t0 = now(); t0 < end; t0 = now()) {
    if (send(s, request, sizeof request, MSG_NOSIGNAL) != (ssize_t)sizeof request)
      die("rtt_floor: send");
    size_t got = 0;
    while (got < kAnswer) {
      struct pollfd p = {s, POLLIN, 0};
      if (poll(&p, 1, -1) < 0) die("rtt_floor: poll");
      ssize_t r = recv(s, buf, sizeof buf, 0);
      if (r <= 0) die("rtt_floor: recv");
      got += (size_t)r;
    }
    if (c->count < c->capacity) c->latency[c->count] = now() - t0;
    ++c->count;
  }
  close(s);
  return NULL;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  double seconds = argc > 2 ? atof(argv[2]) : 5;
  int server_cpu = argc > 4 ? atoi(argv[3]) : -1, client_cpu = argc > 4 ? atoi(argv[4]) : -1;
  if (n < 1 || n > kMaxConns || seconds <= 0) {
    fprintf(stderr, "usage: rtt_floor [N (1-%d) [SECONDS [SERVER_CPU CLIENT_CPU]]]\n", kMaxConns);
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, (struct sockaddr*)&addr, len) != 0 ||
      listen(listener, kMaxConns) != 0 || getsockname(listener, (struct sockaddr*)&addr, &len) != 0)
    die("rtt_floor: listen");
  pid_t server = fork();
  if (server < 0) die("rtt_floor: fork");
  if (server == 0) {
    pin(server_cpu);
    serve(listener, n);
  }
  close(listener);
  struct Conn conns[kMaxConns];
  pthread_t threads[kMaxConns];
  for (int i = 0; i < n; ++i) {
    conns[i] = (struct Conn){addr, client_cpu, seconds, NULL, 0, kMaxSamples / n};
    conns[i].latency = malloc(sizeof(double) * (size_t)conns[i].capacity);
    if (!conns[i].latency) die("rtt_floor: malloc");
    if (pthread_create(&threads[i], NULL, run_client, &conns[i]) != 0) die("rtt_floor: thread");
  }
  long total = 0, kept = 0;
  for (int i = 0; i < n; ++i) {
    pthread_join(threads[i], NULL);
    total += conns[i].count;
    kept += conns[i].count < conns[i].capacity ? conns[i].count : conns[i].capacity;
  }
  waitpid(server, NULL, 0);
  double* all = malloc(sizeof(double) * (size_t)(kept > 0 ? kept : 1));
  if (!all) die("rtt_floor: malloc");
  long at = 0;
  for (int i = 0; i < n; ++i) {
    long k = conns[i].count < conns[i].capacity ? conns[i].count : conns[i].capacity;
    memcpy(all + at, conns[i].latency, sizeof(double) * (size_t)k);
    at += k;
  }
  qsort(all, (size_t)kept, sizeof(double), by_value);
  double p50 = kept ? all[kept / 2] : 0, p99 = kept ? all[(long)(kept * 0.99)] : 0;
  printf("{\"ops_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"in_flight\":%d}\n",
         (double)total / seconds, p50 * 1e3, p99 * 1e3, n);
  return 0;
}
