import Dispatch
import Synchronization
import Testing
@testable import TXWKernels

/// The worker pool runs every part exactly once, whatever the part and
/// thread counts, for nested calls and for callers on several threads; and
/// the forward pass deals its chunks evenly.
@Suite(.serialized)
struct KernelPoolTests {
    /// Runs `parts` parts on `threads` threads; returns how often each ran.
    func counts(parts: Int, threads: Int) -> [Int] {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: parts)
        defer { slots.deallocate() }
        slots.initialize(repeating: 0, count: parts)
        KernelPool.shared.run(parts: parts, threads: threads) { part in slots[part] += 1 }
        return Array(UnsafeBufferPointer(start: slots, count: parts))
    }

    @Test(arguments: [2, 3, 7, 64, 4095, 5000])
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
        KernelPool.shared.run(parts: 4, threads: 2) { outer in
            KernelPool.shared.run(parts: 5, threads: 2) { inner in slots[outer * 5 + inner] += 1 }
        }
        #expect(Array(UnsafeBufferPointer(start: slots, count: 20)) == Array(repeating: 1, count: 20))
    }

    @Test func concurrentCallersAreEachServed() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 where counts(parts: 6, threads: 2) != Array(repeating: 1, count: 6) {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    @Test func partsRunWithTheCallersInstructionSet() {
        defer { KernelInstructionSet.level = -1 }
        KernelInstructionSet.level = 0
        let levels = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        defer { levels.deallocate() }
        KernelPool.shared.run(parts: 64, threads: 2) { part in levels[part] = KernelInstructionSet.level }
        #expect(Array(UnsafeBufferPointer(start: levels, count: 64)) == Array(repeating: 0, count: 64))
    }

    @Test func chunksAreDealtOnceAndEvenly() {
        for count in [1, 2, 5, 16, 17, 33] {
            for parts in 1...4 {
                let dealt = (0..<parts).map { SequenceForward.chunks(count: count, parts: parts, part: $0) }
                #expect(dealt.flatMap { $0 }.sorted() == Array(0..<count), "\(count) chunks, \(parts) parts")
                let sizes = dealt.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1, "\(count) chunks, \(parts) parts: \(sizes)")
            }
        }
        // Two parts of 16 chunks: equal shares of attention's triangle too.
        let triangle = (0..<2).map { part in
            SequenceForward.chunks(count: 16, parts: 2, part: part).reduce(0) { $0 + 2 * $1 + 1 }
        }
        #expect(triangle[0] == triangle[1])
    }
}
