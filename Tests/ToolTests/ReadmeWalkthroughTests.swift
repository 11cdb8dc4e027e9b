import Foundation
import Testing
import TXWTestSupport

/// The README's walkthroughs ("Train, stop, resume, evaluate", "Look inside a model", "Archive and check") run as written
/// (with the built tools on PATH, in a fresh directory beside the samples).
struct ReadmeWalkthroughTests {
    /// The first ```sh block after `heading` in README.md.
    static func block(after heading: String) throws -> String {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "\n" + heading + "\n"), "README.md has no \(heading)")
        let rest = readme[section.upperBound...]
        let open = try #require(rest.range(of: "```sh\n"))
        let close = try #require(rest[open.upperBound...].range(of: "\n```"))
        return String(rest[open.upperBound..<close.lowerBound])
    }

    /// Runs `script` with `set -euo pipefail` in `dir` (beside a link to the
    /// samples), the built tools first on PATH.
    static func run(_ script: String, in dir: TemporaryDirectory, name: String) throws -> ProcessResult {
        try FileManager.default.createSymbolicLink(atPath: dir.file("samples"),
                                                   withDestinationPath: repositoryRoot.appendingPathComponent("samples").path)
        try ("set -euo pipefail\ncd \"$1\"\n" + script + "\n").write(toFile: dir.file(name), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = binDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        return try runProcess(URL(fileURLWithPath: "/bin/bash"), [dir.file(name), dir.path], environment: environment)
    }

    @Test func trainStopResumeEvaluateRunsAsWritten() throws {
        let script = try Self.block(after: "### Train, stop, resume, evaluate")
        #expect(script.contains("--stop-at") && script.contains("--resume") && script.contains("--loss --text-file"))
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try Self.run(script, in: dir, name: "walkthrough.sh")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("txw-train: --stop-at 150: stopped at step 150 of 300; resume with: txw-train -o story.txw --resume --data samples/tiny-corpus.txt\n"),
                "\(r.stderr)")
        #expect(r.stderr.contains("\nwrote story.txw: step 300 of 300, train loss "), "\(r.stderr)")
        #expect(r.stdout.contains("training.steps = 300") && r.stdout.contains("perplexity"), "\(r.stdout)")
        // What the text after the block says.
        let refused = try tool("txw-train", ["-o", dir.file("story.txw"), "--resume", "--data", dir.file("samples/tiny-corpus.txt"), "--batch", "4"])
        #expect(refused.status == 64 && refused.stderr.contains("--batch 4 contradicts the checkpoint's batch 8"), "\(refused.stderr)")
    }

    /// "Archive and check": the commands as written print what the comments say.
    @Test func archiveAndCheckRunsAsWritten() throws {
        let script = try Self.block(after: "### Archive and check")
        #expect(script.contains("--digest") && script.contains("--expect-digest") && script.contains("--level 1"))
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try Self.run(script, in: dir, name: "archive.sh")
        try #require(r.status == 0, "\(r.stderr)")
        // Every "# OK…" and "# HEX  archive.txw" comment of the block is a line the script printed.
        let printed = Set(r.stdout.split(separator: "\n").map(String.init))
        let shown = script.split(separator: "\n").filter { $0.hasPrefix("# OK") || $0.hasSuffix("  archive.txw") }.map { String($0.dropFirst(2)) }
        #expect(shown.count == 3)
        for line in shown { #expect(printed.contains(line), "README shows '\(line)'; the commands printed:\n\(r.stdout)") }
        // The digest shown is the sample's, by the Python package too (an independent implementation).
        let digest = try #require(shown.first?.prefix(64)).description
        #expect(try String(contentsOfFile: dir.file("archive.sha256"), encoding: .utf8) == digest + "  archive.txw\n")
        #expect(r.stdout.contains("lineage.source_digest = \"\(digest)\""), "\(r.stdout)")
        // --diff: the re-pack has the archive's contents (only its lineage differs); the f16 copy differs, exit 1.
        let diffShown = script.split(separator: "\n").filter { $0.hasPrefix("#   lineage.source:") || $0.hasPrefix("# result:") }.map { String($0.dropFirst(2)) }
        #expect(diffShown.count == 2)
        for line in diffShown { #expect(printed.contains(line), "README shows '\(line)'; the commands printed:\n\(r.stdout)") }
        #expect(printed.contains { $0.hasPrefix("W_E ") && $0.contains("differs, dtype f32 vs f16") && $0.hasSuffix("512 of 512  first at index 0 (0, 0)") },
                "\(r.stdout)")
        #expect(printed.contains { $0.hasPrefix("result: differ (17 of 17 tensors in both differ") }, "\(r.stdout)")
        // --expect-digest and --diff on the f16 copy: exit status 1 each.
        #expect(r.stdout.split(separator: "\n").filter { $0 == "exit status 1" }.count == 2, "\(r.stdout)")
        let stderrLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("txw-inspect:") }
        #expect(stderrLines.count == 1 && stderrLines[0].hasPrefix("txw-inspect: half.txw: content digest differs: expected \(digest), found "),
                "\(r.stderr)")
        if let python = ProcessInfo.processInfo.environment["TXW_PYTHON"] {
            let py = try runProcess(URL(fileURLWithPath: python), ["-c", "import sys, txw; print(txw.digest(sys.argv[1]))", dir.file("fast.txw")])
            #expect(py.stdout == digest + "\n", "\(py.stderr)")
        }
    }

    /// "Look inside a model": the commands as written, and what the text after them says.
    @Test func lookInsideRunsAsWritten() throws {
        let script = try Self.block(after: "### Look inside a model")
        #expect(script.contains("--ablate blocks.$b.attn.head.$h") && script.contains("--lens") && script.contains("--cache qa.npz"))
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try Self.run(script, in: dir, name: "inside.sh")
        try #require(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let losses = lines.filter { $0.hasPrefix("loss ") }
        #expect(losses.count == 8 && losses.allSatisfy { $0.contains("unablated loss 0.750") }, "\(r.stdout)")
        // Head 1.1 costs the most in block 1; heads 1.0 and 1.2 almost nothing (the table's +2.06, +0.002, +0.001).
        func change(_ line: String) -> Double? { line.range(of: "change ").flatMap { Double(line[$0.upperBound...].prefix { $0 != " " }) } }
        let changes = losses.compactMap(change)
        #expect(changes.count == 8 && abs(changes[5] - 2.06) < 0.01 && changes[4] < 0.01 && changes[6] < 0.01, "\(changes)")
        #expect(lines.contains { $0.hasPrefix("5    \">\"    1     \">\"") && $0.hasSuffix("\"b\" 1.000") }, "\(r.stdout)")
        #expect(lines.contains("wrote 37 activations of 11 tokens (f32, 108,487 bytes) to qa.npz"), "\(r.stdout)")
        #expect(lines.suffix(2) == ["ddaed", "bfdca"], "\(r.stdout)")
        // The page: what the text says of head 1.1's ablation (+3.18) and of heads 1.0 and 1.2 (under 0.005).
        #expect(lines.contains { $0.hasPrefix("wrote the report of 11 tokens (2 × 4 heads, ") && $0.hasSuffix(" bytes) to reversal.html") }, "\(r.stdout)")
        let json = try tool("txw-run", [repositoryRoot.appendingPathComponent("samples/reversal.txw").path, "--report", dir.file("again.html"),
                                        "--text", "acdfb>bfdca", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let summary = try jsonObject(json.stdout)
        #expect(summary["tokens"] as? Int == 11 && summary["blocks"] as? Int == 2 && summary["heads"] as? Int == 4
                && summary["ablate_mode"] as? String == "zero" && (summary["loss"] as? Double).map { $0 > 0 } == true, "\(summary)")
        let page = try String(contentsOfFile: dir.file("reversal.html"), encoding: .utf8)
        let grid = try PageText.ablationGrid(page)
        #expect(grid.count == 8 && abs(grid[5] - 3.18) < 0.005 && abs(grid[7] - 2.23) < 0.005 && abs(grid[4]) < 0.005 && abs(grid[6]) < 0.005, "\(grid)")
    }
}
