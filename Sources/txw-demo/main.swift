import Foundation
import TXWKernels

// A kernel demo until the tools exist: a random toy model in memory, its
// logits, loss and a sampled continuation, all through the public kernels.
// Usage: txw-demo [seed]

func randomTensor(_ shape: [Int], scale: Double, rng: inout NumpyRandom) throws -> Tensor<Double> {
    let count = try Tensor<Double>.elementCount(of: shape, what: "demo tensor")
    // Uniform in [-scale·√3, scale·√3): standard deviation `scale`.
    let values = (0..<count).map { _ in (rng.random() * 2 - 1) * scale * 3.0.squareRoot() }
    return try Tensor(shape: shape, scalars: values)
}

do {
    let arguments = CommandLine.arguments.dropFirst()
    guard arguments.count <= 1, let seed = UInt64(arguments.first ?? "42") else {
        printError("usage: txw-demo [seed]   (seed: an integer in 0...\(UInt64.max))")
        exit(2)
    }
    let h = Hyperparameters(vocabSize: 16, dModel: 32, nHead: 4, dHead: 8, dMLP: 64, nBlock: 2)
    var rng = NumpyRandom(seed: seed)
    let W_E = try randomTensor([h.vocabSize, h.dModel], scale: 0.3, rng: &rng)
    var blocks: [BlockWeights<Double>] = []
    for _ in 0..<h.nBlock {
        var fields: [String: Tensor<Double>] = [:]
        for (name, shape) in h.blockShapes() {
            fields[name] = try randomTensor(shape, scale: 1 / Double(shape[0]).squareRoot(), rng: &rng)
        }
        blocks.append(try BlockWeights(fields: fields))
    }
    let model = try TransformerWeights(hyperparameters: h, W_E: W_E, blocks: blocks)
    let prompt = [1, 2, 3, 4]
    let logits = try model.logits(for: prompt)
    let loss = try model.loss(for: prompt)
    let tokens = try TopKSampler(k: 5, temperature: 1, seed: seed).sample(model, prompt: prompt, count: 16)
    print("model: V=\(h.vocabSize) d_model=\(h.dModel) n_head=\(h.nHead) d_head=\(h.dHead) d_mlp=\(h.dMLP) n_block=\(h.nBlock) (\(h.parameterCount) parameters, float64)")
    print("prompt: \(prompt.map(String.init).joined(separator: " "))")
    print("last-position logits: \(logits.scalars.suffix(h.vocabSize).map { String(format4($0)) }.joined(separator: " "))")
    print("loss: \(loss)")
    print("sampled (k=5, t=1, seed=\(seed)): \(tokens.map(String.init).joined(separator: " "))")
} catch {
    printError("txw-demo: \(error)")
    exit(1)
}

func format4(_ x: Double) -> String {
    let scaled = (x * 10000).rounded() / 10000
    return "\(scaled)"
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
