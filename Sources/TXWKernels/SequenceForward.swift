import TXWThreads

/// The forward pass over a whole sequence (`TransformerWeights.logits(for:)`),
/// scheduled so the kernel threads meet once per block.
///
/// Everything in a block but attention is row by row, and attention needs
/// only the keys and values of earlier rows. So the rows are cut into chunks
/// of `chunkRows`, the chunks are dealt to the threads in snake order
/// (0, 1, 1, 0, 0, 1, … for two threads: even shares of both the per-row work
/// and attention's triangle), and in one parallel region per block each
/// thread runs, chunk by chunk, block b's attention, output projection and
/// residual, MLP and residual, then block b+1's rmsnorm and Q/K/V projection
/// — or, after the last block, the unembedding. The projections alternate
/// between two buffers, so no thread writes keys another still reads. One
/// more region before the blocks embeds the tokens and projects block 0.
///
/// Every value is computed by the same operations in the same order,
/// whichever thread computes it and however many there are: chunk bounds
/// depend on m only, each GEMM element is one sum over k in increasing order,
/// and the attention weights past a row's own position are exactly 0 (the
/// weighted sum then stops at the chunk's last row; the extra terms would add
/// 0). If those weights are not 0 (scores within ~100 of the mask value in
/// f32), that chunk's sums run over all m positions, as the notebook's do.
enum SequenceForward {
    /// Rows per chunk. Each chunk reads all of a block's weights, in place
    /// when the chunk is small. 16 rows (GEMM row tiles 8 + 8, or 6 + 6 + 4) split
    /// m = 256 evenly across 2 threads and suit weights that stay in cache;
    /// past 4 MiB of weights per block, chunks of 128 rows pack each column
    /// panel of the weights once for 128 rows. (Measured, Spec/kernels.md:
    /// large toy, m = 512, f32: 472 ms with 16 rows, 187 ms with 128.)
    static func chunkRows(_ h: Hyperparameters, scalarBytes: Int) -> Int {
        let hd = h.dHead * h.nHead
        let blockWeights = h.dModel * (4 * hd + 2 * h.dMLP) * scalarBytes
        return blockWeights <= 4 << 20 ? 16 : 128
    }

    /// The fewest rows for which a pass packs the model's weights once
    /// (`PackedForwardWeights`): the rows from which the GEMM packs B itself
    /// (GEMM_PACK_ROWS in kernels_impl.h). A shorter pass (a prompt of a few
    /// tokens) reads the weights in place: packing them would cost more than
    /// the pass; weights packed earlier are used whatever the rows.
    static let packedMinimumRows = 24

    /// Below this many multiply-adds per block the pass runs on one thread.
    static let parallelThreshold = 1 << 20

    /// The chunks part `part` of `parts` computes: chunk c goes to part
    /// c mod P on even rounds (c / P) and to P − 1 − (c mod P) on odd ones.
    static func chunks(count: Int, parts: Int, part: Int) -> [Int] {
        (0..<count).filter { c in
            let (round, position) = c.quotientAndRemainder(dividingBy: parts)
            return (round % 2 == 0 ? position : parts - 1 - position) == part
        }
    }

    /// Unchecked: m ≥ 1 tokens in the vocabulary, `logits` (logitRows, V):
    /// the logits of the last `logitRows` positions (1 … m; default all m).
    /// Runs with the calling thread's `KernelConfiguration`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func run<T: KernelScalar>(
        _ weights: TransformerWeights<T>, tokens: [Int], logits: UnsafeMutablePointer<T>, logitRows: Int? = nil
    ) {
        run(weights, tokens: tokens, logits: logits, hidden: nil, logitRows: logitRows)
    }

    /// `run` writing either the logits (logitRows, V) or, when `logits` is
    /// nil, the final residual rows (m, d_model) into `hidden`, the
    /// unembedding's input: `hidden · W_Eᵀ` gives the same logits, element
    /// for element. `packing`: whether the weights are packed once for the
    /// GEMM (`PackedForwardWeights`): nil packs them on a pass of at least
    /// `packedMinimumRows` rows (weights packed earlier are used whatever
    /// m), false never uses them, true packs them whatever m (tests). The
    /// logits are the same bits either way.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func run<T: KernelScalar>(
        _ weights: TransformerWeights<T>, tokens: [Int], logits: UnsafeMutablePointer<T>?, hidden: UnsafeMutablePointer<T>?,
        logitRows: Int? = nil, packing: Bool? = nil
    ) {
        let h = weights.hyperparameters
        let plan = Plan(h, m: tokens.count, scalarBytes: MemoryLayout<T>.size, threads: KernelThreads.count)
        // The weights packed once (made here on the model's first long
        // enough pass, then kept), so no chunk packs or strides through them again.
        let packed = packing == false ? nil : weights.forwardPacks.packed(
            weights, panelVectors: GemmPlan.current(for: T.self).panelVectors,
            create: packing ?? (tokens.count >= packedMinimumRows))
        let pass = Pass(plan, h, tokens: tokens, logits: logits, firstLogitRow: tokens.count - (logitRows ?? tokens.count),
                        packed: packed)
        defer { pass.deallocate() }
        defer { if let hidden { hidden.update(from: pass.x.pointer, count: tokens.count * h.dModel) } }
        // The weights each region reads are pinned for that region only (a
        // fixed number of arrays whatever n_block is).
        func nextWeights(_ b: Int) -> [T] { b < h.nBlock ? weights.fusedQKV[b] : weights.unembedding }

        // Region 0: embedding, positions, block 0's projections.
        withBaseAddresses([weights.W_E.scalars, nextWeights(0)]) { p in
            // UnsafeShared rule 2: weights are only read.
            let (embedding, next) = (UnsafeShared(p[0]), UnsafeShared(p[1]))
            KernelThreads.parallel(plan.parts) { part in
                pass.embed(part: part, embedding: embedding.pointer, next: next.pointer)
            }
        }
        // One region per block.
        for b in 0..<h.nBlock {
            let block = weights.blocks[b]
            let arrays = [block.W_O.scalars, block.W_1.scalars, block.b_1.scalars, block.W_2.scalars, block.b_2.scalars,
                          nextWeights(b + 1)]
            withBaseAddresses(arrays) { p in
                let pinned = BlockPointers(p)
                KernelThreads.parallel(plan.parts) { part in pass.block(b, part: part, pinned) }
            }
        }
    }

    /// How one pass is cut: chunk size, chunk count, parts and which chunks each part computes.
    struct Plan: Sendable {
        let m, chunkRows, chunkCount, parts: Int
        let assignment: [[Int]]

        init(_ h: Hyperparameters, m: Int, scalarBytes: Int, threads: Int) {
            let hd = h.dHead * h.nHead
            self.m = m
            chunkRows = SequenceForward.chunkRows(h, scalarBytes: scalarBytes)
            chunkCount = (m + chunkRows - 1) / chunkRows
            // Multiply-adds per block, saturating (m is the caller's sequence length).
            let perRow = h.dModel * (3 * hd + hd + 2 * h.dMLP)
            let (workPerBlock, overflow) = m.multipliedReportingOverflow(by: perRow)
            let parallel = overflow || workPerBlock >= parallelThreshold
            // A local copy: the closure below may not capture `self` before init ends.
            let chunkCount = chunkCount
            let parts = parallel ? max(1, min(threads, chunkCount)) : 1
            self.parts = parts
            assignment = (0..<parts).map { SequenceForward.chunks(count: chunkCount, parts: parts, part: $0) }
        }

        /// Rows r0..<r1 of chunk c.
        func rows(_ c: Int) -> (Int, Int) { (c * chunkRows, min(c * chunkRows + chunkRows, m)) }
    }

    /// The six arrays a block's region reads, pinned for the region: W_O,
    /// W_1, b_1, W_2, b_2 and the next block's fused Q/K/V weights (or W_Eᵀ
    /// after the last block). UnsafeShared rule 2: only read.
    struct BlockPointers<T: KernelScalar>: Sendable {
        let W_O, W_1, b_1, W_2, b_2, next: UnsafeShared<UnsafePointer<T>>

        init(_ p: [UnsafePointer<T>]) {
            (W_O, W_1, b_1, W_2, b_2, next) = (UnsafeShared(p[0]), UnsafeShared(p[1]), UnsafeShared(p[2]),
                                               UnsafeShared(p[3]), UnsafeShared(p[4]), UnsafeShared(p[5]))
        }
    }

    /// The buffers of one pass and the steps each part runs on its chunks.
    ///
    /// Shared: x (m, d), two (m, 3·hd) projection buffers and two (hd, m)
    /// transposed-key buffers (row h·d_head + j: dimension j of head h's
    /// keys), and the logits. Per part: a (C, d) row buffer, the context
    /// (C, hd), the MLP's hidden (C, d_mlp), scores (C, m) and C flags.
    ///
    /// UnsafeShared rule 1, across the regions: in a region each part writes
    /// only the rows of its own chunks (of x, of the projection and key
    /// buffers of the next block, of the logits) and its own scratch. The
    /// projection and key buffers other parts' rows are read from were
    /// written in the previous region (the buffers alternate), which ended
    /// before this one started.
    struct Pass<T: KernelScalar>: Sendable {
        let plan: Plan
        let context: Context<T>
        let nBlock: Int
        let tokens: [Int]
        let positions: [Double]
        let perPart: Int
        /// The first row whose logits are computed (row r's go to row r − firstLogitRow of `logits`).
        let firstLogitRow: Int
        let x, scratch: UnsafeShared<UnsafeMutablePointer<T>>
        /// nil: the final rows stay in x (`run(_:tokens:logits:hidden:logitRows:)`).
        let logits: UnsafeShared<UnsafeMutablePointer<T>>?
        let projections, keyBuffers: (UnsafeShared<UnsafeMutablePointer<T>>, UnsafeShared<UnsafeMutablePointer<T>>)
        let flags: UnsafeShared<UnsafeMutablePointer<Bool>>
        /// The weights packed for the GEMM, when the model keeps them.
        let packed: PackedForwardWeights<T>?

        init(_ plan: Plan, _ h: Hyperparameters, tokens: [Int], logits: UnsafeMutablePointer<T>?, firstLogitRow: Int,
             packed: PackedForwardWeights<T>? = nil) {
            self.packed = packed
            let (m, d, C) = (plan.m, h.dModel, plan.chunkRows)
            self.firstLogitRow = firstLogitRow
            let hd = h.dHead * h.nHead, rs = 3 * hd
            self.plan = plan
            nBlock = h.nBlock
            self.tokens = tokens
            positions = PositionTable.rows(m, dModel: d, base: h.constants.positionalBase)
            context = Context(
                m: m, d: d, dHead: h.dHead, nHead: h.nHead, dMLP: h.dMLP, V: h.vocabSize,
                epsilon: T(h.constants.rmsnormEpsilon), mask: T(h.constants.maskValue),
                scale: T(Double(h.dHead).squareRoot()))
            let shared = UnsafeMutablePointer<T>.allocate(capacity: m * d + 2 * m * rs + 2 * hd * m)
            x = UnsafeShared(shared)
            projections = (UnsafeShared(shared + m * d), UnsafeShared(shared + m * d + m * rs))
            keyBuffers = (UnsafeShared(shared + m * d + 2 * m * rs), UnsafeShared(shared + m * d + 2 * m * rs + hd * m))
            perPart = C * d + C * hd + C * h.dMLP + C * m
            scratch = UnsafeShared(.allocate(capacity: plan.parts * perPart))
            flags = UnsafeShared(.allocate(capacity: plan.parts * C))
            self.logits = logits.map { UnsafeShared($0) }
        }

        func deallocate() {
            x.pointer.deallocate()
            scratch.pointer.deallocate()
            flags.pointer.deallocate()
        }

        /// Part `part`'s own buffers.
        func scratch(_ part: Int) -> Scratch<T> {
            Scratch(scratch.pointer + part * perPart, flags.pointer + part * plan.chunkRows, context, chunkRows: plan.chunkRows)
        }

        /// Region 0 for one part: embedding and positions of its rows, then block 0's projections.
        func embed(part: Int, embedding: UnsafePointer<T>, next: UnsafePointer<T>) {
            let s = scratch(part), d = context.d, x = x.pointer
            for c in plan.assignment[part] {
                let (r0, r1) = plan.rows(c)
                for i in r0..<r1 {
                    let row = x + i * d, source = embedding + tokens[i] * d
                    for j in 0..<d { row[j] = T(Double(source[j]) + positions[i * d + j]) }
                }
                project(0, rows: r0, r1, next: next, normed: s.rows)
            }
        }

        /// Block `b`'s region for one part: per chunk, attention, output
        /// projection and residual, MLP and residual, then the next block's
        /// projections (or the unembedding).
        func block(_ b: Int, part: Int, _ w: BlockPointers<T>) {
            let s = scratch(part)
            let (current, keys) = b % 2 == 0 ? (projections.0, keyBuffers.0) : (projections.1, keyBuffers.1)
            for c in plan.assignment[part] {
                let (r0, r1) = plan.rows(c)
                s.attention(current.pointer, keys: keys.pointer, rows: r0, r1)
                residual(b, s, rows: r0, r1, w)
                project(b + 1, rows: r0, r1, next: w.next.pointer, normed: s.rows)
            }
        }

        /// Rows r0..<r1 of x: x += context · W_O, then x += gelu(rmsnorm(x) · W_1 + b_1) · W_2 + b_2.
        func residual(_ b: Int, _ s: Scratch<T>, rows r0: Int, _ r1: Int, _ w: BlockPointers<T>) {
            let (d, dMLP, n) = (context.d, context.dMLP, r1 - r0)
            let hd = context.dHead * context.nHead
            let x = x.pointer + r0 * d
            let (b_1, b_2) = (w.b_1.pointer, w.b_2.pointer)
            Gemm.serial(m: n, n: d, k: hd, a: s.context, lda: hd, packed: packed?.W_O[b], b: w.W_O.pointer, ldb: d,
                        c: s.rows, ldc: d)
            s.addRows(into: x, n)
            Kernels.rmsnormRows(rows: n, cols: d, x: x, epsilon: context.epsilon, out: s.rows)
            Gemm.serial(m: n, n: dMLP, k: d, a: s.rows, lda: d, packed: packed?.W_1[b], b: w.W_1.pointer, ldb: dMLP,
                        c: s.hidden, ldc: dMLP)
            for i in 0..<n {
                let row = s.hidden + i * dMLP
                for j in 0..<dMLP { row[j] += b_1[j] }
            }
            Gemm.geluInPlace(s.hidden, count: n * dMLP)
            Gemm.serial(m: n, n: d, k: dMLP, a: s.hidden, lda: dMLP, packed: packed?.W_2[b], b: w.W_2.pointer, ldb: d,
                        c: s.rows, ldc: d)
            for i in 0..<n {
                let row = s.rows + i * d
                for j in 0..<d { row[j] += b_2[j] }
            }
            s.addRows(into: x, n)
        }

        /// rmsnorm of x's rows r0..<r1, then the projections and transposed
        /// keys for block `b` with its fused weights `next`, or, after the
        /// last block, the unembedding (`next` is then W_Eᵀ).
        func project(_ b: Int, rows r0: Int, _ r1: Int, next: UnsafePointer<T>, normed: UnsafeMutablePointer<T>) {
            let (m, d) = (context.m, context.d)
            let hd = context.dHead * context.nHead, rs = 3 * hd
            if b < nBlock {
                let (buffer, keys) = b % 2 == 0 ? (projections.0.pointer, keyBuffers.0.pointer) : (projections.1.pointer, keyBuffers.1.pointer)
                Kernels.rmsnormRows(rows: r1 - r0, cols: d, x: x.pointer + r0 * d, epsilon: context.epsilon, out: normed)
                Gemm.serial(m: r1 - r0, n: rs, k: d, a: normed, lda: d, packed: packed?.fusedQKV[b], b: next, ldb: rs,
                            c: buffer + r0 * rs, ldc: rs)
                for j in 0..<hd {
                    let source = buffer + hd + j, row = keys + j * m
                    for i in r0..<r1 { row[i] = source[i * rs] }
                }
            } else if let logits {
                // Only rows from firstLogitRow on; each logit is the same sum whatever rows are computed with it.
                let V = context.V, first = max(r0, firstLogitRow)
                guard first < r1 else { return }
                Gemm.serial(m: r1 - first, n: V, k: d, a: x.pointer + first * d, lda: d, packed: packed?.unembedding,
                            b: next, ldb: V, c: logits.pointer + (first - firstLogitRow) * V, ldc: V)
            }
        }
    }

    /// Sizes and constants of one pass.
    struct Context<T: KernelScalar>: Sendable {
        let m, d, dHead, nHead, dMLP, V: Int
        let epsilon, mask, scale: T
    }

    /// One part's buffers and its per-chunk steps.
    struct Scratch<T: KernelScalar> {
        let c: Context<T>
        /// (C, d): normalised rows, then each sub-layer's output.
        let rows: UnsafeMutablePointer<T>
        /// (C, hd): the heads' weighted sums, head h at columns h·d_head.
        let context: UnsafeMutablePointer<T>
        /// (C, d_mlp).
        let hidden: UnsafeMutablePointer<T>
        /// (C, m): one head's attention weights for the chunk.
        let scores: UnsafeMutablePointer<T>
        /// (C): whether a row's masked attention weight is 0.
        let zeroWeight: UnsafeMutablePointer<Bool>

        init(_ base: UnsafeMutablePointer<T>, _ flags: UnsafeMutablePointer<Bool>, _ c: Context<T>, chunkRows C: Int) {
            zeroWeight = flags
            let hd = c.dHead * c.nHead
            self.c = c
            rows = base
            context = rows + C * c.d
            hidden = context + C * hd
            scores = hidden + C * c.dMLP
        }

        /// Causal attention of rows r0..<r1 for every head into `context`.
        func attention(_ projections: UnsafeMutablePointer<T>, keys: UnsafeMutablePointer<T>, rows r0: Int, _ r1: Int) {
            let (m, dHead) = (c.m, c.dHead)
            let hd = dHead * c.nHead, rs = 3 * hd, n = r1 - r0
            for head in 0..<c.nHead {
                // Scores of the chunk's rows against keys 0..<r1.
                Gemm.serial(m: n, n: r1, k: dHead, a: projections + r0 * rs + head * dHead, lda: rs,
                            b: keys + head * dHead * m, ldb: m, c: scores, ldc: m)
                // Rows whose masked weight is 0 (almost always all) hold weights up to r1 only.
                var full = false
                for i in 0..<n {
                    let weight = Kernels.attentionRow(scores + i * m, visible: r0 + i + 1, count: m, width: r1,
                                                      scale: c.scale, mask: c.mask)
                    zeroWeight[i] = weight == 0
                    if weight != 0 { full = true }
                }
                if full {
                    // Some masked weight is not 0: every row's sum over all m positions.
                    for i in 0..<n where zeroWeight[i] {
                        for l in r1..<m { scores[i * m + l] = 0 }
                    }
                }
                Gemm.serial(m: n, n: dHead, k: full ? m : r1, a: scores, lda: m,
                            b: projections + 2 * hd + head * dHead, ldb: rs, c: context + head * dHead, ldc: hd)
            }
        }

        /// x[i] = x[i] + rows[i] over n rows.
        func addRows(into x: UnsafeMutablePointer<T>, _ n: Int) {
            for i in 0..<(n * c.d) { x[i] = x[i] + rows[i] }
        }
    }

    /// The bytes one pass over m rows allocates besides its output (nil on
    /// overflow), with at most `threads` parts: x, the two projection and
    /// two key buffers, each part's scratch and flags (chunks of at most 128
    /// rows), the float64 positions (m, d_model), and, when the pass packs
    /// the weights (`PackedForwardWeights`: at least `packedMinimumRows`
    /// rows), that copy, kept with the model.
    package static func memoryNeed(_ h: Hyperparameters, m: Int, scalarBytes s: Int, threads: Int) -> Int? {
        var packedBytes: Int? = 0
        if m >= packedMinimumRows {
            let level = KernelInstructionSet.level
            let vectors = s == 4 ? GemmPlan.current(for: Float.self, level: level).panelVectors
                                 : GemmPlan.current(for: Double.self, level: level).panelVectors
            packedBytes = ForwardPackCache.bytes(h, scalarBytes: s, level: level, panelVectors: vectors)
        }
        let hd = CheckedBytes.product(h.dHead, h.nHead)
        let C = min(chunkRows(h, scalarBytes: s), max(m, 1))
        let perPart = CheckedBytes.sum([CheckedBytes.product(C, h.dModel), hd.flatMap { CheckedBytes.product(C, $0) },
                                        CheckedBytes.product(C, h.dMLP), CheckedBytes.product(C, m)])
        let shared = CheckedBytes.sum([CheckedBytes.product(m, h.dModel), hd.flatMap { CheckedBytes.product(8, m, $0) }])
        let parts = max(1, min(threads, (m + C - 1) / C))
        return CheckedBytes.sum([
            shared.flatMap { CheckedBytes.product($0, s) },
            perPart.flatMap { CheckedBytes.product($0, s, parts) },
            CheckedBytes.product(parts, C),
            CheckedBytes.product(m, h.dModel, 8),
            packedBytes,
        ])
    }

    /// Calls `body` with the base address of every array, valid for the call
    /// (one nested closure per array: callers pass a handful).
    static func withBaseAddresses<T, R>(_ arrays: [[T]], _ body: ([UnsafePointer<T>]) -> R) -> R {
        var pointers: [UnsafePointer<T>] = []
        pointers.reserveCapacity(arrays.count)
        // Validated weights are never empty; an empty array gets a placeholder never read.
        let placeholder = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { placeholder.deallocate() }
        func nest(_ i: Int) -> R {
            if i == arrays.count { return body(pointers) }
            return arrays[i].withUnsafeBufferPointer { buffer in
                pointers.append(buffer.baseAddress ?? UnsafePointer(placeholder))
                return nest(i + 1)
            }
        }
        return nest(0)
    }
}
