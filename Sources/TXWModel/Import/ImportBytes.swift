import TXWFormat

/// A bounds-checked, little-endian view of a region of an imported file
/// (TXWFormat's `ByteReader`) whose faults are `ImportError`s: a read past
/// the region is `truncated`, naming the field and its file offset.
typealias ImportBytes = ByteReader<ImportError>

extension ImportError: ByteReadFailure {
    package init(_ fault: ByteFault) {
        switch fault {
        case let .outOfBounds(what, offset, needed, available, _):
            self = .truncated(what: what, offset: offset, needed: needed, available: available)
        case let .invalidUTF8(what, offset):
            self = .invalidUTF8(what: what, offset: offset)
        case let .overflow(what, offset, expression):
            self = .limit(what: what, offset: offset, value: expression, limit: "\(Int.max)")
        }
    }
}
