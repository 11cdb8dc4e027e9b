#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// errno → `TXWFormatError.io` with the C library's message.
enum SystemCall {
    static func error(path: String, operation: String, code: Int32 = errno) -> TXWFormatError {
        .io(path: path, operation: operation, message: String(cString: strerror(code)))
    }
}
