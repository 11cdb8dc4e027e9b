import TXWFormat
import TXWModel

extension Diagnostics {
    /// `(0, 1, 1)`: the multi-index of flat index `index` in `shape`, outermost first.
    package static func multiIndex(_ index: Int, shape: [Int]) -> String {
        var rest = index
        var out = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            out[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return Formatting.shape(out)
    }

    /// `index 5 (0, 1, 1)`: a flat index and its multi-index (the flat index alone for a scalar).
    package static func elementIndex(_ index: Int, shape: [Int]) -> String {
        shape.isEmpty ? "index \(index)" : "index \(index) \(multiIndex(index, shape: shape))"
    }

    /// A value as the messages print it: `nan`, `inf`, `-inf`, or the shortest round-trip text.
    package static func valueText(_ value: Double) -> String {
        value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : "\(value)"
    }

    /// Why txw-pack refuses a model (without the path): the first weight
    /// that is not finite, or that becomes infinite in the stored dtype,
    /// and the flag that packs it anyway.
    package static func message(for element: NonFiniteElement) -> String {
        let at = "tensor '\(Formatting.name(element.tensor))' at \(elementIndex(element.index, shape: element.shape))"
        let what: String
        if let dtype = element.storedAs {
            what = "\(at) holds \(valueText(element.value)), which becomes \(element.value < 0 ? "-inf" : "inf") stored as \(dtype)"
        } else {
            what = "\(at) holds \(valueText(element.value)), not a finite number"
        }
        return what + "; pass --allow-nonfinite to pack it anyway"
    }

    /// The --verify warning (without `TOOL: warning: `) for a tensor that
    /// holds non-finite values: how many of each kind, and where the first is.
    package static func nonFiniteWarning(path: String, tensor: String, shape: [Int], _ count: NonFiniteCount) -> String {
        let kinds = [(count.nan, "NaN"), (count.infinite, "±inf")].filter { $0.0 > 0 }.map { "\(Formatting.grouped($0.0)) \($0.1)" }
        let first = count.firstIndex.map { ", the first at \(elementIndex($0, shape: shape))" } ?? ""
        return "\(Formatting.name(path)): tensor '\(Formatting.name(tensor))' holds \(Formatting.grouped(count.total)) "
            + "non-finite value\(count.total == 1 ? "" : "s") (\(kinds.joined(separator: ", ")))\(first)"
    }

    /// Why txw-run refuses a --loss result that is not finite: the value, and
    /// the first position whose logits give a non-finite next-token loss.
    package static func nonFiniteLoss(_ loss: Double, firstPosition: Int?) -> String {
        "the loss is \(valueText(loss)), not a finite number"
            + (firstPosition.map { ": the first non-finite term is at position \($0) (the logits there, predicting the token at \($0 + 1))" } ?? "")
            + "; the model's weights or its numbers in this precision do not give a usable loss"
    }

    /// Why txw-run refuses --logits that are not finite: the first position
    /// and token id, and the value.
    package static func nonFiniteLogits(position: Int, token: Int, value: Double) -> String {
        "the logits are not all finite: at position \(position), token id \(token), the logit is \(valueText(value)); "
            + "the model's weights or its numbers in this precision do not give usable logits"
    }
}
