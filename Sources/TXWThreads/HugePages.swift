#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Advice to back a large, not yet touched buffer with transparent huge
/// pages (Linux `madvise(MADV_HUGEPAGE)`; systems whose setting is
/// "madvise" grant them only when asked). A 100 MB tensor buffer then takes
/// about 50 page faults instead of 25,000. Only the 2 MiB-aligned interior
/// is advised; the advice changes no contents, and failure is harmless.
///
/// Here, beside the thread pool, as the one place for the process's memory
/// advice that both the reader (its decode buffers) and the kernels (an
/// activation cache's storage) use.
package enum HugePages {
    package static let size = 2 << 20
    /// Buffers smaller than this are left alone.
    package static let threshold = 8 << 20

    package static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= threshold, let base = buffer.baseAddress else { return }
        let address = UInt(bitPattern: base)
        let (rounded, overflow) = address.addingReportingOverflow(UInt(size - 1))
        guard !overflow else { return }
        let start = rounded & ~UInt(size - 1)
        let end = (address + UInt(buffer.count)) & ~UInt(size - 1)
        guard start < end, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, Int(end - start), MADV_HUGEPAGE)
        #endif
    }
}
