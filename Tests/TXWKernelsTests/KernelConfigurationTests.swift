import Synchronization
import Testing
import TXWThreads
@testable import TXWKernels

/// A `KernelConfiguration` applies to its computation only: the pool's
/// workers compute with the caller's instruction set, computations with
/// different configurations run side by side, and the forward pass deals its
/// chunks evenly. (The pool itself: Tests/TXWThreadsTests.)
struct KernelConfigurationTests {
    @Test(arguments: [0, 1, 2])
    func partsRunWithTheCallersInstructionSet(level: Int) {
        let configuration = KernelConfiguration(threads: 2, instructionSetLevel: level)
        let expected = configuration.effectiveLevel
        let levels = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        defer { levels.deallocate() }
        // UnsafeShared rule 1: part i writes slot i only.
        let shared = UnsafeShared(levels)
        configuration.applied {
            KernelThreads.parallel(64) { part in shared.pointer[part] = KernelInstructionSet.level }
        }
        #expect(Array(UnsafeBufferPointer(start: levels, count: 64)) == Array(repeating: expected, count: 64))
    }

    /// `applied` sets this thread's configuration for the call only, nested
    /// calls included; outside one, the thread computes with `.default`.
    @Test func appliedIsScopedToTheCall() {
        let outer = KernelConfiguration(threads: 3, instructionSetLevel: 0)
        let inner = KernelConfiguration(threads: 1, instructionSetLevel: nil)
        #expect(KernelConfiguration.current == .default)
        outer.applied {
            #expect(KernelConfiguration.current == outer)
            #expect(KernelInstructionSet.level == 0)
            inner.applied {
                #expect(KernelConfiguration.current == inner)
                #expect(KernelInstructionSet.level == KernelConfiguration.default.effectiveLevel)
            }
            #expect(KernelConfiguration.current == outer)
            #expect(KernelInstructionSet.level == 0)
        }
        #expect(KernelConfiguration.current == .default)
        #expect(KernelInstructionSet.level == KernelConfiguration.default.effectiveLevel)
    }

    /// Threads computing with different levels at the same time each keep their own.
    @Test func concurrentComputationsKeepTheirConfigurations() async {
        let wrong = await withTaskGroup(of: Int.self) { group in
            for level in [0, 1, 2, 0, 1, 2] {
                group.addTask {
                    let configuration = KernelConfiguration(threads: 2, instructionSetLevel: level)
                    let expected = configuration.effectiveLevel
                    let wrong = Atomic<Int>(0)
                    for _ in 0..<50 {
                        configuration.applied {
                            KernelThreads.parallel(8) { _ in
                                if KernelInstructionSet.level != expected || KernelThreads.count != 2 { wrong.add(1, ordering: .relaxed) }
                            }
                        }
                    }
                    return wrong.load(ordering: .relaxed)
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wrong == 0)
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
