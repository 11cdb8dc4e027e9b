#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTXWThreads
import Synchronization

/// The one pool of worker threads: the kernels' parallel regions, the
/// reader's block decoding and the writer's block compression all run here.
///
/// A forward pass runs a handful of parallel regions a few hundred
/// microseconds apart. Handing each one to a parked thread costs a wake-up,
/// and on a virtual machine waking an idle processor can take longer than the
/// region itself. So workers are started once and kept; after each job they
/// spin (with the CPU's pause hint) for up to `spinNanoseconds` before they
/// sleep on a condition variable, and the caller works on the first part
/// itself.
///
/// One job at a time: a call made while a job runs (a nested call from inside
/// a part, or another thread's call) runs its parts on its own thread, in
/// order. Parts are claimed through one atomic word holding the job's
/// generation, so a worker that wakes late never runs a part of a job that
/// has ended; a part's body is read only after its claim succeeds.
///
/// Parts are `@Sendable`: to write memory another part or the caller sees, a
/// part goes through `UnsafeShared` (its rules say when that is safe) or
/// returns its result through `map`. Which part runs on which thread is not
/// fixed, so results must not depend on it or on the thread count: callers
/// split work so that each output is computed by one part in a fixed order.
package final class ThreadPool: Sendable {
    /// The pool every module uses.
    package static let shared = ThreadPool()

    /// The processors this process may run on (its affinity mask, which a
    /// container or `taskset` narrows), else the online count.
    package static let processorCount: Int = {
        let allowed = Int(txw_allowed_processors())
        if allowed > 0 { return allowed }
        return max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
    }()

    /// The default number of threads for a job: the processors, at most 8.
    package static let defaultThreads = min(processorCount, 8)

    /// How long an idle worker keeps polling before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000
    /// Jobs with more parts than this run on the calling thread.
    package static let maxParts = 0xFFF
    /// At most this many threads take part in a job.
    package static let maxThreads = 0xFF

    private struct Job {
        var body: @Sendable (Int) -> Void
        var prepare: @Sendable () -> Void
    }

    /// The job being run. Safe without a lock because: it is written only by
    /// the thread that holds `busy`, and only while no part can be claimed
    /// (set before the job's claim word is published with a release store,
    /// cleared after every part has finished, which the caller acquires); a
    /// worker reads it only after a successful claim (acquire) of a part of
    /// that very job, and the caller waits for that part to finish before it
    /// clears the job, so every read sees the value the claim published.
    private nonisolated(unsafe) var job: Job?
    private let busy = Atomic<Bool>(false)
    /// Bumped for every job; workers wait for it to change.
    private let generation = Atomic<UInt64>(0)
    /// generation (high 32 bits) | threads (8 bits) | parts (12 bits) | next
    /// unclaimed part (12 bits): everything a worker may read before it owns a part.
    private let claim = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let parking = Parking()
    private let started = Mutex<Int>(0)

    private init() {}

    /// Runs `body(part)` for part in 0..<parts on up to `threads` threads
    /// (this one included), each part exactly once; returns when all are done.
    /// Each worker thread that takes part calls `prepare` once, before its
    /// first part of the job (the kernels copy the caller's per-thread
    /// settings there); the calling thread does not.
    package func run(
        parts: Int, threads: Int, prepare: @Sendable () -> Void = {}, _ body: @Sendable (Int) -> Void
    ) {
        let threads = min(threads, Self.maxThreads)
        guard parts > 1, threads > 1, parts <= Self.maxParts,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for part in 0..<parts { body(part) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        startWorkers(threads - 1)
        withoutActuallyEscaping(body) { body in
            withoutActuallyEscaping(prepare) { prepare in
                job = Job(body: body, prepare: prepare)
                finished.store(0, ordering: .relaxed)
                let next = generation.load(ordering: .relaxed) &+ 1
                claim.store((next & 0xFFFF_FFFF) << 32 | UInt64(threads) << 24 | UInt64(parts) << 12, ordering: .releasing)
                generation.store(next, ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 { parking.wakeAll() }
                let done = work(generation: next)
                var spins = 0
                while finished.load(ordering: .acquiring) + done < parts {
                    spins += 1
                    if spins & 1023 == 0 { sched_yield() } else { txw_cpu_relax() }
                }
                job = nil
            }
        }
    }

    /// `transform(i)` for every i in 0..<count, in index order, computed on
    /// up to `threads` threads that claim indices one at a time (so items of
    /// uneven cost spread evenly). Each result lands in its own slot: the
    /// array does not depend on the thread count.
    package func map<R: Sendable>(
        _ count: Int, threads: Int, prepare: @Sendable () -> Void = {}, _ transform: @Sendable (Int) -> R
    ) -> [R] {
        let parts = min(max(threads, 1), count)
        guard parts > 1 else { return (0..<count).map(transform) }
        let slots = UnsafeMutablePointer<R?>.allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        defer {
            slots.deinitialize(count: count)
            slots.deallocate()
        }
        // UnsafeShared rule 1: the counter hands out each index once, so each
        // slot is written by one part; the caller reads them after `run`.
        let shared = UnsafeShared(slots)
        let next = Atomic<Int>(0)
        run(parts: parts, threads: parts, prepare: prepare) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                shared.pointer[i] = transform(i)
            }
        }
        return (0..<count).map { slots[$0]! }
    }

    /// Claims and runs parts of job `generation` until none is left; returns
    /// how many this thread ran (workers add theirs to `finished` as they go).
    private func work(generation g: UInt64, worker: Bool = false) -> Int {
        var done = 0
        var prepared = !worker
        var state = claim.load(ordering: .acquiring)
        while state >> 32 == g & 0xFFFF_FFFF {
            let parts = Int((state >> 12) & 0xFFF), part = Int(state & 0xFFF)
            if part >= parts { break }
            let (exchanged, original) = claim.compareExchange(
                expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
            guard exchanged else {
                state = original
                continue
            }
            // The claim succeeded, so the job is still running and `job` is its.
            runPart(part, prepare: !prepared)
            prepared = true
            if worker { finished.add(1, ordering: .releasing) } else { done += 1 }
            state = claim.load(ordering: .acquiring)
        }
        return done
    }

    /// Runs one claimed part. A separate function so that every reference
    /// to the job's closures is released before the part counts as finished
    /// (the caller's `withoutActuallyEscaping` checks that none is left).
    @inline(never)
    private func runPart(_ part: Int, prepare: Bool) {
        guard let current = job else { return }
        if prepare { current.prepare() }
        current.body(part)
    }

    private func startWorkers(_ count: Int) {
        started.withLock { n in
            while n < count {
                n += 1
                let index = n
                guard let thread = startPosixThread({ self.workerLoop(index: index) }) else {
                    // No thread: the parts it would have claimed run on the others.
                    n = count
                    return
                }
                pthread_detach(thread)
            }
        }
    }

    private func workerLoop(index: Int) -> Never {
        var seen = generation.load(ordering: .acquiring)
        var spin = true
        while true {
            seen = waitForJob(after: seen, spin: spin)
            // Only the first threads − 1 workers take part in a job; the
            // others sleep until the next one rather than poll beside them.
            let state = claim.load(ordering: .acquiring)
            spin = index < Int((state >> 24) & 0xFF)
            if state >> 32 == seen & 0xFFFF_FFFF, spin {
                _ = work(generation: seen, worker: true)
            }
        }
    }

    /// Spins (if `spin`), then sleeps, until the generation differs from `seen`; returns it.
    private func waitForJob(after seen: UInt64, spin: Bool) -> UInt64 {
        let start = Self.now()
        var spins = 0
        while true {
            let g = generation.load(ordering: .acquiring)
            if g != seen { return g }
            spins += 1
            if spins & 255 != 0 {
                txw_cpu_relax()
                continue
            }
            if spin && Self.now() &- start < Self.spinNanoseconds { continue }
            parking.lock()
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen { parking.wait() }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            parking.unlock()
        }
    }

    private static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// The condition variable idle workers sleep on. Safe as `@unchecked
    /// Sendable` because: the mutex and the condition are allocated and
    /// initialised once, in `init`, before the object is shared, never
    /// freed (the pool lives for the whole process), and after that touched
    /// only through pthread calls, which are made for use from any thread.
    private final class Parking: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        private let condition: UnsafeMutablePointer<pthread_cond_t>

        init() {
            mutex = .allocate(capacity: 1)
            condition = .allocate(capacity: 1)
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        func wakeAll() {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }

        func lock() { pthread_mutex_lock(mutex) }
        func unlock() { pthread_mutex_unlock(mutex) }
        /// Sleeps until `wakeAll` (or spuriously); the mutex must be held.
        func wait() { pthread_cond_wait(condition, mutex) }
    }
}
