import TXWThreads

/// What one decoding part keeps for all the blocks it decodes: a scratch
/// buffer for byte-shuffled planes (`scratchBytes`, the largest such block)
/// and a zstd context. Made on the calling thread and used by one part at a
/// time (UnsafeShared rule 3).
final class BlockDecoder: Sendable {
    private let storage: UnsafeShared<UnsafeMutableRawBufferPointer>
    let zstd: Zstd.Context

    var scratch: UnsafeMutableRawBufferPointer { storage.pointer }

    init(scratchBytes: Int) throws(TXWFormatError) {
        do {
            zstd = try Zstd.Context()
        } catch {
            throw .zstd(error)
        }
        storage = UnsafeShared(.allocate(byteCount: max(scratchBytes, 1), alignment: 64))
    }

    deinit { storage.pointer.deallocate() }
}
