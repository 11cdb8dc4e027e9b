import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txw-run",
        abstract: "Run a .txw model: sample tokens, compute the loss, or print logits.",
        discussion: """
            Modes (exactly one; --sample when none is given):
              --sample   streams n new tokens after the prompt (text when the file has a \
            vocabulary, token ids otherwise); with no prompt it starts from token 0.
              --loss     mean next-token loss and perplexity of a text or token sequence.
              --logits   the m × V logits of a token sequence.

            Text is tokenized with the file's vocabulary by greedy longest match. \
            Sampling is the notebook's topk_sample made exact (Spec/kernels.md): the same \
            seed gives the same tokens as numpy's default_rng; -t 0 is greedy.

            Exit status: 0 on success; 1 when the file or the input is refused; 64 for \
            a usage error.
            """)

    @Argument(help: "The .txw model file.")
    var model: String

    @Flag(help: "Sample tokens (the default mode).")
    var sample = false

    @Flag(help: "Print the mean next-token loss and the perplexity.")
    var loss = false

    @Flag(help: "Print the logits of every position.")
    var logits = false

    @Option(help: "Prompt text for --sample (needs a vocabulary).")
    var prompt: String?

    @Option(help: ArgumentHelp("Token ids, e.g. \"3 1 4\" (the prompt of --sample, the input of --loss and --logits).", valueName: "ids"))
    var tokens: String?

    @Option(help: "Text for --loss or --logits (needs a vocabulary).")
    var text: String?

    @Option(help: ArgumentHelp("A UTF-8 text file for --loss (needs a vocabulary).", valueName: "path"))
    var textFile: String?

    @Option(name: .short, help: "Number of tokens to sample.")
    var n: Int = 32

    @Option(name: .short, help: "Sample among the k most likely tokens (k > V means all V).")
    var k: Int = 10

    @Option(name: .short, help: "Temperature: 0 is greedy, 1 the model's distribution.")
    var t: Double = 1.0

    @Option(help: "Seed of the sampler (numpy default_rng).")
    var seed: UInt64 = 42

    @Option(help: "Compute precision: f32 (fast) or f64 (the notebook's numbers).")
    var precision: Precision = .f32

    @Flag(help: "Print one JSON object: --sample {\"prompt_tokens\", \"tokens\", \"text\"}, --loss {\"loss\", \"perplexity\", \"tokens\"}, --logits {\"logits\"}.")
    var json = false

    enum Mode { case sample, loss, logits }

    var mode: Mode { loss ? .loss : (logits ? .logits : .sample) }

    func validate() throws {
        guard [sample, loss, logits].filter({ $0 }).count <= 1 else {
            throw ValidationError("choose one mode: --sample, --loss or --logits")
        }
        guard n >= 0 else { throw ValidationError("-n must be ≥ 0, got \(n)") }
        guard k >= 1 else { throw ValidationError("-k must be ≥ 1, got \(k)") }
        guard t.isFinite, t >= 0 else { throw ValidationError("-t must be a finite number ≥ 0, got \(t)") }
        let inputs = [("--prompt", prompt), ("--tokens", tokens), ("--text", text), ("--text-file", textFile)]
            .filter { $0.1 != nil }.map(\.0)
        guard inputs.count <= 1 else {
            throw ValidationError("give one input, not \(inputs.joined(separator: " and "))")
        }
        switch mode {
        case .sample:
            if let bad = inputs.first, bad != "--prompt" && bad != "--tokens" {
                throw ValidationError("\(bad) is for --loss or --logits; --sample takes --prompt or --tokens")
            }
        case .loss:
            guard let given = inputs.first, given != "--prompt" else {
                throw ValidationError("--loss needs --text, --tokens or --text-file")
            }
        case .logits:
            guard let given = inputs.first, given == "--tokens" || given == "--text" else {
                throw ValidationError("--logits needs --tokens (or --text)")
            }
        }
    }

    func run() throws {
        try reportingErrors(tool: "txw-run") {
            switch precision {
            case .f32: try run(ModelInput.load(model, as: Float.self))
            case .f64: try run(ModelInput.load(model, as: Double.self))
            }
        }
    }

    func run<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        switch mode {
        case .sample: try runSample(loaded)
        case .loss: try runLoss(loaded)
        case .logits: try runLogits(loaded)
        }
    }

    /// The input token ids of the chosen option, tokenized with the vocabulary where it is text.
    func inputTokens<T>(_ loaded: LoadedModel<T>) throws -> [Int]? {
        func vocabulary(_ option: String) throws -> Vocabulary {
            guard let v = loaded.vocabulary else {
                throw ToolFailure("\(model) has no vocabulary, so \(option) cannot be tokenized; give token ids with --tokens")
            }
            return v
        }
        if let tokens { return try parseTokens(tokens, option: "--tokens") }
        if let prompt { return try tokenize(prompt, with: vocabulary("--prompt"), what: "--prompt") }
        if let text { return try tokenize(text, with: vocabulary("--text"), what: "--text") }
        if let textFile {
            let v = try vocabulary("--text-file")
            guard let data = FileManager.default.contents(atPath: textFile) else {
                throw ToolFailure("\(textFile): cannot read the file")
            }
            guard let content = String(validating: data, as: UTF8.self) else {
                throw ToolFailure("\(textFile): not valid UTF-8")
            }
            return try tokenize(content, with: v, what: textFile)
        }
        return nil
    }

    func tokenize(_ text: String, with vocabulary: Vocabulary, what: String) throws -> [Int] {
        do {
            return try vocabulary.encode(text)
        } catch let ModelError.vocabulary(detail) {
            throw ToolFailure("\(what): cannot be tokenized: \(detail)")
        }
    }

    func runSample<T>(_ loaded: LoadedModel<T>) throws {
        let prompt = try inputTokens(loaded) ?? [0]
        let sampler = try TopKSampler(k: k, temperature: t, seed: seed)
        let vocabulary = loaded.vocabulary
        var first = true
        let produced = try sampler.sample(loaded.weights, prompt: prompt, count: n) { token in
            guard !json else { return }
            if let vocabulary {
                Console.out(vocabulary.tokens[token], terminator: "")
            } else {
                Console.out((first ? "" : " ") + String(token), terminator: "")
            }
            first = false
        }
        if json {
            var fields: [(String, JSON)] = [
                ("prompt_tokens", .array(prompt.map(JSON.int))), ("tokens", .array(produced.map(JSON.int))),
            ]
            if let vocabulary { fields.append(("text", .string(try vocabulary.decode(produced)))) }
            Console.out(JSON.object(fields).rendered())
        } else {
            Console.out("")
        }
    }

    func runLoss<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        let value = try loaded.weights.loss(for: tokens)
        let perplexity = exp(value)
        if json {
            Console.out(JSON.object([
                ("loss", .double(value)), ("perplexity", .double(perplexity)), ("tokens", .int(tokens.count)),
            ]).rendered())
        } else {
            Console.out("loss \(value)  perplexity \(perplexity)  tokens \(tokens.count)")
        }
    }

    func runLogits<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        let result = try loaded.weights.logits(for: tokens)
        let V = loaded.hyperparameters.vocabSize
        func number(_ v: T) -> JSON { T.self == Double.self ? .double(Double(v)) : .float(Float(v)) }
        let rows = stride(from: 0, to: result.count, by: V).map { start in
            result.scalars[start..<(start + V)].map(number)
        }
        if json {
            Console.out(JSON.object([("logits", .array(rows.map(JSON.array)))]).rendered())
        } else {
            for row in rows { Console.out(row.map { $0.rendered() }.joined(separator: " ")) }
        }
    }
}
