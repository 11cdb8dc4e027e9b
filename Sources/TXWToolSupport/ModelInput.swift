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
            case .badMagic:
                // Another format: say what it is and which command reads it.
                if let foreign = ForeignFile.identify(path: path) { throw ToolFailure("\(Formatting.name(path)): \(foreign.message)") }
                throw ToolFailure("\(Formatting.name(path)): \(error.detail)")
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

    /// Bytes per byte of a vocabulary file (`--vocab`, `--char-vocab`) while
    /// it is read and built: the text factor, plus the automaton's bound of
    /// 128 bytes per scalar (`Vocabulary.memoryBound`), plus the JSON
    /// decoder's strings.
    package static let vocabularyBytesFactor = 192

    /// The bytes of the text or token file at `path` (`InputFile.read`: a
    /// regular file, opened without blocking, at most
    /// `InputFile.defaultMaxBytes`), refused before it is read when its size
    /// times `bytesPerByte` — what reading and tokenizing it hold, by
    /// default `textBytesFactor` — exceeds `budget`.
    package static func readTextFile(_ path: String, budget: MemoryBudget, bytesPerByte: Int = textBytesFactor) throws -> [UInt8] {
        try InputFile.read(path) { size in
            try budget.check(MemoryBudget.bytes(count: size, size: bytesPerByte),
                             for: "reading \(Formatting.name(path)) (\(Formatting.grouped(size)) bytes)")
        }
    }
}
