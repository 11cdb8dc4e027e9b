import ArgumentParser
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Inspect: ParsableCommand {
    /// The entry point: help, version and usage errors rendered through `Console` (`ToolMain`).
    static func main() { ToolMain.main(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "txw-inspect",
        abstract: "Show what a .txw file holds; verify it; dump a tensor.",
        discussion: """
            Without options: the format version, the model's hyperparameters and \
            parameter count, the vocabulary (size and a preview), the metadata, and a \
            table of tensors (name, dtype, shape, raw bytes, stored bytes, ratio, blocks) \
            with totals. Opening reads only the header and the index; no tensor is decoded.

            --stats and --dump decode one tensor at a time; a tensor whose values need \
            more than --max-memory is refused before anything is allocated. --dump \
            writes its output in pieces, so it needs only the tensor's values.

            A file that is not a txw container but an npz, safetensors, GGUF or \
            PyTorch file is named as such, with the command that converts it \
            (txw-pack --from FILE -o model.txw) or the word that it is not supported.

            MODEL - reads the file from standard input, and a FIFO (or /dev/stdin) is \
            read as a stream: into memory, within --max-memory (held up to three times while it is \
            checked).

            --digest prints the model's content digest (SHA-256 of its hyperparameters, \
            vocabulary and tensors; Spec/txw-format.md §4): one line, the 64 hex digits, \
            two spaces and MODEL, as sha256sum prints; it does not depend on the codec, level, shuffle, block size, tensor \
            order or user metadata, so a re-packed model keeps it. --json adds every \
            tensor's digest. --expect-digest HEX verifies as --verify does, then compares \
            the model digest with HEX. A container that is not a model (an activation \
            cache) has no model digest: --digest and --expect-digest refuse it.

            The summary shows the lineage (lineage.* keys: the source a file was packed \
            or trained from, and its digest; training.data_sha256).

            Exit status: 0 on success; 1 when the file cannot be read, --verify finds \
            damage, --expect-digest a different digest or --diff different contents; 64 for a usage error \
            (a malformed --expect-digest among them).
            """,
        version: ToolMain.version("txw-inspect"))

    @Argument(help: "The .txw file to inspect ('-': standard input, read into memory).")
    var model: String

    @Flag(help: "Decode every block and check every checksum and all padding: prints OK and exits 0, or lists each damaged tensor/block and exits 1. A tensor holding NaN or ±inf values gets a warning on stderr (not damage: exit 0).")
    var verify = false

    @Flag(help: "Add per-tensor min, max, mean, std, NaN and Inf counts and a histogram (decodes every tensor).")
    var stats = false

    @Option(name: .customLong("dump"), help: ArgumentHelp("Print the values of one tensor (rows of the last axis, one per line; all values in row-major order with --json).", valueName: "name"))
    var dumpName: String?

    @Option(name: .customLong("diff"), help: ArgumentHelp("Compare MODEL (a) with the file B (b): one row per tensor (equal, or max |a−b|, max relative difference, differing elements), then hyperparameter, vocabulary and metadata differences. Exit 0 when the contents are equal, 1 when they differ; for two models user metadata (name, provenance, lineage, training.*) is listed but is not content, as in --digest ('-': B from standard input).", valueName: "B"))
    var diffPath: String?

    @Flag(help: "Print the model's content digest (SHA-256; Spec/txw-format.md §4): 64 hex digits, two spaces, MODEL; with --json also every tensor's digest.")
    var digest = false

    @Option(name: .customLong("expect-digest"), help: ArgumentHelp(
        "Verify as --verify does (implied), then compare the model's content digest with HEX (64 hex digits, optionally after 'sha256:'): exit 1 and one line on stderr when it differs.",
        valueName: "HEX"))
    var expectDigest: String?

    @Flag(help: "Print the same content as one JSON object.")
    var json = false

    @OptionGroup(title: "Memory")
    var memory: MemoryOptions

    func validate() throws {
        if dumpName != nil && (verify || stats) {
            throw ValidationError("--dump prints one tensor; use it without --verify and --stats")
        }
        if diffPath != nil && (verify || stats || dumpName != nil || digest || expectDigest != nil) {
            throw ValidationError("--diff compares two files; use it without --verify, --stats, --dump, --digest and --expect-digest")
        }
        try InputFile.checkOneStandardInput([("the model", model), ("--diff", diffPath)])
        if digest && (dumpName != nil || verify || stats || expectDigest != nil) {
            throw ValidationError("--digest prints the digest; use it without --dump, --verify, --stats and --expect-digest")
        }
        if let expectDigest {
            if dumpName != nil || stats { throw ValidationError("--expect-digest verifies; use it without --dump and --stats") }
            guard ContentDigest(hex: expectDigest) != nil else {
                throw ValidationError(Diagnostics.malformedDigest(flag: "--expect-digest", expectDigest))
            }
        }
    }

    func run() throws {
        try reportingErrors(tool: "txw-inspect") {
            let reader = try ModelInput.open(model, budget: memory.budget)
            do {
                if let other = diffPath {
                    try diff(reader, against: other)
                } else if let name = dumpName {
                    try dump(reader, name)
                } else if digest {
                    try printDigest(reader)
                } else if verify || expectDigest != nil {
                    try verifyFile(reader)
                } else {
                    try describe(reader)
                }
            } catch let error as TXWFormatError where error.category == "memory" {
                throw ToolFailure(path: InputFile.name(model), error)
            }
        }
    }

    // MARK: Summary

    /// What the summary shows, read once for the text and the JSON rendering.
    struct Summary {
        /// The hyperparameters, the vocabulary and the context length, or why the file is not a model.
        let profile: Result<(Hyperparameters, Vocabulary?, Int?), any Error>
        /// One per tensor under --stats, none otherwise.
        let statistics: [TensorStatistics]
        /// The metadata other than the model's reserved keys.
        let userMetadata: [MetadataEntry]
        let rawTotal, storedTotal, blockTotal: Int

        init(_ reader: TXWReader, stats: Bool) throws {
            // A file that is not a model is described as such; a budget
            // refusal is an error of the run (exit 1), not a property of the file.
            do {
                let (h, vocabulary) = try ModelFile.profile(of: reader)
                profile = .success((h, vocabulary, try ModelFile.contextLength(of: reader)))
            } catch let error as TXWFormatError where error.category == "memory" {
                throw error
            } catch {
                profile = .failure(error)
            }
            statistics = try stats ? reader.tensors.map { TensorStatistics(try reader.read(named: $0.name, as: Double.self)) } : []
            userMetadata = reader.metadata.filter { !ModelKeys.isReserved($0.key) }
            rawTotal = reader.tensors.reduce(0) { $0 + $1.rawSize }
            storedTotal = reader.tensors.reduce(0) { $0 + $1.storedSize }
            blockTotal = reader.tensors.reduce(0) { $0 + $1.blocks.count }
        }
    }

    func describe(_ reader: TXWReader) throws {
        let summary = try Summary(reader, stats: stats)
        if json {
            try Console.out(try JSONOutput.text(SummaryJSON(path: model, reader: reader, summary: summary)))
        } else {
            try printHeader(reader, summary)
            try printTensors(reader, summary)
            if stats { try printStatistics(reader, summary) }
        }
    }

    /// The file, the model, the vocabulary and the metadata.
    func printHeader(_ reader: TXWReader, _ summary: Summary) throws {
        try Console.out("file:        \(Formatting.name(InputFile.name(model))) (\(Formatting.grouped(reader.fileSize)) bytes, txw format \(reader.version))")
        switch summary.profile {
        case let .success((h, vocabulary, contextLength)):
            try Console.out("model:       vocab_size \(h.vocabSize), d_model \(h.dModel), n_head \(h.nHead), d_head \(h.dHead), d_mlp \(h.dMLP), n_block \(h.nBlock)")
            try Console.out("context:     " + (contextLength.map { "\(Formatting.grouped($0)) tokens" } ?? "not recorded"))
            try Console.out("parameters:  \(Formatting.grouped(h.parameterCount))")
            try Console.out("constants:   rmsnorm_epsilon \(h.constants.rmsnormEpsilon), positional_base \(h.constants.positionalBase), mask_value \(h.constants.maskValue)")
            if let vocabulary {
                let preview = vocabulary.tokens.prefix(16).map(Formatting.token).joined(separator: " ")
                try Console.out("vocabulary:  \(vocabulary.count) tokens: \(preview)\(vocabulary.count > 16 ? " …" : "")")
            } else {
                try Console.out("vocabulary:  none (token ids only)")
            }
        case .failure where ActivationCacheFile.isActivationCache(reader):
            // Its cache.* metadata follows: the model file, the tokens, the text, the precision, the ablation.
            try Console.out("model:       none: an activation cache (txw-run --cache) of \(reader.tensors.count) activations")
        case let .failure(error):
            try Console.out("model:       not a txw model: \(TXWToolSupport.describe(error))")
        }
        let lineage = Self.lineageText(summary.userMetadata)
        if !lineage.isEmpty {
            try Console.out("lineage:")
            for line in lineage { try Console.out("  " + line) }
        }
        if summary.userMetadata.isEmpty {
            try Console.out("metadata:    none")
        } else {
            try Console.out("metadata:")
            for entry in summary.userMetadata { try Console.out("  \(Formatting.name(entry.key)) = \(metadataText(entry.value))") }
        }
    }

    /// The table of tensors with a totals row.
    func printTensors(_ reader: TXWReader, _ summary: Summary) throws {
        var rows: [[String]] = [["tensor", "dtype", "shape", "codec", "raw", "stored", "ratio", "blocks"]]
        for t in reader.tensors {
            // Names are escaped before the widths are measured: a column fits what is printed.
            rows.append([Formatting.name(t.name), t.dtype.description, Formatting.shape(t.shape),
                         t.codec.description + (t.filter == .byteShuffle ? "+shuffle" : ""),
                         Formatting.grouped(t.rawSize), Formatting.grouped(t.storedSize),
                         format2(compressionRatio(t.storedSize, t.rawSize)), "\(t.blocks.count)"])
        }
        rows.append(["total (\(reader.tensors.count) tensors)", "", "", "", Formatting.grouped(summary.rawTotal),
                     Formatting.grouped(summary.storedTotal), format2(compressionRatio(summary.storedTotal, summary.rawTotal)),
                     "\(summary.blockTotal)"])
        for line in Formatting.table(rows, rightAligned: [4, 5, 6, 7]) { try Console.out(line) }
    }

    /// The --stats table, after a blank line.
    func printStatistics(_ reader: TXWReader, _ summary: Summary) throws {
        try Console.out("")
        var rows: [[String]] = [["tensor", "min", "max", "mean", "std", "nan", "inf", "histogram"]]
        for (t, s) in zip(reader.tensors, summary.statistics) {
            rows.append([Formatting.name(t.name), Formatting.short(s.min), Formatting.short(s.max), Formatting.short(s.mean),
                         Formatting.short(s.std), "\(s.nanCount)", "\(s.infCount)", s.sparkline])
        }
        for line in Formatting.table(rows, rightAligned: [1, 2, 3, 4, 5, 6]) { try Console.out(line) }
    }

    // MARK: Verify

    func verifyFile(_ reader: TXWReader) throws {
        let (problems, nonFinite) = reader.verifyCountingNonFinite()
        // Not damage: the budget refused decoding before any block was read.
        if let refusal = problems.first(where: { $0.category == "memory" }) { throw ToolFailure(path: InputFile.name(model), refusal) }
        let blocks = reader.tensors.reduce(0) { $0 + $1.blocks.count }
        // Non-finite values are not damage (the exit status stays 0): a warning per tensor.
        for (entry, count) in zip(reader.tensors, nonFinite) where count.total > 0 {
            Console.err("txw-inspect: warning: " + Diagnostics.nonFiniteWarning(path: InputFile.name(model), tensor: entry.name, shape: entry.shape, count))
        }
        // --expect-digest: compared only when no block is damaged.
        let check = problems.isEmpty ? try compareDigest(reader) : nil
        if json {
            try Console.out(try JSONOutput.text(VerifyJSON(
                path: model, ok: problems.isEmpty, tensors: reader.tensors.count, blocks: blocks,
                problems: problems.map(ProblemJSON.init),
                nonFinite: zip(reader.tensors, nonFinite).filter { $0.1.total > 0 }.map { NonFiniteJSON(tensor: $0.0.name, $0.1) },
                digest: check)))
        } else if problems.isEmpty {
            try Console.out("OK: \(reader.tensors.count) tensors, \(blocks) blocks, every checksum verified")
            if let check, check.match { try Console.out("OK: content digest \(check.found)") }
        } else {
            for problem in problems { try Console.out("DAMAGED \(Diagnostics.message(for: problem))") }
        }
        if !problems.isEmpty {
            Console.err("txw-inspect: \(Formatting.name(model)): \(problems.count) damaged block\(problems.count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
        if let check, !check.match, let expected = ContentDigest(hex: check.expected), let found = ContentDigest(hex: check.found) {
            Console.err("txw-inspect: " + Diagnostics.digestMismatch(path: InputFile.name(model), expected: expected, found: found))
            throw ExitCode.failure
        }
    }

    // MARK: Dump

    func dump(_ reader: TXWReader, _ name: String) throws {
        guard let entry = reader.tensor(named: name) else {
            let names = reader.tensors.prefix(12).map { Formatting.name($0.name) }.joined(separator: ", ")
            throw ToolFailure("\(Formatting.name(model)): no tensor named '\(Formatting.name(name))' (tensors: \(names)\(reader.tensors.count > 12 ? ", …" : ""))")
        }
        // Values print in the tensor's own precision: shortest round-trip text.
        switch entry.dtype {
        case .f64: try dump(entry, try reader.read(named: name, as: Double.self))
        default: try dump(entry, try reader.read(named: name, as: Float.self))
        }
    }

    /// The values, written in pieces of about 64 KiB (never the whole text at once).
    func dump<F: BinaryFloatingPoint & CustomStringConvertible & Sendable>(_ entry: TensorEntry, _ values: [F]) throws {
        let sink: (String) throws -> Void = { try Console.out($0, terminator: "") }
        if json {
            try JSONOutput.write(DumpJSON(name: entry.name, dtype: entry.dtype.description, shape: entry.shape),
                                 appending: "values", to: sink) { out in try JSONOutput.numbers(values, into: &out) }
            return
        }
        // Rows of the last axis, one per line, numbers separated by spaces.
        let columns = max(entry.shape.last ?? 1, 1)
        var out = ChunkedText(sink: sink)
        for (i, v) in values.enumerated() {
            let column = i % columns
            try out.append((column == 0 ? "" : " ") + Formatting.number(v) + (column == columns - 1 || i == values.count - 1 ? "\n" : ""))
        }
        try out.flush()
    }

    // MARK: Helpers

    func format2(_ v: Double) -> String { String((v * 1000).rounded() / 1000) }

    func metadataText(_ value: MetadataValue) -> String {
        switch value {
        case let .string(s): return Formatting.token(s)
        case let .strings(list): return "[" + list.prefix(16).map(Formatting.token).joined(separator: ", ") + (list.count > 16 ? ", … (\(list.count))" : "") + "]"
        default: return value.description
        }
    }
}
