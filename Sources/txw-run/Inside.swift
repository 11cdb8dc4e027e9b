import ArgumentParser
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

/// --cache and --lens (Spec/cli.md, "Look inside a run").
extension Run {
    /// Refuses more tokens than the model's context length unless --past-context (as --logits does).
    func checkWholeSequence<T>(_ loaded: LoadedModel<T>, _ tokens: [Int], what: String) throws {
        if let trained = loaded.contextLength, tokens.count > trained, !window.pastContext {
            throw ToolFailure("\(Formatting.name(InputFile.name(model))): \(tokens.count) tokens are more than the model's context length \(trained) "
                + "(model.context_length): \(what) past it is past anything it was trained on; pass --past-context to compute it anyway")
        }
    }

    func runCache<T: KernelScalar>(_ loaded: LoadedModel<T>, headerChecksum: UInt64) throws {
        guard let out = inside.cache, let (tokens, text) = try inputTokensAndText(loaded) else { return }
        try checkWholeSequence(loaded, tokens, what: "an activation cache")
        let w = loaded.weights
        let selected = try inside.selected(from: TransformerWeights<T>.activationNames(nBlock: loaded.hyperparameters.nBlock))
        if out != "-" { try AtomicFile.checkDestination(out, overwrite: inside.force) }
        let threads = KernelConfiguration.defaultThreads
        let need = w.activationsMemoryNeed(tokens: tokens.count, selecting: selected.contains, threads: threads)
        let pass = w.recordedMemoryNeed(m: tokens.count, threads: threads)
        // While the file is made: the cache, a copy of its bytes and the file.
        let cacheBytes = need.flatMap { n in pass.map { n - $0 } }
        try checkMemory(loaded, MemoryBudget.sum([need, cacheBytes.flatMap { MemoryBudget.bytes(count: $0, size: 2) },
                                                  MemoryBudget.bytes(count: tokens.count, size: 64), 1 << 20]),
                        for: "the activation cache of \(tokens.count) tokens (\(selected.count) activations"
                            + (cacheBytes.map { ", \(Formatting.grouped($0)) bytes" } ?? "") + ", held while the file is written)")
        let cache = try w.activations(for: tokens, selecting: selected.contains, ablation: inside.ablation)
        Self.warnNonFinite(cache, maskValue: loaded.hyperparameters.constants.maskValue)
        let source = ActivationCacheFile.Source(modelName: InputFile.name(model), modelHeaderChecksum: headerChecksum, text: text)
        let npz = out.lowercased().hasSuffix(".npz")
        let bytes = npz ? try ActivationCacheFile.npzBytes(cache, source: source) : try ActivationCacheFile.txwBytes(cache, source: source)
        if out == "-" {
            try Console.write(bytes)
            return
        }
        try AtomicFile.write(bytes, to: out, overwrite: inside.force)
        if json {
            try Console.out(try JSONOutput.text(CacheJSON(
                cache: out, format: npz ? "npz" : "txw", bytes: bytes.count, tokens: tokens.count, precision: precision.rawValue,
                activations: cache.entries.map(\.name), ablate: inside.ablation?.targets.map(\.description) ?? [],
                ablateMode: inside.ablation?.mode.rawValue)))
        } else {
            try Console.out("wrote \(cache.entries.count) activations of \(tokens.count) tokens (\(precision.rawValue), "
                + "\(Formatting.grouped(bytes.count)) bytes) to \(Formatting.name(out))")
        }
    }

    func runLens<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        let tokens = try inputTokens(loaded) ?? []
        try checkWholeSequence(loaded, tokens, what: "a logit lens")
        let k = sampling.k(for: .lens)
        // The lens and its rendering: per entry 3 numbers (24 bytes) and at
        // most ~200 bytes of table or JSON text (a token escaped, a logit, a
        // probability), the whole output built before it is written.
        let h = loaded.hyperparameters
        let entries = CheckedProduct.of([h.nBlock + 1, tokens.count, min(k, h.vocabSize), 224])
        try checkMemory(loaded, MemoryBudget.sum([loaded.weights.logitLensMemoryNeed(tokens: tokens.count, threads: KernelConfiguration.defaultThreads),
                                                  entries]),
                        for: "the logit lens of \(tokens.count) tokens (k \(min(k, h.vocabSize)))")
        let lens = try loaded.weights.logitLens(for: tokens, k: k, ablation: inside.ablation)
        try Self.refuseNonFinite(lens)
        let vocabulary = loaded.vocabulary
        func label(_ id: Int) -> String { vocabulary.map { Formatting.token($0.tokens[id]) } ?? String(id) }
        let columns = lens.points.enumerated().map { $0.offset == 0 ? "embed" : "block \($0.offset - 1)" }
        if json {
            let positions = (0..<tokens.count).map { i in
                LensJSON.Position(position: i, id: tokens[i], token: vocabulary.map { $0.tokens[tokens[i]] }, points: (0..<lens.points.count).map { p in
                    (0..<lens.k).map { r in
                        let at = lens.index(point: p, position: i, rank: r)
                        return LensJSON.Entry(id: lens.ids[at], token: vocabulary.map { $0.tokens[lens.ids[at]] },
                                              logit: lens.logits[at], probability: lens.probabilities[at])
                    }
                })
            }
            try Console.out(try JSONOutput.text(LensJSON(
                points: lens.points, k: lens.k, tokens: tokens, ablate: inside.ablation?.targets.map(\.description) ?? [],
                ablateMode: inside.ablation?.mode.rawValue, positions: positions)))
            return
        }
        // Positions as rows (k lines each: rank 1 … k), points as columns: "token probability".
        var rows: [[String]] = [["pos", "input", "rank"] + columns]
        for i in 0..<tokens.count {
            for r in 0..<lens.k {
                var row = [r == 0 ? String(i) : "", r == 0 ? label(tokens[i]) : "", String(r + 1)]
                for p in 0..<lens.points.count {
                    let at = lens.index(point: p, position: i, rank: r)
                    row.append(label(lens.ids[at]) + " " + Self.probability(lens.probabilities[at]))
                }
                rows.append(row)
            }
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
        var text = ChunkedText(sink: { try Console.out($0, terminator: "") })
        if let ablation = inside.ablation {
            try text.append("ablated (\(ablation.mode.rawValue)): \(ablation.targets.map(\.description).joined(separator: ", "))\n")
        }
        for row in rows {
            let cells = row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count) }
            try text.append(cells.joined(separator: "  ") + "\n")
        }
        try text.flush()
    }

    /// --report OUT.html: the page of one input (Spec/cli.md, "Report page").
    func runReport<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        guard let out = inside.report, let tokens = try inputTokens(loaded) else { return }
        try checkWholeSequence(loaded, tokens, what: "a report")
        if out != "-" { try AtomicFile.checkDestination(out, overwrite: inside.force) }
        let h = loaded.hyperparameters, w = loaded.weights, m = tokens.count, threads = KernelConfiguration.defaultThreads
        let k = sampling.k(for: .report)
        // Held at once: the patterns (in T and as Float), the lens, one loss
        // pass at a time, and the page (its embedded weights, the lens table
        // at most ~128 bytes an entry, the rest; twice, as text and as bytes).
        let product = CheckedProduct.of
        let patterns = product([h.nBlock, h.nHead, m, m]).flatMap { MemoryBudget.bytes(count: $0, size: MemoryLayout<T>.size + 4) }
        let page = MemoryBudget.sum([ReportPage.embeddedWeightBytes(m: m, nBlock: h.nBlock, nHead: h.nHead),
                                     product([h.nBlock + 1, m, min(k, h.vocabSize), 152]),
                                     MemoryBudget.bytes(count: m, size: 256), 1 << 20])
        try checkMemory(loaded, MemoryBudget.sum([
            w.activationsMemoryNeed(tokens: m, selecting: { $0.hasSuffix(".attn.hook_pattern") }, threads: threads), patterns,
            w.logitLensMemoryNeed(tokens: m, threads: threads),
            m >= 2 ? w.lossMemoryNeed(tokens: m, context: m, threads: threads) : 0,
            m >= 2 ? w.recordedMemoryNeed(m: m, threads: threads) : 0,
            page, page,
        ]), for: "the report of \(m) tokens (\(h.nBlock) × \(h.nHead) attention patterns of \(m) × \(m))")

        let vocabulary = loaded.vocabulary
        func token(_ id: Int) -> ReportPage.Token { ReportPage.Token(id: id, text: vocabulary.map { $0.tokens[id] } ?? String(id)) }
        let attention = try attentionPatterns(loaded, tokens: tokens).flatMap { $0.scalars.map { Float($0) } }
        let lens = try w.logitLens(for: tokens, k: k, ablation: inside.ablation)
        try Self.refuseNonFinite(lens)
        let top = (0..<lens.points.count).map { p in
            (0..<m).map { i in
                (0..<lens.k).map { r in
                    let at = lens.index(point: p, position: i, rank: r)
                    return ReportPage.LensEntry(token: token(lens.ids[at]), probability: lens.probabilities[at])
                }
            }
        }
        let mode = inside.ablateMode ?? .zero
        var ablation: ReportPage.Ablation?
        if m >= 2 {
            let (loss, perHead) = try lossPerAblatedHead(loaded, tokens: tokens, mode: mode.mode)
            ablation = ReportPage.Ablation(mode: mode == .zero ? .zero : .mean, loss: loss, headLoss: perHead.flatMap { $0 },
                                           given: inside.ablation?.targets.map(\.description) ?? [])
        }
        if let ablation, !ablation.loss.isFinite || ablation.headLoss.contains(where: { !$0.isFinite }) {
            throw ToolFailure("the report's losses are not all finite (unablated \(ablation.loss)): the model's numbers overflow or its weights are not finite")
        }
        var fields = ReportPage.Field.summary(of: h)
        if let given = inside.ablation {
            fields.append(ReportPage.Field(name: "ablated (\(given.mode.rawValue))", value: given.targets.map(\.description).joined(separator: ", ")))
        }
        let report = ReportPage(
            title: InputFile.name(model), hyperparameters: fields, precision: precision.rawValue,
            tokens: tokens.map(token), nBlock: h.nBlock, nHead: h.nHead, attention: attention,
            lens: ReportPage.Lens(points: lens.points.indices.map { $0 == 0 ? "embed" : "block \($0 - 1)" }, top: top),
            ablation: ablation)
        let bytes = Array(report.html().utf8)
        if out == "-" {
            try Console.write(bytes)
            return
        }
        try AtomicFile.write(bytes, to: out, overwrite: inside.force)
        if json {
            try Console.out(try JSONOutput.text(ReportJSON(
                report: out, bytes: bytes.count, tokens: m, blocks: h.nBlock, heads: h.nHead, k: lens.k,
                loss: ablation?.loss, ablateMode: mode.rawValue, ablate: inside.ablation?.targets.map(\.description) ?? [])))
        } else {
            try Console.out("wrote the report of \(m) tokens (\(h.nBlock) × \(h.nHead) heads, \(Formatting.grouped(bytes.count)) bytes) to \(Formatting.name(out))")
        }
    }

    /// For the report page: the whole-sequence loss of `tokens` (n ≥ 2)
    /// unablated, and with each head (b, h) ablated in turn by `mode`
    /// (`perHead[b][h]`), plus any --ablate targets already given.
    func lossPerAblatedHead<T: KernelScalar>(
        _ loaded: LoadedModel<T>, tokens: [Int], mode: Ablation.Mode
    ) throws -> (unablated: Double, perHead: [[Double]]) {
        let h = loaded.hyperparameters, C = max(tokens.count, 2)
        let given = inside.ablation?.targets ?? []
        let unablated = try loaded.weights.loss(for: tokens, context: C, stride: 1, ablation: Ablation(given, mode: mode)).loss
        let perHead = try (0..<h.nBlock).map { b in
            try (0..<h.nHead).map { head in
                try loaded.weights.loss(for: tokens, context: C, stride: 1,
                                        ablation: Ablation(given + [.head(block: b, head: head)], mode: mode)).loss
            }
        }
        return (unablated, perHead)
    }

    /// For the report page: every block's attention pattern (n_head, m, m),
    /// `blocks.{b}.attn.hook_pattern`, with --ablate applied.
    func attentionPatterns<T: KernelScalar>(_ loaded: LoadedModel<T>, tokens: [Int]) throws -> [Tensor<T>] {
        let cache = try loaded.weights.activations(for: tokens, selecting: { $0.hasSuffix(".attn.hook_pattern") }, ablation: inside.ablation)
        return (0..<loaded.hyperparameters.nBlock).compactMap { cache.tensor("blocks.\($0).attn.hook_pattern") }
    }

    /// The cache is written as computed, NaN and ±inf included (they are the
    /// run's values); one warning line names how many there are and the first.
    /// Masked scores equal to a non-finite mask value are not counted.
    static func warnNonFinite<T: KernelScalar>(_ cache: ActivationCache<T>, maskValue: Double) {
        var count = 0
        var first: (name: String, index: Int)?
        for entry in cache.entries where maskValue.isFinite || !entry.name.hasSuffix(".attn.hook_attn_scores") {
            for (i, v) in cache.scalars(entry).enumerated() where !v.isFinite {
                count += 1
                if first == nil { first = (entry.name, i) }
            }
        }
        if let first {
            Console.err("txw-run: warning: the activation cache holds \(Formatting.grouped(count)) values that are not finite (NaN or ±inf), "
                + "the first in \(first.name) at flat index \(first.index): the model's numbers overflow or its weights are not finite")
        }
    }

    /// Refuses a lens with a row of non-finite logits, naming the point and position.
    static func refuseNonFinite(_ lens: LogitLens) throws {
        guard let bad = lens.firstNonFiniteRow else { return }
        let position = bad % lens.tokens.count, point = bad / lens.tokens.count
        throw ToolFailure("the logit lens at \(lens.points[point]), position \(position), has logits that are not finite: the model's numbers overflow or its weights are not finite")
    }

    /// A probability with three decimals (0.000 … 1.000); a non-finite one as such.
    static func probability(_ p: Double) -> String {
        guard p.isFinite else { return Formatting.short(p) }
        let thousandths = Int((min(max(p, 0), 1) * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// The `--json` result of --cache.
struct CacheJSON: Encodable {
    let cache, format: String
    let bytes, tokens: Int
    let precision: String
    let activations, ablate: [String]
    let ablateMode: String?

    enum CodingKeys: String, CodingKey {
        case cache, format, bytes, tokens, precision, activations, ablate, ablateMode = "ablate_mode"
    }
}

/// The `--json` result of --lens.
struct LensJSON: Encodable {
    struct Entry: Encodable {
        let id: Int
        let token: String?
        let logit, probability: Double
    }

    struct Position: Encodable {
        let position, id: Int
        let token: String?
        /// Per point, the k entries, largest logit first.
        let points: [[Entry]]
    }

    let points: [String]
    let k: Int
    let tokens: [Int]
    let ablate: [String]
    let ablateMode: String?
    let positions: [Position]

    enum CodingKeys: String, CodingKey { case points, k, tokens, ablate, ablateMode = "ablate_mode", positions }
}

/// The `--json` result of --report.
struct ReportJSON: Encodable {
    let report: String
    let bytes, tokens, blocks, heads, k: Int
    /// The loss of the input (with --ablate's targets), nil for one token.
    let loss: Double?
    let ablateMode: String
    let ablate: [String]

    enum CodingKeys: String, CodingKey {
        case report, bytes, tokens, blocks, heads, k, loss, ablateMode = "ablate_mode", ablate
    }

    /// Every key always present: `loss` is null for one token.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(report, forKey: .report)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(blocks, forKey: .blocks)
        try c.encode(heads, forKey: .heads)
        try c.encode(k, forKey: .k)
        try c.encode(loss, forKey: .loss)
        try c.encode(ablateMode, forKey: .ablateMode)
        try c.encode(ablate, forKey: .ablate)
    }
}

/// An overflow-checked product of sizes (nil on overflow or a negative factor).
enum CheckedProduct {
    static func of(_ factors: [Int]) -> Int? {
        factors.reduce(Int?(1)) { p, f in
            guard let p, f >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: f)
            return o ? nil : r
        }
    }
}
