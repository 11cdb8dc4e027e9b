import Foundation
import Testing
import TXWFormat
import TXWModel
import TXWTestSupport

/// `model.context_length` through the tools: `txw-pack --context-length` sets
/// and changes it on every kind of pack, a re-pack keeps it, `txw-inspect`
/// shows it (text and `--json`), `txw-train` writes its `--context`.
struct ContextLengthToolTests {
    static let shape = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "1"]
    static let key = "model.context_length"

    /// The file's `model.context_length` and minor version, read with the library (not through the tools).
    static func stored(_ path: String) throws -> (MetadataValue?, UInt16) {
        let reader = try TXWReader(path: path)
        return (reader.metadata(key), reader.version.minor)
    }

    static func pack(_ arguments: [String]) throws -> ProcessResult { try tool("txw-pack", arguments) }

    @Test func packSetsKeepsAndChangesIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let npz = fixtures.appendingPathComponent("notebook.npz").path
        // --random and imports: none unless given.
        #expect(try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("r0.txw")]).status == 0)
        #expect(try Self.stored(dir.file("r0.txw")) == (nil, 0))
        #expect(try Self.pack(["--from", npz, "-o", dir.file("i0.txw")]).status == 0)
        #expect(try Self.stored(dir.file("i0.txw")) == (nil, 0))
        // Given: set, with format version 1.1.
        let random = try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("r.txw"), "--context-length", "64", "--json"])
        try #require(random.status == 0, "\(random.stderr)")
        #expect(try jsonObject(random.stdout)["context_length"] as? Int == 64)
        #expect(try Self.stored(dir.file("r.txw")) == (.int(64), 1))
        #expect(try Self.pack(["--from", npz, "-o", dir.file("i.txw"), "--context-length", "16777216"]).status == 0)
        #expect(try Self.stored(dir.file("i.txw")) == (.int(1 << 24), 1))
        // A re-pack keeps it (also across a dtype change), or changes it.
        let keep = try Self.pack(["--from", dir.file("r.txw"), "-o", dir.file("keep.txw"), "--dtype", "f16", "--json"])
        try #require(keep.status == 0, "\(keep.stderr)")
        #expect(try jsonObject(keep.stdout)["context_length"] as? Int == 64)
        #expect(try Self.stored(dir.file("keep.txw")) == (.int(64), 1))
        #expect(try Self.pack(["--from", dir.file("r.txw"), "-o", dir.file("change.txw"), "--context-length", "1"]).status == 0)
        #expect(try Self.stored(dir.file("change.txw")) == (.int(1), 1))
        #expect(try Self.pack(["--from", dir.file("r0.txw"), "-o", dir.file("add.txw"), "--context-length", "9"]).status == 0)
        #expect(try Self.stored(dir.file("add.txw")) == (.int(9), 1))
        // Without it, --json says null.
        let none = try Self.pack(["--from", dir.file("r0.txw"), "-o", dir.file("none.txw"), "--json"])
        #expect(try jsonObject(none.stdout)["context_length"] is NSNull)
        // A re-pack without a dtype change keeps every tensor's bytes.
        let a = try TXWReader(path: dir.file("r.txw")), b = try TXWReader(path: dir.file("change.txw"))
        for entry in a.tensors { #expect(try a.readBytes(named: entry.name) == b.readBytes(named: entry.name)) }
    }

    @Test func packRefusesOutOfRange() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for value in ["0", "-3", "16777217", "99999999999999999999", "x"] {
            let r = try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("m.txw"), "--context-length=\(value)"])
            #expect(r.status == 64, "\(value): \(r.stderr)")
            #expect(r.stderr.contains("--context-length") || r.stderr.contains("context-length"), "\(value): \(r.stderr)")
        }
        #expect(dir.contents().isEmpty, "nothing written")
        let r = try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("m.txw"), "--context-length", "0"])
        #expect(r.stderr.contains("--context-length must be in 1…16777216, got 0"), "\(r.stderr)")
    }

    @Test func inspectShowsIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("a.txw"), "--context-length", "1234"]).status == 0)
        #expect(try Self.pack(["--random", "--vocab-size", "6"] + Self.shape + ["-o", dir.file("b.txw")]).status == 0)
        let a = try tool("txw-inspect", [dir.file("a.txw")])
        #expect(a.status == 0 && a.stdout.contains("txw format 1.1"), "\(a.stdout)")
        #expect(a.stdout.split(separator: "\n").contains("context:     1,234 tokens"), "\(a.stdout)")
        let b = try tool("txw-inspect", [dir.file("b.txw")])
        #expect(b.stdout.contains("txw format 1.0") && b.stdout.split(separator: "\n").contains("context:     not recorded"), "\(b.stdout)")
        let aj = try jsonObject(try tool("txw-inspect", [dir.file("a.txw"), "--json"]).stdout)
        #expect(aj["format_version"] as? String == "1.1")
        #expect((aj["model"] as? [String: Any])?["context_length"] as? Int == 1234)
        #expect((aj["metadata"] as? [String: Any])?[Self.key] == nil, "a profile key, not user metadata")
        let bj = try jsonObject(try tool("txw-inspect", [dir.file("b.txw"), "--json"]).stdout)
        #expect((bj["model"] as? [String: Any])?["context_length"] is NSNull)
        // A file whose context length is refused is shown as not a model, naming the key.
        var w = try TXWWriter()
        let model = try TXWReader(path: dir.file("b.txw"))
        for entry in model.metadata { try w.setMetadata(entry.key, entry.value) }
        try w.setMetadata(Self.key, .int(0))
        try w.declareMinorVersion(1)
        for entry in model.tensors { try w.addTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: model.readBytes(entry)) }
        try w.write(to: dir.file("bad.txw"))
        let bad = try tool("txw-inspect", [dir.file("bad.txw")])
        #expect(bad.stdout.contains("not a txw model") && bad.stdout.contains(Self.key), "\(bad.stdout)")
        let run = try tool("txw-run", [dir.file("bad.txw"), "--tokens", "1 2"])
        #expect(run.status == 1 && run.stderr.contains(Self.key), "\(run.stderr)")
    }

    @Test func trainWritesItsContext() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = String(repeating: "abcab cabba\n", count: 40)
        try text.write(toFile: dir.file("data.txt"), atomically: true, encoding: .utf8)
        let r = try tool("txw-train", ["-o", dir.file("t.txw"), "--random"] + Self.shape +
                         ["--data", dir.file("data.txt"), "--steps", "4", "--batch", "2", "--context", "12", "--eval-every", "2",
                          "--checkpoint-every", "2"])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(try Self.stored(dir.file("t.txw")) == (.int(12), 1))
        #expect(try ModelFile.load(path: dir.file("t.txw"), as: Float.self).contextLength == 12)
        // From a model with another context length: the run's --context replaces it.
        #expect(try Self.pack(["--from", dir.file("t.txw"), "-o", dir.file("p.txw"), "--context-length", "99"]).status == 0)
        let again = try tool("txw-train", ["-o", dir.file("u.txw"), "--init", dir.file("p.txw"),
                                           "--data", dir.file("data.txt"), "--steps", "2", "--batch", "2", "--context", "7"])
        try #require(again.status == 0, "\(again.stderr)")
        #expect(try Self.stored(dir.file("u.txw")) == (.int(7), 1))
    }
}
