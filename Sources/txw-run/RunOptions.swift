import ArgumentParser
import TXWKernels
import TXWToolSupport

/// What txw-run computes: one of four flags, `--sample` when none is given
/// (`--cache OUT` and `--report OUT.html` are modes too, `Run.mode`).
enum Mode: String, EnumerableFlag {
    case sample, loss, logits, lens, cache, report

    /// The flags: every mode but `cache` and `report`, which take a file (`--cache OUT`, `--report OUT.html`).
    static var allCases: [Mode] { [.sample, .loss, .logits, .lens] }

    static func help(for value: Mode) -> ArgumentHelp? {
        switch value {
        case .sample: "Sample tokens (the default mode)."
        case .loss: "Print the mean next-token loss and the perplexity."
        case .logits: "Print the logits of every position."
        case .lens: "Print the logit lens: at each position, after the embedding and after each block, the -k top tokens of the residual stream times W_Eᵀ (default k 5)."
        case .cache: "Write the activation cache (--cache OUT)."
        case .report: "Write the report page (--report OUT.html)."
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
            throw ValidationError("choose one mode: --sample, --loss, --logits, --lens, --cache OUT or --report OUT.html")
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
        case .lens, .cache, .report:
            let name = mode == .lens ? "--lens" : mode == .cache ? "--cache" : "--report"
            guard let input = given.first, input != "--prompt" else {
                throw ValidationError("\(name) needs --tokens, --text, --text-file or --prompt-file")
            }
        }
    }
}

/// How --sample draws tokens.
struct SamplingOptions: ParsableArguments {
    @Option(name: .short, parsing: .unconditional, help: "Number of tokens to sample.")
    var n: Int = 32

    @Option(name: .short, parsing: .unconditional, help: ArgumentHelp(
        "Sample among the k most likely tokens (default 10; k > V means all V); --lens: the k top tokens shown at each point (default 5).",
        valueName: "k"))
    var kGiven: Int?

    /// -k, or the mode's default: 5 for --lens and --report's lens, 10 for sampling.
    func k(for mode: Mode) -> Int { kGiven ?? (mode == .lens || mode == .report ? 5 : 10) }

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
        if let k = kGiven, k < 1 { throw NumberArguments.outOfRange("-k", "top k", must: "≥ 1", got: "\(k)") }
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
        case .logits, .lens, .cache, .report:
            if context != nil || stride != nil {
                throw ValidationError("--context and --stride are for --loss and --sample; --\(mode.rawValue) runs over the whole sequence")
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

/// Looking inside a run: the activation cache and ablations (Spec/cli.md, "Look inside a run").
struct InsideOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Write every activation of one forward pass (TransformerLens names, in the --precision) to OUT: a .txw container, or an .npz archive when OUT ends in .npz ('-': the .txw container to standard output).",
        valueName: "OUT"))
    var cache: String?

    @Option(help: ArgumentHelp(
        "With --cache, store only the activations whose names match GLOB ('*' any run of characters, dots included; '?' one character); repeatable; default: all.",
        valueName: "GLOB"))
    var hooks: [String] = []

    @Option(help: ArgumentHelp(
        "Write one self-contained HTML page (no network, no external scripts or fonts) to OUT.html: every head's attention pattern as a heatmap labelled with the tokens (hover: query, key, weight), the logit lens (-k tokens) and the loss change when each head in turn is ablated (--ablate-mode); with --ablate, all of it with those targets ablated too ('-': standard output).",
        valueName: "OUT.html"))
    var report: String?

    @Flag(help: "Replace the --cache OUT or --report OUT.html if it exists.")
    var force = false

    @Option(help: ArgumentHelp(
        "Ablate a head (blocks.I.attn.head.H: its z set before W_O) or an MLP neuron (blocks.I.mlp.neuron.N: its GELU output set before W_2); repeatable; for --loss, --logits, --sample, --lens, --cache and --report.",
        valueName: "SPEC"))
    var ablate: [String] = []

    @Option(help: ArgumentHelp("What replaces an ablated value: zero (default) or mean (its mean over the input's positions); with --report also how the grid ablates each head in turn.", valueName: "zero|mean"))
    var ablateMode: AblateMode?

    /// The parsed targets, in the order given.
    var targets: [Ablation.Target] { ablate.compactMap { Ablation.Target($0) } }

    func validate() throws {
        var seen: Set<Ablation.Target> = []
        for spec in ablate {
            guard let target = Ablation.Target(spec) else {
                throw ValidationError("--ablate '\(Formatting.name(spec))': expected blocks.I.attn.head.H or blocks.I.mlp.neuron.N (decimal I, H, N)")
            }
            guard seen.insert(target).inserted else {
                throw ValidationError("--ablate \(spec) is given twice")
            }
        }
        if ablateMode != nil && ablate.isEmpty && report == nil {
            throw ValidationError("--ablate-mode needs --ablate (or --report, whose grid ablates each head in turn)")
        }
        if cache != nil && report != nil {
            throw ValidationError("give --cache OUT or --report OUT.html, not both")
        }
        if let report, report != "-" {
            let lower = report.lowercased()
            guard lower.hasSuffix(".html") || lower.hasSuffix(".htm") else {
                throw ValidationError("--report writes an HTML page: its name must end in .html or .htm (or be '-'), got '\(Formatting.name(report))'")
            }
        }
        if cache == nil {
            if !hooks.isEmpty { throw ValidationError("--hooks is for --cache") }
            if force && report == nil { throw ValidationError("--force is for --cache and --report") }
        }
    }

    /// The ablation, nil without --ablate.
    var ablation: Ablation? {
        ablate.isEmpty ? nil : Ablation(targets, mode: ablateMode?.mode ?? .zero)
    }

    /// Refuses (usage error) a target outside the model, naming the spec.
    func check(against h: Hyperparameters) throws {
        for (spec, target) in zip(ablate, targets) {
            switch target {
            case let .head(b, head):
                if b >= h.nBlock { throw ValidationError("--ablate \(spec): block \(b) does not exist (the model has \(h.nBlock) blocks, 0 … \(h.nBlock - 1))") }
                if head >= h.nHead { throw ValidationError("--ablate \(spec): head \(head) does not exist (the model has \(h.nHead) heads per block, 0 … \(h.nHead - 1))") }
            case let .neuron(b, n):
                if b >= h.nBlock { throw ValidationError("--ablate \(spec): block \(b) does not exist (the model has \(h.nBlock) blocks, 0 … \(h.nBlock - 1))") }
                if n >= h.dMLP { throw ValidationError("--ablate \(spec): neuron \(n) does not exist (the model's MLP has \(h.dMLP) neurons, 0 … \(h.dMLP - 1))") }
            }
        }
    }

    /// The names `--hooks` selects among `names`; a glob that matches none is a usage error naming it.
    func selected(from names: [String]) throws -> Set<String> {
        guard !hooks.isEmpty else { return Set(names) }
        var out: Set<String> = []
        for glob in hooks {
            let matched = names.filter { Glob.matches(glob, $0) }
            guard !matched.isEmpty else {
                throw ValidationError("--hooks '\(Formatting.name(glob))' matches no activation name (they are hook_embed, hook_pos_embed, blocks.I.…, logits; see Spec/kernels.md)")
            }
            out.formUnion(matched)
        }
        return out
    }
}

/// `--ablate-mode`.
enum AblateMode: String, ExpressibleByArgument, CaseIterable {
    case zero, mean

    var mode: Ablation.Mode { self == .zero ? .zero : .mean }
}

/// Shell-style globs over activation names: `*` any run of characters (dots included), `?` one character.
enum Glob {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars), s = Array(name.unicodeScalars)
        var (i, j) = (0, 0)
        var star: Int?, resume = 0
        while j < s.count {
            if i < p.count && (p[i] == "?" || p[i] == s[j]) {
                i += 1; j += 1
            } else if i < p.count && p[i] == "*" {
                star = i; resume = j; i += 1
            } else if let st = star {
                i = st + 1; resume += 1; j = resume
            } else {
                return false
            }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}
