#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTXWThreads
import Synchronization

/// A fixed team of threads that run one body together, member by member,
/// and meet at a barrier where the body says so: for work split into short
/// phases (a decoding step: a few microseconds between meetings), where
/// handing each phase to the shared `ThreadPool` would cost a dispatch per
/// phase.
///
/// The team's `size − 1` threads are its own (not the pool's), started by
/// `init` and joined by `deinit`: they live exactly as long as the team.
/// Between rounds they wait at the barrier: spinning with the CPU's pause
/// hint for up to `spinNanoseconds`, then sleeping on a futex (elsewhere than
/// Linux, yielding), so a team left idle — or outnumbering the processors —
/// does not hold a core.
///
/// `run(body)` runs `body(member)` for member 0 on the calling thread and
/// 1..<size on the team's threads, with a meeting before (the start) and
/// after (the end); inside, `meet()` is a meeting of all members: every
/// member must call it the same number of times in a round. Everything a
/// member wrote before a meeting is visible to every member after it, so a
/// body can split its work into phases that write disjoint memory (through
/// `UnsafeShared`, rule 1) and read each other's results after the next
/// meeting. One round at a time: `run` called while a round runs (another
/// thread's call) returns false without running anything.
package final class ThreadTeam: Sendable {
    /// Members, the calling thread included.
    package let size: Int
    private let core: Core
    /// The team's threads, joined by `deinit`. Written by `init` only.
    private let threads: [pthread_t]

    /// How long a waiting member polls before it sleeps: 1 ms, longer than a
    /// decoding step's phases and than a sleeping member takes to wake on a
    /// virtual machine (50–120 µs measured; a bound near it made members
    /// take turns sleeping, ~120 µs per meeting), and short enough that an
    /// idle team gives its cores back at once to a person's eye.
    package static let defaultSpinNanoseconds: UInt32 = 1_000_000

    /// What the team's threads share with the caller.
    ///
    /// `job` and `stopping` are written only by the thread inside `run` (or
    /// `deinit`) before the start meeting, and read by the members only
    /// after it (the barrier's release/acquire orders them); `job` is
    /// cleared after the end meeting, when no member holds it. That is why
    /// `nonisolated(unsafe)` is sound here: no two threads touch them between
    /// the same pair of meetings, one of them writing.
    fileprivate final class Core: Sendable {
        let barrier: UnsafeShared<OpaquePointer>
        let spinNanoseconds: UInt32
        nonisolated(unsafe) var job: (@Sendable (Int) -> Void)?
        nonisolated(unsafe) var stopping = false
        let busy = Atomic<Bool>(false)

        init(barrier: OpaquePointer, spinNanoseconds: UInt32) {
            self.barrier = UnsafeShared(barrier)
            self.spinNanoseconds = spinNanoseconds
        }

        deinit { txw_barrier_destroy(barrier.pointer) }

        func meet() { txw_barrier_wait(barrier.pointer, spinNanoseconds) }

        /// A member thread: one round per start meeting, until `stopping`.
        func loop(member: Int) {
            while true {
                meet()
                if stopping { return }
                runJob(member)
                meet()
            }
        }

        /// Separate (and not inlined) so that the member's reference to the
        /// job is released before it arrives at the end meeting (`run`'s
        /// `withoutActuallyEscaping` checks that none is left).
        @inline(never)
        func runJob(_ member: Int) {
            if let job { job(member) }
        }
    }

    /// A team of `size` (≥ 2) members, starting `size − 1` threads; nil when
    /// the barrier or a thread cannot be created (any threads started are
    /// stopped and joined first).
    package init?(size: Int, spinNanoseconds: UInt32 = ThreadTeam.defaultSpinNanoseconds) {
        guard size >= 2, size <= ThreadPool.maxThreads, let barrier = txw_barrier_create(UInt32(size)) else { return nil }
        let core = Core(barrier: barrier, spinNanoseconds: spinNanoseconds)
        var threads: [pthread_t] = []
        for member in 1..<size {
            let started = startPosixThread { core.loop(member: member) }
            guard let started else {
                Self.stop(threads, core: core, size: size)
                return nil
            }
            threads.append(started)
        }
        self.size = size
        self.core = core
        self.threads = threads
    }

    /// Stops and joins the team's threads: they wait at the start meeting, so
    /// the caller arrives there with `stopping` set.
    deinit { Self.stop(threads, core: core, size: size) }

    /// Sets `stopping` and completes the start meeting the started `threads`
    /// wait at — arriving for every member that is not one of them (the
    /// caller, and those whose thread could not be created), without waiting
    /// — then joins them.
    private static func stop(_ threads: [pthread_t], core: Core, size: Int) {
        guard !threads.isEmpty else { return }
        core.stopping = true
        for _ in 0..<(size - threads.count) { txw_barrier_arrive(core.barrier.pointer) }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body(member)` for every member (0 on this thread), between a
    /// start and an end meeting; returns false, running nothing, when
    /// another round is running.
    package func run(_ body: @Sendable (Int) -> Void) -> Bool {
        guard core.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { core.busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            core.job = body
            core.meet()
            body(0)
            core.meet()
            core.job = nil
        }
        return true
    }

    /// A meeting of all members (inside `run`'s body only): returns when
    /// every member has arrived.
    package func meet() { core.meet() }
}
