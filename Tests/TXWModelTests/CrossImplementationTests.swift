import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// Swift writes → Python reads the identical arrays; Python writes → Swift
/// reads them: every dtype × codec × filter, and a model. The Python side is
/// tools/python/tests/crosscheck.py; its docstring defines the JSON that
/// travels beside each file. Runs when TXW_PYTHON names a Python that has
/// numpy, zstandard and xxhash (the test command sets it).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
struct CrossImplementationTests {
    static let python = ProcessInfo.processInfo.environment["TXW_PYTHON"] ?? "python3"
    static let script = repositoryRoot.appendingPathComponent("tools/python/tests/crosscheck.py").path

    static func bits(_ v: Double) -> String {
        let digits = String(v.bitPattern, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func metadataJSON(_ entries: [MetadataEntry]) -> [String: Any] {
        var out: [String: Any] = [:]
        for e in entries {
            switch e.value {
            case let .int(v): out[e.key] = ["type": "int", "value": v]
            case let .float(v): out[e.key] = ["type": "float", "value": bits(v)]
            case let .bool(v): out[e.key] = ["type": "bool", "value": v]
            case let .string(v): out[e.key] = ["type": "string", "value": v]
            case let .strings(v): out[e.key] = ["type": "strings", "value": v]
            }
        }
        return out
    }

    /// The expected JSON of a file, from what was written (not from a reader).
    static func expectedJSON(metadata: [MetadataEntry], tensors: [(TensorEntry, [Double])]) throws -> Data {
        let t: [[String: Any]] = tensors.map { entry, values in
            ["name": entry.name, "dtype": entry.dtype.description, "codec": entry.codec.description,
             "filter": entry.filter.description, "shape": entry.shape, "bits": values.map(bits)]
        }
        return try JSONSerialization.data(withJSONObject: ["metadata": metadataJSON(metadata), "tensors": t], options: [.sortedKeys])
    }

    /// Values as stored in `dtype`, back in float64.
    static func stored(_ values: [Double], _ dtype: DType) -> [Double] {
        ElementCoding.encode(values, as: dtype).withUnsafeBytes { ElementCoding.decode($0, as: dtype) }
    }

    @Test func pythonReadsWhatSwiftWrites() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let metadata: [MetadataEntry] = [
            .init(key: "cross.bool", value: .bool(true)), .init(key: "cross.float", value: .float(-1.25)),
            .init(key: "cross.int", value: .int(-9_000_000_000)), .init(key: "cross.string", value: .string("swift → python ∑")),
            .init(key: "cross.strings", value: .strings(["", "γ", "z"])),
        ]
        var state: UInt64 = 99
        func values(_ n: Int) -> [Double] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Double(Int64(bitPattern: state) >> 20) / Double(1 << 40)
            }
        }
        var count = 0
        for dtype in DType.allCases {
            for codec in Codec.allCases {
                for shuffle in [false, true] {
                    var w = try TXWWriter(options: .init(blockSize: 64, codec: codec, shuffle: shuffle))
                    for e in metadata { try w.setMetadata(e.key, e.value) }
                    var b = values(200)
                    b[3] = .infinity; b[4] = -.infinity; b[5] = .nan; b[6] = -0.0; b[7] = 65504; b[8] = 1e-8
                    let tensors: [(String, [Int], [Double])] = [("a", [3, 5], values(15)), ("b", [200], b), ("s", [], [2.75])]
                    for (name, shape, v) in tensors {
                        try w.addTensor(name: name, dtype: dtype, shape: shape, bytes: ElementCoding.encode(v, as: dtype))
                    }
                    let name = "\(dtype)_\(codec)_\(shuffle ? "shuffle" : "none")"
                    try w.write(to: dir.file(name + ".txw"))
                    let entries = try TXWReader(path: dir.file(name + ".txw")).tensors
                    let json = try Self.expectedJSON(
                        metadata: metadata, tensors: zip(entries, tensors).map { ($0, Self.stored($1.2, dtype)) })
                    try json.write(to: URL(fileURLWithPath: dir.file(name + ".expected.json")))
                    count += 1
                }
            }
        }
        // A model with a vocabulary, through the model layer.
        let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 2)
        let model = try smallModel(h, seed: 5)
        try ModelFile.save(model, vocabulary: Vocabulary(["a", "b", "c", "d", "e"]), metadata: ["name": .string("cross")], to: dir.file("model.txw"))
        let reader = try TXWReader(path: dir.file("model.txw"))
        var modelTensors: [(TensorEntry, [Double])] = [(reader.tensors[0], model.W_E.scalars)]
        for (i, block) in model.blocks.enumerated() {
            for (j, (_, tensor)) in block.fields.enumerated() { modelTensors.append((reader.tensors[1 + 8 * i + j], tensor.scalars)) }
        }
        try Self.expectedJSON(metadata: reader.metadata, tensors: modelTensors).write(to: URL(fileURLWithPath: dir.file("model.expected.json")))
        count += 1
        // The same model with a context length: format version 1.1, one more key.
        try ModelFile.save(model, vocabulary: Vocabulary(["a", "b", "c", "d", "e"]), contextLength: 40,
                           metadata: ["name": .string("cross")], to: dir.file("model_context.txw"))
        let withContext = try TXWReader(path: dir.file("model_context.txw"))
        #expect(withContext.metadata.count == reader.metadata.count + 1)
        var expectedMetadata = reader.metadata
        expectedMetadata.append(MetadataEntry(key: "model.context_length", value: .int(40)))
        try Self.expectedJSON(metadata: expectedMetadata, tensors: modelTensors)
            .write(to: URL(fileURLWithPath: dir.file("model_context.expected.json")))
        count += 1

        let read = try runProcess(URL(fileURLWithPath: Self.python), [Self.script, "read", dir.path])
        #expect(read.status == 0, "crosscheck read:\n\(read.stdout)\(read.stderr)")
        #expect(read.stdout.contains("\(count) passed, 0 failed"), "\(read.stdout)\(read.stderr)")
    }

    struct Expected: Decodable {
        struct Meta: Decodable {
            let type: String
            let value: Value
        }
        enum Value: Decodable {
            case int(Int64), bool(Bool), string(String), strings([String])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let v = try? c.decode(Bool.self) { self = .bool(v) }
                else if let v = try? c.decode(Int64.self) { self = .int(v) }
                else if let v = try? c.decode(String.self) { self = .string(v) }
                else { self = .strings(try c.decode([String].self)) }
            }
        }
        struct TensorJSON: Decodable {
            let name, dtype, codec, filter: String
            let shape: [Int]
            let bits: [String]
        }
        let metadata: [String: Meta]
        let tensors: [TensorJSON]
    }

    static func metadataValue(_ m: Expected.Meta) -> MetadataValue? {
        switch (m.type, m.value) {
        case let ("int", .int(v)): return .int(v)
        case let ("bool", .bool(v)): return .bool(v)
        case let ("string", .string(v)): return .string(v)
        case let ("strings", .strings(v)): return .strings(v)
        case let ("float", .string(hex)):
            guard hex.hasPrefix("0x"), let b = UInt64(hex.dropFirst(2), radix: 16) else { return nil }
            return .float(Double(bitPattern: b))
        default: return nil
        }
    }

    @Test func swiftReadsWhatPythonWrites() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let write = try runProcess(URL(fileURLWithPath: Self.python), [Self.script, "write", dir.path])
        try #require(write.status == 0, "crosscheck write:\n\(write.stdout)\(write.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".txw") }.sorted()
        #expect(files.count == 18, "16 combinations and two models: \(files)")
        for file in files {
            let base = String(file.dropLast(4))
            let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file(base + ".expected.json"))))
            let reader = try TXWReader(path: dir.file(file))
            #expect(reader.verify().isEmpty, "\(file)")
            let metadata = Dictionary(uniqueKeysWithValues: reader.metadata.map { ($0.key, $0.value) })
            #expect(metadata.count == expected.metadata.count, "\(file) metadata count")
            for (key, meta) in expected.metadata {
                #expect(metadata[key] == Self.metadataValue(meta), "\(file) metadata \(key)")
            }
            #expect(reader.tensors.map(\.name) == expected.tensors.map(\.name), "\(file) tensor order")
            for t in expected.tensors {
                let entry = try #require(reader.tensor(named: t.name))
                #expect(entry.dtype.description == t.dtype && entry.codec.description == t.codec && entry.filter.description == t.filter && entry.shape == t.shape,
                        "\(file) \(t.name) encoding")
                let values: [Double] = try reader.read(named: t.name)
                let want = t.bits.compactMap { UInt64($0.dropFirst(2), radix: 16) }.map(Double.init(bitPattern:))
                #expect(values.count == want.count)
                let same = zip(values, want).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                #expect(same, "\(file) \(t.name) values")
            }
            if metadata["model.vocab_size"] != nil {
                let model = try ModelFile.load(reader, as: Double.self)
                #expect(model.vocabulary != nil && model.weights.W_E.count > 0)
                let contextLength = expected.metadata["model.context_length"].flatMap(Self.metadataValue)
                #expect(contextLength == (file == "model_context.txw" ? .int(48) : nil), "\(file)")
                #expect(model.contextLength.map { .int(Int64($0)) } == contextLength, "\(file) context length")
                #expect(reader.version.minor == (contextLength == nil ? 0 : 1), "\(file) format version")
            }
        }
    }
}
