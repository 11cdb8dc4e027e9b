import ArgumentParser
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TXWFormat
import TXWKernels
import TXWModel
import TXWToolSupport

/// Timings for tools/bench (release builds only). Each subcommand prints one
/// JSON object with the median and every sample, in seconds.
@main
struct Bench: ParsableCommand {
    /// The entry point: help and usage errors rendered through `Console` (`ToolMain`).
    static func main() { ToolMain.main(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "txw-bench",
        abstract: "Measure txw's kernels and reader (used by tools/bench; build with -c release).",
        version: ToolMain.version("txw-bench"),
        subcommands: [Forward.self, Cache.self, Loss.self, Sample.self, Load.self, TrainStep.self, GemmBench.self])
}

struct Common: ParsableArguments {
    @Argument(help: "The .txw model.") var model: String
    @Option(help: "Compute precision.") var precision: Precision = .f32
    @Option(parsing: .unconditional, help: "Timed repetitions (after one warm-up).") var repetitions: Int = 10
    @Option(parsing: .unconditional, help: "Threads for the kernels and the reader.") var threads: Int = 2
    @Option(parsing: .unconditional, help: "Seconds of untimed runs before timing (forward, loss, sample, train): processors that were idle take a moment to reach full speed.")
    var warmup: Double = 0.5

    func validate() throws {
        guard repetitions >= 1 else { throw NumberArguments.outOfRange("--repetitions", must: "≥ 1", got: "\(repetitions)") }
        guard threads >= 1 else { throw NumberArguments.outOfRange("--threads", must: "≥ 1", got: "\(threads)") }
        guard warmup >= 0, warmup <= 60 else {
            throw NumberArguments.outOfRange("--warmup", "seconds", must: "0 … 60", got: NumberArguments.text(warmup))
        }
    }

    /// The kernels' configuration: `threads` threads, the CPU's best instruction set.
    var kernels: KernelConfiguration { KernelConfiguration(threads: threads) }

    /// Runs `body` untimed until `warmup` seconds have passed (at least once).
    func warmUp(_ body: () throws -> Void) rethrows {
        let start = DispatchTime.now().uptimeNanoseconds
        repeat { try body() } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < warmup
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A measured value: a number or a list of numbers (an integral one prints
/// without a fraction), or text (gemm's plans).
enum Measured: Encodable {
    case number(Double)
    case list([Double])
    case text(String)
    case texts([String])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .number(v): try container.encode(v)
        case let .list(v): try container.encode(v)
        case let .text(v): try container.encode(v)
        case let .texts(v): try container.encode(v)
        }
    }
}

func report(_ fields: [(key: String, value: Measured)], samples: [Double]) throws {
    let timing: [(key: String, value: Measured)] = [("median_s", .number(median(samples))), ("samples_s", .list(samples))]
    try Console.out(try JSONOutput.text(JSONDynamicObject(fields + timing)))
}

/// A measurement on a model loaded in the precision and thread count of `common`.
protocol ModelMeasurement {
    var common: Common { get }
    func measure<T: KernelScalar>(_ loaded: LoadedModel<T>) throws
}

extension ModelMeasurement {
    func runMeasurement() throws {
        switch common.precision {
        case .f32: try measure(ModelFile.load(path: common.model, as: Float.self))
        case .f64: try measure(ModelFile.load(path: common.model, as: Double.self))
        }
    }
}

/// `--m`, the sequence length of the forward, cache and loss measurements.
struct SequenceLength: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sequence length m.") var m: Int = 256

    func validate() throws {
        guard m >= 1 else { throw NumberArguments.outOfRange("--m", "sequence length", must: "≥ 1", got: "\(m)") }
    }
}

func tokens(_ m: Int, vocabulary V: Int) -> [Int] { (0..<m).map { ($0 * 7919 + 13) % V } }

struct Forward: ParsableCommand, ModelMeasurement {
    @OptionGroup var common: Common
    @OptionGroup var sequence: SequenceLength
    var m: Int { sequence.m }

    func run() throws { try runMeasurement() }

    func measure<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        let input = tokens(m, vocabulary: loaded.hyperparameters.vocabSize)
        let kernels = common.kernels
        try common.warmUp { _ = try loaded.weights.logits(for: input, configuration: kernels) }
        var samples: [Double] = []
        for _ in 0..<common.repetitions { samples.append(try time { _ = try loaded.weights.logits(for: input, configuration: kernels) }) }
        try report([("m", .number(Double(m)))], samples: samples)
    }
}

/// The activation cache (every name) next to the plain forward pass of the
/// same tokens, timed alternately (median of each, and their ratio); then
/// writing it as a .txw container and as an .npz archive, in memory (the
/// bytes, not the disk).
struct Cache: ParsableCommand, ModelMeasurement {
    @OptionGroup var common: Common
    @OptionGroup var sequence: SequenceLength
    var m: Int { sequence.m }

    func run() throws { try runMeasurement() }

    func measure<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        let input = tokens(m, vocabulary: loaded.hyperparameters.vocabSize)
        let kernels = common.kernels
        try common.warmUp {
            _ = try loaded.weights.logits(for: input, configuration: kernels)
            _ = try loaded.weights.activations(for: input, configuration: kernels)
        }
        var forward: [Double] = [], cache: [Double] = [], txw: [Double] = [], npz: [Double] = []
        var result: ActivationCache<T>?
        for _ in 0..<common.repetitions {
            forward.append(try time { _ = try loaded.weights.logits(for: input, configuration: kernels) })
            cache.append(try time { result = try loaded.weights.activations(for: input, configuration: kernels) })
        }
        let source = ActivationCacheFile.Source(modelName: common.model, modelHeaderChecksum: 0)
        var txwBytes = 0, npzBytes = 0
        for _ in 0..<max(1, common.repetitions / 2) {
            txw.append(try time { txwBytes = try ActivationCacheFile.txwBytes(result!, source: source).count })
            npz.append(try time { npzBytes = try ActivationCacheFile.npzBytes(result!, source: source).count })
        }
        try report([("m", .number(Double(m))), ("forward_median_s", .number(median(forward))),
                    ("ratio", .number(median(cache) / median(forward))),
                    ("txw_write_median_s", .number(median(txw))), ("txw_bytes", .number(Double(txwBytes))),
                    ("npz_write_median_s", .number(median(npz))), ("npz_bytes", .number(Double(npzBytes)))], samples: cache)
    }
}

struct Loss: ParsableCommand, ModelMeasurement {
    @OptionGroup var common: Common
    @OptionGroup var sequence: SequenceLength
    var m: Int { sequence.m }

    func run() throws { try runMeasurement() }

    func measure<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        let input = tokens(m, vocabulary: loaded.hyperparameters.vocabSize)
        var value = 0.0
        var samples: [Double] = []
        let kernels = common.kernels
        try common.warmUp { value = try loaded.weights.loss(for: input, configuration: kernels) }
        for _ in 0..<common.repetitions {
            samples.append(try time { value = try loaded.weights.loss(for: input, configuration: kernels) })
        }
        try report([("m", .number(Double(m))), ("loss", .number(value))], samples: samples)
    }
}

struct Sample: ParsableCommand, ModelMeasurement {
    @OptionGroup var common: Common
    @Option(name: .short, parsing: .unconditional) var n: Int = 256
    @Option(name: .short, parsing: .unconditional) var k: Int = 10
    @Option(name: .short, parsing: .unconditional) var t: Double = 1
    @Option(parsing: .unconditional, help: "Prompt length.") var prompt: Int = 8
    @Option(parsing: .unconditional, help: "Context: the model sees the last C tokens (default: the whole sequence).") var context: Int?

    func validate() throws {
        guard n >= 0 else { throw NumberArguments.outOfRange("-n", "tokens to sample", must: "≥ 0", got: "\(n)") }
        guard k >= 1 else { throw NumberArguments.outOfRange("-k", "top k", must: "≥ 1", got: "\(k)") }
        guard t.isFinite, t >= 0 else { throw NumberArguments.outOfRange("-t", "temperature", must: "a finite number ≥ 0", got: NumberArguments.text(t)) }
        guard prompt >= 1 else { throw NumberArguments.outOfRange("--prompt", "prompt length", must: "≥ 1", got: "\(prompt)") }
        if let context, context < 1 { throw NumberArguments.outOfRange("--context", must: "≥ 1", got: "\(context)") }
    }

    func run() throws { try runMeasurement() }

    func measure<T: KernelScalar>(_ loaded: LoadedModel<T>) throws {
        let input = tokens(prompt, vocabulary: loaded.hyperparameters.vocabSize)
        let sampler = try TopKSampler(k: k, temperature: t, seed: 42)
        var samples: [Double] = []
        var produced: [Int] = []
        let kernels = common.kernels
        try common.warmUp { produced = try sampler.sample(loaded.weights, prompt: input, count: n, context: context, configuration: kernels) }
        for _ in 0..<common.repetitions {
            samples.append(try time {
                produced = try sampler.sample(loaded.weights, prompt: input, count: n, context: context, configuration: kernels)
            })
        }
        try report([("n", .number(Double(n))), ("tokens_per_s", .number(Double(n) / median(samples))), ("tokens", .list(produced.map(Double.init)))],
                   samples: samples)
    }
}

struct Load: ParsableCommand {
    @OptionGroup var common: Common

    /// Opens the file and decodes every tensor, verifying every checksum,
    /// keeping all of them in memory (as a load would) until the end.
    func run() throws {
        let options = TXWReader.Options(decodeThreads: common.threads)
        var samples: [Double] = []
        var bytes = 0
        for _ in 0..<common.repetitions {
            var all: [UInt8] = []
            samples.append(try time {
                let reader = try TXWReader(path: common.model, options: options)
                all = try reader.readAllBytes().bytes
            })
            bytes = all.count
        }
        try report([("decoded_bytes", .number(Double(bytes))), ("max_rss_bytes", .number(Double(peakResidentBytes())))], samples: samples)
    }
}

/// The process's peak resident set (VmHWM of /proc/self/status). Unlike
/// getrusage's ru_maxrss, it starts afresh at exec, so a parent's memory
/// does not count.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// One training step (loss and gradients over a batch of windows, AdamW) on float32 weights.
struct TrainStep: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train")
    @OptionGroup var common: Common
    @Option(parsing: .unconditional, help: "Windows per step.") var batch: Int = 16
    @Option(parsing: .unconditional, help: "Tokens each window predicts.") var context: Int = 64

    func validate() throws {
        guard batch >= 1 else { throw NumberArguments.outOfRange("--batch", must: "≥ 1", got: "\(batch)") }
        guard context >= 1 else { throw NumberArguments.outOfRange("--context", must: "≥ 1", got: "\(context)") }
    }

    func run() throws {
        let loaded = try ModelFile.load(path: common.model, as: Float.self)
        let V = loaded.hyperparameters.vocabSize
        var options = Trainer<Float>.Options()
        // The schedule's length only shapes the learning rate, not the work of a step.
        options.steps = 1_000_000
        options.batch = batch
        options.context = context
        options.validationFraction = 0
        var trainer = try Trainer(weights: loaded.weights, tokens: tokens(4096, vocabulary: V), options: options,
                                  configuration: common.kernels)
        try common.warmUp { _ = try trainer.trainStep() }
        var samples: [Double] = []
        for _ in 0..<common.repetitions { samples.append(try time { _ = try trainer.trainStep() }) }
        try report([("batch", .number(Double(batch))), ("context", .number(Double(context)))], samples: samples)
    }
}

/// One matrix product C[m×n] = op(A)·op(B) of random values with the GEMM's
/// plan (the one chosen for this CPU, TXW_GEMM's, or --plan's settings over
/// it); with --sweep, a set of candidate plans around it, each timed, fastest
/// first — the data to tune a CPU's plan. GFLOP/s = 2·m·n·k / median.
struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm")

    @Option(parsing: .unconditional, help: "Rows of C.") var m: Int = 512
    @Option(parsing: .unconditional, help: "Columns of C.") var n: Int = 512
    @Option(parsing: .unconditional, help: "The summed dimension.") var k: Int = 512
    @Option(help: "Compute precision.") var precision: Precision = .f32
    @Option(parsing: .unconditional, help: "Timed repetitions per plan (after one warm-up).") var repetitions: Int = 10
    @Option(parsing: .unconditional, help: "Threads for the kernels.") var threads: Int = 2
    @Option(parsing: .unconditional, help: "Seconds of untimed runs before timing.") var warmup: Double = 0.5
    @Option(help: "Plan settings over the plan chosen for this CPU (and TXW_GEMM's), as TXW_GEMM: mr=1…16, nr=1…3, kc, mc, nc=1…1048576, e.g. mr=4,nr=2,kc=128. Prints the plan, the caches it came from and GFLOP/s = 2·m·n·k / median.")
    var plan: String?
    @Flag(help: "Time a set of candidate plans around the chosen one (tile shapes, k blocks) and list them fastest first.") var sweep = false
    @Flag(name: .customLong("transpose-a"), help: "Multiply by Aᵀ (A stored k×m).") var transposeA = false
    @Flag(name: .customLong("transpose-b"), help: "Multiply by Bᵀ (B stored n×k).") var transposeB = false

    func validate() throws {
        for (flag, value) in [("--m", m), ("--n", n), ("--k", k)] where value < 1 || value > 8192 {
            throw NumberArguments.outOfRange(flag, must: "1 … 8192", got: "\(value)")
        }
        guard repetitions >= 1 else { throw NumberArguments.outOfRange("--repetitions", must: "≥ 1", got: "\(repetitions)") }
        guard threads >= 1 else { throw NumberArguments.outOfRange("--threads", must: "≥ 1", got: "\(threads)") }
        guard warmup >= 0, warmup <= 60 else {
            throw NumberArguments.outOfRange("--warmup", "seconds", must: "0 … 60", got: NumberArguments.text(warmup))
        }
        if let plan, case let .failure(error) = GemmPlan.current(for: Float.self).parsing(plan) {
            throw NumberArguments.outOfRange("--plan", must: "settings such as mr=4,nr=2,kc=128 (\(error.reason))", got: plan)
        }
    }

    func run() throws {
        switch precision {
        case .f32: try measure(Float.self)
        case .f64: try measure(Double.self)
        }
    }

    func measure<T: KernelScalar>(_: T.Type) throws {
        let kernels = KernelConfiguration(threads: threads)
        let level = kernels.effectiveLevel
        var chosen = GemmPlan.current(for: T.self, level: level)
        if let plan { chosen = try chosen.parsing(plan).get() }
        var rng = NumpyRandom(seed: 1)
        let a = (0..<(m * k)).map { _ in T(rng.random() * 2 - 1) }
        let b = (0..<(k * n)).map { _ in T(rng.random() * 2 - 1) }
        var c = [T](repeating: 0, count: m * n)
        var candidates = [chosen]
        if sweep {
            for (mr, nr) in level == 2 ? [(8, 2), (12, 2), (14, 2), (8, 3), (6, 3), (16, 1)] : [(6, 2), (4, 2), (4, 3), (8, 1), (3, 3)] {
                for kc in [chosen.kBlock / 2, chosen.kBlock, 2 * chosen.kBlock, 1 << 20] {
                    var p = chosen
                    (p.rowsPerTile, p.panelVectors, p.kBlock) = (mr, nr, max(kc, 1))
                    if !candidates.contains(p) { candidates.append(p) }
                }
            }
        }
        var results: [(plan: GemmPlan, median: Double, samples: [Double])] = []
        for candidate in candidates {
            let start = DispatchTime.now().uptimeNanoseconds
            repeat {
                _ = candidate.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, b: b, c: &c, configuration: kernels)
            } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < warmup
            var samples: [Double] = []
            for _ in 0..<repetitions {
                samples.append(time {
                    _ = candidate.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, b: b, c: &c, configuration: kernels)
                })
            }
            results.append((candidate, median(samples), samples))
        }
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let caches = GemmPlan.caches
        var fields: [(key: String, value: Measured)] = [
            ("m", .number(Double(m))), ("n", .number(Double(n))), ("k", .number(Double(k))), ("level", .number(Double(level))),
            ("l1_bytes", .number(Double(caches.l1))), ("l2_bytes", .number(Double(caches.l2))), ("l3_bytes", .number(Double(caches.l3))),
            ("gflops", .number(flops / results[0].median / 1e9)),
        ]
        fields += [("plan", .text(chosen.description)), ("cache_source", .text(caches.source))]
        if sweep {
            let sorted = results.sorted { $0.median < $1.median }
            fields += [("sweep_plans", .texts(sorted.map(\.plan.description))), ("sweep_gflops", .list(sorted.map { flops / $0.median / 1e9 }))]
        }
        try report(fields, samples: results[0].samples)
    }
}
