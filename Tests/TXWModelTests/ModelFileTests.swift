import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// Models to and from files; the profile's rules (§2) with errors that name the problem.
struct ModelFileTests {
    static let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 2)

    /// Constants that are finite in f64 but lose their meaning in f32 (a
    /// mask value past ±3.4e38 becomes inf and every logit NaN; an epsilon
    /// that rounds to 0) are refused for f32 with the key named, and load
    /// in f64; a huge positional base is fine in f32 (positions are float64).
    @Test func constantsThatDoNotFitF32AreRefusedInF32() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let cases: [(KernelConstants, String?, Double)] = [
            (KernelConstants(rmsnormEpsilon: 1e-9, positionalBase: 10000, maskValue: 1e300), "model.mask_value", .infinity),
            (KernelConstants(rmsnormEpsilon: 1e-9, positionalBase: 10000, maskValue: -4e38), "model.mask_value", -.infinity),
            (KernelConstants(rmsnormEpsilon: 1e-50, positionalBase: 10000, maskValue: -1e9), "model.rmsnorm_epsilon", 0),
            (KernelConstants(rmsnormEpsilon: 1e40, positionalBase: 10000, maskValue: -1e9), "model.rmsnorm_epsilon", .infinity),
            (KernelConstants(rmsnormEpsilon: 0, positionalBase: 1e300, maskValue: -3e38), nil, 0),
        ]
        for (i, (constants, key, converted)) in cases.enumerated() {
            var h = Self.h
            h.constants = constants
            let path = dir.file("c\(i).txw")
            try ModelFile.save(try smallModel(h), to: path)
            let f64 = try ModelFile.load(path: path, as: Double.self)
            #expect(f64.hyperparameters.constants == constants)
            guard let key else {
                let f32 = try ModelFile.load(path: path, as: Float.self)
                #expect(try f32.weights.logits(for: [1, 2, 3]).scalars.allSatisfy(\.isFinite))
                continue
            }
            let value = key == "model.mask_value" ? constants.maskValue : constants.rmsnormEpsilon
            let expected = ModelError.precision(key: key, value: value, precision: "f32", converted: converted)
            #expect(throws: expected) { try ModelFile.load(path: path, as: Float.self) }
            #expect(throws: expected) { try ModelArrays(reader: TXWReader(path: path)).weights(as: Float.self) }
            #expect("\(expected)".contains(key))
            // Below the model files, the kernels refuse the same weights in f32.
            var bare = h
            bare.nBlock = 0
            do {
                _ = try TransformerWeights<Float>(hyperparameters: bare, W_E: Tensor(shape: [5, 4], scalars: [Float](repeating: 0.5, count: 20)), blocks: [])
                Issue.record("f32 weights accepted \(key)")
            } catch let KernelError.invalidArgument(name, _, _) {
                #expect("model." + name == key)
            }
            #expect(try TransformerWeights<Double>(hyperparameters: bare, W_E: Tensor(shape: [5, 4], scalars: [Double](repeating: 0.5, count: 20)), blocks: []).hyperparameters == bare)
        }
    }

    @Test func roundTripInBothPrecisionsAndEveryDType() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let weights = try smallModel(Self.h)
        let vocab = try Vocabulary(["a", "b", "c", "d", "é"])
        try ModelFile.save(weights, vocabulary: vocab, metadata: ["name": .string("t"), "training.steps": .int(10)], to: dir.file("m.txw"))
        let back = try ModelFile.load(path: dir.file("m.txw"), as: Double.self)
        #expect(back.weights == weights, "f64 round trip is exact")
        #expect(back.vocabulary == vocab)
        #expect(back.metadata.map(\.key) == ["name", "training.steps"])
        // Same logits from the file as from memory.
        #expect(try back.weights.logits(for: [0, 3, 1]) == weights.logits(for: [0, 3, 1]))

        for dtype in DType.allCases {
            try ModelFile.save(weights, dtype: dtype, to: dir.file("\(dtype).txw"))
            let f32 = try ModelFile.load(path: dir.file("\(dtype).txw"), as: Float.self)
            let reader = try TXWReader(path: dir.file("\(dtype).txw"))
            #expect(reader.tensors.allSatisfy { $0.dtype == dtype })
            let expected: [Float] = ElementCoding.encode(weights.W_E.scalars, as: dtype).withUnsafeBytes {
                ElementCoding.decode($0, as: dtype)
            }
            #expect(f32.weights.W_E.scalars == expected, "\(dtype)")
        }
        #expect(throws: TXWFormatError.destinationExists(path: dir.file("m.txw"))) {
            try ModelFile.save(weights, to: dir.file("m.txw"))
        }
        #expect(throws: ModelError.reservedKey("model.x")) {
            try ModelFile.save(weights, metadata: ["model.x": .int(1)], to: dir.file("r.txw"))
        }
    }

    /// A container built by hand from a model, with `edit` applied to its metadata and tensors.
    static func container(
        editMetadata: (inout [String: MetadataValue]) -> Void = { _ in },
        editTensors: (inout [(String, [Int])]) -> Void = { _ in }
    ) throws -> [UInt8] {
        let model = try TXWReader(bytes: ModelFile.encode(smallModel(h), vocabulary: Vocabulary(["a", "b", "c", "d", "e"])).encode())
        var metadata = Dictionary(uniqueKeysWithValues: model.metadata.map { ($0.key, $0.value) })
        editMetadata(&metadata)
        var tensors = model.tensors.map { ($0.name, $0.shape) }
        editTensors(&tensors)
        var w = try TXWWriter()
        for (k, v) in metadata { try w.setMetadata(k, v) }
        for (name, shape) in tensors {
            try w.addTensor(name: name, dtype: .f32, shape: shape, bytes: ElementCoding.encode([Float](repeating: 0.5, count: shape.reduce(1, *)), as: .f32))
        }
        return try w.encode()
    }

    static func profileError(_ bytes: [UInt8]) -> ModelError? {
        do {
            _ = try ModelFile.load(TXWReader(bytes: bytes), as: Float.self)
            return nil
        } catch {
            return error as? ModelError
        }
    }

    @Test func profileViolationsAreNamed() throws {
        #expect(Self.profileError(try Self.container()) == nil)
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.d_mlp"] = nil })) == .missingKey("model.d_mlp"))
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.n_head"] = .string("2") }))
                == .wrongType(key: "model.n_head", expected: "an int", found: "a string"))
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.rmsnorm_epsilon"] = .float(-1) }))?.description.contains("model.rmsnorm_epsilon") == true)
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.vocab"] = .strings(["a", "b"]) }))
                == .vocabulary("'model.vocab' has 2 tokens, but vocab_size is 5"))
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.vocab"] = .strings(["a", "b", "a", "d", "e"]) }))
                == .vocabulary("'model.vocab': token 2 \"a\" repeats token 0"))
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.colour"] = .int(1) })) == .unknownModelKey("model.colour"))
        #expect(Self.profileError(try Self.container(editTensors: { $0.removeAll { $0.0 == "blocks.1.W_O" } })) == .missingTensor("blocks.1.W_O"))
        #expect(Self.profileError(try Self.container(editTensors: { $0.append(("extra", [1])) })) == .unexpectedTensor("extra"))
        #expect(Self.profileError(try Self.container(editTensors: { $0[3] = ("blocks.0.W_2", [4, 6]) }))
                == .shapeMismatch(tensor: "blocks.0.W_2", expected: [6, 4], found: [4, 6]))
        // A huge declared n_block with few tensors is refused quickly, naming the first missing tensor.
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.n_block"] = .int(1 << 24) })) == .missingTensor("blocks.2.W_1"))
        #expect(Self.profileError(try Self.container(editMetadata: { $0["model.d_model"] = .int(5) }))?.description.contains("even") == true)
    }

    @Test func vocabularyTokenizesGreedily() throws {
        let v = try Vocabulary(["a", "ab", "abc", "b", "c", " "])
        #expect(try v.encode("abcab c") == [2, 1, 5, 4])
        #expect(try v.decode([2, 1, 5, 4]) == "abcab c")
        let error = try #require(throws: ModelError.self) { try v.encode("abx") }
        #expect(error.description.contains("\"x\" at character 2"))
        #expect(throws: ModelError.self) { try v.decode([6]) }
        #expect(throws: ModelError.self) { try Vocabulary(["a", ""]) }
        #expect(try Vocabulary.characters(of: "hello, world").tokens == [" ", ",", "d", "e", "h", "l", "o", "r", "w"])
    }
}
