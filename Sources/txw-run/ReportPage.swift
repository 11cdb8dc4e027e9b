#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TXWFormat
import TXWKernels
import TXWToolSupport

/// What `txw-run --report` writes: one self-contained HTML page showing a
/// run's attention patterns, its logit lens and the loss change of each
/// ablated head (Spec/cli.md, "Report page").
///
/// The value holds the numbers, all computed by the caller; `html()` only
/// renders them. The page:
///
/// - loads nothing: a Content-Security-Policy forbids every fetch
///   (`default-src 'none'`), its two scripts run by their SHA-256 hashes
///   only, styles are inline; it links to no URL;
/// - shows every string from the model (title, tokens) as visible text:
///   non-printing characters escaped as `DisplayText` does, then escaped for
///   HTML; strings that scripts read travel as JSON with `<`, `>`, `&`,
///   U+2028 and U+2029 escaped, so no data can end its `<script>` element;
/// - draws each head's pattern on a `<canvas>` from the weights embedded
///   once, as 16-bit codes: each weight rounded to the 4 decimals the page
///   shows (`weightScale` = 10⁴ steps for 0 … 1), base64, little-endian;
///   only the lower triangle (keys up to the query) when every weight above
///   it is 0, as causal attention gives.
struct ReportPage {
    /// One input token: its id and its text in the vocabulary.
    struct Token: Equatable {
        var id: Int
        var text: String
    }

    /// One line of the hyperparameters summary.
    struct Field: Equatable {
        var name: String
        var value: String

        /// The summary of a model's shape: n_block, n_head, d_model, d_head,
        /// d_mlp and vocab_size, as Spec/txw-format.md names them.
        static func summary(of h: Hyperparameters) -> [Field] {
            let values: [(String, Int)] = [("n_block", h.nBlock), ("n_head", h.nHead), ("d_model", h.dModel),
                                           ("d_head", h.dHead), ("d_mlp", h.dMLP), ("vocab_size", h.vocabSize)]
            return values.map { Field(name: $0.0, value: String($0.1)) }
        }
    }

    /// One entry of the logit lens: a token and its probability.
    struct LensEntry: Equatable {
        var token: Token
        var probability: Double
    }

    /// The logit lens: for each point of the residual stream (after the
    /// embedding, after block 0, …) and each position, the top tokens, most
    /// probable first.
    struct Lens: Equatable {
        /// The points' names, in order (`embed`, `block 0`, …).
        var points: [String]
        /// `top[point][position]`: the top-k entries there.
        var top: [[[LensEntry]]]
    }

    /// What an ablated head's z is set to (`--ablate-mode`).
    enum AblationMode: String, Equatable {
        /// Zero.
        case zero
        /// Its mean over the input's positions.
        case mean
    }

    /// The loss of the run and, for each head, the loss with that head ablated.
    struct Ablation: Equatable {
        var mode: AblationMode
        /// The loss without any ablation.
        var loss: Double
        /// `headLoss[block * nHead + head]`: the loss with that one head ablated.
        var headLoss: [Double]
        /// The `--ablate` targets applied to everything the page shows (and
        /// so to `loss` and every `headLoss`), as given; empty without.
        var given: [String] = []
    }

    /// The model's name (a file name): shown in the title.
    var title: String
    /// The hyperparameters summary, in order.
    var hyperparameters: [Field]
    /// The compute precision (`f32`, `f64`).
    var precision: String
    /// The input tokens, m ≥ 1.
    var tokens: [Token]
    /// The blocks (0 allowed: no heatmaps, no ablations) and heads per block.
    var nBlock: Int
    var nHead: Int
    /// The attention weights, `[block][head][query][key]` flattened
    /// (nBlock · nHead · m · m values; each row sums to 1, keys after the
    /// query are 0).
    var attention: [Float]
    /// The logit lens, when computed.
    var lens: Lens?
    /// The ablation losses, when the input has a loss (m ≥ 2).
    var ablation: Ablation?

    /// The steps of a weight from 0 to 1 in the embedded data: 10⁴, so a
    /// code is the weight rounded to the 4 decimals that hover shows, and
    /// what it shows is exact. The code `nonFiniteCode` marks a weight that
    /// is not a finite number.
    static let weightScale = 10_000
    static let nonFiniteCode: UInt16 = 0xFFFF

    var m: Int { tokens.count }

    /// At most the bytes of the embedded weights (base64 of 2 bytes per
    /// weight, all m · m of each head; the lower triangle alone is about
    /// half), nil when the count overflows: what a caller checks against its
    /// memory budget before computing a page for `m` tokens.
    static func embeddedWeightBytes(m: Int, nBlock: Int, nHead: Int) -> Int? {
        var n = m
        for factor in [m, nBlock, nHead, 2] {
            let (product, overflow) = n.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            n = product
        }
        let (groups, overflow) = (n / 3 + (n % 3 == 0 ? 0 : 1)).multipliedReportingOverflow(by: 4)
        return overflow ? nil : groups
    }

    // MARK: Rendering

    /// The page as HTML text.
    ///
    /// - Precondition: the arrays have the sizes documented on the
    ///   properties (m ≥ 1, nBlock ≥ 0, nHead ≥ 1; `attention` nBlock ·
    ///   nHead · m · m; the lens one row per point of m positions;
    ///   `headLoss` nBlock · nHead).
    func html() -> String {
        precondition(m >= 1 && nBlock >= 0 && nHead >= 1, "a report needs tokens and heads")
        precondition(attention.count == nBlock * nHead * m * m, "attention: \(attention.count) weights for \(nBlock)×\(nHead)×\(m)×\(m)")
        if let lens {
            precondition(lens.points.count == lens.top.count && lens.top.allSatisfy { $0.count == m }, "lens: one row of m positions per point")
        }
        if let ablation { precondition(ablation.headLoss.count == nBlock * nHead, "ablation: one loss per head") }

        let triangular = isTriangular
        let dataScript = Self.scriptJSON(PageData(
            m: m, nBlock: nBlock, nHead: nHead, scale: Self.weightScale, nonFinite: Int(Self.nonFiniteCode),
            triangular: triangular, labels: tokens.map { Self.label($0.text) }, exact: tokens.map { Self.exact($0) }))
        let csp = "default-src 'none'; script-src '\(Self.scriptHash(Self.errorScript))' '\(Self.scriptHash(Self.mainScript))'; "
            + "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
        let name = Self.text(title)
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(csp)">
            <meta name="referrer" content="no-referrer">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>txw report: \(name)</title>
            <script>\(Self.errorScript)</script>
            <style>\(Self.style)</style>
            </head>
            <body>
            <h1>txw report: <span id="txw-title">\(name)</span></h1>

            """
        out += "<p class=\"meta\">" + hyperparameters.map { "\(Self.text($0.name)) <b>\(Self.text($0.value))</b>" }.joined(separator: " · ")
            + " · precision <b>\(Self.text(precision))</b> · \(m) token\(m == 1 ? "" : "s")</p>\n"
        out += tokenStrip()
        let maskNote = triangular
            ? "grey: masked, a key after its query"
            : "keys after their query included: some of their weights are not 0 here"
        out += """
            <h2>Attention patterns</h2>
            <p class="note">One heatmap per block and head: row = query position, column = key position; darker = more weight \
            (white 0, dark blue 1; \(maskNote)). Hover a cell for its tokens and weight. \
            Labels are thinned when there is no room; hover names every token.</p>\(nBlock == 0 ? "\n<p class=\"note\">This model has no blocks: no attention.</p>" : "")
            <div id="txw-heatmaps"></div>
            <div id="txw-tip" hidden></div>
            <pre id="txw-errors" hidden></pre>

            """
        // The heatmaps are drawn as soon as their data is parsed, before the tables below.
        out += "<script type=\"application/json\" id=\"txw-data\">\(dataScript)</script>\n"
        out += "<script type=\"application/octet-stream\" id=\"txw-weights\">\(Self.quantised(attention, m: m, triangular: triangular))</script>\n"
        out += "<script>\(Self.mainScript)</script>\n"
        out += lensTable()
        out += ablationGrid()
        return out + "</body>\n</html>\n"
    }

    /// True when every weight above the diagonal (a key after its query) is
    /// exactly 0: the embedded data then holds the lower triangle only.
    var isTriangular: Bool {
        for matrix in 0..<(nBlock * nHead) {
            for q in 0..<m {
                let row = (matrix * m + q) * m
                for k in (q + 1)..<max(q + 1, m) where attention[row + k] != 0 { return false }
            }
        }
        return true
    }

    private func tokenStrip() -> String {
        var out = "<h2>Input</h2>\n<p id=\"txw-tokens\" class=\"tokens\">"
        for (i, token) in tokens.enumerated() {
            out += "<span class=\"tok\" data-pos=\"\(i)\" title=\"position \(i): \(Self.html(Self.exact(token)))\">\(Self.html(Self.label(token.text)))</span>"
        }
        return out + "</p>\n"
    }

    private func lensTable() -> String {
        var out = "<h2>Logit lens</h2>\n"
        guard let lens else { return out + "<p class=\"note\">Not computed.</p>\n" }
        out += """
            <p class="note">For each position, the most probable next token read from the residual stream after the embedding \
            and after each block (the tied unembedding, no final norm), with its probability. Bold: the next input token. \
            Hover a cell for the top \(lens.top.first?.first?.count ?? 0).</p>
            <table id="txw-lens" class="lens"><thead><tr><th>pos</th><th>token</th>
            """
        out += lens.points.map { "<th>\(Self.text($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for position in 0..<m {
            let token = tokens[position]
            out += "<tr><td class=\"num\">\(position)</td><td title=\"\(Self.html(Self.exact(token)))\">\(Self.html(Self.label(token.text)))</td>"
            let next = position + 1 < m ? tokens[position + 1].id : nil
            for point in lens.top.indices {
                let entries = lens.top[point][position]
                guard let best = entries.first else { out += "<td></td>"; continue }
                let list = entries.enumerated().map { "\($0.offset + 1). \(Self.html(Self.exact($0.element.token))) \(Self.probability($0.element.probability))" }
                    .joined(separator: "&#10;")
                // Shaded by probability, in tenths (a class each: no style to parse per cell).
                let tenth = best.probability.isFinite ? Int((min(max(best.probability, 0), 1) * 10).rounded()) : 0
                out += "<td class=\"p\(tenth)\(best.token.id == next ? " hit" : "")\" title=\"\(list)\">"
                    + "\(Self.html(Self.label(best.token.text))) <small>\(Self.probability(best.probability))</small></td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    private func ablationGrid() -> String {
        var out = "<h2>Head ablations</h2>\n"
        guard let ablation else { return out + "<p class=\"note\">No loss: the input needs at least two tokens.</p>\n" }
        guard nBlock > 0 else {
            return out + "<p class=\"note\">Mean next-token loss <b id=\"txw-loss\">\(Self.number(ablation.loss))</b>; the model has no heads to ablate.</p>\n"
        }
        let deltas = ablation.headLoss.map { $0 - ablation.loss }
        let largest = deltas.filter(\.isFinite).map(\.magnitude).max() ?? 0
        out += """
            <p class="note">Mean next-token loss <b id="txw-loss">\(Self.number(ablation.loss))</b> \
            \(ablation.given.isEmpty ? "without ablation" : "with " + Self.text(ablation.given.joined(separator: ", ")) + " ablated (--ablate)"); each cell: \
            the change when that one head's output z is also set to \(ablation.mode == .mean ? "its mean over the positions" : "zero") \
            (<code>--ablate-mode \(ablation.mode.rawValue)</code>). Red: the loss rises; blue: it falls.</p>
            <table id="txw-ablation" class="ablation"><thead><tr><th></th>
            """
        out += (0..<nHead).map { "<th>head \($0)</th>" }.joined() + "</tr></thead><tbody>\n"
        for block in 0..<nBlock {
            out += "<tr><th>block \(block)</th>"
            for head in 0..<nHead {
                let index = block * nHead + head
                let delta = deltas[index]
                var colour = "#ddd"
                if delta.isFinite {
                    let t = largest > 0 ? delta.magnitude / largest : 0
                    colour = delta >= 0
                        ? "rgba(214,39,40,\(Formatting.printf("%.3f", t * 0.75)))"
                        : "rgba(31,119,180,\(Formatting.printf("%.3f", t * 0.75)))"
                }
                let sign = delta.isFinite && delta >= 0 ? "+" : ""
                out += "<td data-block=\"\(block)\" data-head=\"\(head)\" style=\"background:\(colour)\" "
                    + "title=\"loss \(Self.number(ablation.headLoss[index]))\">\(sign)\(Self.number(delta))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    // MARK: Text

    /// A token as a label: printable (`DisplayText.escaped`), with each space
    /// shown as `␣` so that a token of spaces stays visible.
    static func label(_ text: String) -> String {
        Formatting.name(text).replacing(" ", with: "\u{2423}")
    }

    /// A token exactly: its quoted, escaped text and its id (hover, titles).
    static func exact(_ token: Token) -> String {
        "\(Formatting.token(token.text)) #\(token.id)"
    }

    /// Text from a file or the caller, for HTML content or a quoted
    /// attribute: one printable line (`Formatting.name`, as on a terminal),
    /// then escaped for HTML (`html(_:)`).
    static func text(_ s: String) -> String { html(Formatting.name(s)) }

    /// Printable text (already escaped for display) for HTML content or a
    /// quoted attribute: `&`, `<`, `>`, `"` and `'` as entities.
    static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        v.isFinite ? Formatting.printf("%.4f", v) : Formatting.short(v)
    }

    static func probability(_ v: Double) -> String {
        v.isFinite ? Formatting.printf("%.3f", v) : Formatting.short(v)
    }

    // MARK: Embedded data

    /// The strings the scripts read.
    struct PageData: Codable, Equatable {
        var m: Int
        var nBlock: Int
        var nHead: Int
        var scale: Int
        var nonFinite: Int
        /// The weights hold each head's lower triangle only, rows one after
        /// another (row q: keys 0 … q); else every m · m weight.
        var triangular: Bool
        /// The token labels (`label(_:)`).
        var labels: [String]
        /// The tokens exactly (`exact(_:)`).
        var exact: [String]
    }

    /// `value` as JSON text that can stand inside a `<script>` element: no
    /// `<`, `>` or `&` (so no `</script>` or `<!--`), no U+2028/U+2029; each
    /// written as its `\uXXXX` escape, which JSON reads back as the same string.
    static func scriptJSON(_ value: some Encodable) -> String {
        // JSONOutput escapes every non-printing scalar (U+2028 and U+2029 among them).
        let json = (try? JSONOutput.text(value)) ?? "null"
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": out.append(contentsOf: "\\u003c".unicodeScalars)
            case ">": out.append(contentsOf: "\\u003e".unicodeScalars)
            case "&": out.append(contentsOf: "\\u0026".unicodeScalars)
            case "\u{2028}": out.append(contentsOf: "\\u2028".unicodeScalars)
            case "\u{2029}": out.append(contentsOf: "\\u2029".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// The weights as base64 of little-endian `UInt16` codes (`quantise`):
    /// every matrix (block, head) in order, each row by row; with
    /// `triangular`, row q holds keys 0 … q only.
    static func quantised(_ weights: [Float], m: Int, triangular: Bool) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(2 * (triangular ? weights.count / m * (m + 1) / 2 : weights.count))
        for matrix in 0..<(weights.count / (m * m)) {
            for q in 0..<m {
                let row = (matrix * m + q) * m
                for k in 0..<(triangular ? q + 1 : m) {
                    let code = quantise(weights[row + k])
                    bytes.append(UInt8(truncatingIfNeeded: code))
                    bytes.append(UInt8(truncatingIfNeeded: code >> 8))
                }
            }
        }
        return Data(bytes).base64EncodedString()
    }

    /// A weight's code: round(w · weightScale), half away from zero, for w
    /// in 0 … 1 (a softmax weight is in that range up to rounding, which
    /// clamping removes; the product is exact in `Double`);
    /// `nonFiniteCode` for NaN or an infinity.
    static func quantise(_ w: Float) -> UInt16 {
        guard w.isFinite else { return nonFiniteCode }
        return UInt16((Double(min(max(w, 0), 1)) * Double(weightScale)).rounded(.toNearestOrAwayFromZero))
    }

    /// A script's CSP source: `sha256-` and the base64 SHA-256 of its text.
    static func scriptHash(_ script: String) -> String {
        "sha256-" + Data(SHA256.hash(Array(script.utf8))).base64EncodedString()
    }

    // MARK: Page text (constant: no data is interpolated into these)

    /// Records every script error and every violation of the page's policy
    /// (a script or fetch it refused) into the page (`#txw-errors`,
    /// `data-errors` on the root element), where a test reads them.
    static let errorScript = """
        (function(){var n=0;function rec(msg){n++;document.documentElement.setAttribute("data-errors",String(n));\
        var e=document.getElementById("txw-errors");if(e){e.hidden=false;e.textContent+=msg+"\\n";}}\
        window.addEventListener("error",function(ev){rec("error: "+(ev.message||ev.type));});\
        window.addEventListener("unhandledrejection",function(ev){rec("unhandled rejection: "+ev.reason);});\
        document.addEventListener("securitypolicyviolation",function(ev){rec("blocked by the page's Content-Security-Policy: "+ev.violatedDirective);});})();
        """

    static let style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222;background:#fff}
        h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
        .meta,.note{color:#555;max-width:70em}.meta b{color:#222}
        .tokens{font:13px/1.9 ui-monospace,monospace;max-width:100%;word-break:break-all}
        .tok{border:1px solid #ccc;border-radius:3px;padding:0 3px;margin:0 1px;white-space:pre}
        .tok.q{background:#fdd49e}.tok.k{background:#c6dbef}
        #txw-heatmaps .block{display:flex;flex-wrap:wrap;gap:14px;margin-bottom:10px}
        figure{margin:0}figcaption{font-size:12px;color:#444}canvas{display:block;cursor:crosshair}
        #txw-tip{position:fixed;pointer-events:none;background:#222;color:#fff;font:12px/1.4 ui-monospace,monospace;\
        padding:4px 7px;border-radius:4px;white-space:pre;z-index:10}
        table{border-collapse:collapse;font:12px ui-monospace,monospace}
        th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:pre}
        td.num,.ablation td{text-align:right}.lens td.hit{font-weight:bold}.lens small{color:#555}
        .p1{background:#eef4fa}.p2{background:#dde9f5}.p3{background:#cddef0}.p4{background:#bcd3eb}.p5{background:#acc9e6}
        .p6{background:#9bbee1}.p7{background:#8bb3dc}.p8{background:#7aa8d7}.p9{background:#6a9dd2}.p10{background:#5993cd}
        #txw-errors{color:#b00;background:#fee;padding:6px}
        """

    /// Decodes the data, draws every heatmap, handles hover; marks
    /// `txw-decoded` when the weights are decoded, `txw-drawn` (performance
    /// marks) and `data-drawn` when every heatmap is drawn.
    static let mainScript = #"""
        (function(){"use strict";
        var data=JSON.parse(document.getElementById("txw-data").textContent);
        var raw=atob(document.getElementById("txw-weights").textContent);
        var w=new Uint16Array(raw.length>>1);
        for(var i=0;i<w.length;i++)w[i]=raw.charCodeAt(2*i)|(raw.charCodeAt(2*i+1)<<8);
        performance.mark("txw-decoded");
        var m=data.m,nb=data.nBlock,nh=data.nHead,scale=data.scale,bad=data.nonFinite,tri=data.triangular;
        var per=tri?m*(m+1)/2:m*m;
        var cell=Math.max(1,Math.min(24,Math.floor(512/m)));
        var font=cell>=9?Math.min(12,cell-1):10,step=cell>=9?1:Math.ceil(12/cell);
        function shortLabel(s){var a=Array.from(s);return a.length>10?a.slice(0,9).join("")+"\u2026":s;}
        var labels=data.labels.map(shortLabel);
        var probe=document.createElement("canvas").getContext("2d");probe.font=font+"px monospace";
        var width=0;for(var t=0;t<m;t+=step)width=Math.max(width,probe.measureText(labels[t]).width);
        var margin=Math.ceil(width)+8,size=m*cell,side=margin+size;
                var lut=new Uint8ClampedArray(4*256);
        for(var v=0;v<256;v++){var x=v/255;lut[4*v]=Math.round(255-(255-8)*x);lut[4*v+1]=Math.round(255-(255-48)*x);lut[4*v+2]=Math.round(255-(255-107)*x);lut[4*v+3]=255;}
        function weight(b,h,q,k){return tri&&k>q?0:w[(b*nh+h)*per+(tri?q*(q+1)/2:q*m)+k];}
        function draw(canvas,b,h){
          var off=document.createElement("canvas");off.width=m;off.height=m;
          var octx=off.getContext("2d"),img=octx.createImageData(m,m),px=img.data,base=(b*nh+h)*per;
          for(var q=0;q<m;q++)for(var k=0;k<m;k++){var o=4*(q*m+k),c=tri&&k>q?0:w[base+(tri?q*(q+1)/2:q*m)+k];
            if(c===bad){px[o]=230;px[o+1]=0;px[o+2]=230;px[o+3]=255;}
            else if(tri&&k>q){px[o]=236;px[o+1]=236;px[o+2]=236;px[o+3]=255;}
            else{var l=4*Math.round(c*255/scale);px[o]=lut[l];px[o+1]=lut[l+1];px[o+2]=lut[l+2];px[o+3]=255;}}
          octx.putImageData(img,0,0);
          var ctx=canvas.getContext("2d");ctx.imageSmoothingEnabled=false;
          ctx.fillStyle="#fff";ctx.fillRect(0,0,side,side);ctx.drawImage(off,margin,margin,size,size);
          ctx.fillStyle="#333";ctx.font=font+"px monospace";ctx.textBaseline="middle";ctx.textAlign="right";
          for(var t=0;t<m;t+=step)ctx.fillText(labels[t],margin-4,margin+(t+0.5)*cell);
          ctx.save();ctx.textAlign="left";
          for(t=0;t<m;t+=step){ctx.save();ctx.translate(margin+(t+0.5)*cell,margin-4);ctx.rotate(-Math.PI/2);ctx.fillText(labels[t],0,0);ctx.restore();}
          ctx.restore();}
        var tip=document.getElementById("txw-tip"),toks=document.querySelectorAll("#txw-tokens .tok"),lit=[];
        function unlight(){for(var i=0;i<lit.length;i++)lit[i].classList.remove("q","k");lit=[];}
        function hover(ev){var c=ev.currentTarget,r=c.getBoundingClientRect();
          var k=Math.floor((ev.clientX-r.left-margin)/cell),q=Math.floor((ev.clientY-r.top-margin)/cell);
          unlight();
          if(q<0||k<0||q>=m||k>=m){tip.hidden=true;return;}
          var b=+c.dataset.block,h=+c.dataset.head,code=weight(b,h,q,k);
          var value=code===bad?"not a number":(code/scale).toFixed(4);
          tip.textContent="block "+b+" head "+h+"\nquery "+q+": "+data.exact[q]+"\nkey   "+k+": "+data.exact[k]+"\nweight "+value+(k>q?" (masked)":"");
          tip.dataset.block=b;tip.dataset.head=h;tip.dataset.query=q;tip.dataset.key=k;tip.dataset.weight=value;
          tip.hidden=false;tip.style.left=Math.min(ev.clientX+14,window.innerWidth-tip.offsetWidth-4)+"px";tip.style.top=(ev.clientY+14)+"px";
          if(toks[q]){toks[q].classList.add("q");lit.push(toks[q]);}if(toks[k]){toks[k].classList.add("k");lit.push(toks[k]);}}
        var root=document.getElementById("txw-heatmaps"),drawn=0;
        for(var b=0;b<nb;b++){var row=document.createElement("div");row.className="block";
          for(var h=0;h<nh;h++){var fig=document.createElement("figure"),cap=document.createElement("figcaption");
            cap.textContent="block "+b+" \u00b7 head "+h;
            var canvas=document.createElement("canvas");canvas.width=side;canvas.height=side;
            canvas.className="heatmap";canvas.dataset.block=b;canvas.dataset.head=h;canvas.dataset.m=m;
            canvas.dataset.cell=cell;canvas.dataset.margin=margin;
            draw(canvas,b,h);drawn++;
            canvas.addEventListener("mousemove",hover);canvas.addEventListener("mouseleave",function(){tip.hidden=true;unlight();});
            fig.appendChild(cap);fig.appendChild(canvas);row.appendChild(fig);}
          root.appendChild(row);}
        performance.mark("txw-drawn");
        document.documentElement.setAttribute("data-drawn",String(drawn));
        })();
        """#
}

/// SHA-256 (FIPS 180-4), for the page's script hashes.
enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The 32-byte digest of `message`.
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bits = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        var schedule = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let o = chunk + 4 * i
                schedule[i] = UInt32(padded[o]) << 24 | UInt32(padded[o + 1]) << 16 | UInt32(padded[o + 2]) << 8 | UInt32(padded[o + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(schedule[i - 15], 7) ^ rotr(schedule[i - 15], 18) ^ (schedule[i - 15] >> 3)
                let s1 = rotr(schedule[i - 2], 17) ^ rotr(schedule[i - 2], 19) ^ (schedule[i - 2] >> 10)
                schedule[i] = schedule[i - 16] &+ s0 &+ schedule[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let choice = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ choice &+ k[i] &+ schedule[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ majority
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * $0)) } }
    }
}
