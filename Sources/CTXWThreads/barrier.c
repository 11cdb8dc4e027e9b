#if defined(__linux__)
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "txw_threads.h"

// A reusable barrier: `arrived` counts the parties of the current phase; the
// last to arrive resets it and bumps `generation`, which the others wait for
// (spinning with the pause hint for a bounded time, then sleeping on a futex; elsewhere than
// Linux, yielding). Each party's arrival is a release (acq_rel) on `arrived`,
// the last party's bump a release that the waiters acquire, so everything any
// party wrote before the barrier is visible to every party after it.
// `sleepers` and `generation` are sequentially consistent on both sides, so a
// party that goes to sleep either sees the bump or is woken by it.
struct txw_barrier {
    _Atomic uint32_t generation;
    _Atomic uint32_t sleepers;
    char pad1[56];
    _Atomic uint32_t arrived;
    uint32_t parties;
    char pad2[56];
};

txw_barrier *txw_barrier_create(unsigned parties) {
    if (parties == 0) return NULL;
    txw_barrier *b = aligned_alloc(64, sizeof(txw_barrier));
    if (!b) return NULL;
    atomic_init(&b->generation, 0);
    atomic_init(&b->sleepers, 0);
    atomic_init(&b->arrived, 0);
    b->parties = parties;
    return b;
}

void txw_barrier_destroy(txw_barrier *b) { free(b); }

static void txw_barrier_sleep(_Atomic uint32_t *word, uint32_t seen) {
#if defined(__linux__)
    // Returns at once if the word is no longer `seen` (EAGAIN), on a wake, or spuriously: the caller loops.
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    (void)word; (void)seen;
    sched_yield();
#endif
}

static void txw_barrier_wake(_Atomic uint32_t *word) {
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

// Counts an arrival; true when it was the last, which opens the barrier.
static int txw_barrier_count(txw_barrier *b, uint32_t seen) {
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 != b->parties) return 0;
    atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
    atomic_store_explicit(&b->generation, seen + 1, memory_order_seq_cst);
    if (atomic_load_explicit(&b->sleepers, memory_order_seq_cst) != 0) txw_barrier_wake(&b->generation);
    return 1;
}

void txw_barrier_arrive(txw_barrier *b) {
    txw_barrier_count(b, atomic_load_explicit(&b->generation, memory_order_acquire));
}

static uint64_t txw_barrier_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void txw_barrier_wait(txw_barrier *b, unsigned spin_ns) {
    uint32_t seen = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (txw_barrier_count(b, seen)) return;
    // Poll, reading the clock every 64 polls (a pause takes ~10–140 ns).
    uint64_t start = spin_ns ? txw_barrier_now() : 0;
    for (unsigned i = 1; spin_ns != 0; i++) {
        if (atomic_load_explicit(&b->generation, memory_order_acquire) != seen) return;
        txw_cpu_relax();
        if ((i & 63) == 0 && txw_barrier_now() - start >= spin_ns) break;
    }
    atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&b->generation, memory_order_seq_cst) == seen) txw_barrier_sleep(&b->generation, seen);
    atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_seq_cst);
}
