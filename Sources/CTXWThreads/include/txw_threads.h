#ifndef TXW_THREADS_H
#define TXW_THREADS_H
// What TXWThreads needs from C: the CPU's spin-wait hint, the affinity mask
// and a barrier whose waiters spin, then sleep. Portable: each falls back to
// doing nothing / "unknown" / yielding.

#ifdef __cplusplus
extern "C" {
#endif

/// The processors this process may run on (its affinity mask), or 0 when unknown.
int txw_allowed_processors(void);

/// The CPU's spin-wait hint (x86 `pause`, Arm `yield`), for polling loops.
void txw_cpu_relax(void);

/// A barrier for a fixed number of parties, reusable phase after phase
/// (barrier.c). Opaque; one cache line per side.
typedef struct txw_barrier txw_barrier;

/// A barrier for `parties` (≥ 1) threads, or NULL (no memory, or 0 parties).
txw_barrier *txw_barrier_create(unsigned parties);

/// Frees a barrier no thread waits at.
void txw_barrier_destroy(txw_barrier *barrier);

/// Waits until all parties have arrived: polls with the spin-wait hint for up
/// to `spin_ns` nanoseconds, then sleeps (a futex on Linux; elsewhere it yields
/// in a loop).
/// Everything written by any party before it is visible to every party after it.
void txw_barrier_wait(txw_barrier *barrier, unsigned spin_ns);

/// Counts one arrival without waiting (the last arrival opens the barrier):
/// for a party that will not wait, such as one stopping threads that wait.
void txw_barrier_arrive(txw_barrier *barrier);

#ifdef __cplusplus
}
#endif
#endif
