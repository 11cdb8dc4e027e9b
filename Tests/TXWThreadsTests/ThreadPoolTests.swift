#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
import TXWThreads

/// The pool runs every part exactly once, whatever the part and thread
/// counts, for nested calls and for callers on several threads; workers run
/// the job's `prepare` before their parts; `map` keeps index order.
struct ThreadPoolTests {
    /// Runs `parts` parts on `threads` threads; returns how often each ran.
    func counts(parts: Int, threads: Int) -> [Int] {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: max(parts, 1))
        defer { slots.deallocate() }
        slots.initialize(repeating: 0, count: max(parts, 1))
        // UnsafeShared rule 1: part i writes slot i only.
        let shared = UnsafeShared(slots)
        ThreadPool.shared.run(parts: parts, threads: threads) { part in shared.pointer[part] += 1 }
        return Array(UnsafeBufferPointer(start: slots, count: parts))
    }

    @Test(arguments: [0, 1, 2, 3, 7, 64, 4095, 5000])
    func everyPartRunsOnce(parts: Int) {
        for threads in [1, 2, 3, 8] {
            for _ in 0..<20 {
                #expect(counts(parts: parts, threads: threads) == Array(repeating: 1, count: parts), "\(parts) parts, \(threads) threads")
            }
        }
    }

    @Test func nestedCallsRunEveryPart() {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 5)
        defer { slots.deallocate() }
        slots.initialize(repeating: 0, count: 20)
        let shared = UnsafeShared(slots)
        ThreadPool.shared.run(parts: 4, threads: 2) { outer in
            ThreadPool.shared.run(parts: 5, threads: 2) { inner in shared.pointer[outer * 5 + inner] += 1 }
        }
        #expect(Array(UnsafeBufferPointer(start: slots, count: 20)) == Array(repeating: 1, count: 20))
    }

    @Test func concurrentCallersAreEachServed() async {
        let failures = Atomic<Int>(0)
        // Four callers on the pool's own workers and this thread: the pool
        // serves one job at a time, the others run theirs inline.
        ThreadPool.shared.run(parts: 4, threads: 4) { _ in
            for _ in 0..<200 where counts(parts: 6, threads: 2) != Array(repeating: 1, count: 6) {
                failures.add(1, ordering: .relaxed)
            }
        }
        // And callers on threads the pool does not own (Swift's concurrency pool).
        let others = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    (0..<200).count { _ in ThreadPoolTests().counts(parts: 6, threads: 2) != Array(repeating: 1, count: 6) }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(others == 0)
    }

    /// Each worker runs `prepare` before its first part: here it records the
    /// thread, and every part checks that its thread was prepared.
    @Test func workersArePreparedBeforeTheirParts() {
        let prepared = Mutex<Set<UInt>>([])
        let unprepared = Atomic<Int>(0)
        let caller = ThreadPoolTests.threadID()
        for _ in 0..<50 {
            prepared.withLock { $0 = [] }
            ThreadPool.shared.run(parts: 16, threads: 3, prepare: {
                prepared.withLock { _ = $0.insert(ThreadPoolTests.threadID()) }
            }) { _ in
                let me = ThreadPoolTests.threadID()
                if me != caller && !prepared.withLock({ $0.contains(me) }) { unprepared.add(1, ordering: .relaxed) }
            }
        }
        #expect(unprepared.load(ordering: .relaxed) == 0)
        #expect(!prepared.withLock { $0.contains(caller) }, "the caller keeps its own settings")
    }

    static func threadID() -> UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }

    @Test(arguments: [1, 2, 3, 8])
    func mapKeepsIndexOrder(threads: Int) {
        for count in [0, 1, 2, 5, 100, 5000] {
            let squares = ThreadPool.shared.map(count, threads: threads) { $0 * $0 }
            #expect(squares == (0..<count).map { $0 * $0 }, "\(count) items, \(threads) threads")
        }
    }

    @Test func defaultsAreSane() {
        #expect(ThreadPool.processorCount >= 1)
        #expect(ThreadPool.defaultThreads >= 1 && ThreadPool.defaultThreads <= 8)
    }
}
