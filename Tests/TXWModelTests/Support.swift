import Foundation
import TXWFormat
import TXWKernels
@testable import TXWModel

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "txw-model-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A small model with values from a 64-bit LCG (deterministic, no RNG dependency).
func smallModel(_ h: Hyperparameters, seed: UInt64 = 1) throws -> TransformerWeights<Double> {
    var state = seed
    func values(_ shape: [Int]) throws -> Tensor<Double> {
        let count = shape.reduce(1, *)
        let v = (0..<count).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 1_000_000) / 2_000_000
        }
        return try Tensor(shape: shape, scalars: v)
    }
    var blocks: [BlockWeights<Double>] = []
    for _ in 0..<h.nBlock {
        var fields: [String: Tensor<Double>] = [:]
        for (name, shape) in h.blockShapes() { fields[name] = try values(shape) }
        blocks.append(try BlockWeights(fields: fields))
    }
    return try TransformerWeights(hyperparameters: h, W_E: values([h.vocabSize, h.dModel]), blocks: blocks)
}

/// Runs a command; returns its exit status and combined output.
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
