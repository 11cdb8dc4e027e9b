#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(part)` for part in 0..<parts on `parts` threads: the caller
/// runs part 0 and a plain POSIX thread each other part, all joined before
/// returning. The reader uses it for its few, long decoding parts: each
/// thread made here is gone when the call returns, so a load leaves no
/// worker threads, stacks or allocator arenas behind (libdispatch's pool
/// made a load's peak memory vary by megabytes from run to run).
/// If a thread cannot be started, its part runs on the caller.
enum ThreadTeam {
    static func run(parts: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        var threads: [pthread_t] = []
        var inline: [Int] = []
        for part in 1..<parts {
            let context = Unmanaged.passRetained(Part(part: part, body: body)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let part = Unmanaged<Part>.fromOpaque(raw).takeRetainedValue()
                part.body(part.part)
                return nil
            }, context)
            if status == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Part>.fromOpaque(context).release()
                inline.append(part)
            }
        }
        body(0)
        for part in inline { body(part) }
        for thread in threads { pthread_join(thread, nil) }
    }

    private final class Part: @unchecked Sendable {
        let part: Int
        let body: @Sendable (Int) -> Void
        init(part: Int, body: @escaping @Sendable (Int) -> Void) { (self.part, self.body) = (part, body) }
    }
}
