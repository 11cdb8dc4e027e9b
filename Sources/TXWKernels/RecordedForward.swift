import TXWThreads

/// The forward pass of `SequenceForward` with its intermediates recorded
/// and heads or neurons ablated (`TransformerWeights.activations(for:selecting:ablation:configuration:)`,
/// `logits(for:ablation:configuration:)`, the ablated loss and sampling).
///
/// The same plan (chunks, parts), the same buffers and the same steps on
/// each chunk, so every value is the one the plain pass computes, bit for
/// bit; recording copies values out, it changes none. The steps of a block
/// are three: A, attention (q, k, v, scores, pattern recorded); B, the
/// ablated heads' z replaced, `·W_O`, the residual, rmsnorm, `·W_1 + b_1`
/// and GELU; C, the ablated neurons replaced, `·W_2 + b_2`, the residual,
/// then the next block's rmsnorm and projections (or the unembedding). They
/// run in one parallel region per block, as in the plain pass, except where
/// a mean ablation needs every position's value first: after A (heads
/// ablated by the mean in this block) or B (neurons) the region ends, z (or
/// the MLP's hidden values) wait in an (m, ·) buffer, the caller's thread
/// computes the means, and a new region continues.
enum RecordedForward {
    typealias Shared<T> = UnsafeShared<UnsafeMutablePointer<T>>

    /// Where each selected activation goes (nil: not recorded).
    struct Recorder<T: KernelScalar>: Sendable {
        let embed, posEmbed: Shared<T>?
        let blocks: [[Shared<T>?]]

        init(_ pointers: [String: UnsafeMutablePointer<T>], nBlock: Int) {
            embed = pointers["hook_embed"].map { Shared($0) }
            posEmbed = pointers["hook_pos_embed"].map { Shared($0) }
            blocks = (0..<nBlock).map { b in BlockHook.allCases.map { pointers["blocks.\(b).\($0.suffix)"].map { Shared($0) } } }
        }

        func at(_ b: Int, _ hook: BlockHook) -> UnsafeMutablePointer<T>? { blocks[b][hook.rawValue]?.pointer }
    }

    /// The ablated heads and neurons of each block.
    struct Targets: Sendable {
        let heads, neurons: [[Int]]
        let mean: Bool

        /// `computeMeans` false: a mean ablation's values are given (fixed), so nothing waits for them.
        init(_ ablation: Ablation?, nBlock: Int, computeMeans: Bool = true) {
            var heads = [[Int]](repeating: [], count: nBlock), neurons = heads
            for t in ablation?.targets ?? [] {
                switch t {
                case let .head(b, h): heads[b].append(h)
                case let .neuron(b, n): neurons[b].append(n)
                }
            }
            (self.heads, self.neurons, mean) = (heads, neurons, ablation?.mode == .mean && computeMeans)
        }

        func splitsAfterAttention(_ b: Int) -> Bool { mean && !heads[b].isEmpty }
        func splitsAfterHidden(_ b: Int) -> Bool { mean && !neurons[b].isEmpty }
    }

    /// Unchecked: m ≥ 1 valid tokens, a validated ablation. Writes the
    /// logits (m, V) when `logits` is given, the final residual rows (m,
    /// d_model) into `hidden` when it is, the selected activations, and —
    /// into `replacements` when given (n_block·(n_head·d_head + d_mlp)) —
    /// the values the ablated heads and neurons were replaced by (block b's
    /// heads at b·(hd + d_mlp) + h·d_head, its neurons at b·(hd + d_mlp) + hd + n).
    /// With `fixed`, those values are taken from it instead (a mean computed
    /// before, see the sampler). Runs with the calling thread's configuration.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func run<T: KernelScalar>(
        _ weights: TransformerWeights<T>, tokens: [Int], logits: UnsafeMutablePointer<T>?, hidden: UnsafeMutablePointer<T>?,
        recorder: Recorder<T>?, ablation: Ablation?, replacements: UnsafeMutablePointer<T>? = nil, fixed: [T]? = nil
    ) {
        let h = weights.hyperparameters
        let m = tokens.count
        let (d, hd) = (h.dModel, h.dHead * h.nHead)
        let plan = SequenceForward.Plan(h, m: m, scalarBytes: MemoryLayout<T>.size, threads: KernelThreads.count)
        // The weights packed once, as `SequenceForward.run` packs them (the same bits).
        let packed = weights.forwardPacks.packed(
            weights, panelVectors: GemmPlan.current(for: T.self).panelVectors,
            create: m >= SequenceForward.packedMinimumRows)
        let pass = SequenceForward.Pass(plan, h, tokens: tokens, logits: logits, firstLogitRow: 0, packed: packed)
        defer { pass.deallocate() }
        defer { if let hidden { hidden.update(from: pass.x.pointer, count: m * d) } }
        let targets = Targets(ablation, nBlock: h.nBlock, computeMeans: fixed == nil)
        let perBlock = hd + h.dMLP
        // The replacement values (zeros for `zero`; means filled in between regions), then z and the hidden values.
        let values = UnsafeMutablePointer<T>.allocate(capacity: h.nBlock * perBlock)
        values.initialize(repeating: 0, count: h.nBlock * perBlock)
        if let fixed { values.update(from: fixed, count: h.nBlock * perBlock) }
        defer {
            if let replacements { replacements.update(from: values, count: h.nBlock * perBlock) }
            values.deallocate()
        }
        let waiting = UnsafeMutablePointer<T>.allocate(capacity: targets.mean ? m * perBlock : 1)
        defer { waiting.deallocate() }
        let steps = Steps(pass: pass, recorder: recorder, targets: targets, values: Shared(values),
                          zBuffer: Shared(waiting), hiddenBuffer: Shared(waiting + m * hd), m: m, perBlock: perBlock,
                          computeMeans: fixed == nil)
        func nextWeights(_ b: Int) -> [T] { b < h.nBlock ? weights.fusedQKV[b] : weights.unembedding }

        SequenceForward.withBaseAddresses([weights.W_E.scalars, nextWeights(0)]) { p in
            // UnsafeShared rule 2: weights are only read.
            let (embedding, next) = (UnsafeShared(p[0]), UnsafeShared(p[1]))
            KernelThreads.parallel(plan.parts) { part in
                steps.embed(part: part, embedding: embedding.pointer, next: next.pointer)
            }
        }
        for b in 0..<h.nBlock {
            let block = weights.blocks[b]
            let arrays = [block.W_O.scalars, block.W_1.scalars, block.b_1.scalars, block.W_2.scalars, block.b_2.scalars,
                          nextWeights(b + 1)]
            SequenceForward.withBaseAddresses(arrays) { p in
                let pinned = SequenceForward.BlockPointers(p)
                // Regions: [A B C], or split after A and/or B for the means.
                var groups: [[Int]] = [[0]]
                if targets.splitsAfterAttention(b) { groups.append([]) }
                groups[groups.count - 1].append(1)
                if targets.splitsAfterHidden(b) { groups.append([]) }
                groups[groups.count - 1].append(2)
                for (g, group) in groups.enumerated() {
                    if g > 0 {
                        // Between regions, on this thread: rule 3 (one owner at a time).
                        if group.first == 1 { steps.headMeans(b) } else { steps.neuronMeans(b) }
                    }
                    let split = (afterA: targets.splitsAfterAttention(b), afterB: targets.splitsAfterHidden(b))
                    KernelThreads.parallel(plan.parts) { part in
                        steps.block(b, part: part, steps: group, split: split, pinned)
                    }
                }
            }
        }
    }

    /// The steps on one chunk, with what they record and replace.
    ///
    /// UnsafeShared: as `SequenceForward.Pass` (rule 1: each part writes
    /// only its chunks' rows of x, of the projections, of every recorded
    /// activation — the (head, query, key) ones too: their query rows — and
    /// of the z and hidden buffers, and its own scratch); `values` is
    /// written only between regions, by the calling thread (rule 3), and
    /// read in them (rule 2).
    struct Steps<T: KernelScalar>: Sendable {
        let pass: SequenceForward.Pass<T>
        let recorder: Recorder<T>?
        let targets: Targets
        let values, zBuffer, hiddenBuffer: Shared<T>
        let m, perBlock: Int
        let computeMeans: Bool

        var c: SequenceForward.Context<T> { pass.context }

        func copy(_ from: UnsafePointer<T>, _ count: Int, to: UnsafeMutablePointer<T>?) {
            to?.update(from: from, count: count)
        }

        func embed(part: Int, embedding: UnsafePointer<T>, next: UnsafePointer<T>) {
            let s = pass.scratch(part), d = c.d, x = pass.x.pointer
            for chunk in pass.plan.assignment[part] {
                let (r0, r1) = pass.plan.rows(chunk)
                for i in r0..<r1 {
                    let row = x + i * d, source = embedding + pass.tokens[i] * d
                    for j in 0..<d { row[j] = T(Double(source[j]) + pass.positions[i * d + j]) }
                    if let e = recorder?.embed?.pointer { (e + i * d).update(from: source, count: d) }
                    if let p = recorder?.posEmbed?.pointer {
                        for j in 0..<d { p[i * d + j] = T(pass.positions[i * d + j]) }
                    }
                }
                project(0, rows: r0, r1, next: next, s)
            }
        }

        /// The next block's rmsnorm and projections (or the unembedding), recording resid_pre and ln1.
        func project(_ b: Int, rows r0: Int, _ r1: Int, next: UnsafePointer<T>, _ s: SequenceForward.Scratch<T>) {
            let d = c.d, n = r1 - r0, x = pass.x.pointer + r0 * d
            if b < pass.nBlock, let recorder {
                copy(x, n * d, to: recorder.at(b, .residPre).map { $0 + r0 * d })
                if let scale = recorder.at(b, .ln1Scale) {
                    Kernels.rmsnormScales(rows: n, cols: d, x: x, epsilon: c.epsilon, out: scale + r0)
                }
            }
            pass.project(b, rows: r0, r1, next: next, normed: s.rows)
            if b < pass.nBlock, let recorder {
                copy(s.rows, n * d, to: recorder.at(b, .ln1Normalized).map { $0 + r0 * d })
            }
        }

        func block(_ b: Int, part: Int, steps: [Int], split: (afterA: Bool, afterB: Bool), _ w: SequenceForward.BlockPointers<T>) {
            let s = pass.scratch(part)
            let (d, dMLP, hd) = (c.d, c.dMLP, c.dHead * c.nHead)
            let (current, keys) = b % 2 == 0 ? (pass.projections.0, pass.keyBuffers.0) : (pass.projections.1, pass.keyBuffers.1)
            let blockValues = values.pointer + b * perBlock
            for chunk in pass.plan.assignment[part] {
                let (r0, r1) = pass.plan.rows(chunk)
                let n = r1 - r0, x = pass.x.pointer + r0 * d
                if steps.contains(0) {
                    attention(b, s, current.pointer, keys: keys.pointer, rows: r0, r1)
                    if split.afterA { (zBuffer.pointer + r0 * hd).update(from: s.context, count: n * hd) }
                }
                if steps.contains(1) {
                    if split.afterA { s.context.update(from: zBuffer.pointer + r0 * hd, count: n * hd) }
                    for head in targets.heads[b] {
                        for i in 0..<n {
                            (s.context + i * hd + head * c.dHead).update(from: blockValues + head * c.dHead, count: c.dHead)
                        }
                    }
                    copy(s.context, n * hd, to: recorder?.at(b, .z).map { $0 + r0 * hd })
                    Gemm.serial(m: n, n: d, k: hd, a: s.context, lda: hd, packed: pass.packed?.W_O[b], b: w.W_O.pointer,
                                ldb: d, c: s.rows, ldc: d)
                    copy(s.rows, n * d, to: recorder?.at(b, .attnOut).map { $0 + r0 * d })
                    s.addRows(into: x, n)
                    copy(x, n * d, to: recorder?.at(b, .residMid).map { $0 + r0 * d })
                    if let scale = recorder?.at(b, .ln2Scale) {
                        Kernels.rmsnormScales(rows: n, cols: d, x: x, epsilon: c.epsilon, out: scale + r0)
                    }
                    Kernels.rmsnormRows(rows: n, cols: d, x: x, epsilon: c.epsilon, out: s.rows)
                    copy(s.rows, n * d, to: recorder?.at(b, .ln2Normalized).map { $0 + r0 * d })
                    Gemm.serial(m: n, n: dMLP, k: d, a: s.rows, lda: d, packed: pass.packed?.W_1[b], b: w.W_1.pointer,
                                ldb: dMLP, c: s.hidden, ldc: dMLP)
                    let b_1 = w.b_1.pointer
                    for i in 0..<n {
                        let row = s.hidden + i * dMLP
                        for j in 0..<dMLP { row[j] += b_1[j] }
                    }
                    copy(s.hidden, n * dMLP, to: recorder?.at(b, .mlpPre).map { $0 + r0 * dMLP })
                    Gemm.geluInPlace(s.hidden, count: n * dMLP)
                    if split.afterB { (hiddenBuffer.pointer + r0 * dMLP).update(from: s.hidden, count: n * dMLP) }
                }
                if steps.contains(2) {
                    if split.afterB { s.hidden.update(from: hiddenBuffer.pointer + r0 * dMLP, count: n * dMLP) }
                    for neuron in targets.neurons[b] {
                        let value = blockValues[hd + neuron]
                        for i in 0..<n { s.hidden[i * dMLP + neuron] = value }
                    }
                    copy(s.hidden, n * dMLP, to: recorder?.at(b, .mlpPost).map { $0 + r0 * dMLP })
                    Gemm.serial(m: n, n: d, k: dMLP, a: s.hidden, lda: dMLP, packed: pass.packed?.W_2[b], b: w.W_2.pointer,
                                ldb: d, c: s.rows, ldc: d)
                    let b_2 = w.b_2.pointer
                    for i in 0..<n {
                        let row = s.rows + i * d
                        for j in 0..<d { row[j] += b_2[j] }
                    }
                    copy(s.rows, n * d, to: recorder?.at(b, .mlpOut).map { $0 + r0 * d })
                    s.addRows(into: x, n)
                    copy(x, n * d, to: recorder?.at(b, .residPost).map { $0 + r0 * d })
                    project(b + 1, rows: r0, r1, next: w.next.pointer, s)
                }
            }
        }

        /// `Scratch.attention` with q, k, v, the scaled and masked scores and the pattern recorded.
        func attention(_ b: Int, _ s: SequenceForward.Scratch<T>, _ projections: UnsafeMutablePointer<T>,
                       keys: UnsafeMutablePointer<T>, rows r0: Int, _ r1: Int) {
            let (m, dHead) = (c.m, c.dHead)
            let hd = dHead * c.nHead, rs = 3 * hd, n = r1 - r0
            if let recorder {
                for (hook, offset) in [(BlockHook.q, 0), (.k, hd), (.v, 2 * hd)] {
                    guard let out = recorder.at(b, hook) else { continue }
                    for i in r0..<r1 { (out + i * hd).update(from: projections + i * rs + offset, count: hd) }
                }
            }
            let scoresOut = recorder?.at(b, .attnScores), patternOut = recorder?.at(b, .pattern)
            let scores = s.scores
            for head in 0..<c.nHead {
                Gemm.serial(m: n, n: r1, k: dHead, a: projections + r0 * rs + head * dHead, lda: rs,
                            b: keys + head * dHead * m, ldb: m, c: scores, ldc: m)
                var full = false
                for i in 0..<n {
                    let visible = r0 + i + 1
                    if let scoresOut {
                        // The division attentionRow does, then the mask value (Spec/kernels.md).
                        let out = scoresOut + (head * m + r0 + i) * m
                        for l in 0..<visible { out[l] = scores[i * m + l] / c.scale }
                        for l in visible..<m { out[l] = c.mask }
                    }
                    let weight = Kernels.attentionRow(scores + i * m, visible: visible, count: m, width: r1,
                                                      scale: c.scale, mask: c.mask)
                    s.zeroWeight[i] = weight == 0
                    if weight != 0 { full = true }
                    if let patternOut {
                        let out = patternOut + (head * m + r0 + i) * m
                        out.update(from: scores + i * m, count: visible)
                        for l in visible..<m { out[l] = weight }
                    }
                }
                if full {
                    for i in 0..<n where s.zeroWeight[i] {
                        for l in r1..<m { scores[i * m + l] = 0 }
                    }
                }
                Gemm.serial(m: n, n: dHead, k: full ? m : r1, a: scores, lda: m,
                            b: projections + 2 * hd + head * dHead, ldb: rs, c: s.context + head * dHead, ldc: hd)
            }
        }

        /// Block b's ablated heads: the mean over positions of z (float64 sums in position order).
        func headMeans(_ b: Int) {
            let (hd, dHead) = (c.dHead * c.nHead, c.dHead)
            let z = zBuffer.pointer, out = values.pointer + b * perBlock
            for head in targets.heads[b] {
                for j in 0..<dHead {
                    var sum = 0.0
                    for i in 0..<m { sum += Double(z[i * hd + head * dHead + j]) }
                    out[head * dHead + j] = T(sum / Double(m))
                }
            }
        }

        /// Block b's ablated neurons: the mean over positions of the GELU output.
        func neuronMeans(_ b: Int) {
            let (hd, dMLP) = (c.dHead * c.nHead, c.dMLP)
            let hidden = hiddenBuffer.pointer, out = values.pointer + b * perBlock + hd
            for neuron in targets.neurons[b] {
                var sum = 0.0
                for i in 0..<m { sum += Double(hidden[i * dMLP + neuron]) }
                out[neuron] = T(sum / Double(m))
            }
        }
    }
}
