import Testing
import TXWFormat

/// The public reading API trusts no caller: an index entry is honoured only
/// by the reader it came from (its block offsets are trusted inside).
struct PublicBoundaryTests {
    @Test func anEntryOfAnotherFileIsRefused() throws {
        var small = try TXWWriter(options: .init(blockSize: 64))
        try small.addTensor(name: "t", dtype: .f32, shape: [16], bytes: ElementCoding.encode([Float](repeating: 1, count: 16), as: .f32))
        var large = try TXWWriter(options: .init(blockSize: 64))
        try large.addTensor(name: "pad", dtype: .f32, shape: [256], bytes: ElementCoding.encode([Float](repeating: 2, count: 256), as: .f32))
        try large.addTensor(name: "t", dtype: .f32, shape: [64], bytes: ElementCoding.encode([Float](repeating: 3, count: 64), as: .f32))
        let smallReader = try TXWReader(bytes: small.encode(), name: "small")
        let largeReader = try TXWReader(bytes: large.encode(), name: "large")
        let foreign = try #require(largeReader.tensor(named: "t"))
        // Same name, other blocks: reading it through the small file's reader
        // would read past that file's bytes.
        #expect(throws: TXWFormatError.noSuchTensor(name: "t")) { try smallReader.readBytes(foreign) }
        let own = try #require(smallReader.tensor(named: "t"))
        #expect(try smallReader.readBytes(own) == ElementCoding.encode([Float](repeating: 1, count: 16), as: .f32))
        #expect(try largeReader.readBytes(foreign) == ElementCoding.encode([Float](repeating: 3, count: 64), as: .f32))
    }
}
