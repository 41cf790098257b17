"""Fuzzing at volume (issue #12): the hypothesis properties of tests/test_fuzz.py, run with many
more examples, counting what every reader made of each input.

    python -m benchmarks.fuzz_volume [--examples 2000] [--only SUFFIX_OR_NAME ...]

Every property of tests/test_fuzz.py (mutated and generated .txt/.md/.vtt/.srt/.csv files,
mutated .docx/.xlsx/.qdpx/.qdc, generated front matter, mutated and generated codebooks,
generated coded tables written and read back) runs with its own strategies and body (taken from
the test itself: ``test.hypothesis.inner_test`` and its ``@given`` strategies, nothing
duplicated here) under the test's settings (derandomized, so the same inputs on every run) with
``max_examples=--examples`` for each property and file type. The readers the properties call
(``read_path``, ``load_codebook``, ``read_coded_table``) are counted as they run:

- inputs tried: files a reader was given;
- refused: it raised a ``QualkitError`` of one line (a codebook's ``CodebookError`` lists every
  problem, one per line, by design: counted apart as "refused, listing problems");
- read fine: it returned, and the property's checks (exact offsets) held;
- failures: anything else (another exception, a broken property); must be 0. The first few
  are printed with the input.

A failure does not stop the run: it is counted and hypothesis goes on to the next input.
Exits 1 if there was any failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings

import tests.test_fuzz as fuzz
from qualkit.errors import CodebookError, QualkitError

# What each property reads: its test, the file types it runs for, and the reader's name per type.
READER_FUNCTIONS = ("read_path", "load_codebook", "read_coded_table")


@dataclass
class Tally:
    reader: str
    properties: list[str] = field(default_factory=list)
    tried: int = 0
    refused: int = 0
    listed: int = 0
    read: int = 0
    failures: int = 0
    elapsed: float = 0.0
    examples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.examples) < 3:
            self.examples.append(what[:500])


@dataclass
class Property:
    name: str
    test: Any
    suffix: str | None  # the parametrized file type, if any
    reader: str


def properties() -> list[Property]:
    """Every hypothesis property in tests/test_fuzz.py, once per parametrized file type."""
    found = []
    for name in dir(fuzz):
        test = getattr(fuzz, name)
        if not name.startswith("test_") or not hasattr(test, "hypothesis"):
            continue
        suffixes: list[str | None] = [None]
        for mark in getattr(test, "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0] == "suffix":
                suffixes = list(mark.args[1])
        for suffix in suffixes:
            found.append(Property(name, test, suffix, _reader(name, suffix)))
    return found


def _reader(name: str, suffix: str | None) -> str:
    if "codebook" in name:
        return "codebook .yaml"
    if "coded_table" in name:
        return f"coded table {suffix}"
    if "front_matter" in name:
        return ".md"
    return suffix or name


@contextmanager
def counting(tally: Callable[[], Tally]) -> Iterator[None]:
    """The readers tests/test_fuzz.py calls, wrapped to count what each made of its input."""
    originals = {name: getattr(fuzz, name) for name in READER_FUNCTIONS}

    def wrap(reader: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            t = tally()
            t.tried += 1
            try:
                out = reader(*args, **kwargs)
            except CodebookError:
                t.listed += 1
                raise
            except QualkitError as exc:
                if "\n" in str(exc):
                    t.fail(f"a refusal of more than one line: {exc!r}")
                else:
                    t.refused += 1
                raise
            except Exception:  # counted as a failure where the property is run
                raise
            t.read += 1
            return out

        return counted

    for name, reader in originals.items():
        setattr(fuzz, name, wrap(reader))
    try:
        yield
    finally:
        for name, reader in originals.items():
            setattr(fuzz, name, reader)


def run_property(prop: Property, examples: int, tally: Tally) -> None:
    """The property's own body over its own strategies, ``examples`` times; an exception from
    it is a failure, counted, and the run goes on."""
    handle = prop.test.hypothesis
    inner = handle.inner_test
    fixed = {} if prop.suffix is None else {"suffix": prop.suffix}

    def body(**drawn: Any) -> None:
        read_before = tally.read
        try:
            inner(**fixed, **drawn)
        except Exception as exc:  # noqa: BLE001 - what this benchmark counts
            if tally.read > read_before:  # it read the file, then a check failed
                tally.read -= 1
            tally.fail(f"{type(exc).__name__}: {exc} <- {prop.name}"
                       f"{f'[{prop.suffix}]' if prop.suffix else ''} {drawn!r}")

    own = getattr(prop.test, "_hypothesis_internal_use_settings", fuzz.FUZZ)
    runner = settings(own, max_examples=examples)(given(**handle._given_kwargs)(body))
    runner()


def table(tallies: list[Tally]) -> str:
    head = ("reader", "inputs tried", "refused (one line)", "refused, listing problems",
            "read fine", "failures", "elapsed")
    rows = [head] + [(t.reader, str(t.tried), str(t.refused), str(t.listed), str(t.read),
                      str(t.failures), f"{t.elapsed:.0f} s") for t in tallies]
    total = Tally("total", tried=sum(t.tried for t in tallies),
                  refused=sum(t.refused for t in tallies), listed=sum(t.listed for t in tallies),
                  read=sum(t.read for t in tallies), failures=sum(t.failures for t in tallies),
                  elapsed=sum(t.elapsed for t in tallies))
    rows.append((total.reader, str(total.tried), str(total.refused), str(total.listed),
                 str(total.read), str(total.failures), f"{total.elapsed:.0f} s"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000,
                        help="examples per property and file type (tests/test_fuzz.py: 50-100)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="only readers or properties whose name contains one of these")
    args = parser.parse_args(argv)
    props = [p for p in properties() if not args.only
             or any(o in p.reader or o in p.name for o in args.only)]
    tallies: dict[str, Tally] = {}
    current: list[Tally] = []
    with counting(lambda: current[-1]):
        for prop in props:
            tally = tallies.setdefault(prop.reader, Tally(prop.reader))
            tally.properties.append(prop.name)
            current.append(tally)
            started = time.monotonic()
            before = tally.tried
            run_property(prop, args.examples, tally)
            tally.elapsed += time.monotonic() - started
            print(f"{prop.name}{f'[{prop.suffix}]' if prop.suffix else ''}: "
                  f"{tally.tried - before} inputs, {time.monotonic() - started:.0f} s",
                  flush=True)
    print()
    print(table(list(tallies.values())))
    failed = [t for t in tallies.values() if t.failures]
    for t in failed:
        for example in t.examples:
            print(f"FAILURE ({t.reader}): {example}")
    print("\nfailures: 0" if not failed else f"\nFAILED: {sum(t.failures for t in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
