/* A stand-in for the macOS SDK's <sched.h> for tools/ckernels/check's macOS
 * syntax check: only what Sources/CTXWThreads uses, with the SDK's signature. */
int sched_yield(void);
