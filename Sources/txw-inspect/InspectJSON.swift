import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

// The `--json` results of txw-inspect (Spec/cli.md).

/// Stored bytes over raw bytes; 0 for an empty tensor.
func compressionRatio(_ stored: Int, _ raw: Int) -> Double { raw == 0 ? 0 : Double(stored) / Double(raw) }

/// The summary: the file, the model (or why it is not one), the metadata, the tensors.
struct SummaryJSON: Encodable {
    let path: String
    let fileSize: Int
    let formatVersion: String
    let model: JSONNullable<ModelJSON>
    /// Only for a container that is not a model.
    let notAModel: String?
    /// Only for a model: its vocabulary, or null.
    let vocabulary: JSONNullable<VocabularyJSON>?
    let metadata: JSONDynamicObject<MetadataJSON>
    /// The lineage keys present (also in `metadata`); null when none.
    let lineage: JSONNullable<LineageJSON>
    let tensors: [TensorJSON]
    let totals: TotalsJSON

    enum CodingKeys: String, CodingKey {
        case path, fileSize = "file_size", formatVersion = "format_version", model, notAModel = "not_a_model"
        case vocabulary, metadata, lineage, tensors, totals
    }

    init(path: String, reader: TXWReader, summary: Inspect.Summary) {
        self.path = path
        fileSize = reader.fileSize
        formatVersion = reader.version.description
        switch summary.profile {
        case let .success((h, vocabulary, contextLength)):
            model = JSONNullable(ModelJSON(h, contextLength: contextLength))
            notAModel = nil
            self.vocabulary = JSONNullable(vocabulary.map(VocabularyJSON.init))
        case let .failure(error):
            model = JSONNullable(nil)
            notAModel = describe(error)
            vocabulary = nil
        }
        metadata = JSONDynamicObject(summary.userMetadata.map { ($0.key, MetadataJSON($0.value)) })
        let lineageEntries = Lineage.entries(summary.userMetadata)
        lineage = JSONNullable(lineageEntries.isEmpty ? nil : LineageJSON(entries: lineageEntries))
        tensors = reader.tensors.enumerated().map { i, t in
            TensorJSON(t, stats: summary.statistics.isEmpty ? nil : StatisticsJSON(summary.statistics[i]))
        }
        totals = TotalsJSON(tensors: reader.tensors.count, rawBytes: summary.rawTotal, storedBytes: summary.storedTotal,
                            ratio: compressionRatio(summary.storedTotal, summary.rawTotal), blocks: summary.blockTotal)
    }
}

struct ModelJSON: Encodable {
    let vocabSize, dModel, nHead, dHead, dMLP, nBlock: Int
    let rmsnormEpsilon, positionalBase, maskValue: Double
    /// `model.context_length`, null when the file has none.
    let contextLength: JSONNullable<Int>
    let parameters: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", nHead = "n_head", dHead = "d_head", dMLP = "d_mlp"
        case nBlock = "n_block", rmsnormEpsilon = "rmsnorm_epsilon", positionalBase = "positional_base"
        case maskValue = "mask_value", contextLength = "context_length", parameters
    }

    init(_ h: Hyperparameters, contextLength: Int?) {
        self.contextLength = JSONNullable(contextLength)
        (vocabSize, dModel, nHead, dHead, dMLP, nBlock) = (h.vocabSize, h.dModel, h.nHead, h.dHead, h.dMLP, h.nBlock)
        (rmsnormEpsilon, positionalBase, maskValue) =
            (h.constants.rmsnormEpsilon, h.constants.positionalBase, h.constants.maskValue)
        parameters = h.parameterCount
    }
}

/// The vocabulary's size and its first 32 tokens.
struct VocabularyJSON: Encodable {
    let size: Int
    let preview: [String]

    init(_ vocabulary: Vocabulary) {
        size = vocabulary.count
        preview = Array(vocabulary.tokens.prefix(32))
    }
}

/// A metadata value as the JSON value of its type.
struct MetadataJSON: Encodable {
    let value: MetadataValue

    init(_ value: MetadataValue) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case let .int(v): try container.encode(v)
        case let .float(v): try container.encode(v)
        case let .bool(v): try container.encode(v)
        case let .string(s): try container.encode(s)
        case let .strings(list): try container.encode(list)
        }
    }
}

struct TensorJSON: Encodable {
    let name, dtype: String
    let shape: [Int]
    let codec, filter: String
    let rawBytes, storedBytes: Int
    let ratio: Double
    let blocks: Int
    /// Only under --stats.
    let stats: StatisticsJSON?

    enum CodingKeys: String, CodingKey {
        case name, dtype, shape, codec, filter, rawBytes = "raw_bytes", storedBytes = "stored_bytes", ratio, blocks, stats
    }

    init(_ t: TensorEntry, stats: StatisticsJSON?) {
        (name, dtype, shape) = (t.name, t.dtype.description, t.shape)
        (codec, filter) = (t.codec.description, t.filter.description)
        (rawBytes, storedBytes, ratio, blocks) = (t.rawSize, t.storedSize, compressionRatio(t.storedSize, t.rawSize), t.blocks.count)
        self.stats = stats
    }
}

struct StatisticsJSON: Encodable {
    let min, max, mean, std: Double
    let nan, inf: Int
    let histogram: [Int]

    init(_ s: TensorStatistics) {
        (min, max, mean, std) = (s.min, s.max, s.mean, s.std)
        (nan, inf, histogram) = (s.nanCount, s.infCount, s.histogram)
    }
}

struct TotalsJSON: Encodable {
    let tensors, rawBytes, storedBytes: Int
    let ratio: Double
    let blocks: Int

    enum CodingKeys: String, CodingKey {
        case tensors, rawBytes = "raw_bytes", storedBytes = "stored_bytes", ratio, blocks
    }
}

/// The result of --verify.
struct VerifyJSON: Encodable {
    let path: String
    let ok: Bool
    let tensors, blocks: Int
    let problems: [ProblemJSON]
    /// The tensors that hold NaN or ±inf values (not damage).
    let nonFinite: [NonFiniteJSON]
    /// Only with --expect-digest (and no damage): expected, found, match.
    var digest: DigestCheckJSON? = nil

    enum CodingKeys: String, CodingKey { case path, ok, tensors, blocks, problems, nonFinite = "non_finite", digest }
}

/// A tensor's non-finite values under --verify: counts and the first flat index.
struct NonFiniteJSON: Encodable {
    let tensor: String
    let nan, inf: Int
    let firstIndex: Int?

    init(tensor: String, _ count: NonFiniteCount) {
        self.tensor = tensor
        (nan, inf, firstIndex) = (count.nan, count.infinite, count.firstIndex)
    }

    enum CodingKeys: String, CodingKey { case tensor, nan, inf, firstIndex = "first_index" }
}

/// One damaged block (tensor, block and offset when the problem has them).
struct ProblemJSON: Encodable {
    let category: String
    let tensor: String?
    let block: Int?
    let offset: Int?
    let message: String

    init(_ problem: TXWFormatError) {
        category = problem.category
        switch problem {
        case let .blockChecksum(tensor, block, offset, _, _), let .decode(tensor, block, offset, _):
            (self.tensor, self.block, self.offset) = (tensor, block, offset)
        default:
            (tensor, block, offset) = (nil, nil, nil)
        }
        message = Diagnostics.message(for: problem)
    }
}

/// One tensor of --dump; its `values` follow (`JSONOutput.numbers`), in the tensor's own precision.
struct DumpJSON: Encodable {
    let name, dtype: String
    let shape: [Int]
}
