import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

@main
struct Pack: ParsableCommand {
    /// The entry point: help, version and usage errors rendered through `Console` (`ToolMain`).
    static func main() { ToolMain.main(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "txw-pack",
        abstract: "Create a .txw model (random init, import from .npz/.safetensors, re-pack), or export one as .npz/.safetensors.",
        discussion: """
            Sources (exactly one): --random with the hyperparameter flags and --seed S \
            is a documented random init (Spec/cli.md); the same seed gives an identical \
            file. --from FILE imports an .npz (np.savez / np.savez_compressed) or \
            .safetensors file with the tensor names of the spec (W_E, blocks.0.W_Q, …), \
            or re-packs a .txw. Hyperparameters are inferred from the shapes; a missing or mis-shaped tensor \
            is named. A re-pack keeps the source's vocabulary, context length, constants \
            and metadata; --vocab, --char-vocab, --context-length, --name and --meta change \
            them.

            Lineage: --from records where the model came from, in metadata keys \
            lineage.tool, lineage.source (the file's name), lineage.source_format and \
            lineage.source_digest (a .txw source's content digest, as txw-inspect --digest \
            prints it) or lineage.source_sha256 (SHA-256 of an npz or safetensors file's \
            bytes, of the bytes read for -); the source's own lineage.* keys are replaced, \
            and --meta refuses lineage.* keys and txw-train's training.data_sha256 and \
            training.data_xxh3 (Spec/txw-format.md §2.1).

            A weight that is NaN or ±inf, or that becomes ±inf in the stored dtype \
            (--dtype), is refused, naming the tensor and the first such element's flat \
            index and multi-index, unless --allow-nonfinite.

            Output (-o): the extension chooses the format, or --to: .txw; .npz (np.load(path, \
            allow_pickle=False) reads it; bf16 tensors as float32); .safetensors (tensors in \
            their dtype or --dtype). The vocabulary, constants, context length and metadata \
            travel in the safetensors __metadata__ and the npz member __txw_metadata__.npy \
            (Spec/cli.md, "Export"), which --from reads back; other __metadata__ keys K are \
            kept as metadata safetensors.K. Any other extension needs --to.

            The output is written atomically and never replaces an existing file without \
            --force. Results go to stdout, progress (only on a terminal) to stderr.

            Streams: --from - reads standard input, and a FIFO (or /dev/stdin) given \
            as --from is read as a stream, into memory (the bytes count against \
            --max-memory). -o - writes the file to standard output — not atomically, and \
            refused when standard output is a terminal; the report (text or --json) then \
            goes to stderr. One input at most may be -.

            Memory: the source's arrays, the tensors in the stored dtype and the encoded \
            file must fit --max-memory together (checked before the random values are \
            drawn or the tensors encoded); an import is refused before its arrays are \
            copied or inflated when they alone do not fit.

            Exit status: 0 on success; 1 when an input is refused or the write fails; 64 \
            for a usage error.
            """,
        version: ToolMain.version("txw-pack"))

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "The file to write: its extension (.txw, .npz, .safetensors) chooses the format unless --to is given ('-': standard output, not atomic; txw unless --to).", valueName: "path"))
    var output: String

    @Option(help: ArgumentHelp("The output format, whatever the extension of -o: txw, npz or safetensors.", valueName: "format"))
    var to: OutputFormat?

    @Flag(help: "Initialise a new model randomly (needs the hyperparameter flags).")
    var random = false

    @Option(help: ArgumentHelp("Import or re-pack this .npz, .safetensors or .txw file ('-': standard input).", valueName: "path"))
    var from: String?

    @OptionGroup(title: "Hyperparameters (with --random)")
    var shape: HyperparameterOptions

    @Option(parsing: .unconditional, help: "Seed of the random init: 0 … 2^64 − 1.", transform: NumberArguments.seed)
    var seed: UInt64 = 42

    @Option(help: "Stored dtype of every tensor: f32, f64, f16 or bf16 (default: keep the source's; f32 for --random).")
    var dtype: DType?

    @Option(parsing: .unconditional, help: ArgumentHelp("zstd compression level (.txw output; default \(FormatLimits.defaultLevel)).", valueName: "level"))
    var level: Int?

    @Flag(help: "Do not byte-shuffle before compressing.")
    var noShuffle = false

    @Flag(help: "Store blocks uncompressed and unshuffled (memory-mappable in place).")
    var stored = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Raw bytes per block: 64 to 67108864, a multiple of 64 (.txw output; default \(FormatLimits.defaultBlockSize)).",
        valueName: "bytes"))
    var blockSize: Int?

    @Option(help: ArgumentHelp("Vocabulary: a JSON array of V strings (token id = index).", valueName: "vocab.json"))
    var vocab: String?

    @Option(help: ArgumentHelp("Character vocabulary: the sorted distinct characters of this text.", valueName: "corpus.txt"))
    var charVocab: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The model's context length (model.context_length), 1 to 16777216: the longest token sequence it was trained to see (default: keep the source's; none for --random and imports).",
        valueName: "N"))
    var contextLength: Int?

    @Option(help: "The model's name (metadata key 'name').")
    var name: String?

    @Option(help: ArgumentHelp("Add metadata key=value (a string; repeatable; model.* and lineage.* keys, training.data_sha256 and training.data_xxh3 are refused).", valueName: "key=value"))
    var meta: [String] = []

    @Flag(help: "Pack weights that are NaN or ±inf, or that become ±inf in --dtype (refused otherwise, naming the first).")
    var allowNonfinite = false

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @OptionGroup(title: "Memory")
    var memory: MemoryOptions

    func validate() throws {
        guard random != (from != nil) else {
            throw ValidationError("choose one source: --random or --from FILE")
        }
        if from != nil && shape.anyGiven {
            throw ValidationError("the hyperparameter flags are for --random; --from infers them from the shapes")
        }
        if vocab != nil && charVocab != nil {
            throw ValidationError("give --vocab or --char-vocab, not both")
        }
        try InputFile.checkOneStandardInput([("--from", from), ("--vocab", vocab), ("--char-vocab", charVocab)])
        if output == "-" && Console.stdoutIsTerminal {
            throw ValidationError("-o - writes a binary file to standard output, which is a terminal; redirect it to a file or a pipe")
        }
        if let contextLength, !(1...ModelKeys.maximumContextLength).contains(contextLength) {
            throw ValidationError("--context-length must be in 1…\(ModelKeys.maximumContextLength), got \(contextLength)")
        }
        for item in meta {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--meta expects key=value, got '\(Formatting.name(item))'")
            }
            if ModelKeys.isReserved(String(item[..<eq])) {
                throw ValidationError("--meta: keys beginning with 'model.' are reserved for the model profile")
            }
            if Lineage.isLineageKey(String(item[..<eq])) {
                throw ValidationError("--meta: keys beginning with 'lineage.' are written by txw-pack (the source of --from)")
            }
            if ["training.data_sha256", "training.data_xxh3"].contains(String(item[..<eq])) {
                // txw-inspect shows them as lineage and txw-train checks them on resume: only txw-train writes them.
                throw ValidationError("--meta: '\(item[..<eq])' is written by txw-train (the checksum of its training data)")
            }
        }
        do {
            try TXWWriter.Options(level: level ?? FormatLimits.defaultLevel, blockSize: blockSize ?? FormatLimits.defaultBlockSize).validate()
        } catch let error as TXWFormatError {
            throw Diagnostics.usageError(error, flags: "--level/--block-size")
        }
        try validateOutputFormat()
    }

    func run() throws {
        try reportingErrors(tool: "txw-pack") {
            let vocabulary = try loadVocabulary()
            var model: ModelArrays
            var provenance: String
            var lineage: (format: String, digest: ContentDigest)? = nil
            if random {
                let h = try shape.hyperparameters(vocabularySize: vocabulary?.count)
                // The float64 values drawn, then the stored tensors and the encoded file.
                let count = h.tensorShapes().map { $0.shape.reduce(1, *) }.reduce(0, +)  // ≤ 2^30: checked above
                try memory.budget.check(MemoryBudget.sum([
                    MemoryBudget.bytes(count: count, size: 8), MemoryBudget.bytes(count: count, size: 2 * (dtype ?? .f32).size),
                ]), for: "a random model of \(Formatting.grouped(count)) parameters (float64 values, then \(dtype ?? .f32) tensors and the file)")
                model = try ModelArrays.random(h, seed: seed)
                provenance = "txw-pack --random --seed \(seed)"
            } else {
                let source = from ?? ""
                (model, lineage) = try load(source)
                provenance = "txw-pack --from \(InputFile.isStandardInput(source) ? "-" : URL(fileURLWithPath: source).lastPathComponent)"
            }
            if let vocabulary {
                guard vocabulary.count == model.hyperparameters.vocabSize else {
                    throw ToolFailure("the vocabulary has \(vocabulary.count) tokens, but the model's vocab_size is \(model.hyperparameters.vocabSize)")
                }
                model.vocabulary = vocabulary
            }
            if let contextLength { model.contextLength = contextLength }
            if let name { model.metadata["name"] = .string(name) }
            for item in meta {
                let eq = item.firstIndex(of: "=") ?? item.endIndex
                model.metadata[String(item[..<eq])] = .string(String(item[item.index(after: eq)...]))
            }
            if model.metadata["provenance"] == nil { model.metadata["provenance"] = .string(provenance) }
            if let lineage, let from {
                Lineage.record(in: &model.metadata, tool: "txw-pack", source: from, format: lineage.format, digest: lineage.digest)
            }
            try checkFinite(model, storedAs: dtype ?? (random ? .f32 : nil))
            if let format = outputFormat.exchange { return try writeExchange(model, as: format) }

            let options = TXWWriter.Options(
                level: level ?? FormatLimits.defaultLevel, blockSize: blockSize ?? FormatLimits.defaultBlockSize, codec: stored ? .stored : .zstd, shuffle: !(noShuffle || stored))
            let target = dtype ?? (random ? .f32 : nil)
            let rawBytes = model.arrays.reduce(0) { $0 + $1.shape.reduce(1, *) * (target ?? $1.dtype).size }
            // Held at once while encoding: the source arrays, the tensors in the
            // stored dtype, the encoded file (at most about the raw bytes), and
            // one tensor's float64 values when converting.
            let sourceBytes = model.arrays.reduce(0) { $0 + $1.bytes.count }
            let converted = model.arrays.reduce(0) { max($0, target == nil || target == $1.dtype ? 0 : $1.shape.reduce(1, *) * 8) }
            try memory.budget.check(MemoryBudget.sum([sourceBytes, rawBytes, rawBytes + rawBytes / 128 + (1 << 20), converted]),
                                    for: "encoding \(model.arrays.count) tensors (\(Formatting.grouped(rawBytes)) bytes)")
            if Console.stderrIsTerminal && rawBytes > 16 << 20 {
                Console.err("txw-pack: encoding \(Formatting.grouped(rawBytes)) bytes of tensors…")
            }
            let bytes = try model.writer(dtype: target, options: options).encode()
            if output == "-" {
                try Console.write(bytes)
            } else {
                try AtomicFile.write(bytes, to: output, overwrite: force)
            }
            try report(model, fileSize: bytes.count, rawBytes: rawBytes)
        }
    }

    func loadVocabulary() throws -> Vocabulary? {
        if let vocab {
            let data = Data(try ModelInput.readTextFile(vocab, budget: memory.budget, bytesPerByte: ModelInput.vocabularyBytesFactor))
            guard let tokens = try? JSONDecoder().decode([String].self, from: data) else {
                throw ToolFailure("\(Formatting.name(vocab)): expected a JSON array of strings")
            }
            return try Vocabulary(tokens)
        }
        if let charVocab {
            let data = try ModelInput.readTextFile(charVocab, budget: memory.budget, bytesPerByte: ModelInput.vocabularyBytesFactor)
            guard let text = String(validating: data, as: UTF8.self) else { throw ToolFailure("\(Formatting.name(charVocab)): not valid UTF-8") }
            guard !text.isEmpty else { throw ToolFailure("\(Formatting.name(charVocab)): empty; a character vocabulary needs at least one character") }
            return try Vocabulary.characters(of: text)
        }
        return nil
    }

    /// Refuses, unless --allow-nonfinite, a model with a weight that is NaN
    /// or ±inf, or that becomes ±inf stored as `dtype`: the first one is named.
    func checkFinite(_ model: ModelArrays, storedAs dtype: DType?) throws {
        guard !allowNonfinite, let element = model.firstNonFinite(storedAs: dtype) else { return }
        let message = Diagnostics.message(for: element)
        throw ToolFailure(from.map { "\(Formatting.name(InputFile.name($0))): \(message)" } ?? message)
    }

    /// The model in `path`: a txw file is re-packed, anything else imported;
    /// with its lineage: the source's format and its model digest (a txw
    /// file) or the SHA-256 of its bytes (Spec/txw-format.md §2.1).
    /// A stream (`-`, a FIFO) is read into memory first (`loadStream`).
    func load(_ path: String) throws -> (ModelArrays, (format: String, digest: ContentDigest)) {
        if InputFile.isStream(path) { return try loadStream(path) }
        let head = try firstBytes(path)
        do {
            if head == FormatLimits.magic {
                let reader = try ModelInput.open(path, budget: memory.budget)
                let model = try ModelArrays(reader: reader)
                return (model, ("txw", try ContentDigest.model(reader).digest))
            }
            if let foreign = ForeignFile.identify(path: path), foreign == .gguf || foreign == .pytorch {
                throw ToolFailure("\(Formatting.name(path)): \(foreign.message)")
            }
            let (file, sha256) = try ArrayImporter.readFileWithDigest(path: path, memoryBudget: memory.budget)
            return (try ModelArrays(file: file), (file.format.rawValue, sha256))
        } catch let error as ModelError {
            throw ToolFailure(path: path, error)
        } catch let error as TXWFormatError {
            throw ToolFailure(path: path, error)
        } catch let error as ImportError {
            switch error {
            case .io, .notRegularFile, .unrecognizedFormat: throw error  // the message names the path already
            default: throw ToolFailure(path: path, error)
            }
        }
    }

    /// The model in the stream `path`, read into memory within the budget
    /// (`ModelInput.readStream`), judged by content as `load` does.
    func loadStream(_ path: String) throws -> (ModelArrays, (format: String, digest: ContentDigest)) {
        let name = InputFile.name(path)
        let (bytes, left) = try ModelInput.readStream(path, budget: memory.budget)
        do {
            if bytes.starts(with: FormatLimits.magic) {
                let reader = try TXWReader(bytes: bytes, name: name, options: TXWReader.Options(memoryBudget: left))
                let model = try ModelArrays(reader: reader)
                return (model, ("txw", try ContentDigest.model(reader).digest))
            }
            if let foreign = ForeignFile.identify(Array(bytes.prefix(ForeignFile.prefixBytes))), foreign == .gguf || foreign == .pytorch {
                throw ToolFailure("\(name): \(foreign.message)")
            }
            // The whole exchange file, as `load` reads one: arrays and metadata.
            let file = try ArrayImporter.readFile(bytes: bytes, name: name, memoryBudget: left)
            return (try ModelArrays(file: file), (file.format.rawValue, ContentDigest.sha256(of: bytes)))
        } catch let error as ModelError {
            throw ToolFailure(path: name, error)
        } catch let error as TXWFormatError {
            throw ToolFailure(path: name, error)
        } catch let error as ImportError {
            switch error {
            case .io, .notRegularFile, .unrecognizedFormat: throw error  // the message names the stream already
            default: throw ToolFailure(path: name, error)
            }
        }
    }

    /// Up to the first 8 bytes of `path`: fewer when the file is shorter or
    /// cannot be read (a directory opens but does not read; the importer then
    /// says why). Throws when the file cannot be opened.
    func firstBytes(_ path: String) throws -> [UInt8] {
        // Not a stream (load reads those): a directory opens and reads nothing; the importer then refuses it.
        try InputFile.head(path, count: 8)
    }

    /// The `--json` result.
    struct Report: Encodable {
        let path: String
        let fileSize, rawBytes, tensors, parameters: Int
        let vocabSize, dModel, nHead, dHead, dMLP, nBlock: Int
        let vocabulary: Bool
        let contextLength: JSONNullable<Int>

        enum CodingKeys: String, CodingKey {
            case path, fileSize = "file_size", rawBytes = "raw_bytes", tensors, parameters
            case vocabSize = "vocab_size", dModel = "d_model", nHead = "n_head", dHead = "d_head"
            case dMLP = "d_mlp", nBlock = "n_block", vocabulary, contextLength = "context_length"
        }
    }

    /// The report: on stdout, or on stderr when stdout carries the file (`-o -`).
    func report(_ model: ModelArrays, fileSize: Int, rawBytes: Int) throws {
        let h = model.hyperparameters
        let toStdout = output != "-"
        let say: (String) throws -> Void = { toStdout ? try Console.out($0) : Console.err($0) }
        let shownOutput = toStdout ? output : "standard output"
        if json {
            try say(try JSONOutput.text(Report(
                path: shownOutput, fileSize: fileSize, rawBytes: rawBytes, tensors: model.arrays.count,
                parameters: h.parameterCount, vocabSize: h.vocabSize, dModel: h.dModel, nHead: h.nHead,
                dHead: h.dHead, dMLP: h.dMLP, nBlock: h.nBlock, vocabulary: model.vocabulary != nil,
                contextLength: JSONNullable(model.contextLength))))
        } else {
            let ratio = rawBytes > 0 ? Double(fileSize) / Double(rawBytes) : 0
            try say("wrote \(Formatting.name(shownOutput)): \(model.arrays.count) tensors, \(Formatting.grouped(h.parameterCount)) parameters, \(Formatting.grouped(fileSize)) bytes (\(Formatting.printf("%.3f", ratio)) of raw)")
        }
    }
}
