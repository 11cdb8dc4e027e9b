#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWFormat
import TXWKernels
import TXWThreads

/// Trains a notebook transformer on a token sequence: random windows of
/// `context + 1` tokens, the mean loss and gradient over a batch, AdamW
/// with linear warm-up then cosine decay. Deterministic for a given seed:
/// the windows come from `NumpyRandom(seed)` and the kernels' results do not
/// depend on the thread count.
public struct Trainer<Scalar: KernelScalar> {
    /// What a training run does: its length, batches, schedule and seed. Checked by `validate()`.
    public struct Options: Sendable, Equatable {
        /// Optimizer steps (default 1000).
        public var steps = 1000
        /// Windows per step (default 16).
        public var batch = 16
        /// Tokens each window predicts (default 64).
        public var context = 64
        /// Peak learning rate (default 3e-3).
        public var learningRate = 3e-3
        /// Steps of linear warm-up from 0 (default: 5% of the schedule's
        /// steps, at least 1).
        public var warmupSteps: Int? = nil
        /// The step by which the cosine has decayed to
        /// `finalLearningRateFraction` of the peak (default: `steps`); steps
        /// past it train at that final rate. A run resumed to train longer
        /// keeps the schedule it started with, so its first steps are those of
        /// the original run whatever `steps` it is continued to.
        public var scheduleSteps: Int? = nil
        /// The cosine decays to this fraction of the peak (default 0.1).
        public var finalLearningRateFraction = 0.1
        /// Seed of the window sampler (default 42).
        public var seed: UInt64 = 42
        /// Fraction of the tokens held out for validation, from the end (default 0.1).
        public var validationFraction = 0.1

        /// The most memory a step may use for its activations and the
        /// optimizer's state (`memoryNeed(_:threads:scalarBytes:)`), checked
        /// when the trainer is made (default `MemoryBudget.systemDefault`).
        public var memoryBudget: MemoryBudget = .systemDefault

        /// The defaults each property names.
        public init() {}

        /// The bytes training a model of `h` needs besides its weights (nil
        /// when more than `Int.max`), as `trainStep` holds them at its peak:
        /// - the activations and work space of the windows computed at once
        ///   (`activationBytes(_:threads:)`);
        /// - that chunk's gradients, one value per parameter, and the
        ///   float64 sum of the chunks' gradients (8 bytes per parameter);
        /// - three more sets of weights with their derived copies (`W_Eᵀ`
        ///   and the fused Q/K/V, V·d_model + 3·d_model·n_head·d_head·n_block
        ///   values): the mean gradient's values, the mean gradient, and the
        ///   updated weights;
        /// - the optimizer's two float64 moments (16 bytes per parameter).
        public func memoryNeed(_ h: Hyperparameters, threads: Int, scalarBytes s: Int) -> Int? {
            let activations = activationBytes(h, threads: threads)
            guard activations < 0x1p62 else { return nil }
            let P = h.parameterCount
            let embedding = MemoryBudget.bytes(count: h.vocabSize, size: h.dModel)
            let fused = MemoryBudget.bytes(count: h.dModel, size: 3)
                .flatMap { MemoryBudget.bytes(count: $0, size: h.nHead) }
                .flatMap { MemoryBudget.bytes(count: $0, size: h.dHead) }
                .flatMap { MemoryBudget.bytes(count: $0, size: h.nBlock) }
            let weightSet = MemoryBudget.sum([P, embedding, fused]).flatMap { MemoryBudget.bytes(count: $0, size: s) }
            return MemoryBudget.sum([
                Int(activations),
                MemoryBudget.bytes(count: P, size: s),
                MemoryBudget.bytes(count: P, size: 8),
                weightSet.flatMap { MemoryBudget.bytes(count: $0, size: 3) },
                MemoryBudget.bytes(count: P, size: 16),
            ])
        }

        /// An estimate of the bytes of activations (forward values kept for
        /// the backward pass, and the backward pass's work space) of the
        /// windows a step computes at once, for a model of `h`, at 8 bytes a
        /// value: a step computes its windows in chunks whose size depends on
        /// the model and the window length only (at most 2^24 values, at
        /// least one window), whatever `threads`. Per chunk of W windows of
        /// m = context + 1 tokens (M = W·m rows): per block
        /// M·(4·d_model + 4·n_head·d_head + 2·d_mlp) + W·n_head·m², plus
        /// M·(3·d_model + V + 4·n_head·d_head) + 2·max(M, d_model, d_mlp)·max(d_mlp, d_model, 3·n_head·d_head, V).
        /// In Double, so no count overflows.
        public func activationBytes(_ h: Hyperparameters, threads: Int) -> Double {
            let m = context + 1
            let windows = TrainingStep.windowsPerChunk(h, batch: batch, m: m)
            return TrainingStep.scratchCount(h, windows: windows, m: m) * 8
        }

        /// The most optimizer steps a run may have (2^40): the window sampler
        /// is advanced `steps · batch` draws on resume, which stays far from
        /// overflow.
        public static var maximumSteps: Int { 1 << 40 }
        /// The most windows per step (65,536).
        public static var maximumBatch: Int { 1 << 16 }
        /// The most tokens a window predicts (65,536).
        public static var maximumContext: Int { 1 << 16 }
        /// The most tokens one step reads, `batch · (context + 1)` (2^24).
        public static var maximumBatchTokens: Int { 1 << 24 }

        /// The length of the schedule in force: `scheduleSteps`, or `steps`.
        public var schedule: Int { scheduleSteps ?? steps }

        /// The warm-up steps in force: `warmupSteps`, or 5% of the schedule (at least 1).
        public var warmup: Int { warmupSteps ?? max(1, schedule / 20) }

        /// The learning rate of step `t` (1-based): t/warmup · peak during the
        /// warm-up, then peak · (f + (1 − f)·½(1 + cos(π·progress))), progress
        /// going from 0 after the warm-up to 1 at step `schedule` and staying 1
        /// past it.
        public func learningRate(atStep t: Int) -> Double {
            if t <= warmup { return learningRate * Double(t) / Double(warmup) }
            let progress = Double(t - warmup) / Double(max(schedule - warmup, 1))
            let cosine = 0.5 * (1 + cos(Double.pi * min(progress, 1)))
            return learningRate * (finalLearningRateFraction + (1 - finalLearningRateFraction) * cosine)
        }

        /// Checks every option against its range.
        ///
        /// - Throws: `KernelError.invalidArgument` naming the first option out of range.
        public func validate() throws {
            func check(_ ok: Bool, _ name: String, _ value: String, _ requirement: String) throws {
                guard ok else { throw KernelError.invalidArgument(name: name, value: value, requirement: requirement) }
            }
            try check(steps >= 1 && steps <= Self.maximumSteps, "steps", "\(steps)", "must be in 1...\(Self.maximumSteps)")
            try check(batch >= 1 && batch <= Self.maximumBatch, "batch", "\(batch)", "must be in 1...\(Self.maximumBatch)")
            try check(context >= 1 && context <= Self.maximumContext, "context", "\(context)", "must be in 1...\(Self.maximumContext)")
            // Both are bounded above, so the product cannot overflow.
            try check(batch * (context + 1) <= Self.maximumBatchTokens, "batch · (context + 1)", "\(batch * (context + 1))",
                      "must be ≤ \(Self.maximumBatchTokens) tokens a step")
            try check(learningRate.isFinite && learningRate > 0, "learning rate", "\(learningRate)", "must be > 0")
            try check(schedule >= 1 && schedule <= Self.maximumSteps, "schedule", "\(schedule)", "must be in 1...\(Self.maximumSteps)")
            try check(warmup >= 1 && warmup <= schedule, "warm-up", "\(warmup)", "must be in 1...\(schedule) (the schedule's steps)")
            try check(finalLearningRateFraction >= 0 && finalLearningRateFraction <= 1, "final fraction", "\(finalLearningRateFraction)", "must be in 0…1")
            try check(validationFraction >= 0 && validationFraction < 1, "validation fraction", "\(validationFraction)", "must be in [0, 1)")
        }
    }

    /// The weights after the steps taken so far.
    public private(set) var weights: TransformerWeights<Scalar>
    /// The optimizer's state (its step and moments), for a checkpoint.
    public private(set) var optimizer = AdamW()
    /// The options the run was started with.
    public let options: Options
    /// The threads and instruction set the steps compute with (the trained
    /// model does not depend on the thread count).
    public let configuration: KernelConfiguration
    /// The tokens the windows are drawn from: the first part of the sequence.
    public let trainingTokens: [Int]
    /// The held-out tokens at the end of the sequence (maybe empty).
    public let validationTokens: [Int]
    private var rng: NumpyRandom
    /// The training step's memory, kept from step to step (never shared: a
    /// copied trainer gets its own before its next step).
    private var workspace = TrainingWorkspace()

    /// Splits `tokens` into training and validation parts and checks that a
    /// window fits in the training part and that a step's activations and
    /// the optimizer's state fit `options.memoryBudget`
    /// (`TXWFormatError.overMemoryBudget` otherwise).
    public init(
        weights: TransformerWeights<Scalar>, tokens: [Int], options: Options, configuration: KernelConfiguration = .default
    ) throws {
        try options.validate()
        try options.memoryBudget.check(
            options.memoryNeed(weights.hyperparameters, threads: configuration.threads, scalarBytes: MemoryLayout<Scalar>.size),
            for: "the activations of a step (context \(options.context), batch \(options.batch)) and the optimizer's state")
        let V = weights.hyperparameters.vocabSize
        for (i, t) in tokens.enumerated() where t < 0 || t >= V {
            throw KernelError.tokenOutOfRange(position: i, token: t, vocabSize: V)
        }
        let held = Int(Double(tokens.count) * options.validationFraction)
        let trainCount = tokens.count - held
        guard trainCount >= options.context + 1 else {
            throw KernelError.sequenceTooShort(what: "training data", minimum: options.context + 1 + held, found: tokens.count)
        }
        self.weights = weights
        self.options = options
        self.configuration = configuration
        trainingTokens = Array(tokens[..<trainCount])
        validationTokens = Array(tokens[trainCount...])
        rng = NumpyRandom(seed: options.seed)
    }

    /// Steps taken so far.
    public var step: Int { optimizer.step }

    /// Continues from a saved optimizer state (and the weights it was saved
    /// with): the window sampler skips the windows of the steps already
    /// taken, so the run goes on as if it had never stopped.
    ///
    /// The state is checked first, as a value read from a file: its step in
    /// 0...`Options.maximumSteps`, one first and one second moment per
    /// weight tensor with the tensor's element count (none only at step 0),
    /// every moment finite and every second moment ≥ 0. A saved step at or
    /// past `options.steps` leaves nothing to train. The window sampler skips
    /// the `step · batch` draws of the steps taken by a jump-ahead
    /// (`NumpyRandom.skip`), O(log) whatever the saved step.
    ///
    /// - Throws: `KernelError.invalidArgument` naming the first value out of
    ///   range (the step, or the moment tensor and its index).
    public mutating func restore(_ saved: AdamW) throws {
        try Self.validate(saved, for: weights)
        optimizer = saved
        guard saved.step < options.steps else { return }
        rng.skip(UInt128(saved.step) * UInt128(options.batch))
    }

    /// Checks a saved optimizer state against `weights` (see `restore(_:)`).
    static func validate(_ saved: AdamW, for weights: TransformerWeights<Scalar>) throws {
        guard saved.step >= 0, saved.step <= Options.maximumSteps else {
            throw KernelError.invalidArgument(
                name: "optimizer step", value: "\(saved.step)", requirement: "must be in 0...\(Options.maximumSteps)")
        }
        let params = weights.parameterTensors
        if saved.firstMoments.isEmpty && saved.secondMoments.isEmpty && saved.step == 0 { return }
        guard saved.firstMoments.count == params.count, saved.secondMoments.count == params.count else {
            throw KernelError.invalidArgument(
                name: "optimizer state", value: "\(saved.firstMoments.count) first and \(saved.secondMoments.count) second moments",
                requirement: "must have one of each for the model's \(params.count) tensors")
        }
        for (i, (name, tensor)) in params.enumerated() {
            for (kind, moments) in [("first moment", saved.firstMoments[i]), ("second moment", saved.secondMoments[i])] {
                guard moments.count == tensor.count else {
                    throw KernelError.invalidArgument(
                        name: "\(kind) of \(name)", value: "\(moments.count) values",
                        requirement: "must have the tensor's \(tensor.count) (shape \(tensor.shape))")
                }
                let second = kind == "second moment"
                if let j = moments.firstIndex(where: { !$0.isFinite || (second && $0 < 0) }) {
                    throw KernelError.invalidArgument(
                        name: "\(kind) of \(name)[\(j)]", value: "\(moments[j])",
                        requirement: second ? "must be finite and ≥ 0" : "must be finite")
                }
            }
        }
    }

    /// One optimizer step; returns the batch's mean training loss.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func trainStep() throws -> Double {
        let windows = trainingTokens.count - options.context
        var total = 0.0
        var sum: [[Double]] = []
        var only: [[Scalar]] = []  // a step of one chunk: its gradients, not copied into float64
        let starts = (0..<options.batch).map { _ in min(Int(rng.random() * Double(windows)), windows - 1) }
        // The windows' gradients are computed in parallel on the shared
        // pool, a wave of `configuration.threads` at a time, and added in
        // window order: the same sums as one window after another, whatever
        // the thread count.
        // The windows in chunks of `TrainingStep.windowsPerChunk` (a count
        // from the model and the step's shape, not the thread count); each
        // chunk's gradient is one pass over its windows stacked (the kernels'
        // threads inside), the chunks' gradients added in float64 in order.
        let m = options.context + 1
        let per = TrainingStep.windowsPerChunk(weights.hyperparameters, batch: starts.count, m: m)
        if !isKnownUniquelyReferenced(&workspace) { workspace = TrainingWorkspace() }
        let workspace = workspace
        for first in stride(from: 0, to: starts.count, by: per) {
            let windows = starts[first..<min(first + per, starts.count)].map { Array(trainingTokens[$0..<($0 + m)]) }
            let (loss, gradients) = configuration.applied { weights.trainingGradients(windows: windows, workspace: workspace) }
            total += loss
            if per >= starts.count {
                only = gradients
            } else if sum.isEmpty {
                sum = gradients.map { $0.map(Double.init) }
            } else {
                for (i, g) in gradients.enumerated() {
                    sum[i].withUnsafeMutableBufferPointer { s in
                        for j in g.indices { s[j] += Double(g[j]) }
                    }
                }
            }
        }
        let scale = 1 / Double(options.batch)
        // The mean gradient: each sum (in float64; one chunk's own value) times
        // 1/B, rounded to Scalar. One chunk's: AdamW scales each value as it
        // reads it (the same rounding, without a pass and a copy of its own).
        let rate = options.learningRate(atStep: optimizer.step + 1)
        if sum.isEmpty {
            weights = try configuration.applied {
                try optimizer.update(weights, gradientScalars: only, learningRate: rate, gradientScale: scale)
            }
        } else {
            let mean = sum.map { values in values.map { Scalar($0 * scale) } }
            weights = try configuration.applied { try optimizer.update(weights, gradientScalars: mean, learningRate: rate) }
        }
        return total * scale
    }

    /// The mean loss over consecutive windows of the validation tokens (up to
    /// 16), or nil when they hold no full window.
    public func validationLoss() throws -> Double? {
        let length = options.context + 1
        let count = min(validationTokens.count / length, 16)
        guard count > 0 else { return nil }
        var total = 0.0
        for w in 0..<count {
            total += try weights.loss(for: Array(validationTokens[(w * length)..<((w + 1) * length)]), configuration: configuration)
        }
        return total / Double(count)
    }
}
