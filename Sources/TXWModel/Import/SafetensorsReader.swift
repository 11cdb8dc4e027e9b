import Foundation
import TXWFormat

/// Reads a `.safetensors` file: a little-endian u64 header length N, N bytes
/// of UTF-8 JSON, then the data section, which the tensors' `data_offsets`
/// (relative to the data section) must cover exactly, without overlap.
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
    static func read(_ file: ImportBytes) throws -> [ImportedArray] {
        let length64 = try file.u64(0, "safetensors header length")
        guard length64 <= maxHeaderLength else {
            throw ImportError.limit(what: "safetensors header length", offset: 0, value: "\(length64)", limit: "\(maxHeaderLength)")
        }
        let length = Int(length64)
        let available = file.count - headerStart
        guard length <= available else {
            throw ImportError.truncated(what: "safetensors JSON header", offset: headerStart, needed: length, available: available)
        }
        let header = try file.slice(headerStart, length, "safetensors JSON header")
        let dataStart = headerStart + length
        let dataSize = file.count - dataStart
        let object = try json(header)

        var entries: [Entry] = []
        for name in object.keys.sorted() {
            let value = object[name] as Any
            if name == "__metadata__" {
                try checkMetadata(value)
                continue
            }
            entries.append(try entry(name, value, dataSize: dataSize, dataStart: dataStart))
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
        return entries.map { entry in
            let start = dataStart + entry.begin
            let bytes = Array(UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + entry.end - entry.begin)]))
            return ImportedArray(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: bytes)
        }
    }

    /// The header as a JSON object.
    private static func json(_ header: ImportBytes) throws -> [String: Any] {
        let what = "safetensors JSON header"
        guard String(validating: header.bytes, as: UTF8.self) != nil else {
            throw ImportError.invalidUTF8(what: what, offset: header.base)
        }
        guard header.count > 0, header.bytes[0] == UInt8(ascii: "{") else {
            throw ImportError.malformed(what: what, offset: header.base, expected: "a JSON object beginning with '{'",
                                        found: header.count == 0 ? "an empty header" : "byte \(header.bytes[0])")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(header.bytes), options: [])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw ImportError.malformed(what: what, offset: header.base, expected: "a JSON object", found: "invalid JSON (\(detail))")
        }
        guard let object = parsed as? [String: Any] else {
            throw ImportError.malformed(what: what, offset: header.base, expected: "a JSON object", found: "\(kind(of: parsed))")
        }
        return object
    }

    private static func checkMetadata(_ value: Any) throws {
        let what = "safetensors __metadata__"
        guard let metadata = value as? [String: Any] else {
            throw ImportError.malformed(what: what, offset: headerStart, expected: "an object of strings", found: kind(of: value))
        }
        for key in metadata.keys.sorted() where !(metadata[key] is String) {
            throw ImportError.malformed(what: what + " '\(key)'", offset: headerStart, expected: "a string",
                                        found: kind(of: metadata[key] as Any))
        }
    }

    private static func entry(_ name: String, _ value: Any, dataSize: Int, dataStart: Int) throws -> Entry {
        let what = "safetensors tensor '\(name)'"
        guard let fields = value as? [String: Any] else {
            throw ImportError.malformed(what: what, offset: headerStart,
                                        expected: "an object with dtype, shape and data_offsets", found: kind(of: value))
        }
        for key in fields.keys.sorted() where !["dtype", "shape", "data_offsets"].contains(key) {
            throw ImportError.malformed(what: what, offset: headerStart,
                                        expected: "only the keys dtype, shape and data_offsets", found: "'\(key)'")
        }
        guard let dtypeValue = fields["dtype"] else {
            throw ImportError.malformed(what: what, offset: headerStart, expected: "a dtype", found: "none")
        }
        guard let dtypeName = dtypeValue as? String else {
            throw ImportError.malformed(what: what + " dtype", offset: headerStart, expected: "a string", found: kind(of: dtypeValue))
        }
        let dtype: DType
        switch dtypeName {
        case "F16": dtype = .f16
        case "BF16": dtype = .bf16
        case "F32": dtype = .f32
        case "F64": dtype = .f64
        default: throw ImportError.unsupportedDType(what: what, offset: headerStart, dtype: "'\(dtypeName)'")
        }
        guard let shapeValue = fields["shape"] else {
            throw ImportError.malformed(what: what, offset: headerStart, expected: "a shape", found: "none")
        }
        guard let dims = shapeValue as? [Any] else {
            throw ImportError.malformed(what: what + " shape", offset: headerStart, expected: "an array of integers",
                                        found: kind(of: shapeValue))
        }
        guard dims.count <= FormatLimits.maxRank else {
            throw ImportError.limit(what: what + " rank", offset: headerStart, value: "\(dims.count)", limit: "\(FormatLimits.maxRank)")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let d = integer(dim), d >= 0, UInt64(d) <= FormatLimits.maxDimension else {
                throw ImportError.malformed(what: what + " shape", offset: headerStart,
                                            expected: "integers in 0 … 2^40", found: describe(dim))
            }
            shape.append(d)
        }
        let byteCount = try ShapeCheck.byteCount(shape, dtype: dtype, what, offset: headerStart)
        guard let offsetsValue = fields["data_offsets"] else {
            throw ImportError.malformed(what: what, offset: headerStart, expected: "data_offsets", found: "none")
        }
        guard let offsets = offsetsValue as? [Any], offsets.count == 2 else {
            throw ImportError.malformed(what: what + " data_offsets", offset: headerStart,
                                        expected: "an array [begin, end] of two integers", found: describe(offsetsValue))
        }
        guard let begin = integer(offsets[0]), let end = integer(offsets[1]), begin >= 0, begin <= end else {
            throw ImportError.malformed(what: what + " data_offsets", offset: headerStart,
                                        expected: "integers 0 ≤ begin ≤ end", found: describe(offsetsValue))
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

    /// An integral JSON number as an `Int` (nil for booleans, fractions,
    /// and numbers beyond `Int`). Foundation reports JSON `true`/`false` as
    /// NSNumbers of ObjC type `c`, which no JSON number has.
    private static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        if let i = value as? Int { return i }
        if let d = value as? Double { return Int(exactly: d) }
        return nil
    }

    private static func kind(of value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case let n as NSNumber: return String(cString: n.objCType) == "c" ? "a boolean" : "the number \(n)"
        case is NSNull: return "null"
        default: return "\(type(of: value))"
        }
    }

    private static func describe(_ value: Any) -> String {
        switch value {
        case let n as NSNumber where String(cString: n.objCType) != "c": return "\(n)"
        case let array as [Any]: return "[" + array.map(describe).joined(separator: ", ") + "]"
        case let s as String: return "\"\(s)\""
        default: return kind(of: value)
        }
    }
}
