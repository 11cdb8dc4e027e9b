/// numpy's `SeedSequence`, bit for bit, for a non-negative integer seed with
/// no spawn key (what `np.random.default_rng(seed)` builds).
///
/// The seed is split into 32-bit words, least significant first (0 → `[0]`),
/// hashed into a pool of 4 words, and the pool mixed; `generateState` then
/// hashes the pool cyclically into output words. Spec/kernels.md gives the
/// constants and the steps.
public struct SeedSequence: Sendable, Equatable {
    /// The mixed entropy pool (numpy's `SeedSequence.pool`).
    public private(set) var pool: [UInt32]

    static let poolSize = 4
    static let initA: UInt32 = 0x43b0_d7e5
    static let multA: UInt32 = 0x931e_8875
    static let initB: UInt32 = 0x8b51_f9dd
    static let multB: UInt32 = 0x58f3_8ded
    static let mixMultL: UInt32 = 0xca01_f9dd
    static let mixMultR: UInt32 = 0x4973_f715
    static let xshift: UInt32 = 16

    /// The sequence numpy builds for the integer `seed`.
    public init(seed: UInt64) {
        var words: [UInt32] = [UInt32(truncatingIfNeeded: seed)]
        if seed >> 32 != 0 { words.append(UInt32(truncatingIfNeeded: seed >> 32)) }
        self.init(entropy: words)
    }

    /// The sequence for entropy given as 32-bit words, least significant first.
    public init(entropy: [UInt32]) {
        var hashConst = Self.initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var value = value ^ hashConst
            hashConst = hashConst &* Self.multA
            value = value &* hashConst
            return value ^ (value >> Self.xshift)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let result = Self.mixMultL &* x &- Self.mixMultR &* y
            return result ^ (result >> Self.xshift)
        }
        var mixer = [UInt32](repeating: 0, count: Self.poolSize)
        for i in 0..<Self.poolSize {
            mixer[i] = hashmix(i < entropy.count ? entropy[i] : 0)
        }
        for src in 0..<Self.poolSize {
            for dst in 0..<Self.poolSize where src != dst {
                mixer[dst] = mix(mixer[dst], hashmix(mixer[src]))
            }
        }
        for src in Self.poolSize..<max(entropy.count, Self.poolSize) {
            for dst in 0..<Self.poolSize {
                mixer[dst] = mix(mixer[dst], hashmix(entropy[src]))
            }
        }
        pool = mixer
    }

    /// numpy's `generate_state(count, np.uint32)`.
    public func generateState32(count: Int) -> [UInt32] {
        var hashConst = Self.initB
        var out: [UInt32] = []
        out.reserveCapacity(max(count, 0))
        for i in 0..<max(count, 0) {
            var value = pool[i % Self.poolSize] ^ hashConst
            hashConst = hashConst &* Self.multB
            value = value &* hashConst
            out.append(value ^ (value >> Self.xshift))
        }
        return out
    }

    /// numpy's `generate_state(count, np.uint64)`: pairs of 32-bit words, low word first.
    public func generateState64(count: Int) -> [UInt64] {
        let words = generateState32(count: max(count, 0) * 2)
        return (0..<max(count, 0)).map { UInt64(words[2 * $0]) | UInt64(words[2 * $0 + 1]) << 32 }
    }
}
