#!/usr/bin/python3
"""Writes include/charlstm/lowercase_table.hpp and tests/fixtures/python_lower.txt from Python's
own str.lower(), for every code point.  Run with Debian's Python (the one the tests name):

    /usr/bin/python3 tools/make_lowercase_table.py

str.lower() maps each code point through the Unicode full lowercase mapping (one code point,
or several: U+0130 gives "i" + U+0307), except U+03A3 (capital sigma), which becomes the final
form U+03C2 when a cased character precedes it and none follows (skipping case-ignorable ones
both ways: Unicode's Final_Sigma, as CPython's handle_capital_sigma does), and U+03C3 otherwise.
Python does not expose "cased" and "case-ignorable"; this script reads them off str.lower()
itself with three probes per code point c:
    'A' + c + 'Σ'   final iff c is case-ignorable or cased
    ' ' + c + 'Σ'   final iff c is cased and not case-ignorable
    'AΣ' + c        final iff c is case-ignorable or not cased
so a code point is, for the sigma rule, "ignorable", "cased" (and not ignorable) or neither,
and that is all the rule ever reads of it.

The header holds the mapping as ranges (every code point, or every other one, shifted by one
delta), the few one-to-many mappings, and the two classes as sorted ranges.  The fixture holds
Python's answers, not this script's tables: every code point whose lowercase is not itself, and
the code points for which each sigma probe gives the final form; tests/test_lowercase.cpp
compares lowercase() with it for all of Unicode.
"""

import os
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "charlstm", "lowercase_table.hpp")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "python_lower.txt")
SIGMA, FINAL, NONFINAL = "\u03a3", "\u03c2", "\u03c3"
ALL = range(0x110000)
# Whole texts for the fixture: the examples, Greek words with and without a final
# sigma, sigmas beside case-ignorable marks, the dotted capital I inside words and beside a sigma.
TEXTS = [
    "\u1ea0 \u1ecc \u1ede, \u01c4 \u0531 \u216b",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u0399\u0391",
    "\u03a3 \u03a3\u0391 \u0391\u03a3. \u0391\u03a3'\u0391 \u0391\u03a3\u0345. A\u0345\u03a3 \u02b0\u03a3",
    "\u0130stanbul D\u0130YARBAKIR \u0130\u03a3 \u0130\u0307",
    "Moe's Tavern: HOMER_SIMPSON: Hey, MOE! \u00c9COLE \u1e9e \U00010400 \U0001E900",
]


def probes(c):
    """Python's answers to the three sigma probes for code point c (True: final sigma)."""
    ch = chr(c)
    before = ("A" + ch + SIGMA).lower()[-1] == FINAL
    alone = (" " + ch + SIGMA).lower()[-1] == FINAL
    after = ("A" + SIGMA + ch).lower()[1] == FINAL
    return before, alone, after


def sigma_class(c, answers):
    """'ignorable', 'cased' or None, from the probes (checked consistent)."""
    before, alone, after = answers
    if alone:  # cased, not ignorable
        assert before and not after, hex(c)
        return "cased"
    if before:  # ignorable (a cased non-ignorable one would have made `alone` true)
        assert after, hex(c)
        return "ignorable"
    assert after, hex(c)  # neither: not ignorable, not cased
    return None


def ranges(points):
    """Sorted code points as [first, last] runs."""
    out = []
    for c in points:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def mapping_runs(single):
    """{cp: lower cp} as disjoint runs (first, last, delta, stride): stride 1 maps every code
    point of [first, last], stride 2 every other one from first (the code points between them
    map to themselves), each to itself plus delta.  Greedy, longest run first at each start."""
    runs = []
    covered = set()
    for first in sorted(single):
        if first in covered:
            continue
        delta = single[first] - first
        best = (first, first, delta, 1)
        for stride in (1, 2):
            last = first
            while (
                last + stride in single
                and single[last + stride] - (last + stride) == delta
                and (stride == 1 or last + 1 not in single)
            ):
                last += stride
            if last > best[1]:
                best = (first, last, delta, stride)
        runs.append(best)
        covered.update(range(best[0], best[1] + 1, best[3]))
    for a, b in zip(runs, runs[1:]):
        assert a[1] < b[0], (a, b)
    return runs


def main():
    single, multi, classes = {}, {}, {}
    for c in ALL:
        lower = chr(c).lower()
        if lower != chr(c):
            if len(lower) == 1:
                single[c] = ord(lower)
            else:
                multi[c] = [ord(x) for x in lower]
    answers = {c: probes(c) for c in ALL}
    for c in ALL:
        cls = sigma_class(c, answers[c])
        if cls:
            classes[c] = cls

    # lowercase() decides a sigma's look-behind on text it has already lowercased: that gives
    # the same answer only if lowercasing keeps each code point's class.  Check it here.
    def backward(seq):
        for x in reversed(seq):
            cls = classes.get(x)
            if cls != "ignorable":
                return cls == "cased"
        return "transparent"

    for c in ALL:
        if c == 0x3A3:
            continue  # becomes σ or ς, both cased like Σ
        lowered = [ord(x) for x in chr(c).lower()]
        assert backward([c]) == backward(lowered), "class changes under lower(): %04X" % c

    runs = mapping_runs(single)
    # The runs must give back exactly `single`.
    rebuilt = {}
    for first, last, delta, stride in runs:
        for c in range(first, last + 1, stride):
            assert c not in rebuilt, hex(c)
            rebuilt[c] = c + delta
    assert rebuilt == single

    ignorable = ranges(c for c in ALL if classes.get(c) == "ignorable")
    cased = ranges(c for c in ALL if classes.get(c) == "cased")
    version = "Python %d.%d.%d, Unicode %s" % (sys.version_info[:3] + (unicodedata.unidata_version,))

    def rows(items, per_line):
        lines = []
        for k in range(0, len(items), per_line):
            lines.append("    " + " ".join(items[k : k + per_line]))
        return "\n".join(lines)

    run_items = ["{0x%04X, 0x%04X, %d, %d}," % r for r in runs]
    multi_items = [
        "{0x%04X, {%s}}," % (c, ", ".join("0x%04X" % x for x in m)) for c, m in sorted(multi.items())
    ]
    for m in multi.values():
        assert len(m) <= 3
    ign_items = ["{0x%04X, 0x%04X}," % tuple(r) for r in ignorable]
    cased_items = ["{0x%04X, 0x%04X}," % tuple(r) for r in cased]

    header = """\
// charlstm/lowercase_table.hpp: Python's str.lower() as data, for lowercase.hpp.  GENERATED by
// tools/make_lowercase_table.py from /usr/bin/python3 (%(version)s):
// do not edit, run the script.  Not the algorithm: lowercase.hpp reads these tables.
#pragma once

namespace charlstm {
namespace lowercase_table {

// clang-format off
// A run of one-to-one mappings: code points first, first + stride, ... up to last map to
// themselves plus delta.  Sorted by first, disjoint; %(nsingle)d code points in %(nruns)d runs.
struct run {
  char32_t first, last;
  int delta, stride;
};
inline constexpr run runs[] = {
%(runs)s
};

// The mappings to more than one code point (SpecialCasing's unconditional lowercase).
struct expansion {
  char32_t from;
  char32_t to[3];  // unused entries are 0
};
inline constexpr expansion expansions[] = {
%(multi)s
};

// For capital sigma's final form (Final_Sigma): the case-ignorable code points, and the cased
// ones that are not case-ignorable, as str.lower() treats them.  Sorted, disjoint ranges.
struct range {
  char32_t first, last;
};
inline constexpr range case_ignorable[] = {
%(ign)s
};
inline constexpr range cased[] = {
%(cased)s
};

// clang-format on

}  // namespace lowercase_table
}  // namespace charlstm
""" % {
        "version": version,
        "nsingle": len(single),
        "nruns": len(runs),
        "runs": rows(run_items, 3),
        "multi": rows(multi_items, 1),
        "ign": rows(ign_items, 4),
        "cased": rows(cased_items, 4),
    }
    with open(HEADER, "w", encoding="utf-8") as f:
        f.write(header)

    def probe_ranges(k):
        return ranges(c for c in ALL if answers[c][k])

    with open(FIXTURE, "w", encoding="ascii") as f:
        f.write("# str.lower() of %s, written by tools/make_lowercase_table.py\n" % version)
        f.write("# map CP LOWER...: chr(CP).lower() when it is not chr(CP) (hex code points)\n")
        f.write("# before/alone/after FIRST LAST: the code points c in [FIRST, LAST] for which\n")
        f.write("#   ('A'+c+'\\u03a3'), (' '+c+'\\u03a3'), ('A\\u03a3'+c) lowercase the sigma to\n")
        f.write("#   its final form \\u03c2\n")
        f.write("# text IN... : OUT...: str.lower() of a whole text\n")
        for c in sorted(set(single) | set(multi)):
            lower = [single[c]] if c in single else multi[c]
            f.write("map %04X %s\n" % (c, " ".join("%04X" % x for x in lower)))
        for text in TEXTS:
            f.write(
                "text %s : %s\n"
                % (" ".join("%04X" % ord(x) for x in text), " ".join("%04X" % ord(x) for x in text.lower()))
            )
        for k, name in enumerate(("before", "alone", "after")):
            for first, last in probe_ranges(k):
                f.write("%s %04X %04X\n" % (name, first, last))
    print(
        "%d one-to-one mappings in %d runs, %d one-to-many, %d ignorable ranges, %d cased ranges"
        % (len(single), len(runs), len(multi), len(ignorable), len(cased))
    )


if __name__ == "__main__":
    main()
