import SystemPackage

/// Why a `.txw` file was rejected or could not be written: what, and where.
///
/// Each case belongs to one of the categories of Spec/txw-format.md §1.9
/// (`category`), which the Python reader shares, so the conformance set can
/// state the error every malformed file must produce. Payloads are typed:
/// a system call's `Errno`, libzstd's `ZstdError`; `description` is for
/// people and names no command-line flag (the tools add their own advice).
public enum TXWFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (or a region it declares) ends before `needed` bytes at `offset`.
    case truncated(what: String, offset: Int, needed: Int, fileSize: Int)
    /// The first 8 bytes (`found`) are not the txw magic.
    case badMagic(found: [UInt8])
    /// A major version this reader does not read.
    case unsupportedVersion(major: UInt16, minor: UInt16)
    /// The header's checksum does not match its bytes.
    case headerChecksum(expected: UInt64, found: UInt64)
    /// The manifest's checksum (in the header) does not match its bytes.
    case manifestChecksum(expected: UInt64, found: UInt64)
    /// A value beyond a normative limit (§1.6).
    case limit(what: String, offset: Int, value: String, limit: String)
    /// The manifest does not parse: a wrong count, a reserved field, trailing bytes…
    case malformedManifest(what: String, offset: Int, detail: String)
    /// A name or string at `offset` that is not valid UTF-8.
    case invalidUTF8(what: String, offset: Int)
    /// Two tensors or metadata keys share `name`.
    case duplicateName(what: String, name: String, offset: Int)
    /// An enum code this reader does not know (dtype, codec, filter, metadata type).
    case unknownValue(what: String, value: Int, offset: Int)
    /// Offsets, lengths, padding or the file's end disagree with §1.4.
    case layout(what: String, offset: Int, expected: String, found: String)
    /// Block `block` of `tensor`, stored at `offset`, does not match its checksum.
    case blockChecksum(tensor: String, block: Int, offset: Int, expected: UInt64, found: UInt64)
    /// A stored block's bytes do not decode to its declared raw length
    /// (libzstd or txw's frame checks refused them): the file is damaged.
    case decode(tensor: String, block: Int, offset: Int, zstd: ZstdError)
    /// libzstd failed to compress block `block` of tensor `tensor` while writing.
    case compression(tensor: String, block: Int, zstd: ZstdError)
    /// libzstd failed before any block was involved (allocating a context).
    case zstd(ZstdError)
    /// A tensor name that is not in the file.
    case noSuchTensor(name: String)
    /// A caller's argument out of its domain (writer options, names, shapes, sizes).
    case invalidArgument(what: String, detail: String)
    /// A system call on `path` failed with `errno` (described with strerror(3)'s text).
    case io(path: String, operation: String, errno: Errno)
    /// `path` is a directory (or another kind of file that is not a regular
    /// file) where a regular file is needed.
    case notRegularFile(path: String, operation: String, isDirectory: Bool)
    /// The destination exists and replacing it was not asked for (`overwrite`).
    case destinationExists(path: String)
    /// `what` needs `need` bytes of memory, more than the `budget` in bytes
    /// (`MemoryBudget`); a need of `Int.max` means its computation overflowed.
    case overMemoryBudget(what: String, need: Int, budget: Int)

    /// The §1.9 category (`io`, `notFound`, `argument`, `exists`, `zstd`,
    /// `memory` for the errors that are not about a file's bytes).
    public var category: String {
        switch self {
        case .truncated: "truncated"
        case .badMagic: "badMagic"
        case .unsupportedVersion: "unsupportedVersion"
        case .headerChecksum: "headerChecksum"
        case .manifestChecksum: "manifestChecksum"
        case .limit: "limit"
        case .malformedManifest: "malformedManifest"
        case .invalidUTF8: "invalidUTF8"
        case .duplicateName: "duplicateName"
        case .unknownValue: "unknownValue"
        case .layout: "layout"
        case .blockChecksum: "blockChecksum"
        case .decode: "decode"
        case .compression, .zstd: "zstd"
        case .noSuchTensor: "notFound"
        case .invalidArgument: "argument"
        case .io, .notRegularFile: "io"
        case .destinationExists: "exists"
        case .overMemoryBudget: "memory"
        }
    }

    /// `category: detail` for errors about a file's bytes and a zstd set-up
    /// failure; the detail alone for system, argument,
    /// lookup and compression errors, which carry their own context.
    public var description: String {
        switch self {
        case .io, .notRegularFile, .invalidArgument, .destinationExists, .noSuchTensor, .compression, .overMemoryBudget: detail
        default: "\(category): " + detail
        }
    }

    /// The detail; names, keys and paths from a file or a caller pass
    /// through `DisplayText` (escaped, backslashes doubled), and so do the
    /// free-text payloads that may quote one (escaped, backslashes kept), so
    /// the description is one printable line whatever the file holds.
    package var detail: String {
        func text(_ s: String) -> String { DisplayText.escaped(s, .keepBackslashes) }
        switch self {
        case let .truncated(what, offset, needed, fileSize):
            return "\(text(what)) needs \(needed) bytes at offset \(offset), but the file has \(fileSize) bytes"
        case let .badMagic(found):
            return "not a txw file: the bytes at offset 0 are \(Hex.bytes(found)), expected the magic 89 54 58 57 0d 0a 1a 0a"
        case let .unsupportedVersion(major, minor):
            return "format version \(major).\(minor) at offset 8 is not supported (this reader reads major version 1)"
        case let .headerChecksum(expected, found):
            return "header damaged (bytes at offset 0..<56): checksum expected \(Hex.literal(expected)), found \(Hex.literal(found))"
        case let .manifestChecksum(expected, found):
            return "manifest damaged (bytes from offset 64 to the data): checksum expected \(Hex.literal(expected)), found \(Hex.literal(found))"
        case let .limit(what, offset, value, limit):
            return "\(text(what)) at offset \(offset) is \(text(value)), beyond the limit \(text(limit))"
        case let .malformedManifest(what, offset, detail):
            return "\(text(what)) at offset \(offset): \(text(detail))"
        case let .invalidUTF8(what, offset):
            return "\(text(what)) at offset \(offset) is not valid UTF-8"
        case let .duplicateName(what, name, offset):
            return "\(text(what)) '\(DisplayText.escaped(name))' at offset \(offset) appears twice"
        case let .unknownValue(what, value, offset):
            return "unknown \(text(what)) \(value) at offset \(offset)"
        case let .layout(what, offset, expected, found):
            return "\(text(what)) at offset \(offset): expected \(text(expected)), found \(text(found))"
        case let .blockChecksum(tensor, block, offset, expected, found):
            return "tensor '\(DisplayText.escaped(tensor))' block \(block) at offset \(offset) damaged: checksum expected \(Hex.literal(expected)), found \(Hex.literal(found))"
        case let .decode(tensor, block, offset, zstd):
            return "tensor '\(DisplayText.escaped(tensor))' block \(block) at offset \(offset) does not decode: \(zstd)"
        case let .compression(tensor, block, zstd):
            return "compressing tensor '\(DisplayText.escaped(tensor))' block \(block): \(zstd)"
        case let .zstd(zstd):
            return zstd.description
        case let .noSuchTensor(name):
            return "no tensor named '\(DisplayText.escaped(name))'"
        case let .invalidArgument(what, detail):
            return "\(text(what)): \(text(detail))"
        case let .io(path, operation, errno):
            return "\(DisplayText.escaped(path)): \(text(operation)) failed: \(errno.description)"
        case let .notRegularFile(path, operation, isDirectory):
            return "\(DisplayText.escaped(path)): \(text(operation)) failed: is \(isDirectory ? "a directory" : "not a regular file")"
        case let .destinationExists(path):
            return "\(DisplayText.escaped(path)) exists (pass overwrite: true to replace it)"
        case let .overMemoryBudget(what, need, budget):
            let amount = need == .max ? "more than \(Int.max)" : "\(need)"
            return "\(text(what)) needs \(amount) bytes, over the memory budget of \(budget) bytes"
        }
    }
}
