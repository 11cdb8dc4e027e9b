import Foundation
import Testing
import TXWTestSupport

/// Bad input gets one line on stderr naming the problem, exit status 1
/// (usage errors: the parser's 64), no stack trace, nothing written.
struct CLIErrorTests {
    static func inputs(in dir: TemporaryDirectory) throws -> [(String, String)] {
        try Data().write(to: URL(fileURLWithPath: dir.file("empty.txw")))
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array(repeating: 7, count: 60)
        try Data(png).write(to: URL(fileURLWithPath: dir.file("image.png")))
        var golden = [UInt8](try Data(contentsOf: repositoryRoot.appendingPathComponent("samples/golden.txw")))
        golden[golden.count - 5] ^= 0xFF
        try Data(golden).write(to: URL(fileURLWithPath: dir.file("damaged.txw")))
        try FileManager.default.createDirectory(atPath: dir.file("folder"), withIntermediateDirectories: false)
        return [
            (dir.file("absent.txw"), "No such file"), (dir.file("folder"), "directory"), (dir.file("empty.txw"), "truncated"),
            (dir.file("image.png"), "not a txw file"), (fixtures.appendingPathComponent("notebook.safetensors").path, "not a txw file"),
            (dir.file("damaged.txw"), "damaged"),
        ]
    }

    static func expectOneLine(_ r: ProcessResult, status: Int32, containing needle: String, _ what: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(what): status \(r.status)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(what): one line, got: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(needle), "\(what): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(what): no result on stdout", sourceLocation: sourceLocation)
    }

    @Test func badFilesForEveryTool() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for (path, needle) in try Self.inputs(in: dir) {
            let name = URL(fileURLWithPath: path).lastPathComponent
            // A damaged block is only found when the block is read: --verify and txw-run read them all.
            let inspectArgs = needle == "damaged" ? [path, "--verify"] : [path]
            if needle != "damaged" {
                Self.expectOneLine(try tool("txw-inspect", inspectArgs), status: 1, containing: needle, "inspect \(name)")
            }
            Self.expectOneLine(try tool("txw-run", [path, "-n", "2"]), status: 1, containing: needle, "run \(name)")
            // A safetensors file is a valid source for txw-pack (NotebookParityTests); not for the others.
            guard !name.hasSuffix(".safetensors") else { continue }
            let out = dir.file("out-\(name).txw")
            let pack = try tool("txw-pack", ["--from", path, "-o", out])
            #expect(pack.status == 1 && pack.stderr.split(separator: "\n").count == 1, "pack \(name): \(pack.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "pack \(name) wrote nothing")
        }
    }

    @Test func badFlagValuesAreUsageErrors() throws {
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        let cases: [(String, [String], String)] = [
            ("txw-run", [golden, "-k", "0"], "-k"), ("txw-run", [golden, "-t", "-1"], "-t"),
            ("txw-run", [golden, "-n", "-3"], "-n"), ("txw-run", [golden, "--precision", "f16"], "precision"),
            ("txw-run", [golden, "--loss", "--logits", "--tokens", "1 2"], "one mode"), ("txw-run", [golden, "--tokens", "1 x"], "x"),
            ("txw-run", [golden, "--seed", "-1"], "seed"), ("txw-inspect", [golden, "--dump", "W_E", "--verify"], "--dump"),
            ("txw-pack", ["--random", "-o", "x.txw"], "--vocab-size"), ("txw-pack", ["--random", "--vocab-size", "4", "--d-model", "3", "--n-head", "1", "--d-head", "1", "--d-mlp", "1", "--n-block", "1", "-o", "x.txw"], "even"),
            ("txw-pack", ["--from", golden, "--random", "-o", "x.txw"], "one source"), ("txw-pack", ["--from", golden, "-o", "x.txw", "--block-size", "100"], "block"),
            ("txw-pack", ["--from", golden, "-o", "x.txw", "--dtype", "int8"], "dtype"), ("txw-pack", ["--from", golden, "-o", "x.txw", "--meta", "model.x=1"], "reserved"),
        ]
        for (name, args, needle) in cases {
            let r = try tool(name, args)
            #expect(r.status == 64, "\(name) \(args): status \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(needle), "\(name) \(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "x.txw"))
        }
    }

    @Test func inputThatCannotBeTokenized() throws {
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        Self.expectOneLine(try tool("txw-run", [golden, "--prompt", "hex"]), status: 1, containing: "no token matches \"x\"", "untokenizable")
        let pack = fixtures.appendingPathComponent("notebook.npz").path
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(try tool("txw-pack", ["--from", pack, "-o", dir.file("m.txw")]).status == 0)
        Self.expectOneLine(try tool("txw-run", [dir.file("m.txw"), "--prompt", "hi"]), status: 1, containing: "no vocabulary", "no vocabulary")
        Self.expectOneLine(try tool("txw-run", [dir.file("m.txw"), "--tokens", "1 99"]), status: 1, containing: "token 99 at position 1", "range")
        Self.expectOneLine(try tool("txw-run", [dir.file("m.txw"), "--loss", "--tokens", "1"]), status: 1, containing: "at least 2", "short")
    }

    @Test func readOnlyDirectoryWritesNothing() throws {
        guard getuid() != 0 else { return }  // root writes anywhere; covered by the issue-6 suite on a tmpfs
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        let r = try tool("txw-pack", ["--from", repositoryRoot.appendingPathComponent("samples/golden.txw").path, "-o", dir.file("m.txw")])
        Self.expectOneLine(r, status: 1, containing: "Permission denied", "read-only")
    }
}

/// The byte-flip and truncation sweeps through the tool, on sampled positions
/// (every position is swept through the library in TXWFormatTests/TXWModelTests).
struct VerifySweepTests {
    @Test func sampledFlipsAndTruncationsFailVerify() throws {
        let golden = [UInt8](try Data(contentsOf: repositoryRoot.appendingPathComponent("samples/golden.txw")))
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("g.txw")
        var state: UInt64 = 77
        for round in 0..<40 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let position = Int(state >> 33) % golden.count
            var bytes = golden
            if round % 4 == 3 {
                bytes = Array(golden.prefix(position))
            } else {
                bytes[position] ^= UInt8(1 << (round % 8))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let r = try tool("txw-inspect", [path, "--verify"])
            let what = round % 4 == 3 ? "truncated to \(position)" : "bit \(round % 8) flipped at \(position)"
            #expect(r.status == 1, "\(what): status \(r.status)")
            #expect(r.stderr.split(separator: "\n").count == 1 && !r.stderr.contains("Fatal"), "\(what): \(r.stderr)")
            #expect(!r.stdout.hasPrefix("OK"), "\(what)")
        }
    }
}
