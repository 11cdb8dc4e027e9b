import Foundation
import Testing
import TXWTestSupport

/// Negative numbers on the command line are values: every numeric option of
/// every tool reads `-1` as its value (not as a missing value followed by a
/// flag), and a value out of range is a usage error (exit 64) that says
/// what is wrong and echoes the value.
struct NumberArgumentTests {
    static let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
    static let random = ["--random", "--vocab-size", "5", "--d-model", "4", "--n-head", "2", "--d-head", "2", "--d-mlp", "8", "--n-block", "1"]

    /// The usage error of `arguments` with `flag` given the value `value`:
    /// exit 64, the line that says so, never "Missing value".
    static func expectRefused(_ name: String, _ arguments: [String], _ needles: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try tool(name, arguments)
        let what = "\(name) \(arguments.suffix(2).joined(separator: " "))"
        #expect(r.status == 64, "\(what): status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Missing value"), "\(what): \(r.stderr)", sourceLocation: sourceLocation)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == 1, "\(what): one error line: \(r.stderr)", sourceLocation: sourceLocation)
        for needle in needles {
            #expect(r.stderr.contains(needle), "\(what): expected '\(needle)' in: \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func runRefusesNegativeValuesSayingWhy() throws {
        let g = Self.golden
        try Self.expectRefused("txw-run", [g, "-t", "-1"], ["-t (temperature) must be ≥ 0, got -1"])
        try Self.expectRefused("txw-run", [g, "-t", "-0.5"], ["-t (temperature) must be ≥ 0, got -0.5"])
        try Self.expectRefused("txw-run", [g, "-n", "-3"], ["-n (tokens to sample) must be ≥ 0, got -3"])
        try Self.expectRefused("txw-run", [g, "-k", "-2"], ["-k (top k) must be ≥ 1, got -2"])
        try Self.expectRefused("txw-run", [g, "--context", "-1"], ["--context must be ≥ 1, got -1"])
        try Self.expectRefused("txw-run", [g, "--loss", "--tokens", "1 2 3", "--stride", "-1"], ["--stride must be ≥ 1, got -1"])
        try Self.expectRefused("txw-run", [g, "--seed", "-1"], ["'-1'", "--seed", "never negative"])
        try Self.expectRefused("txw-run", [g, "--max-memory", "-1"], ["'-1'", "--max-memory", "not a size"])
    }

    @Test func packAndTrainRefuseNegativeValuesSayingWhy() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let out = dir.file("out.txw")
        try Self.expectRefused("txw-pack", Self.random + ["-o", out, "--seed", "-1"], ["'-1'", "--seed", "never negative"])
        try Self.expectRefused("txw-pack", Self.random + ["-o", out, "--context-length", "-4"], ["--context-length", "got -4"])
        try Self.expectRefused("txw-pack", Self.random + ["-o", out, "--block-size", "-64"], ["--block-size", "-64"])
        for flag in ["--vocab-size", "--d-model", "--n-head", "--d-head", "--d-mlp", "--n-block"] {
            var arguments = Self.random + ["-o", out]
            arguments[arguments.firstIndex(of: flag)! + 1] = "-2"
            try Self.expectRefused("txw-pack", arguments, [flag, "-2"])
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        let train = ["-o", out, "--init", Self.golden, "--data", Self.golden]
        try Self.expectRefused("txw-train", train + ["--lr", "-1"], ["--lr (learning rate) must be a finite number > 0, got -1"])
        try Self.expectRefused("txw-train", train + ["--seed", "-1"], ["'-1'", "--seed", "never negative"])
        try Self.expectRefused("txw-train", train + ["--val-fraction", "-0.25"], ["--val-fraction must be in [0, 1), got -0.25"])
        for flag in ["--steps", "--batch", "--context", "--eval-every", "--stop-at"] {
            try Self.expectRefused("txw-train", train + [flag, "-1"], ["\(flag) must be ≥ 1, got -1"])
        }
        try Self.expectRefused("txw-train", train + ["--checkpoint-every", "-1"], ["--checkpoint-every must be ≥ 0, got -1"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func benchRefusesNegativeValuesSayingWhy() throws {
        let g = Self.golden
        try Self.expectRefused("txw-bench", ["forward", g, "--m", "-1"], ["--m (sequence length) must be ≥ 1, got -1"])
        try Self.expectRefused("txw-bench", ["loss", g, "--repetitions", "-1"], ["--repetitions must be ≥ 1, got -1"])
        try Self.expectRefused("txw-bench", ["loss", g, "--threads", "-1"], ["--threads must be ≥ 1, got -1"])
        try Self.expectRefused("txw-bench", ["sample", g, "-t", "-1"], ["-t (temperature) must be a finite number ≥ 0, got -1"])
        try Self.expectRefused("txw-bench", ["sample", g, "-n", "-1"], ["-n (tokens to sample) must be ≥ 0, got -1"])
        try Self.expectRefused("txw-bench", ["train", g, "--batch", "-1"], ["--batch must be ≥ 1, got -1"])
    }

    /// A negative value that is in range is accepted: zstd's fast levels.
    @Test func negativeValuesInRangeAreAccepted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try tool("txw-pack", Self.random + ["-o", dir.file("fast.txw"), "--level", "-3"])
        #expect(r.status == 0, "\(r.stderr)")
        let loss = try tool("txw-run", [Self.golden, "--loss", "--tokens", "1 2 3", "--context", "3", "--stride", "1", "-t", "0"])
        #expect(loss.status == 0, "\(loss.stderr)")
    }
}
