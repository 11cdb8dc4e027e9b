/// The uncompressed bytes of one zip member, read front to back — copied
/// (stored) or inflated (deflate) — never more than the central directory
/// declares, with the CRC-32 of everything read so far.
final class MemberStream {
    private enum Source {
        case stored(ImportBytes)
        case deflate(Inflater)
    }

    private let source: Source
    /// The member, for errors (`npz member 'w.npy'`).
    let what: String
    /// File offset of the member's (compressed) data.
    let dataOffset: Int
    /// The uncompressed size the central directory declares.
    let declaredSize: Int
    /// Uncompressed bytes read so far.
    private(set) var position = 0
    /// CRC-32 of the bytes read so far.
    private(set) var crc: UInt32 = 0

    /// - Parameters:
    ///   - data: the member's compressed bytes (already bounded by the file).
    ///   - method: 0 (stored) or 8 (deflate).
    init(data: ImportBytes, method: UInt16, declaredSize: Int, what: String) throws {
        self.what = what
        self.dataOffset = data.base
        self.declaredSize = declaredSize
        switch method {
        case 0:
            guard data.count == declaredSize else {
                throw ImportError.sizeMismatch(what: "\(what) stored size", offset: data.base, expected: declaredSize, found: data.count)
            }
            source = .stored(data)
        case 8:
            source = .deflate(try Inflater(input: data.bytes, what: what, offset: data.base))
        default:
            throw ImportError.unsupported(what: what, offset: data.base, feature: "compression method \(method)")
        }
    }

    /// Where uncompressed position `position` is, for errors: its file offset
    /// when stored; the compressed data's offset when deflated.
    func fileOffset(_ at: Int) -> Int {
        if case .stored = source {
            let (sum, overflow) = dataOffset.addingReportingOverflow(at)
            return overflow ? Int.max : sum
        }
        return dataOffset
    }

    /// The `field` at the current position, when deflated: "field (member byte K)".
    func label(_ field: String) -> String {
        if case .stored = source { return "\(what) \(field)" }
        return "\(what) \(field) (uncompressed member byte \(position))"
    }

    /// Reads exactly `buffer.count` bytes, or throws naming `field`.
    func read(into buffer: UnsafeMutableRawBufferPointer, _ field: @autoclosure () -> String) throws {
        let want = buffer.count
        guard want <= declaredSize - position else {
            throw ImportError.truncated(what: label(field()), offset: fileOffset(position), needed: want,
                                        available: declaredSize - position)
        }
        switch source {
        case let .stored(data):
            let part = try data.getSlice(at: position, length: want, label(field()))
            if want > 0, let base = buffer.baseAddress, let from = part.bytes.baseAddress {
                base.copyMemory(from: from, byteCount: want)
            }
        case let .deflate(inflater):
            let got = try inflater.fill(buffer)
            guard got == want else {
                throw ImportError.inflate(
                    what: label(field()), offset: dataOffset,
                    detail: "the deflate stream ends after \(position + got) bytes, but the member declares \(declaredSize)")
            }
        }
        crc = CRC32.update(crc, UnsafeRawBufferPointer(buffer))
        position += want
    }

    /// Reads `count` (≤ what is left of the declared size) bytes into a new array.
    func read(_ count: Int, _ field: @autoclosure () -> String) throws -> [UInt8] {
        guard count >= 0, count <= declaredSize - position else {
            throw ImportError.truncated(what: label(field()), offset: fileOffset(position), needed: count,
                                        available: declaredSize - position)
        }
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, field()) }
        return bytes
    }

    /// Checks that the member holds nothing after what was read: the stored
    /// bytes are used up; a deflate stream ends here, without more output,
    /// and uses up its compressed bytes.
    func finish() throws {
        guard position == declaredSize else {
            throw ImportError.sizeMismatch(what: "\(what) size", offset: dataOffset, expected: position, found: declaredSize)
        }
        guard case let .deflate(inflater) = source else { return }
        var extra: UInt8 = 0
        let more = try withUnsafeMutableBytes(of: &extra) { try inflater.fill($0) }
        guard more == 0, inflater.ended else {
            throw ImportError.inflate(
                what: what, offset: dataOffset,
                detail: "inflates to more than \(declaredSize) bytes, the size its .npy header implies (stopped there)")
        }
        guard inflater.remainingInput == 0 else {
            throw ImportError.inflate(
                what: what, offset: dataOffset,
                detail: "\(inflater.remainingInput) compressed bytes follow the end of the deflate stream")
        }
    }
}
