/// txw-train's status line, `step S/N  train L  val L  T tok/s  ETA Ns`.
package enum TrainingStatus {
    /// The line after `step` of `steps` (`firstStep` where this run started,
    /// `elapsed` seconds since), each step reading `tokensPerStep` tokens.
    /// Without a validation loss (none yet, or a split too small to hold a
    /// window) the `val` field is left out. Rate and ETA are computed in
    /// Double and printed with `%.0f`, so no value (a huge --steps, an
    /// elapsed time near 0 or near infinity) can overflow.
    package static func line(step: Int, steps: Int, train: Double, validation: Double?, elapsed: Double,
                             firstStep: Int, tokensPerStep: Double) -> String {
        let done = Double(step) - Double(firstStep)
        let rate = done / max(elapsed, 1e-9)
        let eta = rate > 0 ? (Double(steps) - Double(step)) / rate : 0
        return "step \(step)/\(steps)  train \(format(train))  " + (validation.map { "val \(format($0))  " } ?? "")
            + "\(Formatting.printf("%.0f", rate * tokensPerStep)) tok/s  ETA \(Formatting.printf("%.0f", eta))s"
    }

    /// A loss as the status line shows it (`%.4f`).
    package static func format(_ v: Double) -> String { Formatting.printf("%.4f", v) }

    /// The characters no POSIX shell treats specially in a word.
    static let shellSafe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:@%=")

    /// `word` as one word of a POSIX shell command: unchanged when it holds
    /// only characters no shell treats specially, else in single quotes
    /// (each `'` as `'\''`). Escaped for display first (`Formatting.name`).
    package static func shellWord(_ word: String) -> String {
        let shown = Formatting.name(word)
        guard shown.isEmpty || !shown.allSatisfy(shellSafe.contains) else { return shown }
        return "'" + shown.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// txw-train's messages about a run: resuming it, its data, stopping it.
extension Diagnostics {
    /// A flag that contradicts the checkpoint being resumed:
    /// `--batch 16 contradicts the checkpoint's batch 8 (OUT); resume without it`.
    package static func resumeConflict(flag: String, given: String, setting: String, saved: String, checkpoint: String) -> String {
        "\(flag) \(given) contradicts the checkpoint's \(setting) \(saved) (\(Formatting.name(checkpoint))); resume without it"
    }

    /// A setting read from a checkpoint that cannot be used.
    package static func badCheckpointSetting(checkpoint: String, key: String, problem: String) -> String {
        "\(Formatting.name(checkpoint)): \(Formatting.name(key)) \(problem): cannot resume"
    }

    /// Settings read from a checkpoint that are out of range together (`detail`: the trainer's check).
    package static func badCheckpointSettings(checkpoint: String, detail: String) -> String {
        "\(Formatting.name(checkpoint)): the training settings it records are out of range (\(detail)): cannot resume"
    }

    /// Data too short for one training window: what it holds, what a window
    /// needs, and which flags to lower.
    package static func tooLittleData(data: String, tokens: Int, context: Int, valFraction: Double, held: Int) -> String {
        let split = held > 0 ? "; --val-fraction \(valFraction) holds out \(held) of them" : ""
        let lower = valFraction > 0 ? "lower --context or --val-fraction" : "lower --context"
        return "\(Formatting.name(data)): \(tokens) token\(tokens == 1 ? "" : "s"), too few to train: a window of --context \(context) "
            + "needs \(context + 1) training tokens\(split); \(lower)"
    }

    /// The note for a validation split too small to hold one window (no
    /// validation loss is computed or shown).
    package static func validationTooSmall(held: Int, context: Int, valFraction: Double) -> String {
        "note: the validation split (\(held) token\(held == 1 ? "" : "s"), --val-fraction \(valFraction)) is shorter than a window "
            + "of --context \(context) + 1 tokens: no validation loss; raise --val-fraction or lower --context to have one"
    }

    /// The line of a run stopped by a signal after `step` of `steps`, with
    /// the command that continues it.
    package static func stopped(step: Int, steps: Int, output: String, data: String, extra: [String] = []) -> String {
        let command = ["txw-train", "-o", output, "--resume", "--data", data] + extra
        return "stopped at step \(step) of \(steps); resume with: " + command.map(TrainingStatus.shellWord).joined(separator: " ")
    }

    /// OUT.adam newer than OUT: the run was stopped between writing the two.
    package static func momentsAhead(output: String, momentsStep: Int64, modelStep: Int64) -> String {
        let out = Formatting.name(output)
        return "\(out).adam is at step \(momentsStep) but \(out) at step \(modelStep): the run ended between writing the two "
            + "(the moments are written first): cannot resume; continue from the model with a new optimizer state "
            + "(txw-train --init \(out) -o NEW …) or start again"
    }
}
