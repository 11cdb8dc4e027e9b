import Testing
@testable import TXWFormat

/// The writer's duplicate-name check is a set lookup: adding 2N tensors
/// does twice the work of adding N, not four times (issue 12, class 3).
struct WriterComplexityTests {
    static func writer(tensors n: Int) throws -> TXWWriter {
        var writer = try TXWWriter(options: .init(codec: .stored, threads: 1))
        for i in 0..<n {
            try writer.addTensor(name: "t\(1_000_000 + i)", dtype: .f32, shape: [], bytes: [0, 0, 128, 63])
        }
        return writer
    }

    @Test func duplicateCheckWorkIsLinear() throws {
        let small = try Self.writer(tensors: 1000)
        let large = try Self.writer(tensors: 2000)
        // Every name is 8 bytes and hashed once.
        #expect(small.nameBytesHashed == 8 * 1000)
        #expect(large.nameBytesHashed == 8 * 2000)
    }

    @Test func duplicatesAreStillFoundByTheirBytes() throws {
        var writer = try Self.writer(tensors: 50)
        let error = try #require(throws: TXWFormatError.self) {
            try writer.addTensor(name: "t1000017", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])
        }
        #expect(error.description.contains("added twice"))
        // Canonically equivalent names with different bytes are different names, as before.
        try writer.addTensor(name: "\u{E9}", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])
        try writer.addTensor(name: "e\u{301}", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])
        // A refused tensor leaves no trace: the name can be added afterwards.
        #expect(throws: TXWFormatError.self) { try writer.addTensor(name: "late", dtype: .f32, shape: [2], bytes: [0]) }
        try writer.addTensor(name: "late", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])
        let reader = try TXWReader(bytes: writer.encode())
        #expect(reader.tensors.count == 53)
        #expect(reader.tensors.map(\.name).suffix(3) == ["\u{E9}", "e\u{301}", "late"])
        #expect(try writer.encode() == writer.encode())
    }
}
