/// What one decoding thread keeps for all the blocks it decodes: a scratch
/// buffer for byte-shuffled planes (`scratchBytes`, the largest such block)
/// and a zstd context.
final class BlockDecoder: @unchecked Sendable {
    let scratch: UnsafeMutableRawBufferPointer
    let zstd: Zstd.Context

    init(scratchBytes: Int) throws(TXWFormatError) {
        do {
            zstd = try Zstd.Context()
        } catch {
            throw .zstd(error)
        }
        scratch = .allocate(byteCount: max(scratchBytes, 1), alignment: 64)
    }

    deinit { scratch.deallocate() }
}
