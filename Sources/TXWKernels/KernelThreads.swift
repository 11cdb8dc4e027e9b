#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// How many threads the kernels use (default: the active processor count,
/// at most 8). Results never depend on it: work is split over output rows
/// or heads, and every output is computed by one thread in a fixed order.
public enum KernelThreads {
    private static let storage = Atomic<Int>(0)

    public static var count: Int {
        get {
            let n = storage.load(ordering: .relaxed)
            return n > 0 ? n : min(max(System.processorCount, 1), 8)
        }
        set { storage.store(max(newValue, 1), ordering: .relaxed) }
    }

    /// Runs `body(part)` for part in 0..<parts, on up to `count` threads.
    static func parallel(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || count == 1 {
            for i in 0..<parts { body(i) }
        } else {
            // Every caller hands each part disjoint output memory; the closure
            // does not outlive this call.
            withoutActuallyEscaping(body) { escaping in
                nonisolated(unsafe) let work = escaping
                DispatchQueue.concurrentPerform(iterations: parts) { work($0) }
            }
        }
    }
}

@usableFromInline
enum System {
    @usableFromInline static var processorCount: Int {
        #if canImport(Glibc)
        return Int(Glibc.sysconf(Int32(Glibc._SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}
