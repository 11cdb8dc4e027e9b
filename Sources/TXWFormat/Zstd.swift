import CZstd
import TXWThreads

/// Every call into libzstd, in one place. C error codes become `Zstd.Failure`
/// here (`ZSTD_isError` → the text of `ZSTD_getErrorName`).
enum Zstd {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The level range libzstd accepts for compression.
    static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

    static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }

    /// One zstd frame holding `source`, with its content size in the frame header.
    /// Single-threaded and parameter-free, so the bytes depend only on the
    /// input, the level and the libzstd version.
    static func compress(_ source: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        guard ZSTD_isError(bound) == 0 else { throw Failure(description: errorName(bound)) }
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, dst.count, source.baseAddress, source.count, Int32(level))
        }
        guard ZSTD_isError(written) == 0 else { throw Failure(description: errorName(written)) }
        out.removeSubrange(written...)
        return out
    }

    /// A decompression context, kept by a decoding part for all its blocks
    /// (libzstd otherwise allocates and frees one per frame). Used by one
    /// thread at a time (UnsafeShared rule 3: one per decoding part).
    final class Context: Sendable {
        private let context: UnsafeShared<OpaquePointer>

        var pointer: OpaquePointer { context.pointer }

        init() throws {
            guard let pointer = ZSTD_createDCtx() else { throw Failure(description: "cannot allocate a decompression context") }
            context = UnsafeShared(pointer)
        }

        deinit { ZSTD_freeDCtx(context.pointer) }
    }

    /// Decodes `source`, which must be exactly one frame, into `destination`,
    /// which must be filled exactly. Never writes past `destination`.
    static func decompressFrame(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, context: Context? = nil
    ) throws {
        guard let base = source.baseAddress, source.count > 0 else {
            throw Failure(description: "empty block")
        }
        let frameSize = ZSTD_findFrameCompressedSize(base, source.count)
        guard ZSTD_isError(frameSize) == 0 else {
            throw Failure(description: "not a zstd frame: \(errorName(frameSize))")
        }
        guard frameSize == source.count else {
            throw Failure(description: "\(source.count - frameSize) bytes follow the zstd frame (\(frameSize) bytes)")
        }
        let declared = ZSTD_getFrameContentSize(base, source.count)
        // ZSTD_CONTENTSIZE_UNKNOWN = 0ULL - 1, ZSTD_CONTENTSIZE_ERROR = 0ULL - 2.
        if declared == UInt64.max - 1 {
            throw Failure(description: "unreadable zstd frame header")
        }
        if declared == UInt64.max {
            throw Failure(description: "the frame does not declare its content size")
        }
        if declared != UInt64(destination.count) {
            throw Failure(description: "frame declares \(declared) decoded bytes, the index \(destination.count)")
        }
        let produced = context.map { ZSTD_decompressDCtx($0.pointer, destination.baseAddress, destination.count, base, source.count) }
            ?? ZSTD_decompress(destination.baseAddress, destination.count, base, source.count)
        guard ZSTD_isError(produced) == 0 else {
            let name = errorName(produced)
            if ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall {
                throw Failure(description: "decodes to more than the declared \(destination.count) bytes (\(name))")
            }
            throw Failure(description: name)
        }
        guard produced == destination.count else {
            throw Failure(description: "decoded \(produced) bytes, expected \(destination.count)")
        }
    }
}
