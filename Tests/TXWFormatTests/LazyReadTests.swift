import Foundation
import Testing
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
