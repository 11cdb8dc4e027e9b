import TXWThreads

/// Incremental decoding with a key/value cache: feeding tokens one at a time
/// gives, for each new position, the logits the full forward pass gives for
/// the last position of the sequence so far — computed from the cached keys
/// and values instead of recomputing every earlier position.
///
/// Each step runs the same kernels in the same order as the full pass does
/// for that row (the row products, `attentionRow`, the weighted sum of values
/// over the positions so far), so the logits are the same bit for bit; the
/// full pass's extra zero weights for future positions add nothing.
///
/// That holds while those weights are 0: a mask value so close to the scores
/// that `exp(mask − max)` is not 0 gives the rows of a longer full pass
/// weight on later positions, and with two blocks or more that reaches the
/// last row through the keys and values. The decoder notices (it checks each
/// row of every block but the last) and clears `matchesFullPass`; the
/// sampler then recomputes the whole sequence, as the notebook does.
///
/// With `split` `.team` (or `.automatic` where it pays: `DecodingSplit`),
/// each step runs on a `ThreadTeam` of `configuration.threads` members that
/// own fixed shares of every weight matrix's columns and meet 4·n_block + 2
/// times per token (`DecodingTeam`), with the same logits bit for bit. The
/// team's threads are the decoder's: they end when the last copy of it is
/// dropped (a copy that is used builds its own team). With `.automatic` the
/// decoder also times its steps and runs each the faster way, team or one
/// thread (`DecodingSplitChooser`): a team whose cores are busy with other
/// processes falls back to one thread.
public struct IncrementalDecoder<Scalar: KernelScalar> {
    /// The model being run.
    public let weights: TransformerWeights<Scalar>
    /// The threads and instruction set each step computes with.
    public let configuration: KernelConfiguration
    /// Whether each step is split across a team of threads.
    public let split: DecodingSplit
    /// Tokens fed so far.
    public private(set) var count = 0
    /// False once a fed row had a masked attention weight that is not 0
    /// (see above): the logits may then differ from a full pass's.
    public private(set) var matchesFullPass = true
    private var capacity = 0
    /// Per block, per head: keys transposed (d_head, capacity) and values
    /// (capacity, d_head), blocks one after another.
    private var keys: [Scalar] = []
    private var values: [Scalar] = []
    /// The team the steps run on (`split`), made at the first step; nil for serial steps.
    private var team: DecodingTeam<Scalar>?
    /// The members of the team, or 1 for serial steps.
    private let members: Int
    /// With `DecodingSplit.automatic` and a team: which way each step runs,
    /// from the steps' measured times (`DecodingSplitChooser`): the
    /// process's chooser for this kind of step, or one of the decoder's own.
    private enum Chooser {
        case shared(DecodingSplitChooser.Kind)
        case own(DecodingSplitChooser)
    }
    private var chooser: Chooser?
    /// Whether a step has run on the team yet (the first starts its threads).
    private var teamStarted = false

    /// An empty cache for `weights`, computing with `configuration`'s threads
    /// and instruction set, each step split across a team of threads or not
    /// as `split` says.
    public init(_ weights: TransformerWeights<Scalar>, configuration: KernelConfiguration = .default, split: DecodingSplit = .automatic) {
        self.weights = weights
        self.configuration = configuration
        self.split = split
        let threads = weights.hyperparameters.nBlock <= DecodingTeam<Scalar>.maxBlocks
            ? min(max(configuration.threads, 1), ThreadPool.maxThreads) : 1
        switch DecodingTeam<Scalar>.environmentSplit.flatMap({ split == .automatic ? $0 : nil }) ?? split {
        case .team: members = threads
        case .serial: members = 1
        case .automatic:
            members = DecodingTeam<Scalar>.pays(weights.hyperparameters, threads: threads) ? threads : 1
            if members > 1 {
                chooser = .shared(DecodingSplitChooser.Kind(weights.hyperparameters, scalarBytes: MemoryLayout<Scalar>.size,
                                                            members: members))
            }
        }
    }

    /// Lets the measured step times pick team or one thread for each step
    /// (`DecodingSplitChooser`) even where `split` fixed the team (tests):
    /// a chooser of the decoder's own, or the process's for `kind`.
    mutating func chooseEachStep(sharedAs kind: DecodingSplitChooser.Kind? = nil) {
        guard members > 1 else { return }
        chooser = kind.map { .shared($0) } ?? .own(DecodingSplitChooser())
    }

    /// Whether the steps run on a team of threads (`split`, resolved).
    public var usesTeam: Bool { members > 1 }

    /// The bytes a decoder of `h` holds after `positions` tokens (nil on
    /// overflow), at its peak: the key/value cache of every block at the
    /// capacity those positions grow it to (doubling from 16) plus the old
    /// keys (or values) of every block while they grow, the float64 position table (kept
    /// rows grow by doubling), and a step's logits and scratch.
    /// With a team of `threads`, its scratch (`DecodingTeam.scratchBytes`) too.
    package static func memoryNeed(_ h: Hyperparameters, positions: Int, scalarBytes s: Int, threads: Int = 1) -> Int? {
        var capacity = 16
        while capacity < positions {
            let (doubled, overflow) = capacity.multipliedReportingOverflow(by: 2)
            if overflow { return nil }
            capacity = doubled
        }
        let hd = CheckedBytes.product(h.dHead, h.nHead)
        let tableRows = min(2 * min(max(positions, 64), PositionTable.keptRows), PositionTable.keptRows)
        return CheckedBytes.sum([
            hd.flatMap { CheckedBytes.product(2, $0, capacity, h.nBlock, s) },
            hd.flatMap { CheckedBytes.product($0, capacity / 2, h.nBlock, s) },
            CheckedBytes.product(tableRows, h.dModel, 8),
            CheckedBytes.product(h.vocabSize, 2 * s + 8),
            CheckedBytes.sum([h.dModel, hd.flatMap { CheckedBytes.product(4, $0) }, positions]).flatMap { CheckedBytes.product($0, s) },
            threads > 1 ? DecodingTeam<Double>.scratchBytes(h, threads: threads, capacity: capacity, scalarBytes: s) : 0,
        ])
    }

    /// Feeds `token` at the next position and returns that position's logits (V).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func append(_ token: Int) throws -> [Scalar] {
        let h = weights.hyperparameters
        guard token >= 0, token < h.vocabSize else {
            throw KernelError.tokenOutOfRange(position: count, token: token, vocabSize: h.vocabSize)
        }
        if count == capacity { grow() }
        let logits: [Scalar]
        if members > 1, let chooser {
            // Timed, so the chooser can leave a team that waits for busy cores.
            let onTeam: Bool
            switch chooser {
            case .shared(let kind): onTeam = DecodingSplitChooser.next(kind)
            case .own(var own):
                onTeam = own.next()
                self.chooser = .own(own)
            }
            let clock = ContinuousClock()
            let start = clock.now
            logits = configuration.applied { onTeam ? teamFeed(token) : feed(token) }
            let elapsed = start.duration(to: clock.now).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            let startedTeam = onTeam && !teamStarted
            if onTeam { teamStarted = true }
            switch self.chooser {
            case .shared(let kind)?: DecodingSplitChooser.record(kind, team: onTeam, seconds: seconds, startedTeam: startedTeam)
            case .own(var own)?:
                own.record(team: onTeam, seconds: seconds, startedTeam: startedTeam)
                self.chooser = .own(own)
            case nil: break
            }
        } else {
            logits = configuration.applied { members > 1 ? teamFeed(token) : feed(token) }
        }
        count += 1
        return logits
    }

    /// `feed(token)` on the team (made here on first use, or when a copy of
    /// this decoder shares it), serially should the team be unavailable.
    private mutating func teamFeed(_ token: Int) -> [Scalar] {
        let h = weights.hyperparameters
        if !isKnownUniquelyReferenced(&team) {
            team = DecodingTeam(h, threads: members, configuration: configuration)
        }
        guard let team else { return feed(token) }
        let d = h.dModel, position = count
        var x = Array(weights.W_E.scalars[(token * d)..<((token + 1) * d)])
        var logits = [Scalar](repeating: 0, count: h.vocabSize)
        let (cap, check) = (capacity, matchesFullPass)
        let matches = x.withUnsafeMutableBufferPointer { xb in
            Kernels.addPositions(rows: 1, firstPosition: position, dModel: d, base: h.constants.positionalBase, into: xb.baseAddress!)
            return keys.withUnsafeMutableBufferPointer { kb in
                values.withUnsafeMutableBufferPointer { vb in
                    logits.withUnsafeMutableBufferPointer { lb in
                        team.step(x: xb.baseAddress!, position: position, capacity: cap, check: check, keys: kb.baseAddress!,
                                  values: vb.baseAddress!, weights: weights, logits: lb.baseAddress!)
                    }
                }
            }
        }
        guard let matches else { return feed(token) }
        if !matches { matchesFullPass = false }
        return logits
    }

    /// The logits of `token` at position `count`, extending the cache, with
    /// the calling thread's configuration.
    private mutating func feed(_ token: Int) -> [Scalar] {
        let h = weights.hyperparameters
        let d = h.dModel, position = count
        var x = Array(weights.W_E.scalars[(token * d)..<((token + 1) * d)])
        var logits = [Scalar](repeating: 0, count: h.vocabSize)
        x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            Kernels.addPositions(rows: 1, firstPosition: position, dModel: d, base: h.constants.positionalBase, into: x)
            for b in 0..<h.nBlock { step(block: b, x: x) }
            weights.unembedding.withUnsafeBufferPointer { u in
                logits.withUnsafeMutableBufferPointer { l in
                    Gemm.multiply(m: 1, n: h.vocabSize, k: d, a: x, lda: d, b: u.baseAddress!, ldb: h.vocabSize, c: l.baseAddress!, ldc: h.vocabSize)
                }
            }
        }
        return logits
    }

    /// Doubles the cache, keeping what it holds.
    private mutating func grow() {
        let h = weights.hyperparameters
        let newCapacity = max(16, capacity * 2)
        let hd = h.nHead * h.dHead
        // Keys, then values: one kind's old cache is held beside the new one at a time.
        var k = [Scalar](repeating: 0, count: h.nBlock * hd * newCapacity)
        for b in 0..<h.nBlock {
            let (old, new) = (b * hd * capacity, b * hd * newCapacity)
            for row in 0..<hd {
                for l in 0..<count { k[new + row * newCapacity + l] = keys[old + row * capacity + l] }
            }
        }
        keys = k
        var v = [Scalar](repeating: 0, count: h.nBlock * hd * newCapacity)
        for b in 0..<h.nBlock {
            let (old, new) = (b * hd * capacity, b * hd * newCapacity)
            for head in 0..<h.nHead {
                for l in 0..<count {
                    for j in 0..<h.dHead {
                        v[new + (head * newCapacity + l) * h.dHead + j] = values[old + (head * capacity + l) * h.dHead + j]
                    }
                }
            }
        }
        values = v
        capacity = newCapacity
    }

    /// One block on the new row `x` (d_model), in place, extending the cache.
    private mutating func step(block b: Int, x: UnsafeMutablePointer<Scalar>) {
        let h = weights.hyperparameters
        let w = weights.blocks[b]
        let (d, dHead, nHead, nBlock) = (h.dModel, h.dHead, h.nHead, h.nBlock)
        let hd = dHead * nHead
        let position = count, visible = count + 1, cap = capacity
        let epsilon = Scalar(h.constants.rmsnormEpsilon)
        let mask = Scalar(h.constants.maskValue)
        let scale = Scalar(Double(dHead).squareRoot())
        var scratch = [Scalar](repeating: 0, count: d + 4 * hd + visible)
        scratch.withUnsafeMutableBufferPointer { sb in
            let normed = sb.baseAddress!
            let q = normed + d, k = q + hd, v = k + hd, context = v + hd, row = context + hd
            Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
            // q, k, v are adjacent: one product with the fused weights.
            weights.fusedQKV[b].withUnsafeBufferPointer {
                Gemm.multiply(m: 1, n: 3 * hd, k: d, a: normed, lda: d, b: $0.baseAddress!, ldb: 3 * hd, c: q, ldc: 3 * hd)
            }
            keys.withUnsafeMutableBufferPointer { kb in
                values.withUnsafeMutableBufferPointer { vb in
                    let kc = kb.baseAddress! + b * hd * cap, vc = vb.baseAddress! + b * hd * cap
                    for head in 0..<nHead {
                        let keysT = kc + head * dHead * cap       // (d_head, capacity)
                        let vals = vc + head * cap * dHead        // (capacity, d_head)
                        var qh = [Scalar](repeating: 0, count: dHead)
                        for j in 0..<dHead {
                            qh[j] = q[head * dHead + j]
                            keysT[j * cap + position] = k[head * dHead + j]
                            vals[position * dHead + j] = v[head * dHead + j]
                        }
                        qh.withUnsafeBufferPointer { qp in
                            Gemm.multiply(m: 1, n: visible, k: dHead, a: qp.baseAddress!, lda: dHead, b: keysT, ldb: cap, c: row, ldc: visible)
                        }
                        if b + 1 < nBlock && matchesFullPass {
                            // The weight this row's future positions get in a longer full pass:
                            // exp(mask − max), max over the scaled scores and the mask (the
                            // largest scaled score is the largest raw score, scaled).
                            var largest = row[0]
                            for l in 1..<visible where row[l] > largest { largest = row[l] }
                            let top = Swift.max(largest / scale, mask)
                            var masked = mask - top
                            Gemm.expInPlace(&masked, count: 1)
                            if masked != 0 { matchesFullPass = false }
                        }
                        Kernels.attentionRow(row, visible: visible, count: visible, width: visible, scale: scale, mask: mask)
                        Gemm.multiply(m: 1, n: dHead, k: visible, a: row, lda: visible, b: vals, ldb: dHead, c: context + head * dHead, ldc: hd)
                    }
                }
            }
            w.W_O.withUnsafeBufferPointer { Gemm.multiply(m: 1, n: d, k: hd, a: context, lda: hd, b: $0.baseAddress!, ldb: d, c: normed, ldc: d) }
            for i in 0..<d { x[i] = x[i] + normed[i] }
            Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
            w.W_1.withUnsafeBufferPointer { w1 in w.b_1.withUnsafeBufferPointer { b1 in
            w.W_2.withUnsafeBufferPointer { w2 in w.b_2.withUnsafeBufferPointer { b2 in
                Kernels.mlpRaw(m: 1, dModel: d, dMLP: h.dMLP, x: normed, W_1: w1.baseAddress!, b_1: b1.baseAddress!,
                               W_2: w2.baseAddress!, b_2: b2.baseAddress!, out: normed)
            }}}}
            for i in 0..<d { x[i] = x[i] + normed[i] }
        }
    }
}
