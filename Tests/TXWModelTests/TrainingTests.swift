import Testing
import TXWKernels
@testable import TXWModel

/// A short training run learns: on a repetitive text, a tiny random model's
/// validation loss falls to under half its starting value in 150 steps.
struct TrainingTests {
    @Test func lossFallsOnARepetitiveText() throws {
        let text = String(repeating: "the cat sat on the mat. ", count: 24)
        let vocabulary = try Vocabulary.characters(of: text)
        let h = Hyperparameters(vocabSize: vocabulary.count, dModel: 16, nHead: 2, dHead: 8, dMLP: 32, nBlock: 1)
        let weights: TransformerWeights<Double> = try ModelArrays.random(h, seed: 1).weights()
        var options = Trainer<Double>.Options()
        options.steps = 150
        options.batch = 4
        options.context = 16
        options.learningRate = 1e-2
        var trainer = try Trainer(weights: weights, tokens: try vocabulary.encode(text), options: options)
        let before = try #require(try trainer.validationLoss())
        var losses: [Double] = []
        for _ in 0..<options.steps { losses.append(try trainer.trainStep()) }
        let after = try #require(try trainer.validationLoss())
        #expect(after < 0.5 * before, "validation loss \(before) → \(after)")
        let first: Double = losses.prefix(10).reduce(0, +) / 10
        let last: Double = losses.suffix(10).reduce(0, +) / 10
        #expect(last < 0.5 * first, "training loss \(first) → \(last)")
        #expect(trainer.step == 150)
        // Deterministic: the same seed gives the same model.
        var again = try Trainer(weights: weights, tokens: try vocabulary.encode(text), options: options)
        for _ in 0..<3 { _ = try again.trainStep() }
        var third = try Trainer(weights: weights, tokens: try vocabulary.encode(text), options: options)
        for _ in 0..<3 { _ = try third.trainStep() }
        #expect(again.weights == third.weights)
    }

    /// A batch's windows run on several threads and are added in window
    /// order: the trained model does not depend on the thread count.
    @Test func trainingDoesNotDependOnTheThreadCount() throws {
        let text = String(repeating: "one two three four five six. ", count: 12)
        let vocabulary = try Vocabulary.characters(of: text)
        let h = Hyperparameters(vocabSize: vocabulary.count, dModel: 16, nHead: 2, dHead: 8, dMLP: 32, nBlock: 2)
        let weights: TransformerWeights<Float> = try ModelArrays.random(h, seed: 5).weights()
        var options = Trainer<Float>.Options()
        options.steps = 4
        options.batch = 5
        options.context = 24
        var models: [TransformerWeights<Float>] = []
        var losses: [[Double]] = []
        for threads in [1, 2, 3] {
            var trainer = try Trainer(weights: weights, tokens: try vocabulary.encode(text), options: options,
                                      configuration: KernelConfiguration(threads: threads))
            losses.append(try (0..<options.steps).map { _ in try trainer.trainStep() })
            models.append(trainer.weights)
        }
        #expect(models[0] == models[1] && models[0] == models[2])
        #expect(losses[0] == losses[1] && losses[0] == losses[2])
        #expect(models[0] != weights, "training changed the model")
    }

    @Test func resumingGivesTheUninterruptedRun() throws {
        let text = String(repeating: "abcabd abcabe ", count: 20)
        let vocabulary = try Vocabulary.characters(of: text)
        let h = Hyperparameters(vocabSize: vocabulary.count, dModel: 8, nHead: 2, dHead: 4, dMLP: 16, nBlock: 1)
        let weights: TransformerWeights<Float> = try ModelArrays.random(h, seed: 3).weights()
        var options = Trainer<Float>.Options()
        options.steps = 20
        options.batch = 3
        options.context = 8
        let tokens = try vocabulary.encode(text)
        var straight = try Trainer(weights: weights, tokens: tokens, options: options)
        for _ in 0..<20 { _ = try straight.trainStep() }
        var first = try Trainer(weights: weights, tokens: tokens, options: options)
        for _ in 0..<10 { _ = try first.trainStep() }
        // A new process: the checkpoint's weights and the saved optimizer state.
        var second = try Trainer(weights: first.weights, tokens: tokens, options: options)
        try second.restore(first.optimizer)
        for _ in 0..<10 { _ = try second.trainStep() }
        #expect(second.weights == straight.weights)
        #expect(second.step == 20)
    }

    @Test func restoreChecksTheSavedState() throws {
        let text = String(repeating: "abcabd abcabe ", count: 20)
        let vocabulary = try Vocabulary.characters(of: text)
        let h = Hyperparameters(vocabSize: vocabulary.count, dModel: 8, nHead: 2, dHead: 4, dMLP: 16, nBlock: 1)
        let weights: TransformerWeights<Float> = try ModelArrays.random(h, seed: 3).weights()
        var options = Trainer<Float>.Options()
        (options.steps, options.batch, options.context) = (4, 2, 8)
        let tokens = try vocabulary.encode(text)
        var trained = try Trainer(weights: weights, tokens: tokens, options: options)
        _ = try trained.trainStep()
        let good = trained.optimizer
        func refused(_ state: AdamW, _ expected: String) throws {
            var trainer = try Trainer(weights: trained.weights, tokens: tokens, options: options)
            #expect(throws: KernelError.self) { try trainer.restore(state) }
            do { try trainer.restore(state) } catch let error as KernelError {
                #expect(error.description.contains(expected), "\(error)")
            }
            #expect(trainer.step == 0)
        }
        var m = good.firstMoments, v = good.secondMoments
        try refused(AdamW(step: -1, firstMoments: m, secondMoments: v), "optimizer step")
        try refused(AdamW(step: 1 << 62, firstMoments: m, secondMoments: v), "optimizer step")
        try refused(AdamW(step: 1, firstMoments: Array(m.dropLast()), secondMoments: v), "optimizer state")
        try refused(AdamW(step: 1, firstMoments: [], secondMoments: []), "optimizer state")
        m[1].removeLast()
        try refused(AdamW(step: 1, firstMoments: m, secondMoments: v), "first moment of blocks.0.W_1")
        m = good.firstMoments
        v[0][5] = -1e-30
        try refused(AdamW(step: 1, firstMoments: m, secondMoments: v), "second moment of W_E[5]")
        v = good.secondMoments
        m[1][0] = .nan
        try refused(AdamW(step: 1, firstMoments: m, secondMoments: v), "first moment of blocks.0.W_1[0]")
        // The saved state itself, and a step past the run (nothing left to train), are accepted.
        var resumed = try Trainer(weights: trained.weights, tokens: tokens, options: options)
        try resumed.restore(good)
        #expect(resumed.step == 1)
        try resumed.restore(AdamW(step: 1 << 40, firstMoments: good.firstMoments, secondMoments: good.secondMoments))
        #expect(resumed.step == 1 << 40)
    }

    @Test func scheduleWarmsUpThenDecays() {
        var options = Trainer<Float>.Options()
        options.steps = 100
        options.learningRate = 1
        #expect(options.warmup == 5)
        #expect(options.learningRate(atStep: 1) == 0.2 && options.learningRate(atStep: 5) == 1)
        #expect(abs(options.learningRate(atStep: 100) - 0.1) < 1e-12)
        #expect(options.learningRate(atStep: 50) < 1 && options.learningRate(atStep: 50) > 0.1)
        // A schedule shorter than the run: the cosine ends at its step, then the final rate.
        var longer = options
        longer.steps = 150
        longer.scheduleSteps = 100
        #expect(longer.warmup == 5 && longer.schedule == 100)
        for t in [1, 5, 50, 99, 100] { #expect(longer.learningRate(atStep: t) == options.learningRate(atStep: t)) }
        for t in [101, 150] { #expect(abs(longer.learningRate(atStep: t) - 0.1) < 1e-12) }
        longer.warmupSteps = 101
        #expect(throws: KernelError.self) { try longer.validate() }
    }

    /// A run trained longer on the schedule it started with takes the same
    /// first steps as the run it continues.
    @Test func trainingLongerKeepsTheFirstSteps() throws {
        let h = Hyperparameters(vocabSize: 7, dModel: 8, nHead: 2, dHead: 4, dMLP: 16, nBlock: 1)
        let weights = try ModelArrays.random(h, seed: 3).weights(as: Float.self)
        let tokens = (0..<200).map { ($0 * 5 + $0 / 7) % 7 }
        var short = Trainer<Float>.Options()
        (short.steps, short.batch, short.context) = (6, 2, 8)
        var long = short
        long.steps = 9
        long.scheduleSteps = 6
        var a = try Trainer(weights: weights, tokens: tokens, options: short)
        var b = try Trainer(weights: weights, tokens: tokens, options: long)
        for _ in 0..<6 { _ = (try a.trainStep(), try b.trainStep()) }
        #expect(a.weights.parameterTensors.map(\.tensor.scalars) == b.weights.parameterTensors.map(\.tensor.scalars))
        // Without the kept schedule the same steps differ.
        var stretched = short
        stretched.steps = 9
        var c = try Trainer(weights: weights, tokens: tokens, options: stretched)
        for _ in 0..<6 { _ = try c.trainStep() }
        #expect(a.weights.parameterTensors.map(\.tensor.scalars) != c.weights.parameterTensors.map(\.tensor.scalars))
    }
}

