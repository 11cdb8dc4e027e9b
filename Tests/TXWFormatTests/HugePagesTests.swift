#if os(Linux)  // madvise(MADV_HUGEPAGE) and /proc/self/smaps are Linux-only
import Glibc
import Foundation
import Testing
import TXWTestSupport
@testable import TXWFormat
import TXWThreads

/// Large decode buffers are advised to use huge pages (on Linux), small ones
/// are left alone, and the advice never changes what is read.
struct HugePagesTests {
    func flags(at address: UInt) -> [String]? { mappingFlags(at: address) }

    func anonymousMapping(_ count: Int) throws -> UnsafeMutableRawBufferPointer {
        let base = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let mapped = try #require(base == MAP_FAILED ? nil : base)
        return UnsafeMutableRawBufferPointer(start: mapped, count: count)
    }

    @Test func largeBuffersAreAdvisedSmallOnesNot() throws {
        let thp = FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")
        guard thp else { return }  // a kernel without transparent huge pages: nothing to advise
        // Mappings of their own: a heap buffer may share its mapping with
        // memory another test (running in parallel) advised.
        let large = try anonymousMapping(16 << 20)
        defer { munmap(large.baseAddress, large.count) }
        let small = try anonymousMapping(1 << 20)
        defer { munmap(small.baseAddress, small.count) }
        HugePages.advise(large)
        HugePages.advise(small)
        let middle = UInt(bitPattern: large.baseAddress!) + UInt(8 << 20)
        #expect(flags(at: middle)?.contains("hg") == true, "the interior of a 16 MiB buffer is advised")
        let smallMiddle = UInt(bitPattern: small.baseAddress!) + UInt(1 << 19)
        #expect(flags(at: smallMiddle)?.contains("hg") == false, "a 1 MiB buffer is not")
    }

    @Test func readingALargeFileGivesTheWrittenBytes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var w = try TXWWriter(options: .init(blockSize: 1 << 20))
        let values = testValues(3 << 20, seed: 11)
        try w.addTensor(name: "big", dtype: .f32, shape: [3 << 20], bytes: ElementCoding.encode(values, as: .f32))
        try w.write(to: dir.file("big.txw"))
        for threads in [1, 2] {
            for hugePages in [true, false] {
                let reader = try TXWReader(path: dir.file("big.txw"), options: .init(decodeThreads: threads, hugePages: hugePages))
                let all = try reader.readAllBytes()
                #expect(all.bytes == ElementCoding.encode(values, as: .f32), "\(threads) threads, huge pages \(hugePages)")
            }
        }
    }

    /// `Options.hugePages` is per reader: off, the decoded buffer is not advised.
    @Test func hugePageAdviceIsAnOption() throws {
        guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled") else { return }
        var w = try TXWWriter(options: .init(blockSize: 1 << 20))
        // 36 MiB: above malloc's largest mmap threshold (32 MiB), so the
        // decoded buffer is a mapping of its own, advised by this read only.
        try w.addTensor(name: "big", dtype: .f32, shape: [9 << 20], bytes: [UInt8](repeating: 0, count: 36 << 20))
        let file = try w.encode()
        for hugePages in [true, false] {
            let all = try TXWReader(bytes: file, options: .init(decodeThreads: 2, hugePages: hugePages)).readAllBytes()
            let middle = all.bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) + UInt(8 << 20) }
            #expect(flags(at: middle)?.contains("hg") == hugePages, "hugePages \(hugePages)")
        }
    }
}

/// The writer's bytes do not depend on its thread count.
struct ParallelEncodeTests {
    @Test func threadCountChangesNothing() throws {
        var encoded: [[UInt8]] = []
        for threads in [1, 2, 3] {
            var w = try TXWWriter(options: .init(blockSize: 512, threads: threads))
            try w.setMetadata("k", .string("v"))
            for i in 0..<3 {
                try w.addTensor(name: "t\(i)", dtype: .f32, shape: [40, 33], bytes: ElementCoding.encode(testValues(1320, seed: UInt64(i)), as: .f32))
            }
            encoded.append(try w.encode())
        }
        #expect(encoded[0] == encoded[1] && encoded[0] == encoded[2])
    }
}
#endif
