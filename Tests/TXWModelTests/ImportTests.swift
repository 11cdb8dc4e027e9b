import Foundation
import SystemPackage
import Testing
import TXWFormat
import TXWTestSupport
@testable import TXWModel

/// The npz / safetensors importers against the fixtures of
/// tools/reference/make_import_fixtures.py (Tests/Fixtures/import): values bit
/// for bit, every malformed file rejected with the error its manifest states,
/// and no crash on any truncation or single-byte damage.
struct ImportTests {
    static let directory = fixturesDirectory("import")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func json(_ name: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name)))
        return try #require(object as? [String: Any])
    }

    /// Each element of `array` widened to float64, as its bit pattern.
    static func float64Bits(_ array: ImportedArray) -> [UInt64] {
        let size = array.dtype.size
        return stride(from: 0, to: array.bytes.count, by: size).map { start in
            var raw: UInt64 = 0
            for i in (0..<size).reversed() { raw = raw << 8 | UInt64(array.bytes[start + i]) }
            switch array.dtype {
            case .f64: return raw
            case .f32: return Double(Float(bitPattern: UInt32(raw))).bitPattern
            case .f16: return Double(Float16(bitPattern: UInt16(raw))).bitPattern
            case .bf16: return Double(Float(bitPattern: UInt32(raw) << 16)).bitPattern
            }
        }
    }

    /// What a reader did: threw an ImportError, or something else (described).
    enum Outcome {
        case success(ImportError)
        case failure(String)
    }

    /// Runs `body`; returns the ImportError it threw, or a description of what else happened.
    static func importError(_ body: () throws -> [ImportedArray]) -> Outcome {
        do {
            let arrays = try body()
            return .failure("no error (\(arrays.count) arrays)")
        } catch let error as ImportError {
            return .success(error)
        } catch {
            return .failure("not an ImportError: \(error)")
        }
    }

    // MARK: - Valid files

    @Test func validFixturesMatchNumpyBitForBit() throws {
        let expected = try Self.json("expected.json")
        #expect(expected.count == 6)
        for (file, value) in expected.sorted(by: { $0.key < $1.key }) {
            let entries = try #require(value as? [[String: Any]])
            let direct = file.hasSuffix(".npz")
                ? try ArrayImporter.readNPZ(path: Self.path(file))
                : try ArrayImporter.readSafetensors(path: Self.path(file))
            let sniffed = try ArrayImporter.read(path: Self.path(file))
            #expect(direct == sniffed, "\(file): read(path:) agrees with the format's reader")
            #expect(direct.map(\.name) == entries.map { $0["name"] as? String ?? "?" }, "\(file): names and order")
            for (array, entry) in zip(direct, entries) {
                let what = "\(file) '\(array.name)'"
                #expect(array.dtype.description == entry["dtype"] as? String, "\(what) dtype")
                #expect(array.shape == entry["shape"] as? [Int], "\(what) shape")
                #expect(array.bytes.count == array.elementCount * array.dtype.size, "\(what) byte count")
                let values = (entry["values"] as? [String] ?? []).map { UInt64($0.dropFirst(2), radix: 16) }
                #expect(Self.float64Bits(array) == values, "\(what) values")
            }
        }
    }

    @Test func compressedAndStoredArchivesAgree() throws {
        let stored = try ArrayImporter.readNPZ(path: Self.path("savez.npz"))
        let deflated = try ArrayImporter.readNPZ(path: Self.path("savez_compressed.npz"))
        #expect(stored == deflated)
        #expect(stored.count == 14)
        // Fortran order and big-endian come out as C-order little-endian.
        let fortran = try #require(stored.first { $0.name == "big_fortran_f64" })
        #expect(fortran.dtype == .f64 && fortran.shape == [2, 3])
        #expect(try ArrayImporter.readNPZ(path: Self.path("empty.npz")) == [])
    }

    // MARK: - Malformed files

    @Test func everyMalformedFixtureGivesItsError() throws {
        let manifest = try Self.json("malformed.json")
        #expect(manifest.count >= 30)
        for (file, value) in manifest.sorted(by: { $0.key < $1.key }) {
            let entry = try #require(value as? [String: Any])
            let category = try #require(entry["category"] as? String)
            let mentions = entry["mentions"] as? [String] ?? []
            let path = Self.path(file)
            let result = Self.importError {
                switch entry["reader"] as? String {
                case "npz": try ArrayImporter.readNPZ(path: path)
                case "safetensors": try ArrayImporter.readSafetensors(path: path)
                default: try ArrayImporter.read(path: path)
                }
            }
            switch result {
            case let .failure(problem):
                Issue.record("\(file): expected a \(category) ImportError, got \(problem)")
            case let .success(error):
                #expect(error.category == category, "\(file): \(error)")
                for word in mentions {
                    #expect(error.description.contains(word), "\(file): '\(word)' missing from: \(error)")
                }
            }
        }
    }

    @Test func errorsSayWhatWhereAndDetail() throws {
        #expect(throws: ImportError.checksum(what: "npz member 'w.npy'", offset: 0, expected: 0x66a9_1554, found: 0x1633_9894)) {
            try ArrayImporter.readNPZ(path: Self.path("bad_crc.npz"))
        }
        let error = ImportError.checksum(what: "npz member 'w.npy'", offset: 0, expected: 0x66a9_1554, found: 0x1633_9894)
        #expect(error.description == "npz member 'w.npy': offset 0: CRC-32 expected 0x66a91554, found 0x16339894")
        #expect(throws: ImportError.unsupportedDType(what: "npz member 'x.npy' .npy header", offset: 65, dtype: "'<i8'")) {
            try ArrayImporter.read(path: Self.path("int64.npz"))
        }
        #expect(throws: ImportError.truncated(what: "safetensors JSON header", offset: 8, needed: 4096, available: 72)) {
            try ArrayImporter.read(path: Self.path("st_header_beyond.safetensors"))
        }
        let missing = Self.path("no-such-file.npz")
        #expect(throws: ImportError.io(path: missing, operation: "open", errno: .noSuchFileOrDirectory)) {
            try ArrayImporter.read(path: missing)
        }
        #expect(ImportError.io(path: missing, operation: "open", errno: .noSuchFileOrDirectory).description
                == "\(missing): open: No such file or directory")
        #expect(throws: ImportError.notRegularFile(path: Self.directory.path, operation: "open", isDirectory: true)) {
            try ArrayImporter.readSafetensors(path: Self.directory.path)
        }
        #expect(ImportError.notRegularFile(path: Self.directory.path, operation: "open", isDirectory: true).description
                == "\(Self.directory.path): open: is a directory")
    }

    @Test func wrongReaderForTheFormatIsAnError() throws {
        let npz = try Self.bytes("savez.npz")
        let st = try Self.bytes("tensors.safetensors")
        #expect(throws: ImportError.self) { try ArrayImporter.readSafetensors(bytes: npz) }
        #expect(throws: ImportError.self) { try ArrayImporter.readNPZ(bytes: st) }
    }

    // MARK: - Robustness

    /// Every proper prefix of a valid file is rejected, by every entry point.
    @Test func truncationAtEveryLengthThrows() throws {
        for file in ["savez.npz", "savez_compressed.npz", "zip64.npz", "tensors.safetensors"] {
            let whole = try Self.bytes(file)
            var accepted: [Int] = []
            var other: [String] = []
            whole.withUnsafeBytes { buffer in
                for length in 0..<whole.count {
                    let prefix = ImportBytes(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
                    let readers: [(ImportBytes) throws -> [ImportedArray]] = [
                        { try ArrayImporter.read($0, name: file, budget: .unlimited) },
                        file.hasSuffix(".npz") ? { try NPZReader.read($0) } : { try SafetensorsReader.read($0) },
                    ]
                    for reader in readers {
                        switch Self.importError({ try reader(prefix) }) {
                        case .success: break
                        case let .failure(problem):
                            if problem.hasPrefix("no error") { accepted.append(length) } else { other.append(problem) }
                        }
                    }
                }
            }
            #expect(accepted.isEmpty, "\(file): prefixes accepted: \(accepted.prefix(10))")
            #expect(other.isEmpty, "\(file): \(other.prefix(3))")
            #expect(try ArrayImporter.read(bytes: whole).count > 0)
        }
    }

    /// Damage to any single byte never crashes, and any error is an ImportError
    /// (small files with every structure: zip64 records, stored and deflated
    /// members, .npy versions 1–3, safetensors).
    @Test func singleByteDamageNeverCrashes() throws {
        for file in ["zip64.npz", "versions.npz", "tensors.safetensors"] {
            var damaged = try Self.bytes(file)
            var other: [String] = []
            for position in damaged.indices {
                let original = damaged[position]
                for value: UInt8 in [original ^ 0x01, original ^ 0x80, 0xFF] where value != original {
                    damaged[position] = value
                    damaged.withUnsafeBytes { buffer in
                        if case let .failure(problem) = Self.importError({ try ArrayImporter.read(ImportBytes(buffer), name: file, budget: .unlimited) }),
                           !problem.hasPrefix("no error") {
                            other.append("byte \(position) = \(value): \(problem)")
                        }
                    }
                }
                damaged[position] = original
            }
            #expect(other.isEmpty, "\(file): \(other.prefix(3))")
        }
    }

    // MARK: - Zip details

    /// A zip comment — even one holding the end record's signature — is skipped.
    @Test func archiveCommentIsAllowed() throws {
        var archive = try Self.bytes("savez.npz")
        let comment: [UInt8] = Array("a comment PK\u{05}\u{06} with the signature".utf8)
        archive[archive.count - 2] = UInt8(comment.count)
        archive += comment
        #expect(try ArrayImporter.readNPZ(bytes: archive) == ArrayImporter.readNPZ(path: Self.path("savez.npz")))
    }

    @Test func stoppingInflateAtTheImpliedSize() throws {
        // The stream holds 100000 bytes more than the header implies; the
        // importer must stop at the header's size and say so.
        let result = Self.importError { try ArrayImporter.readNPZ(path: Self.path("deflate_overrun.npz")) }
        guard case let .success(error) = result, case let .inflate(what, _, detail) = error else {
            Issue.record("\(result)")
            return
        }
        #expect(what == "npz member 'd.npy'")
        #expect(detail.contains("inflates to more than 144 bytes"))
    }

    // MARK: - .npy header literal

    static func header(_ text: String) throws -> NPYHeader {
        try NPYHeader.parse(Array(text.utf8), what: "h", offset: 0)
    }

    @Test func npyHeaderLiteralVariants() throws {
        let a = try Self.header("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }      \n")
        #expect(a.dtype == .f64 && !a.bigEndian && !a.fortranOrder && a.shape == [3, 4])
        let b = try Self.header("{\"shape\":(5,),\"fortran_order\":True,\"descr\":\">f2\"}")
        #expect(b.dtype == .f16 && b.bigEndian && b.fortranOrder && b.shape == [5])
        let c = try Self.header("{ 'shape' : ( ) , 'descr' : '=f4' , 'fortran_order' : False }")
        #expect(c.dtype == .f32 && !c.bigEndian && c.shape == [])
        #expect(try Self.header("{'descr': '|f4', 'fortran_order': False, 'shape': (2L, 3L,), }").shape == [2, 3])
        #expect(try Self.header("{'descr': 'f8', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8), }").shape.count == 8)

        let bad = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }",          // not a tuple
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", // unknown key
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}",
            "{'descr': '<f8', 'fortran_order': False}",                          // missing shape
            "{'descr': '<f8', 'fortran_order': false, 'shape': ()}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)} x",
            "{'descr': '<f8' 'fortran_order': False, 'shape': ()}",
            "{'descr': '<f\\x38', 'fortran_order': False, 'shape': ()}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)",
            "'descr': '<f8'",
            "",
        ]
        for text in bad {
            #expect(throws: ImportError.self, "\(text)") { try Self.header(text) }
        }
        for descr in ["<i8", "<f16", "<c8", "|O", "<u2", "f", "<V2", ">>f8"] {
            #expect(throws: ImportError.unsupportedDType(what: "h", offset: 0, dtype: "'\(descr)'")) {
                try Self.header("{'descr': '\(descr)', 'fortran_order': False, 'shape': ()}")
            }
        }
        #expect(throws: ImportError.self) {
            try Self.header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': ()}")
        }
    }

    @Test func fortranToCOrder() {
        // Shape (2, 3) in Fortran order: columns first.
        let fortran: [UInt8] = [0, 3, 1, 4, 2, 5]
        #expect(ArrayLayout.fortranToC(fortran, shape: [2, 3], elementSize: 1) == [0, 1, 2, 3, 4, 5])
        // (2, 2, 2) with 2-byte elements: element (i, j, k) at Fortran index i + 2j + 4k.
        var source: [UInt8] = []
        for f in 0..<8 { source += [UInt8(f), 0xEE] }
        let c = ArrayLayout.fortranToC(source, shape: [2, 2, 2], elementSize: 2)
        let order = stride(from: 0, to: 16, by: 2).map { c[$0] }
        #expect(order == [0, 4, 2, 6, 1, 5, 3, 7])
        var swapped: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        ArrayLayout.byteSwap(&swapped, elementSize: 4)
        #expect(swapped == [4, 3, 2, 1, 8, 7, 6, 5])
    }

    // MARK: - safetensors header values

    static func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
        bytes += Array(header.utf8) + data
        return bytes
    }

    @Test func safetensorsHeaderValuesAreChecked() throws {
        let four = [UInt8](repeating: 0, count: 16)
        let ok = Self.safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: four)
        #expect(try ArrayImporter.read(bytes: ok).map(\.shape) == [[4]])
        // Integral floats are integers.
        let integral = Self.safetensors(#"{"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16.0]}}"#, data: four)
        #expect(try ArrayImporter.readSafetensors(bytes: integral).map(\.shape) == [[4]])
        let exponents = Self.safetensors(#"{"a":{"dtype":"F32","shape":[0.4e1],"data_offsets":[0,1600E-2]}}"#, data: four)
        #expect(try ArrayImporter.readSafetensors(bytes: exponents).map(\.shape) == [[4]])
        // Escapes in names decode, surrogate pairs included; whitespace may follow the object.
        let escaped = Self.safetensors(#"{"\u00e9\ud83d\ude00\n\"\/" : {"dtype":"F32","shape":[4],"data_offsets":[0,16]}} "#, data: four)
        #expect(try ArrayImporter.readSafetensors(bytes: escaped).map(\.name) == ["é😀\n\"/"])

        let bad: [(String, String)] = [
            (#"{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}"#, "shape"),
            (#"{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,1e30]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16,32]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"shape":[4],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":32,"shape":[4],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":1}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, "limit"),
            (#"{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#, "dtype"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":{"k":1}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "layout"),
            (#"["a"]"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#, "malformed"),
            // A name, field or metadata key given twice is ambiguous.
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, "duplicateName"),
            (#"{"a":{"dtype":"F32","shape":[4],"shape":[4],"data_offsets":[0,16]}}"#, "duplicateName"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":{"k":"1","k":"2"}}"#, "duplicateName"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":{"k":null}}"#, "malformed"),
            // Strict JSON: no leading zeros, NaN, trailing commas, raw control characters,
            // lone surrogates or text after the object.
            (#"{"a":{"dtype":"F32","shape":[04],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4,],"data_offsets":[0,16]}}"#, "malformed"),
            ("{\"a\u{1}\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "malformed"),
            (#"{"a\ud83d":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}} x"#, "malformed"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":"#
                + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}", "limit"),
            // 2^63 is beyond Int.
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,9223372036854775808]}}"#, "malformed"),
        ]
        for (header, category) in bad {
            switch Self.importError({ try ArrayImporter.readSafetensors(bytes: Self.safetensors(header, data: four)) }) {
            case let .success(error):
                #expect(error.category == category, "\(header): \(error)")
            case let .failure(problem):
                Issue.record("\(header): \(problem)")
            }
        }
        #expect(throws: ImportError.self) { try ArrayImporter.readSafetensors(bytes: [1, 0, 0, 0, 0, 0, 0]) }

        // Errors point at the value at fault: the header starts at file offset 8.
        let negative = #"{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#
        #expect(throws: ImportError.malformed(what: "safetensors tensor 'a' shape", offset: 8 + 29,
                                              expected: "integers in 0 … 2^40", found: "-4")) {
            try ArrayImporter.readSafetensors(bytes: Self.safetensors(negative, data: four))
        }
        let twice = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a":{}}"#
        #expect(throws: ImportError.duplicateName(what: "safetensors JSON header", name: "a", offset: 8 + 55)) {
            try ArrayImporter.readSafetensors(bytes: Self.safetensors(twice, data: four))
        }
        // Integers are exact, even written as fractions: 2^53 + 1 is not rounded to 2^53.
        let exact = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,9007199254740993.0]}}"#
        if case let .success(error) = Self.importError({ try ArrayImporter.readSafetensors(bytes: Self.safetensors(exact, data: four)) }) {
            #expect(error.category == "truncated" && error.description.contains("[0, 9007199254740993]"), "\(error)")
        } else {
            Issue.record("\(exact): no ImportError")
        }
        let cut = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]"#
        #expect(throws: ImportError.malformed(what: "safetensors JSON header", offset: 8 + 53,
                                              expected: "',' or '}' in an object", found: "the end of the text")) {
            try ArrayImporter.readSafetensors(bytes: Self.safetensors(cut, data: four))
        }
    }
}
