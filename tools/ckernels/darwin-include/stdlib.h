/* A stand-in for the macOS SDK's <stdlib.h> (the SDK is not on Linux) for
 * tools/ckernels/check's macOS syntax check: only what Sources/CTXWKernels
 * and Sources/CTXWThreads use, with the SDK's signatures. */
#include <stddef.h>
char *getenv(const char *);
void *malloc(size_t);
void free(void *);
void *aligned_alloc(size_t, size_t);
