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

    /// The public layer kernels take a configuration too: the result does
    /// not depend on the thread count, and the instruction set is the one
    /// asked for (level 0 rounds differently from the FMA levels).
    @Test func layerKernelsTakeAConfiguration() throws {
        var rng = NumpyRandom(seed: 11)
        func tensor(_ shape: [Int]) throws -> Tensor<Double> {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.random() - 0.5 })
        }
        let (m, d, dh, h, f, V) = (40, 16, 8, 2, 32, 24)
        let x = try tensor([m, d])
        let block = try BlockWeights(
            W_1: tensor([d, f]), b_1: tensor([f]), W_2: tensor([f, d]), b_2: tensor([d]),
            W_Q: tensor([d, dh, h]), W_K: tensor([d, dh, h]), W_V: tensor([d, dh, h]), W_O: tensor([h * dh, d]))
        let W_E = try tensor([V, d])
        func all(_ c: KernelConfiguration) throws -> [[Double]] {
            [
                try Kernels.attention(x, W_Q: block.W_Q, W_K: block.W_K, W_V: block.W_V, W_O: block.W_O, configuration: c).scalars,
                try Kernels.mlp(x, W_1: block.W_1, b_1: block.b_1, W_2: block.W_2, b_2: block.b_2, configuration: c).scalars,
                try Kernels.block(x, weights: block, configuration: c).scalars,
                try Kernels.unembed(x, W_E: W_E, configuration: c).scalars,
            ]
        }
        #expect(try all(KernelConfiguration(threads: 1)) == all(KernelConfiguration(threads: 3)))
        let baseline = KernelConfiguration(threads: 2, instructionSetLevel: 0)
        #expect(try all(baseline) == all(KernelConfiguration(threads: 3, instructionSetLevel: 0)))
        if KernelConfiguration.default.effectiveLevel > 0 {
            // Multiply-then-add (level 0) and fused multiply-add round differently somewhere.
            #expect(try all(baseline) != all(.default))
        }
    }
}
