import ArgumentParser
import TXWToolSupport

/// What txw-run computes: one of three flags, `--sample` when none is given.
enum Mode: String, EnumerableFlag {
    case sample, loss, logits

    static func help(for value: Mode) -> ArgumentHelp? {
        switch value {
        case .sample: "Sample tokens (the default mode)."
        case .loss: "Print the mean next-token loss and the perplexity."
        case .logits: "Print the logits of every position."
        }
    }
}

/// The mode flags. They are repeatable, so that two different modes can be
/// told apart from one given twice: more than one mode is a usage error.
struct ModeFlags: ParsableArguments {
    @Flag var modes: [Mode] = []

    var mode: Mode { modes.first ?? .sample }

    func validate() throws {
        guard Set(modes).count <= 1 else {
            throw ValidationError("choose one mode: --sample, --loss or --logits")
        }
    }
}

/// The input: at most one of a prompt, a prompt file, token ids, a text, a text file.
struct InputOptions: ParsableArguments {
    @Option(help: "Prompt text for --sample (needs a vocabulary).")
    var prompt: String?

    @Option(help: ArgumentHelp("A UTF-8 file holding the prompt text for --sample ('-': standard input; needs a vocabulary).", valueName: "path"))
    var promptFile: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Token ids, e.g. \"3 1 4\" (the prompt of --sample, the input of --loss and --logits).", valueName: "ids"))
    var tokens: String?

    @Option(help: "Text for --loss or --logits (needs a vocabulary).")
    var text: String?

    @Option(help: ArgumentHelp("A UTF-8 text file for --loss ('-': standard input; needs a vocabulary).", valueName: "path"))
    var textFile: String?

    /// The flags given, in the order above.
    var given: [String] {
        [("--prompt", prompt), ("--prompt-file", promptFile), ("--tokens", tokens), ("--text", text), ("--text-file", textFile)]
            .filter { $0.1 != nil }.map(\.0)
    }

    func validate() throws {
        guard given.count <= 1 else {
            throw ValidationError("give one input, not \(given.joined(separator: " and "))")
        }
    }

    /// Checks that the input suits `mode`.
    func validate(for mode: Mode) throws {
        switch mode {
        case .sample:
            if let bad = given.first, bad != "--prompt" && bad != "--prompt-file" && bad != "--tokens" {
                throw ValidationError("\(bad) is for --loss or --logits; --sample takes --prompt, --prompt-file or --tokens")
            }
        case .loss:
            guard let input = given.first, input != "--prompt" && input != "--prompt-file" else {
                throw ValidationError("--loss needs --text, --tokens or --text-file")
            }
        case .logits:
            guard let input = given.first, input == "--tokens" || input == "--text" else {
                throw ValidationError("--logits needs --tokens (or --text)")
            }
        }
    }
}

/// How --sample draws tokens.
struct SamplingOptions: ParsableArguments {
    @Option(name: .short, parsing: .unconditional, help: "Number of tokens to sample.")
    var n: Int = 32

    @Option(name: .short, parsing: .unconditional, help: "Sample among the k most likely tokens (k > V means all V).")
    var k: Int = 10

    @Option(name: .short, parsing: .unconditional, help: "Temperature: 0 is greedy, 1 the model's distribution.")
    var t: Double = 1.0

    @Option(parsing: .unconditional, help: "Seed of the sampler (numpy default_rng): 0 … 2^64 − 1.", transform: NumberArguments.seed)
    var seed: UInt64 = 42

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Draw N samples of -n tokens after the same prompt, each continuing the same random stream; text: each after a line '--- sample I of N ---' (N > 1); --json: a list.",
        valueName: "N"))
    var numSamples: Int?

    func validate() throws {
        guard n >= 0 else { throw NumberArguments.outOfRange("-n", "tokens to sample", must: "≥ 0", got: "\(n)") }
        guard k >= 1 else { throw NumberArguments.outOfRange("-k", "top k", must: "≥ 1", got: "\(k)") }
        guard t.isFinite, t >= 0 else {
            throw NumberArguments.outOfRange("-t", "temperature", must: t.isFinite ? "≥ 0" : "a finite number ≥ 0", got: NumberArguments.text(t))
        }
        if let numSamples, numSamples < 1 { throw NumberArguments.outOfRange("--num-samples", "samples", must: "≥ 1", got: "\(numSamples)") }
    }

    /// Checks the flags against `mode`: --num-samples is for --sample.
    func validate(for mode: Mode) throws {
        if numSamples != nil && mode != .sample {
            throw ValidationError("--num-samples is for --sample")
        }
    }
}

/// The context: how many tokens the model sees at a time (--loss in
/// windows, --sample cropped to the last C tokens).
struct ContextOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Tokens the model sees at a time: --loss in windows of C tokens, --sample the last C tokens. Default: the model's context length T when the file has one (--loss: windows of T + 1 tokens, which score T targets as training did), else the whole sequence.",
        valueName: "C"))
    var context: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Start of each --loss window after the previous one's, 1 … C − 1 (default ⌊C/2⌋); needs a context (--context or the file's).",
        valueName: "S"))
    var stride: Int?

    @Flag(help: "Allow a --context longer than the model's context length (model.context_length), and --logits of more tokens than it: numbers past anything the model was trained on.")
    var pastContext = false

    /// Refuses (usage error) a context `C` longer than the model's trained
    /// context `trained` unless --past-context: its numbers would be past
    /// anything the model was trained on.
    /// `limit` is the longest C the trained context allows (`trained` for
    /// --sample, `trained + 1` tokens for a --loss window).
    func checkTrained(_ C: Int?, trained: Int?, limit: Int?) throws {
        guard !pastContext, let C, let trained, let limit, C > limit else { return }
        let allowed = limit == trained ? "" : " (a --loss window of \(limit) tokens scores \(trained) targets from the positions it was trained at)"
        throw ValidationError("--context \(C) is longer than the model's context length \(trained) (model.context_length) allows\(allowed): "
            + "the numbers would be past anything it was trained on; pass --past-context to compute them anyway")
    }

    func validate() throws {
        if let context, context < 1 { throw NumberArguments.outOfRange("--context", must: "≥ 1", got: "\(context)") }
        if let stride, stride < 1 { throw NumberArguments.outOfRange("--stride", must: "≥ 1", got: "\(stride)") }
    }

    /// Checks the flags against `mode` (before the model is read).
    func validate(for mode: Mode) throws {
        switch mode {
        case .logits:
            if context != nil || stride != nil {
                throw ValidationError("--context and --stride are for --loss and --sample; --logits prints the logits of the whole sequence")
            }
        case .sample:
            if stride != nil { throw ValidationError("--stride is for --loss; --sample takes --context only") }
        case .loss:
            if let context, context < 2 {
                throw ValidationError("--context must be ≥ 2 for --loss (a window of C tokens scores C − 1 targets), got \(context)")
            }
            if let context, let stride, stride > context - 1 {
                throw ValidationError("--stride must be 1 … C − 1 = \(context - 1) for --context \(context), got \(stride)")
            }
        }
    }

    /// The context of a --loss run and its stride, nil for the whole
    /// sequence: --context, else `fileWindow` (the model's context length
    /// T + 1: a window of T + 1 tokens scores T targets, from positions
    /// 0 … T − 1, exactly those training used); --stride, else ⌊C/2⌋.
    /// A --stride without a context, or outside 1 … C − 1, is a usage error.
    func lossWindows(fileWindow: Int?) throws -> (context: Int, stride: Int)? {
        guard let C = context ?? fileWindow else {
            if stride != nil {
                throw ValidationError("--stride needs a context: give --context (the model file has no context length)")
            }
            return nil
        }
        guard C >= 2 else {
            throw ValidationError("the model's context length \(C) is too short for a windowed --loss (C ≥ 2); give --context")
        }
        let S = stride ?? C / 2
        guard S <= C - 1 else {
            throw ValidationError("--stride must be 1 … C − 1 = \(C - 1) for windows of \(C) tokens (the model's context length + 1), got \(S)")
        }
        return (C, S)
    }
}
