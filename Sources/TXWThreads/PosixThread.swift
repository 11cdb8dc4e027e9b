#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place TXWThreads creates a POSIX thread (the pool's workers and
/// the teams' members): `body` runs on a new thread, which the caller joins
/// or detaches. Nil when `pthread_create` fails; `body` is then released
/// without running.
///
/// `body` is `@Sendable`, so what it captures may cross to the new thread;
/// the box carrying it through `pthread_create`'s context pointer is retained
/// once here and released once, by the thread that consumes it.
func startPosixThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    #else
    var thread = pthread_t()
    #endif
    let status = pthread_create(&thread, nil, { raw in
        // Optional on Linux, not on Darwin: one spelling for both.
        let raw: UnsafeMutableRawPointer? = raw
        guard let raw else { return nil }
        Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, context)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return nil
    }
    return thread
}
