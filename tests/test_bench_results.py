"""Every benchmark table in the README has its results JSON behind it, and its numbers are
that JSON's numbers (nobody edits a figure by hand, and no figure is typed in)."""

import itertools
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECTIONS = dict(re.findall(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->", README, re.S))
# A number in a cell: 1,234 / 0.2393 / -3.5 / 3.4x (a ratio); not part of a word or a name.
NUMBER = re.compile(r"(?<![\w.@-])[-+]?\d[\d,]*(?:\.\d+)?(?![\w.-])x?")
# Units the tables use for the JSON's values: as is, percent, milliseconds, MiB.
SCALES = (1.0, 100.0, 1000.0, 1.0 / 2 ** 20)


def _numbers(value, out):
    if isinstance(value, bool):
        return out
    if isinstance(value, (int, float)):
        out.append(float(value))
    elif isinstance(value, dict):
        for item in value.values():
            _numbers(item, out)
    elif isinstance(value, list):
        for item in value:
            _numbers(item, out)
    return out


def _tables(body):
    """Each markdown table of a section: its body rows, as lists of cells."""
    for block in re.split(r"\n(?!\|)", body):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if len(rows) >= 3:
            yield [[cell.strip() for cell in row.strip().strip("|").split("|")]
                   for row in rows[2:]]


def _values(cells):
    return [float(token.replace(",", "")) for cell in cells
            for token in NUMBER.findall(cell) if not token.endswith("x")]


def unbacked(name, body):
    """The table cells' numbers that no number of the section's JSON (or of a benchmark
    the section cites) gives at the printed precision. A ratio ``Nx`` may also be the
    quotient of two numbers of its table; any number may be the sum, difference or
    product of two numbers of its row (a derived cell, such as users = calls x 64)."""
    cited = {name} | set(re.findall(r"bench/(\w+)\.py", body))
    known = []
    for bench in cited:
        path = ROOT / "bench" / "results" / f"{bench}.json"
        if path.exists():
            _numbers(json.loads(path.read_text()), known)
    known = [n * scale for n in known for scale in SCALES]
    missing = []
    for rows in _tables(body):
        table_values = [v for row in rows for v in _values(row[1:])]
        for row in rows:
            row_values = _values(row)
            for cell in row[1:]:
                for token in NUMBER.findall(cell):
                    text = token.rstrip("x").replace(",", "")
                    digits = len(text.split(".")[1]) if "." in text else 0
                    value, tol = float(text), 0.5 * 10 ** -digits + 1e-9
                    ok = any(abs(n - value) <= tol for n in known)
                    if not ok and token.endswith("x"):
                        ok = any(b and abs(a / b - value) <= tol
                                 for a, b in itertools.permutations(table_values, 2))
                    if not ok:
                        ok = any(abs(f - value) <= tol for a, b in
                                 itertools.permutations(row_values, 2)
                                 for f in (a + b, a - b, a * b))
                    if not ok:
                        missing.append(f"{cell!r}: {token}")
    return missing


def test_the_readme_has_benchmark_sections():
    assert {"peers_ml100k", "neumf_speed", "negative_sampling"} <= set(SECTIONS)


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_section_has_its_results_json(name):
    path = ROOT / "bench" / "results" / f"{name}.json"
    assert path.exists(), f"README section bench:{name} has no {path.name}"
    payload = json.loads(path.read_text())
    footer = (f"_Command: `{payload['command']}`; measured {payload['machine']['date']} on "
              f"{payload['machine']['cpu_count']} CPU cores._")
    assert footer in SECTIONS[name], f"bench:{name} was not written from {path.name}"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_every_number_in_the_section_comes_from_its_json(name):
    assert unbacked(name, SECTIONS[name]) == []


def test_a_typed_in_number_is_caught():
    body = SECTIONS["sparse_adam"].replace("| keras Adam |", "| keras Adam | 123.456 |", 1)
    assert "'123.456': 123.456" in unbacked("sparse_adam", body)
