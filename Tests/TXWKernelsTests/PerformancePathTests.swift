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
            var reports: [TopKSampler.Recomputation] = []
            let sampled = try sampler.sample(weights, prompt: probe, count: 30) { _ in } onRecompute: { reports.append($0) }
            let recomputed = try recomputedTokens(weights, sampler, seed: UInt64(seed), prompt: probe, count: 30)
            #expect(sampled == recomputed, "temperature \(temperature), seed \(seed)")
            // Reported once, during the prompt: one pass per token to draw.
            #expect(reports.count == 1)
            #expect(reports.first.map { $0.position < probe.count && $0.passes == 30 } == true)
        }
        // The plain mask never reports.
        var plainReports = 0
        _ = try TopKSampler(k: 6, temperature: 1, seed: 3).sample(
            try randomModel(Self.shape, seed: 9, as: Double.self), prompt: probe, count: 30) { _ in } onRecompute: { _ in plainReports += 1 }
        #expect(plainReports == 0)
    }

    /// Mask value 0 (every masked weight is exp(0 − max) ≠ 0 once a row's
    /// scores are negative): the switch comes at the first position, the
    /// tokens of every prompt length are those of the notebook's loop, in f64
    /// and in f32 (the f32 loop recomputes with the same kernels).
    @Test func zeroMaskSamplingEqualsTheNotebookLoop() throws {
        var h = Self.shape
        h.constants.maskValue = 0
        let weights = try randomModel(h, seed: 21, as: Double.self)
        for prompt in [[4], [4, 9], (0..<20).map { ($0 * 7 + 3) % 37 }] {
            for (temperature, seed) in [(0.0, 1), (1.0, 2), (2.0, 3)] {
                let sampler = try TopKSampler(k: 5, temperature: temperature, seed: UInt64(seed))
                var positions: [Int] = []
                let sampled = try sampler.sample(weights, prompt: prompt, count: 12) { _ in } onRecompute: { positions.append($0.position) }
                #expect(positions.count == 1)
                #expect(sampled == (try recomputedTokens(weights, sampler, seed: UInt64(seed), prompt: prompt, count: 12)),
                        "prompt \(prompt.count), temperature \(temperature)")
            }
        }
        let single = try randomModel(h, seed: 21, as: Float.self)
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 8)
        var rng = NumpyRandom(seed: 8)
        var sequence = [2, 3, 5]
        var expected: [Int] = []
        for _ in 0..<12 {
            let logits = try single.logits(for: sequence)
            let last = (0..<37).map { Double(logits.scalars[(sequence.count - 1) * 37 + $0]) }
            let token = try sampler.choose(from: last, rng: &rng, position: sequence.count - 1)
            sequence.append(token)
            expected.append(token)
        }
        #expect(try sampler.sample(single, prompt: [2, 3, 5], count: 12) == expected)
    }

    /// A recomputed pass unembeds the last row only: its logits are the full
    /// pass's last row, bit for bit, for chunk-boundary lengths, both
    /// precisions, the plain and a near mask.
    @Test func lastRowLogitsEqualTheFullPass() throws {
        for mask in [-1e9, -2] {
            var h = Hyperparameters(vocabSize: 37, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
            h.constants.maskValue = mask
            let double = try randomModel(h, seed: 6, as: Double.self)
            let single = try randomModel(h, seed: 6, as: Float.self)
            for m in [1, 2, 15, 16, 17, 33, 150] {
                let tokens = (0..<m).map { ($0 * 5 + 1) % 37 }
                let range = ((m - 1) * 37)..<(m * 37)
                #expect(try double.lastLogits(for: tokens).map(\.bitPattern)
                        == Array(double.logits(for: tokens).scalars[range]).map(\.bitPattern), "f64 m \(m) mask \(mask)")
                #expect(try single.lastLogits(for: tokens).map(\.bitPattern)
                        == Array(single.logits(for: tokens).scalars[range]).map(\.bitPattern), "f32 m \(m) mask \(mask)")
            }
        }
    }

    /// The cost estimate of the tokens still to draw: passes over lengths
    /// p … p + n − 1, counted here pass by pass from the shapes.
    @Test func recomputationEstimateCountsThePasses() {
        let h = Hyperparameters(vocabSize: 50, dModel: 16, nHead: 2, dHead: 4, dMLP: 24, nBlock: 3)
        let estimate = TopKSampler.Recomputation(position: 0, lengths: 7...26, h)
        var full = 0.0, cached = 0.0
        for m in 7...26 {
            let block = Double(m) * (16 * (3 * 8) + 16 * 8 + 2 * 16 * 24) + 2 * 2 * Double(m * m) * 4
            full += 3 * block + 16 * 50
            cached += 3 * ((16 * (3 * 8) + 16 * 8 + 2 * 16 * 24) + 2 * Double(m) * 8) + 16 * 50
        }
        #expect(estimate.passes == 20)
        #expect(abs(estimate.multiplyAdds - full) <= 1e-9 * full)
        #expect(abs(estimate.cachedMultiplyAdds - cached) <= 1e-9 * cached)
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

    /// A forward over weights packed once for the GEMM (`PackedForwardWeights`)
    /// gives the bits of one that packs nothing in advance: f32 and f64, each
    /// instruction set, 1 and 2 threads, lengths below and above the GEMM's
    /// packing threshold; and the packed set is kept with the model.
    @Test func packedWeightsGiveTheSameLogits() throws {
        let h = Hyperparameters(vocabSize: 50, dModel: 64, nHead: 4, dHead: 16, dMLP: 96, nBlock: 2)
        func check<T: KernelScalar>(_: T.Type) throws {
            for level in [0, 1, 2] {
                for threads in [1, 2] {
                    let weights = try randomModel(h, seed: 17, as: T.self)
                    let configuration = KernelConfiguration(threads: threads, instructionSetLevel: level)
                    for m in [1, 5, 24, 41] {
                        let tokens = (0..<m).map { ($0 * 11 + 3) % 50 }
                        func logits(packing: Bool) -> [UInt64] {
                            var out = [T](repeating: .nan, count: m * h.vocabSize)
                            configuration.applied {
                                out.withUnsafeMutableBufferPointer { o in
                                    SequenceForward.run(weights, tokens: tokens, logits: o.baseAddress!, hidden: nil, packing: packing)
                                }
                            }
                            return out.map(\.bitPattern64)
                        }
                        let plain = logits(packing: false)
                        #expect(logits(packing: true) == plain, "\(T.self) level \(level) threads \(threads) m \(m)")
                        #expect(weights.forwardPacks.isFilled)
                        // The public entry now reads the kept packing, whatever m: the same bits.
                        let kept = try weights.logits(for: tokens, configuration: configuration).scalars.map(\.bitPattern64)
                        #expect(kept == plain, "\(T.self) level \(level) threads \(threads) m \(m), kept packing")
                    }
                }
            }
        }
        try check(Float.self)
        try check(Double.self)
    }

    /// Packing is decided by the pass's rows: a model packs on a pass of 24
    /// rows or more (and counts the copy in the pass's memory), not on a
    /// shorter one, small and large models alike.
    @Test func packingIsDecidedByRows() throws {
        let large = Hyperparameters(vocabSize: 16, dModel: 128, nHead: 2, dHead: 64, dMLP: 2048, nBlock: 1)
        let small = Hyperparameters(vocabSize: 16, dModel: 32, nHead: 2, dHead: 16, dMLP: 64, nBlock: 1)
        for h in [large, small] {
            let weights = try randomModel(h, seed: 2, as: Double.self)
            _ = try weights.logits(for: Array(repeating: 1, count: 8))
            #expect(!weights.forwardPacks.isFilled)
            _ = try weights.logits(for: (0..<24).map { $0 % 16 })
            #expect(weights.forwardPacks.isFilled)
            let hd = h.nHead * h.dHead
            let extra = try #require(SequenceForward.memoryNeed(h, m: 24, scalarBytes: 8, threads: 2))
            let base = try #require(SequenceForward.memoryNeed(h, m: 23, scalarBytes: 8, threads: 2))
            // The copy holds at least every matrix of the block and W_E (8 bytes each).
            #expect(extra - base >= 8 * (h.dModel * 4 * hd + 2 * h.dModel * h.dMLP + h.vocabSize * h.dModel))
        }
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
