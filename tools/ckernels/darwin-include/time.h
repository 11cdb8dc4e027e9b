/* A stand-in for the macOS SDK's <time.h> for tools/ckernels/check's macOS
 * syntax check: only what Sources/CTXWThreads uses, with the SDK's types. */
typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };
typedef enum { CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 6 } clockid_t;
int clock_gettime(clockid_t, struct timespec *);
