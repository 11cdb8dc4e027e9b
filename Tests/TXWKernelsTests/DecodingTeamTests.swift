import Testing
@testable import TXWKernels

/// A decoding step split across a team of threads (`DecodingSplit.team`)
/// gives the serial step's logits bit for bit, for any member count and
/// uneven shares, and the sampler's tokens equal the notebook's fixtures.
struct DecodingTeamTests {
    let paths = PerformancePathTests()

    /// Shapes whose shares are uneven: 3 heads over 2 members, d_model 40
    /// (three column units of 16, the last short), d_mlp 72, V 37.
    static let uneven = Hyperparameters(vocabSize: 37, dModel: 40, nHead: 3, dHead: 8, dMLP: 72, nBlock: 3)

    func logits<T: KernelScalar>(_ weights: TransformerWeights<T>, _ tokens: [Int], threads: Int, split: DecodingSplit) throws -> [[T]] {
        var decoder = IncrementalDecoder(weights, configuration: KernelConfiguration(threads: threads), split: split)
        #expect(decoder.usesTeam == (split == .team && threads > 1))
        return try tokens.map { try decoder.append($0) }
    }

    func bitIdentical<T: KernelScalar>(_: T.Type, _ h: Hyperparameters) throws {
        let weights = try paths.randomModel(h, seed: 21, as: T.self)
        // 40 tokens: the cache grows from 16 to 32 to 64 positions.
        let tokens = (0..<40).map { ($0 * 13 + 5) % h.vocabSize }
        let serial = try logits(weights, tokens, threads: 1, split: .serial)
        for threads in [1, 2, 3] {
            let team = try logits(weights, tokens, threads: threads, split: .team)
            for (position, (a, b)) in zip(serial, team).enumerated() {
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(T.precisionName), \(threads) threads, position \(position)")
            }
        }
    }

    @Test func teamStepIsBitIdenticalF32() throws {
        try bitIdentical(Float.self, Self.uneven)
        try bitIdentical(Float.self, PerformancePathTests.shape)
    }

    @Test func teamStepIsBitIdenticalF64() throws {
        try bitIdentical(Double.self, Self.uneven)
        try bitIdentical(Double.self, PerformancePathTests.shape)
    }

    /// More members than heads and column units: the spare members own nothing.
    @Test func moreMembersThanWork() throws {
        let h = Hyperparameters(vocabSize: 5, dModel: 8, nHead: 1, dHead: 4, dMLP: 16, nBlock: 2)
        let weights = try paths.randomModel(h, seed: 4, as: Double.self)
        let tokens = [1, 4, 0, 2, 3, 3, 1]
        let serial = try logits(weights, tokens, threads: 1, split: .serial)
        let team = try logits(weights, tokens, threads: 5, split: .team)
        #expect(serial.map { $0.map(\.bitPattern) } == team.map { $0.map(\.bitPattern) })
    }

    /// A copy of a decoder continues on its own team: both copies give the serial logits.
    @Test func copiesGetTheirOwnTeam() throws {
        let weights = try paths.randomModel(Self.uneven, seed: 8, as: Float.self)
        let configuration = KernelConfiguration(threads: 2)
        var first = IncrementalDecoder(weights, configuration: configuration, split: .team)
        var reference = IncrementalDecoder(weights, configuration: configuration, split: .serial)
        for token in [3, 1, 4] {
            #expect(try first.append(token).map(\.bitPattern) == reference.append(token).map(\.bitPattern))
        }
        var second = first
        var secondReference = reference
        for (a, b) in [(1, 5), (9, 2), (6, 6)] {
            #expect(try first.append(a).map(\.bitPattern) == reference.append(a).map(\.bitPattern))
            #expect(try second.append(b).map(\.bitPattern) == secondReference.append(b).map(\.bitPattern))
        }
    }

    /// The near-mask check runs on every member's heads: the team clears
    /// `matchesFullPass` where the serial step does.
    @Test func teamNoticesANearMask() throws {
        var h = PerformancePathTests.shape
        h.constants.maskValue = -2
        let weights = try paths.randomModel(h, seed: 9, as: Double.self)
        for threads in [2, 3] {
            var serial = IncrementalDecoder(weights, configuration: KernelConfiguration(threads: 1), split: .serial)
            var team = IncrementalDecoder(weights, configuration: KernelConfiguration(threads: threads), split: .team)
            for token in [1, 2, 3, 4, 5, 6] {
                #expect(try serial.append(token).map(\.bitPattern) == team.append(token).map(\.bitPattern))
                #expect(serial.matchesFullPass == team.matchesFullPass, "\(threads) threads after token \(token)")
            }
            #expect(!team.matchesFullPass)
        }
    }

    /// The notebook's tokens (fixtures), sampled with each step on a team.
    @Test func teamSamplesTheReferenceTokens() throws {
        let cases = try Fixtures.cases("sample", as: SamplerTests.Case.self)
        var models: [String: TransformerWeights<Double>] = [:]
        for c in cases {
            if models[c.model] == nil { models[c.model] = try ModelFixture.named(c.model).weights(Double.self) }
            let weights = try #require(models[c.model])
            let seed = try #require(hex(c.seed))
            for threads in [2, 3] {
                let tokens = try TopKSampler(k: c.k, temperature: c.t, seed: seed)
                    .sample(weights, prompt: c.prompt, count: c.n, configuration: KernelConfiguration(threads: threads), split: .team)
                #expect(tokens == c.tokens, "sample \(c.name), \(threads) threads")
            }
        }
    }

    /// f32 sampling on a team draws the serial decoder's tokens.
    @Test func teamSamplesTheSerialTokensF32() throws {
        let weights = try paths.randomModel(Self.uneven, seed: 30, as: Float.self)
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 7)
        let serial = try sampler.sample(weights, prompt: [1, 2, 3], count: 50, configuration: KernelConfiguration(threads: 1), split: .serial)
        for threads in [2, 3] {
            let team = try sampler.sample(weights, prompt: [1, 2, 3], count: 50, configuration: KernelConfiguration(threads: threads), split: .team)
            #expect(team == serial, "\(threads) threads")
        }
    }

    @Test func sharesCoverEveryColumnOnce() {
        for n in [1, 5, 16, 17, 40, 128, 257] {
            for members in 1...5 {
                let shares = (0..<members).map { DecodingTeam<Float>.columns(n, member: $0, of: members) }
                #expect(shares.flatMap { Array($0) } == Array(0..<n), "n \(n), \(members) members")
                #expect(shares.allSatisfy { $0.lowerBound % 16 == 0 || $0.isEmpty })
            }
        }
    }

    /// The automatic rule: a team only where the weights are more than one
    /// core's L2 but fit the L3; never for one thread or a tiny model.
    @Test func automaticRuleComparesWeightsWithL2() {
        let standard = Hyperparameters(vocabSize: 256, dModel: 128, nHead: 4, dHead: 32, dMLP: 512, nBlock: 4)
        #expect(!DecodingTeam<Float>.pays(standard, threads: 1))
        let (l2, l3) = (DecodingTeam<Float>.l2Bytes, DecodingTeam<Float>.l3Bytes)
        // 852K weights: 3.4 MB in f32.
        let bytes = 4 * (4 * (128 * 4 * 128 + 2 * 128 * 512) + 128 * 256)
        #expect(DecodingTeam<Float>.pays(standard, threads: 2) == (l2 > 0 && l3 > 0 && bytes > l2 && bytes <= l3))
        #expect(DecodingTeam<Double>.pays(standard, threads: 2) == (l2 > 0 && l3 > 0 && 2 * bytes > l2 && 2 * bytes <= l3))
        // The large toy's 23M weights (94 MB in f32) are past any L3 up to 64 MiB.
        let large = Hyperparameters(vocabSize: 4096, dModel: 512, nHead: 8, dHead: 64, dMLP: 2048, nBlock: 8)
        #expect(!DecodingTeam<Float>.pays(large, threads: 2) || l3 > 64 << 20)
        #expect(!DecodingTeam<Double>.pays(PerformancePathTests.shape, threads: 2) || l2 < 64 * 1024)
        #expect(IncrementalDecoder(try! paths.randomModel(Self.uneven, seed: 1, as: Float.self), configuration: KernelConfiguration(threads: 2),
                                   split: .automatic).usesTeam == DecodingTeam<Float>.pays(Self.uneven, threads: 2)
                || DecodingTeam<Float>.environmentSplit != nil)
    }

    /// The chooser runs each step the way whose measured steps were faster:
    /// the team's first step (thread start) is not counted, one serial step
    /// is measured, then a probe of the other way every 32 steps, the
    /// interval doubling (to 1024) while probes lose and reset when one wins.
    @Test func chooserFollowsTheMeasuredTimes() {
        var chooser = DecodingSplitChooser()
        let first = chooser.next()
        #expect(first)
        chooser.record(team: true, seconds: 5, startedTeam: true)   // starting the threads: not counted
        #expect(chooser.teamSeconds == nil)
        let second = chooser.next()
        #expect(second)
        chooser.record(team: true, seconds: 1e-3)
        let third = chooser.next()
        #expect(!third)   // one serial step to compare
        chooser.record(team: false, seconds: 2e-3)
        // Quiet machine: the team, with a serial probe every 32 steps.
        func run(_ steps: Int, team: Double, serial: Double) -> [Bool] {
            (0..<steps).map { _ in
                let onTeam = chooser.next()
                chooser.record(team: onTeam, seconds: onTeam ? team : serial)
                return onTeam
            }
        }
        var ways = run(32, team: 1e-3, serial: 2e-3)
        #expect(ways.filter { !$0 }.count == 1 && ways.last == false)
        #expect(chooser.currentInterval == 64)   // the probe lost: wait longer
        // Busy cores: team steps turn slow; the averages cross and serial wins.
        ways = run(200, team: 30e-3, serial: 2e-3)
        #expect(ways.suffix(100).filter { $0 }.count <= 2)
        #expect(chooser.serialSeconds! < chooser.teamSeconds!)
        // Many more slow probes: the interval grows to at most 1024.
        _ = run(6000, team: 30e-3, serial: 2e-3)
        #expect(chooser.currentInterval == DecodingSplitChooser.longestInterval)
        // The cores free up: the next probe wins; the team is back and the interval reset.
        var waited = 0
        while waited <= DecodingSplitChooser.longestInterval, run(1, team: 1e-3, serial: 2e-3) == [false] { waited += 1 }
        #expect(waited < DecodingSplitChooser.longestInterval)
        #expect(chooser.currentInterval == DecodingSplitChooser.probeInterval)
        ways = run(100, team: 1e-3, serial: 2e-3)
        #expect(ways.filter { !$0 }.count <= 3)
        // Non-finite or negative times are ignored.
        let before = chooser
        chooser.record(team: true, seconds: .nan)
        chooser.record(team: false, seconds: -1)
        #expect(chooser == before)
    }

    /// The process's chooser for a kind of step carries its verdict from one
    /// decoder to the next: a later decoder starts on the faster way with no
    /// team steps of its own first, its probes continue the count, and a
    /// probe that fell on its first team step (which starts the threads, so
    /// is not counted) is run again at the next step.
    @Test func sharedChooserCarriesTheVerdictAcrossDecoders() {
        // A kind no other test uses (vocabulary 9,901).
        let kind = DecodingSplitChooser.Kind(
            Hyperparameters(vocabSize: 9901, dModel: 8, nHead: 2, dHead: 4, dMLP: 16, nBlock: 1), scalarBytes: 4, members: 2)
        #expect(DecodingSplitChooser.current(kind) == nil)
        // The first decoder: the team's start, a slow team step, a serial step; serial wins.
        #expect(DecodingSplitChooser.next(kind))
        DecodingSplitChooser.record(kind, team: true, seconds: 5, startedTeam: true)
        #expect(DecodingSplitChooser.next(kind))
        DecodingSplitChooser.record(kind, team: true, seconds: 30e-3, startedTeam: false)
        #expect(!DecodingSplitChooser.next(kind))
        DecodingSplitChooser.record(kind, team: false, seconds: 2e-3, startedTeam: false)
        for _ in 0..<10 {
            let onTeam = DecodingSplitChooser.next(kind)
            #expect(!onTeam)
            DecodingSplitChooser.record(kind, team: onTeam, seconds: 2e-3, startedTeam: false)
        }
        // A second decoder: serial from its first step; its first team step is the probe.
        var teamStarted = false, steps = 0, probeRetried = false
        while steps < 200 {
            steps += 1
            let onTeam = DecodingSplitChooser.next(kind)
            if !onTeam {
                DecodingSplitChooser.record(kind, team: false, seconds: 2e-3, startedTeam: false)
                continue
            }
            if !teamStarted {
                // The probe lands on this decoder's first team step: not counted, so the next step probes again.
                #expect(steps == DecodingSplitChooser.probeInterval - 10 - 1 + 1, "the probe continues the count")
                teamStarted = true
                DecodingSplitChooser.record(kind, team: true, seconds: 5, startedTeam: true)
                probeRetried = DecodingSplitChooser.next(kind)
                DecodingSplitChooser.record(kind, team: probeRetried, seconds: 30e-3, startedTeam: false)
                break
            }
        }
        #expect(teamStarted && probeRetried)
        let state = DecodingSplitChooser.current(kind)
        #expect(state?.currentInterval == 2 * DecodingSplitChooser.probeInterval, "the retried probe lost: the interval doubled")
        #expect(state.map { $0.serialSeconds! < $0.teamSeconds! } == true)
    }

    /// With the chooser alternating ways, a decoder's logits are those of a
    /// serial one, bit for bit.
    @Test func automaticDecoderMatchesSerial() throws {
        let weights = try paths.randomModel(Self.uneven, seed: 4, as: Float.self)
        let tokens = (0..<80).map { ($0 * 5 + 2) % Self.uneven.vocabSize }
        var decoder = IncrementalDecoder(weights, configuration: KernelConfiguration(threads: 2), split: .team)
        decoder.chooseEachStep()
        // Steps 1–2 on the team, step 3 serial, then probes: both ways run.
        let chosen = try tokens.map { try decoder.append($0) }
        let serial = try logits(weights, tokens, threads: 1, split: .serial)
        #expect(chosen.map { $0.map(\.bitPattern) } == serial.map { $0.map(\.bitPattern) })
        // The same through the process's chooser for a kind of its own, two decoders in turn.
        let kind = DecodingSplitChooser.Kind(Self.uneven, scalarBytes: 4, members: 2)
        for _ in 0..<2 {
            var shared = IncrementalDecoder(weights, configuration: KernelConfiguration(threads: 2), split: .team)
            shared.chooseEachStep(sharedAs: kind)
            let out = try tokens.map { try shared.append($0) }
            #expect(out.map { $0.map(\.bitPattern) } == serial.map { $0.map(\.bitPattern) })
        }
        let state = DecodingSplitChooser.current(kind)
        #expect(state?.teamSeconds != nil && state?.serialSeconds != nil, "both ways were timed")
    }
}
