#if os(Linux)  // madvise(MADV_HUGEPAGE) and /proc/self/smaps are Linux-only
import Foundation
import Testing
import TXWTestSupport
@testable import TXWKernels

/// An activation cache of 8 MiB or more keeps its values in memory advised
/// to use huge pages (the reader's rule for its buffers; `HugePagesTests`
/// check that small buffers are left alone, on mappings of their own: a
/// small cache lives in the heap, whose pages other tests' buffers may have
/// been advised). The advice changes no value (the cache's tests check those).
struct ActivationStorageTests {
    @Test func largeCachesAreAdvised() throws {
        guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled") else { return }
        // f64, 2 blocks of 4 heads, m = 256: the scores and patterns alone are 2 · 2 · 4 · 256² values, 8 MiB.
        let h = Hyperparameters(vocabSize: 16, dModel: 16, nHead: 4, dHead: 4, dMLP: 32, nBlock: 2)
        let weights = try AdamWBoundaryTests.model(h, seed: 7)
        let large = try weights.activations(for: (0..<256).map { $0 % 16 }, configuration: KernelConfiguration(threads: 1))
        let largeBytes = large.storage.count * 8
        #expect(largeBytes >= 8 << 20)
        let middle = large.storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress!) + UInt(largeBytes / 2) }
        #expect(mappingFlags(at: middle)?.contains("hg") == true, "the interior of a \(largeBytes)-byte cache is advised")
    }
}
#endif
