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
            """,
        version: ToolMain.version("txw-run"))

    @Argument(help: "The .txw model file.")
    var model: String

    @OptionGroup(title: "Mode")
    var modeFlags: ModeFlags

    @OptionGroup(title: "Input")
    var input: InputOptions

    @OptionGroup(title: "Sampling")
    var sampling: SamplingOptions

    @Option(help: "Compute precision: f32 (fast) or f64 (the notebook's numbers).")
    var precision: Precision = .f32

    @Flag(help: "Print one JSON object: --sample {\"prompt_tokens\", \"tokens\", \"text\"}, --loss {\"loss\", \"perplexity\", \"tokens\"}, --logits {\"logits\"}.")
    var json = false

    var mode: Mode { modeFlags.mode }

    func validate() throws {
        try input.validate(for: mode)
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
                throw ToolFailure("\(Formatting.name(model)) has no vocabulary, so \(option) cannot be tokenized; give token ids with --tokens")
            }
            return v
        }
        if let tokens = input.tokens { return try parseTokens(tokens, option: "--tokens") }
        if let prompt = input.prompt { return try tokenize(prompt, with: vocabulary("--prompt"), what: "--prompt") }
        if let text = input.text { return try tokenize(text, with: vocabulary("--text"), what: "--text") }
        if let textFile = input.textFile {
            let v = try vocabulary("--text-file")
            let data = try InputFile.read(textFile)
            guard let content = String(validating: data, as: UTF8.self) else {
                throw ToolFailure("\(Formatting.name(textFile)): not valid UTF-8")
            }
            return try tokenize(content, with: v, what: Formatting.name(textFile))
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
        let sampler = try TopKSampler(k: sampling.k, temperature: sampling.t, seed: sampling.seed)
        let vocabulary = loaded.vocabulary
        var first = true
        let isTerminal = Console.stdoutIsTerminal
        let produced = try sampler.sample(loaded.weights, prompt: prompt, count: sampling.n) { token in
            guard !json else { return }
            if let vocabulary {
                try Console.out(Formatting.generatedText(vocabulary.tokens[token], isTerminal: isTerminal), terminator: "")
            } else {
                try Console.out((first ? "" : " ") + String(token), terminator: "")
            }
            first = false
        }
        if json {
            try Console.out(try JSONOutput.text(SampleJSON(
                promptTokens: prompt, tokens: produced, text: try vocabulary.map { try $0.decode(produced) })))
        } else {
            try Console.out("")
        }
    }

    func runLoss<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        let value = try loaded.weights.loss(for: tokens)
        let perplexity = exp(value)
        if json {
            try Console.out(try JSONOutput.text(LossJSON(loss: value, perplexity: perplexity, tokens: tokens.count)))
        } else {
            try Console.out("loss \(value)  perplexity \(perplexity)  tokens \(tokens.count)")
        }
    }

    func runLogits<T>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        let result = try loaded.weights.logits(for: tokens)
        let V = loaded.hyperparameters.vocabSize
        let rows = stride(from: 0, to: result.count, by: V).map { start in Array(result.scalars[start..<(start + V)]) }
        // Values print in the compute precision: shortest round-trip text.
        if T.self == Double.self {
            try printLogits(rows.map { $0.map(Double.init) })
        } else {
            try printLogits(rows.map { $0.map(Float.init) })
        }
    }

    func printLogits<F: BinaryFloatingPoint & CustomStringConvertible & Sendable>(_ rows: [[F]]) throws {
        if json {
            let logits = "[" + rows.map { JSONOutput.numbers($0) }.joined(separator: ",") + "]"
            try Console.out(try JSONOutput.text([String: Int](), appending: "logits", rawValue: logits))
        } else {
            for row in rows { try Console.out(row.map(Formatting.number).joined(separator: " ")) }
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

/// The `--json` result of --loss.
struct LossJSON: Encodable {
    let loss, perplexity: Double
    let tokens: Int
}
