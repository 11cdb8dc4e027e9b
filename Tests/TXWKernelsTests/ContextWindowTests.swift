import RealModule
import Testing
@testable import TXWKernels

/// The windowed loss and cropped sampling (Spec/kernels.md, "Windowed loss",
/// "Cropped sampling") against the numpy reference's `windowed_loss` and
/// `cropped_sample`, and against loops written here from the definitions.
struct ContextWindowTests {
    struct LossCase: Decodable {
        let name, model: String
        let tokens: [Int]
        let context, stride: Int
        let loss: Double
        let windows: Int
        let equals_whole_sequence_loss: Bool
    }

    struct SampleCase: Decodable {
        let name, model: String
        let prompt: [Int]
        let n, context, k: Int
        let t: Double
        let seed: String
        let tokens: [Int]
    }

    func models<T: KernelScalar>(_ names: [String], as: T.Type) throws -> [String: TransformerWeights<T>] {
        var out: [String: TransformerWeights<T>] = [:]
        for name in Set(names) { out[name] = try ModelFixture.named(name).weights(T.self) }
        return out
    }

    // MARK: Windowed loss

    @Test func windowedLossMatchesReferenceF64() throws {
        let cases = try Fixtures.cases("windowed_loss", as: LossCase.self)
        // The configurations the definition needs covered.
        #expect(cases.contains { $0.tokens.count > $0.context && $0.tokens.count % $0.context != 0 })
        #expect(cases.contains { $0.stride == 1 && $0.tokens.count > $0.context })
        #expect(cases.contains { $0.stride == $0.context - 1 && $0.tokens.count > $0.context })
        #expect(cases.contains { $0.equals_whole_sequence_loss })
        let weights = try models(cases.map(\.model), as: Double.self)
        for c in cases {
            let w = try #require(weights[c.model])
            let result = try w.loss(for: c.tokens, context: c.context, stride: c.stride)
            #expect(Tolerance.allows(result.loss, c.loss), "\(c.name): \(result.loss) vs \(c.loss)")
            #expect(result.windows == c.windows, "\(c.name): windows")
            if c.equals_whole_sequence_loss {
                // One window over the whole sequence: the whole-sequence loss, bit for bit.
                #expect(result.loss.bitPattern == (try w.loss(for: c.tokens)).bitPattern, "\(c.name)")
            }
        }
    }

    @Test func windowedLossMatchesReferenceF32() throws {
        let cases = try Fixtures.cases("windowed_loss", as: LossCase.self)
        let weights = try models(cases.map(\.model), as: Float.self)
        for c in cases {
            let result = try #require(weights[c.model]).loss(for: c.tokens, context: c.context, stride: c.stride)
            #expect(abs(result.loss - c.loss) <= 1e-4 * max(abs(c.loss), 1), "\(c.name): \(result.loss) vs \(c.loss)")
            #expect(result.windows == c.windows, "\(c.name): windows")
        }
    }

    /// The definition, written out over `logits(for:)` of each window (a
    /// different code path from the loss's chunked unembedding): windows,
    /// targets, logsumexp in float64, the mean over all n − 1 targets.
    func definitionLoss(_ w: TransformerWeights<Double>, _ tokens: [Int], context C: Int, stride S: Int) throws -> (Double, Int) {
        let n = tokens.count, V = w.hyperparameters.vocabSize
        var terms = [Double?](repeating: nil, count: n)
        var (b, previousEnd, windows) = (0, 0, 0)
        while true {
            let e = min(b + C, n)
            let logits = try w.logits(for: Array(tokens[b..<e]))
            windows += 1
            for j in max(previousEnd, b + 1)..<e {
                let row = Array(logits.scalars[((j - 1 - b) * V)..<((j - b) * V)])
                let top = row.max()!
                let lse = top + Double.log(row.reduce(0) { $0 + Double.exp($1 - top) })
                #expect(terms[j] == nil, "target \(j) scored twice")
                terms[j] = lse - row[tokens[j]]
            }
            if e == n { break }
            previousEnd = e
            b += S
        }
        let scored = terms[1...].compactMap { $0 }
        #expect(scored.count == n - 1, "every target scored once")
        return (scored.reduce(0, +) / Double(n - 1), windows)
    }

    @Test func windowedLossFollowsTheDefinition() throws {
        let h = Hyperparameters(vocabSize: 23, dModel: 16, nHead: 2, dHead: 8, dMLP: 32, nBlock: 2)
        let w = try PerformancePathTests().randomModel(h, seed: 31, as: Double.self)
        let tokens = (0..<61).map { ($0 * 17 + 4) % 23 }
        for (C, S) in [(2, 1), (5, 2), (16, 15), (20, 7), (30, 30 - 1), (60, 1), (61, 60), (200, 100)] {
            let found = try w.loss(for: tokens, context: C, stride: S)
            let (expected, windows) = try definitionLoss(w, tokens, context: C, stride: S)
            #expect(abs(found.loss - expected) <= 1e-12 * abs(expected), "C \(C) S \(S): \(found.loss) vs \(expected)")
            #expect(found.windows == windows, "C \(C) S \(S)")
            // The first window starts at 0; one more per stride until one reaches n.
            #expect(found.windows == (tokens.count <= C ? 1 : 1 + (tokens.count - C + S - 1) / S), "C \(C) S \(S)")
        }
    }

    /// Neither the thread count nor the chunk of logits rows changes a bit.
    @Test func windowedLossIndependentOfThreadsAndChunks() throws {
        let h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
        let w = try PerformancePathTests().randomModel(h, seed: 5, as: Double.self)
        let tokens = (0..<150).map { ($0 * 11 + 2) % 37 }
        let reference = KernelConfiguration(threads: 1).applied { w.windowedLoss(tokens, context: 40, stride: 13, chunkRows: 1) }
        for (threads, chunk) in [(1, 1000), (2, 3), (3, 16)] {
            let found = KernelConfiguration(threads: threads).applied { w.windowedLoss(tokens, context: 40, stride: 13, chunkRows: chunk) }
            #expect(found.loss.bitPattern == reference.loss.bitPattern, "threads \(threads), chunk \(chunk)")
            #expect(found.windows == reference.windows)
        }
    }

    @Test func windowedLossRefusesBadArguments() throws {
        let w = try ModelFixture.named("basic").weights(Double.self)
        let tokens = [1, 4, 1, 5, 9, 2, 6]
        #expect(throws: KernelError.invalidArgument(name: "context", value: "1", requirement: "must be ≥ 2 for the loss (a window of C tokens scores C − 1 targets)")) {
            try w.loss(for: tokens, context: 1, stride: 1)
        }
        for (C, S) in [(4, 0), (4, 4), (4, -1), (2, 2)] {
            #expect(throws: KernelError.invalidArgument(name: "stride", value: "\(S)", requirement: "must be 1 … context − 1 = \(C - 1)")) {
                try w.loss(for: tokens, context: C, stride: S)
            }
        }
        #expect(throws: KernelError.sequenceTooShort(what: "loss", minimum: 2, found: 1)) {
            try w.loss(for: [3], context: 4, stride: 2)
        }
        #expect(throws: KernelError.tokenOutOfRange(position: 6, token: 11, vocabSize: 11)) {
            try w.loss(for: [1, 2, 3, 4, 5, 6, 11], context: 4, stride: 2)
        }
    }

    /// With a context the loss's memory is that of one window: the same for
    /// 20,000 tokens as for C of them, and far below the whole sequence's.
    @Test func windowedLossMemoryDependsOnTheContextNotTheLength() throws {
        let w = try ModelFixture.named("basic").weights(Double.self)
        let windowed = try #require(w.lossMemoryNeed(tokens: 20_000, context: 64, threads: 2))
        #expect(windowed == w.lossMemoryNeed(tokens: 64, context: 64, threads: 2))
        #expect(windowed == w.lossMemoryNeed(tokens: 64, threads: 2))
        #expect(windowed == w.lossMemoryNeed(tokens: 1 << 40, context: 64, threads: 2))
        let whole = try #require(w.lossMemoryNeed(tokens: 20_000, threads: 2))
        #expect(whole > 100 * windowed, "whole \(whole), windowed \(windowed)")
        // Fewer tokens than the context: the tokens decide.
        #expect(w.lossMemoryNeed(tokens: 10, context: 64, threads: 2) == w.lossMemoryNeed(tokens: 10, threads: 2))
        // 20,000 tokens on a V = 65,536 model in f64 (their logits: 10 GB): tens of MB.
        let h = Hyperparameters(vocabSize: 65_536, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let wide = try TransformerWeights<Double>(
            hyperparameters: h, W_E: Tensor(shape: [65_536, 2], scalars: [Double](repeating: 0, count: 131_072)), blocks: [])
        let need = try #require(wide.lossMemoryNeed(tokens: 20_000, context: 512, threads: 2))
        #expect(need < 32 << 20, "\(need) bytes")
    }

    // MARK: Cropped sampling

    @Test func croppedSamplingMatchesReference() throws {
        let cases = try Fixtures.cases("cropped_sample", as: SampleCase.self)
        #expect(cases.contains { $0.prompt.count < $0.context && $0.prompt.count + $0.n - 1 > $0.context })
        #expect(cases.contains { $0.prompt.count > $0.context })
        #expect(cases.contains { $0.k > 11 })
        #expect(cases.contains { $0.t == 0 } && cases.contains { $0.t > 0 })
        let weights = try models(cases.map(\.model), as: Double.self)
        for c in cases {
            let w = try #require(weights[c.model])
            let sampler = try TopKSampler(k: c.k, temperature: c.t, seed: try #require(hex(c.seed)))
            var streamed: [Int] = []
            var reports: [TopKSampler.Recomputation] = []
            let tokens = try sampler.sample(w, prompt: c.prompt, count: c.n, context: c.context) {
                streamed.append($0)
            } onRecompute: { reports.append($0) }
            #expect(tokens == c.tokens, "\(c.name)")
            #expect(streamed == tokens, "streamed \(c.name)")
            // The near mask switches the cache off while the sequence fits (reported
            // once); a prompt longer than the context never uses the cache.
            let usesCache = c.prompt.count <= c.context
            #expect(reports.count == (w.hyperparameters.constants.maskValue == -2 && usesCache ? 1 : 0), "\(c.name): reports")
        }
    }

    /// Cropped sampling is the loop of its definition over `logits(for:)` of
    /// the last C tokens, for a plain mask (cache, then windows) and a zero
    /// mask (recomputation from the first token), prompts around C.
    @Test(arguments: [-1e9, 0.0])
    func croppedSamplingIsTheWindowLoop(mask: Double) throws {
        var h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
        h.constants.maskValue = mask
        let w = try PerformancePathTests().randomModel(h, seed: 9, as: Double.self)
        for C in [1, 2, 7, 16] {
            for prompt in [[4], (0..<C).map { ($0 * 5 + 1) % 37 }, (0..<(C + 3)).map { ($0 * 7 + 3) % 37 }] {
                for (temperature, seed) in [(0.0, 1), (1.0, 2), (2.5, 3)] {
                    let sampler = try TopKSampler(k: 6, temperature: temperature, seed: UInt64(seed))
                    var rng = NumpyRandom(seed: UInt64(seed))
                    var sequence = prompt, expected: [Int] = []
                    for _ in 0..<20 {
                        let window = Array(sequence.suffix(C))
                        let logits = try w.logits(for: window)
                        let last = (0..<37).map { logits.scalars[(window.count - 1) * 37 + $0] }
                        let token = try sampler.choose(from: last, rng: &rng, position: sequence.count - 1)
                        sequence.append(token)
                        expected.append(token)
                    }
                    var reports = 0
                    let found = try sampler.sample(w, prompt: prompt, count: 20, context: C) { _ in } onRecompute: { _ in reports += 1 }
                    #expect(found == expected, "mask \(mask), C \(C), prompt \(prompt.count), t \(temperature)")
                    // The plain mask never reports; the zero mask is reported once,
                    // when a prompt that fits the context is fed to the cache.
                    let cached = prompt.count <= C
                    #expect(reports <= 1)
                    if mask != 0 || !cached { #expect(reports == 0, "mask \(mask), C \(C), prompt \(prompt.count)") }
                    if mask == 0 && cached && C >= 7 { #expect(reports == 1, "mask \(mask), C \(C), prompt \(prompt.count)") }
                }
            }
        }
    }

    /// Without a context, and with one the run never reaches, the tokens are the uncropped sampler's.
    @Test func contextBeyondTheRunChangesNothing() throws {
        let w = try ModelFixture.named("flat").weights(Double.self)
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 42)
        let plain = try sampler.sample(w, prompt: [1, 2, 3], count: 20)
        #expect(try sampler.sample(w, prompt: [1, 2, 3], count: 20, context: 22) == plain)
        #expect(try sampler.sample(w, prompt: [1, 2, 3], count: 20, context: nil) == plain)
        #expect(throws: KernelError.invalidArgument(name: "context", value: "0", requirement: "must be ≥ 1")) {
            try sampler.sample(w, prompt: [1], count: 2, context: 0)
        }
    }

    /// The float32 cropped sampler is deterministic and independent of the thread count.
    @Test func croppedSamplingIndependentOfThreads() throws {
        let h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
        let w = try PerformancePathTests().randomModel(h, seed: 12, as: Float.self)
        let sampler = try TopKSampler(k: 8, temperature: 1.2, seed: 99)
        let one = try sampler.sample(w, prompt: [3, 1, 4], count: 60, context: 17, configuration: KernelConfiguration(threads: 1))
        let three = try sampler.sample(w, prompt: [3, 1, 4], count: 60, context: 17, configuration: KernelConfiguration(threads: 3))
        #expect(one == three)
    }

    /// The sampler's memory with a context: the cache and one pass of C
    /// positions, however long the run; only the sequence grows.
    @Test func croppedSamplingMemoryDependsOnTheContext() throws {
        let h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
        let short = try #require(TopKSampler.memoryNeed(h, positions: 64, context: 64, scalarBytes: 4, threads: 2))
        let long = try #require(TopKSampler.memoryNeed(h, positions: 100_064, context: 64, scalarBytes: 4, threads: 2))
        #expect(long - short == 100_000 * 16, "only the sequence grows")
        #expect(short == TopKSampler.memoryNeed(h, positions: 64, scalarBytes: 4, threads: 2))
        let uncropped = try #require(TopKSampler.memoryNeed(h, positions: 100_064, scalarBytes: 4, threads: 2))
        #expect(uncropped > 10 * long)
    }

    /// The recomputation estimate with a context: passes over sequences
    /// longer than C cost what a pass over C tokens costs.
    @Test func recomputationEstimateCropsThePasses() {
        let h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
        func estimate(_ lengths: ClosedRange<Int>, _ context: Int?) -> TopKSampler.Recomputation {
            TopKSampler.Recomputation(position: 0, lengths: lengths, context: context, h)
        }
        // A context the run never reaches changes nothing.
        #expect(estimate(3...40, 40) == estimate(3...40, nil))
        // Past it: every pass is one of C tokens.
        let single = estimate(8...8, nil)
        let cropped = estimate(20...29, 8)
        #expect(cropped.passes == 10)
        #expect(abs(cropped.multiplyAdds - 10 * single.multiplyAdds) <= 1e-9 * cropped.multiplyAdds)
        #expect(abs(cropped.cachedMultiplyAdds - cropped.multiplyAdds) <= 1e-9 * cropped.multiplyAdds)
        // Straddling it: the parts add up.
        let both = estimate(5...12, 8)
        let parts = estimate(5...8, nil).multiplyAdds + 4 * single.multiplyAdds
        #expect(abs(both.multiplyAdds - parts) <= 1e-9 * parts)
    }
}
