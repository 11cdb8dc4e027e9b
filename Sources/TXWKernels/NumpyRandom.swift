/// The stream of `np.random.default_rng(seed)`: a `SeedSequence` seeding a
/// `PCG64`, and `random()` as numpy's `Generator.random()`.
public struct NumpyRandom: Sendable, Equatable {
    /// The underlying bit generator, in the state numpy's would have.
    public private(set) var bitGenerator: PCG64

    /// The generator `np.random.default_rng(seed)` returns.
    public init(seed: UInt64) {
        bitGenerator = PCG64(seedSequence: SeedSequence(seed: seed))
    }

    /// A double in [0, 1): `(next64 >> 11) · 2^-53`.
    public mutating func random() -> Double {
        Double(bitGenerator.next() >> 11) * 0x1p-53
    }

    /// Skips `count` draws of `random()` or `next()` (each uses one 64-bit
    /// output) in O(log count): the generator is then where it would be
    /// after them.
    public mutating func skip(_ count: UInt128) {
        bitGenerator.advance(by: count)
    }

    /// The next raw 64-bit output (numpy's `PCG64.random_raw()`).
    public mutating func next() -> UInt64 {
        bitGenerator.next()
    }
}
