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
    /// errors about its bytes are prefixed with the path. A stream (`-` for
    /// standard input, a FIFO, a character device: `InputFile.isStream`) is
    /// read into memory first (`readStream`), then checked the same way.
    package static func open(_ path: String, budget: MemoryBudget) throws -> TXWReader {
        if InputFile.isStream(path) {
            let (bytes, left) = try readStream(path, budget: budget)
            let name = InputFile.name(path)
            do {
                return try TXWReader(bytes: bytes, name: name, options: TXWReader.Options(memoryBudget: left))
            } catch let error as TXWFormatError {
                if case .badMagic = error {
                    // Another format: say what it is and which command reads it.
                    if let foreign = ForeignFile.identify(Array(bytes.prefix(ForeignFile.prefixBytes))) {
                        throw ToolFailure("\(name): \(foreign.message)")
                    }
                    throw ToolFailure("\(name): \(error.detail)")
                }
                throw ToolFailure(path: name, error)
            }
        }
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

    /// The bytes of the stream `path` (`-`, a FIFO, a character device) as
    /// a model file, and what is left of `budget` while they are held.
    ///
    /// The bytes are held up to three times for a moment (as read, with the
    /// capacity the read grew to, and the reader's or the importer's copy),
    /// so the stream is refused as soon as three times its size passes
    /// `budget` (`InputFile.read`: chunk by chunk, never read
    /// unbounded); once the copy is made, it alone is held: the budget left
    /// for the rest of the run is `budget` less the stream's size. Standard
    /// input that is a terminal is refused: a model is binary.
    package static func readStream(_ path: String, budget: MemoryBudget) throws -> (bytes: [UInt8], left: MemoryBudget) {
        let name = InputFile.name(path)
        if InputFile.isStandardInput(path) && Console.stdinIsTerminal {
            throw ToolFailure("standard input is a terminal; pipe or redirect a model file into it")
        }
        let bytes = try InputFile.read(path, maxBytes: .max) { size in
            try budget.check(MemoryBudget.bytes(count: size, size: 3),
                             for: "reading \(Formatting.name(name)) (\(Formatting.grouped(size)) bytes so far, held up to three times while it is checked)")
        }
        return (bytes, MemoryBudget(bytes: budget.bytes - bytes.count))
    }

    /// Loads the model at `path` in precision `T`, within `budget`.
    package static func load<T: KernelScalar>(_ path: String, as: T.Type, budget: MemoryBudget) throws -> LoadedModel<T> {
        try loadIdentified(path, as: T.self, budget: budget).model
    }

    /// `load`, with the file's `header_checksum` (`TXWReader.headerChecksum`), which identifies it.
    package static func loadIdentified<T: KernelScalar>(
        _ path: String, as: T.Type, budget: MemoryBudget
    ) throws -> (model: LoadedModel<T>, headerChecksum: UInt64) {
        let reader = try open(path, budget: budget)
        do {
            return (try ModelFile.load(reader, as: T.self), reader.headerChecksum)
        } catch let error as TXWFormatError {
            throw ToolFailure(path: InputFile.name(path), error)
        } catch let error as ModelError {
            throw ToolFailure(path: InputFile.name(path), error)
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
    /// `InputFile.defaultMaxBytes`; or a stream: `-`, a FIFO, a character
    /// device), refused before it is read (a stream: as soon as it grows too
    /// large) when its size times `bytesPerByte` — what reading and
    /// tokenizing it hold, by default `textBytesFactor` — exceeds `budget`.
    package static func readTextFile(_ path: String, budget: MemoryBudget, bytesPerByte: Int = textBytesFactor) throws -> [UInt8] {
        try InputFile.read(path) { size in
            try budget.check(MemoryBudget.bytes(count: size, size: bytesPerByte),
                             for: "reading \(Formatting.name(InputFile.name(path))) (\(Formatting.grouped(size)) bytes)")
        }
    }
}
