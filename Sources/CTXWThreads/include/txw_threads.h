#ifndef TXW_THREADS_H
#define TXW_THREADS_H
// The two things TXWThreads needs from C: the CPU's spin-wait hint and the
// affinity mask. Portable: each falls back to doing nothing / "unknown".

#ifdef __cplusplus
extern "C" {
#endif

/// The processors this process may run on (its affinity mask), or 0 when unknown.
int txw_allowed_processors(void);

/// The CPU's spin-wait hint (x86 `pause`, Arm `yield`), for polling loops.
void txw_cpu_relax(void);

#ifdef __cplusplus
}
#endif
#endif
