import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWModel
import TXWTestSupport

/// `txw-pack -o FILE.npz|FILE.safetensors` (or `--to`): txw → npz → txw and
/// txw → safetensors → txw keep every tensor bit for bit, the constants, the
/// context length, the vocabulary and typed user metadata; a foreign
/// safetensors file's `__metadata__` is kept as `safetensors.KEY`.
struct ExportToolTests {
    static func pack(_ arguments: [String]) throws -> ProcessResult { try tool("txw-pack", arguments) }

    /// A source model written with the library: non-notebook constants, a
    /// vocabulary with characters JSON escapes, a context length and one
    /// user value of every type.
    static func source(_ path: String, dtype: DType) throws {
        let constants = KernelConstants(rmsnormEpsilon: 1.25e-7, positionalBase: 5000.5, maskValue: -3.0e8)
        let h = Hyperparameters(vocabSize: 5, dModel: 8, nHead: 2, dHead: 4, dMLP: 16, nBlock: 2, constants: constants)
        var model = try ModelArrays.random(h, seed: 3)
        model.vocabulary = try Vocabulary(["a", "\"", "\\", "\n\u{1}", "é€😀"])
        model.contextLength = 77
        model.metadata = [
            "s": .string("x:y \"z\""), "i": .int(-9_007_199_254_740_993), "f": .float(1.0 / 3.0), "b": .bool(false),
            "l": .strings(["", "[\"]", "ü"]), "provenance": .string("test"), "txw.meta.odd": .string("prefix in a key"),
        ]
        try model.writer(dtype: dtype, options: TXWWriter.Options()).write(to: path)
    }

    /// Every metadata entry and every tensor (name, dtype, shape, bytes) of a txw file.
    static func contents(_ path: String) throws -> ([String: MetadataValue], [String: (DType, [Int], [UInt8])]) {
        let reader = try TXWReader(path: path)
        var metadata: [String: MetadataValue] = [:]
        for entry in reader.metadata { metadata[entry.key] = entry.value }
        var tensors: [String: (DType, [Int], [UInt8])] = [:]
        for entry in reader.tensors { tensors[entry.name] = (entry.dtype, entry.shape, try reader.readBytes(entry)) }
        return (metadata, tensors)
    }

    @Test(arguments: [("npz", DType.f32), ("npz", .f16), ("npz", .f64), ("safetensors", .f32), ("safetensors", .f16),
                      ("safetensors", .f64), ("safetensors", .bf16)])
    func roundTripKeepsEverything(format: String, dtype: DType) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.source(dir.file("a.txw"), dtype: dtype)
        let out = try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("m.\(format)"), "--json"])
        try #require(out.status == 0, "\(out.stderr)")
        #expect(try jsonObject(out.stdout)["file_size"] as? Int == Int(try FileManager.default.attributesOfItem(atPath: dir.file("m.\(format)"))[.size] as! UInt64))
        let back = try Self.pack(["--from", dir.file("m.\(format)"), "-o", dir.file("b.txw")])
        try #require(back.status == 0, "\(back.stderr)")
        let (m1, t1) = try Self.contents(dir.file("a.txw"))
        let (m2, t2) = try Self.contents(dir.file("b.txw"))
        // Everything kept; b.txw adds its lineage: packed from m.FORMAT (a.txw has none).
        #expect(m1 == m2.filter { !$0.key.hasPrefix("lineage.") })
        #expect(m2["lineage.source"] == .string("m.\(format)") && m2["lineage.source_format"] == .string(format))
        #expect(!m1.keys.contains { $0.hasPrefix("lineage.") })
        #expect(Set(t1.keys) == Set(t2.keys))
        for (name, (d, shape, bytes)) in t1 {
            let other = try #require(t2[name])
            #expect(other.0 == d && other.1 == shape && other.2 == bytes, "\(name)")
        }
        // The tools agree: the same inspect --json but for the path and sizes.
        let i1 = try jsonObject(try tool("txw-inspect", [dir.file("a.txw"), "--json"]).stdout)
        let i2 = try jsonObject(try tool("txw-inspect", [dir.file("b.txw"), "--json"]).stdout)
        let meta1 = try #require(i1["metadata"] as? NSDictionary)
        let meta2 = try #require(i2["metadata"] as? [String: Any]).filter { !$0.key.hasPrefix("lineage.") } as NSDictionary
        #expect(meta1.count == 7 && meta1.isEqual(meta2))
    }

    @Test func bf16InNPZIsFloat32WithTheSameValues() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.source(dir.file("a.txw"), dtype: .bf16)
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("m.npz")]).status == 0)
        #expect(try Self.pack(["--from", dir.file("m.npz"), "-o", dir.file("b.txw"), "--dtype", "bf16"]).status == 0)
        let (_, t1) = try Self.contents(dir.file("a.txw"))
        let (_, t2) = try Self.contents(dir.file("b.txw"))
        for (name, value) in t1 { #expect(t2[name]?.2 == value.2, "\(name)") }
        let file = try ArrayImporter.readFile(path: dir.file("m.npz"), memoryBudget: .unlimited)
        #expect(file.arrays.allSatisfy { $0.dtype == .f32 })
        // --dtype bf16 for an npz is a usage error.
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("x.npz"), "--dtype", "bf16"]).status == 64)
    }

    @Test func extensionAndTo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.source(dir.file("a.txw"), dtype: .f32)
        func head(_ name: String, _ count: Int = 4) throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: dir.file(name))).prefix(count))
        }
        // Another extension, or none, is refused unless --to names the format.
        for name in ["m.bin", "m", "m.npz.tmp"] {
            let r = try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file(name)])
            #expect(r.status == 64 && r.stderr.contains("--to"), "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file(name)))
        }
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("m.bin"), "--to", "npz"]).status == 0)
        #expect(try head("m.bin") == [0x50, 0x4B, 3, 4])
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("t.npz"), "--to", "txw"]).status == 0)
        #expect(try head("t.npz") == Array(FormatLimits.magic.prefix(4)))
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("U.SafeTensors")]).status == 0)
        let length = try head("U.SafeTensors", 9)
        #expect(length[4..<8] == [0, 0, 0, 0] && length[0] % 8 == 0 && length[8] == UInt8(ascii: "{"))
        // .txw-only flags are refused for the other formats.
        for flags in [["--level", "3"], ["--block-size", "64"], ["--stored"], ["--no-shuffle"]] {
            let r = try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("z.safetensors")] + flags)
            #expect(r.status == 64, "\(flags): \(r.stderr)")
        }
        // Never replaces a file without --force, like .txw.
        let again = try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("m.bin"), "--to", "safetensors"])
        #expect(again.status == 1)
        #expect(try head("m.bin") == [0x50, 0x4B, 3, 4])
        #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file("m.bin"), "--to", "safetensors", "--force"]).status == 0)
        // -o -: standard output, .txw unless --to names another format; the same bytes as the file.
        for (to, file) in [(nil, "t.npz"), ("safetensors", "U.SafeTensors"), ("npz", "m.npz")] {
            if to == "npz" { #expect(try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file(file)]).status == 0) }
            _ = FileManager.default.createFile(atPath: dir.file("piped-\(file)"), contents: nil)  // the child's stdout
            let piped = try tool("txw-pack", ["--from", dir.file("a.txw"), "-o", "-"] + (to.map { ["--to", $0] } ?? []),
                                 stdoutPath: dir.file("piped-\(file)"))
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("piped-\(file)"))) == Data(contentsOf: URL(fileURLWithPath: dir.file(file))),
                    "-o - --to \(to ?? "(none)")")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("-")) && !FileManager.default.fileExists(atPath: "-"))
    }

    @Test func memoryBudgetIsChecked() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.source(dir.file("a.txw"), dtype: .f64)
        for name in ["m.npz", "m.safetensors"] {
            let r = try Self.pack(["--from", dir.file("a.txw"), "-o", dir.file(name), "--dtype", "f32", "--max-memory", "9000"])
            #expect(r.status == 1 && r.stderr.contains("writing"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file(name)))
        }
    }

    /// A safetensors file written here (not by txw-pack): 8-byte length, JSON, data.
    static func foreignSafetensors(metadata: String) -> [UInt8] {
        var tensors: [(String, [Int])] = [("W_E", [3, 2])]
        for field in ["W_Q", "W_K", "W_V"] { tensors.append(("blocks.0.\(field)", [2, 1, 2])) }
        tensors += [("blocks.0.W_O", [2, 2]), ("blocks.0.W_1", [2, 3]), ("blocks.0.b_1", [3]), ("blocks.0.W_2", [3, 2]), ("blocks.0.b_2", [2])]
        var json = "{\"__metadata__\":\(metadata)"
        var offset = 0
        for (name, shape) in tensors {
            let size = shape.reduce(1, *) * 4
            json += ",\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        json += "}"
        let length = UInt64(json.utf8.count)
        return (0..<8).map { UInt8((length >> (8 * UInt64($0))) & 0xFF) } + Array(json.utf8) + [UInt8](repeating: 0, count: offset)
    }

    @Test func importKeepsForeignMetadata() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(Self.foreignSafetensors(metadata: "{\"format\":\"pt\",\"author\":\"Ana\",\"txw.model.context_length\":\"12\"}"))
            .write(to: URL(fileURLWithPath: dir.file("f.safetensors")))
        let r = try Self.pack(["--from", dir.file("f.safetensors"), "-o", dir.file("f.txw")])
        try #require(r.status == 0, "\(r.stderr)")
        let reader = try TXWReader(path: dir.file("f.txw"))
        #expect(reader.metadata("safetensors.format") == .string("pt"))
        #expect(reader.metadata("safetensors.author") == .string("Ana"))
        #expect(reader.metadata("model.context_length") == .int(12))
        // A txw key whose value does not parse is refused, naming it.
        for bad in ["{\"txw.model.mask_value\":\"abc\"}", "{\"txw.meta.k\":\"int:1.5\"}", "{\"txw.model.colour\":\"red\"}",
                    "{\"txw.model.vocab\":\"[1]\"}"] {
            try Data(Self.foreignSafetensors(metadata: bad)).write(to: URL(fileURLWithPath: dir.file("g.safetensors")))
            let g = try Self.pack(["--from", dir.file("g.safetensors"), "-o", dir.file("g.txw")])
            #expect(g.status == 1 && g.stderr.contains("txw."), "\(bad): \(g.stderr)")
        }
    }
}
