#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TXWThreads

/// Whether an `IncrementalDecoder` splits each step across a `ThreadTeam`
/// of `KernelConfiguration.threads` members (Spec/kernels.md, "Performance":
/// sampling). The logits are the same bit for bit either way.
public enum DecodingSplit: Sendable, Hashable {
    /// `team` when the configuration has 2 threads or more and the weights a
    /// step reads are more than one core's L2 cache but fit in the L3
    /// (`DecodingTeam.pays`); else `serial`. The environment variable
    /// TXW_DECODING_SPLIT (`team` or `serial`) overrides the rule, for
    /// measuring a CPU.
    case automatic
    /// One thread per step (products of the large toy's size still split
    /// each across the shared pool).
    case serial
    /// A team of `threads` members, each owning a fixed share of every
    /// weight matrix's columns (a single thread, or more than 64 blocks, runs `serial`).
    case team
}

/// A decoding step split across the members of a `ThreadTeam`: each member
/// owns whole heads (their columns of `[W_Q | W_K | W_V]` and their part of
/// the key/value cache) and a fixed range of the columns of `W_O`, `W_1`,
/// `W_2` and the unembedding, the same every step, so each core keeps
/// reading its own share of the weights. The members meet only where the
/// math needs a whole vector, at `ThreadTeam`'s barrier (no pool dispatch):
/// per block after attention (W_O needs every head's context), after W_O's
/// residual (rmsnorm needs all of d_model), after W_1 and GELU (W_2 needs the
/// whole hidden row) and after W_2's residual (the next block's rmsnorm);
/// then the start and end of the step (before sampling) — 4·n_block + 2
/// meetings per token (18 for the standard toy). Every member computes the
/// rmsnorm of the whole row itself (d_model values) rather than meet for it.
///
/// Each output element is the same sum in the same order as the serial step
/// (a column slice of a one-row product is those columns' sums: `Gemm.serial`
/// on `b + begin`, ldb unchanged), so the logits are bit-identical.
final class DecodingTeam<Scalar: KernelScalar> {
    let team: ThreadTeam
    let configuration: KernelConfiguration
    private let h: Hyperparameters
    /// Scratch, 64-byte aligned, each buffer on its own cache lines: shared
    /// x (d), qkv (3·hd), context (hd), hidden (d_mlp), out (d), then per
    /// member normed (d), a flag and a score row (capacity).
    private var scratch: UnsafeMutableRawPointer?
    private var capacity = 0
    private var offsets = Offsets()

    struct Offsets {
        var x = 0, qkv = 0, context = 0, hidden = 0, out = 0, member = 0, memberBytes = 0
        var normed = 0, flag = 0, row = 0
    }

    /// The most blocks a team runs (more: serial steps). The step holds the
    /// address of every weight matrix, taken in nested
    /// `withUnsafeBufferPointer` calls, 6 per block, on the caller's stack.
    static var maxBlocks: Int { 64 }

    /// Column units of a member's share: 16 elements (one or two cache
    /// lines), so no two members write the same line.
    static var unit: Int { 16 }

    /// A team of `threads` (≥ 2) members for `h`, or nil when its threads cannot be started.
    init?(_ h: Hyperparameters, threads: Int, configuration: KernelConfiguration) {
        guard let team = ThreadTeam(size: threads) else { return nil }
        self.team = team
        self.h = h
        self.configuration = configuration
    }

    deinit { scratch?.deallocate() }

    /// The rule of `DecodingSplit.automatic`: the weights a step reads (every
    /// block's products and the unembedding) are more than one core's L2
    /// cache but at most the last-level cache (L3), so they stay in the
    /// caches from token to token, and a step is long enough for its
    /// 4·n_block + 2 meetings (cache sizes from `sysconf`; unknown: no).
    /// Measured on the AMD EPYC (2 cores, 512 KiB L2 each, 32 MiB L3; quiet
    /// machine, serial and team alternated, Spec/kernels.md "Performance"):
    /// the standard toy 1.55× in f32 (3.4 MB) and 1.30× in f64 (6.8 MB); the
    /// large toy (beyond L3) 0.96×, so it stays serial; within one core's L2
    /// the meetings cost more than the split saves. On a machine whose other
    /// processes keep the cores busy a team waits for descheduled members
    /// (measured 5–30× slower): the decoder then times its steps and falls
    /// back to one thread (`DecodingSplitChooser`); `TXW_DECODING_SPLIT=serial`
    /// or one thread turns the team off from the start.
    static func pays(_ h: Hyperparameters, threads: Int) -> Bool {
        guard threads >= 2 else { return false }
        let (l2, l3) = (l2Bytes, l3Bytes)
        guard l2 > 0, l3 > 0 else { return false }
        let hd = Double(h.nHead * h.dHead), d = Double(h.dModel)
        let weights = (Double(h.nBlock) * (d * 4 * hd + 2 * d * Double(h.dMLP)) + d * Double(h.vocabSize))
            * Double(MemoryLayout<Scalar>.size)
        return weights > Double(l2) && weights <= Double(l3)
    }

    /// The last-level (L3) cache in bytes (0 when unknown).
    static var l3Bytes: Int {
        #if os(Linux)
        return max(0, sysconf(Int32(_SC_LEVEL3_CACHE_SIZE)))
        #else
        return 0
        #endif
    }

    /// One core's L2 cache in bytes (0 when unknown).
    static var l2Bytes: Int {
        #if os(Linux)
        return max(0, sysconf(Int32(_SC_LEVEL2_CACHE_SIZE)))
        #else
        return 0
        #endif
    }

    /// The environment's override of `DecodingSplit.automatic` (TXW_DECODING_SPLIT), if any.
    static var environmentSplit: DecodingSplit? {
        guard let raw = getenv("TXW_DECODING_SPLIT") else { return nil }
        switch String(cString: raw) {
        case "team": return .team
        case "serial": return .serial
        default: return nil
        }
    }

    /// Members' shares: `[n·member/T, n·(member+1)/T)` of `n` items.
    static func share(_ n: Int, member: Int, of members: Int) -> Range<Int> {
        (n * member / members)..<(n * (member + 1) / members)
    }

    /// A member's columns of `n`, in whole `unit`s.
    static func columns(_ n: Int, member: Int, of members: Int) -> Range<Int> {
        let units = share((n + unit - 1) / unit, member: member, of: members)
        return min(units.lowerBound * unit, n)..<min(units.upperBound * unit, n)
    }

    /// Scratch for rows of `capacity` positions (reallocated when it grows;
    /// called between steps, when no member runs).
    private func reserve(capacity: Int) {
        guard capacity > self.capacity || scratch == nil else { return }
        let s = MemoryLayout<Scalar>.stride
        func lines(_ count: Int) -> Int { (count * s + 63) / 64 * 64 }
        let d = h.dModel, hd = h.nHead * h.dHead
        var o = Offsets()
        o.x = 0
        o.qkv = o.x + lines(d)
        o.context = o.qkv + lines(3 * hd)
        o.hidden = o.context + lines(hd)
        o.out = o.hidden + lines(h.dMLP)
        o.member = o.out + lines(d)
        o.normed = 0
        o.flag = lines(d)
        o.row = o.flag + 64
        o.memberBytes = o.row + lines(capacity)
        scratch?.deallocate()
        scratch = UnsafeMutableRawPointer.allocate(byteCount: o.member + team.size * o.memberBytes, alignment: 64)
        offsets = o
        self.capacity = capacity
    }

    /// The bytes of scratch for `threads` members and rows of `capacity` positions (nil on overflow).
    static func scratchBytes(_ h: Hyperparameters, threads: Int, capacity: Int, scalarBytes s: Int) -> Int? {
        let hd = CheckedBytes.product(h.dHead, h.nHead)
        return CheckedBytes.sum([
            CheckedBytes.product(h.dModel, 2 * s),
            hd.flatMap { CheckedBytes.product($0, 4 * s) },
            CheckedBytes.product(h.dMLP, s),
            CheckedBytes.product(threads, 64 * 8),
            CheckedBytes.sum([h.dModel, capacity]).flatMap { CheckedBytes.product($0, s, threads) },
        ])
    }

    /// The logits of the row `x` (d_model, the embedding plus position) at
    /// `position`, extending the cache (`keys`, `values`: per block, per head,
    /// keys transposed (d_head, capacity) and values (capacity, d_head)).
    /// Returns false in `matches` when a row's masked weight is not 0 (see
    /// `IncrementalDecoder`), checked only while `check` is true. Nil when
    /// the team is busy with another step (a copy of the decoder on another
    /// thread): the caller then runs the step serially.
    func step(
        x input: UnsafePointer<Scalar>, position: Int, capacity cap: Int, check: Bool,
        keys: UnsafeMutablePointer<Scalar>, values: UnsafeMutablePointer<Scalar>,
        weights: TransformerWeights<Scalar>, logits: UnsafeMutablePointer<Scalar>
    ) -> Bool? {
        reserve(capacity: cap)
        let h = self.h, o = offsets, members = team.size
        let base = scratch!
        let (d, dHead, nHead, nBlock, dMLP, V) = (h.dModel, h.dHead, h.nHead, h.nBlock, h.dMLP, h.vocabSize)
        let hd = dHead * nHead
        let visible = position + 1
        let epsilon = Scalar(h.constants.rmsnormEpsilon)
        let mask = Scalar(h.constants.maskValue)
        let scale = Scalar(Double(dHead).squareRoot())
        let x = (base + o.x).assumingMemoryBound(to: Scalar.self)
        x.update(from: input, count: d)
        for member in 0..<members {
            (base + o.member + member * o.memberBytes + o.flag).assumingMemoryBound(to: Int32.self).pointee = 0
        }
        let configuration = self.configuration
        let team = self.team
        var done = false
        Self.withWeightPointers(weights) { pointers in
            // UnsafeShared: the weights are only read while the team runs (rule 2);
            // every other buffer is written in phases between two meetings, each
            // element by one member (its heads, its columns, its own scratch), and
            // read by others only after the next meeting (rule 1).
            let shared = UnsafeShared(base), cache = (UnsafeShared(keys), UnsafeShared(values))
            let out = UnsafeShared(logits), w = UnsafeShared(pointers)
            done = team.run { member in
                if member != 0 { configuration.install() }
                let base = shared.pointer, w = w.pointer
                func at(_ offset: Int) -> UnsafeMutablePointer<Scalar> { (base + offset).assumingMemoryBound(to: Scalar.self) }
                let x = at(o.x), qkv = at(o.qkv), context = at(o.context), hidden = at(o.hidden), sum = at(o.out)
                let own = o.member + member * o.memberBytes
                let normed = at(own + o.normed), row = at(own + o.row)
                let flag = (base + own + o.flag).assumingMemoryBound(to: Int32.self)
                let heads = Self.share(nHead, member: member, of: members)
                let modelColumns = Self.columns(d, member: member, of: members)
                let hiddenColumns = Self.columns(dMLP, member: member, of: members)
                for b in 0..<nBlock {
                    let p = w + 6 * b
                    Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
                    // This member's heads: their columns of q, k and v.
                    if !heads.isEmpty {
                        let first = heads.lowerBound * dHead, width = heads.count * dHead
                        for part in 0..<3 {
                            Gemm.serial(m: 1, n: width, k: d, a: normed, lda: d, b: p[0] + part * hd + first, ldb: 3 * hd,
                                        c: qkv + part * hd + first, ldc: 3 * hd)
                        }
                    }
                    let (q, k, v) = (qkv, qkv + hd, qkv + 2 * hd)
                    for head in heads {
                        let keysT = cache.0.pointer + ((b * nHead + head) * dHead) * cap   // (d_head, capacity)
                        let vals = cache.1.pointer + ((b * nHead + head) * cap) * dHead    // (capacity, d_head)
                        for j in 0..<dHead {
                            keysT[j * cap + position] = k[head * dHead + j]
                            vals[position * dHead + j] = v[head * dHead + j]
                        }
                        Gemm.serial(m: 1, n: visible, k: dHead, a: q + head * dHead, lda: dHead, b: keysT, ldb: cap, c: row, ldc: visible)
                        if b + 1 < nBlock && check && flag.pointee == 0 {
                            // As IncrementalDecoder.step: the weight of a longer pass's future positions.
                            var largest = row[0]
                            for l in 1..<visible where row[l] > largest { largest = row[l] }
                            let top = Swift.max(largest / scale, mask)
                            var masked = mask - top
                            Gemm.expInPlace(&masked, count: 1)
                            if masked != 0 { flag.pointee = 1 }
                        }
                        Kernels.attentionRow(row, visible: visible, count: visible, width: visible, scale: scale, mask: mask)
                        Gemm.serial(m: 1, n: dHead, k: visible, a: row, lda: visible, b: vals, ldb: dHead, c: context + head * dHead, ldc: hd)
                    }
                    team.meet()   // 1: every head's context
                    let c0 = modelColumns.lowerBound, cn = modelColumns.count
                    if cn > 0 {
                        Gemm.serial(m: 1, n: cn, k: hd, a: context, lda: hd, b: p[1] + c0, ldb: d, c: sum + c0, ldc: d)
                        for i in modelColumns { x[i] = x[i] + sum[i] }
                    }
                    team.meet()   // 2: x after attention
                    Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
                    let f0 = hiddenColumns.lowerBound, fn = hiddenColumns.count
                    if fn > 0 {
                        Gemm.serial(m: 1, n: fn, k: d, a: normed, lda: d, b: p[2] + f0, ldb: dMLP, c: hidden + f0, ldc: dMLP)
                        let b1 = p[3]
                        for j in hiddenColumns { hidden[j] += b1[j] }
                        Gemm.geluInPlace(hidden + f0, count: fn)
                    }
                    team.meet()   // 3: the whole hidden row
                    if cn > 0 {
                        Gemm.serial(m: 1, n: cn, k: dMLP, a: hidden, lda: dMLP, b: p[4] + c0, ldb: d, c: sum + c0, ldc: d)
                        let b2 = p[5]
                        for i in modelColumns { sum[i] += b2[i] }
                        for i in modelColumns { x[i] = x[i] + sum[i] }
                    }
                    team.meet()   // 4: x after the block
                }
                let vocabulary = Self.columns(V, member: member, of: members)
                if !vocabulary.isEmpty {
                    Gemm.serial(m: 1, n: vocabulary.count, k: d, a: x, lda: d, b: w[6 * nBlock] + vocabulary.lowerBound, ldb: V,
                                c: out.pointer + vocabulary.lowerBound, ldc: V)
                }
            }
        }
        guard done else { return nil }
        for member in 0..<members
        where (base + o.member + member * o.memberBytes + o.flag).assumingMemoryBound(to: Int32.self).pointee != 0 {
            return false
        }
        return true
    }

    /// Calls `body` with the addresses of every block's `[W_Q|W_K|W_V]`,
    /// W_O, W_1, b_1, W_2, b_2, 6 per block, then the unembedding's, valid
    /// for the call.
    private static func withWeightPointers<R>(
        _ weights: TransformerWeights<Scalar>, _ body: (UnsafePointer<UnsafePointer<Scalar>>) -> R
    ) -> R {
        var arrays: [[Scalar]] = []
        arrays.reserveCapacity(weights.blocks.count * 6 + 1)
        for (b, block) in weights.blocks.enumerated() {
            arrays += [weights.fusedQKV[b], block.W_O.scalars, block.W_1.scalars, block.b_1.scalars,
                       block.W_2.scalars, block.b_2.scalars]
        }
        arrays.append(weights.unembedding)
        var pointers: [UnsafePointer<Scalar>] = []
        pointers.reserveCapacity(arrays.count)
        func nest(_ i: Int) -> R {
            guard i < arrays.count else { return pointers.withUnsafeBufferPointer { body($0.baseAddress!) } }
            return arrays[i].withUnsafeBufferPointer { buffer in
                pointers.append(buffer.baseAddress!)
                return nest(i + 1)
            }
        }
        return nest(0)
    }
}

/// Picks, step by step, between a decoder's team and one thread from the
/// steps' measured times (`DecodingSplit.automatic` only; the logits are the
/// same bits either way).
///
/// The rule that starts a team (`DecodingTeam.pays`) holds on a quiet
/// machine; when other processes keep the cores busy, a member waits at
/// every meeting for one that is descheduled and a team step takes 5–30×
/// a serial one (measured on the AMD EPYC). So the decoder times its steps:
/// the first team step (which starts the threads) is not counted, the next
/// is, then one serial step; from then on each step runs the way whose
/// recent steps were faster (moving averages, weight ¼ on the newest), and
/// every `probeInterval` steps one step runs the other way, its time
/// replacing that way's stale figure. A probe that loses doubles the interval (up to
/// `longestInterval`), so a team that keeps waiting costs one slow step in
/// 1024 at most; a probe that wins resets it.
///
/// The decoders of a process share one chooser per `Kind` of step
/// (`shared`): a process sampling many short sequences under load starts
/// each from what the earlier ones measured, instead of paying a team's
/// first steps and the probes again for every sequence, and its probes
/// count across sequences, so the verdict is revisited even when each
/// sequence is shorter than the interval.
package struct DecodingSplitChooser: Sendable, Equatable {
    /// Steps between probes of the way not in use, at first.
    package static let probeInterval = 32
    /// The longest interval between probes.
    package static let longestInterval = 1024
    /// Moving averages of a step's time in seconds, nil until measured.
    package private(set) var teamSeconds: Double?, serialSeconds: Double?
    private var sinceProbe = 0
    private var interval = DecodingSplitChooser.probeInterval
    /// Whether the step being run is a probe.
    private var probing = false

    package init() {}

    /// Whether the next step runs on the team.
    package mutating func next() -> Bool {
        guard let team = teamSeconds else { return true }
        guard let serial = serialSeconds else { return false }
        let teamWins = team <= serial
        sinceProbe += 1
        if sinceProbe >= interval {
            sinceProbe = 0
            probing = true
            return !teamWins
        }
        probing = false
        return teamWins
    }

    /// Records the time of a step run on the team (`team`) or on one thread.
    /// `startedTeam`: the step was a decoder's first on its team, which
    /// starts the team's threads; its time is not counted, and a probe that
    /// ran on it is run again at the next step.
    package mutating func record(team: Bool, seconds: Double, startedTeam: Bool = false) {
        guard seconds.isFinite, seconds >= 0 else { return }
        if startedTeam {
            if probing { sinceProbe = interval }
            return
        }
        let wasTeamWinning = (teamSeconds ?? 0) <= (serialSeconds ?? .infinity)
        // A probe's way has not run for a while: its old figure is stale, the probe replaces it.
        func average(_ old: Double?) -> Double { probing ? seconds : old.map { 0.75 * $0 + 0.25 * seconds } ?? seconds }
        if team {
            teamSeconds = average(teamSeconds)
        } else {
            serialSeconds = average(serialSeconds)
        }
        guard probing, let t = teamSeconds, let s = serialSeconds else { return }
        probing = false
        // The probe ran the losing way: did it change the verdict?
        if (t <= s) == wasTeamWinning {
            interval = min(interval * 2, Self.longestInterval)
        } else {
            interval = Self.probeInterval
        }
    }

    /// Steps between probes now (tests).
    package var currentInterval: Int { interval }

    /// Decoders whose steps cost alike: the model's dimensions, the size of
    /// its scalar and the members of its team.
    package struct Kind: Hashable, Sendable {
        let dimensions: [Int]

        package init(_ h: Hyperparameters, scalarBytes: Int, members: Int) {
            dimensions = [h.vocabSize, h.dModel, h.nHead, h.dHead, h.dMLP, h.nBlock, scalarBytes, members]
        }
    }

    /// The process's choosers, one per kind, each used under the lock (a
    /// step takes tens of microseconds or more; the lock, uncontended, tens
    /// of nanoseconds).
    private static let shared = Mutex<[Kind: DecodingSplitChooser]>([:])

    /// `next()` of the process's chooser for `kind`.
    package static func next(_ kind: Kind) -> Bool {
        shared.withLock { $0[kind, default: DecodingSplitChooser()].next() }
    }

    /// `record(team:seconds:startedTeam:)` on the process's chooser for `kind`.
    package static func record(_ kind: Kind, team: Bool, seconds: Double, startedTeam: Bool) {
        shared.withLock { $0[kind, default: DecodingSplitChooser()].record(team: team, seconds: seconds, startedTeam: startedTeam) }
    }

    /// The process's chooser for `kind` as it stands (tests).
    package static func current(_ kind: Kind) -> DecodingSplitChooser? {
        shared.withLock { $0[kind] }
    }
}
