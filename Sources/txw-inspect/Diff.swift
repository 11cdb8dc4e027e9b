import ArgumentParser
import TXWFormat
import TXWModel
import TXWToolSupport

// txw-inspect A --diff B: the contents of two files compared (Spec/cli.md, "Comparing two files").

extension Inspect {
    /// Compares the open file `reader` (MODEL) with the file at `otherPath`,
    /// prints the table and the other sections (or one JSON object), and
    /// exits 1 when the contents differ (`ModelDiff.contentsEqual`: two
    /// models whose user metadata alone differs have equal contents).
    func diff(_ reader: TXWReader, against otherPath: String) throws {
        // A model read from standard input keeps its bytes: the second file gets what it left.
        let other = try ModelInput.open(otherPath, budget: reader.options.memoryBudget)
        let names = (a: InputFile.name(model), b: InputFile.name(otherPath))
        let result: ModelDiff
        do {
            result = try ModelDiff.compare(reader, other)
        } catch let ModelDiffError.reading(side, error) {
            throw ToolFailure(path: side == .a ? names.a : names.b, error)
        } catch let error as TXWFormatError where error.category == "memory" {
            throw ToolFailure("\(Formatting.name(names.a)) and \(Formatting.name(names.b)): \(Diagnostics.message(for: error))")
        }
        if json {
            try Console.out(try JSONOutput.text(DiffJSON(a: model, b: otherPath, result)))
        } else {
            try DiffText(names: names, tensorsA: reader.tensors.count, tensorsB: other.tensors.count, result).lines().forEach { try Console.out($0) }
        }
        if !result.contentsEqual { throw ExitCode.failure }
    }
}

/// The text rendering of a `ModelDiff`: the files, one row per tensor, the
/// hyperparameters, the vocabulary, the metadata, and a result line.
struct DiffText {
    let names: (a: String, b: String)
    let tensorsA, tensorsB: Int
    let diff: ModelDiff

    init(names: (a: String, b: String), tensorsA: Int, tensorsB: Int, _ diff: ModelDiff) {
        (self.names, self.tensorsA, self.tensorsB, self.diff) = (names, tensorsA, tensorsB, diff)
    }

    func lines() -> [String] {
        var out = ["a: \(Formatting.name(names.a)) (\(Self.kind(diff.kindA)), \(tensorsA) tensor\(tensorsA == 1 ? "" : "s"))",
                   "b: \(Formatting.name(names.b)) (\(Self.kind(diff.kindB)), \(tensorsB) tensor\(tensorsB == 1 ? "" : "s"))", ""]
        var rows: [[String]] = [["tensor", "status", "max |a−b|", "max rel", "differing", "notes"]]
        for t in diff.tensors { rows.append(Self.row(t)) }
        out += Formatting.table(rows, rightAligned: [2, 3, 4])
        out.append("")
        if let h = diff.hyperparameters {
            out += Self.keys("hyperparameters", h)
        }
        if let v = diff.vocabulary {
            out.append("vocabulary:      " + Self.vocabulary(v))
        }
        if diff.hyperparameters == nil {
            out.append("model sections:  not compared (\(Self.kinds(diff.kindA, diff.kindB))): every key is compared as metadata")
        }
        out += Self.keys("metadata", diff.metadata)
        out.append("result: " + Self.result(diff))
        return out
    }

    static func kind(_ kind: ModelDiff.ContainerKind, article: Bool = false) -> String {
        switch kind {
        case .model: article ? "a model" : "model"
        case .activationCache: article ? "an activation cache" : "activation cache"
        case .container: article ? "a container that is not a model" : "not a model"
        }
    }

    /// Why the model sections are not compared: `a is a model, b is an activation cache`, `neither is a model`.
    static func kinds(_ a: ModelDiff.ContainerKind, _ b: ModelDiff.ContainerKind) -> String {
        switch (a, b) {
        case (.activationCache, .activationCache): "both are activation caches"
        case (.container, .container): "neither is a model"
        default: "a is \(kind(a, article: true)), b is \(kind(b, article: true))"
        }
    }

    static func row(_ t: ModelDiff.TensorDifference) -> [String] {
        let dtypes = t.dtypeA != t.dtypeB ? "dtype \(t.dtypeA?.description ?? "-") vs \(t.dtypeB?.description ?? "-")" : nil
        switch t.status {
        case .onlyInA: return [Formatting.name(t.name), "only in a", "—", "—", "—", ""]
        case .onlyInB: return [Formatting.name(t.name), "only in b", "—", "—", "—", ""]
        case .shapeMismatch:
            let shapes = "shape \(Formatting.shape(t.shapeA ?? [])) vs \(Formatting.shape(t.shapeB ?? []))"
            return [Formatting.name(t.name), shapes + (dtypes.map { ", " + $0 } ?? ""), "—", "—", "—", "not compared"]
        case .equal, .differs:
            guard let v = t.values else { return [Formatting.name(t.name), t.status.rawValue, "—", "—", "—", ""] }
            var status: String
            if t.status == .equal {
                status = "equal"
            } else if v.differing > 0 {
                status = "differs"
            } else if dtypes != nil {
                status = "values equal"
            } else {
                status = "bits differ"
            }
            if let dtypes { status += ", " + dtypes }
            var notes: [String] = []
            if v.nanMismatches > 0 { notes.append("\(Formatting.grouped(v.nanMismatches)) NaN vs number") }
            if v.infinityMismatches > 0 { notes.append("\(Formatting.grouped(v.infinityMismatches)) ±inf vs other value") }
            if v.bitsOnly > 0 { notes.append("\(Formatting.grouped(v.bitsOnly)) equal values with other bits (±0, NaN payload)") }
            if let first = v.firstDifferingIndex, let shape = t.shapeA { notes.append("first at \(Diagnostics.elementIndex(first, shape: shape))") }
            return [Formatting.name(t.name), status, absolute(v.maxAbsolute), Formatting.short(v.maxRelative),
                    "\(Formatting.grouped(v.differing)) of \(Formatting.grouped(v.elements))", notes.joined(separator: "; ")]
        }
    }

    /// max |a−b|: 4 significant digits; +inf only from two finite f64 values too far apart to subtract.
    static func absolute(_ v: Double) -> String {
        v.isInfinite ? "> 1.797e+308" : Formatting.short(v)
    }

    /// `LABEL: equal`, or the count and one indented line per key.
    static func keys(_ label: String, _ d: ModelDiff.KeyDifference) -> [String] {
        let heading = (label + ":").padding(17)
        if d.isEmpty { return [heading + "equal"] }
        let count = d.onlyInA.count + d.onlyInB.count + d.changed.count
        var out = [heading + "\(count) key\(count == 1 ? "" : "s") differ\(count == 1 ? "s" : "")"]
        for c in d.changed {
            var line = "  \(Formatting.name(c.key)): \(value(c.a)) in a, \(value(c.b)) in b"
            if value(c.a) == value(c.b) {
                if let hidden = hiddenDifference(c.a, c.b) {
                    line += " (\(hidden), past the part shown; --json has both values)"
                } else {
                    line += " (the same text, other bytes: \(bytesNote(c.a, c.b)))"
                }
            }
            out.append(line)
        }
        for e in d.onlyInA { out.append("  \(Formatting.name(e.key)): only in a (\(value(e.value)))") }
        for e in d.onlyInB { out.append("  \(Formatting.name(e.key)): only in b (\(value(e.value)))") }
        return out
    }

    /// Where two values that print alike when cut differ as text: nil when
    /// they are the same text (Swift's `==`: canonically equivalent), which
    /// leaves only their bytes to differ.
    static func hiddenDifference(_ a: MetadataValue, _ b: MetadataValue) -> String? {
        func first<C: Collection>(_ x: C, _ y: C) -> Int? where C.Element: Equatable {
            var i = 0
            for (p, q) in zip(x, y) { if p != q { return i }; i += 1 }
            return x.count == y.count ? nil : i
        }
        switch (a, b) {
        case let (.string(x), .string(y)):
            return first(Array(x), Array(y)).map { "they differ at character \(Formatting.grouped($0 + 1))" }
        case let (.strings(x), .strings(y)):
            return first(x, y).map { "they differ at string \(Formatting.grouped($0 + 1))" }
        default:
            return nil
        }
    }

    static func bytesNote(_ a: MetadataValue, _ b: MetadataValue) -> String {
        if case let .float(x) = a, case let .float(y) = b { return "float bits \(Hex.literal(x.bitPattern)) and \(Hex.literal(y.bitPattern))" }
        if a.typeName != b.typeName { return "\(a.typeName) and \(b.typeName)" }
        return "UTF-8 differs"
    }

    /// A metadata value for one line: a string quoted, escaped and cut after
    /// 60 characters; a list by its first 4 strings and its length; a float
    /// as its shortest text or NaN, inf, -inf.
    static func value(_ v: MetadataValue) -> String {
        switch v {
        case let .string(s): return cut(s, 60)
        case let .strings(list):
            return "[" + list.prefix(4).map { cut($0, 24) }.joined(separator: ", ") + (list.count > 4 ? ", …" : "") + "] (\(Formatting.grouped(list.count)) strings)"
        case let .float(x): return x.isNaN ? "NaN" : x.isInfinite ? (x < 0 ? "-inf" : "inf") : "\(x)"
        case let .int(i): return "\(i)"
        case let .bool(b): return "\(b)"
        }
    }

    /// `text` quoted and escaped, its first `limit` characters only, with how long it is when cut.
    static func cut(_ text: String, _ limit: Int) -> String {
        guard text.count > limit else { return Formatting.token(text) }
        return Formatting.token(String(text.prefix(limit))) + "… (\(Formatting.grouped(text.utf8.count)) bytes)"
    }

    static func vocabulary(_ v: ModelDiff.VocabularyDifference) -> String {
        func size(_ n: Int?) -> String { n.map { "\(Formatting.grouped($0)) tokens" } ?? "none" }
        if v.isEqual { return "equal (\(size(v.sizeA)))" }
        var text = v.sizeA == v.sizeB ? "\(size(v.sizeA)) in both" : "\(size(v.sizeA)) in a, \(size(v.sizeB)) in b"
        if v.sizeA != nil && v.sizeB != nil, let id = v.firstDifferingId {
            func token(_ t: String?) -> String { t.map { cut($0, 40) } ?? "none" }
            text += "; \(Formatting.grouped(v.differingIds)) id\(v.differingIds == 1 ? "" : "s") differ\(v.differingIds == 1 ? "s" : ""), "
                + "the first \(id): \(token(v.firstTokenA)) in a, \(token(v.firstTokenB)) in b"
            if let x = v.firstTokenA, let y = v.firstTokenB, token(x) == token(y) {
                text += x == y ? " (the same text, other bytes: UTF-8 differs)"
                    : " (\(hiddenDifference(.string(x), .string(y)) ?? "they differ"), past the part shown; --json has both tokens)"
            }
        }
        return text
    }

    static func result(_ diff: ModelDiff) -> String {
        if diff.isEqual { return "equal" }
        if diff.contentsEqual {
            let n = diff.metadata.onlyInA.count + diff.metadata.onlyInB.count + diff.metadata.changed.count
            return "contents equal (user metadata differs: \(n) key\(n == 1 ? "" : "s"))"
        }
        let t = diff.tensors
        let compared = t.filter { $0.status == .equal || $0.status == .differs || $0.status == .shapeMismatch }
        var parts: [String] = []
        let differing = compared.filter { $0.status != .equal }.count
        if differing > 0 { parts.append("\(differing) of \(compared.count) tensors in both differ") }
        let onlyA = t.filter { $0.status == .onlyInA }.count, onlyB = t.filter { $0.status == .onlyInB }.count
        if onlyA > 0 { parts.append("\(onlyA) tensor\(onlyA == 1 ? "" : "s") only in a") }
        if onlyB > 0 { parts.append("\(onlyB) tensor\(onlyB == 1 ? "" : "s") only in b") }
        if !(diff.hyperparameters?.isEmpty ?? true) { parts.append("hyperparameters") }
        if !(diff.vocabulary?.isEqual ?? true) { parts.append("vocabulary") }
        if !diff.metadata.isEmpty { parts.append(diff.hyperparameters == nil ? "metadata" : "user metadata") }
        return "differ (" + parts.joined(separator: ", ") + ")"
    }
}

extension String {
    /// The string followed by spaces up to `width` characters.
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

// MARK: JSON

/// The result of --diff as one JSON object (Spec/cli.md).
struct DiffJSON: Encodable {
    let a, b: String
    let equal, metadataEqual: Bool
    let kindA, kindB: String
    let tensors: [TensorDiffJSON]
    let hyperparameters: JSONNullable<KeyDiffJSON>
    let vocabulary: JSONNullable<VocabularyDiffJSON>
    let metadata: KeyDiffJSON
    let counts: CountsJSON

    enum CodingKeys: String, CodingKey {
        case a, b, equal, metadataEqual = "metadata_equal", kindA = "kind_a", kindB = "kind_b", tensors, hyperparameters, vocabulary, metadata, counts
    }

    init(a: String, b: String, _ diff: ModelDiff) {
        (self.a, self.b, equal, metadataEqual) = (a, b, diff.contentsEqual, diff.metadata.isEmpty)
        (kindA, kindB) = (diff.kindA.rawValue, diff.kindB.rawValue)
        tensors = diff.tensors.map(TensorDiffJSON.init)
        hyperparameters = JSONNullable(diff.hyperparameters.map(KeyDiffJSON.init))
        vocabulary = JSONNullable(diff.vocabulary.map(VocabularyDiffJSON.init))
        metadata = KeyDiffJSON(diff.metadata)
        counts = CountsJSON(diff.tensors)
    }
}

/// How many tensors have each status.
struct CountsJSON: Encodable {
    let tensors, equal, differs, shapeMismatch, onlyInA, onlyInB: Int

    enum CodingKeys: String, CodingKey {
        case tensors, equal, differs, shapeMismatch = "shape_mismatch", onlyInA = "only_in_a", onlyInB = "only_in_b"
    }

    init(_ t: [ModelDiff.TensorDifference]) {
        func n(_ s: ModelDiff.Status) -> Int { t.filter { $0.status == s }.count }
        (tensors, equal, differs, shapeMismatch, onlyInA, onlyInB) =
            (t.count, n(.equal), n(.differs), n(.shapeMismatch), n(.onlyInA), n(.onlyInB))
    }
}

/// One tensor: every key present, `null` where it does not apply.
struct TensorDiffJSON: Encodable {
    let name, status: String
    let dtypeA, dtypeB: JSONNullable<String>
    let shapeA, shapeB: JSONNullable<[Int]>
    let elements, differing, nanMismatches, infMismatches, bitsOnly, firstDifferingIndex: JSONNullable<Int>
    let maxAbs, maxRel: JSONNullable<Double>

    enum CodingKeys: String, CodingKey {
        case name, status, dtypeA = "dtype_a", dtypeB = "dtype_b", shapeA = "shape_a", shapeB = "shape_b", elements, differing
        case nanMismatches = "nan_mismatches", infMismatches = "inf_mismatches", bitsOnly = "bits_only"
        case firstDifferingIndex = "first_differing_index", maxAbs = "max_abs", maxRel = "max_rel"
    }

    init(_ t: ModelDiff.TensorDifference) {
        (name, status) = (t.name, t.status.rawValue)
        (dtypeA, dtypeB) = (JSONNullable(t.dtypeA?.description), JSONNullable(t.dtypeB?.description))
        (shapeA, shapeB) = (JSONNullable(t.shapeA), JSONNullable(t.shapeB))
        let v = t.values
        (elements, differing) = (JSONNullable(v?.elements), JSONNullable(v?.differing))
        (nanMismatches, infMismatches, bitsOnly) = (JSONNullable(v?.nanMismatches), JSONNullable(v?.infinityMismatches), JSONNullable(v?.bitsOnly))
        firstDifferingIndex = JSONNullable(v?.firstDifferingIndex)
        (maxAbs, maxRel) = (JSONNullable(v?.maxAbsolute), JSONNullable(v?.maxRelative))
    }
}

/// Keys in one file only (objects of key → value) and keys with other values.
struct KeyDiffJSON: Encodable {
    let onlyInA, onlyInB: JSONDynamicObject<MetadataJSON>
    let changed: [ChangedJSON]

    enum CodingKeys: String, CodingKey { case onlyInA = "only_in_a", onlyInB = "only_in_b", changed }

    struct ChangedJSON: Encodable {
        let key: String
        let a, b: MetadataJSON
    }

    init(_ d: ModelDiff.KeyDifference) {
        onlyInA = JSONDynamicObject(d.onlyInA.map { ($0.key, MetadataJSON($0.value)) })
        onlyInB = JSONDynamicObject(d.onlyInB.map { ($0.key, MetadataJSON($0.value)) })
        changed = d.changed.map { ChangedJSON(key: $0.key, a: MetadataJSON($0.a), b: MetadataJSON($0.b)) }
    }
}

struct VocabularyDiffJSON: Encodable {
    let sizeA, sizeB: JSONNullable<Int>
    let differingIds: Int
    let firstDifferingId: JSONNullable<Int>
    let tokenA, tokenB: JSONNullable<String>

    enum CodingKeys: String, CodingKey {
        case sizeA = "size_a", sizeB = "size_b", differingIds = "differing_ids", firstDifferingId = "first_differing_id"
        case tokenA = "token_a", tokenB = "token_b"
    }

    init(_ v: ModelDiff.VocabularyDifference) {
        (sizeA, sizeB, differingIds) = (JSONNullable(v.sizeA), JSONNullable(v.sizeB), v.differingIds)
        firstDifferingId = JSONNullable(v.firstDifferingId)
        (tokenA, tokenB) = (JSONNullable(v.firstTokenA), JSONNullable(v.firstTokenB))
    }
}
