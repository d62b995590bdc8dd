/*
 * Preloaded before libfaketime by ./run: sleeps and waits on a clock other than
 * CLOCK_REALTIME go straight to the kernel.
 *
 * Why: with FAKETIME_DONT_FAKE_MONOTONIC=1 (needed, or Python's timed waits on the
 * monotonic clock never end), libfaketime 0.9.10 still rewrites the deadline of an
 * absolute clock_nanosleep on CLOCK_MONOTONIC as if that clock were shifted, so
 * time.sleep() sleeps for the whole offset. Only the wall clock is meant to move.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *request,
                    struct timespec *remaining)
{
    if (clock != CLOCK_REALTIME) {
        /* clock_nanosleep returns the error number, not -1 (POSIX). */
        return syscall(SYS_clock_nanosleep, clock, flags, request, remaining) == 0 ? 0 : errno;
    }
    static clock_nanosleep_fn next;
    if (next == NULL) {
        next = (clock_nanosleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
    }
    return next(clock, flags, request, remaining);
}
