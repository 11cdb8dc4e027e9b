import Foundation
import Testing
import TXWTestSupport
@testable import TXWFormat

/// Opening reads only the index; reading one tensor decodes only its blocks.
struct LazyReadTests {
    @Test func readingOneTensorDecodesOnlyItsBlocks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var w = try TXWWriter(options: .init(blockSize: 4096))
        for i in 0..<20 {
            try w.addTensor(name: "t\(i)", dtype: .f32, shape: [64, 64], bytes: ElementCoding.encode(testValues(4096, seed: UInt64(i)), as: .f32))
        }
        try w.write(to: dir.file("big.txw"))
        let reader = try TXWReader(path: dir.file("big.txw"))
        #expect(reader.blocksDecoded == 0)
        let values: [Float] = try reader.read(named: "t7")
        #expect(values == testValues(4096, seed: 7).map { Float($0) })
        #expect(reader.blocksDecoded == 4, "16 KiB in 4 KiB blocks: 4 decoded, the other 76 untouched")
        #expect(throws: TXWFormatError.noSuchTensor(name: "nope")) { try reader.readBytes(named: "nope") }
    }
}

/// Blocks decode in parallel; the bytes and the reported error do not depend on the thread count.
struct ParallelDecodeTests {
    @Test func threadCountChangesNothing() throws {
        var w = try TXWWriter(options: .init(blockSize: 256))
        try w.addTensor(name: "t", dtype: .f32, shape: [64, 40], bytes: ElementCoding.encode(testValues(2560, seed: 4), as: .f32))
        var bytes = try w.encode()
        let one = try TXWReader(bytes: bytes, options: .init(decodeThreads: 1)).readBytes(named: "t")
        let four = TXWReader.Options(decodeThreads: 4)
        #expect(try TXWReader(bytes: bytes, options: four).readBytes(named: "t") == one)
        let all = try TXWReader(bytes: bytes, options: four).readAllBytes()
        #expect(all.ranges == [0..<one.count] && all.bytes == one)
        // Damage blocks 7 and 30: the lowest, 7, is reported whatever the order of decoding.
        let entry = try #require(try TXWReader(bytes: bytes).tensor(named: "t"))
        bytes[entry.blocks[30].offset] ^= 1
        bytes[entry.blocks[7].offset] ^= 1
        for threads in [1, 4] {
            let options = TXWReader.Options(decodeThreads: threads)
            let error = try #require(throws: TXWFormatError.self) { try TXWReader(bytes: bytes, options: options).readBytes(named: "t") }
            guard case let .blockChecksum(_, block, _, _, _) = error else {
                Issue.record("expected a block checksum error, got \(error)")
                continue
            }
            #expect(block == 7)
            let whole = try #require(throws: TXWFormatError.self) { try TXWReader(bytes: bytes, options: options).readAllBytes() }
            #expect(whole == error, "readAllBytes reports the same first damaged block")
        }
    }
}
