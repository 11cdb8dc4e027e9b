import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// errno → `TXWFormatError.io`, keeping the `Errno`.
enum SystemCall {
    /// The error of a failed system call on `path`; `code` defaults to the
    /// calling thread's `errno`, which must be read before any other call.
    static func error(path: String, operation: String, code: Int32 = errno) -> TXWFormatError {
        .io(path: path, operation: operation, errno: Errno(rawValue: code))
    }
}

extension SystemCall {
    /// The result of `body`, a swift-system call, whose failure becomes
    /// `TXWFormatError.io` on `path` (swift-system throws only `Errno`; were
    /// anything else thrown, it would be reported as `EIO`).
    @discardableResult
    static func run<R>(path: String, operation: String, _ body: () throws -> R) throws(TXWFormatError) -> R {
        do {
            return try body()
        } catch {
            throw .io(path: path, operation: operation, errno: error as? Errno ?? .ioError)
        }
    }
}
