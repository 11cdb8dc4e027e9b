import TXWFormat

/// Reads a `.safetensors` file: a little-endian u64 header length N, N bytes
/// of UTF-8 JSON, then the data section, which the tensors' `data_offsets`
/// (relative to the data section) must cover exactly, without overlap.
///
/// The header is strict JSON (`JSONParser`): a tensor name, field or
/// `__metadata__` key given twice is an error rather than a silent choice,
/// `shape` and `data_offsets` must be exact non-negative integers (`4.0` is 4;
/// `2.5`, `1e300` and anything beyond `Int` are not integers), and every
/// error gives the file offset of the value at fault.
enum SafetensorsReader {
    /// The safetensors reference implementation's limit on N.
    static let maxHeaderLength: UInt64 = 100_000_000
    static let headerStart = 8

    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
        var what: String { "safetensors tensor '\(name)'" }
    }

    /// Every tensor, in data-offset order.
    static func read(_ file: ImportBytes, budget: MemoryBudget = .unlimited) throws -> [ImportedArray] {
        try readFile(file, budget: budget).arrays
    }

    /// Every tensor, in data-offset order, and the `__metadata__` map.
    static func readFile(_ file: ImportBytes, budget: MemoryBudget = .unlimited) throws -> ImportedFile {
        let length64 = try file.getInteger(at: 0, as: UInt64.self, "safetensors header length")
        guard length64 <= maxHeaderLength else {
            throw ImportError.limit(what: "safetensors header length", offset: 0, value: "\(length64)", limit: "\(maxHeaderLength)")
        }
        let length = Int(length64)
        let available = file.count - headerStart
        guard length <= available else {
            throw ImportError.truncated(what: "safetensors JSON header", offset: headerStart, needed: length, available: available)
        }
        let header = try file.getSlice(at: headerStart, length: length, "safetensors JSON header")
        let dataStart = headerStart + length
        let dataSize = file.count - dataStart
        let object = try JSONValue.uniqueMembers(try json(header), "safetensors JSON header")

        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, member) in object.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                metadata = try checkMetadata(member.value)
                continue
            }
            entries.append(try entry(name, member.value, dataSize: dataSize, dataStart: dataStart))
        }

        // The data section must be covered exactly: no overlap, no hole, nothing after.
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        var covered = 0
        var previous: Entry?
        for entry in entries {
            if entry.begin < covered, let previous {
                throw ImportError.layout(
                    what: entry.what, offset: dataStart + entry.begin,
                    detail: "data_offsets [\(entry.begin), \(entry.end)] overlap tensor '\(previous.name)' [\(previous.begin), \(previous.end)]")
            }
            if entry.begin > covered {
                throw ImportError.layout(
                    what: entry.what, offset: dataStart + covered,
                    detail: "data section bytes [\(covered), \(entry.begin)) before it belong to no tensor (a hole)")
            }
            covered = entry.end
            previous = entry
        }
        guard covered == dataSize else {
            throw ImportError.layout(
                what: "safetensors data section", offset: dataStart + covered,
                detail: "\(dataSize - covered) bytes after the last tensor (ending at data offset \(covered)) belong to no tensor")
        }
        // The arrays are copies of the data section.
        try budget.check(dataSize, for: "the \(entries.count) safetensors tensors")
        let arrays = entries.map { entry in
            let start = dataStart + entry.begin
            let bytes = Array(UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + entry.end - entry.begin)]))
            return ImportedArray(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: bytes)
        }
        return ImportedFile(format: .safetensors, arrays: arrays, metadata: metadata)
    }

    /// The header's members: a JSON object, followed by nothing but whitespace.
    private static func json(_ header: ImportBytes) throws -> [JSONMember] {
        let what = "safetensors JSON header"
        guard String(validating: header.bytes, as: UTF8.self) != nil else {
            throw ImportError.invalidUTF8(what: what, offset: header.base)
        }
        guard header.count > 0, header.bytes[0] == UInt8(ascii: "{") else {
            throw ImportError.malformed(what: what, offset: header.base, expected: "a JSON object beginning with '{'",
                                        found: header.count == 0 ? "an empty header" : "byte \(header.bytes[0])")
        }
        let parsed = try JSONParser.parse(header, what: what)
        guard case let .object(members) = parsed.kind else {
            throw ImportError.malformed(what: what, offset: parsed.offset, expected: "a JSON object", found: parsed.kindDescription)
        }
        return members
    }

    /// `__metadata__` must map strings to strings; the map.
    private static func checkMetadata(_ value: JSONValue) throws -> [String: String] {
        let what = "safetensors __metadata__"
        guard case let .object(members) = value.kind else {
            throw ImportError.malformed(what: what, offset: value.offset, expected: "an object of strings", found: value.kindDescription)
        }
        let metadata = try JSONValue.uniqueMembers(members, what)
        var map: [String: String] = [:]
        for (key, member) in metadata.sorted(by: { $0.key < $1.key }) {
            guard case let .string(text) = member.value.kind else {
                throw ImportError.malformed(what: what + " '\(key)'", offset: member.value.offset, expected: "a string",
                                            found: member.value.kindDescription)
            }
            map[key] = text
        }
        return map
    }

    private static func entry(_ name: String, _ value: JSONValue, dataSize: Int, dataStart: Int) throws -> Entry {
        let what = "safetensors tensor '\(name)'"
        guard case let .object(members) = value.kind else {
            throw ImportError.malformed(what: what, offset: value.offset,
                                        expected: "an object with dtype, shape and data_offsets", found: value.kindDescription)
        }
        let fields = try JSONValue.uniqueMembers(members, what)
        for (key, member) in fields.sorted(by: { $0.key < $1.key }) where !["dtype", "shape", "data_offsets"].contains(key) {
            throw ImportError.malformed(what: what, offset: member.keyOffset,
                                        expected: "only the keys dtype, shape and data_offsets", found: "'\(key)'")
        }
        guard let dtypeValue = fields["dtype"]?.value else {
            throw ImportError.malformed(what: what, offset: value.offset, expected: "a dtype", found: "none")
        }
        guard case let .string(dtypeName) = dtypeValue.kind else {
            throw ImportError.malformed(what: what + " dtype", offset: dtypeValue.offset, expected: "a string",
                                        found: dtypeValue.kindDescription)
        }
        let dtype: DType
        switch dtypeName {
        case "F16": dtype = .f16
        case "BF16": dtype = .bf16
        case "F32": dtype = .f32
        case "F64": dtype = .f64
        default: throw ImportError.unsupportedDType(what: what, offset: dtypeValue.offset, dtype: "'\(dtypeName)'")
        }
        guard let shapeValue = fields["shape"]?.value else {
            throw ImportError.malformed(what: what, offset: value.offset, expected: "a shape", found: "none")
        }
        guard case let .array(dims) = shapeValue.kind else {
            throw ImportError.malformed(what: what + " shape", offset: shapeValue.offset, expected: "an array of integers",
                                        found: shapeValue.kindDescription)
        }
        guard dims.count <= FormatLimits.maxRank else {
            throw ImportError.limit(what: what + " rank", offset: shapeValue.offset, value: "\(dims.count)",
                                    limit: "\(FormatLimits.maxRank)")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let d = dim.integer, d >= 0, UInt64(d) <= FormatLimits.maxDimension else {
                throw ImportError.malformed(what: what + " shape", offset: dim.offset,
                                            expected: "integers in 0 … 2^40", found: dim.shortDescription)
            }
            shape.append(d)
        }
        let byteCount = try ShapeCheck.byteCount(shape, dtype: dtype, what, offset: shapeValue.offset)
        guard let offsetsValue = fields["data_offsets"]?.value else {
            throw ImportError.malformed(what: what, offset: value.offset, expected: "data_offsets", found: "none")
        }
        guard case let .array(offsets) = offsetsValue.kind, offsets.count == 2 else {
            throw ImportError.malformed(what: what + " data_offsets", offset: offsetsValue.offset,
                                        expected: "an array [begin, end] of two integers", found: offsetsValue.shortDescription)
        }
        guard let begin = offsets[0].integer, let end = offsets[1].integer, begin >= 0, begin <= end else {
            throw ImportError.malformed(what: what + " data_offsets", offset: offsetsValue.offset,
                                        expected: "integers 0 ≤ begin ≤ end", found: offsetsValue.shortDescription)
        }
        guard end <= dataSize else {
            let (at, overflow) = dataStart.addingReportingOverflow(begin)
            throw ImportError.truncated(
                what: what + " data_offsets [\(begin), \(end)] (the data section has \(dataSize) bytes)",
                offset: overflow ? Int.max : at, needed: end - begin, available: max(0, dataSize - begin))
        }
        guard end - begin == byteCount else {
            throw ImportError.sizeMismatch(
                what: what + " data_offsets [\(begin), \(end)] for shape \(NPZReader.shapeText(shape)) of \(dtypeName)",
                offset: dataStart + begin, expected: byteCount, found: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}
