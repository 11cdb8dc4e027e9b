import ArgumentParser

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

/// The input: at most one of a prompt, token ids, a text, a text file.
struct InputOptions: ParsableArguments {
    @Option(help: "Prompt text for --sample (needs a vocabulary).")
    var prompt: String?

    @Option(help: ArgumentHelp("Token ids, e.g. \"3 1 4\" (the prompt of --sample, the input of --loss and --logits).", valueName: "ids"))
    var tokens: String?

    @Option(help: "Text for --loss or --logits (needs a vocabulary).")
    var text: String?

    @Option(help: ArgumentHelp("A UTF-8 text file for --loss (needs a vocabulary).", valueName: "path"))
    var textFile: String?

    /// The flags given, in the order above.
    var given: [String] {
        [("--prompt", prompt), ("--tokens", tokens), ("--text", text), ("--text-file", textFile)]
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
            if let bad = given.first, bad != "--prompt" && bad != "--tokens" {
                throw ValidationError("\(bad) is for --loss or --logits; --sample takes --prompt or --tokens")
            }
        case .loss:
            guard let input = given.first, input != "--prompt" else {
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
    @Option(name: .short, help: "Number of tokens to sample.")
    var n: Int = 32

    @Option(name: .short, help: "Sample among the k most likely tokens (k > V means all V).")
    var k: Int = 10

    @Option(name: .short, help: "Temperature: 0 is greedy, 1 the model's distribution.")
    var t: Double = 1.0

    @Option(help: "Seed of the sampler (numpy default_rng).")
    var seed: UInt64 = 42

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be ≥ 0, got \(n)") }
        guard k >= 1 else { throw ValidationError("-k must be ≥ 1, got \(k)") }
        guard t.isFinite, t >= 0 else { throw ValidationError("-t must be a finite number ≥ 0, got \(t)") }
    }
}
