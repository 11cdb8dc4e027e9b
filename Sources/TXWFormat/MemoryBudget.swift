/// The most memory one operation may allocate for what a file or a caller
/// asks of it: a tensor's decoded values, a model's weights, a cache, a
/// result.
///
/// Before allocating memory whose size comes from a file or an argument, the
/// libraries compute what they will need — in overflow-checked arithmetic,
/// an overflow counting as more than any budget — and `check` it against the
/// budget, which throws `TXWFormatError.overMemoryBudget` naming what needs
/// how many bytes. So a small file that declares a huge (highly
/// compressible) tensor is refused with an error instead of exhausting
/// memory, and a failed allocation never aborts the process.
///
/// A budget bounds the peak of one operation (one `TXWReader.read`, one
/// model load), not the process: a caller holding several results adds them
/// up itself, as the txw tools do for a whole run (Spec/cli.md, "Memory").
///
/// The default, `systemDefault`, is half of the smallest of the memory
/// limits that apply to this process: physical memory, the memory limits
/// of its cgroups and their ancestors (cgroup v2 `memory.max`, cgroup v1
/// `memory.limit_in_bytes`, found from `/proc/self/cgroup`) and the
/// `RLIMIT_AS` and `RLIMIT_DATA` soft limits when they are set.
public struct MemoryBudget: Sendable, Hashable, CustomStringConvertible {
    /// The budget in bytes (at least 1).
    public var bytes: Int

    /// A budget of `bytes` bytes; a value below 1 counts as 1.
    public init(bytes: Int) {
        self.bytes = Swift.max(bytes, 1)
    }

    /// No limit (`Int.max` bytes): only an overflowing need is refused.
    public static var unlimited: MemoryBudget { MemoryBudget(bytes: .max) }

    /// Half of the smallest memory limit of this process (computed once):
    /// physical memory, the cgroup v2 `memory.max`, and the soft
    /// `RLIMIT_AS` and `RLIMIT_DATA` limits, each when it is known and set.
    public static var systemDefault: MemoryBudget { MemoryBudget(bytes: computedDefault) }

    private static let computedDefault: Int = {
        let limits = SystemMemory.limits()
        return defaultBytes(physical: limits.physical, cgroup: limits.cgroup, addressSpace: limits.addressSpace, data: limits.data)
    }()

    /// Half of the smallest of the limits given (nil: not set); 1 GiB when none is known.
    package static func defaultBytes(physical: Int?, cgroup: Int?, addressSpace: Int?, data: Int?) -> Int {
        let known = [physical, cgroup, addressSpace, data].compactMap { $0 }.filter { $0 > 0 }
        guard let smallest = known.min() else { return 1 << 30 }
        return Swift.max(smallest / 2, 1)
    }

    /// Throws `TXWFormatError.overMemoryBudget` when `need` bytes (nil: the
    /// computation of the need overflowed) exceed the budget; `what` names
    /// what needs them ("tensor 'w' decoded as f64").
    public func check(_ need: Int?, for what: @autoclosure () -> String) throws(TXWFormatError) {
        guard let need, need <= bytes else {
            throw .overMemoryBudget(what: what(), need: need ?? .max, budget: bytes)
        }
    }

    /// `count × size` bytes, or nil when the product overflows or a factor is negative.
    public static func bytes(count: Int, size: Int) -> Int? {
        guard count >= 0, size >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        return overflow ? nil : product
    }

    /// The sum of `terms`, or nil when one is nil (an overflow before) or the sum overflows.
    public static func sum(_ terms: [Int?]) -> Int? {
        var total = 0
        for term in terms {
            guard let term, term >= 0 else { return nil }
            let (next, overflow) = total.addingReportingOverflow(term)
            if overflow { return nil }
            total = next
        }
        return total
    }

    /// `"N bytes"`.
    public var description: String { "\(bytes) bytes" }
}
