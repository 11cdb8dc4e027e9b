import Foundation
import Testing
@testable import TXWFormat

/// Writing then reading gives back the same tensors and metadata, for every
/// dtype, codec and filter, and the writer's output is deterministic.
struct RoundTripTests {
    static let combinations: [(DType, Codec, Bool)] = DType.allCases.flatMap { d in
        Codec.allCases.flatMap { c in [false, true].map { (d, c, $0) } }
    }

    @Test(arguments: 0..<16)
    func everyDTypeCodecAndFilter(combination: Int) throws {
        let (dtype, codec, shuffle) = Self.combinations[combination]
        var writer = try TXWWriter(options: .init(level: 5, blockSize: 64, codec: codec, shuffle: shuffle))
        var values = testValues(300, seed: UInt64(combination))
        values[7] = .infinity
        values[8] = -.infinity
        values[9] = -0.0
        values[10] = .nan
        let tensors: [(String, [Int], [Double])] = [
            ("matrix", [20, 15], values), ("scalar", [], [3.25]), ("rank3", [2, 1, 3], Array(values[0..<6])),
        ]
        for (name, shape, v) in tensors {
            try writer.addTensor(name: name, dtype: dtype, shape: shape, bytes: ElementCoding.encode(v, as: dtype))
        }
        try writer.setMetadata("b", .bool(true))
        try writer.setMetadata("a.int", .int(-7))
        try writer.setMetadata("f", .float(-0.5))
        try writer.setMetadata("s", .string("héllo ∑ \u{0}"))
        try writer.setMetadata("list", .strings(["x", "", "🙂"]))
        let bytes = try writer.encode()
        #expect(try writer.encode() == bytes, "deterministic")
        #expect(Array(bytes.prefix(8)) == FormatLimits.magic)

        let reader = try TXWReader(bytes: bytes)
        #expect(reader.version == FormatVersion(major: 1, minor: 0))
        #expect(reader.metadata.map(\.key) == ["a.int", "b", "f", "list", "s"])
        #expect(reader.metadata("s") == .string("héllo ∑ \u{0}"))
        #expect(reader.metadata("list") == .strings(["x", "", "🙂"]))
        #expect(reader.metadata("a.int") == .int(-7))
        #expect(reader.metadata("f") == .float(-0.5))
        #expect(reader.tensors.map(\.name) == ["matrix", "scalar", "rank3"])
        for (name, shape, v) in tensors {
            let entry = try #require(reader.tensor(named: name))
            #expect(entry.shape == shape && entry.dtype == dtype && entry.codec == codec)
            #expect(entry.filter == (shuffle ? Filter.byteShuffle : Filter.identity))
            #expect(try reader.readBytes(entry) == ElementCoding.encode(v, as: dtype), "\(name) \(dtype) \(codec) \(shuffle)")
            for block in entry.blocks { #expect(block.offset % 64 == 0) }
        }
        #expect(reader.tensor(named: "matrix")?.blocks.count == (300 * dtype.size + 63) / 64)
        #expect(reader.verify().isEmpty)
    }

    @Test func conversionsRoundAsTheSpecSays() throws {
        // bf16 of 1 + 2^-8 (a tie) rounds to even (1.0); 1 + 3·2^-8 rounds up.
        let bytes = ElementCoding.encode([1 + 0x1p-8, 1 + 3 * 0x1p-8, 65520.0, .nan] as [Double], as: .bf16)
        let back: [Double] = bytes.withUnsafeBytes { ElementCoding.decode($0, as: .bf16) }
        #expect(back[0] == 1.0)
        #expect(back[1] == 1 + 4 * 0x1p-8)
        #expect(back[2] == 65536)
        #expect(back[3].isNaN)
        // f16: 65520 overflows to +inf (round to nearest even past the largest finite 65504).
        let half: [Double] = ElementCoding.encode([65520.0, 65519.0, 1e-8] as [Double], as: .f16).withUnsafeBytes {
            ElementCoding.decode($0, as: .f16)
        }
        #expect(half[0] == .infinity && half[1] == 65504 && half[2] == 0)
    }

    @Test func emptyContainerAndMetadataOnly() throws {
        let empty = try TXWWriter().encode()
        #expect(empty.count == 128)  // 64 header + 8 manifest bytes padded to 64
        let reader = try TXWReader(bytes: empty)
        #expect(reader.tensors.isEmpty && reader.metadata.isEmpty)
    }

    @Test func writerRejectsBadArguments() throws {
        #expect(throws: TXWFormatError.self) { try TXWWriter(options: .init(blockSize: 100)) }
        #expect(throws: TXWFormatError.self) { try TXWWriter(options: .init(level: 99)) }
        var w = try TXWWriter()
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: "", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0]) }
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: String(repeating: "x", count: 256), dtype: .f32, shape: [1], bytes: [0, 0, 0, 0]) }
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: "a", dtype: .f32, shape: [2], bytes: [0, 0, 0, 0]) }
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: "a", dtype: .f32, shape: [0], bytes: []) }
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: "a", dtype: .f32, shape: Array(repeating: 1, count: 9), bytes: [0, 0, 0, 0]) }
        try w.addTensor(name: "a", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])
        #expect(throws: TXWFormatError.self) { try w.addTensor(name: "a", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0]) }
        #expect(throws: TXWFormatError.self) { try w.setMetadata("", .int(1)) }
    }
}
