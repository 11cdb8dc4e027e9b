import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// The format's stability test: samples/golden.txw, written once, must load
/// to the same values in every later version. Its contents follow a formula
/// (also in tools/python/tests), so the expectation is not copied from a reader.
struct GoldenFileTests {
    static let path = repositoryRoot.appendingPathComponent("samples/golden.txw").path
    static let h = Hyperparameters(vocabSize: 6, dModel: 4, nHead: 2, dHead: 2, dMLP: 8, nBlock: 2)
    static let vocab = ["h", "e", "l", "o", " ", "!"]
    static let userMetadata: [String: MetadataValue] = [
        "name": .string("golden"), "description": .string("txw format stability sample"),
        "golden.int": .int(-42), "golden.float": .float(0.1), "golden.bool": .bool(true),
        "golden.strings": .strings(["x", "", "ü∑"]),
    ]

    /// Tensor t (canonical order), element i: ((7i + 3t) mod 23 − 11) / 8.
    static func value(tensor t: Int, element i: Int) -> Double { Double((i * 7 + t * 3) % 23 - 11) / 8 }
    static func dtype(_ t: Int) -> DType { [DType.f32, .f64, .f16, .bf16][t % 4] }
    static func shuffle(_ t: Int) -> Bool { (t / 4) % 2 == 0 }
    static func codec(_ t: Int) -> Codec { (t / 8) % 2 == 0 ? .zstd : .stored }

    /// Writes samples/golden.txw. Run once, by hand: TXW_WRITE_GOLDEN=1 swift test --filter writeGolden
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TXW_WRITE_GOLDEN"] == "1"))
    func writeGolden() throws {
        var writer = try TXWWriter(options: .init(blockSize: 64))
        for (key, value) in Self.userMetadata { try writer.setMetadata(key, value) }
        let model = try ModelFile.encode(smallModel(Self.h), vocabulary: Vocabulary(Self.vocab))
        for entry in try TXWReader(bytes: model.encode()).metadata where ModelKeys.isReserved(entry.key) {
            try writer.setMetadata(entry.key, entry.value)
        }
        for (t, (name, shape)) in Self.h.tensorShapes().enumerated() {
            let values = (0..<shape.reduce(1, *)).map { Self.value(tensor: t, element: $0) }
            try writer.addTensor(name: name, dtype: Self.dtype(t), shape: shape, bytes: ElementCoding.encode(values, as: Self.dtype(t)),
                                 codec: Self.codec(t), shuffle: Self.shuffle(t))
        }
        try writer.write(to: Self.path, overwrite: true)
    }

    @Test func goldenLoadsToTheFormula() throws {
        let reader = try TXWReader(path: Self.path)
        #expect(reader.version == FormatVersion(major: 1, minor: 0))
        let model = try ModelFile.load(reader, as: Double.self)
        #expect(model.hyperparameters == Self.h)
        #expect(model.vocabulary?.tokens == Self.vocab)
        #expect(Dictionary(uniqueKeysWithValues: model.metadata.map { ($0.key, $0.value) }) == Self.userMetadata)
        var t = 0
        func check(_ name: String, _ tensor: Tensor<Double>) {
            let entry = reader.tensor(named: name)
            #expect(entry?.dtype == Self.dtype(t) && entry?.codec == Self.codec(t), "\(name)")
            #expect(entry?.filter == (Self.shuffle(t) ? Filter.byteShuffle : Filter.identity), "\(name)")
            let expected = (0..<tensor.count).map { Self.value(tensor: t, element: $0) }
            #expect(tensor.scalars == expected, "\(name)")
            t += 1
        }
        check("W_E", model.weights.W_E)
        for (i, block) in model.weights.blocks.enumerated() {
            for (field, tensor) in block.fields { check("blocks.\(i).\(field)", tensor) }
        }
        #expect(t == 17)
    }

    static func loadError(_ bytes: [UInt8]) -> (any Error)? {
        do {
            _ = try ModelFile.load(TXWReader(bytes: bytes), as: Double.self)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyByteFlipOfGoldenFails() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        #expect(Self.loadError(good) == nil)
        for offset in good.indices {
            var bad = good
            bad[offset] ^= 0x20
            let error = Self.loadError(bad)
            #expect(error is TXWFormatError, "flip at \(offset): \(String(describing: error))")
            #expect("\(error.map { "\($0)" } ?? "")".contains("offset"), "flip at \(offset) names where")
        }
    }

    @Test func everyTruncationOfGoldenFails() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        for length in 0..<good.count {
            let error = Self.loadError(Array(good.prefix(length)))
            #expect((error as? TXWFormatError)?.category == "truncated", "length \(length): \(String(describing: error))")
        }
    }
}
