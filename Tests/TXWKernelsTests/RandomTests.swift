import Testing
import TXWKernels

/// `NumpyRandom` against numpy's own `default_rng` streams (fixtures written by numpy).
struct RandomTests {
    struct Case: Decodable {
        let seed: String
        let pool: [UInt32]
        let state64: [String]
        let raw64: [String]
        let doubles: [Double]
    }

    @Test func seed42FirstDoublesAreNumpys() {
        // The values `np.random.default_rng(42).random(3)` prints.
        var rng = NumpyRandom(seed: 42)
        #expect(rng.random() == 0.7739560485559633)
        #expect(rng.random() == 0.4388784397520523)
        #expect(rng.random() == 0.8585979199113825)
    }

    @Test func streamsMatchNumpyBitForBit() throws {
        let cases = try Fixtures.cases("rng", as: Case.self)
        #expect(cases.count >= 4)
        for c in cases {
            let seed = try #require(hex(c.seed))
            let sequence = SeedSequence(seed: seed)
            #expect(sequence.pool == c.pool, "pool, seed \(c.seed)")
            #expect(sequence.generateState64(count: 4) == c.state64.compactMap(hex), "state, seed \(c.seed)")
            var raw = NumpyRandom(seed: seed)
            #expect((0..<c.raw64.count).map { _ in raw.next() } == c.raw64.compactMap(hex), "raw, seed \(c.seed)")
            var rng = NumpyRandom(seed: seed)
            let doubles = (0..<c.doubles.count).map { _ in rng.random() }
            #expect(doubles.map(\.bitPattern) == c.doubles.map(\.bitPattern), "doubles, seed \(c.seed)")
        }
    }

    @Test(arguments: ["0x0", "0x100000005", "0xffffffffffffffff", "0x2a"])
    func requiredSeedsAreCovered(seed: String) throws {
        let cases = try Fixtures.cases("rng", as: Case.self)
        #expect(cases.contains { $0.seed == seed })
    }
}

/// The jump-ahead the trainer uses to skip the draws of the steps a
/// checkpoint has taken.
struct RandomSkipTests {
    @Test func skipEqualsThatManyDraws() {
        for count in [0, 1, 2, 3, 63, 64, 1000, 12_345] {
            var stepped = NumpyRandom(seed: 42), skipped = NumpyRandom(seed: 42)
            for _ in 0..<count { _ = stepped.next() }
            skipped.skip(UInt128(count))
            #expect(stepped == skipped, "count \(count)")
            #expect(stepped.random() == skipped.random())
        }
    }

    /// numpy: `g = np.random.PCG64(42); g.advance(d); g.random_raw()`, and
    /// `default_rng(7)` advanced 1000 then `random()`.
    @Test func skipMatchesNumpyAdvance() {
        for (delta, raw) in [(UInt128(1_000_000_000_000), UInt64(1_631_422_736_121_912_276)),
                             ((UInt128(1) << 56) + 12_345, UInt64(1_884_141_009_161_722_016))] {
            var g = NumpyRandom(seed: 42)
            g.skip(delta)
            #expect(g.next() == raw, "advance \(delta)")
        }
        var h = NumpyRandom(seed: 7)
        h.skip(1000)
        #expect(h.random() == 0.8690497571674405)
    }
}
