import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// The content digest (Spec/txw-format.md part 4): the known answer computed
/// from the spec's listing (tools/reference/make_digest_fixtures.py), the
/// same digest however the content is stored, a different one for any
/// change of content, and the Python package's digest of what Swift writes.
struct DigestTests {
    static let kat = fixturesDirectory("digest").appendingPathComponent("kat.txw").path

    struct Answer: Decodable {
        let model: String
        let tensors: [String: String]
    }

    static func answer() throws -> Answer {
        try JSONDecoder().decode(Answer.self, from: Data(contentsOf: fixturesDirectory("digest").appendingPathComponent("kat.json")))
    }

    /// A copy of `reader`'s content written with `options`, tensors in
    /// `order`; `metadata` and `tensor` may change what is copied.
    static func rewrite(
        _ reader: TXWReader, options: TXWWriter.Options = TXWWriter.Options(), reversed: Bool = false,
        metadata change: (inout [String: MetadataValue]) -> Void = { _ in },
        tensor: (String, inout DType, inout [UInt8]) -> Void = { _, _, _ in }
    ) throws -> TXWReader {
        try TXWReader(bytes: rewriteBytes(reader, options: options, reversed: reversed, metadata: change, tensor: tensor))
    }

    static func rewriteBytes(
        _ reader: TXWReader, options: TXWWriter.Options = TXWWriter.Options(), reversed: Bool = false,
        metadata change: (inout [String: MetadataValue]) -> Void = { _ in },
        tensor: (String, inout DType, inout [UInt8]) -> Void = { _, _, _ in }
    ) throws -> [UInt8] {
        var writer = try TXWWriter(options: options)
        try writer.declareMinorVersion(reader.version.minor)
        var metadata: [String: MetadataValue] = [:]
        for entry in reader.metadata { metadata[entry.key] = entry.value }
        change(&metadata)
        for (key, value) in metadata { try writer.setMetadata(key, value) }
        for entry in reversed ? reader.tensors.reversed() : reader.tensors {
            var dtype = entry.dtype
            var bytes = try reader.readBytes(entry)
            tensor(entry.name, &dtype, &bytes)
            try writer.addTensor(name: entry.name, dtype: dtype, shape: entry.shape, bytes: bytes)
        }
        return try writer.encode()
    }

    @Test func knownAnswer() throws {
        let answer = try Self.answer()
        let reader = try TXWReader(path: Self.kat)
        let result = try ContentDigest.model(reader)
        #expect(result.digest.hex == answer.model)
        #expect(result.tensors.map(\.name) == ["W_E"] + ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"].map { "blocks.0." + $0 })
        for t in result.tensors {
            #expect(t.digest.hex == answer.tensors[t.name])
            #expect(try ContentDigest.tensor(reader.tensor(named: t.name)!, in: reader).hex == answer.tensors[t.name])
        }
        // From the parts in memory, the same.
        let e = reader.tensor(named: "blocks.0.W_2")!
        #expect(try ContentDigest.tensor(name: e.name, dtype: e.dtype, shape: e.shape, bytes: reader.readBytes(e)).hex
                == answer.tensors["blocks.0.W_2"])
    }

    @Test(arguments: [
        TXWWriter.Options(codec: .stored, shuffle: false),
        TXWWriter.Options(level: 1),
        TXWWriter.Options(level: 19, shuffle: false),
        TXWWriter.Options(level: 3, blockSize: 64),
        TXWWriter.Options(blockSize: 128, codec: .stored, shuffle: true),
        TXWWriter.Options(level: 22, blockSize: 1 << 20, shuffle: true),
    ])
    func storageDoesNotChangeTheDigest(options: TXWWriter.Options) throws {
        let answer = try Self.answer()
        let source = try TXWReader(path: Self.kat)
        for reversed in [false, true] {
            let copy = try Self.rewrite(source, options: options, reversed: reversed)
            #expect(try ContentDigest.model(copy).digest.hex == answer.model)
        }
    }

    @Test func userMetadataDoesNotChangeTheDigest() throws {
        let answer = try Self.answer()
        let copy = try Self.rewrite(try TXWReader(path: Self.kat)) {
            $0["name"] = .string("another name")
            $0["provenance"] = nil
            $0["lineage.source_digest"] = .string(String(repeating: "0", count: 64))
            $0["training.steps"] = .int(7)
        }
        #expect(try ContentDigest.model(copy).digest.hex == answer.model)
    }

    @Test func everyContentChangeChangesTheDigest() throws {
        let answer = try Self.answer()
        let source = try TXWReader(path: Self.kat)
        var changed: [String: TXWReader] = [:]
        // One bit of one element, in each tensor in turn.
        for entry in source.tensors {
            changed["bit of \(entry.name)"] = try Self.rewrite(source, tensor: { name, _, bytes in
                if name == entry.name { bytes[bytes.count - 1] ^= 0x01 }
            })
        }
        // A dtype change: W_E (exact in f32) stored as f64, the same values.
        changed["dtype"] = try Self.rewrite(source, tensor: { name, dtype, bytes in
            guard name == "W_E" else { return }
            let values = bytes.withUnsafeBytes { ElementCoding.decode($0, as: DType.f32, to: Double.self) }
            (dtype, bytes) = (.f64, ElementCoding.encode(values, as: .f64))
        })
        changed["a token"] = try Self.rewrite(source, metadata: { $0[ModelKeys.vocab] = .strings(["a", "β", "<EOS>"]) })
        changed["token order"] = try Self.rewrite(source, metadata: { $0[ModelKeys.vocab] = .strings(["β", "a", "<eos>"]) })
        changed["no vocabulary"] = try Self.rewrite(source, metadata: { $0[ModelKeys.vocab] = nil })
        changed["mask value"] = try Self.rewrite(source, metadata: { $0[ModelKeys.maskValue] = .float(-1e8) })
        changed["epsilon"] = try Self.rewrite(source, metadata: { $0[ModelKeys.rmsnormEpsilon] = .float(1e-8) })
        changed["context length"] = try Self.rewrite(source, metadata: { $0[ModelKeys.contextLength] = .int(9) })
        changed["no context length"] = try Self.rewrite(source, metadata: { $0[ModelKeys.contextLength] = nil })
        var seen: Set<String> = [answer.model]
        for (what, reader) in changed.sorted(by: { $0.key < $1.key }) {
            let digest = try ContentDigest.model(reader).digest.hex
            #expect(!seen.contains(digest), "\(what) kept a digest")
            seen.insert(digest)
        }
    }

    @Test func aCacheHasNoModelDigest() throws {
        var writer = try TXWWriter()
        try writer.setMetadata("cache.profile", .string("activation-cache"))
        try writer.addTensor(name: "x", dtype: .f32, shape: [2], bytes: ElementCoding.encode([1, 2] as [Float], as: .f32))
        let reader = try TXWReader(bytes: writer.encode())
        #expect(throws: ModelError.self) { try ContentDigest.model(reader) }
        #expect(try ContentDigest.tensor(reader.tensors[0], in: reader).bytes.count == 32)
    }

    @Test func aDamagedBlockIsAnErrorNotADigest() throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.kat)))
        let reader = try TXWReader(path: Self.kat)
        let block = reader.tensor(named: "W_E")!.blocks[0]
        bytes[block.offset] ^= 0xff
        let damaged = try TXWReader(bytes: bytes)
        #expect(throws: TXWFormatError.self) { try ContentDigest.model(damaged) }
    }

    @Test func theDigestStaysWithinTheMemoryBudget() throws {
        // One block of 64 bytes (and its scratch) at a time: a small budget digests the model, 100 bytes do not.
        let copy = try Self.rewriteBytes(try TXWReader(path: Self.kat), options: TXWWriter.Options(blockSize: 64))
        let small = try TXWReader(bytes: copy, options: TXWReader.Options(memoryBudget: MemoryBudget(bytes: 1 << 16)))
        #expect(try ContentDigest.model(small).digest.hex == (try Self.answer()).model)
        let tiny = try TXWReader(bytes: copy, options: TXWReader.Options(memoryBudget: MemoryBudget(bytes: 100)))
        #expect(throws: TXWFormatError.self) { try ContentDigest.model(tiny) }
    }

    @Test func hexText() throws {
        let hex = String(repeating: "0f", count: 32)
        #expect(ContentDigest(hex: hex)?.hex == hex)
        #expect(ContentDigest(hex: "sha256:" + hex.uppercased())?.hex == hex)
        #expect(ContentDigest(hex: String(hex.dropLast())) == nil)
        #expect(ContentDigest(hex: hex + "0") == nil)
        #expect(ContentDigest(hex: " " + hex.dropLast()) == nil)
        #expect(ContentDigest(hex: String(repeating: "g", count: 64)) == nil)
        #expect(ContentDigest(hex: "SHA256:" + hex) == nil)
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        #expect(ContentDigest.sha256(of: Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
    func pythonComputesTheSameDigest() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let h = Hyperparameters(vocabSize: 7, dModel: 4, nHead: 2, dHead: 3, dMLP: 5, nBlock: 2, constants: .notebook)
        var model = try ModelArrays.random(h, seed: 11)
        model.vocabulary = try Vocabulary(["x", "y", "z", "é", "\u{0}", "ab", "→"])
        model.contextLength = 12
        var expected: [String: String] = [:]
        for (i, (dtype, options)) in [(DType.f32, TXWWriter.Options()), (.f16, TXWWriter.Options(blockSize: 64, codec: .stored)),
                                      (.bf16, TXWWriter.Options(level: 19, shuffle: false)), (.f64, TXWWriter.Options())].enumerated() {
            let path = dir.file("m\(i).txw")
            try model.writer(dtype: dtype, options: options).write(to: path)
            expected[path] = try ContentDigest.model(TXWReader(path: path)).digest.hex
        }
        let script = "import sys, txw\nfor p in sys.argv[1:]: print(p, txw.digest(p))"
        let python = ProcessInfo.processInfo.environment["TXW_PYTHON"]!
        let result = try runProcess(URL(fileURLWithPath: python), ["-c", script] + expected.keys.sorted())
        #expect(result.status == 0, "\(result.stderr)")
        var found: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            found[String(parts[0])] = String(parts[1])
        }
        #expect(found == expected)
        #expect(Set(expected.values).count == 4)
    }

    /// The hostile conformance files (names, keys and tokens byte for byte,
    /// NaN payloads, extreme values): Python's digests equal Swift's, for
    /// every model (model and tensor digests) and every tensor of the other
    /// containers (the 4 GiB tensor excepted).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
    func pythonAgreesOnTheHostileSet() throws {
        let dir = fixturesDirectory("hostile")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".txw") && $0 != "huge_tensor.txw" }.sorted()
        var expected: [String] = []
        for file in files {
            let reader = try TXWReader(path: dir.appendingPathComponent(file).path)
            if file.hasPrefix("model_") {
                let result = try ContentDigest.model(reader)
                expected.append("\(file) model \(result.digest.hex)")
            }
            for (i, entry) in reader.tensors.enumerated() {
                expected.append("\(file) \(i) \(try ContentDigest.tensor(entry, in: reader).hex)")
            }
        }
        let script = """
            import os, sys, txw
            d = sys.argv[1]
            for f in sys.argv[2:]:
                p = os.path.join(d, f)
                if f.startswith("model_"):
                    print(f, "model", txw.digest(p))
                with txw.read_container(p) as c:
                    names = [t.name for t in c.tensors]
                for i, n in enumerate(names):
                    print(f, i, txw.tensor_digest(p, n))
            """
        let python = ProcessInfo.processInfo.environment["TXW_PYTHON"]!
        let result = try runProcess(URL(fileURLWithPath: python), ["-c", script, dir.path] + files)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == expected)
        #expect(expected.count > 20)
    }
}
