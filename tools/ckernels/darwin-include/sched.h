/* A stand-in for the macOS SDK's <sched.h> (tools/ckernels/check): the
 * kernels use nothing of it outside Linux. */
