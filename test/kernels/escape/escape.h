/* Shared by the kernels that try to escape the sandbox: each tries to leave a
 * mark outside it (a file at $WKIT_ESCAPE_MARK, by a write and by a shell),
 * from code that runs before or beside the kernel's tasks. A test passes when
 * no mark appears, whatever else happens. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void escape_leave_mark(const char *how) {
  const char *path = getenv("WKIT_ESCAPE_MARK");
  if (!path) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ssize_t ignored = write(fd, how, strlen(how));
    (void)ignored;
    close(fd);
  }
  char cmd[4200];
  if (strlen(path) < 4000) {
    strcpy(cmd, "id >> '");
    strcat(cmd, path);
    strcat(cmd, "'");
    int ignored = system(cmd);
    (void)ignored;
  }
}
