import TXWFormat
import TXWKernels
import TXWModel

/// Opening files for the tools, with the path in every message.
package enum ModelInput {
    /// Opens `path` as a txw container; errors about its bytes are prefixed with the path.
    package static func open(_ path: String) throws -> TXWReader {
        do {
            return try TXWReader(path: path)
        } catch let error as TXWFormatError {
            switch error {
            case .io, .notRegularFile: throw error  // the message names the path already
            default: throw ToolFailure(path: path, error)
            }
        }
    }

    /// Loads the model at `path` in precision `T`.
    package static func load<T: KernelScalar>(_ path: String, as: T.Type) throws -> LoadedModel<T> {
        let reader = try open(path)
        do {
            return try ModelFile.load(reader, as: T.self)
        } catch let error as TXWFormatError {
            throw ToolFailure(path: path, error)
        } catch let error as ModelError {
            throw ToolFailure(path: path, error)
        }
    }
}
