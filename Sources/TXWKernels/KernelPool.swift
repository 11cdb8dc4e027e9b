#if canImport(Glibc)
import Glibc
#endif
import CTXWKernels
import Synchronization

/// The persistent worker threads behind `KernelThreads.parallel`.
///
/// A forward pass runs a handful of parallel regions a few hundred
/// microseconds apart. Handing each one to a parked thread costs a wake-up,
/// and on a virtual machine waking an idle processor can take longer than the
/// region itself. So workers spin (with the CPU's pause hint) for up to
/// `spinNanoseconds` after each region before they sleep on a condition
/// variable, and the caller works on the first part itself.
///
/// One job at a time: a call made while a job runs (a nested call from inside
/// a part, or another thread's call) runs its parts on its own thread, in
/// order. Parts are claimed through one atomic word holding the job's
/// generation, so a worker that wakes late never runs a part of a job that
/// has ended; a part's body is read only after its claim succeeds.
final class KernelPool: @unchecked Sendable {
    static let shared = KernelPool()

    /// How long an idle worker keeps polling before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000
    /// Jobs with more parts than this run on the calling thread.
    static let maxParts = 0xFFF
    /// At most this many threads take part in a job.
    static let maxThreads = 0xFF

    private struct Job {
        var body: (Int) -> Void
        var level: Int32
    }

    /// The job being run; written only by the thread holding `busy`, before
    /// the job's generation is published.
    private nonisolated(unsafe) var job: Job?
    private let busy = Atomic<Bool>(false)
    /// Bumped for every job; workers wait for it to change.
    private let generation = Atomic<UInt64>(0)
    /// generation (high 32 bits) | threads (8 bits) | parts (12 bits) | next
    /// unclaimed part (12 bits): everything a worker may read before it owns a part.
    private let claim = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let started = Mutex<Int>(0)

    private init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    /// Runs `body(part)` for part in 0..<parts on up to `threads` threads
    /// (this one included), each part exactly once; returns when all are done.
    func run(parts: Int, threads: Int, _ body: (Int) -> Void) {
        let threads = min(threads, Self.maxThreads)
        guard parts > 1, threads > 1, parts <= Self.maxParts,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for part in 0..<parts { body(part) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        startWorkers(threads - 1)
        withoutActuallyEscaping(body) { escaping in
            job = Job(body: escaping, level: txw_kernel_level())
            finished.store(0, ordering: .relaxed)
            let next = generation.load(ordering: .relaxed) &+ 1
            claim.store((next & 0xFFFF_FFFF) << 32 | UInt64(threads) << 24 | UInt64(parts) << 12, ordering: .releasing)
            generation.store(next, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            let done = work(generation: next)
            var spins = 0
            while finished.load(ordering: .acquiring) + done < parts {
                spins += 1
                if spins & 1023 == 0 { sched_yield() } else { txw_cpu_relax() }
            }
            job = nil
        }
    }

    /// Claims and runs parts of job `generation` until none is left; returns
    /// how many this thread ran (workers add theirs to `finished` as they go).
    private func work(generation g: UInt64, worker: Bool = false) -> Int {
        var done = 0
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
            runPart(part, worker: worker)
            if worker { finished.add(1, ordering: .releasing) } else { done += 1 }
            state = claim.load(ordering: .acquiring)
        }
        return done
    }

    /// Runs one claimed part. A separate function so that every reference
    /// to the job's body is released before the part counts as finished (the
    /// caller's `withoutActuallyEscaping` checks that none is left).
    @inline(never)
    private func runPart(_ part: Int, worker: Bool) {
        guard let current = job else { return }
        if worker { txw_set_kernel_level(current.level) }
        current.body(part)
    }

    private func startWorkers(_ count: Int) {
        started.withLock { n in
            while n < count {
                n += 1
                let context = Unmanaged.passRetained(WorkerContext(pool: self, index: n)).toOpaque()
                var thread = pthread_t()
                let status = pthread_create(&thread, nil, { raw in
                    guard let raw else { return nil }
                    let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
                    context.pool.workerLoop(index: context.index)
                }, context)
                if status != 0 {
                    // No thread: the parts it would have claimed run on the others.
                    Unmanaged<WorkerContext>.fromOpaque(context).release()
                    n = count
                    return
                }
                pthread_detach(thread)
            }
        }
    }

    private final class WorkerContext {
        let pool: KernelPool
        let index: Int
        init(pool: KernelPool, index: Int) { (self.pool, self.index) = (pool, index) }
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
            pthread_mutex_lock(mutex)
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                pthread_cond_wait(condition, mutex)
            }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            pthread_mutex_unlock(mutex)
        }
    }

    private static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}
