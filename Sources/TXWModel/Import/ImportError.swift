import SystemPackage
import TXWFormat

/// Why an `.npz` or `.safetensors` file could not be imported: what, where, and
/// the detail (expected vs found where there is one).
///
/// `what` names the structure at fault and, when there is one, the npz member
/// (`npz member 'w.npy'`) or safetensors tensor (`safetensors tensor 'w'`);
/// `offset` is a byte offset in the file (for the contents of a deflated npz
/// member, which have no file offset of their own, the offset of the member's
/// compressed data, with the position inside the member given in `what`).
/// `description` reads `what: where: detail`.
///
/// The importers have their own error type rather than `TXWFormatError`:
/// they read other formats (zip, npy, safetensors), and their categories are
/// those of the import fixtures. A file that cannot be opened is reported
/// with the same typed payload as TXWFormat's (`Errno`, or not a regular file).
public enum ImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened, inspected or mapped: the system call failed with `errno`.
    case io(path: String, operation: String, errno: Errno)
    /// `path` is a directory (or another kind of file that is not a regular file).
    case notRegularFile(path: String, operation: String, isDirectory: Bool)
    /// `ArrayImporter.read(path:)` found neither a zip archive nor a
    /// safetensors header; `found` holds the file's first (up to 16) bytes.
    case unrecognizedFormat(path: String, found: [UInt8])
    /// A structure needs `needed` bytes at `offset`, but its container (the file,
    /// a member, a header) has only `available` bytes from there.
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    /// A field holds a value the format does not allow.
    case malformed(what: String, offset: Int, expected: String, found: String)
    /// A feature of the format this importer does not read (multi-disk zip,
    /// encryption, a compression method other than stored/deflate, …).
    case unsupported(what: String, offset: Int, feature: String)
    /// An element type other than float16/32/64 (npz) or F16/BF16/F32/F64 (safetensors).
    case unsupportedDType(what: String, offset: Int, dtype: String)
    /// A shape txw cannot hold: rank beyond 8, a dimension of 0 or beyond
    /// 2^40, an element count beyond 2^40 (Spec/txw-format.md §1.6).
    case invalidShape(what: String, offset: Int, shape: [Int], detail: String)
    /// A length from the file disagrees with the one its shape and dtype (or
    /// another field) imply.
    case sizeMismatch(what: String, offset: Int, expected: Int, found: Int)
    /// An npz member's CRC-32 differs from the central directory's.
    case checksum(what: String, offset: Int, expected: UInt32, found: UInt32)
    /// Two npz members (or safetensors tensors) share a name.
    case duplicateName(what: String, name: String, offset: Int)
    /// A name that is not valid UTF-8.
    case invalidUTF8(what: String, offset: Int)
    /// A deflate stream is corrupt, ends early, or would inflate to more
    /// bytes than its member declares.
    case inflate(what: String, offset: Int, detail: String)
    /// Safetensors data ranges overlap, leave a hole, or leave bytes after the last tensor.
    case layout(what: String, offset: Int, detail: String)
    /// A value beyond a limit of this importer or of the txw format.
    case limit(what: String, offset: Int, value: String, limit: String)

    /// A short name of the case (`truncated`, `malformed`, `checksum`, …), as
    /// the malformed fixtures' manifest states the error each file must give.
    public var category: String {
        switch self {
        case .io, .notRegularFile: "io"
        case .unrecognizedFormat: "unrecognized"
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .unsupported: "unsupported"
        case .unsupportedDType: "dtype"
        case .invalidShape: "shape"
        case .sizeMismatch: "size"
        case .checksum: "checksum"
        case .duplicateName: "duplicateName"
        case .invalidUTF8: "invalidUTF8"
        case .inflate: "inflate"
        case .layout: "layout"
        case .limit: "limit"
        }
    }

    /// `what: where: detail`.
    /// Names and paths are escaped (`DisplayText`; the free-text payloads,
    /// which may quote a name from the file, keep their backslashes), so the
    /// description is one printable line whatever the file holds.
    public var description: String {
        func text(_ s: String) -> String { DisplayText.escaped(s, .keepBackslashes) }
        switch self {
        case let .io(path, operation, errno):
            return "\(DisplayText.escaped(path)): \(text(operation)): \(errno.description)"
        case let .notRegularFile(path, operation, isDirectory):
            return "\(DisplayText.escaped(path)): \(text(operation)): is \(isDirectory ? "a directory" : "not a regular file")"
        case let .unrecognizedFormat(path, found):
            let hex = Hex.bytes(found)
            return "\(DisplayText.escaped(path)): offset 0: neither an npz (zip) archive nor a safetensors file "
                + "(expected \"PK\\x03\\x04\", \"PK\\x05\\x06\" or a u64 header length followed by '{', found \(hex.isEmpty ? "an empty file" : hex))"
        case let .truncated(what, offset, needed, available):
            return "\(text(what)): offset \(offset): needs \(needed) bytes, but only \(available) are left"
        case let .malformed(what, offset, expected, found):
            return "\(text(what)): offset \(offset): expected \(text(expected)), found \(text(found))"
        case let .unsupported(what, offset, feature):
            return "\(text(what)): offset \(offset): \(text(feature)) is not supported"
        case let .unsupportedDType(what, offset, dtype):
            return "\(text(what)): offset \(offset): dtype \(text(dtype)) is not supported (only float16, float32, float64 and, in safetensors, bfloat16)"
        case let .invalidShape(what, offset, shape, detail):
            return "\(text(what)): offset \(offset): shape (\(shape.map(String.init).joined(separator: ", "))) \(text(detail))"
        case let .sizeMismatch(what, offset, expected, found):
            return "\(text(what)): offset \(offset): expected \(expected) bytes, found \(found)"
        case let .checksum(what, offset, expected, found):
            return "\(text(what)): offset \(offset): CRC-32 expected \(Hex.literal(expected)), found \(Hex.literal(found))"
        case let .duplicateName(what, name, offset):
            return "\(text(what)): offset \(offset): the name '\(DisplayText.escaped(name))' appears twice"
        case let .invalidUTF8(what, offset):
            return "\(text(what)): offset \(offset): not valid UTF-8"
        case let .inflate(what, offset, detail):
            return "\(text(what)): offset \(offset): \(text(detail))"
        case let .layout(what, offset, detail):
            return "\(text(what)): offset \(offset): \(text(detail))"
        case let .limit(what, offset, value, limit):
            return "\(text(what)): offset \(offset): \(text(value)) is beyond the limit \(text(limit))"
        }
    }
}
