import Foundation
import Testing
import TXWTestSupport

/// txw-run --loss --context C --stride S and --sample --context C: the
/// numpy reference's `windowed_loss` and `cropped_sample` on a packed
/// notebook model, the usage errors, and memory bounded by the context.
struct ContextWindowToolTests {
    struct Expected: Decodable {
        struct Windowed: Decodable {
            struct Case: Decodable { let context, stride: Int; let loss: Double; let windows: Int }
            let tokens: [Int]
            let cases: [Case]
        }
        struct Cropped: Decodable {
            let prompt: [Int]
            let n, context, k: Int
            let t: Double
            let seed: String
            let tokens: [Int]
        }
        let windowed_loss: Windowed
        let cropped_samples: [Cropped]
    }

    static func ids(_ tokens: [Int]) -> String { tokens.map(String.init).joined(separator: " ") }

    /// The notebook model of the tools' fixtures, packed into `dir`.
    static func packedModel(in dir: TemporaryDirectory) throws -> String {
        let model = dir.file("m.txw")
        let pack = try tool("txw-pack", ["--from", fixtures.appendingPathComponent("notebook.npz").path, "-o", model])
        try #require(pack.status == 0, "\(pack.stderr)")
        return model
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
    }

    @Test func windowedLossMatchesTheReference() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.packedModel(in: dir)
        let e = try Self.expected().windowed_loss
        #expect(e.cases.contains { e.tokens.count % $0.context != 0 && $0.context < e.tokens.count })
        for c in e.cases {
            let r = try tool("txw-run", [model, "--loss", "--tokens", Self.ids(e.tokens), "--context", "\(c.context)",
                                         "--stride", "\(c.stride)", "--precision", "f64", "--json"])
            try #require(r.status == 0, "\(r.stderr)")
            let json = try jsonObject(r.stdout)
            let loss = try #require(json["loss"] as? Double)
            #expect(closeF64(loss, c.loss), "C \(c.context) S \(c.stride): \(loss) vs \(c.loss)")
            #expect(json["context"] as? Int == c.context && json["stride"] as? Int == c.stride, "\(r.stdout)")
            #expect(json["windows"] as? Int == c.windows && json["tokens"] as? Int == e.tokens.count, "\(r.stdout)")
            #expect(closeF64(try #require(json["perplexity"] as? Double), Foundation.exp(c.loss)))
            // The text line says the same.
            let text = try tool("txw-run", [model, "--loss", "--tokens", Self.ids(e.tokens), "--context", "\(c.context)",
                                            "--stride", "\(c.stride)", "--precision", "f64"])
            #expect(text.stdout.hasSuffix("tokens \(e.tokens.count)  context \(c.context)  stride \(c.stride)  windows \(c.windows)\n"),
                    "\(text.stdout)")
        }
    }

    /// The stride defaults to ⌊C/2⌋; a context of at least n tokens is one
    /// window, the whole-sequence loss to the last digit; without a context
    /// the JSON says null.
    @Test func windowDefaultsAndTheWholeSequence() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.packedModel(in: dir)
        let tokens = Self.ids(try Self.expected().windowed_loss.tokens)
        func run(_ extra: [String]) throws -> [String: Any] {
            let r = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--precision", "f64", "--json"] + extra)
            try #require(r.status == 0, "\(r.stderr)")
            return try jsonObject(r.stdout)
        }
        let defaulted = try run(["--context", "9"]), explicit = try run(["--context", "9", "--stride", "4"])
        #expect(defaulted["stride"] as? Int == 4 && defaulted["loss"] as? Double == explicit["loss"] as? Double)
        #expect(defaulted["windows"] as? Int == explicit["windows"] as? Int)
        let whole = try run([]), wide = try run(["--context", "40", "--stride", "39"])
        #expect(whole["context"] is NSNull && whole["stride"] is NSNull && whole["windows"] as? Int == 1, "\(whole)")
        #expect(wide["windows"] as? Int == 1 && wide["loss"] as? Double == whole["loss"] as? Double, "\(wide) vs \(whole)")
        let plain = try tool("txw-run", [model, "--loss", "--tokens", tokens])
        #expect(!plain.stdout.contains("context") && plain.stdout.hasSuffix("tokens 40\n"), "\(plain.stdout)")
    }

    /// The file's `model.context_length` is the default context: a model
    /// packed with one gives the reference's windowed loss and cropped tokens
    /// without --context, --context overrides it, and --stride is checked
    /// against it.
    @Test func theFileContextLengthIsTheDefault() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let e = try Self.expected()
        let windowed = try #require(e.windowed_loss.cases.first { $0.context < e.windowed_loss.tokens.count && $0.stride > 1 })
        let model = dir.file("c.txw")
        // Context length T = C − 1: a --loss window of T + 1 = C tokens scores
        // T targets from the positions training used.
        let pack = try tool("txw-pack", ["--from", fixtures.appendingPathComponent("notebook.npz").path, "-o", model,
                                         "--context-length", "\(windowed.context - 1)"])
        try #require(pack.status == 0, "\(pack.stderr)")
        let tokens = Self.ids(e.windowed_loss.tokens)
        func loss(_ extra: [String]) throws -> [String: Any] {
            let r = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--precision", "f64", "--json"] + extra)
            try #require(r.status == 0, "\(r.stderr)")
            return try jsonObject(r.stdout)
        }
        // The file's C with the reference's stride: the reference's loss.
        let json = try loss(["--stride", "\(windowed.stride)"])
        #expect(json["context"] as? Int == windowed.context && json["windows"] as? Int == windowed.windows, "\(json)")
        #expect(closeF64(try #require(json["loss"] as? Double), windowed.loss), "\(json) vs \(windowed.loss)")
        // No flag at all: the file's C and ⌊C/2⌋, as if both were given.
        let defaulted = try loss([]), given = try loss(["--context", "\(windowed.context)", "--stride", "\(windowed.context / 2)"])
        #expect(defaulted["context"] as? Int == windowed.context && defaulted["stride"] as? Int == windowed.context / 2, "\(defaulted)")
        #expect(defaulted["loss"] as? Double == given["loss"] as? Double, "\(defaulted) vs \(given)")
        // --context overrides the file's; a stride past the file's C − 1 is a usage error.
        let whole = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--precision", "f64", "--json",
                                         "--context", "\(e.windowed_loss.tokens.count)", "--past-context"])
        #expect(try jsonObject(whole.stdout)["windows"] as? Int == 1, "\(whole.stdout)")
        let badStride = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--stride", "\(windowed.context)"])
        #expect(badStride.status == 64 && badStride.stderr.contains("--stride"), "\(badStride.stderr)")
        // Past the file's context: refused unless --past-context.
        let longer = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--context", "\(windowed.context + 1)"])
        #expect(longer.status == 64 && longer.stderr.contains("--past-context")
                && longer.stderr.contains("context length \(windowed.context - 1)"), "\(longer.stderr)")
        let allowed = try tool("txw-run", [model, "--loss", "--tokens", tokens, "--context", "\(windowed.context + 1)", "--past-context"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let logits = try tool("txw-run", [model, "--logits", "--tokens", tokens])
        #expect(logits.status == 1 && logits.stderr.contains("--past-context") && logits.stdout.isEmpty, "\(logits.stderr)")
        let shortLogits = try tool("txw-run", [model, "--logits", "--tokens", Self.ids(Array(e.windowed_loss.tokens.prefix(windowed.context - 1)))])
        #expect(shortLogits.status == 0, "\(shortLogits.stderr)")
        #expect(try tool("txw-run", [model, "--logits", "--tokens", tokens, "--past-context"]).status == 0)
        let longSample = try tool("txw-run", [model, "--tokens", "1 2", "-n", "2", "--context", "\(windowed.context + 1)"])
        #expect(longSample.status == 64, "\(longSample.stderr)")
        // Sampling crops to the file's context by default.
        let cropped = try #require(e.cropped_samples.first { $0.prompt.count > $0.context })
        let withLength = dir.file("s.txw")
        let pack2 = try tool("txw-pack", ["--from", fixtures.appendingPathComponent("notebook.npz").path, "-o", withLength,
                                          "--context-length", "\(cropped.context)"])
        try #require(pack2.status == 0, "\(pack2.stderr)")
        let seed = try #require(UInt64(cropped.seed.dropFirst(2), radix: 16))
        let sample = try tool("txw-run", [withLength, "--tokens", Self.ids(cropped.prompt), "-n", "\(cropped.n)", "-k", "\(cropped.k)",
                                          "-t", "\(cropped.t)", "--seed", "\(seed)", "--precision", "f64", "--json"])
        try #require(sample.status == 0, "\(sample.stderr)")
        #expect(try jsonObject(sample.stdout)["tokens"] as? [Int] == cropped.tokens, "\(sample.stdout)")
    }

    @Test func croppedSamplingMatchesTheReference() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.packedModel(in: dir)
        let cases = try Self.expected().cropped_samples
        #expect(cases.contains { $0.prompt.count > $0.context } && cases.contains { $0.prompt.count < $0.context })
        for c in cases {
            let seed = try #require(UInt64(c.seed.dropFirst(2), radix: 16))
            let r = try tool("txw-run", [model, "--tokens", Self.ids(c.prompt), "-n", "\(c.n)", "-k", "\(c.k)", "-t", "\(c.t)",
                                         "--seed", "\(seed)", "--context", "\(c.context)", "--precision", "f64", "--json"])
            try #require(r.status == 0, "\(r.stderr)")
            #expect(try jsonObject(r.stdout)["tokens"] as? [Int] == c.tokens, "prompt \(c.prompt), C \(c.context): \(r.stdout)")
            #expect(r.stderr.isEmpty, "\(r.stderr)")
        }
    }

    @Test func usageErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = try Self.packedModel(in: dir)
        let loss = [model, "--loss", "--tokens", "1 2 3 4 5 6"]
        let cases: [([String], String)] = [
            (loss + ["--context", "6", "--stride", "0"], "--stride must be ≥ 1"),
            (loss + ["--context", "6", "--stride", "6"], "--stride must be 1 … C − 1 = 5"),
            (loss + ["--context", "6", "--stride", "-2"], "--stride"),
            (loss + ["--context", "1"], "--context must be ≥ 2 for --loss"),
            (loss + ["--context", "0"], "--context must be ≥ 1"),
            (loss + ["--stride", "2"], "--stride needs a context"),
            ([model, "--tokens", "1", "--context", "0"], "--context must be ≥ 1"),
            ([model, "--tokens", "1", "--context", "4", "--stride", "2"], "--stride is for --loss"),
            ([model, "--logits", "--tokens", "1 2", "--context", "4"], "--logits"),
            ([model, "--logits", "--tokens", "1 2", "--stride", "1"], "--logits"),
            (loss + ["--context", "x"], "--context"),
        ]
        for (arguments, message) in cases {
            let r = try tool("txw-run", arguments)
            #expect(r.status == 64, "\(arguments): status \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        // C = 1 samples (the model sees the last token only).
        let one = try tool("txw-run", [model, "--tokens", "1 2 3", "--context", "1", "-n", "4"])
        #expect(one.status == 0, "\(one.stderr)")
    }

    /// With a context the loss needs one window's memory: a budget that
    /// refuses the whole-sequence pass over 4,000 tokens lets the windowed one
    /// through (all-zero weights: every target's loss is ln V).
    @Test func windowedLossFitsWhereTheWholeSequenceDoesNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(MemoryBudgetTests.model(V: 64, d: 256)).write(to: URL(fileURLWithPath: dir.file("z.txw")))
        let tokens = (0..<4000).map { String($0 * 37 % 64) }.joined(separator: " ")
        let whole = try tool("txw-run", [dir.file("z.txw"), "--loss", "--tokens", tokens, "--max-memory", "8M"])
        #expect(whole.status == 1 && whole.stderr.contains("the loss of 4000 tokens") && whole.stderr.contains("over the memory budget"),
                "\(whole.stderr)")
        let windowed = try tool("txw-run", [dir.file("z.txw"), "--loss", "--tokens", tokens, "--context", "64", "--max-memory", "8M", "--json"])
        #expect(windowed.status == 0, "\(windowed.stderr)")
        let json = try jsonObject(windowed.stdout)
        #expect(abs(try #require(json["loss"] as? Double) - log(64.0)) < 1e-5, "\(windowed.stdout)")
        #expect(json["windows"] as? Int == 1 + (4000 - 64 + 31) / 32)
    }

    /// Sampling with a context holds a cache of C positions, not prompt + n.
    @Test func croppedSamplingFitsWhereTheWholeSequenceDoesNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(MemoryBudgetTests.model(V: 64, d: 256)).write(to: URL(fileURLWithPath: dir.file("z.txw")))
        let prompt = (0..<3000).map { String($0 * 37 % 64) }.joined(separator: " ")
        let whole = try tool("txw-run", [dir.file("z.txw"), "--tokens", prompt, "-n", "3", "--max-memory", "8M"])
        #expect(whole.status == 1 && whole.stderr.contains("over the memory budget"), "\(whole.stderr)")
        let cropped = try tool("txw-run", [dir.file("z.txw"), "--tokens", prompt, "-n", "3", "--context", "32", "--max-memory", "8M", "--json"])
        #expect(cropped.status == 0, "\(cropped.stderr)")
        #expect((try jsonObject(cropped.stdout)["tokens"] as? [Int])?.count == 3)
    }
}
