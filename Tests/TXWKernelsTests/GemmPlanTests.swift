import Testing
@testable import TXWKernels

/// The GEMM's plan (tile rows, panel width, k, row and column blocks) never
/// changes a result: for f32 and f64, shapes of the toys' real products and
/// odd ones, every plan of a set covering each setting (k blocks smaller than
/// k and not dividing it, row and column blocks of one tile and of odd
/// sizes), each transpose, on 1, 2 and 3 threads — all the bits of one
/// reference plan. The check can fail: a sum split in two halves differs.
struct GemmPlanTests {
    static let plans: [GemmPlan] = {
        var plans: [GemmPlan] = []
        for mr in [1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 16] {
            for nr in [1, 2, 3] {
                let kc = [1, 7, 16, 33, 64, 100, 4096][(mr + nr) % 7]
                let mc = [1, 5, mr, 3 * mr, 40, 4096][(mr * nr) % 6]
                let nc = [1, 9, 24, 64, 100, 4096][(mr + 2 * nr) % 6]
                plans.append(GemmPlan(rowsPerTile: mr, panelVectors: nr, kBlock: kc, rowBlock: mc, columnBlock: nc)!)
            }
        }
        for kc in [1, 2, 3, 5, 17, 31, 64, 1000] {
            plans.append(GemmPlan(rowsPerTile: 6, panelVectors: 2, kBlock: kc, rowBlock: 36, columnBlock: 48)!)
        }
        return plans
    }()

    static let reference = GemmPlan(rowsPerTile: 4, panelVectors: 1, kBlock: 1 << 20, rowBlock: 1 << 20, columnBlock: 1 << 20)!

    func product<T: KernelScalar>(
        _ plan: GemmPlan?, threads: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: [T], b: [T]
    ) -> [UInt64] {
        var c = [T](repeating: .nan, count: m * n)
        KernelConfiguration(threads: threads).applied {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                Gemm.multiply(plan: plan, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              a: ap.baseAddress!, lda: transposeA ? m : k, b: bp.baseAddress!, ldb: transposeB ? k : n,
                              c: cp.baseAddress!, ldc: n)
            }}}
        }
        return c.map(\.bitPattern64)
    }

    func check<T: KernelScalar>(_: T.Type, shapes: [(Int, Int, Int)], plans: [GemmPlan], threads: [Int], transposes: Bool) {
        var rng = NumpyRandom(seed: 11)
        for (m, n, k) in shapes {
            let a = (0..<(m * k)).map { _ in T(rng.random() * 2 - 1) }
            let b = (0..<(k * n)).map { _ in T(rng.random() * 2 - 1) }
            let want = product(Self.reference, threads: 1, transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, b: b)
            // The same products with the operands stored transposed.
            var at = a, bt = b
            for i in 0..<m { for p in 0..<k { at[p * m + i] = a[i * k + p] } }
            for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * n + j] } }
            for plan in plans {
                for t in threads {
                    for (ta, tb) in transposes ? [(false, false), (true, false), (false, true), (true, true)] : [(false, false)] {
                        let got = product(plan, threads: t, transposeA: ta, transposeB: tb, m: m, n: n, k: k,
                                          a: ta ? at : a, b: tb ? bt : b)
                        #expect(got == want, "\(T.self) \(m)×\(k)·\(k)×\(n) plan \(plan) threads \(t) tA \(ta) tB \(tb)")
                    }
                }
            }
        }
    }

    /// Odd shapes against every plan, each transpose, 1/2/3 threads.
    @Test func oddShapesEveryPlan() {
        let shapes = [(1, 37, 11), (7, 50, 70), (30, 45, 33), (61, 70, 129)]
        check(Float.self, shapes: shapes, plans: Self.plans, threads: [1, 2, 3], transposes: true)
        check(Double.self, shapes: shapes, plans: Self.plans, threads: [1, 2, 3], transposes: true)
    }

    /// The toys' products (standard: d 128, MLP 512, V 256; large: d 512, V 4096;
    /// the training step's 1040 rows) against a few plans (debug builds are slow).
    @Test func toyShapes() {
        let plans = [Self.plans[4], Self.plans[17], Self.plans[25], Self.plans[33], GemmPlan.current(for: Float.self)]
        check(Float.self, shapes: [(256, 192, 64), (1040, 256, 64), (1, 4096, 64), (64, 512, 128)], plans: plans,
              threads: [1, 3], transposes: false)
        check(Double.self, shapes: [(256, 192, 64), (1, 256, 128), (48, 128, 512)], plans: plans, threads: [1, 2], transposes: true)
        check(Float.self, shapes: [(512, 1024, 256)], plans: [Self.plans[17], GemmPlan.current(for: Float.self)], threads: [2],
              transposes: false)
    }

    /// B packed once into panels (`PackedMatrix`, the forward's weights) gives
    /// the bits of the reference plan packing B itself: every plan, at each
    /// instruction set, packed from B and from Bᵀ, with A and Aᵀ, shapes of
    /// one row, of fewer rows than the GEMM packs for, and with a last
    /// partial panel. A packing of another panel width than the plan's is
    /// not read (`fits`), and the product falls back to B: the same bits.
    @Test func prepackedPanelsEveryPlan() {
        var rng = NumpyRandom(seed: 21)
        for (m, n, k) in [(1, 37, 11), (5, 40, 70), (30, 45, 33), (61, 70, 129), (24, 16, 1)] {
            let a = (0..<(m * k)).map { _ in Float(rng.random() * 2 - 1) }
            let b = (0..<(k * n)).map { _ in Float(rng.random() * 2 - 1) }
            // Doubles of their own (products of floats would be exact in f64, fused or not).
            let ad = (0..<(m * k)).map { _ in rng.random() * 2 - 1 }
            let bd = (0..<(k * n)).map { _ in rng.random() * 2 - 1 }
            func transposed<T>(_ x: [T], rows: Int, cols: Int) -> [T] {
                var out = x
                for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = x[r * cols + c] } }
                return out
            }
            let (at, bt) = (transposed(a, rows: m, cols: k), transposed(b, rows: k, cols: n))
            let (atd, btd) = (transposed(ad, rows: m, cols: k), transposed(bd, rows: k, cols: n))
            for level in [0, 1, 2] {
                let configuration = KernelConfiguration(threads: 1, instructionSetLevel: level)
                configuration.applied {
                    // The reference at this level: B packed by the product itself.
                    let want = packedProduct(Self.reference, transposeA: false, m: m, n: n, k: k, a: a, packed: nil, b: b)
                    let wantD = packedProduct(Self.reference, transposeA: false, m: m, n: n, k: k, a: ad, packed: nil, b: bd)
                    for vectors in 1...3 {
                        let fromB = PackedMatrix(b, n: n, k: k, panelVectors: vectors)!
                        let fromBT = bt.withUnsafeBufferPointer {
                            PackedMatrix($0.baseAddress!, ldb: k, n: n, k: k, transposed: true, panelVectors: vectors)!
                        }
                        let fromBD = PackedMatrix(bd, n: n, k: k, panelVectors: vectors)!
                        let fromBTD = btd.withUnsafeBufferPointer {
                            PackedMatrix($0.baseAddress!, ldb: k, n: n, k: k, transposed: true, panelVectors: vectors)!
                        }
                        for plan in Self.plans {
                            #expect(fromB.fits(plan) == (plan.panelVectors == vectors))
                            for (packed, transposeA) in [(fromB, false), (fromBT, true)] {
                                let got = packedProduct(plan, transposeA: transposeA, m: m, n: n, k: k,
                                                        a: transposeA ? at : a, packed: packed, b: b)
                                #expect(got == want, "f32 \(m)×\(k)·\(k)×\(n) level \(level) nr \(vectors) plan \(plan) tA \(transposeA)")
                            }
                            for (packed, transposeA) in [(fromBD, false), (fromBTD, true)] {
                                let got = packedProduct(plan, transposeA: transposeA, m: m, n: n, k: k,
                                                        a: transposeA ? atd : ad, packed: packed, b: bd)
                                #expect(got == wantD, "f64 \(m)×\(k)·\(k)×\(n) level \(level) nr \(vectors) plan \(plan) tA \(transposeA)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// `Gemm.serial` with packed panels (and B, row-major k × n, for the fallback).
    func packedProduct<T: KernelScalar>(
        _ plan: GemmPlan, transposeA: Bool, m: Int, n: Int, k: Int, a: [T], packed: PackedMatrix<T>?, b: [T]
    ) -> [UInt64] {
        var c = [T](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            Gemm.serial(plan: plan, transposeA: transposeA, m: m, n: n, k: k, a: ap.baseAddress!, lda: transposeA ? m : k,
                        packed: packed, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
        }}}
        return c.map(\.bitPattern64)
    }

    /// The packed layout is the one documented: panel q holds columns
    /// q·NR …, k rows of NR values, zeros past column n.
    @Test func packedLayout() {
        let (n, k) = (21, 3)
        let b = (0..<(k * n)).map { Double($0 + 1) }
        for level in [0, 1, 2] {
            KernelConfiguration(threads: 1, instructionSetLevel: level).applied {
                let packed = PackedMatrix(b, n: n, k: k, panelVectors: 2)!
                let lanes = (packed.level == 2 ? 64 : packed.level == 1 ? 32 : 16) / 8
                let NR = 2 * lanes
                let panels = (n + NR - 1) / NR
                #expect(packed.panels.count == panels * NR * k)
                for q in 0..<panels {
                    for p in 0..<k {
                        for c in 0..<NR {
                            let j = q * NR + c
                            #expect(packed.panels[q * NR * k + p * NR + c] == (j < n ? b[p * n + j] : 0), "level \(level) q \(q) p \(p) c \(c)")
                        }
                    }
                }
            }
        }
    }

    /// The comparison can fail: the reference plan's element differs from the
    /// same sum taken in another order (two halves of k, then added) for some element.
    @Test func reorderedSumDiffers() {
        var rng = NumpyRandom(seed: 3)
        let (m, n, k) = (8, 16, 64)
        let a = (0..<(m * k)).map { _ in Float(rng.random() * 2 - 1) }
        let b = (0..<(k * n)).map { _ in Float(rng.random() * 2 - 1) }
        let got = product(Self.reference, threads: 1, transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, b: b)
        var differs = 0
        for i in 0..<m {
            for j in 0..<n {
                var first: Float = 0, second: Float = 0
                for p in 0..<(k / 2) { first = first.addingProduct(a[i * k + p], b[p * n + j]) }
                for p in (k / 2)..<k { second = second.addingProduct(a[i * k + p], b[p * n + j]) }
                if (first + second).bitPattern64 != got[i * n + j] { differs += 1 }
            }
        }
        #expect(differs > 0)
    }

    /// Plans out of range are refused; TXW_GEMM's syntax parses strictly.
    @Test func planValidationAndParsing() throws {
        #expect(GemmPlan(rowsPerTile: 0, panelVectors: 2, kBlock: 1, rowBlock: 1, columnBlock: 1) == nil)
        #expect(GemmPlan(rowsPerTile: 17, panelVectors: 2, kBlock: 1, rowBlock: 1, columnBlock: 1) == nil)
        #expect(GemmPlan(rowsPerTile: 4, panelVectors: 4, kBlock: 1, rowBlock: 1, columnBlock: 1) == nil)
        #expect(GemmPlan(rowsPerTile: 4, panelVectors: 2, kBlock: 0, rowBlock: 1, columnBlock: 1) == nil)
        let base = Self.reference
        #expect(try base.parsing("mr=6,kc=128").get() ==
                GemmPlan(rowsPerTile: 6, panelVectors: 1, kBlock: 128, rowBlock: 1 << 20, columnBlock: 1 << 20)!)
        #expect(try base.parsing("nc=96,mc=24,nr=3,kc=7,mr=16").get() ==
                GemmPlan(rowsPerTile: 16, panelVectors: 3, kBlock: 7, rowBlock: 24, columnBlock: 96)!)
        for bad in ["", "mr=0", "mr=17", "nr=4", "kc=", "kc=-1", "kc=1048577", "mr=4,", "mr=4,mr=5", "MR=4", "mr=4;nr=2",
                    "xx=1", "mr=4 ", "kc=99999999999999999999999"] {
            guard case .failure = base.parsing(bad) else {
                Issue.record("\"\(bad)\" parsed")
                continue
            }
        }
        // The automatic plan is valid and fits the level's registers.
        for level in [0, 1, 2] {
            let plan = GemmPlan.automatic(for: Float.self, level: level)
            #expect(GemmPlan(rowsPerTile: plan.rowsPerTile, panelVectors: plan.panelVectors, kBlock: plan.kBlock,
                             rowBlock: plan.rowBlock, columnBlock: plan.columnBlock) != nil)
            #expect(plan.rowsPerTile * plan.panelVectors + plan.panelVectors + 1 <= (level == 2 ? 32 : 16))
        }
        let caches = GemmPlan.caches
        #expect(caches.l1 >= 8 << 10 && caches.l2 >= caches.l1 && caches.l3 >= caches.l2)
    }
}
