import ArgumentParser
import TXWFormat
import TXWKernels
import TXWModel

/// `--max-memory SIZE`, shared by every tool: the memory budget of the run
/// (Spec/cli.md, "Memory").
package struct MemoryOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"), parsing: .unconditional,
            help: ArgumentHelp(
                "The most memory the run may allocate for what the files and flags ask: bytes, or a number with K, M, G or T (binary: 1K = 1024), e.g. 512M or 1.5G. Default: half of the smallest of physical memory, the cgroup memory limit and the address-space and data ulimits. Over it, the tool refuses with one line naming what needs how much.",
                valueName: "size"),
            transform: { try MemoryOptions.parseSize($0) })
    package var maxMemory: Int?

    package init() {}

    /// The budget: `--max-memory`, or `MemoryBudget.systemDefault`.
    package var budget: MemoryBudget { maxMemory.map { MemoryBudget(bytes: $0) } ?? .systemDefault }

    /// The reader options of the tools: default threads, this budget.
    package var readerOptions: TXWReader.Options { TXWReader.Options(memoryBudget: budget) }

    /// Bytes of a `--max-memory` value: digits with an optional fraction and
    /// an optional binary suffix K, M, G or T (either case), rounded down to
    /// a whole byte. Zero, a negative value, anything else, or a value that
    /// overflows 64 bits is a usage error (exit 64).
    package static func parseSize(_ text: String) throws -> Int {
        func invalid(_ why: String) -> ValidationError {
            ValidationError("--max-memory: '\(text)' \(why) (expected bytes or a number with K, M, G or T, e.g. 512M or 1.5G)")
        }
        var digits = Substring(text)
        var shift = 0
        // ASCII only, compared as is: uppercasing can give several characters
        // (ß → SS), and Character equality is canonical (the Kelvin sign is K).
        let suffixes: [Character: Int] = ["K": 10, "k": 10, "M": 20, "m": 20, "G": 30, "g": 30, "T": 40, "t": 40]
        if let last = digits.last, last.isASCII, let bits = suffixes[last] {
            shift = bits
            digits.removeLast()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        let isDigits = { (s: Substring) in s.allSatisfy { $0.isASCII && $0.isNumber } }
        guard !whole.isEmpty, isDigits(whole), isDigits(fraction), parts.count == 1 || !fraction.isEmpty else {
            throw invalid("is not a size")
        }
        let unit = 1 << shift
        guard let integer = Int(whole) else { throw invalid("is too large") }
        let (base, overflow) = integer.multipliedReportingOverflow(by: unit)
        guard !overflow else { throw invalid("is too large") }
        // The fraction's first 9 digits (beyond them, less than a byte per
        // GiB), exactly, in steps that stay below 2^63.
        var extra = 0
        if !fraction.isEmpty {
            let kept = String(fraction.prefix(9))
            var scale = 1
            for _ in 0..<kept.count { scale *= 10 }
            let numerator = Int(kept) ?? 0
            // (numerator × unit) / scale with unit = q·scale + r: numerator·q < unit
            // (numerator < scale) and numerator·r < 10^18.
            let (q, r) = unit.quotientAndRemainder(dividingBy: scale)
            let (high, o1) = numerator.multipliedReportingOverflow(by: q)
            let (low, o2) = numerator.multipliedReportingOverflow(by: r)
            guard !o1, !o2 else { throw invalid("is too large") }
            extra = high + low / scale
        }
        let (total, o3) = base.addingReportingOverflow(extra)
        guard !o3 else { throw invalid("is too large") }
        guard total >= 1 else { throw invalid("must be at least 1 byte") }
        return total
    }
}
