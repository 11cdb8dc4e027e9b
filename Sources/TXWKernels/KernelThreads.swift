#if canImport(Glibc)
import Glibc
#endif
import CTXWKernels
import Synchronization

/// How many threads the kernels use (default: the processors this process
/// may run on, at most 8). Results never depend on it: work is split over output rows
/// or heads, and every output is computed by one thread in a fixed order.
public enum KernelThreads {
    private static let storage = Atomic<Int>(0)
    private static let defaultCount = min(max(System.processorCount, 1), 8)

    public static var count: Int {
        get {
            let n = storage.load(ordering: .relaxed)
            return n > 0 ? n : defaultCount
        }
        set { storage.store(max(newValue, 1), ordering: .relaxed) }
    }

    /// Runs `body(part)` for part in 0..<parts, on up to `count` threads
    /// (`KernelPool`); returns when every part is done. Each part must write
    /// only memory no other part touches. Parts run with the caller's
    /// instruction set (it is per thread); kernels called from inside a part
    /// run on that part's thread.
    public static func parallel(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || count == 1 {
            for i in 0..<parts { body(i) }
        } else {
            KernelPool.shared.run(parts: parts, threads: count, body)
        }
    }
}

@usableFromInline
enum System {
    /// The processors this process may run on (its affinity mask, which a
    /// container or `taskset` narrows), else the online count.
    @usableFromInline static var processorCount: Int {
        #if canImport(Glibc)
        let allowed = Int(txw_allowed_processors())
        return allowed > 0 ? allowed : Int(Glibc.sysconf(Int32(Glibc._SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

/// The instruction set of the C kernels: on x86-64, 2 = AVX-512,
/// 1 = AVX2+FMA, 0 = baseline, detected at first use (the environment
/// variable TXW_KERNEL_LEVEL can lower it); on any other CPU always 0, the
/// portable set. Level 0 multiplies then adds (no fused multiply-add), so it
/// gives the same bits on every CPU. Setting it applies to the calling thread
/// and the kernel threads it starts (tests, benchmarks); a level the CPU
/// lacks is lowered to one it has; -1 returns to the default.
public enum KernelInstructionSet {
    public static var level: Int {
        get { Int(txw_kernel_level()) }
        set { txw_set_kernel_level(Int32(newValue)) }
    }
}
