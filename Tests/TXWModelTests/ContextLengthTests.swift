import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// `model.context_length` (Spec/txw-format.md §2.1) and the profile's version
/// rules (§1.8, §2.3): written with format version 1.1, read back, kept by a
/// re-pack, refused out of range, with the wrong type or in a 1.0 file;
/// unknown `model.` keys refused in known versions and ignored in newer ones.
struct ContextLengthTests {
    static let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 2)
    static let key = "model.context_length"

    /// The minor version field of a file's header (bytes 10–11, little-endian), read by hand.
    static func minorVersion(_ bytes: [UInt8]) -> Int { Int(bytes[10]) | Int(bytes[11]) << 8 }

    /// `bytes` with the header's minor version set to `minor` and the header checksum recomputed.
    static func withMinorVersion(_ bytes: [UInt8], _ minor: UInt16) -> [UInt8] {
        var b = bytes
        b[10] = UInt8(minor & 0xFF)
        b[11] = UInt8(minor >> 8)
        let checksum = Checksum.xxh3(Array(b[0..<56]))
        for i in 0..<8 { b[56 + i] = UInt8((checksum >> (8 * UInt64(i))) & 0xFF) }
        return b
    }

    /// A model container built through the raw writer: the profile's keys of
    /// a small model, edited by `edit`, declaring minor version `minor`
    /// (patched into the header when above what the writer knows).
    static func container(minor: UInt16, edit: (inout [String: MetadataValue]) -> Void = { _ in }) throws -> [UInt8] {
        let model = try TXWReader(bytes: ModelFile.encode(smallModel(h), vocabulary: Vocabulary(["a", "b", "c", "d", "e"])).encode())
        var metadata = Dictionary(uniqueKeysWithValues: model.metadata.map { ($0.key, $0.value) })
        edit(&metadata)
        var w = try TXWWriter()
        for (k, v) in metadata { try w.setMetadata(k, v) }
        for entry in model.tensors {
            try w.addTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: model.readBytes(entry))
        }
        if minor <= 1 { try w.declareMinorVersion(minor) }
        let bytes = try w.encode()
        return minor <= 1 ? bytes : withMinorVersion(bytes, minor)
    }

    /// The profile error of `bytes`, or nil when it loads as a model.
    static func profileError(_ bytes: [UInt8]) -> ModelError? {
        do {
            _ = try ModelFile.load(TXWReader(bytes: bytes), as: Double.self)
            return nil
        } catch {
            return error as? ModelError
        }
    }

    @Test func savedWithFormatVersion11AndReadBack() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let weights = try smallModel(Self.h)
        for length in [1, 48, 1 << 24] {
            let path = dir.file("m\(length).txw")
            try ModelFile.save(weights, contextLength: length, to: path)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(Self.minorVersion(bytes) == 1, "a file with model.context_length declares 1.1")
            let reader = try TXWReader(path: path)
            #expect(reader.version == FormatVersion(major: 1, minor: 1))
            #expect(reader.metadata(Self.key) == .int(Int64(length)))
            #expect(try ModelFile.contextLength(of: reader) == length)
            let loaded = try ModelFile.load(path: path, as: Double.self)
            #expect(loaded.contextLength == length)
            #expect(loaded.weights == weights)
            #expect(loaded.metadata.isEmpty, "the key is the profile's, not user metadata")
            #expect(try ModelFile.load(path: path, as: Float.self).contextLength == length)
        }
        // Without it: a 1.0 file, as before.
        try ModelFile.save(weights, to: dir.file("none.txw"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("none.txw"))))
        #expect(Self.minorVersion(bytes) == 0)
        #expect(try ModelFile.load(path: dir.file("none.txw"), as: Double.self).contextLength == nil)
        #expect(try ModelFile.contextLength(of: TXWReader(path: dir.file("none.txw"))) == nil)
    }

    @Test func outOfRangeIsRefusedWhenWriting() throws {
        let weights = try smallModel(Self.h)
        for length in [0, -1, (1 << 24) + 1, Int.max, Int.min] {
            let error = try #require(throws: ModelError.self) { try ModelFile.encode(weights, contextLength: length) }
            guard case let .outOfRange(key, _, requirement) = error else {
                Issue.record("\(length): \(error)")
                continue
            }
            #expect(key == Self.key && requirement.contains("16777216"), "\(error)")
        }
        var arrays = try ModelArrays.random(Self.h, seed: 1)
        arrays.contextLength = 0
        #expect(throws: ModelError.self) { try arrays.writer(dtype: nil, options: TXWWriter.Options()) }
    }

    @Test func repackKeepsAndChangesIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try ModelFile.save(try smallModel(Self.h), vocabulary: Vocabulary(["a", "b", "c", "d", "e"]), contextLength: 40,
                           metadata: ["name": .string("x")], to: dir.file("a.txw"))
        var arrays = try ModelArrays(reader: TXWReader(path: dir.file("a.txw")))
        #expect(arrays.contextLength == 40)
        #expect(arrays.metadata == ["name": .string("x")])
        try arrays.writer(dtype: .f16, options: TXWWriter.Options()).write(to: dir.file("b.txw"))
        let b = try TXWReader(path: dir.file("b.txw"))
        #expect(b.metadata(Self.key) == .int(40) && b.version.minor == 1)
        arrays.contextLength = 7
        try arrays.writer(dtype: nil, options: TXWWriter.Options()).write(to: dir.file("c.txw"))
        #expect(try ModelFile.load(path: dir.file("c.txw"), as: Float.self).contextLength == 7)
        arrays.contextLength = nil
        try arrays.writer(dtype: nil, options: TXWWriter.Options()).write(to: dir.file("d.txw"))
        let d = try TXWReader(path: dir.file("d.txw"))
        #expect(d.metadata(Self.key) == nil && d.version.minor == 0)
        // A random model has none.
        #expect(try ModelArrays.random(Self.h, seed: 3).contextLength == nil)
    }

    @Test func profileChecksTheKey() throws {
        func with(_ value: MetadataValue, minor: UInt16 = 1) throws -> [UInt8] {
            try Self.container(minor: minor) { $0[Self.key] = value }
        }
        #expect(Self.profileError(try with(.int(1))) == nil)
        #expect(Self.profileError(try with(.int(1 << 24))) == nil)
        #expect(Self.profileError(try with(.int(0))) == .outOfRange(key: Self.key, value: "0", requirement: "must be in 1…16777216"))
        #expect(Self.profileError(try with(.int(-5))) == .outOfRange(key: Self.key, value: "-5", requirement: "must be in 1…16777216"))
        #expect(Self.profileError(try with(.int((1 << 24) + 1)))
                == .outOfRange(key: Self.key, value: "16777217", requirement: "must be in 1…16777216"))
        #expect(Self.profileError(try with(.float(32))) == .wrongType(key: Self.key, expected: "an int", found: "a float"))
        #expect(Self.profileError(try with(.string("32"))) == .wrongType(key: Self.key, expected: "an int", found: "a string"))
        // In a file that declares 1.0, the key of 1.1 is refused, before its type or range.
        let v10 = ModelError.keyNeedsVersion(key: Self.key, since: FormatVersion(major: 1, minor: 1), found: FormatVersion(major: 1, minor: 0))
        #expect(Self.profileError(try with(.int(32), minor: 0)) == v10)
        #expect(Self.profileError(try with(.float(32), minor: 0)) == v10)
        #expect(v10.description.contains("model.context_length") && v10.description.contains("1.1") && v10.description.contains("1.0"))
        // The same checks through every entry point that reads a profile.
        let bad = try TXWReader(bytes: try with(.int(0)))
        #expect(throws: ModelError.self) { try ModelFile.profile(of: bad) }
        #expect(throws: ModelError.self) { try ModelFile.contextLength(of: bad) }
        #expect(throws: ModelError.self) { try ModelArrays(reader: bad) }
    }

    @Test func checkOrder() throws {
        // Required keys first, then the context length, then unknown keys, then the vocabulary.
        #expect(Self.profileError(try Self.container(minor: 1) { $0[Self.key] = .int(0); $0["model.d_mlp"] = nil }) == .missingKey("model.d_mlp"))
        #expect(Self.profileError(try Self.container(minor: 1) { $0[Self.key] = .int(0); $0["model.aaa"] = .int(1) })
                == .outOfRange(key: Self.key, value: "0", requirement: "must be in 1…16777216"))
        #expect(Self.profileError(try Self.container(minor: 1) { $0["model.aaa"] = .int(1); $0["model.vocab"] = .strings(["a"]) })
                == .unknownModelKey("model.aaa"))
    }

    @Test func unknownKeysByVersion() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // Known versions (1.0, 1.1): an unknown model. key is refused.
        for minor: UInt16 in [0, 1] {
            #expect(Self.profileError(try Self.container(minor: minor) { $0["model.n_ctx"] = .int(8) }) == .unknownModelKey("model.n_ctx"))
        }
        // A newer minor version: unknown model. keys are ignored, the known ones still checked.
        let future = try Self.container(minor: 2) {
            $0["model.future_note"] = .string("optional")
            $0[Self.key] = .int(24)
            $0["name"] = .string("n")
        }
        let reader = try TXWReader(bytes: future)
        #expect(reader.version == FormatVersion(major: 1, minor: 2))
        let loaded = try ModelFile.load(reader, as: Double.self)
        #expect(loaded.contextLength == 24)
        #expect(loaded.metadata.map(\.key) == ["name"], "ignored keys are not passed on as user metadata")
        // A re-pack drops what it does not know and declares what it writes.
        let arrays = try ModelArrays(reader: reader)
        try arrays.writer(dtype: nil, options: TXWWriter.Options()).write(to: dir.file("r.txw"))
        let repacked = try TXWReader(path: dir.file("r.txw"))
        #expect(repacked.version == FormatVersion(major: 1, minor: 1))
        #expect(repacked.metadata.map(\.key).contains("model.future_note") == false)
        #expect(repacked.metadata(Self.key) == .int(24))
        #expect(Self.profileError(try Self.container(minor: 2) { $0[Self.key] = .int(0); $0["model.x"] = .int(1) })
                == .outOfRange(key: Self.key, value: "0", requirement: "must be in 1…16777216"))
        #expect(Self.profileError(try Self.container(minor: 2) { $0["model.d_model"] = .int(5) }) != nil)
        // A model without the key in a newer minor version loads too.
        #expect(try ModelFile.load(TXWReader(bytes: try Self.container(minor: 7)), as: Float.self).contextLength == nil)
    }

    @Test func writerDeclaresTheLowestMinorVersion() throws {
        var w = try TXWWriter()
        #expect(w.minorVersion == 0)
        #expect(Self.minorVersion(try w.encode()) == 0)
        try w.declareMinorVersion(1)
        try w.declareMinorVersion(0)
        #expect(w.minorVersion == 1, "never lowered")
        #expect(Self.minorVersion(try w.encode()) == 1)
        #expect(try TXWReader(bytes: try w.encode()).version == FormatVersion(major: 1, minor: 1))
        #expect(throws: TXWFormatError.self) { try w.declareMinorVersion(2) }
        #expect(w.minorVersion == 1)
    }
}
