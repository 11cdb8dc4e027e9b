import RealModule
/// The notebook's `topk_sample`, made exact (Spec/kernels.md, "Sampling").
///
/// Each step takes the last position's logits in float64, divides them by
/// `t`, keeps the `k` largest in a stable order (ascending by value, ties by
/// ascending id), takes their softmax, and draws from it with numpy's
/// `Generator.choice(k, p=…)`: cdf = cumsum(p) / its last element, one
/// `random()` double u, index = first i with cdf[i] > u. With float64 weights
/// and t > 0 this reproduces the notebook's tokens for the same seed.
/// Choosing the `k` costs O(V log k) comparisons per token (a bounded heap),
/// O(V log V) for `k ≥ V`.
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

    /// The sampler's switch from the key/value cache to recomputing the
    /// whole sequence for every token (`IncrementalDecoder.matchesFullPass`
    /// cleared: a masked attention weight `exp(mask − max)` that is not 0).
    /// Reported once, before the first recomputed pass, with the cost still
    /// ahead: the tokens stay exactly the notebook's, but each costs a pass
    /// over the whole sequence.
    public struct Recomputation: Sendable, Equatable {
        /// The position of the row whose masked weight was not 0.
        public let position: Int
        /// The full forward passes still to run: one per token still to sample.
        public let passes: Int
        /// Their estimated multiply-adds (blocks, attention over all
        /// positions, the last row's unembedding).
        public let multiplyAdds: Double
        /// What the same tokens would cost with the key/value cache, for comparison.
        public let cachedMultiplyAdds: Double

        /// The estimate for passes over sequences of `lengths` tokens, each
        /// cropped to its last `context` tokens when one is given.
        package init(position: Int, lengths: ClosedRange<Int>, context: Int? = nil, _ h: Hyperparameters) {
            self.position = position
            passes = lengths.count
            let hd = Double(h.nHead * h.dHead), d = Double(h.dModel)
            let perRow = d * (4 * hd + 2 * Double(h.dMLP)), blocks = Double(h.nBlock)
            let unembed = d * Double(h.vocabSize)
            // Σm and Σm² over the lengths, in floating point (an estimate; no overflow).
            func sumTo(_ n: Double) -> (Double, Double) { (n * (n + 1) / 2, n * (n + 1) * (2 * n + 1) / 6) }
            // Lengths up to the context are passes over m rows; longer ones over C rows.
            let C = context ?? Int.max
            let (low, high) = (lengths.lowerBound, lengths.upperBound)
            var (sum, squares) = (0.0, 0.0)
            if low <= C {
                let (high1, high2) = sumTo(Double(Swift.min(high, C)))
                let (low1, low2) = sumTo(Double(low - 1))
                (sum, squares) = (high1 - low1, high2 - low2)
            }
            let croppedPasses = C == Int.max ? 0 : Double(Swift.max(0, high - Swift.max(low, C + 1) + 1))
            let c = Double(C == Int.max ? 0 : C)
            let count = Double(lengths.count)
            // A pass over m rows: per block m rows' projections and MLP, attention of
            // every row over all m positions (scores and weighted sum); one row unembedded.
            multiplyAdds = blocks * (perRow * (sum + croppedPasses * c) + 2 * hd * (squares + croppedPasses * c * c))
                + unembed * count
            // Cached: one row per token, attention over the positions so far; past
            // the context the cache cannot be used, and each token is a pass over C rows.
            cachedMultiplyAdds = blocks * (perRow * (count - croppedPasses) + 2 * hd * sum
                + croppedPasses * (perRow * c + 2 * hd * c * c)) + unembed * count
        }
    }

    /// Samples `n` tokens after `prompt`, calling `onToken` with each as it is
    /// chosen, and returns them; the forward passes run with `configuration`
    /// (the tokens do not depend on its thread count). Throws for n < 0, a
    /// context < 1, an empty prompt, a token outside the vocabulary, or NaN
    /// logits.
    ///
    /// With a `context` C, before each new token the model sees only the
    /// last C tokens of prompt + tokens so far, positions counted from 0
    /// within that window (Spec/kernels.md, "Cropped sampling"); nil sees the
    /// whole sequence.
    ///
    /// The logits come from a key/value cache (`IncrementalDecoder`, each
    /// step split across a team of threads as `split` says) while
    /// the sequence fits the context and the cache matches a full pass.
    /// Past the context every cached key and value is stale (each window
    /// starts at position 0), so each token is a pass over the last C tokens,
    /// and the cache is released. When the cache does not match a full pass,
    /// every token recomputes its whole window, as the notebook does, and
    /// `onRecompute` is called once before the first such pass (with a mask
    /// value near the scores that is at the first position, before any token
    /// is drawn). Only the last row's logits are computed in a recomputed
    /// pass, and a prompt costs one pass, not one per prompt token.
    @discardableResult
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func sample<T>(
        _ weights: TransformerWeights<T>, prompt: [Int], count n: Int, context: Int? = nil,
        configuration: KernelConfiguration = .default, split: DecodingSplit = .automatic,
        onToken: (Int) throws -> Void = { _ in }, onRecompute: (Recomputation) throws -> Void = { _ in }
    ) throws -> [Int] {
        var rng = NumpyRandom(seed: seed)
        return try sample(weights, prompt: prompt, count: n, context: context, configuration: configuration, split: split,
                          continuing: &rng, onToken: onToken, onRecompute: onRecompute)
    }

    /// `sample(_:prompt:count:context:configuration:split:onToken:onRecompute:)`
    /// drawing from `rng` instead of a new generator seeded with `seed`:
    /// `rng` is left where the last draw left it, so that a second call
    /// continues the same stream. Samples drawn one after another this way
    /// (`txw-run --num-samples`) are what numpy gives for one
    /// `default_rng(seed)` passed to `topk_sample` call after call. Each
    /// token draws one number (none at temperature 0).
    @discardableResult
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func sample<T>(
        _ weights: TransformerWeights<T>, prompt: [Int], count n: Int, context: Int? = nil,
        configuration: KernelConfiguration = .default, split: DecodingSplit = .automatic, continuing rng: inout NumpyRandom,
        onToken: (Int) throws -> Void = { _ in }, onRecompute: (Recomputation) throws -> Void = { _ in }
    ) throws -> [Int] {
        guard n >= 0 else {
            throw KernelError.invalidArgument(name: "n", value: "\(n)", requirement: "must be ≥ 0")
        }
        if let context, context < 1 {
            throw KernelError.invalidArgument(name: "context", value: "\(context)", requirement: "must be ≥ 1")
        }
        let V = weights.hyperparameters.vocabSize
        try Kernels.checkTokens(prompt, vocabSize: V, what: "prompt")
        var produced: [Int] = []
        produced.reserveCapacity(min(n, 1 << 16))
        guard n > 0 else { return produced }
        guard !prompt.count.addingReportingOverflow(n).overflow else {
            throw KernelError.invalidArgument(name: "n", value: "\(n)", requirement: "prompt length + n must fit in Int")
        }
        let C = context ?? Int.max
        // The key/value cache gives the last position's logits of the
        // sequence so far, as a full recomputation would (IncrementalDecoder),
        // while the sequence fits the context; when it cannot (masked weights
        // that are not 0), the whole window is recomputed for every token, as
        // the notebook does.
        var decoder = IncrementalDecoder(weights, configuration: configuration, split: split)
        var sequence: [Int] = []
        sequence.reserveCapacity(min(prompt.count + n, 1 << 20))
        var recompute = false
        func switchToRecomputation() throws {
            recompute = true
            try onRecompute(Recomputation(
                position: decoder.count - 1, lengths: max(sequence.count, prompt.count)...(prompt.count + n - 1),
                context: context, weights.hyperparameters))
        }
        /// The last position's logits of a full pass over the last C tokens.
        func windowLogits() throws -> [T] {
            try weights.lastLogits(for: sequence.count <= C ? sequence : Array(sequence.suffix(C)), configuration: configuration)
        }
        var logits: [T] = []
        if prompt.count <= C {
            for token in prompt {
                sequence.append(token)
                if recompute { continue }
                logits = try decoder.append(token)
                if !decoder.matchesFullPass { try switchToRecomputation() }
            }
            // One pass for the whole prompt: only its last row's logits are used.
            if recompute { logits = try windowLogits() }
        } else {
            // Longer than the context: one pass over its last C tokens.
            sequence = prompt
            logits = try windowLogits()
        }
        var last = [Double](repeating: 0, count: V)
        for step in 0..<n {
            for v in 0..<V { last[v] = Double(logits[v]) }
            let token = try choose(from: last, rng: &rng, position: sequence.count - 1)
            produced.append(token)
            try onToken(token)
            guard step + 1 < n else { break }
            sequence.append(token)
            if sequence.count > C {
                // Past the context: the cache is of no further use.
                if decoder.count > 0 { decoder = IncrementalDecoder(weights, configuration: configuration, split: split) }
            } else if !recompute {
                logits = try decoder.append(token)
                if decoder.matchesFullPass { continue }
                try switchToRecomputation()
            }
            logits = try windowLogits()
        }
        return produced
    }

    /// The bytes `sample` allocates at its peak for a prompt and new tokens
    /// covering `positions` positions with a `context` of C tokens (nil:
    /// the whole sequence) (nil on overflow): the key/value cache
    /// (`IncrementalDecoder`) of min(positions, C) positions, plus one full
    /// pass over min(positions, C) tokens and its last row of logits (the
    /// passes past the context, or should the cache not match the full pass,
    /// `Recomputation`, while the cache is still held), the sequence, the
    /// window's copy and the float64 copy of the logits.
    package static func memoryNeed(_ h: Hyperparameters, positions: Int, context: Int? = nil, scalarBytes s: Int, threads: Int) -> Int? {
        let window = min(positions, context ?? positions)
        return CheckedBytes.sum([
            IncrementalDecoder<Double>.memoryNeed(h, positions: window, scalarBytes: s, threads: threads),
            SequenceForward.memoryNeed(h, m: max(window, 1), scalarBytes: s, threads: threads),
            CheckedBytes.product(h.vocabSize, s + 8),
            CheckedBytes.product(positions, 16),
            CheckedBytes.product(window, 8),
        ])
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
        var top: [Int]
        var cdf: [Double]
        if Self.needsLimit(logits: last, scaled: scaled) {
            // ℓ/t overflowed (t tiny), or every kept ℓ/t is −inf: the notebook's
            // softmax would be NaN. Take the limit t → 0 from the unscaled
            // logits: the k largest, uniform over those equal to the largest.
            top = Self.topK(last, k: min(k, last.count))
            let best = top.map { last[$0] }.max() ?? 0
            let ties = Double(top.count(where: { last[$0] == best }))
            cdf = top.map { last[$0] == best ? 1 / ties : 0 }
        } else {
            top = Self.topK(scaled, k: min(k, scaled.count))
            cdf = Self.softmax(top.map { scaled[$0] })
        }
        for i in 1..<cdf.count { cdf[i] += cdf[i - 1] }
        let total = cdf[cdf.count - 1]
        for i in 0..<cdf.count { cdf[i] /= total }
        let u = rng.random()
        let index = cdf.firstIndex(where: { $0 > u }) ?? (cdf.count - 1)
        return top[index]
    }

    /// True when dividing by the temperature lost the logits' order: a finite
    /// logit became ±inf (t so small that ℓ/t overflows), or the largest
    /// scaled logit is not finite (all −inf, or an infinite logit).
    static func needsLimit(logits: [Double], scaled: [Double]) -> Bool {
        var largest = -Double.infinity
        for (l, z) in zip(logits, scaled) {
            if l.isFinite && !z.isFinite { return true }
            largest = max(largest, z)
        }
        return !largest.isFinite
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
    ///
    /// O(V log k + k log k) comparisons for V values, O(k) memory: a binary
    /// min-heap of the best k seen so far (its root the smallest kept, by
    /// value and then id), each further id compared with the root and, when
    /// it beats it, sifted in; then the heap is emptied smallest first.
    /// `k = V` costs O(V log V), not O(V·k).
    static func topK(_ values: [Double], k: Int) -> [Int] {
        var comparisons = 0
        return topK(values, k: k, comparisons: &comparisons)
    }

    /// `topK(_:k:)`, adding the number of value comparisons it made to `comparisons`.
    static func topK(_ values: [Double], k: Int, comparisons: inout Int) -> [Int] {
        let k = min(k, values.count)
        guard k > 0 else { return [] }
        var heap: [Int] = []
        heap.reserveCapacity(k)
        var count = 0
        // a ranks below b: smaller value, or an equal value with a lower id.
        func less(_ a: Int, _ b: Int) -> Bool {
            count += 1
            return values[a] < values[b] || (values[a] == values[b] && a < b)
        }
        func siftDown(_ start: Int, size: Int) {
            var i = start
            while true {
                let left = 2 * i + 1
                guard left < size else { return }
                var smallest = left
                if left + 1 < size && less(heap[left + 1], heap[left]) { smallest = left + 1 }
                guard less(heap[smallest], heap[i]) else { return }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        // The first k ids, heapified bottom-up (O(k) comparisons).
        heap.append(contentsOf: 0..<k)
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i, size: k) }
        // Every further id that beats the smallest kept replaces it.
        for id in k..<values.count where less(heap[0], id) {
            heap[0] = id
            siftDown(0, size: k)
        }
        // Smallest first: pop the root into the free slot at the end, then reverse.
        for size in stride(from: k - 1, to: 0, by: -1) {
            heap.swapAt(0, size)
            siftDown(0, size: size)
        }
        comparisons += count
        return heap.reversed()
    }
}
