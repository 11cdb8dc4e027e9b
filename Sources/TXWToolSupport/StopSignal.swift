#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGINT and SIGTERM as a request to stop at the next safe point (txw-train:
/// between optimizer steps), and a second one as "stop now".
///
/// The only signal handling in the package, and its unsafe part: the
/// handler runs at an arbitrary instruction of an arbitrary thread, so it
/// does only what is async-signal-safe. It stores the signal number in an
/// atomic (lock-free, initialized before the handler is installed, so no
/// lazy global initialization can run inside the handler). A second
/// SIGINT or SIGTERM ends the process at once, killed by that signal
/// (`sigaction` back to the default action, then `raise`: both
/// async-signal-safe, POSIX.1) — unless it arrives while a checkpoint is
/// being written (`whileWriting`): it is then recorded, and acted on as
/// soon as the write is done, so the two files of a checkpoint are never
/// left half replaced. The handler is installed whatever the inherited
/// action (also over an inherited "ignore"), and both signals are unblocked
/// in the calling thread. `SA_RESTART` resumes system calls the signal
/// interrupted, so reads, writes and waits elsewhere never see `EINTR` from it.
///
/// A stop ends with `terminate(by:)`: the process dies of the signal it
/// received, after the tool's last line, so a calling shell sees what it
/// sees for any program killed by Ctrl-C (status 130 or 143, and a script
/// stops too).
package enum StopSignal {
    /// The first signal received since `install()`, 0 while none.
    private static let received = Atomic<Int32>(0)
    /// 1 while a checkpoint is being written (`whileWriting`).
    private static let writing = Atomic<Int32>(0)
    /// A second signal that arrived while writing, 0 while none.
    private static let deferred = Atomic<Int32>(0)

    /// The signals handled.
    package static let signals: [Int32] = [SIGINT, SIGTERM]

    /// Installs the handler for SIGINT and SIGTERM (call once, before the
    /// work that checks `requested`).
    package static func install() {
        // Touch the atomic first: a global is initialized on first use, and
        // that must not happen inside the handler.
        received.store(0, ordering: .sequentiallyConsistent)
        writing.store(0, ordering: .sequentiallyConsistent)
        deferred.store(0, ordering: .sequentiallyConsistent)
        for signal in signals { setAction(signal, handler: handle) }
        // A blocked signal is inherited from the parent (a thread of a
        // process that spawned this one may block them): unblocked here, so
        // the handler is reached at all.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The first SIGINT or SIGTERM received since `install()`, or nil.
    package static var requested: Int32? {
        let value = received.load(ordering: .sequentiallyConsistent)
        return value == 0 ? nil : value
    }

    /// The exit status a shell reports for a process killed by `signal`:
    /// 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    package static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    /// Runs `body` (a checkpoint's writes) with a second signal held back
    /// until it returns; then acts on one that arrived meanwhile.
    package static func whileWriting<R>(_ body: () throws -> R) rethrows -> R {
        writing.store(1, ordering: .sequentiallyConsistent)
        defer {
            writing.store(0, ordering: .sequentiallyConsistent)
            let second = deferred.load(ordering: .sequentiallyConsistent)
            if second != 0 { terminate(by: second) }
        }
        return try body()
    }

    /// Ends the process killed by `signal`: its default action restored,
    /// unblocked, raised. Should it survive (a signal whose default is not
    /// to terminate), it exits with `exitStatus(for:)`.
    package static func terminate(by signal: Int32) -> Never {
        setAction(signal, handler: nil)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
        _ = raise(signal)
        exit(exitStatus(for: signal))
    }

    /// The handler: records the first signal; a second one ends the process
    /// at once, or once the checkpoint being written is complete.
    private static let handle: @convention(c) (Int32) -> Void = { signal in
        if received.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent).exchanged {
            return
        }
        if writing.load(ordering: .sequentiallyConsistent) == 1 {
            _ = deferred.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent)
            return
        }
        // Killed by the second signal: the default action, raised again
        // (pending until this handler returns, as the signal is blocked
        // while it runs). No allocation, only async-signal-safe calls.
        setAction(signal, handler: nil)
        _ = raise(signal)
    }

    /// `sigaction(signal)` with `handler` (nil: the default action), no
    /// signals blocked while it runs besides `signal` itself, and `SA_RESTART`.
    private static func setAction(_ signal: Int32, handler: (@convention(c) (Int32) -> Void)?) {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handler ?? SIG_DFL
        #else
        action.__sigaction_u.__sa_handler = handler ?? SIG_DFL
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = handler == nil ? 0 : SA_RESTART
        _ = sigaction(signal, &action, nil)
    }
}

/// SIGPIPE ignored, so that a write to a closed pipe fails with `EPIPE`:
/// `Console.out`/`Console.write` then throw, and the tool ends with one line
/// on stderr (`TOOL: cannot write to standard output (broken pipe)`) and exit
/// status 1 — never killed silently, never exit 0 with a lost result.
package enum BrokenPipe {
    /// Ignores SIGPIPE for this process (`ToolMain.main` calls it first).
    package static func reportAsWriteError() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
