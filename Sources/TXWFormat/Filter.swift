/// The reversible transform applied to a block before its codec (Spec/txw-format.md §1.4).
public enum Filter: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Spelled `none` in the spec and the tools.
    case identity = 0
    /// Byte planes: all first bytes of the elements, then all second bytes, …
    case byteShuffle = 1

    public var description: String { self == .identity ? "none" : "shuffle" }
}
