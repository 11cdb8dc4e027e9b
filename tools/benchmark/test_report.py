"""BENCHMARKS.md keeps one section per CPU model (tools/benchmark/report.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse sse2 avx fma avx2 bmi2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: SOMETHING ELSE
stepping\t: 1
flags\t\t: fpu
"""

XEON = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 207
model name\t: Intel(R) Xeon(R)   Platinum 8581C CPU @ 2.10GHz
stepping\t: 2
flags\t\t: fpu avx fma avx2 avx512f avx512dq avx512bw avx512vl
"""


def test_cpu_identity_names_the_first_processor_with_its_isa():
    cpu = report.cpu_identity(EPYC)
    assert cpu.key == "AuthenticAMD/25/1"
    assert cpu.title == "AMD EPYC (AuthenticAMD family 25, model 1, stepping 1, AVX2+FMA)"
    xeon = report.cpu_identity(XEON)
    assert xeon.key == "GenuineIntel/6/207"
    assert xeon.title == "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz (GenuineIntel family 6, model 207, stepping 2, AVX-512)"


def test_isa_levels():
    assert report.isa_level("avx512f avx512vl avx512dq avx2 fma".split()) == "AVX2+FMA"  # no BW
    assert report.isa_level("avx avx2".split()) == "baseline"  # no FMA
    assert report.isa_level([]) == "baseline"


def test_cpu_identity_of_an_unreadable_description():
    cpu = report.cpu_identity("")
    assert cpu.key == "unknown vendor/?/?"
    assert cpu.isa == "baseline"


def doc(*sections):
    return "# Benchmarks\n\nold preamble\n\n" + "".join(sections)


A = report.section_text("AuthenticAMD/25/1", "AMD EPYC (…)", "| old EPYC table |")
X = report.section_text("GenuineIntel/6/207", "Intel Xeon, reported in issue #16", "| Xeon figures |")


def test_a_run_replaces_its_own_section_and_keeps_the_others():
    new = report.section_text("AuthenticAMD/25/1", "AMD EPYC (…)", "| new EPYC table |")
    merged = report.merge_sections(doc(A, X), "# Benchmarks\n\nnew preamble\n", "AuthenticAMD/25/1", new)
    assert "old EPYC table" not in merged
    assert "new EPYC table" in merged
    assert "| Xeon figures |" in merged
    assert "new preamble" in merged and "old preamble" not in merged
    # the order of the sections is kept
    assert merged.index("new EPYC table") < merged.index("Xeon figures")
    pre, sections = report.split_sections(merged)
    assert [k for k, _ in sections] == ["AuthenticAMD/25/1", "GenuineIntel/6/207"]
    assert sections[1][1].rstrip("\n") == X.rstrip("\n")  # the last section ends the file


def test_a_new_cpu_is_added_after_the_others():
    new = report.section_text("GenuineIntel/6/85", "Intel Xeon (…)", "| skylake |")
    merged = report.merge_sections(doc(A, X), "# B\n", "GenuineIntel/6/85", new)
    keys = [k for k, _ in report.split_sections(merged)[1]]
    assert keys == ["AuthenticAMD/25/1", "GenuineIntel/6/207", "GenuineIntel/6/85"]
    assert "old EPYC table" in merged and "Xeon figures" in merged


def test_the_reported_xeon_section_is_replaced_by_a_run_on_that_cpu():
    run = report.section_text(report.cpu_identity(XEON).key, report.cpu_identity(XEON).title, "| measured |")
    merged = report.merge_sections(doc(A, X), "# B\n", report.cpu_identity(XEON).key, run)
    assert "Xeon figures" not in merged and "| measured |" in merged and "old EPYC table" in merged


def test_a_file_without_sections_or_no_file():
    new = report.section_text("K/1/2", "CPU", "| t |")
    for existing in (None, "", "# Benchmarks\n\n| an old table without a CPU section |\n"):
        merged = report.merge_sections(existing, "# B\n\npre\n", "K/1/2", new)
        assert merged == "# B\n\npre\n\n" + new.rstrip("\n") + "\n"


def test_a_heading_without_marker_stays_inside_its_section():
    body = "| t |\n\n## notes inside the section\n\nmore\n"
    s = report.section_text("K/1/2", "CPU", body)
    merged = report.merge_sections(doc(s, X), "# B\n", "GenuineIntel/6/207", X)
    assert report.split_sections(merged)[1][0][1] == s


def test_merging_twice_is_stable():
    new = report.section_text("AuthenticAMD/25/1", "AMD EPYC (…)", "| new |")
    once = report.merge_sections(doc(A, X), "# B\n", "AuthenticAMD/25/1", new)
    twice = report.merge_sections(once, "# B\n", "AuthenticAMD/25/1", new)
    assert once == twice


def test_busy_is_other_processes_cpu_share_not_the_trailing_load_average():
    import bench

    # A high load average left by tools/bench's own release build, with the
    # cores idle around the measurements: not busy.
    assert not bench.busy((1.9, 1.7, 0.02, 0.01))
    # Other processes using a fifth of the cores before or after: busy.
    assert bench.busy((0.1, 0.2, 0.20, 0.01))
    assert bench.busy((0.1, 0.2, 0.00, 0.40))
    # Unknown shares (no /proc/stat): not claimed busy; the line says what is known.
    assert not bench.busy((0.5, 0.5, None, None))
    line = bench.load_text((1.9, 1.7, 0.02, 0.30))
    assert "at the start 1.9, at the end 1.7" in line and "2% of the cores just before" in line and "30% just after" in line
    assert "rerun on a quiet machine" in line
    share = bench.others_busy(0.2)
    assert share is None or 0.0 <= share <= 1.0
