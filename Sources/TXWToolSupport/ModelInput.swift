#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TXWFormat
import TXWKernels
import TXWModel

/// Opening files for the tools, with the path in every message.
package enum ModelInput {
    /// Opens `path` as a txw container whose reads are bounded by `budget`;
    /// errors about its bytes are prefixed with the path.
    package static func open(_ path: String, budget: MemoryBudget) throws -> TXWReader {
        do {
            return try TXWReader(path: path, options: TXWReader.Options(memoryBudget: budget))
        } catch let error as TXWFormatError {
            switch error {
            case .io, .notRegularFile: throw error  // the message names the path already
            default: throw ToolFailure(path: path, error)
            }
        }
    }

    /// Loads the model at `path` in precision `T`, within `budget`.
    package static func load<T: KernelScalar>(_ path: String, as: T.Type, budget: MemoryBudget) throws -> LoadedModel<T> {
        let reader = try open(path, budget: budget)
        do {
            return try ModelFile.load(reader, as: T.self)
        } catch let error as TXWFormatError {
            throw ToolFailure(path: path, error)
        } catch let error as ModelError {
            throw ToolFailure(path: path, error)
        }
    }

    /// Bytes per byte of a text file while it is read and tokenized: the
    /// bytes, the string, its scalars, the automaton's matches and the ids.
    package static let textBytesFactor = 24

    /// Refuses, before it is read, a text or token file whose size times
    /// `textBytesFactor` exceeds `budget` (a missing file is left to the reader).
    package static func checkTextFile(_ path: String, budget: MemoryBudget) throws {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else { return }
        try budget.check(MemoryBudget.bytes(count: size, size: textBytesFactor),
                         for: "\(path): reading and tokenizing its \(Formatting.grouped(size)) bytes")
    }
}
