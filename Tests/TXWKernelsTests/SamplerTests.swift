import Testing
@testable import TXWKernels

/// Top-k sampling against the notebook's topk_sample run by the reference.
struct SamplerTests {
    struct Case: Decodable {
        let name, model: String
        let prompt: [Int]
        let n, k: Int
        let t: Double
        let seed: String
        let tokens: [Int]
        let equals_notebook: Bool
    }

    @Test func tokensMatchReference() throws {
        let cases = try Fixtures.cases("sample", as: Case.self)
        #expect(cases.filter(\.equals_notebook).count >= 8)
        var models: [String: TransformerWeights<Double>] = [:]
        for c in cases {
            if models[c.model] == nil { models[c.model] = try ModelFixture.named(c.model).weights(Double.self) }
            let weights = try #require(models[c.model])
            let seed = try #require(hex(c.seed))
            var streamed: [Int] = []
            let tokens = try TopKSampler(k: c.k, temperature: c.t, seed: seed)
                .sample(weights, prompt: c.prompt, count: c.n) { streamed.append($0) }
            #expect(tokens == c.tokens, "sample \(c.name)")
            #expect(streamed == tokens, "streamed \(c.name)")
        }
    }

    @Test func greedyTakesLowestIdOfTiedMaxima() throws {
        // V = 2 with W_E rows equal: both logits tie at every position.
        let h = Hyperparameters(vocabSize: 2, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let weights = try TransformerWeights<Double>(
            hyperparameters: h, W_E: Tensor(shape: [2, 2], scalars: [0.5, -0.5, 0.5, -0.5]), blocks: [])
        #expect(try TopKSampler(k: 2, temperature: 0).sample(weights, prompt: [1], count: 3) == [0, 0, 0])
        // With t > 0 the two tied candidates are in ascending id order: cdf = [0.5, 1];
        // seed 42's first draw 0.774 picks index 1, the second 0.439 index 0.
        #expect(try TopKSampler(k: 2, temperature: 1, seed: 42).sample(weights, prompt: [1], count: 2) == [1, 0])
    }

    @Test func floatSamplingIsDeterministicAndInRange() throws {
        let weights = try ModelFixture.named("flat").weights(Float.self)
        let sampler = try TopKSampler(k: 4, temperature: 0.8, seed: 7)
        let a = try sampler.sample(weights, prompt: [1, 2], count: 10)
        let b = try sampler.sample(weights, prompt: [1, 2], count: 10)
        #expect(a == b)
        #expect(a.allSatisfy { (0..<11).contains($0) })
    }

    /// top-k keeps the last k of a stable ascending argsort: checked against
    /// a plain sort by (value, id) on values with many ties and ±infinity.
    @Test func topKIsTheStableArgsortTail() {
        var rng = NumpyRandom(seed: 99)
        for V in [1, 2, 3, 7, 64, 301] {
            let values = (0..<V).map { _ -> Double in
                let r = rng.random()
                return r < 0.05 ? -.infinity : r > 0.95 ? .infinity : (r * 8).rounded(.down) - 3
            }
            let order = values.indices.sorted { (values[$0], $0) < (values[$1], $1) }
            for k in Set([1, 2, V / 2, V - 1, V, V + 5]) where k >= 1 {
                #expect(TopKSampler.topK(values, k: k) == Array(order.suffix(k)), "V \(V) k \(k)")
            }
        }
    }

    /// k = V costs O(V log V) comparisons, not O(V·k): doubling V a little
    /// more than doubles them, and they stay under 3·V·log2 V.
    @Test func topKComparisonsGrowAsVLogV() {
        var rng = NumpyRandom(seed: 5)
        func comparisons(_ V: Int) -> Int {
            let values = (0..<V).map { _ in rng.random() }
            var count = 0
            let top = TopKSampler.topK(values, k: V, comparisons: &count)
            #expect(top.count == V)
            return count
        }
        let V = 4096
        let (small, large) = (comparisons(V), comparisons(2 * V))
        #expect(Double(small) <= 3 * Double(V) * 12, "\(small) comparisons for V = \(V)")
        #expect(Double(large) <= 2.3 * Double(small), "\(small) comparisons for V = \(V), \(large) for 2V")
    }
}

/// Temperatures so small that ℓ/t overflows, and counts that overflow.
struct SamplerLimitTests {
    /// A subnormal temperature (about 8.7e-311), written exactly: ℓ/t overflows for |ℓ| ≳ 1.6e-2.
    static let tiny = 0x1p-1030

    func draw(_ logits: [Double], k: Int, t: Double, seed: UInt64 = 42) throws -> Int {
        var rng = NumpyRandom(seed: seed)
        return try TopKSampler(k: k, temperature: t, seed: seed).choose(from: logits, rng: &rng, position: 0)
    }

    @Test func overflowingScaleTakesTheLimitFromTheLogits() throws {
        // All negative: every ℓ/t is −inf; the notebook's softmax is NaN.
        // The limit t → 0 is the largest logit, here id 0 (before: the last kept, id 2).
        #expect(try draw([-1, -2, -3], k: 3, t: Self.tiny) == 0)
        // Distinct positive logits that all overflow to +inf: the limit keeps
        // their order (before: uniform over the three, or the wrong id with k = 1).
        for seed: UInt64 in [1, 2, 3, 42, 7] {
            #expect(try draw([5, 6, 4], k: 3, t: Self.tiny, seed: seed) == 1)
            #expect(try draw([6, 5, 4], k: 1, t: Self.tiny, seed: seed) == 0)
        }
        // Mixed signs: 1/t overflows only for the positive one.
        #expect(try draw([-1, 2, -3], k: 2, t: Self.tiny) == 1)
        // Tied maxima stay a uniform draw between them, never another id.
        var seen = Set<Int>()
        for seed: UInt64 in 0..<32 { seen.insert(try draw([-1, 3, 3, 0], k: 4, t: Self.tiny, seed: seed)) }
        #expect(seen == [1, 2])
        // A normal temperature is untouched by the rule.
        #expect(!TopKSampler.needsLimit(logits: [5, 6, 4], scaled: [5, 6, 4].map { $0 / 0.5 }))
    }

    @Test func infiniteTemperatureIsRefused() {
        #expect(throws: KernelError.self) { try TopKSampler(k: 2, temperature: .infinity) }
        #expect(throws: KernelError.self) { try TopKSampler(k: 2, temperature: .nan) }
    }

    @Test func countThatOverflowsWithThePromptThrows() throws {
        let h = Hyperparameters(vocabSize: 2, dModel: 2, nHead: 1, dHead: 1, dMLP: 1, nBlock: 0)
        let weights = try TransformerWeights<Double>(
            hyperparameters: h, W_E: Tensor(shape: [2, 2], scalars: [0.5, -0.5, 0.25, 1]), blocks: [])
        #expect(throws: KernelError.self) { try TopKSampler(k: 1, temperature: 0).sample(weights, prompt: [1, 0], count: .max) }
    }
}
