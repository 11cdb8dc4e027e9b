import Foundation
import Testing
import TXWFormat
import TXWTestSupport

/// txw-inspect --digest and --expect-digest; the lineage txw-pack and
/// txw-train record and txw-inspect shows (Spec/txw-format.md §2.1, part 4).
struct DigestToolTests {
    static let shape = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "2"]

    static func isDigest(_ text: String?) -> Bool {
        guard let text else { return false }
        return text.utf8.count == 64 && text.allSatisfy { "0123456789abcdef".contains($0) }
    }

    /// The model digest txw-inspect --digest prints, checking the line's form.
    static func digest(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try tool("txw-inspect", [path, "--digest"])
        try #require(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
        let line = r.stdout.split(separator: "\n")
        try #require(line.count == 1, sourceLocation: sourceLocation)
        let hex = String(line[0].prefix(64))
        #expect(line[0] == hex + "  " + path, sourceLocation: sourceLocation)
        #expect(isDigest(hex), sourceLocation: sourceLocation)
        return hex
    }

    /// SHA-256 of a file by coreutils' sha256sum (not the code under test).
    static func sha256sum(_ path: String) throws -> String {
        let r = try shell("sha256sum '\(path)'")
        try #require(r.status == 0, "\(r.stderr)")
        return String(r.stdout.prefix(64))
    }

    static func metadata(_ path: String) throws -> (metadata: [String: Any], lineage: [String: Any]?) {
        let r = try tool("txw-inspect", [path, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let json = try jsonObject(r.stdout)
        return (try #require(json["metadata"] as? [String: Any]), json["lineage"] as? [String: Any])
    }

    @Test func digestIsTheSameForEveryStorageAndChangesWithTheDtype() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let a = dir.file("a.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["-o", a]).status == 0)
        let digest = try Self.digest(a)
        let repacks: [[String]] = [["--level", "19"], ["--stored"], ["--no-shuffle", "--level", "1"], ["--block-size", "64"],
                                   ["--block-size", "128", "--stored"], ["--name", "renamed", "--meta", "note=x"]]
        for (i, flags) in repacks.enumerated() {
            let out = dir.file("r\(i).txw")
            let r = try tool("txw-pack", ["--from", a, "-o", out] + flags)
            try #require(r.status == 0, "\(r.stderr)")
            #expect(try Self.digest(out) == digest, "\(flags)")
        }
        // Another dtype: another digest, as is a random model of another seed.
        try #require(try tool("txw-pack", ["--from", a, "-o", dir.file("h.txw"), "--dtype", "f16"]).status == 0)
        #expect(try Self.digest(dir.file("h.txw")) != digest)
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10", "--seed", "43"] + Self.shape + ["-o", dir.file("s.txw")]).status == 0)
        #expect(try Self.digest(dir.file("s.txw")) != digest)
        // --json: the digest and every tensor's, in the profile's order.
        let r = try tool("txw-inspect", [a, "--digest", "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let json = try jsonObject(r.stdout)
        #expect(json["digest"] as? String == digest)
        #expect(json["algorithm"] as? String == "sha256")
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let fields = ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"]
        #expect(tensors.map { $0["name"] as? String ?? "" } == ["W_E"] + (0..<2).flatMap { i in fields.map { "blocks.\(i).\($0)" } })
        #expect(tensors.allSatisfy { Self.isDigest($0["digest"] as? String) && $0["dtype"] as? String == "f32" })
        #expect(Set(tensors.map { $0["digest"] as? String ?? "" }).count == tensors.count)
        // Standard input: the same digest.
        let piped = try tool("txw-inspect", ["-", "--digest"], stdinPath: a)
        #expect(piped.stdout == digest + "  -\n", "\(piped.stderr)")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["TXW_PYTHON"] != nil))
    func pythonAgreesWithTheTool() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let a = dir.file("a.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10", "--dtype", "bf16"] + Self.shape + ["-o", a]).status == 0)
        let python = ProcessInfo.processInfo.environment["TXW_PYTHON"]!
        let r = try runProcess(URL(fileURLWithPath: python), ["-c", "import sys, txw; print(txw.digest(sys.argv[1]))", a])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try Self.digest(a)) + "\n")
    }

    @Test func expectDigest() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let a = dir.file("a.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["-o", a]).status == 0)
        let digest = try Self.digest(a)
        for given in [digest, "sha256:" + digest.uppercased()] {
            let ok = try tool("txw-inspect", [a, "--verify", "--expect-digest", given])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.contains("OK: content digest \(digest)\n"), "\(ok.stdout)")
            #expect(ok.stderr.isEmpty)
        }
        // Another model's digest: exit 1, one line on stderr naming both.
        let other = String(digest.reversed())
        let bad = try tool("txw-inspect", [a, "--verify", "--expect-digest", other])
        #expect(bad.status == 1)
        #expect(bad.stderr == "txw-inspect: \(a): content digest differs: expected \(other), found \(digest)\n")
        let badJSON = try tool("txw-inspect", [a, "--expect-digest", other, "--json"])
        #expect(badJSON.status == 1)
        let check = try #require(try jsonObject(badJSON.stdout)["digest"] as? [String: Any])
        #expect(check["match"] as? Bool == false && check["expected"] as? String == other && check["found"] as? String == digest)
        // Malformed: a usage error.
        for malformed in [String(digest.dropLast()), digest + "0", String(repeating: "g", count: 64), "md5:" + digest, ""] {
            let r = try tool("txw-inspect", [a, "--verify", "--expect-digest", malformed])
            #expect(r.status == 64, "\(malformed): \(r.stderr)")
            #expect(r.stderr.contains("--expect-digest expects a SHA-256 digest"), "\(r.stderr)")
        }
        // Damage is reported as damage, before any digest.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: a)))
        bytes[bytes.count - 10] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("d.txw")))
        let damaged = try tool("txw-inspect", [dir.file("d.txw"), "--verify", "--expect-digest", digest])
        #expect(damaged.status == 1)
        #expect(damaged.stdout.contains("DAMAGED"))
        #expect(!damaged.stderr.contains("digest"))
        // Flags that do not go together.
        for flags in [["--digest", "--verify"], ["--digest", "--stats"], ["--expect-digest", digest, "--stats"], ["--digest", "--dump", "W_E"]] {
            #expect(try tool("txw-inspect", [a] + flags).status == 64, "\(flags)")
        }
    }

    @Test func aContainerThatIsNotAModelHasNoDigest() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let a = dir.file("a.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["-o", a]).status == 0)
        let cache = try tool("txw-run", [a, "--tokens", "1 2 3", "--cache", dir.file("c.txw")])
        try #require(cache.status == 0, "\(cache.stderr)")
        for flags in [["--digest"], ["--digest", "--json"], ["--verify", "--expect-digest", String(repeating: "0", count: 64)]] {
            let r = try tool("txw-inspect", [dir.file("c.txw")] + flags)
            #expect(r.status == 1, "\(flags)")
            #expect(r.stderr.hasPrefix("txw-inspect: \(dir.file("c.txw")): ") && r.stderr.contains("activation cache"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        // A damaged block of a model: one line naming the file, exit 1.
        let stored = dir.file("s.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["--stored", "-o", stored]).status == 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: stored)))
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("damaged.txw")))
        let damaged = try tool("txw-inspect", [dir.file("damaged.txw"), "--digest"])
        #expect(damaged.status == 1 && damaged.stdout.isEmpty)
        #expect(damaged.stderr.hasPrefix("txw-inspect: \(dir.file("damaged.txw")): ") && damaged.stderr.contains("block"), "\(damaged.stderr)")
        #expect(damaged.stderr.split(separator: "\n").count == 1, "\(damaged.stderr)")
    }

    @Test func packRecordsItsSource() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let npz = fixturesDirectory("tools").appendingPathComponent("notebook.npz").path
        let sha = try Self.sha256sum(npz)
        let a = dir.file("a.txw")
        let r = try tool("txw-pack", ["--from", npz, "-o", a])
        try #require(r.status == 0, "\(r.stderr)")
        let (m, lineage) = try Self.metadata(a)
        #expect(m["lineage.tool"] as? String == "txw-pack")
        #expect(m["lineage.source"] as? String == "notebook.npz")
        #expect(m["lineage.source_format"] as? String == "npz")
        #expect(m["lineage.source_sha256"] as? String == sha)
        #expect(m["lineage.source_digest"] == nil)
        #expect(lineage?["lineage.source_sha256"] as? String == sha)
        // Standard input: the bytes read.
        let piped = try tool("txw-pack", ["--from", "-", "-o", dir.file("p.txw")], stdinPath: npz)
        try #require(piped.status == 0, "\(piped.stderr)")
        let (p, _) = try Self.metadata(dir.file("p.txw"))
        #expect(p["lineage.source_sha256"] as? String == sha)
        #expect(p["lineage.source"] as? String == "standard input")
        // safetensors.
        let st = fixturesDirectory("tools").appendingPathComponent("notebook.safetensors").path
        try #require(try tool("txw-pack", ["--from", st, "-o", dir.file("s.txw")]).status == 0)
        let (s, _) = try Self.metadata(dir.file("s.txw"))
        #expect(s["lineage.source_format"] as? String == "safetensors")
        #expect(s["lineage.source_sha256"] as? String == (try Self.sha256sum(st)))
        // A re-pack of a .txw: its model digest; the source's own lineage replaced.
        let b = dir.file("b.txw")
        try #require(try tool("txw-pack", ["--from", a, "-o", b, "--level", "9"]).status == 0)
        let (n, _) = try Self.metadata(b)
        #expect(n["lineage.source_digest"] as? String == (try Self.digest(a)))
        #expect(n["lineage.source_format"] as? String == "txw")
        #expect(n["lineage.source"] as? String == "a.txw")
        #expect(n["lineage.source_sha256"] == nil)
        // Lineage is user metadata: not in the digest.
        #expect(try Self.digest(b) == (try Self.digest(a)))
        // The text summary shows it.
        let text = try tool("txw-inspect", [b])
        #expect(text.stdout.contains("lineage:\n  lineage.tool = \"txw-pack\"\n  lineage.source = \"a.txw\"\n"), "\(text.stdout)")
        // --random records none; --meta may not write lineage.
        let random = dir.file("r.txw")
        try #require(try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["-o", random]).status == 0)
        let (rm, rl) = try Self.metadata(random)
        #expect(!rm.keys.contains { $0.hasPrefix("lineage.") })
        #expect(rl == nil)
        let meta = try tool("txw-pack", ["--from", a, "-o", dir.file("x.txw"), "--meta", "lineage.source=elsewhere"])
        #expect(meta.status == 64)
        for key in ["training.data_sha256", "training.data_xxh3"] {
            let forged = try tool("txw-pack", ["--from", a, "-o", dir.file("x.txw"), "--meta", "\(key)=deadbeef"])
            #expect(forged.status == 64 && forged.stderr.contains("written by txw-train"), "\(forged.stderr)")
        }
        // A stream given by path (a FIFO from process substitution) names no file: "standard input".
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = binDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let fifo = try runProcess(URL(fileURLWithPath: "/bin/bash"),
                                  ["-c", "txw-pack --from <(cat \"$1\") -o \"$2\"", "bash", npz, dir.file("f.txw")], environment: environment)
        try #require(fifo.status == 0, "\(fifo.stderr)")
        let (f, _) = try Self.metadata(dir.file("f.txw"))
        #expect(f["lineage.source"] as? String == "standard input" && f["lineage.source_sha256"] as? String == sha)
    }

    @Test func trainRecordsItsInitAndData() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = String(repeating: "abcab cbaac bca ", count: 40)
        try text.write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        try "abc ".write(toFile: dir.file("v.txt"), atomically: true, encoding: .utf8)
        let initPath = dir.file("init.txw")
        try #require(try tool("txw-pack", ["--random", "--char-vocab", dir.file("v.txt")] + Self.shape + ["-o", initPath]).status == 0)
        let settings = ["--batch", "2", "--context", "6", "--steps", "4", "--eval-every", "2"]
        let t = try tool("txw-train", ["--init", initPath, "--data", dir.file("d.txt"), "-o", dir.file("t.txw")] + settings)
        try #require(t.status == 0, "\(t.stderr)")
        let (m, lineage) = try Self.metadata(dir.file("t.txw"))
        #expect(m["lineage.tool"] as? String == "txw-train")
        #expect(m["lineage.source"] as? String == "init.txw")
        #expect(m["lineage.source_format"] as? String == "txw")
        #expect(m["lineage.source_digest"] as? String == (try Self.digest(initPath)))
        #expect(m["training.data_sha256"] as? String == (try Self.sha256sum(dir.file("d.txt"))))
        #expect(m["training.data_xxh3"] != nil)
        #expect(lineage?["training.data_sha256"] as? String == (try Self.sha256sum(dir.file("d.txt"))))
        // Training changed the weights: another digest than the init's.
        #expect(try Self.digest(dir.file("t.txw")) != (try Self.digest(initPath)))
        // --random: the data's SHA-256, no lineage.
        let r = try tool("txw-train", ["--random"] + Self.shape + ["--data", dir.file("d.txt"), "-o", dir.file("r.txw")] + settings)
        try #require(r.status == 0, "\(r.stderr)")
        let (rm, _) = try Self.metadata(dir.file("r.txw"))
        #expect(rm["training.data_sha256"] as? String == (try Self.sha256sum(dir.file("d.txt"))))
        #expect(!rm.keys.contains { $0.hasPrefix("lineage.") })
        // A resumed run checks the recorded SHA-256: a checkpoint whose record
        // differs (the XXH3 agreeing) is refused; the right one resumes.
        let forged = dir.file("f.txw")
        // (txw-pack --meta refuses the key: the checkpoint is rewritten with the format library.)
        let source = try TXWReader(path: dir.file("t.txw"))
        var writer = try TXWWriter()
        try writer.declareMinorVersion(source.version.minor)
        for entry in source.metadata {
            try writer.setMetadata(entry.key, entry.key == "training.data_sha256" ? .string(String(repeating: "0", count: 64)) : entry.value)
        }
        for t in source.tensors { try writer.addTensor(name: t.name, dtype: t.dtype, shape: t.shape, bytes: source.readBytes(t)) }
        try writer.write(to: forged)
        try FileManager.default.copyItem(atPath: dir.file("t.txw") + ".adam", toPath: forged + ".adam")
        let refused = try tool("txw-train", ["-o", forged, "--resume", "--data", dir.file("d.txt"), "--steps", "6"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("its SHA-256 differs"), "\(refused.stderr)")
        let resumed = try tool("txw-train", ["-o", dir.file("t.txw"), "--resume", "--data", dir.file("d.txt"), "--steps", "6"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (after, _) = try Self.metadata(dir.file("t.txw"))
        #expect(after["lineage.source_digest"] as? String == m["lineage.source_digest"] as? String)
    }
}
