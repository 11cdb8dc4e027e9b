import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Run: ParsableCommand {
    /// The entry point: help, version and usage errors rendered through `Console` (`ToolMain`).
    static func main() { ToolMain.main(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "txw-run",
        abstract: "Run a .txw model: sample tokens, compute the loss, print logits, look inside (activation cache, logit lens, ablations).",
        discussion: """
            Modes (exactly one; --sample when none is given): --sample streams n new \
            tokens after the prompt (text when the file has a vocabulary, token ids \
            otherwise), starting from token 0 without a prompt; --loss prints the mean \
            next-token loss and the perplexity of a text or token sequence; --logits \
            prints the m × V logits of a token sequence.

            Context: with --context C (default: the model's context length T when the file \
            has one; T + 1 for --loss, whose windows score T targets as training did), --loss evaluates the sequence in windows of C tokens that start every \
            --stride S tokens (default ⌊C/2⌋), each target scored once by the first window \
            that covers it with earlier tokens, and --sample lets the model see only the last \
            C tokens before each new one, positions counted from 0 in that window. Without a \
            context the whole sequence is one window (--loss) or seen whole (--sample). Past \
            the context each sampled token is a pass over C tokens (no key/value cache). \
            --logits takes no context. A --context longer than the file's context length, \
            or --logits of more tokens than it, is refused unless --past-context: such \
            numbers are past anything the model was trained on.

            Text is tokenized with the file's vocabulary by greedy longest match. \
            Sampling is the notebook's topk_sample made exact (Spec/kernels.md): the same \
            seed gives the same tokens as numpy's default_rng; -t 0 is greedy. A model whose \
            mask value gives masked positions weight (model.mask_value 0, say) is sampled \
            exactly but recomputes the whole sequence (the last C tokens with a context) for \
            every token: a warning on stderr gives the estimated cost. A model whose constants do not fit float32 is refused \
            in f32; run it with --precision f64.

            A --loss or --logits result that is not finite (NaN or ±inf, from weights \
            that are, or numbers that overflow) is refused with exit 1, naming the \
            first position, as sampling refuses logits it cannot use.

            Streams: MODEL, --text-file and --prompt-file take - for standard input (one \
            of them at most), and a FIFO or /dev/stdin is read as a stream; a model read \
            this way is held in memory (up to three times while it is checked) within --max-memory.

            Look inside: --cache OUT writes every activation of one forward pass \
            (TransformerLens names: hook_embed, blocks.I.attn.hook_pattern, …, logits; \
            Spec/kernels.md) as a .txw container, or an .npz when OUT ends in .npz, with \
            the model file's checksum, the tokens and the text; --hooks GLOB keeps \
            matching names; an existing OUT needs --force. --lens prints, per position, \
            the -k (default 5) top tokens of the residual stream times W_Eᵀ after the \
            embedding and after each block, with their probabilities. --ablate \
            blocks.I.attn.head.H or blocks.I.mlp.neuron.N (repeatable) replaces that \
            head's z or that neuron's GELU output by zero or, with --ablate-mode mean, \
            by its mean over the input's positions (for --sample: the prompt's, fixed \
            while sampling; each sampled token is then a full pass); --loss then reports \
            the loss with and without the ablation.

            Samples: --num-samples N draws N samples of -n tokens after the same prompt; \
            the generator is not reseeded between them, so sample 2 continues the random \
            stream where sample 1 left it (--num-samples 1 is the plain run). In text each \
            sample follows a line "--- sample I of N ---" (when N > 1); with --json the \
            output is a list of the objects of --sample, one per sample.

            Memory: the model in the compute precision, and what the mode needs — \
            for --sample the key/value cache of prompt + n positions (at most C), for \
            --logits the m × V result, for --loss the activations of the sequence (of one \
            window of C tokens with a context) and one chunk of logits (never m × V) — must \
            fit --max-memory; otherwise the run is refused with one line before it \
            allocates them.

            Exit status: 0 on success; 1 when the file or the input is refused; 64 for \
            a usage error.
            """,
        version: ToolMain.version("txw-run"))

    @Argument(help: "The .txw model file ('-': standard input, read into memory).")
    var model: String

    @OptionGroup(title: "Mode")
    var modeFlags: ModeFlags

    @OptionGroup(title: "Input")
    var input: InputOptions

    @OptionGroup(title: "Sampling")
    var sampling: SamplingOptions

    @OptionGroup(title: "Context")
    var window: ContextOptions

    @Option(help: "Compute precision: f32 (fast) or f64 (the notebook's numbers).")
    var precision: Precision = .f32

    @Flag(help: "Print one JSON object: --sample {\"prompt_tokens\", \"tokens\", \"text\"} (with --num-samples a list of them), --loss {\"loss\", \"perplexity\", \"tokens\", \"context\", \"stride\", \"windows\"} (context and stride null without a context), --logits {\"logits\"}.")
    var json = false

    @OptionGroup(title: "Look inside")
    var inside: InsideOptions

    @OptionGroup(title: "Memory")
    var memory: MemoryOptions

    var mode: Mode { inside.cache != nil ? .cache : inside.report != nil ? .report : modeFlags.mode }

    func validate() throws {
        if inside.cache != nil, let other = modeFlags.modes.first {
            throw ValidationError("--cache OUT is a mode of its own: give it without --\(other.rawValue)")
        }
        if inside.report != nil, let other = modeFlags.modes.first {
            throw ValidationError("--report OUT.html is a mode of its own: give it without --\(other.rawValue)")
        }
        if inside.cache == "-" && json {
            throw ValidationError("--cache - writes the cache to standard output, so --json cannot; give a file")
        }
        if inside.cache == "-" && Console.stdoutIsTerminal {
            throw ValidationError("--cache - writes a binary file to standard output, which is a terminal; redirect it or give a file")
        }
        if inside.report == "-" && json {
            throw ValidationError("--report - writes the page to standard output, so --json cannot; give a file")
        }
        try input.validate(for: mode)
        try window.validate(for: mode)
        try sampling.validate(for: mode)
        try InputFile.checkOneStandardInput([("the model", model), ("--prompt-file", input.promptFile), ("--text-file", input.textFile)])
    }

    /// The context used when --context is not given: the file's
    /// `model.context_length`, or nil (the whole sequence) without one.
    func defaultContext<T>(_ loaded: LoadedModel<T>) -> Int? {
        loaded.contextLength
    }

    func run() throws {
        try reportingErrors(tool: "txw-run") {
            switch precision {
            case .f32:
                let (loaded, checksum) = try ModelInput.loadIdentified(model, as: Float.self, budget: memory.budget)
                try run(loaded, headerChecksum: checksum)
            case .f64:
                let (loaded, checksum) = try ModelInput.loadIdentified(model, as: Double.self, budget: memory.budget)
                try run(loaded, headerChecksum: checksum)
            }
        }
    }

    func run<T: KernelScalar>(_ loaded: LoadedModel<T>, headerChecksum: UInt64) throws {
        try inside.check(against: loaded.hyperparameters)
        switch mode {
        case .sample: try runSample(loaded)
        case .loss: try runLoss(loaded)
        case .logits: try runLogits(loaded)
        case .lens: try runLens(loaded)
        case .cache: try runCache(loaded, headerChecksum: headerChecksum)
        case .report: try runReport(loaded)
        }
    }

    /// The input token ids of the chosen option, tokenized with the vocabulary where it is text.
    func inputTokens<T>(_ loaded: LoadedModel<T>) throws -> [Int]? {
        try inputTokensAndText(loaded)?.tokens
    }

    /// The input token ids, and the text they came from (nil for --tokens).
    func inputTokensAndText<T>(_ loaded: LoadedModel<T>) throws -> (tokens: [Int], text: String?)? {
        func vocabulary(_ option: String) throws -> Vocabulary {
            guard let v = loaded.vocabulary else {
                throw ToolFailure("\(Formatting.name(InputFile.name(model))) has no vocabulary, so \(option) cannot be tokenized; give token ids with --tokens")
            }
            return v
        }
        if let tokens = input.tokens { return (try parseTokens(tokens, option: "--tokens"), nil) }
        if let prompt = input.prompt { return (try tokenize(prompt, with: vocabulary("--prompt"), what: "--prompt"), prompt) }
        if let promptFile = input.promptFile {
            let v = try vocabulary("--prompt-file")
            let text = try readText(promptFile, loaded)
            return (try tokenize(text, with: v, what: Formatting.name(InputFile.name(promptFile))), text)
        }
        if let text = input.text { return (try tokenize(text, with: vocabulary("--text"), what: "--text"), text) }
        if let textFile = input.textFile {
            let v = try vocabulary("--text-file")
            let text = try readText(textFile, loaded)
            return (try tokenize(text, with: v, what: Formatting.name(InputFile.name(textFile))), text)
        }
        return nil
    }

    /// The UTF-8 text of the file `path` (`-`: standard input). The model is
    /// held already: the text gets what the budget has left.
    func readText<T>(_ path: String, _ loaded: LoadedModel<T>) throws -> String {
        let modelNeed = ModelFile.memoryNeed(loaded.hyperparameters, vocabulary: loaded.vocabulary, as: T.self) ?? .max
        let data = try ModelInput.readTextFile(path, budget: MemoryBudget(bytes: memory.budget.bytes - min(modelNeed, memory.budget.bytes - 1)))
        guard let content = String(validating: data, as: UTF8.self) else {
            throw ToolFailure("\(Formatting.name(InputFile.name(path))): not valid UTF-8")
        }
        return content
    }

    func tokenize(_ text: String, with vocabulary: Vocabulary, what: String) throws -> [Int] {
        do {
            return try vocabulary.encode(text)
        } catch let ModelError.vocabulary(detail) {
            throw ToolFailure("\(what): cannot be tokenized: \(detail)")
        }
    }

    /// Refuses the run when the model and what `mode` needs (`need`, nil on overflow) exceed the budget.
    func checkMemory<T>(_ loaded: LoadedModel<T>, _ need: Int?, for what: String) throws {
        let total = MemoryBudget.sum([ModelFile.memoryNeed(loaded.hyperparameters, vocabulary: loaded.vocabulary, as: T.self), need])
        try memory.budget.check(total, for: "\(what) with the model in \(precision)")
    }

    func runSample<T>(_ loaded: LoadedModel<T>) throws {
        let prompt = try inputTokens(loaded) ?? [0]
        let context = window.context ?? defaultContext(loaded)
        try window.checkTrained(context, trained: loaded.contextLength, limit: loaded.contextLength)
        let (positions, overflow) = prompt.count.addingReportingOverflow(sampling.n)
        // --json with --num-samples holds every sample's ids (and the prompt's) until the end.
        let held = json && sampling.numSamples != nil ? MemoryBudget.bytes(count: sampling.numSamples ?? 1, size: positions) : 0
        let passNeed = inside.ablation == nil
            ? TopKSampler.memoryNeed(loaded.hyperparameters, positions: positions, context: context, scalarBytes: MemoryLayout<T>.size,
                                     threads: KernelConfiguration.defaultThreads)
            : TopKSampler.ablatedMemoryNeed(loaded.weights, positions: positions, context: context, threads: KernelConfiguration.defaultThreads)
        try checkMemory(loaded, overflow ? nil : MemoryBudget.sum([passNeed, held.flatMap { MemoryBudget.bytes(count: $0, size: 8) }]),
            for: "sampling \(sampling.n) tokens after a \(prompt.count)-token prompt"
                + (context.map { " with a context of \($0) tokens" } ?? "")
                + (held != 0 ? " \(sampling.numSamples ?? 1) times (the key/value cache, and every sample's ids held for --json)" : " (the key/value cache)"))
        let sampler = try TopKSampler(k: sampling.k(for: mode), temperature: sampling.t, seed: sampling.seed)
        let vocabulary = loaded.vocabulary
        let maskValue = loaded.hyperparameters.constants.maskValue
        let isTerminal = Console.stdoutIsTerminal
        // One generator for every sample: sample i + 1 continues where sample i stopped.
        var rng = NumpyRandom(seed: sampling.seed)
        let count = sampling.numSamples ?? 1
        var samples: [SampleJSON] = []
        var warned = false
        for index in 0..<count {
            if count > 1 && !json { try Console.out("--- sample \(index + 1) of \(count) ---") }
            var first = true
            let onToken: (Int) throws -> Void = { token in
                guard !json else { return }
                if let vocabulary {
                    try Console.out(Formatting.generatedText(vocabulary.tokens[token], isTerminal: isTerminal), terminator: "")
                } else {
                    try Console.out((first ? "" : " ") + String(token), terminator: "")
                }
                first = false
            }
            let produced: [Int]
            if let ablation = inside.ablation {
                produced = try sampler.sample(loaded.weights, prompt: prompt, count: sampling.n, context: context, ablation: ablation,
                                              continuing: &rng, onToken: onToken)
            } else {
              produced = try sampler.sample(loaded.weights, prompt: prompt, count: sampling.n, context: context, continuing: &rng,
                                            onToken: onToken) { recomputation in
                // Every sample recomputes alike: one warning for the run.
                guard !warned else { return }
                warned = true
                Console.err("txw-run: " + Diagnostics.warning(for: recomputation, maskValue: maskValue))
              }
            }
            if json {
                samples.append(SampleJSON(promptTokens: prompt, tokens: produced, text: try vocabulary.map { try $0.decode(produced) }))
            } else {
                try Console.out("")
            }
        }
        if json {
            // --num-samples given (even 1): a list; otherwise the one object, as always.
            try Console.out(sampling.numSamples == nil ? try JSONOutput.text(samples[0]) : try JSONOutput.text(samples))
        }
    }

    func runLoss<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        // A window of T + 1 tokens scores T targets from positions 0 … T − 1:
        // the model's context length T allows one token more here.
        let trainedWindow = defaultContext(loaded).map { $0 + 1 }
        let windows = try window.lossWindows(fileWindow: trainedWindow)
        try window.checkTrained(windows?.context, trained: loaded.contextLength, limit: trainedWindow)
        let m = min(tokens.count, windows?.context ?? tokens.count)
        try checkMemory(loaded, MemoryBudget.sum([loaded.weights.lossMemoryNeed(
            tokens: tokens.count, context: windows?.context, threads: KernelConfiguration.defaultThreads),
            inside.ablation == nil ? 0 : loaded.weights.recordedMemoryNeed(m: m, threads: KernelConfiguration.defaultThreads)]),
            for: "the loss of \(tokens.count) tokens" + (windows.map { " in windows of \($0.context)" } ?? ""))
        // The whole sequence as one window without a context: `loss(for:)`
        // bit for bit, with the first non-finite term's position.
        let (C, S) = windows.map { ($0.context, $0.stride) } ?? (max(tokens.count, 2), 1)
        let result = try loaded.weights.loss(for: tokens, context: C, stride: S)
        guard result.loss.isFinite else {
            throw ToolFailure(Diagnostics.nonFiniteLoss(result.loss, firstPosition: result.firstNonFinitePosition))
        }
        var ablated: WindowedLoss?
        if let ablation = inside.ablation {
            let r = try loaded.weights.loss(for: tokens, context: C, stride: S, ablation: ablation)
            guard r.loss.isFinite else {
                throw ToolFailure("with the ablation: " + Diagnostics.nonFiniteLoss(r.loss, firstPosition: r.firstNonFinitePosition))
            }
            ablated = r
        }
        let perplexity = exp(result.loss)
        if json {
            try Console.out(try JSONOutput.text(LossJSON(
                loss: ablated?.loss ?? result.loss, perplexity: exp(ablated?.loss ?? result.loss), tokens: tokens.count,
                context: windows?.context, stride: windows?.stride, windows: result.windows,
                ablation: inside.ablation.map { AblationJSON($0, unablatedLoss: result.loss) })))
            return
        }
        var line = ""
        if let ablated, let ablation = inside.ablation {
            line = "loss \(ablated.loss)  perplexity \(exp(ablated.loss))  (ablated: \(ablation.targets.map(\.description).joined(separator: ", ")), \(ablation.mode.rawValue))"
                + "  unablated loss \(result.loss)  perplexity \(perplexity)  change \(ablated.loss - result.loss)  tokens \(tokens.count)"
        } else {
            line = "loss \(result.loss)  perplexity \(perplexity)  tokens \(tokens.count)"
        }
        if let windows { line += "  context \(windows.context)  stride \(windows.stride)  windows \(result.windows)" }
        try Console.out(line)
    }

    func runLogits<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        if let trained = loaded.contextLength, tokens.count > trained, !window.pastContext {
            throw ToolFailure("\(Formatting.name(InputFile.name(model))): \(tokens.count) tokens are more than the model's context length \(trained) "
                + "(model.context_length): logits past it are past anything it was trained on; "
                + "pass --past-context to compute them anyway, or --loss/--sample, which take windows of it")
        }
        try checkMemory(loaded, MemoryBudget.sum([loaded.weights.logitsMemoryNeed(tokens: tokens.count, threads: KernelConfiguration.defaultThreads),
                                                  inside.ablation == nil ? 0 : loaded.weights.recordedMemoryNeed(m: tokens.count, threads: KernelConfiguration.defaultThreads)]),
                        for: "the \(tokens.count) × \(loaded.hyperparameters.vocabSize) logits")
        let result = try inside.ablation.map { try loaded.weights.logits(for: tokens, ablation: $0) } ?? loaded.weights.logits(for: tokens)
        try checkFinite(result.scalars, V: loaded.hyperparameters.vocabSize)
        // Values print in the compute precision: shortest round-trip text.
        // Checked type equality, then the same array viewed as its concrete
        // type: no copy (an `as?` cast converts element by element into a new
        // array, twice the logits' bytes, which the budget does not count).
        let V = loaded.hyperparameters.vocabSize
        if T.self == Double.self {
            try printLogits(unsafeBitCast(result.scalars, to: [Double].self), V: V)
        } else if T.self == Float.self {
            try printLogits(unsafeBitCast(result.scalars, to: [Float].self), V: V)
        } else {
            try printLogits(result.scalars.map { Double($0) }, V: V)
        }
    }

    /// Refuses (m, V) logits with a value that is not finite, naming the first.
    func checkFinite<T: KernelScalar>(_ scalars: [T], V: Int) throws {
        guard let i = scalars.firstIndex(where: { !$0.isFinite }) else { return }
        throw ToolFailure(Diagnostics.nonFiniteLogits(position: i / V, token: i % V, value: Double(scalars[i])))
    }

    /// The (m, V) logits, row by row, written in pieces of about 64 KiB
    /// (never the whole text at once).
    func printLogits<F: BinaryFloatingPoint & CustomStringConvertible & Sendable>(_ scalars: [F], V: Int) throws {
        let sink: (String) throws -> Void = { try Console.out($0, terminator: "") }
        if json {
            try JSONOutput.write([String: Int](), appending: "logits", to: sink) { out in
                try out.append("[")
                for start in stride(from: 0, to: scalars.count, by: V) {
                    if start > 0 { try out.append(",") }
                    try JSONOutput.numbers(scalars[start..<(start + V)], into: &out)
                }
                try out.append("]")
            }
        } else {
            var out = ChunkedText(sink: sink)
            for (i, v) in scalars.enumerated() {
                let column = i % V
                try out.append((column == 0 ? "" : " ") + Formatting.number(v) + (column == V - 1 ? "\n" : ""))
            }
            try out.flush()
        }
    }
}

/// The `--json` result of --sample; `text` only with a vocabulary.
struct SampleJSON: Encodable {
    let promptTokens: [Int]
    let tokens: [Int]
    let text: String?

    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", tokens, text }
}

/// The `--json` result of --loss: `context` and `stride` are null when the
/// sequence is one window (no context); `windows` is then 1. With
/// --ablate, `loss` and `perplexity` are the ablated model's and
/// `ablation` says what was ablated and gives the unablated numbers.
struct LossJSON: Encodable {
    let loss, perplexity: Double
    let tokens: Int
    let context, stride: Int?
    let windows: Int
    var ablation: AblationJSON?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(loss, forKey: .loss)
        try c.encode(perplexity, forKey: .perplexity)
        try c.encode(tokens, forKey: .tokens)
        // Written as null, not left out: the keys are the same for every run.
        try c.encode(context, forKey: .context)
        try c.encode(stride, forKey: .stride)
        try c.encode(windows, forKey: .windows)
        if let ablation {
            try c.encode(ablation.targets, forKey: .ablate)
            try c.encode(ablation.mode, forKey: .ablateMode)
            try c.encode(ablation.unablatedLoss, forKey: .unablatedLoss)
            try c.encode(exp(ablation.unablatedLoss), forKey: .unablatedPerplexity)
            try c.encode(loss - ablation.unablatedLoss, forKey: .lossChange)
        }
    }

    enum CodingKeys: String, CodingKey {
        case loss, perplexity, tokens, context, stride, windows, ablate
        case ablateMode = "ablate_mode", unablatedLoss = "unablated_loss", unablatedPerplexity = "unablated_perplexity"
        case lossChange = "loss_change"
    }
}

/// What --ablate adds to the --loss JSON.
struct AblationJSON {
    let targets: [String]
    let mode: String
    let unablatedLoss: Double

    init(_ ablation: Ablation, unablatedLoss: Double) {
        targets = ablation.targets.map(\.description)
        mode = ablation.mode.rawValue
        self.unablatedLoss = unablatedLoss
    }
}
