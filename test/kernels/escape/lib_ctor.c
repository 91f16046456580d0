/* A library the linked kernel needs (DT_NEEDED): its constructor runs when
 * the kernel is loaded, before the kernel's own code. */
#include "escape.h"

__attribute__((constructor)) static void escape_from_library(void) {
  escape_leave_mark("linked library\n");
}

int escape_library_answer(void) { return 42; }
