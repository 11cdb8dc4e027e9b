#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
import TXWThreads

/// A team's members run each round once, see each other's writes after a
/// meeting, spin or sleep at the barrier, and end with the team.
struct ThreadTeamTests {
    /// Rounds of phases: in each phase every member writes its own slot, then
    /// meets, then checks every slot holds this phase's values.
    @Test(arguments: [(2, ThreadTeam.defaultSpinNanoseconds), (3, ThreadTeam.defaultSpinNanoseconds), (5, 0), (2, 0)])
    func membersSeeEachOthersWritesAfterAMeeting(size: Int, spinNanoseconds: UInt32) throws {
        let team = try #require(ThreadTeam(size: size, spinNanoseconds: spinNanoseconds))
        #expect(team.size == size)
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: size)
        defer { slots.deallocate() }
        slots.initialize(repeating: -1, count: size)
        let wrong = Atomic<Int>(0)
        let ran = Atomic<Int>(0)
        // UnsafeShared rule 1: between two meetings member i writes slot i only,
        // and every member reads the slots only in the other phase.
        let shared = UnsafeShared(slots)
        for round in 0..<50 {
            #expect(team.run { member in
                ran.add(1, ordering: .relaxed)
                for phase in 0..<6 {
                    shared.pointer[member] = round * 100 + phase * 10 + member
                    team.meet()
                    for other in 0..<size where shared.pointer[other] != round * 100 + phase * 10 + other {
                        wrong.add(1, ordering: .relaxed)
                    }
                    team.meet()
                }
            })
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect(ran.load(ordering: .relaxed) == 50 * size)
    }

    /// A round started while one runs (here from inside it) runs nothing.
    @Test func aSecondRoundAtOnceIsRefused() throws {
        let team = try #require(ThreadTeam(size: 2))
        let nested = Atomic<Int>(0)
        #expect(team.run { member in
            if member == 0, !team.run({ _ in nested.add(1, ordering: .relaxed) }) { nested.add(100, ordering: .relaxed) }
        })
        #expect(nested.load(ordering: .relaxed) == 100)
        // The team still works afterwards.
        let ran = Atomic<Int>(0)
        #expect(team.run { _ in ran.add(1, ordering: .relaxed) })
        #expect(ran.load(ordering: .relaxed) == 2)
    }

    @Test func fewerThanTwoMembersIsNoTeam() {
        #expect(ThreadTeam(size: 1) == nil)
        #expect(ThreadTeam(size: 0) == nil)
    }

    #if os(Linux)
    /// The calling thread's id, from /proc/thread-self (a link to "PID/task/TID").
    static func threadID() -> Int? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "/").last.flatMap { Int($0) }
    }

    /// The team's threads exist while it does and are gone (joined) once it is dropped.
    @Test func threadsEndWithTheTeam() throws {
        let pid = getpid()
        /// Runs one round on a team made here (dropped on return); the workers' thread ids.
        func round() throws -> [Int] {
            let ids = Mutex<[Int: Int]>([:])
            let team = try #require(ThreadTeam(size: 3, spinNanoseconds: 0))
            #expect(team.run { member in
                let id = Self.threadID() ?? -1
                ids.withLock { $0[member] = id }
            })
            let members = ids.withLock { $0 }
            #expect(members.count == 3 && members.values.allSatisfy { $0 > 0 })
            #expect(members[0] == Self.threadID())
            let workers = members.filter { $0.key != 0 }.map(\.value)
            for id in workers { #expect(access("/proc/\(pid)/task/\(id)", F_OK) == 0, "thread \(id) runs") }
            return workers
        }
        let workers = try round()
        #expect(workers.count == 2)
        for id in workers { #expect(access("/proc/\(pid)/task/\(id)", F_OK) != 0, "thread \(id) was joined") }
    }
    #endif
}
