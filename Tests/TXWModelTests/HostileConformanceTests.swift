import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
import TXWModel

/// The hostile-file conformance set (Tests/Fixtures/hostile, written by
/// tools/conformance/make_hostile.py): every file is valid, and the Swift
/// reader reports exactly what expected.json lists — keys, names, strings and
/// tokens byte for byte (never compared as Swift `String`s, which equate
/// canonically equivalent spellings), values bit for bit — and loads each model
/// in f64 and f32 as stated. tools/python/tests/test_hostile.py holds the Python
/// reader to the same.
struct HostileConformanceTests {
    enum Value: Decodable, Equatable {
        case text(String)
        case flag(Bool)
        case list([String])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .flag(b) }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else { self = .list(try c.decode([String].self)) }
        }
    }

    struct Meta: Decodable {
        let key: String
        let type: String
        let value: Value
    }

    struct TensorExpectation: Decodable {
        let dtype: String, shape: [Int], codec: String, filter: String
        let blockSize: Int, blockCount: Int, rawSize: Int, storedSize: Int
        let raw: String?
        let values: [String]?
        enum CodingKeys: String, CodingKey {
            case dtype, shape, codec, filter, raw, values
            case blockSize = "block_size", blockCount = "block_count", rawSize = "raw_size", storedSize = "stored_size"
        }
    }

    struct Outcome: Decodable {
        let result: String
        let category: String?
        let mentions: [String]?
    }

    struct ModelExpectation: Decodable {
        let f64: Outcome
        let f32: Outcome
        let vocab: [String]?
    }

    struct Expectation: Decodable {
        let level: String
        let why: String
        let metadata: [Meta]
        let tensorNames: [String]
        let tensors: [String: TensorExpectation]
        let model: ModelExpectation?
        enum CodingKeys: String, CodingKey {
            case level, why, metadata, tensors, model
            case tensorNames = "tensor_names"
        }
    }

    static let directory = fixturesDirectory("hostile")
    /// Enough for one 64 MiB block (verify), far below the 4 GiB tensor of huge_tensor.txw.
    static let budget = MemoryBudget(bytes: 256 << 20)

    static func expectations() throws -> [(String, Expectation)] {
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode([String: Expectation].self, from: data).sorted { $0.key < $1.key }
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func bits(_ x: Double) -> String { "0x" + String(repeating: "0", count: 16 - String(x.bitPattern, radix: 16).count) + String(x.bitPattern, radix: 16) }
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    /// The value of `value` in expected.json's notation: ints in decimal, floats as their bits.
    static func reported(_ value: MetadataValue) -> (type: String, value: Value) {
        switch value {
        case let .int(v): ("int", .text(String(v)))
        case let .float(v): ("float", .text(bits(v)))
        case let .bool(v): ("bool", .flag(v))
        case let .string(v): ("string", .text(v))
        case let .strings(v): ("strings", .list(v))
        }
    }

    static func sameBytes(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case let (.text(x), .text(y)): bytes(x) == bytes(y)
        case let (.flag(x), .flag(y)): x == y
        case let (.list(x), .list(y)): x.map(bytes) == y.map(bytes)
        default: false
        }
    }

    /// Checks everything `e` lists about the container at `path`.
    static func checkContainer(_ name: String, _ e: Expectation, _ reader: TXWReader) throws {
        let problems = reader.verify()
        #expect(problems.isEmpty, "\(name): \(problems.map(\.description))")
        #expect(reader.metadata.map { bytes($0.key) } == e.metadata.map { bytes($0.key) }, "\(name): metadata keys")
        for m in e.metadata {
            guard let value = reader.metadata(m.key) else { Issue.record("\(name): no key \(m.key.debugDescription)"); continue }
            let (type, found) = reported(value)
            #expect(type == m.type, "\(name): \(m.key.debugDescription) type")
            #expect(sameBytes(found, m.value), "\(name): \(m.key.debugDescription) = \(found), expected \(m.value)")
        }
        #expect(reader.tensors.map { bytes($0.name) } == e.tensorNames.map(bytes), "\(name): tensor names")
        for tname in e.tensorNames {
            #expect(reader.tensor(named: tname).map { bytes($0.name) } == bytes(tname), "\(name): \(tname.debugDescription) by name")
        }
        for (tname, t) in e.tensors {
            guard let entry = reader.tensor(named: tname) else { Issue.record("\(name): no tensor \(tname.debugDescription)"); continue }
            #expect(entry.dtype.description == t.dtype && entry.shape == t.shape, "\(name): \(tname) dtype, shape")
            #expect(entry.codec.description == t.codec && entry.filter.description == t.filter, "\(name): \(tname) codec, filter")
            #expect(entry.blockSize == t.blockSize && entry.blocks.count == t.blockCount, "\(name): \(tname) blocks")
            #expect(entry.rawSize == t.rawSize && entry.storedSize == t.storedSize, "\(name): \(tname) sizes")
            if let raw = t.raw {
                #expect(hex(try reader.readBytes(named: tname)) == raw, "\(name): \(tname) bytes")
            }
            if let values = t.values {
                #expect(try reader.read(named: tname, as: Double.self).map(bits) == values, "\(name): \(tname) values")
            }
        }
    }

    static func checkModel(_ name: String, _ m: ModelExpectation, _ reader: TXWReader) {
        for (precision, outcome) in [("f64", m.f64), ("f32", m.f32)] {
            do {
                let vocabulary: Vocabulary?
                if precision == "f64" { vocabulary = try ModelFile.load(reader, as: Double.self).vocabulary }
                else { vocabulary = try ModelFile.load(reader, as: Float.self).vocabulary }
                #expect(outcome.result == "load", "\(name): loaded in \(precision), expected a rejection")
                #expect(vocabulary?.tokens.map(bytes) == m.vocab?.map(bytes), "\(name): vocabulary in \(precision)")
            } catch let error as ModelError {
                #expect(outcome.result == "reject", "\(name): \(precision): \(error)")
                #expect(error.category == outcome.category, "\(name): \(precision): \(error)")
                for needle in outcome.mentions ?? [] {
                    #expect(error.description.contains(needle), "\(name): \(precision): '\(error)' does not mention \(needle)")
                }
            } catch {
                Issue.record("\(name): \(precision): unexpected \(error)")
            }
        }
    }

    @Test func everyHostileFileIsAcceptedAsStated() throws {
        let expected = try Self.expectations()
        #expect(expected.count >= 10)
        for (name, e) in expected {
            let path = Self.directory.appendingPathComponent(name).path
            let reader: TXWReader
            do {
                reader = try TXWReader(path: path, options: TXWReader.Options(memoryBudget: Self.budget))
            } catch {
                Issue.record("\(name) was rejected: \(error) (\(e.why))")
                continue
            }
            try Self.checkContainer(name, e, reader)
            if e.level == "model" {
                guard let m = e.model else { Issue.record("\(name): no model expectation"); continue }
                Self.checkModel(name, m, reader)
            }
        }
    }

    /// huge_tensor.txw: opening decodes nothing; verifying decodes all 64 blocks
    /// within a budget of 256 MiB; reading the 4 GiB tensor is refused by the
    /// budget before anything is allocated.
    @Test func hugeTensorIsVerifiedButNotAllocated() throws {
        let reader = try TXWReader(path: Self.directory.appendingPathComponent("huge_tensor.txw").path,
                                   options: TXWReader.Options(memoryBudget: Self.budget))
        #expect(reader.blocksDecoded == 0)
        let huge = try #require(reader.tensor(named: "huge"))
        #expect(huge.elementCount == 1 << 31 && huge.rawSize == 1 << 32)
        #expect(reader.verify().isEmpty)
        #expect(reader.blocksDecoded == 65)
        do {
            _ = try reader.readBytes(named: "huge")
            Issue.record("a 4 GiB read passed a 256 MiB budget")
        } catch let error as TXWFormatError {
            #expect(error.category == "memory", "\(error)")
        }
        #expect(reader.blocksDecoded == 65)
    }
}
