import Testing
@testable import TXWKernels

/// The fast paths compute what the plain definitions compute: the key/value
/// cache equals full recomputation, results do not depend on the thread
/// count, and every instruction set meets the fixtures.
struct PerformancePathTests {
    func randomModel<T: KernelScalar>(_ h: Hyperparameters, seed: UInt64, as: T.Type) throws -> TransformerWeights<T> {
        var rng = NumpyRandom(seed: seed)
        func tensor(_ shape: [Int], _ scale: Double) throws -> Tensor<T> {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in T((rng.random() * 2 - 1) * scale) })
        }
        var blocks: [BlockWeights<T>] = []
        for _ in 0..<h.nBlock {
            var fields: [String: Tensor<T>] = [:]
            for (name, shape) in h.blockShapes() { fields[name] = try tensor(shape, 1.5 / Double(shape[0]).squareRoot()) }
            blocks.append(try BlockWeights(fields: fields))
        }
        return try TransformerWeights(hyperparameters: h, W_E: tensor([h.vocabSize, h.dModel], 0.5), blocks: blocks)
    }

    static let shape = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)

    func cacheMatchesRecomputation<T: KernelScalar>(_: T.Type, tolerance: Double) throws {
        let weights = try randomModel(Self.shape, seed: 3, as: T.self)
        let tokens = (0..<40).map { ($0 * 13 + 5) % 37 }
        var decoder = IncrementalDecoder(weights)
        for (i, token) in tokens.enumerated() {
            let cached = try decoder.append(token)
            let full = try weights.logits(for: Array(tokens[0...i]))
            let last = Array(full.scalars[(i * 37)..<((i + 1) * 37)])
            for (a, b) in zip(cached, last) {
                #expect(abs(Double(a) - Double(b)) <= tolerance * max(abs(Double(b)), 1e-300), "position \(i): \(a) vs \(b)")
            }
        }
    }

    @Test func keyValueCacheGivesTheFullPassLogitsF64() throws { try cacheMatchesRecomputation(Double.self, tolerance: 1e-12) }
    @Test func keyValueCacheGivesTheFullPassLogitsF32() throws { try cacheMatchesRecomputation(Float.self, tolerance: 1e-6) }

    @Test(arguments: [0.0, 0.7, 1.0, 3.0])
    func keyValueCacheGivesTheRecomputedTokens(temperature: Double) throws {
        let weights = try randomModel(Self.shape, seed: 9, as: Double.self)
        let sampler = try TopKSampler(k: 6, temperature: temperature, seed: 1234)
        let cached = try sampler.sample(weights, prompt: [1, 2, 3], count: 30)
        #expect(cached == (try recomputedTokens(weights, sampler, seed: 1234, prompt: [1, 2, 3], count: 30)))
    }

    /// The notebook's loop: the whole sequence recomputed for every token,
    /// each drawn by `sampler`'s rule from a generator seeded with `seed`.
    func recomputedTokens(
        _ weights: TransformerWeights<Double>, _ sampler: TopKSampler, seed: UInt64, prompt: [Int], count: Int
    ) throws -> [Int] {
        let V = weights.hyperparameters.vocabSize
        var rng = NumpyRandom(seed: seed)
        var sequence = prompt
        var recomputed: [Int] = []
        for _ in 0..<count {
            let logits = try weights.logits(for: sequence)
            let last = (0..<V).map { Double(logits.scalars[(sequence.count - 1) * V + $0]) }
            let token = try sampler.choose(from: last, rng: &rng, position: sequence.count - 1)
            sequence.append(token)
            recomputed.append(token)
        }
        return recomputed
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let h = Hyperparameters(vocabSize: 50, dModel: 64, nHead: 4, dHead: 16, dMLP: 256, nBlock: 2)
        for precision in 0..<2 {
            let tokens = (0..<96).map { ($0 * 7 + 1) % 50 }
            func run(threads: Int) throws -> [Double] {
                let configuration = KernelConfiguration(threads: threads)
                if precision == 0 {
                    return try randomModel(h, seed: 5, as: Double.self).logits(for: tokens, configuration: configuration).scalars
                }
                return try randomModel(h, seed: 5, as: Float.self).logits(for: tokens, configuration: configuration).scalars.map(Double.init)
            }
            func loss(threads: Int) throws -> Double {
                let configuration = KernelConfiguration(threads: threads)
                return precision == 0 ? try randomModel(h, seed: 5, as: Double.self).loss(for: tokens, configuration: configuration)
                    : try randomModel(h, seed: 5, as: Float.self).loss(for: tokens, configuration: configuration)
            }
            let losses = try [1, 2, 3].map { try loss(threads: $0).bitPattern }
            #expect(losses[0] == losses[1] && losses[0] == losses[2], "loss, precision \(precision)")
            let one = try run(threads: 1)
            let two = try run(threads: 2)
            let three = try run(threads: 3)
            #expect(one.map(\.bitPattern) == two.map(\.bitPattern), "1 vs 2 threads, precision \(precision)")
            #expect(one.map(\.bitPattern) == three.map(\.bitPattern), "1 vs 3 threads, precision \(precision)")
        }
    }

    /// With a mask value near the scores, a longer full pass puts weight on
    /// later positions; with 2 blocks the cached rows then differ from a
    /// recomputation, the decoder says so, and the sampler recomputes: its
    /// tokens are still those of the notebook's loop.
    @Test func nearMaskSamplingRecomputesAsTheNotebook() throws {
        var h = Self.shape
        h.constants.maskValue = -2
        let weights = try randomModel(h, seed: 9, as: Double.self)
        var decoder = IncrementalDecoder(weights)
        for token in [1, 2, 3, 4] { _ = try decoder.append(token) }
        #expect(!decoder.matchesFullPass)
        var plain = IncrementalDecoder(try randomModel(Self.shape, seed: 9, as: Double.self))
        for token in [1, 2, 3, 4] { _ = try plain.append(token) }
        #expect(plain.matchesFullPass)

        // Cached logits alone would not do: they differ from the recomputation's.
        var cachedOnly = IncrementalDecoder(weights)
        var worst = 0.0
        let probe = (0..<30).map { ($0 * 11 + 2) % 37 }
        for (i, token) in probe.enumerated() {
            let cached = try cachedOnly.append(token)
            let full = try weights.logits(for: Array(probe[0...i]))
            for v in 0..<37 {
                let reference = full.scalars[i * 37 + v]
                worst = max(worst, abs(cached[v] - reference) / max(abs(reference), 1e-12))
            }
        }
        #expect(worst > 1e-6, "the near mask changes a longer pass's rows (worst relative difference \(worst))")
        for (temperature, seed) in [(0.0, 77), (1.0, 77), (1.0, 5), (3.0, 11), (3.0, 12)] {
            let sampler = try TopKSampler(k: 6, temperature: temperature, seed: UInt64(seed))
            let sampled = try sampler.sample(weights, prompt: probe, count: 30)
            let recomputed = try recomputedTokens(weights, sampler, seed: UInt64(seed), prompt: probe, count: 30)
            #expect(sampled == recomputed, "temperature \(temperature), seed \(seed)")
        }
    }

    /// Thousands of blocks: the forward pass keeps a fixed stack depth, and
    /// its last row equals the decoder's.
    @Test func manyBlocks() throws {
        let h = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 1, dHead: 2, dMLP: 3, nBlock: 3000)
        let weights = try randomModel(h, seed: 4, as: Float.self)
        let tokens = [1, 4, 2]
        let full = try weights.logits(for: tokens)
        var decoder = IncrementalDecoder(weights)
        var last: [Float] = []
        for token in tokens { last = try decoder.append(token) }
        #expect(Array(full.scalars[10..<15]).map(\.bitPattern) == last.map(\.bitPattern))
    }

    @Test(arguments: [0, 1, 2])
    func everyInstructionSetMeetsTheFixtures(level: Int) throws {
        let configuration = KernelConfiguration(instructionSetLevel: level)
        let ran = configuration.effectiveLevel
        for model in try ModelFixture.all() {
            expectClose(try model.weights(Double.self).logits(for: model.tokens, configuration: configuration), model.logits, "logits \(model.name) level \(ran)")
            expectClose(try model.weights(Float.self).logits(for: model.tokens, configuration: configuration), model.logits, "logits \(model.name) level \(ran)")
        }
    }
}
