import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Train: ParsableCommand {
    /// The entry point: help, version and usage errors rendered through `Console` (`ToolMain`).
    static func main() { ToolMain.main(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "txw-train",
        abstract: "Train a .txw model on a text or a token file.",
        discussion: """
            Starts from --init MODEL.txw or --random (with the txw-pack hyperparameter \
            flags; with a text, the vocabulary is the text's distinct characters unless \
            --vocab is given, so --vocab-size is not needed). Trains with AdamW (β₁ 0.9, \
            β₂ 0.95, ε 1e-8, weight decay 0.01 on matrices), linear warm-up over 5% of the \
            steps, then cosine decay to 10% of --lr; each step averages the loss over \
            --batch random windows of --context + 1 tokens. Deterministic for a given \
            seed and any thread count.

            --data: UTF-8 text, tokenized with the model's vocabulary; a file whose name \
            ends in .tokens holds token ids separated by white space. The last \
            --val-fraction of the tokens is held out for the validation loss. --data - \
            reads standard input (a FIFO or /dev/stdin is read as a stream too); \
            --resume then checks the checksums of what was read.

            Checkpoints (at every evaluation by default; every --checkpoint-every \
            steps instead when given, 0 for none but the last; always at the end and \
            when stopped) are atomic writes of OUT; their metadata records the steps, \
            the losses, the data's XXH3-64 (training.data_xxh3) and SHA-256 \
            (training.data_sha256), and every setting of the run; with --init, the \
            lineage: lineage.tool, lineage.source, lineage.source_format and \
            lineage.source_digest, the --init model's content digest (as txw-inspect \
            --digest prints it; the --init model's own lineage.* keys are replaced). The \
            optimizer's moments go beside it in OUT.adam (a txw container: tensors \
            m.NAME and v.NAME), written first. An existing OUT is refused unless \
            --force (a new run) or --resume.

            --resume continues from OUT and OUT.adam with the checkpoint's settings, \
            as if the run had never stopped: `txw-train -o OUT --resume --data DATA` \
            ends with the file the uninterrupted run would have written. --batch, \
            --context, --lr, --seed and --val-fraction, when given, must agree with \
            the checkpoint; --steps (a larger value trains longer, on the schedule \
            the run started with, then at its final rate), --eval-every and \
            --checkpoint-every may differ. DATA must be the data of the run: its \
            XXH3-64 and, when the checkpoint records it, its SHA-256 are checked.

            SIGINT (Ctrl-C) or SIGTERM: the step in progress is finished and \
            checkpointed, one line says how to resume, and the process ends killed by \
            that signal (a shell reports 130 or 143); a second signal ends it at once \
            (after the checkpoint being written, if one is), leaving the last complete \
            checkpoint as it was.

            Progress goes to stderr: a live line on a terminal, a line per --eval-every \
            steps otherwise; --json prints one JSON object per evaluation on stdout: \
            {"step", "train_loss", "val_loss", "tokens_per_s"}. The run ends with a line \
            `wrote OUT: …` on stderr.

            Memory: the model, a step's activations (for min(--batch, threads) windows \
            of --context + 1 tokens) and the optimizer's state must fit --max-memory; \
            --batch and --context that ask for more are a usage error.

            Exit status: 0 on success; 1 when an input is refused or a write fails; 64 \
            for a usage error; killed by SIGINT or SIGTERM (130 or 143 in a shell) when \
            stopped by one.
            """,
        version: ToolMain.version("txw-train"))

    @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write (and checkpoint).", valueName: "path"))
    var output: String

    @Option(name: .customLong("init"), help: ArgumentHelp("Start from this model ('-': standard input).", valueName: "MODEL.txw"))
    var initFrom: String?

    @Flag(help: "Start from a random model (needs the hyperparameter flags).")
    var random = false

    @OptionGroup(title: "Hyperparameters (with --random)")
    var shape: HyperparameterOptions

    @Option(help: ArgumentHelp("Vocabulary for --random: a JSON array of strings.", valueName: "vocab.json"))
    var vocab: String?

    @Option(help: ArgumentHelp("Training data: UTF-8 text, or token ids in a .tokens file ('-': standard input, text).", valueName: "path"))
    var data: String

    @Option(parsing: .unconditional, help: "Optimizer steps in all (default 1000; with --resume the checkpoint's; more trains longer).")
    var steps: Int?
    @Option(parsing: .unconditional, help: "Windows per step (default 16).") var batch: Int?
    @Option(parsing: .unconditional, help: "Tokens each window predicts (default 64); written as the model's context length (model.context_length).") var context: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (default 3e-3).") var lr: Double?
    @Option(parsing: .unconditional, help: "Seed of the random init and of the window sampler, 0 … 2^64 − 1 (default 42).", transform: NumberArguments.seed)
    var seed: UInt64?
    @Option(parsing: .unconditional, help: "Evaluate and report every K steps (default 100).") var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Fraction of the data held out for validation (default 0.1).") var valFraction: Double?
    @Option(parsing: .unconditional, help: "Checkpoint every K steps (default: at every evaluation; 0: only at the end and when stopped).")
    var checkpointEvery: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop after this step, as if interrupted (a checkpoint; resume later).", valueName: "step"))
    var stopAt: Int?
    @Flag(help: "Continue from OUT and OUT.adam with the checkpoint's settings.") var resume = false
    @Flag(help: "Replace OUT (and OUT.adam) if it exists.") var force = false
    @Flag(help: "Print one JSON object per evaluation on stdout.") var json = false

    @OptionGroup(title: "Memory")
    var memory: MemoryOptions

    /// The defaults of the flags, applied when a flag is absent (and, with
    /// --resume, the checkpoint does not say).
    static let defaults = Settings(
        steps: 1000, batch: 16, context: 64, lr: 3e-3, seed: 42, evalEvery: 100, valFraction: 0.1, checkpointEvery: nil,
        warmup: 50, scheduleSteps: 1000, finalFraction: 0.1)

    /// Every setting of a run: from the flags (and their defaults), or with
    /// --resume from the checkpoint's metadata.
    struct Settings: Equatable {
        var steps: Int
        var batch: Int
        var context: Int
        var lr: Double
        var seed: UInt64
        var evalEvery: Int
        var valFraction: Double
        /// nil: a checkpoint at every evaluation.
        var checkpointEvery: Int?
        var warmup: Int
        var scheduleSteps: Int
        var finalFraction: Double

        /// Steps between checkpoints (0: only at the end and when stopped).
        var checkpointInterval: Int { checkpointEvery ?? evalEvery }
    }

    func validate() throws {
        guard [initFrom != nil, random, resume].filter({ $0 }).count == 1 else {
            throw ValidationError("choose one start: --init MODEL.txw, --random, or --resume")
        }
        if !random && (shape.anyGiven || vocab != nil) {
            throw ValidationError("the hyperparameter flags and --vocab are for --random")
        }
        if resume && force {
            throw ValidationError("--force is for a new run; --resume continues OUT")
        }
        try InputFile.checkOneStandardInput([("--init", initFrom), ("--vocab", vocab), ("--data", data)])
        for (flag, value, least) in [("--steps", steps, 1), ("--batch", batch, 1), ("--context", context, 1),
                                     ("--eval-every", evalEvery, 1), ("--checkpoint-every", checkpointEvery, 0), ("--stop-at", stopAt, 1)] {
            if let value, value < least { throw NumberArguments.outOfRange(flag, must: "≥ \(least)", got: "\(value)") }
        }
        typealias Limits = Trainer<Float>.Options
        if let steps, steps > Limits.maximumSteps { throw ValidationError("--steps must be at most \(Limits.maximumSteps), got \(steps)") }
        if let batch, batch > Limits.maximumBatch { throw ValidationError("--batch must be at most \(Limits.maximumBatch), got \(batch)") }
        if let context, context > Limits.maximumContext {
            throw ValidationError("--context must be at most \(Limits.maximumContext), got \(context)")
        }
        // Both are bounded above, so the product cannot overflow.
        let (b, t) = (batch ?? Self.defaults.batch, context ?? Self.defaults.context)
        if batch != nil || context != nil, b * (t + 1) > Limits.maximumBatchTokens {
            throw ValidationError("--batch × (--context + 1) must be at most \(Limits.maximumBatchTokens) tokens a step, got \(b * (t + 1))")
        }
        if let lr, !(lr.isFinite && lr > 0) {
            throw NumberArguments.outOfRange("--lr", "learning rate", must: "a finite number > 0", got: NumberArguments.text(lr))
        }
        if let valFraction, !(valFraction >= 0 && valFraction < 1) {
            throw NumberArguments.outOfRange("--val-fraction", must: "in [0, 1)", got: NumberArguments.text(valFraction))
        }
    }

    func run() throws {
        try reportingErrors(tool: "txw-train") { try train() }
    }

    /// The settings of a new run: the flags, their defaults for those absent.
    func newSettings() -> Settings {
        let d = Self.defaults
        let total = steps ?? d.steps
        return Settings(
            steps: total, batch: batch ?? d.batch, context: context ?? d.context, lr: lr ?? d.lr, seed: seed ?? d.seed,
            evalEvery: evalEvery ?? d.evalEvery, valFraction: valFraction ?? d.valFraction, checkpointEvery: checkpointEvery,
            warmup: max(1, total / 20), scheduleSteps: total, finalFraction: d.finalFraction)
    }

    /// The settings of a resumed run: the checkpoint's. A flag that changes
    /// the model's numbers (--batch, --context, --lr, --seed, --val-fraction)
    /// must agree with it; --steps, --eval-every and --checkpoint-every may
    /// differ. A key the checkpoint lacks (one written by an older txw-train)
    /// takes the flag or its default.
    func resumedSettings(_ metadata: [String: MetadataValue]) throws -> Settings {
        func int(_ key: String) throws -> Int? {
            switch metadata[key] {
            case nil: return nil
            case let .int(value)?:
                guard let v = Int(exactly: value) else { throw ToolFailure(Diagnostics.badCheckpointSetting(checkpoint: output, key: key, problem: "= \(value) is out of range")) }
                return v
            case let other?:
                throw ToolFailure(Diagnostics.badCheckpointSetting(checkpoint: output, key: key, problem: "is of type \(other.typeName), expected int"))
            }
        }
        func float(_ key: String) throws -> Double? {
            switch metadata[key] {
            case nil: return nil
            case let .float(value)?: return value
            case let other?:
                throw ToolFailure(Diagnostics.badCheckpointSetting(checkpoint: output, key: key, problem: "is of type \(other.typeName), expected float"))
            }
        }
        func fixed<T: Equatable>(_ flag: String, _ given: T?, _ saved: T?, _ fallback: T, _ setting: String) throws -> T {
            guard let saved else { return given ?? fallback }
            if let given, given != saved {
                throw ValidationError(Diagnostics.resumeConflict(flag: flag, given: "\(given)", setting: setting, saved: "\(saved)", checkpoint: output))
            }
            return saved
        }
        let d = Self.defaults
        let savedTotal = try int("training.total_steps")
        let total = steps ?? savedTotal ?? d.steps
        let schedule = try int("training.lr_decay_steps") ?? savedTotal ?? total
        let settings = Settings(
            steps: total,
            batch: try fixed("--batch", batch, try int("training.batch"), d.batch, "batch"),
            context: try fixed("--context", context, try int("training.context"), d.context, "context"),
            lr: try fixed("--lr", lr, try float("training.lr"), d.lr, "lr"),
            seed: try fixed("--seed", seed, try int("training.seed").map { UInt64(bitPattern: Int64($0)) }, d.seed, "seed"),
            evalEvery: try evalEvery ?? int("training.eval_every") ?? d.evalEvery,
            valFraction: try fixed("--val-fraction", valFraction, try float("training.val_fraction"), d.valFraction, "val_fraction"),
            checkpointEvery: try checkpointEvery ?? int("training.checkpoint_every"),
            warmup: try int("training.lr_warmup_steps") ?? max(1, schedule / 20),
            scheduleSteps: schedule,
            finalFraction: try float("training.lr_final_fraction") ?? d.finalFraction)
        // Values from the file: checked as the flags are.
        for (key, value, ok) in [("training.eval_every", settings.evalEvery, settings.evalEvery >= 1),
                                 ("training.checkpoint_every", settings.checkpointInterval, settings.checkpointInterval >= 0)] where !ok {
            throw ToolFailure(Diagnostics.badCheckpointSetting(checkpoint: output, key: key, problem: "= \(value) must be ≥ \(key.hasSuffix("eval_every") ? 1 : 0)"))
        }
        do {
            try options(settings).validate()
        } catch let error as KernelError {
            throw ToolFailure(Diagnostics.badCheckpointSettings(checkpoint: output, detail: error.description))
        }
        return settings
    }

    /// The trainer's options for `settings`.
    func options(_ settings: Settings) -> Trainer<Float>.Options {
        var options = Trainer<Float>.Options()
        options.steps = settings.steps
        options.batch = settings.batch
        options.context = settings.context
        options.learningRate = settings.lr
        options.seed = settings.seed
        options.validationFraction = settings.valFraction
        options.warmupSteps = settings.warmup
        options.scheduleSteps = settings.scheduleSteps
        options.finalLearningRateFraction = settings.finalFraction
        return options
    }

    func train() throws {
        // A new run never replaces a file by accident: refused before any work.
        if !resume {
            try AtomicFile.checkDestination(output, overwrite: force)
        }
        let bytes = try ModelInput.readTextFile(data, budget: memory.budget)
        let dataChecksum = hexChecksum(bytes)
        let dataSHA256 = ContentDigest.sha256(of: bytes).hex
        var model: ModelArrays
        var metadata: [String: MetadataValue] = [:]
        var saved: AdamW? = nil
        let settings: Settings
        if resume {
            let reader = try ModelInput.open(output, budget: memory.budget)
            model = try ModelArrays(reader: reader)
            metadata = model.metadata
            guard metadata["training.data_xxh3"] == .string(dataChecksum) else {
                throw ToolFailure("\(Formatting.name(InputFile.name(data))): not the data \(Formatting.name(output)) was trained on (its checksum differs)")
            }
            // A checkpoint that records the data's SHA-256 (Spec/txw-format.md §2.1) checks it too.
            if let recorded = metadata[Lineage.trainingDataSHA256], recorded != .string(dataSHA256) {
                throw ToolFailure("\(Formatting.name(InputFile.name(data))): not the data \(Formatting.name(output)) was trained on (its SHA-256 differs)")
            }
            settings = try resumedSettings(metadata)
            saved = try loadOptimizer(model)
        } else if let initFrom {
            settings = newSettings()
            let reader = try ModelInput.open(initFrom, budget: memory.budget)
            model = try ModelArrays(reader: reader)
            metadata = model.metadata
            // Lineage: the --init model's content digest (Spec/txw-format.md §2.1).
            Lineage.record(in: &metadata, tool: "txw-train", source: initFrom, format: "txw",
                           digest: try ContentDigest.model(reader).digest)
        } else {
            settings = newSettings()
            let vocabulary = try startingVocabulary(bytes)
            model = try ModelArrays.random(try shape.hyperparameters(vocabularySize: vocabulary?.count), seed: settings.seed)
            model.vocabulary = vocabulary
        }
        metadata[Lineage.trainingDataSHA256] = .string(dataSHA256)
        let tokens = try tokenize(bytes, vocabulary: model.vocabulary)
        var options = options(settings)
        // The model's arrays are held; its Float weights are made next.
        let heldBytes = MemoryBudget.sum(model.arrays.map(\.bytes.count))
        let weightsNeed = ModelFile.memoryNeed(model.hyperparameters, vocabulary: model.vocabulary, as: Float.self)
        try memory.budget.check(MemoryBudget.sum([heldBytes, weightsNeed]), for: "the model's arrays and its f32 weights")
        let modelBytes = MemoryBudget.sum([heldBytes, weightsNeed]) ?? 0
        options.memoryBudget = MemoryBudget(bytes: memory.budget.bytes - modelBytes)
        var trainer: Trainer<Float>
        do {
            trainer = try Trainer(weights: try model.weights(as: Float.self), tokens: tokens, options: options)
        } catch let error as ModelError {
            // The model read from OUT (--resume) or --init cannot be trained (in f32).
            throw ToolFailure(path: resume ? output : InputFile.name(initFrom ?? output), error)
        } catch let TXWFormatError.overMemoryBudget(what, need, _) {
            let total = MemoryBudget.sum([need, modelBytes]) ?? .max
            // Over budget even with --batch 1 --context 1: the model itself is
            // too large to train here, which no flag but --max-memory changes.
            var smallest = options
            (smallest.batch, smallest.context) = (1, 1)
            let floor = smallest.memoryNeed(model.hyperparameters, threads: KernelConfiguration.defaultThreads, scalarBytes: 4)
            if (MemoryBudget.sum([floor, modelBytes]) ?? .max) > memory.budget.bytes {
                throw ToolFailure(Diagnostics.memoryMessage(
                    what: "training \(Formatting.name(output)) (its weights, gradients and optimizer state, even at --batch 1 --context 1)",
                    need: MemoryBudget.sum([floor, modelBytes]) ?? .max, budget: memory.budget.bytes))
            }
            // What --batch and --context ask of this model: a usage error.
            throw ValidationError("--batch/--context: " + Diagnostics.memoryMessage(
                what: what + " with the model", need: total, budget: memory.budget.bytes))
        } catch KernelError.sequenceTooShort(what: "training data", _, _) {
            // Checked after the memory need: the split as the trainer makes it.
            let held = Int(Double(tokens.count) * settings.valFraction)
            throw ToolFailure(Diagnostics.tooLittleData(
                data: data, tokens: tokens.count, context: settings.context, valFraction: settings.valFraction, held: held))
        }
        if let saved {
            do {
                try trainer.restore(saved)
            } catch let error as KernelError {
                throw ToolFailure("\(Formatting.name(output)).adam: \(error.description): cannot resume")
            }
        }
        if settings.valFraction > 0 && trainer.validationTokens.count < settings.context + 1 {
            Console.err("txw-train: " + Diagnostics.validationTooSmall(
                held: trainer.validationTokens.count, context: settings.context, valFraction: settings.valFraction))
        }
        try loop(&trainer, settings: settings, model: model, metadata: metadata, checksum: dataChecksum)
    }

    /// The steps up to `settings.steps`: an evaluation and report every
    /// --eval-every steps, a checkpoint every `checkpointInterval` steps and at
    /// the end; a SIGINT or SIGTERM stops it after the step in progress, with
    /// a checkpoint of that step.
    func loop(_ trainer: inout Trainer<Float>, settings: Settings, model: ModelArrays,
              metadata: [String: MetadataValue], checksum: String) throws {
        let start = Date()
        let firstStep = trainer.step
        var lastLoss = Double.nan
        var lastValidation: Double? = nil
        var checkpointed = firstStep
        // A new run may replace OUT only with --force; after its first
        // checkpoint, OUT is its own.
        var overwrite = force || resume
        func save(validation: Double?) throws -> Written {
            let written = try checkpoint(trainer, settings: settings, model: model, metadata: metadata, train: lastLoss,
                                         validation: validation, checksum: checksum, overwrite: overwrite)
            checkpointed = trainer.step
            overwrite = true
            return written
        }
        func stopped(_ why: String) throws {
            // The step in progress is done; its checkpoint is written (unless
            // it is already), then the run ends.
            if trainer.step > checkpointed { _ = try save(validation: try trainer.validationLoss()) }
            // On a terminal the live progress line is cleared first.
            let clear = Console.stderrIsTerminal ? "\r\u{1B}[K" : ""
            if trainer.step == firstStep && !resume {
                Console.err(clear + "txw-train: \(why)stopped before the first step; \(Formatting.name(output)) not written")
            } else {
                Console.err(clear + "txw-train: \(why)" + Diagnostics.stopped(
                    step: trainer.step, steps: settings.steps, output: output, data: data,
                    extra: memory.maxMemory.map { ["--max-memory", String($0)] } ?? []))
            }
        }
        let end = min(settings.steps, stopAt ?? settings.steps)
        StopSignal.install()
        while trainer.step < end {
            if let signal = StopSignal.requested {
                try stopped("")
                StopSignal.terminate(by: signal)
            }
            lastLoss = try trainer.trainStep()
            let step = trainer.step
            guard lastLoss.isFinite else {
                // Nothing of this step is written; a checkpoint written before stays.
                let kept = checkpointed > 0 && (overwrite || resume)
                    ? "\(Formatting.name(output)) not updated (its checkpoint of step \(checkpointed) stays)"
                    : "\(Formatting.name(output)) not written"
                throw ToolFailure("training diverged at step \(step): the training loss is \(lastLoss); \(kept)")
            }
            let evaluate = step % settings.evalEvery == 0 || step == settings.steps
            let interval = settings.checkpointInterval
            if evaluate {
                lastValidation = try trainer.validationLoss()
                try report(step: step, train: lastLoss, validation: lastValidation, start: start, firstStep: firstStep, settings: settings)
            }
            if step == settings.steps {
                let written = try save(validation: lastValidation)
                Console.err("wrote \(Formatting.name(output)): step \(step) of \(settings.steps), train loss \(TrainingStatus.format(lastLoss))"
                    + (lastValidation.map { ", val loss \(TrainingStatus.format($0))" } ?? "")
                    + ", \(Formatting.grouped(trainer.weights.hyperparameters.parameterCount)) parameters, "
                    + "\(Formatting.grouped(written.model)) bytes (\(Formatting.name(output)).adam: \(Formatting.grouped(written.moments)) bytes)")
            } else if interval > 0 && step % interval == 0 {
                _ = try save(validation: evaluate ? lastValidation : try trainer.validationLoss())
            } else if !evaluate && Console.stderrIsTerminal && !json {
                progress(step: step, train: lastLoss, validation: lastValidation, start: start, firstStep: firstStep, settings: settings)
            }
        }
        if trainer.step == firstStep {
            let reason = firstStep >= settings.steps ? "--steps is \(settings.steps)" : "--stop-at is \(end)"
            Console.err("txw-train: \(Formatting.name(output)) already has \(firstStep) steps, \(reason); nothing to do")
        } else if trainer.step < settings.steps {
            // A signal during the step --stop-at ends with: stopped by it.
            if let signal = StopSignal.requested {
                try stopped("")
                StopSignal.terminate(by: signal)
            }
            try stopped("--stop-at \(end): ")
        }
    }

    func startingVocabulary(_ bytes: [UInt8]) throws -> Vocabulary? {
        if let vocab {
            let d = Data(try ModelInput.readTextFile(vocab, budget: memory.budget, bytesPerByte: ModelInput.vocabularyBytesFactor))
            guard let tokens = try? JSONDecoder().decode([String].self, from: d) else {
                throw ToolFailure("\(Formatting.name(vocab)): expected a JSON array of strings")
            }
            return try Vocabulary(tokens)
        }
        if data.hasSuffix(".tokens") { return nil }
        guard let text = String(validating: bytes, as: UTF8.self), !text.isEmpty else {
            throw ToolFailure("\(Formatting.name(InputFile.name(data))): not valid, non-empty UTF-8 text")
        }
        return try Vocabulary.characters(of: text)
    }

    func tokenize(_ bytes: [UInt8], vocabulary: Vocabulary?) throws -> [Int] {
        if data.hasSuffix(".tokens") {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolFailure("\(Formatting.name(InputFile.name(data))): not UTF-8") }
            return try parseTokens(text, option: Formatting.name(InputFile.name(data)))
        }
        guard let vocabulary else { throw ToolFailure("the model has no vocabulary: give token ids in a .tokens file") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolFailure("\(Formatting.name(InputFile.name(data))): not valid UTF-8") }
        do {
            return try vocabulary.encode(text)
        } catch let error as ModelError {
            throw ToolFailure(path: data, error)
        }
    }

    func hexChecksum(_ bytes: [UInt8]) -> String {
        Hex.digits(Checksum.xxh3(bytes))
    }

    /// One `--json` line: an evaluation.
    struct Evaluation: Encodable {
        let step: Int
        let trainLoss: Double
        let valLoss: JSONNullable<Double>
        let tokensPerS: Double

        enum CodingKeys: String, CodingKey {
            case step, trainLoss = "train_loss", valLoss = "val_loss", tokensPerS = "tokens_per_s"
        }
    }

    func report(step: Int, train: Double, validation: Double?, start: Date, firstStep: Int, settings: Settings) throws {
        let elapsed = Date().timeIntervalSince(start)
        let tokensPerSecond = Double(step - firstStep) * Double(settings.batch) * Double(settings.context) / max(elapsed, 1e-9)
        if json {
            try Console.out(try JSONOutput.text(Evaluation(
                step: step, trainLoss: train, valLoss: JSONNullable(validation), tokensPerS: tokensPerSecond)))
        }
        let line = status(step: step, train: train, validation: validation, elapsed: elapsed, firstStep: firstStep, settings: settings)
        // On a terminal the line replaces the live progress line.
        Console.err(Console.stderrIsTerminal ? "\r" + line + "\u{1B}[K" : line)
    }

    /// The live line on a terminal: the same fields, rewritten in place.
    func progress(step: Int, train: Double, validation: Double?, start: Date, firstStep: Int, settings: Settings) {
        let line = status(step: step, train: train, validation: validation, elapsed: Date().timeIntervalSince(start),
                          firstStep: firstStep, settings: settings)
        Console.err("\r" + line + "\u{1B}[K", terminator: "")
    }

    /// `step S/N  train L  val L  T tok/s  ETA Ns`.
    func status(step: Int, train: Double, validation: Double?, elapsed: Double, firstStep: Int, settings: Settings) -> String {
        TrainingStatus.line(step: step, steps: settings.steps, train: train, validation: validation, elapsed: elapsed,
                            firstStep: firstStep, tokensPerStep: Double(settings.batch) * Double(settings.context))
    }


    /// The sizes of a checkpoint's two files.
    struct Written {
        let model: Int
        let moments: Int
    }

    /// Writes OUT.adam, then OUT, each atomically (both encoded first, so the
    /// two renames follow each other at once).
    func checkpoint(_ trainer: Trainer<Float>, settings: Settings, model: ModelArrays, metadata: [String: MetadataValue],
                    train: Double, validation: Double?, checksum: String, overwrite: Bool) throws -> Written {
        // A diverged run (an overflowing learning rate or state) is refused,
        // never written as a checkpoint.
        for (name, tensor) in trainer.weights.parameterTensors {
            if let j = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ToolFailure("training diverged by step \(trainer.step): \(name)[\(j)] = \(tensor.scalars[j]); \(Formatting.name(output)) not written")
            }
        }
        let o = trainer.optimizer
        for (i, (name, _)) in trainer.weights.parameterTensors.enumerated() {
            for (kind, moments) in [("m", o.firstMoments[i]), ("v", o.secondMoments[i])] where moments.contains(where: { !$0.isFinite }) {
                throw ToolFailure("training diverged by step \(trainer.step): the optimizer state \(kind).\(name) is not finite; \(Formatting.name(output)) not written")
            }
        }
        var out = model
        out.arrays = trainer.weights.parameterTensors.map { name, tensor in
            ImportedArray(name: name, dtype: .f32, shape: tensor.shape, bytes: ElementCoding.encode(tensor.scalars, as: .f32))
        }
        out.metadata = metadata
        out.metadata["training.steps"] = .int(Int64(trainer.step))
        out.metadata["training.train_loss"] = .float(train)
        out.metadata["training.val_loss"] = validation.map { .float($0) }
        out.metadata["training.data_xxh3"] = .string(checksum)
        out.metadata["training.optimizer"] = .string("adamw beta1=\(o.beta1) beta2=\(o.beta2) eps=\(o.epsilon) weight_decay=\(o.weightDecay)")
        out.metadata["training.lr"] = .float(settings.lr)
        out.metadata["training.batch"] = .int(Int64(settings.batch))
        out.metadata["training.context"] = .int(Int64(settings.context))
        out.metadata["training.seed"] = .int(Int64(bitPattern: settings.seed))
        out.metadata["training.total_steps"] = .int(Int64(settings.steps))
        out.metadata["training.lr_warmup_steps"] = .int(Int64(settings.warmup))
        out.metadata["training.lr_decay_steps"] = .int(Int64(settings.scheduleSteps))
        out.metadata["training.lr_final_fraction"] = .float(settings.finalFraction)
        out.metadata["training.val_fraction"] = .float(settings.valFraction)
        out.metadata["training.eval_every"] = .int(Int64(settings.evalEvery))
        out.metadata["training.checkpoint_every"] = settings.checkpointEvery.map { .int(Int64($0)) }
        out.contextLength = settings.context
        // The moments first: a checkpoint's model is never newer than its moments.
        var moments = try TXWWriter()
        try moments.setMetadata("adamw.step", .int(Int64(o.step)))
        for (i, (name, tensor)) in trainer.weights.parameterTensors.enumerated() {
            try moments.addTensor(name: "m." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.firstMoments[i], as: .f64))
            try moments.addTensor(name: "v." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.secondMoments[i], as: .f64))
        }
        let momentBytes = try moments.encode()
        let modelBytes = try out.writer(dtype: .f32, options: TXWWriter.Options()).encode()
        // OUT.adam of a new run is replaced: it belongs to OUT, which was
        // checked (absent, or --force).
        try StopSignal.whileWriting {
            try AtomicFile.write(momentBytes, to: output + ".adam", overwrite: true)
            try AtomicFile.write(modelBytes, to: output, overwrite: overwrite)
        }
        return Written(model: modelBytes.count, moments: momentBytes.count)
    }

    func loadOptimizer(_ model: ModelArrays) throws -> AdamW {
        let reader = try ModelInput.open(output + ".adam", budget: memory.budget)
        guard case let .int(step)? = reader.metadata("adamw.step"), case let .int(modelSteps)? = model.metadata["training.steps"],
              step == modelSteps else {
            if case let .int(step)? = reader.metadata("adamw.step"), case let .int(modelSteps)? = model.metadata["training.steps"],
               step > modelSteps, modelSteps >= 0 {
                throw ToolFailure(Diagnostics.momentsAhead(output: output, momentsStep: step, modelStep: modelSteps))
            }
            throw ToolFailure("\(Formatting.name(output)).adam does not match \(Formatting.name(output)) (steps differ): cannot resume")
        }
        let limit = Trainer<Float>.Options.maximumSteps
        guard step >= 0, step <= limit else {
            throw ToolFailure("\(Formatting.name(output)).adam: adamw.step = \(step): must be in 0...\(limit): cannot resume")
        }
        // Shapes before reading: a moment of another shape is refused by name.
        var first: [[Double]] = [], second: [[Double]] = []
        for array in model.arrays {
            for name in ["m." + array.name, "v." + array.name] {
                guard let entry = reader.tensor(named: name) else {
                    throw ToolFailure("\(Formatting.name(output)).adam: no tensor \(name): cannot resume")
                }
                guard entry.shape == array.shape else {
                    throw ToolFailure("\(Formatting.name(output)).adam: \(name) has shape \(shapeText(entry.shape)), expected \(shapeText(array.shape)) (the model's \(array.name)): cannot resume")
                }
            }
            do {
                first.append(try reader.read(named: "m." + array.name, as: Double.self))
                second.append(try reader.read(named: "v." + array.name, as: Double.self))
            } catch let error as TXWFormatError {
                throw ToolFailure(path: output + ".adam", error)
            }
        }
        return AdamW(step: Int(step), firstMoments: first, secondMoments: second)
    }

    func shapeText(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ", ") + ")" }
}
