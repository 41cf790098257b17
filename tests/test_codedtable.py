from __future__ import annotations

import pytest

from qualkit.codedtable import (
    TableRow,
    documents_from_rows,
    read_coded_table,
    read_table_rows,
    write_coded_table,
)
from qualkit.errors import ReaderError

ROWS = [
    TableRow("int1", 0, "Interviewer", "Hi, how are you?", [], "ann", "", {"region": "North"}),
    TableRow("int1", 1, "Dana", "=SUM(A1) is what I'd say; alone, mostly.",
             ["working_alone", "no_debrief"], "ann", "strong case", {"region": "North"}),
    TableRow("int1", 1, "Dana", "=SUM(A1) is what I'd say; alone, mostly.", ["working_alone"],
             "bob", "", {"region": "North"}),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    write_coded_table(ROWS, path)
    back = read_table_rows(path)
    assert back == ROWS
    docs = read_coded_table(path)
    assert len(docs) == 1 and len(docs[0].codings) == 3


def test_missing_columns_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("document,text\nint1,hello\n")
    with pytest.raises(ReaderError, match=r"t.csv:1: missing column\(s\) segment, speaker, codes"):
        read_table_rows(path)


def test_bad_segment_number_names_row_and_field(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("document,segment,speaker,text,codes\nint1,0,A,hi,\nint1,two,B,yo,\n")
    with pytest.raises(ReaderError, match=r"t.csv:3: segment: 'segment' must be a whole number"):
        read_table_rows(path)


def test_conflicting_text_for_one_segment(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("document,segment,speaker,text,codes,coder\n"
                    "int1,0,A,hi,,ann\nint1,0,A,hello,,bob\n")
    with pytest.raises(ReaderError, match="segment 0 has different text"):
        read_coded_table(path)


def test_bad_xlsx(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ReaderError, match="not a valid Excel"):
        read_table_rows(path)


def test_an_imported_table_says_which_turns_each_coder_went_through(tmp_path):
    """A row with no codes is a turn its coder coded as "none": agreement on an imported
    table counts it (the project records it as a coded range)."""
    from qualkit.agreement.project import decision_rows
    from qualkit.store import Store

    rows = [TableRow("t1", i, "Dana", f"Turn {i}.", codes, coder, "", {})
            for i, codes_by in enumerate([{"ann": ["a"], "bob": []},
                                          {"ann": [], "bob": []},
                                          {"ann": [], "bob": ["a"]},
                                          {"ann": []}])
            for coder, codes in codes_by.items()]
    [doc] = documents_from_rows(rows)
    assert doc.coded == {"ann": [0, 1, 2, 3], "bob": [0, 1, 2]}
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        store.add_documents([doc], "ann")
        assert store.coded_ranges() == {"t1": {"ann": [(0, 3)], "bob": [(0, 2)]}}
        got = {(r.segment, r.coder): r.codes for r in decision_rows(store)}
        assert got == {(0, "ann"): ["a"], (0, "bob"): [], (1, "ann"): [], (1, "bob"): [],
                       (2, "ann"): [], (2, "bob"): ["a"], (3, "ann"): []}
    finally:
        store.close()
