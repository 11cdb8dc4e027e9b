import Foundation
import Testing
import TXWKernels

/// activations.json: every activation of the numpy reference's run_with_cache, with and without ablations.
struct ActivationFixture: Decodable {
    let name, model, mode: String
    let tokens: [Int]
    let ablations: [String]
    let activations: [String: TensorFixture]

    var ablation: Ablation {
        Ablation(ablations.map { Ablation.Target($0)! }, mode: Ablation.Mode(rawValue: mode)!)
    }

    static func all() throws -> [ActivationFixture] { try Fixtures.cases("activations") }
}

@Suite struct ActivationTests {
    func check<T: KernelScalar>(_ case_: ActivationFixture, _: T.Type) throws {
        let model = try ModelFixture.named(case_.model)
        let w: TransformerWeights<T> = try model.weights()
        let cache = try w.activations(for: case_.tokens, ablation: case_.ablations.isEmpty ? nil : case_.ablation)
        let names = TransformerWeights<T>.activationNames(nBlock: model.hyperparameters.n_block)
        #expect(cache.entries.map(\.name) == names, "\(case_.name): names")
        #expect(Set(case_.activations.keys) == Set(names), "\(case_.name): the reference records the same names")
        for name in names {
            guard let expected = case_.activations[name], let found = cache.tensor(name) else {
                Issue.record("\(case_.name): \(name) missing")
                continue
            }
            expectClose(found, expected, "\(case_.name) \(name)")
        }
    }

    @Test("every activation against the reference, f64 (1e-9) and f32 (1e-4)", arguments: try ActivationFixture.all().map(\.name))
    func againstReference(name: String) throws {
        let c = try #require(try ActivationFixture.all().first { $0.name == name })
        try check(c, Double.self)
        try check(c, Float.self)
    }

    func logitsBits<T: KernelScalar>(_: T.Type) throws {
        for name in ["basic", "long", "near_mask", "m1"] {
            let model = try ModelFixture.named(name)
            let w: TransformerWeights<T> = try model.weights()
            let plain = try w.logits(for: model.tokens)
            let cache = try w.activations(for: model.tokens)
            let cached = try #require(cache.tensor("logits"))
            #expect(cached.shape == plain.shape)
            #expect(cached.scalars.map(\.bitPattern) == plain.scalars.map(\.bitPattern), "\(name): cache logits bit for bit")
            // An ablation with no target is the plain pass.
            let none = try w.logits(for: model.tokens, ablation: Ablation([], mode: .mean))
            #expect(none.scalars.map(\.bitPattern) == plain.scalars.map(\.bitPattern), "\(name): empty ablation")
            // The recorded rows feed the same logits: the last residual times W_Eᵀ.
            let residual = try #require(cache.tensor("blocks.\(model.hyperparameters.n_block - 1).hook_resid_post"))
            #expect(residual.shape == [model.tokens.count, model.hyperparameters.d_model])
        }
    }

    @Test("the cache's logits are logits(for:)'s, bit for bit (f32 and f64)")
    func logitsBitForBit() throws {
        try logitsBits(Double.self)
        try logitsBits(Float.self)
    }

    @Test("1, 2 and 3 threads give the same bits (mean ablation across chunks)")
    func threadCounts() throws {
        let c = try #require(try ActivationFixture.all().first { $0.name == "long_mean" })
        let w: TransformerWeights<Float> = try ModelFixture.named(c.model).weights()
        let tokens = (0..<150).map { ($0 * 7 + 3) % 11 }
        func run(_ threads: Int) throws -> ActivationCache<Float> {
            try w.activations(for: tokens, ablation: c.ablation, configuration: KernelConfiguration(threads: threads))
        }
        let one = try run(1)
        for threads in [2, 3] {
            let other = try run(threads)
            for e in one.entries {
                #expect(one.scalars(e).map(\.bitPattern) == other.scalars(other.entry(e.name)!).map(\.bitPattern),
                        "\(e.name) with \(threads) threads")
            }
        }
        let ablated = try w.logits(for: tokens, ablation: c.ablation, configuration: KernelConfiguration(threads: 3))
        #expect(ablated.scalars.map(\.bitPattern) == one.tensor("logits")!.scalars.map(\.bitPattern))
    }

    @Test("selecting names stores only those, with the same values")
    func selection() throws {
        let model = try ModelFixture.named("basic")
        let w: TransformerWeights<Double> = try model.weights()
        let all = try w.activations(for: model.tokens)
        let some = try w.activations(for: model.tokens, selecting: { $0.hasSuffix("hook_pattern") })
        #expect(some.entries.map(\.name) == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"])
        for e in some.entries {
            #expect(Array(some.scalars(e)) == Array(all.scalars(all.entry(e.name)!)))
        }
        #expect(some.entry("logits") == nil)
    }

    @Test("the mean over one position is the value itself: the ablation changes nothing")
    func meanOfOnePosition() throws {
        let model = try ModelFixture.named("m1")
        let w: TransformerWeights<Double> = try model.weights()
        let ablation = Ablation([.head(block: 0, head: 1), .neuron(block: 1, neuron: 3)], mode: .mean)
        let plain = try w.logits(for: model.tokens)
        #expect(try w.logits(for: model.tokens, ablation: ablation).scalars == plain.scalars)
        #expect(try w.logits(for: model.tokens, ablation: Ablation(ablation.targets, mode: .zero)).scalars != plain.scalars)
    }

    @Test("ablation specs: parsed, printed, and refused outside the model")
    func specs() throws {
        #expect(Ablation.Target("blocks.2.attn.head.3") == .head(block: 2, head: 3))
        #expect(Ablation.Target("blocks.0.mlp.neuron.17") == .neuron(block: 0, neuron: 17))
        for bad in ["blocks.01.attn.head.1", "blocks.1.attn.head", "block.1.attn.head.1", "blocks.1.mlp.head.1",
                    "blocks.-1.attn.head.0", "blocks.1.attn.head.1.", "blocks.99999999999999999999.attn.head.0"] {
            #expect(Ablation.Target(bad) == nil, "\(bad)")
        }
        #expect(Ablation.Target.neuron(block: 1, neuron: 5).description == "blocks.1.mlp.neuron.5")
        let model = try ModelFixture.named("basic")
        let w: TransformerWeights<Double> = try model.weights()
        for t in [Ablation.Target.head(block: 2, head: 0), .head(block: 0, head: 2), .neuron(block: 0, neuron: 32)] {
            #expect(throws: KernelError.self) { try w.logits(for: model.tokens, ablation: Ablation([t])) }
        }
    }
}

extension KernelScalar {
    /// The raw bits, widened: equal exactly when the values are the same bits.
    var bitPattern: UInt64 {
        if let f = self as? Float { return UInt64(f.bitPattern) }
        return (self as! Double).bitPattern
    }
}

struct AblatedSampleFixture: Decodable {
    let name, model, mode, seed: String
    let prompt, tokens: [Int]
    let n, k: Int
    let t: Double
    let ablations: [String]
    let context: Int?
}

struct LensFixture: Decodable {
    let name, model, mode: String
    let tokens: [Int]
    let k: Int
    let ablations: [String]
    let points: [String]
    let ids: [[[Int]]]
    let logits, probs: TensorFixture
}

@Suite struct InterventionTests {
    @Test("ablated sampling gives the reference's tokens (zero, mean, with a context)",
          arguments: try Fixtures.cases("ablated_sample", as: AblatedSampleFixture.self).map(\.name))
    func ablatedSampling(name: String) throws {
        let c = try #require(try Fixtures.cases("ablated_sample", as: AblatedSampleFixture.self).first { $0.name == name })
        let w: TransformerWeights<Double> = try ModelFixture.named(c.model).weights()
        let ablation = Ablation(c.ablations.map { Ablation.Target($0)! }, mode: Ablation.Mode(rawValue: c.mode)!)
        let sampler = try TopKSampler(k: c.k, temperature: c.t, seed: hex(c.seed)!)
        var rng = NumpyRandom(seed: hex(c.seed)!)
        let tokens = try sampler.sample(w, prompt: c.prompt, count: c.n, context: c.context, ablation: ablation, continuing: &rng)
        #expect(tokens == c.tokens)
        // The same tokens with 1 and 3 threads.
        var rng3 = NumpyRandom(seed: hex(c.seed)!)
        #expect(try sampler.sample(w, prompt: c.prompt, count: c.n, context: c.context, ablation: ablation,
                                   configuration: KernelConfiguration(threads: 3), continuing: &rng3) == c.tokens)
    }

    @Test("an ablation with no target samples what the plain sampler samples")
    func emptyAblationSamples() throws {
        let w: TransformerWeights<Double> = try ModelFixture.named("flat").weights()
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 42)
        var rng = NumpyRandom(seed: 42)
        let ablated = try sampler.sample(w, prompt: [1, 2, 3], count: 10, ablation: Ablation([], mode: .mean), continuing: &rng)
        #expect(ablated == (try sampler.sample(w, prompt: [1, 2, 3], count: 10)))
    }

    @Test("logit lens against the reference; its last point is the model's logits",
          arguments: try Fixtures.cases("lens", as: LensFixture.self).map(\.name))
    func lens(name: String) throws {
        let c = try #require(try Fixtures.cases("lens", as: LensFixture.self).first { $0.name == name })
        let w: TransformerWeights<Double> = try ModelFixture.named(c.model).weights()
        let ablation = c.ablations.isEmpty ? nil : Ablation(c.ablations.map { Ablation.Target($0)! }, mode: Ablation.Mode(rawValue: c.mode)!)
        let lens = try w.logitLens(for: c.tokens, k: c.k, ablation: ablation)
        #expect(lens.points == c.points)
        #expect(lens.ids == c.ids.flatMap { $0.flatMap { $0 } })
        expectClose(lens.logits, c.logits.data, "\(name) logits")
        expectClose(lens.probabilities, c.probs.data, "\(name) probabilities")
        // The last point's logits are the model's (its top k, bit for bit).
        let full = try ablation.map { try w.logits(for: c.tokens, ablation: $0) } ?? w.logits(for: c.tokens)
        let V = full.shape[1], last = lens.points.count - 1
        for i in 0..<c.tokens.count {
            for r in 0..<lens.k {
                let at = lens.index(point: last, position: i, rank: r)
                #expect(lens.logits[at] == full.scalars[i * V + lens.ids[at]], "position \(i) rank \(r)")
            }
        }
    }

    @Test("the ablated loss: the windowed loss of the ablated logits; an empty ablation changes nothing")
    func ablatedLoss() throws {
        let model = try ModelFixture.named("long")
        let w: TransformerWeights<Double> = try model.weights()
        let tokens = model.tokens
        let plain = try w.loss(for: tokens, context: 16, stride: 8)
        #expect(try w.loss(for: tokens, context: 16, stride: 8, ablation: Ablation([], mode: .mean)) == plain)
        let ablation = Ablation([.head(block: 1, head: 0)], mode: .zero)
        let ablated = try w.loss(for: tokens, context: 16, stride: 8, ablation: ablation)
        #expect(ablated.loss != plain.loss)
        // One window: the mean next-token loss of the ablated logits.
        let whole = try w.loss(for: tokens, context: tokens.count, stride: 1, ablation: ablation)
        let logits = try w.logits(for: tokens, ablation: ablation)
        let V = logits.shape[1]
        var total = 0.0
        for j in 1..<tokens.count {
            let row = logits.scalars[((j - 1) * V)..<(j * V)]
            let top = row.max()!
            total += top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) }) - row[row.startIndex + tokens[j]]
        }
        #expect(abs(whole.loss - total / Double(tokens.count - 1)) <= 1e-12 * abs(whole.loss))
    }
}
