import Foundation
import Testing
@testable import TXWFormat

/// Damaged files are rejected with an error that says what and where.
struct CorruptionTests {
    /// A small multi-tensor file covering both codecs and filters.
    static func sampleFile() throws -> [UInt8] {
        var w = try TXWWriter(options: .init(blockSize: 64))
        try w.setMetadata("name", .string("sample"))
        try w.setMetadata("tokens", .strings(["a", "b"]))
        try w.addTensor(name: "z", dtype: .f32, shape: [40], bytes: ElementCoding.encode(testValues(40, seed: 1), as: .f32))
        try w.addTensor(name: "s", dtype: .f16, shape: [3, 7], bytes: ElementCoding.encode(testValues(21, seed: 2), as: .f16), codec: .stored, shuffle: false)
        try w.addTensor(name: "t", dtype: .f64, shape: [5], bytes: ElementCoding.encode(testValues(5, seed: 3), as: .f64), codec: .stored, shuffle: true)
        return try w.encode()
    }

    /// Opens and fully verifies; the first problem, or nil if the file is intact.
    static func firstProblem(_ bytes: [UInt8]) -> TXWFormatError? {
        do {
            let reader = try TXWReader(bytes: bytes)
            return reader.verify().first
        } catch let error as TXWFormatError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func everyByteFlipIsDetected() throws {
        let good = try Self.sampleFile()
        #expect(Self.firstProblem(good) == nil)
        for offset in good.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var bad = good
                bad[offset] ^= mask
                #expect(Self.firstProblem(bad) != nil, "flip \(mask) at \(offset) went unnoticed")
            }
        }
    }

    @Test func everyTruncationIsDetected() throws {
        let good = try Self.sampleFile()
        for length in 0..<good.count {
            let error = Self.firstProblem(Array(good.prefix(length)))
            #expect(error?.category == "truncated", "truncated to \(length): \(String(describing: error))")
        }
        var longer = good
        longer.append(0)
        #expect(Self.firstProblem(longer)?.category == "layout")
    }

    @Test func errorsNameThePlace() throws {
        let good = try Self.sampleFile()
        let reader = try TXWReader(bytes: good)
        let z = try #require(reader.tensor(named: "z"))
        var bad = good
        bad[z.blocks[1].offset + 3] ^= 0x10
        let error = try #require(Self.firstProblem(bad))
        guard case let .blockChecksum(tensor, block, offset, expected, _) = error else {
            Issue.record("expected a block checksum error, got \(error)")
            return
        }
        #expect(tensor == "z" && block == 1 && offset == z.blocks[1].offset && expected == z.blocks[1].checksum)
        #expect(error.description.contains("tensor 'z' block 1 at offset \(z.blocks[1].offset)"))

        var magic = good
        magic[1] = UInt8(ascii: "P")
        #expect(Self.firstProblem(magic)?.category == "badMagic")
        var version = good
        version[8] = 2
        #expect(Self.firstProblem(version) == .unsupportedVersion(major: 2, minor: 0))
        var header = good
        header[20] ^= 1
        #expect(Self.firstProblem(header)?.category == "headerChecksum")
        var manifest = good
        manifest[70] ^= 1
        #expect(Self.firstProblem(manifest)?.category == "manifestChecksum")
        #expect(Self.firstProblem([]) == .truncated(what: "header", offset: 0, needed: 64, fileSize: 0))
        #expect(Self.firstProblem(Array("PK\u{3}\u{4} not txw at all".utf8))?.category == "badMagic")
    }

    @Test func readersNeverAcceptAnotherFormat() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 100)
        #expect(Self.firstProblem(png)?.category == "badMagic")
    }
}
