/* Opens a socket: the sandbox must kill it and name the forbidden call. */
#include <sys/socket.h>

#include "w_kernel.h"

int w_main(const uint8_t *in, size_t n, w_out *out) {
  (void)in;
  (void)n;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  return fd >= 0 ? w_fail(out, "socket() was allowed") : w_fail(out, "socket() failed");
}
