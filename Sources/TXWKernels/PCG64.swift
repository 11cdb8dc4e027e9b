/// numpy's `PCG64` bit generator (PCG XSL-RR 128/64), bit for bit.
public struct PCG64: Sendable, Equatable {
    /// The 128-bit LCG state.
    public private(set) var state: UInt128
    /// The LCG increment (odd), fixed by the seed.
    public let increment: UInt128

    static let multiplier = UInt128(2_549_297_995_355_413_924) << 64 | UInt128(4_865_540_595_714_422_341)

    /// Seeds as numpy does from a `SeedSequence`: `s = generate_state(4, uint64)`,
    /// `initstate = s[0]<<64 | s[1]`, `initseq = s[2]<<64 | s[3]`.
    public init(seedSequence: SeedSequence) {
        let s = seedSequence.generateState64(count: 4)
        self.init(initState: UInt128(s[0]) << 64 | UInt128(s[1]), initSequence: UInt128(s[2]) << 64 | UInt128(s[3]))
    }

    /// PCG's `srandom`: `inc = initseq<<1 | 1`, `state = 0`, step, `state += initstate`, step.
    public init(initState: UInt128, initSequence: UInt128) {
        increment = initSequence << 1 | 1
        state = 0
        step()
        state = state &+ initState
        step()
    }

    mutating func step() {
        state = state &* Self.multiplier &+ increment
    }

    /// Moves the state `delta` steps ahead, as `delta` calls of `next()`
    /// would (numpy's `PCG64.advance`), in O(log delta) multiplications:
    /// the LCG's jump-ahead (Brown, "Random number generation with arbitrary
    /// strides"), composing the step's affine map with itself by squaring.
    public mutating func advance(by delta: UInt128) {
        var (accumulatedMultiplier, accumulatedIncrement): (UInt128, UInt128) = (1, 0)
        var (multiplier, increment) = (Self.multiplier, self.increment)
        var remaining = delta
        while remaining > 0 {
            if remaining & 1 == 1 {
                accumulatedMultiplier = accumulatedMultiplier &* multiplier
                accumulatedIncrement = accumulatedIncrement &* multiplier &+ increment
            }
            increment = (multiplier &+ 1) &* increment
            multiplier = multiplier &* multiplier
            remaining >>= 1
        }
        state = accumulatedMultiplier &* state &+ accumulatedIncrement
    }

    /// Steps, then outputs XSL-RR of the new state.
    public mutating func next() -> UInt64 {
        step()
        let high = UInt64(truncatingIfNeeded: state >> 64)
        let low = UInt64(truncatingIfNeeded: state)
        let rotation = UInt64(truncatingIfNeeded: state >> 122)
        let xored = high ^ low
        return xored >> rotation | xored << ((64 &- rotation) & 63)
    }
}
