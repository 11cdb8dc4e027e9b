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
            --val-fraction of the tokens is held out for the validation loss.

            Checkpoints (every --checkpoint-every steps and at the end) are atomic writes \
            of OUT; their metadata records the steps, the train and validation loss, the \
            data's XXH3-64, the optimizer settings and the seed. The optimizer's moments \
            go beside it in OUT.adam (a txw container: tensors m.NAME and v.NAME). \
            --resume continues from them, as if the run had never stopped.

            Progress goes to stderr: a live line on a terminal, a line per --eval-every \
            steps otherwise; --json prints one JSON object per evaluation on stdout:             {"step", "train_loss", "val_loss", "tokens_per_s"}.

            Memory: the model, a step's activations (for min(--batch, threads) windows \
            of --context + 1 tokens) and the optimizer's state must fit --max-memory; \
            --batch and --context that ask for more are a usage error.

            Exit status: 0 on success; 1 when an input is refused or a write fails; 64             for a usage error.
            """,
        version: ToolMain.version("txw-train"))

    @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write (and checkpoint).", valueName: "path"))
    var output: String

    @Option(name: .customLong("init"), help: ArgumentHelp("Start from this model.", valueName: "MODEL.txw"))
    var initFrom: String?

    @Flag(help: "Start from a random model (needs the hyperparameter flags).")
    var random = false

    @OptionGroup(title: "Hyperparameters (with --random)")
    var shape: HyperparameterOptions

    @Option(help: ArgumentHelp("Vocabulary for --random: a JSON array of strings.", valueName: "vocab.json"))
    var vocab: String?

    @Option(help: ArgumentHelp("Training data: UTF-8 text, or token ids in a .tokens file.", valueName: "path"))
    var data: String

    @Option(help: "Optimizer steps.") var steps: Int = 1000
    @Option(help: "Windows per step.") var batch: Int = 16
    @Option(help: "Tokens each window predicts; written as the model's context length (model.context_length).") var context: Int = 64
    @Option(help: "Peak learning rate.") var lr: Double = 3e-3
    @Option(help: "Seed of the random init and of the window sampler.") var seed: UInt64 = 42
    @Option(help: "Evaluate (and report) every K steps.") var evalEvery: Int = 100
    @Option(help: "Fraction of the data held out for validation.") var valFraction: Double = 0.1
    @Option(help: "Write a checkpoint every K steps (0: only at the end).") var checkpointEvery: Int = 0
    @Flag(help: "Continue from OUT and OUT.adam.") var resume = false
    @Flag(help: "Print one JSON object per evaluation on stdout.") var json = false

    @OptionGroup(title: "Memory")
    var memory: MemoryOptions

    func validate() throws {
        guard [initFrom != nil, random, resume].filter({ $0 }).count == 1 else {
            throw ValidationError("choose one start: --init MODEL.txw, --random, or --resume")
        }
        if !random && (shape.anyGiven || vocab != nil) {
            throw ValidationError("the hyperparameter flags and --vocab are for --random")
        }
        guard steps >= 1, batch >= 1, context >= 1, evalEvery >= 1, checkpointEvery >= 0 else {
            throw ValidationError("--steps, --batch, --context, --eval-every must be ≥ 1 and --checkpoint-every ≥ 0")
        }
        typealias Limits = Trainer<Float>.Options
        guard steps <= Limits.maximumSteps else { throw ValidationError("--steps must be at most \(Limits.maximumSteps), got \(steps)") }
        guard batch <= Limits.maximumBatch else { throw ValidationError("--batch must be at most \(Limits.maximumBatch), got \(batch)") }
        guard context <= Limits.maximumContext else {
            throw ValidationError("--context must be at most \(Limits.maximumContext), got \(context)")
        }
        // Both are bounded above, so the product cannot overflow.
        guard batch * (context + 1) <= Limits.maximumBatchTokens else {
            throw ValidationError("--batch × (--context + 1) must be at most \(Limits.maximumBatchTokens) tokens a step, got \(batch * (context + 1))")
        }
        guard lr.isFinite, lr > 0 else { throw ValidationError("--lr must be a positive number") }
        guard valFraction >= 0, valFraction < 1 else { throw ValidationError("--val-fraction must be in [0, 1)") }
    }

    func run() throws {
        try reportingErrors(tool: "txw-train") { try train() }
    }

    func train() throws {
        let bytes = try ModelInput.readTextFile(data, budget: memory.budget)
        let dataChecksum = hexChecksum(bytes)
        var model: ModelArrays
        var metadata: [String: MetadataValue] = [:]
        var saved: AdamW? = nil
        if resume {
            let reader = try ModelInput.open(output, budget: memory.budget)
            model = try ModelArrays(reader: reader)
            metadata = model.metadata
            guard metadata["training.data_xxh3"] == .string(dataChecksum) else {
                throw ToolFailure("\(Formatting.name(data)): not the data \(Formatting.name(output)) was trained on (its checksum differs)")
            }
            saved = try loadOptimizer(model)
        } else if let initFrom {
            model = try ModelArrays(reader: ModelInput.open(initFrom, budget: memory.budget))
            metadata = model.metadata
        } else {
            let vocabulary = try startingVocabulary(bytes)
            model = try ModelArrays.random(try shape.hyperparameters(vocabularySize: vocabulary?.count), seed: seed)
            model.vocabulary = vocabulary
        }
        let tokens = try tokenize(bytes, vocabulary: model.vocabulary)
        var options = Trainer<Float>.Options()
        (options.steps, options.batch, options.context, options.learningRate, options.seed, options.validationFraction) =
            (steps, batch, context, lr, seed, valFraction)
        // The model's arrays are held; its Float weights are made next.
        let held = MemoryBudget.sum(model.arrays.map(\.bytes.count))
        let weightsNeed = ModelFile.memoryNeed(model.hyperparameters, vocabulary: model.vocabulary, as: Float.self)
        try memory.budget.check(MemoryBudget.sum([held, weightsNeed]), for: "the model's arrays and its f32 weights")
        let modelBytes = MemoryBudget.sum([held, weightsNeed]) ?? 0
        options.memoryBudget = MemoryBudget(bytes: memory.budget.bytes - modelBytes)
        var trainer: Trainer<Float>
        do {
            trainer = try Trainer(weights: try model.weights(as: Float.self), tokens: tokens, options: options)
        } catch let error as ModelError {
            // The model read from OUT (--resume) or --init cannot be trained (in f32).
            throw ToolFailure(path: resume ? output : initFrom ?? output, error)
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
        }
        if let saved {
            do {
                try trainer.restore(saved)
            } catch let error as KernelError {
                throw ToolFailure("\(Formatting.name(output)).adam: \(error.description): cannot resume")
            }
        }
        let start = Date()
        let firstStep = trainer.step
        var lastLoss = Double.nan
        var lastValidation: Double? = nil
        while trainer.step < steps {
            lastLoss = try trainer.trainStep()
            let step = trainer.step
            guard lastLoss.isFinite else {
                throw ToolFailure("training diverged at step \(step): the training loss is \(lastLoss); \(Formatting.name(output)) not written")
            }
            if step % evalEvery == 0 || step == steps {
                let validation = try trainer.validationLoss()
                lastValidation = validation
                try report(step: step, train: lastLoss, validation: validation, start: start, firstStep: firstStep, final: step == steps)
                if step == steps || (checkpointEvery > 0 && step % checkpointEvery == 0) {
                    try checkpoint(trainer, model: model, metadata: metadata, train: lastLoss, validation: validation, checksum: dataChecksum)
                }
            } else if checkpointEvery > 0 && step % checkpointEvery == 0 {
                try checkpoint(trainer, model: model, metadata: metadata, train: lastLoss, validation: try trainer.validationLoss(), checksum: dataChecksum)
            } else if Console.stderrIsTerminal && !json {
                progress(step: step, train: lastLoss, validation: lastValidation, start: start, firstStep: firstStep)
            }
        }
        if trainer.step == firstStep {
            Console.err("txw-train: \(Formatting.name(output)) already has \(firstStep) steps; nothing to do")
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
            throw ToolFailure("\(Formatting.name(data)): not valid, non-empty UTF-8 text")
        }
        return try Vocabulary.characters(of: text)
    }

    func tokenize(_ bytes: [UInt8], vocabulary: Vocabulary?) throws -> [Int] {
        if data.hasSuffix(".tokens") {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolFailure("\(Formatting.name(data)): not UTF-8") }
            return try parseTokens(text, option: Formatting.name(data))
        }
        guard let vocabulary else { throw ToolFailure("the model has no vocabulary: give token ids in a .tokens file") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolFailure("\(Formatting.name(data)): not valid UTF-8") }
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

    func report(step: Int, train: Double, validation: Double?, start: Date, firstStep: Int, final: Bool) throws {
        let elapsed = Date().timeIntervalSince(start)
        let tokensPerSecond = Double(step - firstStep) * Double(batch) * Double(context) / max(elapsed, 1e-9)
        if json {
            try Console.out(try JSONOutput.text(Evaluation(
                step: step, trainLoss: train, valLoss: JSONNullable(validation), tokensPerS: tokensPerSecond)))
        }
        let line = status(step: step, train: train, validation: validation, elapsed: elapsed, firstStep: firstStep)
        // On a terminal the line replaces the live progress line.
        Console.err(Console.stderrIsTerminal ? "\r" + line + "\u{1B}[K" : line)
    }

    /// The live line on a terminal: the same fields, rewritten in place.
    func progress(step: Int, train: Double, validation: Double?, start: Date, firstStep: Int) {
        let line = status(step: step, train: train, validation: validation, elapsed: Date().timeIntervalSince(start), firstStep: firstStep)
        Console.err("\r" + line + "\u{1B}[K", terminator: "")
    }

    /// `step S/N  train L  val L  T tok/s  ETA Ns`.
    func status(step: Int, train: Double, validation: Double?, elapsed: Double, firstStep: Int) -> String {
        TrainingStatus.line(step: step, steps: steps, train: train, validation: validation, elapsed: elapsed,
                            firstStep: firstStep, tokensPerStep: Double(batch) * Double(context))
    }


    func checkpoint(_ trainer: Trainer<Float>, model: ModelArrays, metadata: [String: MetadataValue],
                    train: Double, validation: Double?, checksum: String) throws {
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
        if let validation { out.metadata["training.val_loss"] = .float(validation) }
        out.metadata["training.data_xxh3"] = .string(checksum)
        out.metadata["training.optimizer"] = .string("adamw beta1=\(o.beta1) beta2=\(o.beta2) eps=\(o.epsilon) weight_decay=\(o.weightDecay)")
        out.metadata["training.lr"] = .float(lr)
        out.metadata["training.batch"] = .int(Int64(batch))
        out.metadata["training.context"] = .int(Int64(context))
        out.metadata["training.seed"] = .int(Int64(bitPattern: seed))
        out.metadata["training.total_steps"] = .int(Int64(steps))
        out.contextLength = context
        // The moments first: a checkpoint's model is never newer than its moments.
        var moments = try TXWWriter()
        try moments.setMetadata("adamw.step", .int(Int64(o.step)))
        for (i, (name, tensor)) in trainer.weights.parameterTensors.enumerated() {
            try moments.addTensor(name: "m." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.firstMoments[i], as: .f64))
            try moments.addTensor(name: "v." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.secondMoments[i], as: .f64))
        }
        try moments.write(to: output + ".adam", overwrite: true)
        try out.writer(dtype: .f32, options: TXWWriter.Options()).write(to: output, overwrite: true)
    }

    func loadOptimizer(_ model: ModelArrays) throws -> AdamW {
        let reader = try ModelInput.open(output + ".adam", budget: memory.budget)
        guard case let .int(step)? = reader.metadata("adamw.step"), case let .int(modelSteps)? = model.metadata["training.steps"],
              step == modelSteps else {
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
