"""BENCHMARKS.md: one section per CPU model, and the CPU's name.

Pure functions (no numpy, no torch) so the test suite can check them:

* :func:`cpu_identity` names the processor from /proc/cpuinfo: vendor, model
  name, family / model / stepping and the instruction-set level the kernels
  choose (AVX-512, AVX2+FMA or baseline; Spec/kernels.md, "GEMM").
* :func:`merge_sections` puts one run's section into the file: the section
  of the same CPU is replaced, every other CPU's section is kept as it was.

A section starts with a ``## `` heading followed by a marker line
``<!-- cpu: VENDOR/FAMILY/MODEL -->``; the key is vendor, family and model
(not stepping, not the model name a hypervisor may shorten), so a run on the
same kind of processor replaces its own section and no other.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

MARKER = re.compile(r"^<!-- cpu: (?P<key>[^ ]+) -->\s*$")
HEADING = re.compile(r"^## ")


@dataclass(frozen=True)
class CPU:
    vendor: str  # GenuineIntel, AuthenticAMD, …
    model_name: str
    family: Optional[int]
    model: Optional[int]
    stepping: Optional[int]
    isa: str  # AVX-512, AVX2+FMA, baseline

    @property
    def key(self) -> str:
        """The section key: vendor/family/model."""
        f = "?" if self.family is None else str(self.family)
        m = "?" if self.model is None else str(self.model)
        return f"{self.vendor}/{f}/{m}"

    @property
    def title(self) -> str:
        """E.g. ``AMD EPYC (AuthenticAMD family 25, model 1, stepping 1, AVX2+FMA)``."""
        parts = [f"{self.vendor} family {'?' if self.family is None else self.family}",
                 f"model {'?' if self.model is None else self.model}"]
        if self.stepping is not None:
            parts.append(f"stepping {self.stepping}")
        parts.append(self.isa)
        return f"{self.model_name} ({', '.join(parts)})"


def isa_level(flags: List[str]) -> str:
    """The instruction set the kernels run with on a CPU with these flags."""
    have = set(flags)
    if {"avx512f", "avx512vl", "avx512dq", "avx512bw"} <= have:
        return "AVX-512"
    if {"avx2", "fma"} <= have:
        return "AVX2+FMA"
    return "baseline"


def cpu_identity(cpuinfo: str) -> CPU:
    """The first processor described by the text of /proc/cpuinfo."""
    fields: Dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor only
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())

    def number(name: str) -> Optional[int]:
        try:
            return int(fields[name])
        except (KeyError, ValueError):
            return None

    return CPU(vendor=fields.get("vendor_id", "unknown vendor"),
               model_name=" ".join(fields.get("model name", "unknown CPU").split()),
               family=number("cpu family"), model=number("model"), stepping=number("stepping"),
               isa=isa_level(fields.get("flags", "").split()))


def split_sections(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """(preamble, [(key, section text), …]): a section is a ``## `` heading
    whose next line is a CPU marker, up to the next such heading."""
    lines = text.splitlines(keepends=True)
    starts = [i for i in range(len(lines) - 1)
              if HEADING.match(lines[i]) and MARKER.match(lines[i + 1])]
    preamble = "".join(lines[:starts[0]]) if starts else text
    sections = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        key = MARKER.match(lines[start + 1]).group("key")
        sections.append((key, "".join(lines[start:end])))
    return preamble, sections


def section_text(cpu_key: str, heading: str, body: str) -> str:
    """A section: heading, marker, body, ending in one blank line."""
    return f"## {heading}\n<!-- cpu: {cpu_key} -->\n\n{body.strip()}\n\n"


def merge_sections(existing: Optional[str], preamble: str, cpu_key: str, section: str) -> str:
    """The file after a run: ``preamble`` (the run's own), then every section
    of ``existing`` in its order, the one whose key is ``cpu_key`` replaced by
    ``section``; a CPU not yet in the file is added at the end. A file without
    sections (or none) keeps none of its text."""
    sections = split_sections(existing)[1] if existing else []
    out, replaced = [], False
    for key, text in sections:
        if key == cpu_key:
            if not replaced:
                out.append(section)
                replaced = True
            continue  # a duplicate of the same CPU is dropped
        out.append(text if text.endswith("\n\n") else text.rstrip("\n") + "\n\n")
    if not replaced:
        out.append(section)
    return preamble.rstrip("\n") + "\n\n" + "".join(out).rstrip("\n") + "\n"
