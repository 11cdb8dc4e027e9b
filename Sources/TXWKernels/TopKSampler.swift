import RealModule
/// The notebook's `topk_sample`, made exact (Spec/kernels.md, "Sampling").
///
/// Each step takes the last position's logits in float64, divides them by
/// `t`, keeps the `k` largest in a stable order (ascending by value, ties by
/// ascending id), takes their softmax, and draws from it with numpy's
/// `Generator.choice(k, p=…)`: cdf = cumsum(p) / its last element, one
/// `random()` double u, index = first i with cdf[i] > u. With float64 weights
/// and t > 0 this reproduces the notebook's tokens for the same seed.
///
/// `t = 0` is greedy (the largest logit, lowest id on ties) and draws no
/// random number; the notebook computes the argmax and then samples anyway, a
/// bug this does not copy. `k` above V is clamped to V.
public struct TopKSampler: Sendable, Equatable {
    /// How many of the most likely tokens are kept at each step (≥ 1; 1 is greedy).
    public let k: Int
    /// The softmax temperature applied to the kept logits (> 0).
    public let temperature: Double
    /// The seed of the `NumpyRandom` the draws come from.
    public let seed: UInt64

    /// Checks `k ≥ 1` and `t ≥ 0` (not NaN).
    public init(k: Int, temperature: Double = 1, seed: UInt64 = 42) throws {
        guard k >= 1 else {
            throw KernelError.invalidArgument(name: "k", value: "\(k)", requirement: "must be ≥ 1")
        }
        try Kernels.checkTemperature(temperature)
        self.k = k
        self.temperature = temperature
        self.seed = seed
    }

    /// Samples `n` tokens after `prompt`, calling `onToken` with each as it is
    /// chosen, and returns them; the forward passes run with `configuration`
    /// (the tokens do not depend on its thread count). Throws for n < 0, an
    /// empty prompt, a token outside the vocabulary, or NaN logits.
    @discardableResult
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func sample<T>(
        _ weights: TransformerWeights<T>, prompt: [Int], count n: Int, configuration: KernelConfiguration = .default,
        onToken: (Int) throws -> Void = { _ in }
    ) throws -> [Int] {
        guard n >= 0 else {
            throw KernelError.invalidArgument(name: "n", value: "\(n)", requirement: "must be ≥ 0")
        }
        let V = weights.hyperparameters.vocabSize
        try Kernels.checkTokens(prompt, vocabSize: V, what: "prompt")
        var rng = NumpyRandom(seed: seed)
        var produced: [Int] = []
        produced.reserveCapacity(min(n, 1 << 16))
        guard n > 0 else { return produced }
        // The key/value cache gives the last position's logits of the
        // sequence so far, as a full recomputation would (IncrementalDecoder);
        // when it cannot (masked weights that are not 0), the whole sequence
        // is recomputed for every token, as the notebook does.
        var decoder = IncrementalDecoder(weights, configuration: configuration)
        var sequence: [Int] = []
        var recompute = false
        func feed(_ token: Int) throws -> [T] {
            sequence.append(token)
            if !recompute {
                let cached = try decoder.append(token)
                if decoder.matchesFullPass { return cached }
                recompute = true
            }
            let full = try weights.logits(for: sequence, configuration: configuration)
            return Array(full.scalars[((sequence.count - 1) * V)...])
        }
        var logits: [T] = []
        for token in prompt { logits = try feed(token) }
        var last = [Double](repeating: 0, count: V)
        for step in 0..<n {
            for v in 0..<V { last[v] = Double(logits[v]) }
            let token = try choose(from: last, rng: &rng, position: sequence.count - 1)
            produced.append(token)
            try onToken(token)
            if step + 1 < n { logits = try feed(token) }
        }
        return produced
    }

    /// One draw from the last position's float64 logits.
    func choose(from last: [Double], rng: inout NumpyRandom, position: Int) throws -> Int {
        if let bad = last.firstIndex(where: \.isNaN) {
            throw KernelError.nonFiniteLogits(position: position, detail: "logit of token \(bad) is NaN")
        }
        if temperature == 0 {
            var best = 0
            for v in 1..<last.count where last[v] > last[best] { best = v }
            return best
        }
        let scaled = last.map { $0 / temperature }
        let top = Self.topK(scaled, k: min(k, scaled.count))
        var cdf = Self.softmax(top.map { scaled[$0] })
        for i in 1..<cdf.count { cdf[i] += cdf[i - 1] }
        let total = cdf[cdf.count - 1]
        for i in 0..<cdf.count { cdf[i] /= total }
        let u = rng.random()
        let index = cdf.firstIndex(where: { $0 > u }) ?? (cdf.count - 1)
        return top[index]
    }

    /// numpy's float64 softmax of a short vector, bit for bit where `exp`
    /// agrees: `e = exp(x − max)`, `e / sum(e)` with numpy's summation order.
    /// A +inf maximum (t tiny) gives the uniform distribution over the maxima.
    static func softmax(_ x: [Double]) -> [Double] {
        let top = x.max() ?? 0
        guard top != .infinity else {
            let ties = Double(x.count(where: { $0 == top }))
            return x.map { $0 == top ? 1 / ties : 0 }
        }
        let e = x.map { Double.exp($0 - top) }
        let total = e.withUnsafeBufferPointer(PairwiseSum.sum)
        return e.map { $0 / total }
    }

    /// The ids of the `k` largest values, ascending by value, ties by ascending id
    /// (the last `k` of a stable ascending argsort).
    static func topK(_ values: [Double], k: Int) -> [Int] {
        // Keep a sorted window of the best k; an id beats an equal value with a lower id.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        func less(_ a: Int, _ b: Int) -> Bool {
            values[a] < values[b] || (values[a] == values[b] && a < b)
        }
        for id in values.indices {
            if best.count == k {
                guard less(best[0], id) else { continue }
                best.removeFirst()
            }
            var position = best.count
            while position > 0 && less(id, best[position - 1]) { position -= 1 }
            best.insert(id, at: position)
        }
        return best
    }
}
