import ArgumentParser
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txw-inspect",
        abstract: "Show what a .txw file holds; verify it; dump a tensor.",
        discussion: """
            Without options: the format version, the model's hyperparameters and \
            parameter count, the vocabulary (size and a preview), the metadata, and a \
            table of tensors (name, dtype, shape, raw bytes, stored bytes, ratio, blocks) \
            with totals. Opening reads only the header and the index; no tensor is decoded.

            Exit status: 0 on success; 1 when the file cannot be read or --verify finds \
            damage; 64 for a usage error.
            """,
        version: "txw-inspect (txw format \(FormatLimits.majorVersion).\(FormatLimits.minorVersion))")

    @Argument(help: "The .txw file to inspect.")
    var model: String

    @Flag(help: "Decode every block and check every checksum and all padding: prints OK and exits 0, or lists each damaged tensor/block and exits 1.")
    var verify = false

    @Flag(help: "Add per-tensor min, max, mean, std, NaN and Inf counts and a histogram (decodes every tensor).")
    var stats = false

    @Option(name: .customLong("dump"), help: ArgumentHelp("Print the values of one tensor (rows of the last axis, one per line; all values in row-major order with --json).", valueName: "name"))
    var dumpName: String?

    @Flag(help: "Print the same content as one JSON object.")
    var json = false

    func validate() throws {
        if dumpName != nil && (verify || stats) {
            throw ValidationError("--dump prints one tensor; use it without --verify and --stats")
        }
    }

    func run() throws {
        try reportingErrors(tool: "txw-inspect") {
            let reader = try ModelInput.open(model)
            if let name = dumpName {
                try dump(reader, name)
            } else if verify {
                try verifyFile(reader)
            } else {
                try describe(reader)
            }
        }
    }

    // MARK: Summary

    func describe(_ reader: TXWReader) throws {
        let profile = Result { try ModelFile.profile(of: reader) }
        let statistics = try stats ? reader.tensors.map { TensorStatistics(try reader.read(named: $0.name, as: Double.self)) } : []
        let rawTotal = reader.tensors.reduce(0) { $0 + $1.rawSize }
        let storedTotal = reader.tensors.reduce(0) { $0 + $1.storedSize }
        let blockTotal = reader.tensors.reduce(0) { $0 + $1.blocks.count }
        let user = reader.metadata.filter { !ModelKeys.isReserved($0.key) }

        if json {
            var fields: [(String, JSON)] = [
                ("path", .string(model)), ("file_size", .int(reader.fileSize)),
                ("format_version", .string(reader.version.description)),
            ]
            switch profile {
            case let .success((h, vocabulary)):
                fields.append(("model", .object([
                    ("vocab_size", .int(h.vocabSize)), ("d_model", .int(h.dModel)), ("n_head", .int(h.nHead)),
                    ("d_head", .int(h.dHead)), ("d_mlp", .int(h.dMLP)), ("n_block", .int(h.nBlock)),
                    ("rmsnorm_epsilon", .double(h.constants.rmsnormEpsilon)),
                    ("positional_base", .double(h.constants.positionalBase)),
                    ("mask_value", .double(h.constants.maskValue)),
                    ("parameters", .int(h.parameterCount)),
                ])))
                fields.append(("vocabulary", vocabulary.map { v in
                    .object([("size", .int(v.count)), ("preview", .array(v.tokens.prefix(32).map(JSON.string)))])
                } ?? .null))
            case let .failure(error):
                fields.append(("model", .null))
                fields.append(("not_a_model", .string(TXWToolSupport.describe(error))))
            }
            fields.append(("metadata", .object(user.map { ($0.key, metadataJSON($0.value)) })))
            fields.append(("tensors", .array(reader.tensors.enumerated().map { i, t in
                var o: [(String, JSON)] = [
                    ("name", .string(t.name)), ("dtype", .string(t.dtype.description)), ("shape", .array(t.shape.map(JSON.int))),
                    ("codec", .string(t.codec.description)), ("filter", .string(t.filter.description)),
                    ("raw_bytes", .int(t.rawSize)), ("stored_bytes", .int(t.storedSize)),
                    ("ratio", .double(ratio(t.storedSize, t.rawSize))), ("blocks", .int(t.blocks.count)),
                ]
                if stats { o.append(("stats", statisticsJSON(statistics[i]))) }
                return .object(o)
            })))
            fields.append(("totals", .object([
                ("tensors", .int(reader.tensors.count)), ("raw_bytes", .int(rawTotal)), ("stored_bytes", .int(storedTotal)),
                ("ratio", .double(ratio(storedTotal, rawTotal))), ("blocks", .int(blockTotal)),
            ])))
            Console.out(JSON.object(fields).rendered())
            return
        }

        Console.out("file:        \(model) (\(Formatting.grouped(reader.fileSize)) bytes, txw format \(reader.version))")
        switch profile {
        case let .success((h, vocabulary)):
            Console.out("model:       vocab_size \(h.vocabSize), d_model \(h.dModel), n_head \(h.nHead), d_head \(h.dHead), d_mlp \(h.dMLP), n_block \(h.nBlock)")
            Console.out("parameters:  \(Formatting.grouped(h.parameterCount))")
            Console.out("constants:   rmsnorm_epsilon \(h.constants.rmsnormEpsilon), positional_base \(h.constants.positionalBase), mask_value \(h.constants.maskValue)")
            if let vocabulary {
                let preview = vocabulary.tokens.prefix(16).map(Formatting.token).joined(separator: " ")
                Console.out("vocabulary:  \(vocabulary.count) tokens: \(preview)\(vocabulary.count > 16 ? " …" : "")")
            } else {
                Console.out("vocabulary:  none (token ids only)")
            }
        case let .failure(error):
            Console.out("model:       not a txw model: \(TXWToolSupport.describe(error))")
        }
        if user.isEmpty {
            Console.out("metadata:    none")
        } else {
            Console.out("metadata:")
            for entry in user { Console.out("  \(entry.key) = \(metadataText(entry.value))") }
        }
        var rows: [[String]] = [["tensor", "dtype", "shape", "codec", "raw", "stored", "ratio", "blocks"]]
        for t in reader.tensors {
            rows.append([t.name, t.dtype.description, Formatting.shape(t.shape),
                         t.codec.description + (t.filter == .byteShuffle ? "+shuffle" : ""),
                         Formatting.grouped(t.rawSize), Formatting.grouped(t.storedSize),
                         String(format2(ratio(t.storedSize, t.rawSize))), "\(t.blocks.count)"])
        }
        rows.append(["total (\(reader.tensors.count) tensors)", "", "", "", Formatting.grouped(rawTotal),
                     Formatting.grouped(storedTotal), format2(ratio(storedTotal, rawTotal)), "\(blockTotal)"])
        for line in Formatting.table(rows, rightAligned: [4, 5, 6, 7]) { Console.out(line) }
        if stats {
            Console.out("")
            var statRows: [[String]] = [["tensor", "min", "max", "mean", "std", "nan", "inf", "histogram"]]
            for (t, s) in zip(reader.tensors, statistics) {
                statRows.append([t.name, Formatting.short(s.min), Formatting.short(s.max), Formatting.short(s.mean),
                                 Formatting.short(s.std), "\(s.nanCount)", "\(s.infCount)", s.sparkline])
            }
            for line in Formatting.table(statRows, rightAligned: [1, 2, 3, 4, 5, 6]) { Console.out(line) }
        }
    }

    // MARK: Verify

    func verifyFile(_ reader: TXWReader) throws {
        let problems = reader.verify()
        let blocks = reader.tensors.reduce(0) { $0 + $1.blocks.count }
        if json {
            Console.out(JSON.object([
                ("path", .string(model)), ("ok", .bool(problems.isEmpty)),
                ("tensors", .int(reader.tensors.count)), ("blocks", .int(blocks)),
                ("problems", .array(problems.map(problemJSON))),
            ]).rendered())
        } else if problems.isEmpty {
            Console.out("OK: \(reader.tensors.count) tensors, \(blocks) blocks, every checksum verified")
        } else {
            for problem in problems { Console.out("DAMAGED \(Diagnostics.message(for: problem))") }
        }
        if !problems.isEmpty {
            Console.err("txw-inspect: \(model): \(problems.count) damaged block\(problems.count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
    }

    func problemJSON(_ problem: TXWFormatError) -> JSON {
        var fields: [(String, JSON)] = [("category", .string(problem.category))]
        switch problem {
        case let .blockChecksum(tensor, block, offset, _, _), let .decode(tensor, block, offset, _):
            fields += [("tensor", .string(tensor)), ("block", .int(block)), ("offset", .int(offset))]
        default: break
        }
        fields.append(("message", .string(Diagnostics.message(for: problem))))
        return .object(fields)
    }

    // MARK: Dump

    func dump(_ reader: TXWReader, _ name: String) throws {
        guard let entry = reader.tensor(named: name) else {
            let names = reader.tensors.prefix(12).map(\.name).joined(separator: ", ")
            throw ToolFailure("\(model): no tensor named '\(name)' (tensors: \(names)\(reader.tensors.count > 12 ? ", …" : ""))")
        }
        // Values print in the tensor's own precision: shortest round-trip text.
        let values: [JSON]
        switch entry.dtype {
        case .f64: values = try reader.read(named: name, as: Double.self).map(JSON.double)
        default: values = try reader.read(named: name, as: Float.self).map(JSON.float)
        }
        if json {
            Console.out(JSON.object([
                ("name", .string(name)), ("dtype", .string(entry.dtype.description)),
                ("shape", .array(entry.shape.map(JSON.int))), ("values", .array(values)),
            ]).rendered())
            return
        }
        let columns = max(entry.shape.last ?? 1, 1)
        for row in stride(from: 0, to: values.count, by: columns) {
            Console.out(values[row..<min(row + columns, values.count)].map { $0.rendered() }.joined(separator: " "))
        }
    }

    // MARK: Helpers

    func ratio(_ stored: Int, _ raw: Int) -> Double { raw == 0 ? 0 : Double(stored) / Double(raw) }

    func format2(_ v: Double) -> String { String((v * 1000).rounded() / 1000) }

    func metadataText(_ value: MetadataValue) -> String {
        switch value {
        case let .string(s): return Formatting.token(s)
        case let .strings(list): return "[" + list.prefix(16).map(Formatting.token).joined(separator: ", ") + (list.count > 16 ? ", … (\(list.count))" : "") + "]"
        default: return value.description
        }
    }

    func metadataJSON(_ value: MetadataValue) -> JSON {
        switch value {
        case let .int(v): .int(v)
        case let .float(v): .double(v)
        case let .bool(v): .bool(v)
        case let .string(s): .string(s)
        case let .strings(list): .array(list.map(JSON.string))
        }
    }

    func statisticsJSON(_ s: TensorStatistics) -> JSON {
        .object([
            ("min", .double(s.min)), ("max", .double(s.max)), ("mean", .double(s.mean)), ("std", .double(s.std)),
            ("nan", .int(s.nanCount)), ("inf", .int(s.infCount)), ("histogram", .array(s.histogram.map(JSON.int))),
        ])
    }
}
