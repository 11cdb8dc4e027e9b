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
