import CZlib

/// A raw deflate stream (zlib, windowBits -15) over a bounded input, inflated
/// into buffers the caller sizes: the output never exceeds what is asked for.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeRawBufferPointer
    /// Bytes of `input` consumed so far.
    private(set) var consumed = 0
    /// Compressed bytes not consumed yet.
    var remainingInput: Int { input.count - consumed }
    /// True once the deflate stream's final block has been decoded.
    private(set) var ended = false
    /// For errors: the member and the file offset of its compressed data.
    private let what: String
    private let offset: Int

    init(input: UnsafeRawBufferPointer, what: String, offset: Int) throws {
        self.input = input
        self.what = what
        self.offset = offset
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw ImportError.inflate(what: what, offset: offset, detail: "zlib inflateInit2 failed (\(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates into `output` until it is full or the stream ends; returns
    /// the number of bytes written. Throws on corrupt data, or when the input
    /// runs out before the stream's end.
    func fill(_ output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let outBase = output.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return 0 }
        var written = 0
        while written < output.count, !ended {
            let outChunk = min(output.count - written, 1 << 30)
            let inChunk = min(input.count - consumed, 1 << 30)
            stream.pointee.next_out = outBase + written
            stream.pointee.avail_out = uInt(outChunk)
            if let inBase = input.baseAddress {
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self) + consumed)
            } else {
                stream.pointee.next_in = nil
            }
            stream.pointee.avail_in = uInt(inChunk)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let usedIn = inChunk - Int(stream.pointee.avail_in)
            let madeOut = outChunk - Int(stream.pointee.avail_out)
            consumed += usedIn
            written += madeOut
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            switch status {
            case Z_STREAM_END:
                ended = true
            case Z_OK, Z_BUF_ERROR:
                guard usedIn > 0 || madeOut > 0 else {
                    if consumed == input.count {
                        throw ImportError.inflate(
                            what: what, offset: offset,
                            detail: "the deflate stream ends (after \(input.count) compressed bytes) before its final block")
                    }
                    throw ImportError.inflate(what: what, offset: offset, detail: "zlib inflate makes no progress (\(status))")
                }
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw ImportError.inflate(
                    what: what, offset: offset,
                    detail: "corrupt deflate data near compressed byte \(consumed): \(message)")
            }
        }
        return written
    }
}
