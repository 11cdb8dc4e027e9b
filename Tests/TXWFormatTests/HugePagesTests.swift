import Foundation
import Testing
import TXWTestSupport
@testable import TXWFormat

/// Large decode buffers are advised to use huge pages (on Linux), small ones
/// are left alone, and the advice never changes what is read.
struct HugePagesTests {
    /// The VmFlags of the mapping holding `address`, from /proc/self/smaps.
    func flags(at address: UInt) -> [String]? {
        // /proc files report size 0: read them to the end.
        guard let file = fopen("/proc/self/smaps", "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let smaps = String(decoding: bytes, as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, line.hasPrefix("VmFlags:") {
                return fields.dropFirst().map(String.init)
            }
        }
        return nil
    }

    @Test func largeBuffersAreAdvisedSmallOnesNot() throws {
        let thp = FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")
        guard thp else { return }  // a kernel without transparent huge pages: nothing to advise
        let large = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 20, alignment: 64)
        defer { large.deallocate() }
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { small.deallocate() }
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
        let reader = try TXWReader(path: dir.file("big.txw"))
        let saved = TXWReader.decodeThreads
        defer { TXWReader.decodeThreads = saved }
        for threads in [1, 2] {
            TXWReader.decodeThreads = threads
            let all = try reader.readAllBytes()
            #expect(all.bytes == ElementCoding.encode(values, as: .f32), "\(threads) threads")
        }
    }
}

/// The reader's thread team runs every part exactly once and joins them all.
struct ThreadTeamTests {
    @Test func everyPartRunsOnceOnItsOwnThread() {
        for parts in 0...5 {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(parts, 1))
            defer { counts.deallocate() }
            counts.initialize(repeating: 0, count: max(parts, 1))
            nonisolated(unsafe) let slots = counts
            ThreadTeam.run(parts: parts) { part in slots[part] += 1 }
            #expect(Array(UnsafeBufferPointer(start: counts, count: parts)) == Array(repeating: 1, count: parts), "\(parts) parts")
        }
    }
}
