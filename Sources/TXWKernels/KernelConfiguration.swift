#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTXWKernels
import TXWThreads

/// How the kernels compute: on how many threads, with which instruction set.
///
/// A value given to the entry points that compute — `logits(for:configuration:)`,
/// `loss(for:configuration:)`, `lossAndGradients(for:configuration:)`,
/// `IncrementalDecoder`, `TopKSampler.sample`, TXWModel's `Trainer` — and
/// carried through the computation (to the pool's worker threads too), so
/// computations with different configurations can run side by side.
/// Results never depend on `threads`: work is split over output rows, heads
/// or windows, and every output is computed by one thread in a fixed order.
public struct KernelConfiguration: Sendable, Hashable {
    /// Threads a computation may use (below 1 counts as 1).
    public var threads: Int
    /// The C kernels' instruction set: 2 = AVX-512, 1 = AVX2+FMA, 0 = the
    /// baseline; nil (or negative) = the best this CPU has (the environment
    /// variable TXW_KERNEL_LEVEL can lower it). A level the CPU lacks runs the highest
    /// it has (`effectiveLevel`).
    public var instructionSetLevel: Int?

    /// The default thread count: the processors this process may run on, at most 8.
    public static var defaultThreads: Int { ThreadPool.defaultThreads }

    /// `defaultThreads` threads, the CPU's best instruction set.
    public static var `default`: KernelConfiguration { KernelConfiguration() }

    /// `threads` threads (default: `defaultThreads`) and instruction-set
    /// level `instructionSetLevel` (default: the CPU's best).
    public init(threads: Int = KernelConfiguration.defaultThreads, instructionSetLevel: Int? = nil) {
        self.threads = threads
        self.instructionSetLevel = instructionSetLevel
    }

    /// The instruction-set level the kernels run with under this configuration on this CPU.
    public var effectiveLevel: Int { applied { KernelInstructionSet.level } }
}

extension KernelConfiguration {
    /// The configuration of the computation running on this thread
    /// (`.default` outside one).
    package static var current: KernelConfiguration {
        guard let raw = pthread_getspecific(key) else { return .default }
        let bits = UInt(bitPattern: raw)
        let level = Int(bits & 0xFF)
        return KernelConfiguration(threads: Int(bits >> 8), instructionSetLevel: level == 0 ? nil : level - 1)
    }

    /// Runs `body` on this thread with this configuration, then restores
    /// the thread's previous one. The public entry points wrap their work in
    /// it; the kernels below read `current`.
    package func applied<R>(_ body: () throws -> R) rethrows -> R {
        let saved = pthread_getspecific(Self.key)
        install()
        defer { Self.restore(saved) }
        return try body()
    }

    /// Makes this the configuration of the calling thread: the thread count
    /// `current` reports and the C kernels' per-thread level. The pool's
    /// workers call it (`KernelThreads.parallel`'s `prepare`) before they
    /// run a part, so parts compute as the caller does.
    func install() {
        let threads = UInt(min(max(threads, 1), ThreadPool.maxThreads))
        let level = instructionSetLevel.flatMap { $0 < 0 ? nil : UInt(min($0, 2) + 1) } ?? 0
        pthread_setspecific(Self.key, UnsafeRawPointer(bitPattern: threads << 8 | level))
        txw_set_kernel_level(Int32(level) - 1)
    }

    private static func restore(_ saved: UnsafeMutableRawPointer?) {
        pthread_setspecific(key, saved)
        let level = Int32(UInt(bitPattern: saved) & 0xFF)
        txw_set_kernel_level(level - 1)
    }

    /// The thread-specific slot holding a thread's configuration: thread
    /// count << 8 | (level + 1, or 0 for the CPU's best); no value = `.default`.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// The kernels' parallel regions, on the shared `ThreadPool`.
package enum KernelThreads {
    /// The thread count of this thread's computation.
    package static var count: Int { max(KernelConfiguration.current.threads, 1) }

    /// Runs `body(part)` for part in 0..<parts, on up to `count` threads of
    /// the shared pool; returns when every part is done. Parts write shared
    /// memory only through `UnsafeShared`, each only memory no other part
    /// touches. Parts run with the caller's configuration (its instruction
    /// set and thread count); kernels called from inside a part run on that
    /// part's thread.
    package static func parallel(_ parts: Int, _ body: @Sendable (Int) -> Void) {
        let configuration = KernelConfiguration.current
        ThreadPool.shared.run(parts: parts, threads: max(configuration.threads, 1), prepare: { configuration.install() }, body)
    }
}

/// The instruction set of the C kernels on this thread
/// (`KernelConfiguration.instructionSetLevel`): on x86-64, 2 = AVX-512,
/// 1 = AVX2+FMA, 0 = baseline; on any other CPU always 0, the portable set.
/// Level 0 multiplies then adds (no fused multiply-add), so it gives the
/// same bits on every CPU; a level the CPU lacks is lowered to one it has.
package enum KernelInstructionSet {
    package static var level: Int { Int(txw_kernel_level()) }
}
