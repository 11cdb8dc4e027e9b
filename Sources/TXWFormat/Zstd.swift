import CZstd
import TXWThreads

/// Why libzstd, or the frame checks txw makes around it, refused a block.
///
/// The cases that come from libzstd keep its error code (`ZSTD_ErrorCode`,
/// from `ZSTD_getErrorCode`) and name (`ZSTD_getErrorName`); the others are
/// txw's own requirements on a stored block (Spec/txw-format.md §1.5: one
/// frame, its content size declared and equal to the block's raw length).
public enum ZstdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libzstd reported `code` (named `name`) while compressing or decoding.
    case library(code: Int, name: String)
    /// The block does not start with a zstd frame (`ZSTD_findFrameCompressedSize` failed).
    case notAFrame(code: Int, name: String)
    /// A zstd block of no bytes.
    case emptyBlock
    /// `trailing` bytes follow the block's first frame of `frameSize` bytes.
    case trailingBytes(frameSize: Int, trailing: Int)
    /// The frame header cannot be read.
    case unreadableHeader
    /// The frame header does not declare the decoded size.
    case noContentSize
    /// The frame declares `declared` decoded bytes; the index says `expected`.
    case contentSizeMismatch(declared: UInt64, expected: Int)
    /// The frame decodes to more than the `expected` bytes (libzstd's `code`, named `name`).
    case overflow(expected: Int, code: Int, name: String)
    /// The frame decoded to `produced` bytes, not the `expected` ones.
    case shortOutput(produced: Int, expected: Int)
    /// libzstd could not allocate a decompression context.
    case contextAllocation

    /// libzstd's error name, or what the frame checks found.
    public var description: String {
        switch self {
        case let .library(_, name): name
        case let .notAFrame(_, name): "not a zstd frame: \(name)"
        case .emptyBlock: "empty block"
        case let .trailingBytes(frameSize, trailing): "\(trailing) bytes follow the zstd frame (\(frameSize) bytes)"
        case .unreadableHeader: "unreadable zstd frame header"
        case .noContentSize: "the frame does not declare its content size"
        case let .contentSizeMismatch(declared, expected): "frame declares \(declared) decoded bytes, the index \(expected)"
        case let .overflow(expected, _, name): "decodes to more than the declared \(expected) bytes (\(name))"
        case let .shortOutput(produced, expected): "decoded \(produced) bytes, expected \(expected)"
        case .contextAllocation: "cannot allocate a decompression context"
        }
    }
}

/// Every call into libzstd, in one place. C error codes become `ZstdError`
/// here, with libzstd's code and name.
enum Zstd {
    /// The level range libzstd accepts for compression.
    static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

    static func errorName(_ result: Int) -> String {
        String(cString: ZSTD_getErrorName(result))
    }

    /// The `ZSTD_ErrorCode` of a result for which `ZSTD_isError` holds.
    static func errorCode(_ result: Int) -> Int {
        Int(ZSTD_getErrorCode(result).rawValue)
    }

    static func libraryError(_ result: Int) -> ZstdError {
        .library(code: errorCode(result), name: errorName(result))
    }

    /// One zstd frame holding `source`, with its content size in the frame header.
    /// Single-threaded and parameter-free, so the bytes depend only on the
    /// input, the level and the libzstd version.
    static func compress(_ source: UnsafeRawBufferPointer, level: Int) throws(ZstdError) -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        guard ZSTD_isError(bound) == 0 else { throw libraryError(bound) }
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, dst.count, source.baseAddress, source.count, Int32(level))
        }
        guard ZSTD_isError(written) == 0 else { throw libraryError(written) }
        out.removeSubrange(written...)
        return out
    }

    /// A decompression context, kept by a decoding part for all its blocks
    /// (libzstd otherwise allocates and frees one per frame). Used by one
    /// thread at a time (UnsafeShared rule 3: one per decoding part).
    final class Context: Sendable {
        private let context: UnsafeShared<OpaquePointer>

        var pointer: OpaquePointer { context.pointer }

        init() throws(ZstdError) {
            guard let pointer = ZSTD_createDCtx() else { throw .contextAllocation }
            context = UnsafeShared(pointer)
        }

        deinit { ZSTD_freeDCtx(context.pointer) }
    }

    /// Decodes `source`, which must be exactly one frame, into `destination`,
    /// which must be filled exactly. Never writes past `destination`.
    static func decompressFrame(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, context: Context? = nil
    ) throws(ZstdError) {
        guard let base = source.baseAddress, source.count > 0 else {
            throw .emptyBlock
        }
        let frameSize = ZSTD_findFrameCompressedSize(base, source.count)
        guard ZSTD_isError(frameSize) == 0 else {
            throw .notAFrame(code: errorCode(frameSize), name: errorName(frameSize))
        }
        guard frameSize == source.count else {
            throw .trailingBytes(frameSize: frameSize, trailing: source.count - frameSize)
        }
        let declared = ZSTD_getFrameContentSize(base, source.count)
        // ZSTD_CONTENTSIZE_UNKNOWN = 0ULL - 1, ZSTD_CONTENTSIZE_ERROR = 0ULL - 2.
        if declared == UInt64.max - 1 {
            throw .unreadableHeader
        }
        if declared == UInt64.max {
            throw .noContentSize
        }
        if declared != UInt64(destination.count) {
            throw .contentSizeMismatch(declared: declared, expected: destination.count)
        }
        let produced = context.map { ZSTD_decompressDCtx($0.pointer, destination.baseAddress, destination.count, base, source.count) }
            ?? ZSTD_decompress(destination.baseAddress, destination.count, base, source.count)
        guard ZSTD_isError(produced) == 0 else {
            if ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall {
                throw .overflow(expected: destination.count, code: errorCode(produced), name: errorName(produced))
            }
            throw libraryError(produced)
        }
        guard produced == destination.count else {
            throw .shortOutput(produced: produced, expected: destination.count)
        }
    }
}
