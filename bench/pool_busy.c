/* busy10ms's work as a shared library, so bench/pool_dask.py runs the very
 * same loop (through ctypes) on Dask as wpool's workers run in the kernel. */
#include "busy.h"

unsigned long long pool_busy_work(void) { return busy_work(BUSY_ITERATIONS); }
