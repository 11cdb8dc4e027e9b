/// Pointer types `UnsafeShared` may carry: plain addresses, which own nothing.
package protocol UnsafeAddress {}

extension UnsafePointer: UnsafeAddress {}
extension UnsafeMutablePointer: UnsafeAddress {}
extension UnsafeRawPointer: UnsafeAddress {}
extension UnsafeMutableRawPointer: UnsafeAddress {}
extension UnsafeBufferPointer: UnsafeAddress {}
extension UnsafeMutableBufferPointer: UnsafeAddress {}
extension UnsafeRawBufferPointer: UnsafeAddress {}
extension UnsafeMutableRawBufferPointer: UnsafeAddress {}
extension OpaquePointer: UnsafeAddress {}

/// The one explicit escape for memory that several threads share: an
/// address that may cross into a `@Sendable` closure (a part of a
/// `ThreadPool` job) or be held by a `Sendable` type.
///
/// Swift's pointers are not `Sendable`, so a part cannot capture one and
/// write through it by accident: it has to be wrapped here first, in plain
/// sight, and every wrapping site says which of the rules below its
/// accesses follow.
///
/// Why `@unchecked Sendable` is sound for this type itself: it holds one
/// address and nothing else (no reference count, no ownership, no cached
/// state), so copying it to another thread copies an integer. What the
/// compiler cannot check is the memory behind the address; that is what the
/// rules govern:
///
/// 1. **Disjoint writes.** Within one `ThreadPool` job, each byte is written
///    by at most one part and read by no other part of that job. The pool
///    publishes the job with a release store that workers acquire before
///    they run a part, and `run` returns only after acquiring every part's
///    completion: what the caller wrote before the job is visible to every
///    part, and what any part wrote is visible to the caller after it.
/// 2. **Read-only.** Memory no thread writes while it is shared (a read-only
///    mapping, weights pinned for the duration of the job).
/// 3. **One owner at a time.** State handed to exactly one part of a job
///    (a decoder's scratch buffer and zstd context), never used by two
///    threads at once; between jobs the pool's ordering (rule 1) hands it on.
package struct UnsafeShared<Pointer: UnsafeAddress>: @unchecked Sendable {
    package let pointer: Pointer

    package init(_ pointer: Pointer) { self.pointer = pointer }
}
