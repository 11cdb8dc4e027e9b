import Foundation
import Testing
import TXWFormat
import TXWModel
import TXWTestSupport
import TXWToolSupport

/// txw-train runs that survive: --resume restores every setting and
/// reproduces the uninterrupted run byte for byte; SIGINT and SIGTERM stop
/// after the step with a checkpoint; an existing OUT is not replaced by
/// accident; messages about too little data and a resume that cannot be.
struct TrainResumeTests {
    static let shape = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "1"]
    /// Every setting away from its default, so a resume that fell back to a
    /// default anywhere would train another model.
    static let settings = ["--batch", "3", "--context", "6", "--lr", "5e-3", "--seed", "7", "--eval-every", "4",
                           "--val-fraction", "0.2", "--checkpoint-every", "6", "--steps", "24"]

    /// A text of 600 characters over 12 letters, not from the code under test.
    static func writeData(_ dir: TemporaryDirectory, name: String = "d.txt") throws {
        var state: UInt32 = 12345
        let letters = Array("abcdefgh ,.\n")
        let text = String((0..<600).map { _ -> Character in
            state = state &* 1_103_515_245 &+ 12345
            return letters[Int(state >> 16) % letters.count]
        })
        try text.write(toFile: dir.file(name), atomically: true, encoding: .utf8)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func metadata(_ path: String) throws -> [String: Any] {
        let info = try jsonObject(try tool("txw-inspect", [path, "--json"]).stdout)
        return try #require(info["metadata"] as? [String: Any])
    }

    func adamStep(_ path: String) throws -> Int64? {
        if case let .int(step)? = try TXWReader(path: path).metadata("adamw.step") { return step }
        return nil
    }

    /// The same run in one go (u.txw) and in pieces (p.txw).
    @Test func resumeWithNoFlagReproducesTheUninterruptedRun() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.writeData(dir)
        let whole = try tool("txw-train", ["-o", dir.file("u.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt")] + Self.settings)
        try #require(whole.status == 0, "\(whole.stderr)")
        // Stopped at 9 (no checkpoint or evaluation step), resumed to 13, then to the end.
        let first = try tool("txw-train", ["-o", dir.file("p.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt")]
                             + Self.settings + ["--stop-at", "9"])
        try #require(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.hasSuffix("txw-train: --stop-at 9: stopped at step 9 of 24; resume with: txw-train -o \(dir.file("p.txw")) --resume --data \(dir.file("d.txt"))\n"),
                "\(first.stderr)")
        #expect(try metadata(dir.file("p.txw"))["training.steps"] as? Int == 9 && adamStep(dir.file("p.txw.adam")) == 9)
        let second = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt"), "--stop-at", "13"])
        try #require(second.status == 0, "\(second.stderr)")
        #expect(try metadata(dir.file("p.txw"))["training.steps"] as? Int == 13)
        let last = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt")])
        try #require(last.status == 0, "\(last.stderr)")
        #expect(last.stderr.split(separator: "\n").last?.hasPrefix("wrote \(dir.file("p.txw")): step 24 of 24, train loss ") == true, "\(last.stderr)")
        #expect(try bytes(dir.file("p.txw")) == bytes(dir.file("u.txw")))
        #expect(try bytes(dir.file("p.txw.adam")) == bytes(dir.file("u.txw.adam")))
        // The settings are in the file, as the flags gave them.
        let m = try metadata(dir.file("u.txw"))
        #expect(m["training.batch"] as? Int == 3 && m["training.context"] as? Int == 6 && m["training.lr"] as? Double == 5e-3)
        #expect(m["training.seed"] as? Int == 7 && m["training.eval_every"] as? Int == 4 && m["training.val_fraction"] as? Double == 0.2)
        #expect(m["training.checkpoint_every"] as? Int == 6 && m["training.total_steps"] as? Int == 24)
        #expect(m["training.lr_warmup_steps"] as? Int == 1 && m["training.lr_decay_steps"] as? Int == 24)
        #expect(m["training.lr_final_fraction"] as? Double == 0.1)
    }

    /// A checkpoint of `Self.settings` stopped at step 9, in p.txw.
    func stoppedRun(_ dir: TemporaryDirectory) throws {
        try Self.writeData(dir)
        let r = try tool("txw-train", ["-o", dir.file("p.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt")]
                         + Self.settings + ["--stop-at", "9"])
        try #require(r.status == 0, "\(r.stderr)")
    }

    @Test(arguments: [
        (["--batch", "4"], "--batch 4 contradicts the checkpoint's batch 3"),
        (["--context", "7"], "--context 7 contradicts the checkpoint's context 6"),
        (["--lr", "0.01"], "--lr 0.01 contradicts the checkpoint's lr 0.005"),
        (["--seed", "42"], "--seed 42 contradicts the checkpoint's seed 7"),
        (["--val-fraction", "0.1"], "--val-fraction 0.1 contradicts the checkpoint's val_fraction 0.2"),
    ])
    func flagsThatContradictTheCheckpointAreRefused(flag: [String], message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try stoppedRun(dir)
        let before = try bytes(dir.file("p.txw"))
        let r = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt")] + flag)
        #expect(r.status == 64, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
        #expect(lines == ["Error: \(message) (\(dir.file("p.txw"))); resume without it"], "\(r.stderr)")
        #expect(try bytes(dir.file("p.txw")) == before)
    }

    @Test func agreeingAndChangeableFlagsAreAccepted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try stoppedRun(dir)
        // The checkpoint's own values, and another reporting cadence.
        let r = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt"), "--batch", "3", "--lr", "0.005",
                                       "--seed", "7", "--context", "6", "--val-fraction", "0.2", "--eval-every", "5",
                                       "--checkpoint-every", "0", "--stop-at", "15", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let steps = r.stdout.split(separator: "\n").compactMap { (try? jsonObject(String($0)))?["step"] as? Int }
        #expect(steps == [10, 15], "evaluations every 5 steps, and at the stop: \(r.stdout)")
        let m = try metadata(dir.file("p.txw"))
        #expect(m["training.steps"] as? Int == 15 && m["training.eval_every"] as? Int == 5 && m["training.checkpoint_every"] as? Int == 0)
    }

    @Test func trainingLongerKeepsTheScheduleAndFewerStepsIsNothingToDo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try stoppedRun(dir)
        let before = try bytes(dir.file("p.txw"))
        let fewer = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt"), "--steps", "5"])
        #expect(fewer.status == 0 && fewer.stderr == "txw-train: \(dir.file("p.txw")) already has 9 steps, --steps is 5; nothing to do\n",
                "\(fewer.stderr)")
        #expect(try bytes(dir.file("p.txw")) == before)
        let longer = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt"), "--steps", "30"])
        #expect(longer.status == 0, "\(longer.stderr)")
        let m = try metadata(dir.file("p.txw"))
        #expect(m["training.steps"] as? Int == 30 && m["training.total_steps"] as? Int == 30)
        #expect(m["training.lr_decay_steps"] as? Int == 24, "the schedule the run started with")
    }

    /// OUT.adam one checkpoint ahead of OUT, as a run ended between writing the two leaves them.
    @Test func momentsAheadOfTheModelAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try stoppedRun(dir)
        let model9 = try bytes(dir.file("p.txw"))
        let r = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt"), "--stop-at", "12"])
        try #require(r.status == 0, "\(r.stderr)")
        try model9.write(to: URL(fileURLWithPath: dir.file("p.txw")))
        let refused = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt")])
        #expect(refused.status == 1, "\(refused.stderr)")
        let p = dir.file("p.txw")
        #expect(refused.stderr.hasPrefix("txw-train: \(p).adam is at step 12 but \(p) at step 9: the run ended between writing the two"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("cannot resume") && refused.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: [
        ("training.batch", MetadataValue.string("3"), "training.batch is of type string, expected int: cannot resume"),
        ("training.lr", MetadataValue.int(1), "training.lr is of type int, expected float: cannot resume"),
        ("training.batch", MetadataValue.int(0), "batch"),
        ("training.eval_every", MetadataValue.int(0), "training.eval_every = 0"),
        ("training.checkpoint_every", MetadataValue.int(-1), "training.checkpoint_every = -1"),
        ("training.val_fraction", MetadataValue.float(1), "validation fraction"),
        ("training.lr_warmup_steps", MetadataValue.int(25), "warm-up"),
    ])
    func checkpointSettingsAreValidated(key: String, value: MetadataValue, message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try stoppedRun(dir)
        var model = try ModelArrays(reader: TXWReader(path: dir.file("p.txw")))
        model.metadata[key] = value
        try model.writer(dtype: nil, options: TXWWriter.Options()).write(to: dir.file("p.txw"), overwrite: true)
        let before = try bytes(dir.file("p.txw"))
        let r = try tool("txw-train", ["-o", dir.file("p.txw"), "--resume", "--data", dir.file("d.txt")])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("txw-train: \(dir.file("p.txw")): ") && lines[0].contains(message)
                && lines[0].hasSuffix("cannot resume"), "\(r.stderr)")
        #expect(try bytes(dir.file("p.txw")) == before)
    }

    @Test func anExistingOutputIsRefusedUnlessForce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Self.writeData(dir)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: dir.file("o.txw")))
        let args = ["-o", dir.file("o.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt"), "--steps", "3", "--context", "6"]
        let refused = try tool("txw-train", args)
        #expect(refused.status == 1 && refused.stderr == "txw-train: \(dir.file("o.txw")) exists (pass --force to replace it)\n",
                "\(refused.stderr)")
        #expect(try bytes(dir.file("o.txw")) == Data("keep me".utf8))
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.txw.adam")))
        let forced = try tool("txw-train", args + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.split(separator: "\n").last?.hasPrefix("wrote \(dir.file("o.txw")): step 3 of 3, train loss ") == true)
        #expect(try metadata(dir.file("o.txw"))["training.steps"] as? Int == 3)
        let both = try tool("txw-train", ["-o", dir.file("o.txw"), "--resume", "--force", "--data", dir.file("d.txt")])
        #expect(both.status == 64 && both.stderr.contains("--force is for a new run"), "\(both.stderr)")
        // Not a regular file: refused even with --force, before any training.
        #expect(mkfifo(dir.file("fifo.txw"), 0o600) == 0)
        let fifo = try tool("txw-train", ["-o", dir.file("fifo.txw"), "--random"] + Self.shape
                            + ["--data", dir.file("d.txt"), "--steps", "3", "--context", "6", "--force"], timeout: 60)
        #expect(fifo.status == 1 && fifo.stderr.contains("fifo.txw") && fifo.stderr.split(separator: "\n").count == 1, "\(fifo.stderr)")
    }

    @Test func tooLittleDataSaysWhatToLower() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try "hello world, this is short.".write(toFile: dir.file("s.txt"), atomically: true, encoding: .utf8)  // 27 characters
        let base = ["-o", dir.file("s.txw"), "--random"] + Self.shape + ["--data", dir.file("s.txt"), "--steps", "2"]
        let split = try tool("txw-train", base + ["--context", "26"])
        // 27 tokens; ⌊27 · 0.1⌋ = 2 held out leaves 25 < 27.
        #expect(split.status == 1 && split.stderr == "txw-train: \(dir.file("s.txt")): 27 tokens, too few to train: a window of --context 26 "
                + "needs 27 training tokens; --val-fraction 0.1 holds out 2 of them; lower --context or --val-fraction\n", "\(split.stderr)")
        let none = try tool("txw-train", base + ["--context", "27", "--val-fraction", "0"])
        #expect(none.status == 1 && none.stderr == "txw-train: \(dir.file("s.txt")): 27 tokens, too few to train: a window of --context 27 "
                + "needs 28 training tokens; lower --context\n", "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("s.txw")))
        // Enough to train, too little to validate: said once, and no `val` field.
        let small = try tool("txw-train", base + ["--context", "4", "--eval-every", "1", "--json"])
        #expect(small.status == 0, "\(small.stderr)")
        let lines = small.stderr.split(separator: "\n")
        let note = "txw-train: note: the validation split (2 tokens, --val-fraction 0.1) is shorter than a window of --context 4 + 1 "
            + "tokens: no validation loss; raise --val-fraction or lower --context to have one"
        #expect(lines.first.map(String.init) == note, "\(small.stderr)")
        #expect(lines.filter { $0.contains("validation split") }.count == 1)
        let status = lines.filter { $0.hasPrefix("step ") }
        #expect(status.count == 2 && status.allSatisfy { !$0.contains("val") }, "\(small.stderr)")
        #expect(small.stdout.split(separator: "\n").allSatisfy { (try? jsonObject(String($0)))?["val_loss"] is NSNull })
    }

    @Test func shellWords() {
        #expect(TrainingStatus.shellWord("runs/a-1.txw") == "runs/a-1.txw")
        #expect(TrainingStatus.shellWord("my model.txw") == "'my model.txw'")
        #expect(TrainingStatus.shellWord("it's") == "'it'\\''s'")
        #expect(TrainingStatus.shellWord("") == "''")
        #expect(TrainingStatus.shellWord("a\nb") == "'a\\nb'")
    }
}

/// SIGINT and SIGTERM sent to a running txw-train at an arbitrary moment.
struct TrainSignalTests {
    static let shape = TrainResumeTests.shape
    static let run = ["--batch", "2", "--context", "8", "--eval-every", "5", "--checkpoint-every", "0", "--steps", "800"]

    struct Stopped {
        let status: Int32
        let killedBySignal: Bool
        let stderr: String
    }

    /// Starts txw-train, waits until its stderr contains `trigger`, sends
    /// `signals` (`gap` seconds apart) and waits for it to end. A child that
    /// never shows `trigger` is killed after 300 s and the test fails.
    func interrupted(_ dir: TemporaryDirectory, _ arguments: [String], trigger: String, signals: [Int32],
                     gap: Double = 0, sourceLocation: SourceLocation = #_sourceLocation) throws -> Stopped {
        let errPath = dir.file("stderr-\(UUID().uuidString)")
        #expect(FileManager.default.createFile(atPath: errPath, contents: nil))
        let err = try #require(FileHandle(forWritingAtPath: errPath))
        defer { try? err.close() }
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent("txw-train")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        func stderr() -> String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        var waited = 0.0
        while process.isRunning && !stderr().contains(trigger) && waited < 300 {
            usleep(2_000)
            waited += 0.002
        }
        #expect(process.isRunning, "txw-train ended before the signal: \(stderr())", sourceLocation: sourceLocation)
        if waited >= 300 { kill(process.processIdentifier, SIGKILL) }
        for (i, signal) in signals.enumerated() {
            if i > 0 { usleep(UInt32(gap * 1e6)) }
            kill(process.processIdentifier, signal)
        }
        process.waitUntilExit()
        return Stopped(status: process.terminationStatus, killedBySignal: process.terminationReason == .uncaughtSignal, stderr: stderr())
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The step of the stop line, checked whole.
    func stoppedStep(_ stderr: String, out: String, data: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let last = try #require(stderr.split(separator: "\n").last.map(String.init), sourceLocation: sourceLocation)
        let prefix = "txw-train: stopped at step ", suffix = " of 800; resume with: txw-train -o \(out) --resume --data \(data)"
        try #require(last.hasPrefix(prefix) && last.hasSuffix(suffix), "\(stderr)", sourceLocation: sourceLocation)
        return try #require(Int(last.dropFirst(prefix.count).dropLast(suffix.count)), sourceLocation: sourceLocation)
    }

    @Test func sigintAndSigtermStopAfterTheStepAndResumeToTheSameFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try TrainResumeTests.writeData(dir)
        let data = dir.file("d.txt")
        let whole = try tool("txw-train", ["-o", dir.file("u.txw"), "--random"] + Self.shape + ["--data", data] + Self.run)
        try #require(whole.status == 0, "\(whole.stderr)")
        for signal in [SIGINT, SIGTERM] {
            let out = dir.file("s\(signal).txw")
            // After the first report line: some step after 5, wherever it is.
            let stopped = try interrupted(dir, ["-o", out, "--random"] + Self.shape + ["--data", data] + Self.run,
                                          trigger: "step 5/800", signals: [signal])
            // Killed by the signal after its checkpoint and its line, as a
            // shell expects of a program it sent Ctrl-C (status 130/143 there).
            #expect(stopped.killedBySignal && stopped.status == signal, "status \(stopped.status): \(stopped.stderr)")
            let step = try stoppedStep(stopped.stderr, out: out, data: data)
            #expect(step >= 5 && step < 800)
            // The checkpoint of that step: both files, the same step.
            let info = try jsonObject(try tool("txw-inspect", [out, "--json"]).stdout)
            #expect((info["metadata"] as? [String: Any])?["training.steps"] as? Int == step)
            #expect(try TXWReader(path: out + ".adam").metadata("adamw.step") == .int(Int64(step)))
            #expect(try tool("txw-inspect", [out, "--verify"]).status == 0)
            let resumed = try tool("txw-train", ["-o", out, "--resume", "--data", data])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try bytes(out) == bytes(dir.file("u.txw")), "stopped by signal \(signal) at step \(step)")
            #expect(try bytes(out + ".adam") == bytes(dir.file("u.txw.adam")))
        }
    }

    /// A second signal while the step after the first is still computing
    /// ends the process at once; the last checkpoint stays as it was.
    @Test func aSecondSignalEndsTheProcessAtOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try TrainResumeTests.writeData(dir)
        let out = dir.file("big.txw")
        // A step of this model takes a good part of a second in a debug
        // build; checkpoints at steps 2, 4, …, and the signals sent after
        // step 3's line land in step 4.
        let stopped = try interrupted(dir, ["-o", out, "--random", "--d-model", "64", "--n-head", "4", "--d-head", "16",
                                            "--d-mlp", "128", "--n-block", "2", "--data", dir.file("d.txt"), "--steps", "50",
                                            "--batch", "8", "--context", "128", "--eval-every", "1", "--checkpoint-every", "2",
                                            "--val-fraction", "0"],
                                      trigger: "step 3/50", signals: [SIGINT, SIGINT], gap: 0.02)
        #expect(stopped.killedBySignal && stopped.status == SIGINT, "status \(stopped.status): \(stopped.stderr)")
        #expect(!stopped.stderr.contains("stopped at"))
        let info = try jsonObject(try tool("txw-inspect", [out, "--json"]).stdout)
        #expect((info["metadata"] as? [String: Any])?["training.steps"] as? Int == 2)
        #expect(try TXWReader(path: out + ".adam").metadata("adamw.step") == .int(2))
        #expect(try tool("txw-inspect", [out, "--verify"]).status == 0)
    }
}
