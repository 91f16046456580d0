/* bench/coupled.sh's baseline: the same ping-pong and stream as
 * bench/pingpong.c's kernel, between two plain processes over a UNIX
 * socketpair (SOCK_STREAM, each message sent whole, read whole), without any
 * sandbox or router in between; with "tcp", over a TCP connection on loopback
 * (TCP_NODELAY, as wrun's direct links): the floor of those links. Prints one
 * JSON line like the kernel's output.
 * Usage: pingpong_socket [N [SIZE [STREAM_N [STREAM_SIZE [unix|tcp [CPU0 CPU1]]]]]]
 * CPU0, CPU1: the cores the two processes run on (bench/coupled.sh pins
 * its two wrun the same way, so both sides pay the same wake-ups). */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void put_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) {
      perror("write");
      exit(1);
    }
    p += w;
    n -= (size_t)w;
  }
}

static void get_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) {
      perror("read");
      exit(1);
    }
    p += r;
    n -= (size_t)r;
  }
}

/* sv[0], sv[1]: the two ends of a loopback TCP connection. */
static int tcp_pair(int sv[2]) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int one = 1;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (struct sockaddr*)&a, &len) != 0)
    return -1;
  sv[0] = socket(AF_INET, SOCK_STREAM, 0);
  if (sv[0] < 0 || connect(sv[0], (struct sockaddr*)&a, sizeof a) != 0) return -1;
  sv[1] = accept(l, NULL, NULL);
  close(l);
  if (sv[1] < 0) return -1;
  setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
  size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
  size_t stream_n = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
  size_t stream_size = argc > 4 ? strtoul(argv[4], NULL, 10) : 1u << 20;
  const size_t warmup = 100;
  const int tcp = argc > 5 && strcmp(argv[5], "tcp") == 0;
  int sv[2];
  if (tcp ? tcp_pair(sv) != 0 : socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror(tcp ? "loopback TCP" : "socketpair");
    return 1;
  }
  uint8_t* buf = malloc(size > stream_size ? size : stream_size);
  if (!buf) return 1;
  const int pinned = argc > 7;
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (pinned) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(argv[child == 0 ? 7 : 6]), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
  }
  if (child == 0) { /* rank 1: echo, then receive the stream and ack */
    close(sv[0]);
    for (size_t i = 0; i < warmup + n; ++i) {
      get_all(sv[1], buf, size);
      put_all(sv[1], buf, size);
    }
    for (size_t i = 0; i < stream_n; ++i) get_all(sv[1], buf, stream_size);
    put_all(sv[1], buf, 1);
    _exit(0);
  }
  close(sv[1]);
  for (size_t i = 0; i < size; ++i) buf[i] = 0xaa;
  for (size_t i = 0; i < warmup; ++i) {
    put_all(sv[0], buf, size);
    get_all(sv[0], buf, size);
  }
  double t0 = now_ms();
  for (size_t i = 0; i < n; ++i) {
    put_all(sv[0], buf, size);
    get_all(sv[0], buf, size);
  }
  double rtt_ms = n ? (now_ms() - t0) / (double)n : 0;
  t0 = now_ms();
  for (size_t i = 0; i < stream_n; ++i) put_all(sv[0], buf, stream_size);
  get_all(sv[0], buf, 1);
  double secs = (now_ms() - t0) / 1e3;
  double mb_s = secs > 0 ? (double)stream_n * (double)stream_size / 1e6 / secs : 0;
  int status;
  waitpid(child, &status, 0);
  printf(
      "{\"rtt_ms\":%.6f,\"stream_mb_s\":%.1f,\"n\":%zu,\"size\":%zu,\"stream_n\":%zu,"
      "\"stream_size\":%zu}\n",
      rtt_ms, mb_s, n, size, stream_n, stream_size);
  free(buf);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
