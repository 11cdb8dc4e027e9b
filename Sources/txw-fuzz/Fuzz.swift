#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWFormat
import TXWKernels
import TXWModel

/// What one input is fed to. `container` (the default) is every parser of
/// untrusted files; `resume` and `tokenizer` are the two paths below.
enum FuzzTarget: String, CaseIterable {
    case container, resume, tokenizer

    /// The target named by the environment variable `TXW_FUZZ_TARGET`
    /// (tools/fuzz sets it), `container` when it is unset.
    static func fromEnvironment() -> FuzzTarget? {
        guard let name = getenv("TXW_FUZZ_TARGET") else { return .container }
        return FuzzTarget(rawValue: String(cString: name))
    }
}

/// Feeds one input to `target`. Any crash, hang, leak or out-of-bounds
/// access is a bug; thrown errors are the expected outcome. A broken
/// invariant stops the process with `fatalError`, so the fuzzer reports it.
func exercise(_ bytes: [UInt8], target: FuzzTarget = .container) {
    switch target {
    case .container: exerciseContainer(bytes)
    case .resume: ResumeTarget.exercise(bytes)
    case .tokenizer: TokenizerTarget.exercise(bytes)
    }
}

/// A fixed budget (256 MiB, a quarter of libFuzzer's `-rss_limit_mb` in
/// tools/fuzz), so whether an input is refused does not depend on the
/// machine's memory; one decode thread, so runs are reproducible.
let fuzzReaderOptions = TXWReader.Options(decodeThreads: 1, memoryBudget: MemoryBudget(bytes: 256 << 20))

/// The container reader (open, verify, read each tensor), the model profile
/// and loader, and the npz/safetensors importers.
func exerciseContainer(_ bytes: [UInt8]) {
    if let reader = try? TXWReader(bytes: bytes, name: "fuzz", options: fuzzReaderOptions) {
        _ = reader.verify()
        _ = try? reader.readAllBytes()
        _ = try? ModelFile.load(reader, as: Float.self)
        _ = try? ModelArrays(reader: reader)
    }
    if let arrays = try? ArrayImporter.read(bytes: bytes, name: "fuzz", memoryBudget: fuzzReaderOptions.memoryBudget) {
        _ = try? ModelArrays(arrays: arrays)
    }
}

/// txw-train's resume path: the input is an `OUT.adam` container, restored
/// against a fixed small model the way txw-train reads it (the `adamw.step`
/// key, one `m.`/`v.` tensor per weight tensor with its shape, read as f64,
/// then `Trainer.restore`'s checks), followed by at most two training steps.
/// An input that does not start with the container's magic is a raw state
/// (`rawState`), so mutated values are not stopped by the checksums.
/// The outcome must be a thrown error or the tool's own refusal (a
/// non-finite loss, weights or state: "diverged, not written"); a state the
/// tool would write must restore again.
enum ResumeTarget {
    /// The fixed model: 1 block, V = 5, d_model 4.
    static let hyperparameters = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 1, dHead: 2, dMLP: 4, nBlock: 1)
    /// Its training tokens.
    static let tokens = (0..<40).map { ($0 * 3 + $0 / 7) % 5 }
    /// Steps of the run resumed (so at most this many saved steps are skipped).
    static let totalSteps = 64

    /// The fixed model's arrays (made once).
    static let fixedModel: ModelArrays = {
        guard let model = try? ModelArrays.random(hyperparameters, seed: 11) else { fatalError("resume: the fixed model is refused") }
        return model
    }()

    static func exercise(_ bytes: [UInt8]) {
        let model = fixedModel
        let saved: AdamW
        if bytes.starts(with: FormatLimits.magic.prefix(4)) {
            guard let reader = try? TXWReader(bytes: bytes, name: "fuzz.adam", options: fuzzReaderOptions),
                  let state = try? optimizerState(reader, model: model) else { return }
            saved = state
        } else {
            saved = rawState(bytes, model: model)
        }
        guard var trainer = try? makeTrainer(model) else { fatalError("resume: the fixed trainer is refused") }
        do {
            try trainer.restore(saved)
        } catch {
            return
        }
        var steps = 0
        while trainer.step < totalSteps && steps < 2 {
            guard let loss = try? trainer.trainStep() else { return }
            steps += 1
            if !loss.isFinite { return }  // txw-train: "training diverged", nothing written
        }
        // txw-train's checkpoint refuses non-finite weights or moments.
        let o = trainer.optimizer
        for (i, (_, tensor)) in trainer.weights.parameterTensors.enumerated() {
            if tensor.scalars.contains(where: { !$0.isFinite }) { return }
            if i < o.firstMoments.count, o.firstMoments[i].contains(where: { !$0.isFinite }) || o.secondMoments[i].contains(where: { !$0.isFinite }) {
                return
            }
        }
        // What it would write must resume: encode the state and restore it again.
        do {
            var writer = try TXWWriter()
            try writer.setMetadata("adamw.step", .int(Int64(o.step)))
            for (i, (name, tensor)) in trainer.weights.parameterTensors.enumerated() where !o.firstMoments.isEmpty {
                try writer.addTensor(name: "m." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.firstMoments[i], as: .f64))
                try writer.addTensor(name: "v." + name, dtype: .f64, shape: tensor.shape, bytes: ElementCoding.encode(o.secondMoments[i], as: .f64))
            }
            let again = try optimizerState(TXWReader(bytes: writer.encode(), name: "again.adam"), model: model)
            var next = try makeTrainer(model)
            try next.restore(again)
        } catch {
            fatalError("resume: a state txw-train would write does not restore: \(error)")
        }
    }

    static func makeTrainer(_ model: ModelArrays) throws -> Trainer<Float> {
        var options = Trainer<Float>.Options()
        (options.steps, options.batch, options.context, options.validationFraction) = (totalSteps, 2, 6, 0)
        options.memoryBudget = MemoryBudget(bytes: 256 << 20)
        return try Trainer(weights: model.weights(as: Float.self), tokens: tokens, options: options, configuration: KernelConfiguration(threads: 1))
    }

    /// A state straight from the bytes, past the container's checksums, so
    /// the fuzzer reaches `restore`'s checks and the training steps with any
    /// values: byte 0 selects a defect (bit 0: a tensor's moments missing,
    /// bit 1: one value short), bytes 1…8 are the step (little-endian), the
    /// rest are f64 values dealt cyclically to the first and second moments.
    static func rawState(_ bytes: [UInt8], model: ModelArrays) -> AdamW {
        let flags = bytes.first ?? 0
        var step: Int64 = 0
        for (i, byte) in bytes.dropFirst().prefix(8).enumerated() { step |= Int64(byte) << (8 * i) }
        let payload = Array(bytes.dropFirst(9))
        let values = stride(from: 0, to: payload.count - payload.count % 8, by: 8).map { offset in
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(payload[offset + i]) << (8 * i) }
            return Double(bitPattern: bits)
        }
        var next = 0
        func take(_ count: Int) -> [Double] {
            (0..<count).map { _ in
                defer { next += 1 }
                return values.isEmpty ? 0 : values[next % values.count]
            }
        }
        var first: [[Double]] = [], second: [[Double]] = []
        for array in model.arrays {
            let count = array.shape.reduce(1, *)
            first.append(take(count))
            second.append(take(count))
        }
        if flags & 1 != 0, !first.isEmpty { first.removeLast() }
        if flags & 2 != 0, !second.isEmpty, !second[0].isEmpty { second[0].removeLast() }
        return AdamW(step: Int(step), firstMoments: first, secondMoments: second)
    }

    /// The saved state as txw-train's `loadOptimizer` reads it.
    static func optimizerState(_ reader: TXWReader, model: ModelArrays) throws -> AdamW {
        guard case let .int(step)? = reader.metadata("adamw.step") else { throw FuzzRefusal() }
        guard step >= 0, step <= Trainer<Float>.Options.maximumSteps else { throw FuzzRefusal() }
        var first: [[Double]] = [], second: [[Double]] = []
        for array in model.arrays {
            for name in ["m." + array.name, "v." + array.name] {
                guard let entry = reader.tensor(named: name), entry.shape == array.shape else { throw FuzzRefusal() }
            }
            first.append(try reader.read(named: "m." + array.name, as: Double.self))
            second.append(try reader.read(named: "v." + array.name, as: Double.self))
        }
        return AdamW(step: Int(step), firstMoments: first, secondMoments: second)
    }

    struct FuzzRefusal: Error {}
}

/// The tokenizer: the input is a vocabulary and a text. Bytes up to each
/// 0xFF are one token (UTF-8; invalid bytes become U+FFFD; empty and
/// repeated tokens are dropped), the bytes after the last 0xFF are the text.
/// `Vocabulary.encode` must agree with a plain greedy longest match over
/// Unicode scalars (quadratic, independent of the automaton): it throws
/// exactly when some position matches no token, and otherwise gives the
/// same ids, at most one per scalar, that decode to the text. (A text is
/// cut so that its scalars times the vocabulary's stay under `referenceWork`.)
enum TokenizerTarget {
    /// Bound on text scalars × vocabulary scalars, so the quadratic reference stays fast.
    static let referenceWork = 1 << 22

    static func exercise(_ bytes: [UInt8]) {
        var (tokens, text) = split(bytes)
        guard !tokens.isEmpty, let vocabulary = try? Vocabulary(tokens) else { return }
        let vocabularyScalars = tokens.reduce(0) { $0 + $1.unicodeScalars.count }
        let keep = referenceWork / vocabularyScalars
        if text.unicodeScalars.count > keep {
            var shorter = String.UnicodeScalarView()
            shorter.append(contentsOf: text.unicodeScalars.prefix(keep))
            text = String(shorter)
        }
        let expected = greedy(tokens, text)
        let ids: [Int]
        do {
            ids = try vocabulary.encode(text)
        } catch {
            guard expected == nil else { fatalError("tokenizer: encode threw \(error), the plain greedy match gives \(expected!)") }
            return
        }
        guard let expected else { fatalError("tokenizer: encode gave \(ids), the plain greedy match finds no token at some position") }
        guard ids == expected else { fatalError("tokenizer: encode gave \(ids), the plain greedy match \(expected)") }
        guard ids.count <= text.unicodeScalars.count else { fatalError("tokenizer: \(ids.count) ids for \(text.unicodeScalars.count) scalars") }
        guard let decoded = try? vocabulary.decode(ids), Array(decoded.unicodeScalars) == Array(text.unicodeScalars) else {
            fatalError("tokenizer: decode(encode(text)) is not the text")
        }
    }

    /// The tokens (distinct as scalar sequences, non-empty) and the text of an input.
    static func split(_ bytes: [UInt8]) -> ([String], String) {
        let parts = bytes.split(separator: 0xFF, omittingEmptySubsequences: false)
        var seen = Set<[Unicode.Scalar]>()
        var tokens: [String] = []
        for part in parts.dropLast() {
            let token = String(decoding: part, as: UTF8.self)
            let scalars = Array(token.unicodeScalars)
            if scalars.isEmpty || !seen.insert(scalars).inserted { continue }
            tokens.append(token)
        }
        return (tokens, String(decoding: parts.last ?? [], as: UTF8.self))
    }

    /// Greedy longest match by trying every token at every position; nil when a position matches none.
    static func greedy(_ tokens: [String], _ text: String) -> [Int]? {
        let scalars = Array(text.unicodeScalars)
        let candidates = tokens.map { Array($0.unicodeScalars) }
        var ids: [Int] = []
        var i = 0
        while i < scalars.count {
            var best: Int? = nil
            for (id, token) in candidates.enumerated() where token.count <= scalars.count - i {
                if let b = best, candidates[b].count >= token.count { continue }
                if scalars[i..<(i + token.count)].elementsEqual(token) { best = id }
            }
            guard let best else { return nil }
            ids.append(best)
            i += candidates[best].count
        }
        return ids
    }
}

#if TXW_FUZZING
/// The target of this process, from `TXW_FUZZ_TARGET`.
let fuzzTarget: FuzzTarget = {
    guard let target = FuzzTarget.fromEnvironment() else {
        fatalError("txw-fuzz: TXW_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))")
    }
    return target
}()

/// The libFuzzer entry point (built by tools/fuzz with -sanitize=fuzzer,address).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    exercise(Array(UnsafeBufferPointer(start: data, count: size)), target: fuzzTarget)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands the
/// command line to libFuzzer's driver.
@_cdecl("txw_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = fuzzTarget
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}
#else
/// Without libFuzzer: runs the files given as arguments (a corpus, or a
/// crash input to reproduce) through the same code:
/// `txw-fuzz [container|resume|tokenizer] FILE...` (the target may also come
/// from `TXW_FUZZ_TARGET`; default container).
@main
struct CorpusRunner {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard var target = FuzzTarget.fromEnvironment() else {
            fail("TXW_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let first = arguments.first, let named = FuzzTarget(rawValue: first) {
            target = named
            arguments.removeFirst()
        }
        var count = 0
        for path in arguments {
            guard let file = try? MappedFile(path: path) else {
                warn("cannot read \(path)")
                continue
            }
            exercise([UInt8](file.bytes), target: target)
            count += 1
        }
        print("ran \(count) inputs (\(target.rawValue))")
    }

    static func warn(_ text: String) {
        let message = Array("txw-fuzz: \(text)\n".utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func fail(_ text: String) -> Never {
        warn(text)
        exit(64)
    }
}
#endif
