import Foundation
import Testing
import TXWFormat
import TXWModel
import TXWTestSupport
import TXWToolSupport

/// txw-train against hostile flags and a hostile OUT.adam (issue 12, classes
/// 2 and 10): every case is refused with one line, never a trap, a hang or a
/// non-finite checkpoint written with exit 0.
struct TrainHostileInputTests {
    static let shape = TrainToolTests.shape
    static let run = TrainToolTests.run

    /// The lines on stderr that are not the argument parser's usage/help lines.
    func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
    }

    @Test(arguments: [
        (["--context", "9223372036854775807"], "--context"),
        (["--batch", "9223372036854775807"], "--batch"),
        (["--batch", "1000000000000"], "--batch"),
        (["--steps", "9223372036854775807"], "--steps"),
        (["--batch", "65536", "--context", "65536"], "--batch × (--context + 1)"),
        (["--batch", "1", "--context", "65536"], "activations"),
    ])
    func hugeTrainFlagsAreUsageErrors(flags: [String], named: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try String(repeating: "abcabd ", count: 40).write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let result = try tool("txw-train", ["-o", dir.file("m.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt")] + flags)
        #expect(result.status == 64, "\(result.stderr)")
        let lines = errorLines(result.stderr)
        #expect(lines.count == 1 && lines[0].contains(named), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.txw")))
    }

    @Test(arguments: [
        (["--vocab-size", "16777216", "--d-model", "16777216", "--n-head", "1", "--d-head", "1", "--d-mlp", "1", "--n-block", "0"], "W_E"),
        (["--vocab-size", "16", "--d-model", "2", "--n-head", "16777216", "--d-head", "16777216", "--d-mlp", "1", "--n-block", "1"], "W_Q"),
        (["--vocab-size", "16777216", "--d-model", "256", "--n-head", "1", "--d-head", "1", "--d-mlp", "1", "--n-block", "0"], "parameters"),
    ])
    func hugeRandomModelsAreUsageErrors(flags: [String], named: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let result = try tool("txw-pack", ["--random", "-o", dir.file("x.txw")] + flags)
        #expect(result.status == 64, "\(result.stderr)")
        let lines = errorLines(result.stderr)
        #expect(lines.count == 1 && lines[0].contains(named), "\(result.stderr)")
    }

    @Test func statusLineNeverOverflows() {
        for (steps, elapsed) in [(Int.max, 1e-300), (Int.max, 0), (1 << 40, .infinity), (Int.max, .greatestFiniteMagnitude)] {
            let line = TrainingStatus.line(step: 1, steps: steps, train: .nan, validation: nil, elapsed: elapsed,
                                           firstStep: 0, tokensPerStep: 65536 * 65537)
            #expect(line.hasPrefix("step 1/\(steps)") && line.contains("ETA"))
        }
    }

    /// A trained model a.txw with its a.txw.adam (10 steps), in `dir`.
    func trained(_ dir: TemporaryDirectory) throws {
        try String(repeating: "abcabd abcabe ", count: 30).write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let result = try tool("txw-train", ["-o", dir.file("a.txw"), "--random"] + Self.shape +
                              ["--data", dir.file("d.txt"), "--steps", "10"] + Self.run)
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// Rewrites a.txw.adam (and, when `step` is given, a.txw's training.steps
    /// to agree) with `edit` applied to each tensor's values and shape.
    func craft(_ dir: TemporaryDirectory, step: Int64? = nil,
               edit: (String, inout [Int], inout [Double]) -> Void = { _, _, _ in }) throws {
        let reader = try TXWReader(path: dir.file("a.txw.adam"))
        var writer = try TXWWriter()
        let saved: Int64
        if case let .int(s)? = reader.metadata("adamw.step") { saved = s } else { saved = 0 }
        try writer.setMetadata("adamw.step", .int(step ?? saved))
        for entry in reader.tensors {
            var shape = entry.shape
            var values = try reader.read(named: entry.name, as: Double.self)
            edit(entry.name, &shape, &values)
            try writer.addTensor(name: entry.name, dtype: .f64, shape: shape, bytes: ElementCoding.encode(values, as: .f64))
        }
        try writer.write(to: dir.file("a.txw.adam"), overwrite: true)
        if let step {
            var model = try ModelArrays(reader: TXWReader(path: dir.file("a.txw")))
            model.metadata["training.steps"] = .int(step)
            try model.writer(dtype: nil, options: TXWWriter.Options()).write(to: dir.file("a.txw"), overwrite: true)
        }
    }

    func resume(_ dir: TemporaryDirectory, steps: Int = 20, extra: [String] = []) throws -> ProcessResult {
        try tool("txw-train", ["-o", dir.file("a.txw"), "--resume", "--data", dir.file("d.txt"), "--steps", "\(steps)"] + Self.run + extra)
    }

    /// One case of a crafted OUT.adam: the resume is refused (exit 1, one line naming `expected`) and a.txw is untouched.
    func expectRefused(_ dir: TemporaryDirectory, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw")))
        let result = try resume(dir)
        #expect(result.status == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && expected.allSatisfy { lines[0].contains($0) }, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw"))) == before, sourceLocation: sourceLocation)
    }

    @Test func momentOfTheWrongShapeIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        try craft(dir) { name, shape, values in
            if name == "v.W_E" { shape = [shape[0] - 1, shape[1]]; values.removeLast(shape[1]) }
        }
        try expectRefused(dir, ["a.txw.adam", "v.W_E", "shape", "expected"])
    }

    @Test func transposedMomentIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        try craft(dir) { name, shape, _ in
            if name == "m.blocks.0.W_1" { shape = [shape[1], shape[0]] }
        }
        try expectRefused(dir, ["a.txw.adam", "m.blocks.0.W_1", "shape"])
    }

    @Test(arguments: [Int64(-1), 1 << 62, Int64.min, Int64.max])
    func stepOutOfRangeIsRefused(step: Int64) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        try craft(dir, step: step)
        try expectRefused(dir, ["a.txw.adam", "adamw.step", "\(step)"])
    }

    @Test func stepPastTheRunLeavesNothingToDoWithoutReplayingIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        // 2^40: replaying that many windows would take days; the resume
        // must not depend on the saved step.
        try craft(dir, step: 1 << 40)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw")))
        let result = try resume(dir)
        #expect(result.status == 0 && result.stderr.contains("nothing to do"), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw"))) == before)
    }

    @Test(arguments: [("v.W_E", -1.0, "second moment of W_E[3]"), ("v.blocks.0.b_1", .nan, "second moment of blocks.0.b_1[3]"),
                      ("v.blocks.0.W_O", .infinity, "second moment of blocks.0.W_O[3]"),
                      ("m.blocks.0.W_Q", -.infinity, "first moment of blocks.0.W_Q[3]")])
    func nonFiniteOrNegativeMomentsAreRefused(tensor: String, value: Double, named: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        try craft(dir) { name, _, values in
            if name == tensor { values[3] = value }
        }
        try expectRefused(dir, ["a.txw.adam", named])
    }

    @Test func divergingResumeWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try trained(dir)
        // Finite, non-negative state that overflows f32 weights on the next step.
        try craft(dir) { name, _, values in
            if name == "m.W_E" { values = values.map { _ in 1e300 } }
            if name == "v.W_E" { values = values.map { _ in 0 } }
        }
        try expectRefused(dir, ["diverged", "not updated (its checkpoint of step"])
    }

    @Test func divergingRunWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try String(repeating: "abcabd abcabe ", count: 30).write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let result = try tool("txw-train", ["-o", dir.file("a.txw"), "--random"] + Self.shape +
                              ["--data", dir.file("d.txt"), "--steps", "5", "--batch", "2", "--context", "8", "--lr", "1e300"])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("diverged"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.txw")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.txw.adam")))
    }
}
