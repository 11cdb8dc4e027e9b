// Load a model, run it, sample from it and save it again, through txw's
// public API only. `bash tools/test` builds and runs this against the bundled
// trained sample; every step checks its result and a failure exits 1.
//
//   swift run --package-path Examples txw-example samples/reversal.txw
import TXWFormat
import TXWKernels
import TXWModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ExampleFailure: Error, CustomStringConvertible {
    let description: String
}

/// One line on standard error (the C `stderr` global is not concurrency-safe in Swift 6).
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ExampleFailure(description: message()) }
}

func example(modelPath: String, scratch: String) throws {
    // 1. Load: every checksum verified, weights in the compute precision.
    let model = try ModelFile.load(path: modelPath, as: Double.self)
    let h = model.hyperparameters
    guard let vocabulary = model.vocabulary else {
        throw ExampleFailure(description: "\(modelPath): the example needs a model with a vocabulary")
    }
    print("loaded \(modelPath): vocab \(h.vocabSize), d_model \(h.dModel), \(h.nBlock) blocks, \(h.nHead) heads")

    // 2. Run: logits of a prompt and the notebook's loss on it.
    let prompt = try vocabulary.encode("acdfb>")
    let logits = try model.weights.logits(for: prompt)
    try check(logits.shape == [prompt.count, h.vocabSize], "logits shape \(logits.shape)")
    let loss = try model.weights.loss(for: try vocabulary.encode("acdfb>bfdca"))
    try check(loss.isFinite && loss > 0, "loss \(loss)")
    print("loss on 'acdfb>bfdca': \(loss)")

    // 3. Sample: greedy decoding (k = 1) reverses the string before '>'.
    let sampler = try TopKSampler(k: 1, temperature: 1, seed: 42)
    let answer = try vocabulary.decode(try sampler.sample(model.weights, prompt: prompt, count: 5))
    print("acdfb> → \(answer)")
    try check(answer == "bfdca", "greedy answer '\(answer)', expected 'bfdca'")

    // 4. Save in f64 with user metadata, read it back through the container
    //    API, and check that the weights and the metadata survived.
    try ModelFile.save(
        model.weights, vocabulary: vocabulary, contextLength: 16, metadata: ["example.note": .string("saved by txw-example")],
        dtype: .f64, to: scratch, overwrite: true)
    let reader = try TXWReader(path: scratch)
    try check(reader.verify().isEmpty, "\(scratch) does not verify")
    try check(reader.metadata("example.note") == .string("saved by txw-example"), "metadata lost")
    let reloaded = try ModelFile.load(reader, as: Double.self)
    try check(reloaded.weights == model.weights, "weights changed in the round trip")
    try check(reloaded.contextLength == 16, "context length \(String(describing: reloaded.contextLength)), expected 16")
    print("saved and re-read \(scratch): \(reader.tensors.count) tensors, every checksum verified")
}

let arguments = CommandLine.arguments
guard arguments.count == 2 || arguments.count == 3 else {
    printError("usage: txw-example MODEL.txw [SCRATCH.txw]")
    exit(64)
}
let scratch = arguments.count == 3 ? arguments[2] : "/tmp/txw-example-\(getpid()).txw"
do {
    try example(modelPath: arguments[1], scratch: scratch)
    if arguments.count == 2 { unlink(scratch) }
} catch {
    if arguments.count == 2 { unlink(scratch) }
    printError("txw-example: \(error)")
    exit(1)
}
