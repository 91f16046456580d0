/* A constructor that starts a thread, which waits until the kernel's tasks
 * run (the sandbox is on by then, for the main thread at least) and then
 * tries to leave its mark. */
#include <pthread.h>
#include <time.h>

#include "escape.h"
#include "w_kernel.h"

static void *escape_later(void *arg) {
  (void)arg;
  struct timespec t = {0, 300 * 1000 * 1000};
  nanosleep(&t, 0);
  escape_leave_mark("thread\n");
  return 0;
}

__attribute__((constructor)) static void start_thread(void) {
  pthread_t t;
  pthread_create(&t, 0, escape_later, 0);
}

int w_main(const uint8_t *in, size_t n, w_out *out) {
  struct timespec t = {0, 600 * 1000 * 1000};
  nanosleep(&t, 0);
  return w_out_write(out, in, n);
}
