import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// ModelDiff: what is equal, how differences are counted and measured
/// (expected numbers worked out by hand in the comments), and the limits.
struct ModelDiffTests {
    /// A container of `tensors` (name, dtype, shape, float64 values) and `metadata`, written with `options`.
    static func file(_ tensors: [(String, DType, [Int], [Double])], metadata: [(String, MetadataValue)] = [],
                     options: TXWWriter.Options = TXWWriter.Options()) throws -> TXWReader {
        try TXWReader(bytes: bytes(tensors, metadata: metadata, options: options))
    }

    /// The bytes of `file(_:metadata:options:)`.
    static func bytes(_ tensors: [(String, DType, [Int], [Double])], metadata: [(String, MetadataValue)] = [],
                      options: TXWWriter.Options = TXWWriter.Options()) throws -> [UInt8] {
        var w = try TXWWriter(options: options)
        for (k, v) in metadata { try w.setMetadata(k, v) }
        for (name, dtype, shape, values) in tensors {
            try w.addTensor(name: name, dtype: dtype, shape: shape, bytes: ElementCoding.encode(values, as: dtype))
        }
        return try w.encode()
    }

    /// Deterministic values in (−1, 1) from a 64-bit LCG.
    static func values(_ n: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state) >> 11) / Double(1 << 52)
        }
    }

    static func tensor(_ diff: ModelDiff, _ name: String) throws -> ModelDiff.TensorDifference {
        try #require(diff.tensors.first { $0.name == name })
    }

    @Test func theSameContentPackedDifferentlyIsEqual() throws {
        let x = Self.values(5000, seed: 1), y = Self.values(12, seed: 2)
        let meta: [(String, MetadataValue)] = [("name", .string("toy")), ("steps", .int(3)), ("lr", .float(0.001))]
        let a = try Self.file([("x", .f32, [50, 100], x), ("y", .f64, [3, 4], y), ("s", .bf16, [], [2.5])], metadata: meta,
                              options: .init(level: 3, blockSize: 1 << 20))
        for options in [TXWWriter.Options(level: 19, blockSize: 64), .init(codec: .stored, shuffle: false),
                        .init(level: 1, blockSize: 4096, shuffle: false)] {
            // Another order of tensors and keys, other codecs, levels and block sizes.
            let b = try Self.file([("s", .bf16, [], [2.5]), ("y", .f64, [3, 4], y), ("x", .f32, [50, 100], x)],
                                  metadata: meta.reversed(), options: options)
            let diff = try ModelDiff.compare(a, b)
            #expect(diff.isEqual)
            #expect(diff.tensors.map(\.name) == ["x", "y", "s"] && diff.tensors.allSatisfy { $0.status == .equal })
            #expect(try Self.tensor(diff, "x").values == ModelDiff.ValueDifference(elements: 5000))
            #expect(diff.kindA == .container && diff.hyperparameters == nil && diff.vocabulary == nil && diff.metadata.isEmpty)
        }
    }

    /// Values chosen so every difference is exact in float64 and can be worked out by hand.
    @Test func changedElementsAreCountedAndMeasured() throws {
        let a = try Self.file([("w", .f64, [2, 4], [1, 2, -3, 0, 2, 7, 0.5, 1.5]), ("same", .f32, [2], [1, 2])])
        let b = try Self.file([("w", .f64, [2, 4], [1, 2.5, -2, 0, -2, 7, 0.5, 1.25]), ("same", .f32, [2], [1, 2])])
        let diff = try ModelDiff.compare(a, b)
        let w = try Self.tensor(diff, "w")
        // Index 1: |2 − 2.5| = 0.5, rel 0.5/2.5 = 0.2. Index 2: |−3 − (−2)| = 1, rel 1/3.
        // Index 4: |2 − (−2)| = 4, rel 4/2 = 2 (the largest possible). Index 7: 0.25, rel 0.25/1.5.
        #expect(w.status == .differs)
        #expect(w.values == ModelDiff.ValueDifference(elements: 8, differing: 4, maxAbsolute: 4, maxRelative: 2, firstDifferingIndex: 1))
        #expect(try Self.tensor(diff, "same").status == .equal)
        #expect(!diff.isEqual)

        // One element: 1.5 → 1.25 alone; max rel is 0.25 / 1.5.
        let c = try Self.file([("w", .f64, [2, 4], [1, 2, -3, 0, 2, 7, 0.5, 1.25]), ("same", .f32, [2], [1, 2])])
        let one = try Self.tensor(try ModelDiff.compare(a, c), "w").values
        #expect(one == ModelDiff.ValueDifference(elements: 8, differing: 1, maxAbsolute: 0.25, maxRelative: 0.25 / 1.5, firstDifferingIndex: 7))
    }

    /// A tensor larger than one chunk: equal chunks are skipped, the others counted.
    @Test func differencesAcrossChunks() throws {
        let n = 2 * ModelDiff.chunkElements + 100
        let x = [Double](repeating: 0.5, count: n)
        var y = x
        y[ModelDiff.chunkElements + 3] = 0.75       // chunk 1
        y[n - 1] = -0.5                               // chunk 2: |0.5 − (−0.5)| = 1, rel 2
        let diff = try ModelDiff.compare(Self.file([("t", .f32, [n], x)]), Self.file([("t", .f32, [n], y)], options: .init(blockSize: 4096)))
        #expect(try Self.tensor(diff, "t").values == ModelDiff.ValueDifference(
            elements: n, differing: 2, maxAbsolute: 1, maxRelative: 2, firstDifferingIndex: ModelDiff.chunkElements + 3))
    }

    /// An f32 model against its f16 copy: every difference is f16's rounding,
    /// at most half an f16 ulp (2^−11 relative for values in f16's normal range).
    @Test func f32AgainstItsF16Copy() throws {
        let v = Self.values(3000, seed: 7).map { $0 * 8 }
        let f32 = v.map { Double(Float($0)) }
        let diff = try ModelDiff.compare(Self.file([("w", .f32, [3000], f32)]), Self.file([("w", .f16, [3000], f32)]))
        let t = try Self.tensor(diff, "w")
        let values = try #require(t.values)
        #expect(t.status == .differs && t.dtypeA == .f32 && t.dtypeB == .f16 && !diff.isEqual)
        // Independently: Float16's own conversion, element by element.
        let rounded = f32.map { Double(Float16(Float($0))) }
        let expectedCount = zip(f32, rounded).filter { $0 != $1 }.count
        let expectedAbs = zip(f32, rounded).map { abs($0 - $1) }.max() ?? 0
        #expect(values.differing == expectedCount && expectedCount > 2900)
        #expect(values.maxAbsolute == expectedAbs)
        #expect(values.maxRelative > 0 && values.maxRelative <= 0x1p-11)
        #expect(values.maxAbsolute <= 8 * 0x1p-11)

        // Values f16 holds exactly: equal values, but the dtypes still make the contents differ.
        let exact = [0.5, -1.25, 1024, 0]
        let same = try ModelDiff.compare(Self.file([("w", .f32, [4], exact)]), Self.file([("w", .f16, [4], exact)]))
        #expect(try Self.tensor(same, "w").status == .differs && !same.isEqual)
        #expect(try Self.tensor(same, "w").values == ModelDiff.ValueDifference(elements: 4))
    }

    @Test func shapesAndTensorsInOneFileOnly() throws {
        let a = try Self.file([("m", .f32, [2, 3], Self.values(6, seed: 1)), ("onlyA", .f32, [1], [1]), ("t", .f32, [2], [1, 2])])
        let b = try Self.file([("onlyB", .f64, [2], [1, 2]), ("t", .f16, [2, 1], [1, 2]), ("m", .f32, [3, 2], Self.values(6, seed: 1))])
        let diff = try ModelDiff.compare(a, b)
        #expect(diff.tensors.map(\.name) == ["m", "onlyA", "t", "onlyB"])
        #expect(diff.tensors.map(\.status) == [.shapeMismatch, .onlyInA, .shapeMismatch, .onlyInB])
        let m = try Self.tensor(diff, "m")
        #expect(m.shapeA == [2, 3] && m.shapeB == [3, 2] && m.values == nil)
        let t = try Self.tensor(diff, "t")
        #expect(t.dtypeA == .f32 && t.dtypeB == .f16 && t.values == nil)
        let onlyB = try Self.tensor(diff, "onlyB")
        #expect(onlyB.dtypeA == nil && onlyB.dtypeB == .f64 && onlyB.shapeB == [2] && !diff.isEqual)
    }

    @Test func nonFiniteValuesAreCountedNotMeasured() throws {
        let nan = Float(bitPattern: 0x7FC0_0000), otherNaN = Float(bitPattern: 0x7FC0_0001)
        let a: [Float] = [nan, 1, nan, .infinity, -.infinity, 0, -0.0, 5, 1e30, 3]
        let b: [Float] = [otherNaN, nan, 1, .infinity, .infinity, -0.0, 0, 5, .infinity, 3.5]
        func f32(_ name: String, _ v: [Float]) throws -> TXWReader {
            var w = try TXWWriter()
            try w.addTensor(name: name, dtype: .f32, shape: [v.count], bytes: ElementCoding.encode(v, as: .f32))
            return try TXWReader(bytes: w.encode())
        }
        let diff = try ModelDiff.compare(f32("v", a), f32("v", b))
        // 1: number vs NaN, 2: NaN vs number, 4: −inf vs +inf, 8: 1e30 vs inf → 4 differing;
        // 0 (NaN payloads), 5 and 6 (±0): equal values, other bits; 9: |3 − 3.5| = 0.5, rel 0.5/3.5.
        #expect(try Self.tensor(diff, "v").values == ModelDiff.ValueDifference(
            elements: 10, differing: 5, maxAbsolute: 0.5, maxRelative: 0.5 / 3.5, nanMismatches: 2, infinityMismatches: 2,
            bitsOnly: 3, firstDifferingIndex: 1))

        // Only ±0: no value differs, but the bytes do, so the contents differ.
        let zeros = try ModelDiff.compare(f32("z", [0, 1]), f32("z", [-0.0, 1]))
        #expect(try Self.tensor(zeros, "z").status == .differs && !zeros.isEqual)
        #expect(try Self.tensor(zeros, "z").values == ModelDiff.ValueDifference(elements: 2, bitsOnly: 1))
        // NaN against NaN in other dtypes: the same value; no bits compared across dtypes.
        let nans = try ModelDiff.compare(Self.file([("n", .f32, [2], [.nan, 1])]), Self.file([("n", .bf16, [2], [.nan, 1])]))
        #expect(try Self.tensor(nans, "n").values == ModelDiff.ValueDifference(elements: 2))

        // Two finite f64 values farther apart than the largest f64: |a − b| is +inf, the relative difference exact.
        let far = try ModelDiff.compare(Self.file([("f", .f64, [1], [1.5e308])]), Self.file([("f", .f64, [1], [-1.5e308])]))
        let values = try #require(try Self.tensor(far, "f").values)
        #expect(values.maxAbsolute == .infinity && values.maxRelative == 2 && values.differing == 1 && values.infinityMismatches == 0)
    }

    static let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 1)

    static func model(_ h: Hyperparameters = h, tokens: [String]? = ["a", "b", "c", "d", "e"], contextLength: Int? = nil,
                      metadata: [String: MetadataValue] = [:], dtype: DType = .f32, seed: UInt64 = 1) throws -> TXWReader {
        try TXWReader(bytes: ModelFile.encode(smallModel(h, seed: seed), vocabulary: tokens.map(Vocabulary.init), contextLength: contextLength,
                                              metadata: metadata, dtype: dtype).encode())
    }

    @Test func hyperparametersVocabularyAndMetadata() throws {
        let a = try Self.model(metadata: ["name": .string("run 1"), "steps": .int(100), "only.a": .bool(true)])
        let b = try Self.model(tokens: ["a", "b", "C", "d", "E"], contextLength: 64,
                               metadata: ["name": .string("run 1"), "steps": .int(200), "only.b": .float(0.5)])
        let diff = try ModelDiff.compare(a, b)
        #expect(diff.kindA == .model && diff.kindB == .model)
        #expect(diff.tensors.allSatisfy { $0.status == .equal })
        #expect(diff.hyperparameters == ModelDiff.KeyDifference(onlyInB: [MetadataEntry(key: "model.context_length", value: .int(64))]))
        #expect(diff.vocabulary == ModelDiff.VocabularyDifference(sizeA: 5, sizeB: 5, differingIds: 2, firstDifferingId: 2,
                                                                   firstTokenA: "c", firstTokenB: "C"))
        #expect(diff.metadata == ModelDiff.KeyDifference(
            onlyInA: [MetadataEntry(key: "only.a", value: .bool(true))], onlyInB: [MetadataEntry(key: "only.b", value: .float(0.5))],
            changed: [ModelDiff.ChangedValue(key: "steps", a: .int(100), b: .int(200))]))
        #expect(!diff.isEqual && !diff.contentsEqual)
        #expect(try ModelDiff.compare(a, a).isEqual)

        // User metadata alone: listed, but the contents (what the digest covers) are equal.
        let renamed = try Self.model(metadata: ["name": .string("run 2"), "steps": .int(100), "only.a": .bool(true)])
        let metadataOnly = try ModelDiff.compare(a, renamed)
        #expect(!metadataOnly.isEqual && metadataOnly.contentsEqual)
        #expect(metadataOnly.metadata.changed == [ModelDiff.ChangedValue(key: "name", a: .string("run 1"), b: .string("run 2"))])
        #expect(try ContentDigest.model(a).digest == ContentDigest.model(renamed).digest)
        // Containers that are not models have no user metadata: every key is content.
        let plainA = try Self.file([("w", .f32, [1], [1])], metadata: [("k", .string("x"))])
        let plainB = try Self.file([("w", .f32, [1], [1])], metadata: [("k", .string("y"))])
        #expect(try !ModelDiff.compare(plainA, plainB).contentsEqual)

        // Another d_mlp: a changed hyperparameter, and the MLP's tensors of other shapes.
        let wide = try Self.model(Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 8, nBlock: 1))
        let d = try ModelDiff.compare(try Self.model(), wide)
        #expect(d.hyperparameters?.changed == [ModelDiff.ChangedValue(key: "model.d_mlp", a: .int(6), b: .int(8))])
        #expect(d.tensors.filter { $0.status == .shapeMismatch }.map(\.name).sorted() == ["blocks.0.W_1", "blocks.0.W_2", "blocks.0.b_1"])

        // A vocabulary in one file only, and one longer than the other.
        let none = try ModelDiff.compare(try Self.model(), try Self.model(tokens: nil))
        #expect(none.vocabulary == ModelDiff.VocabularyDifference(sizeA: 5, sizeB: nil, differingIds: 5, firstDifferingId: 0,
                                                                   firstTokenA: "a", firstTokenB: nil))
        #expect(ModelDiff.vocabularyDifference(["x", "y"], ["x", "y", "z"])
                == ModelDiff.VocabularyDifference(sizeA: 2, sizeB: 3, differingIds: 1, firstDifferingId: 2, firstTokenA: nil, firstTokenB: "z"))
        #expect(ModelDiff.vocabularyDifference(nil, nil).isEqual)
    }

    /// A model against a container that is not one (an activation cache):
    /// no model sections, every key compared as metadata.
    @Test func aModelAgainstAnotherContainer() throws {
        let a = try Self.model()
        let b = try Self.file([("W_E", .f32, [5, 4], [Double](repeating: 0.5, count: 20))],
                              metadata: [("cache.profile", .string("activation-cache"))])
        let diff = try ModelDiff.compare(a, b)
        #expect(diff.kindA == .model && diff.kindB == .activationCache)
        #expect(diff.hyperparameters == nil && diff.vocabulary == nil)
        #expect(diff.metadata.onlyInA.map(\.key).contains("model.vocab") && diff.metadata.onlyInA.map(\.key).contains("model.d_model"))
        #expect(diff.metadata.onlyInB.map(\.key) == ["cache.profile"])
        #expect(try Self.tensor(diff, "W_E").status == .differs)
        #expect(diff.tensors.filter { $0.status == .onlyInA }.count == a.tensors.count - 1)
    }

    /// Names, keys, strings and tokens compare as UTF-8 bytes: "é" composed
    /// and decomposed are different (Swift's `==` would call them equal).
    @Test func textComparesAsBytes() throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // what the comparison must not use
        let a = try Self.file([(composed, .f32, [1], [1])], metadata: [("k", .string(composed)), ("\u{1b}]0;x\u{7}", .strings([composed]))])
        let b = try Self.file([(decomposed, .f32, [1], [1])], metadata: [("k", .string(decomposed)), ("\u{1b}]0;x\u{7}", .strings([decomposed]))])
        let diff = try ModelDiff.compare(a, b)
        #expect(diff.tensors.map(\.status) == [.onlyInA, .onlyInB])
        #expect(diff.metadata.changed.map(\.key) == ["\u{1b}]0;x\u{7}", "k"])  // file order: ascending bytes
        #expect(ModelDiff.vocabularyDifference([composed], [decomposed]).differingIds == 1)
    }

    @Test func memoryIsCheckedBeforeReadingAndDamageNamesTheFile() throws {
        let a = try Self.file([("big", .f32, [1000], Self.values(1000, seed: 3))])
        let b = try Self.file([("big", .f32, [1000], Self.values(1000, seed: 4))])
        let need = try #require(ModelDiff.memoryNeed((a.tensors[0], a), (b.tensors[0], b)))
        #expect(need == 2 * 4000 + 2 * TXWReader.decodeScratch([a.tensors[0]], threads: a.options.decodeThreads)! + 2 * ModelDiff.chunkElements * 8)
        #expect {
            try ModelDiff.compare(a, b, memoryBudget: MemoryBudget(bytes: need - 1))
        } throws: { error in
            guard case let .overMemoryBudget(what, found, budget) = error as? TXWFormatError else { return false }
            return what.contains("'big'") && found == need && budget == need - 1
        }
        #expect(a.blocksDecoded == 0 && b.blocksDecoded == 0)
        #expect(try ModelDiff.compare(a, b, memoryBudget: MemoryBudget(bytes: need)).tensors[0].values?.differing == 1000)

        // A damaged block of the second file: the error of the container library, and which file.
        var bytes = try Self.bytes([("big", .f32, [1000], Self.values(1000, seed: 4))], options: .init(codec: .stored, shuffle: false))
        bytes[try TXWReader(bytes: bytes).tensors[0].blocks[0].offset + 10] ^= 1
        let damaged = try TXWReader(bytes: bytes)
        #expect {
            try ModelDiff.compare(a, damaged)
        } throws: { error in
            guard case let .reading(side, inner) = error as? ModelDiffError, case .blockChecksum = inner else { return false }
            return side == .b && (error as? ModelDiffError)?.description.hasPrefix("file b: ") == true
        }
    }
}
