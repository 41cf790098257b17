import pytest

from qualkit.segment import TextBuilder, default_role, parse_turns, sentence_spans

TEXT = """# Interview 3

[00:00:05] Interviewer: Hello there.
Dana: So I work alone.
It is hard.

**Interviewer:** And then?
Dana [00:01:02]: Well: it depends on the day.

A second paragraph from Dana.
"""


def test_turns_have_exact_offsets_speakers_roles_and_timestamps():
    title, *segs = parse_turns(TEXT, markdown=True)
    # the heading before the first label is a segment of its own: nobody says it
    assert (title.speaker, title.role, title.text) == ("", "document", "Interview 3")
    assert [s.speaker for s in segs] == ["Interviewer", "Dana", "Interviewer", "Dana", "Dana"]
    assert [s.role for s in segs] == ["interviewer", "participant", "interviewer",
                                      "participant", "participant"]
    assert segs[0].timestamp == "00:00:05" and segs[3].timestamp == "00:01:02"
    for s in [title, *segs]:
        assert TEXT[s.start:s.end] == s.text
    assert segs[1].text == "So I work alone.\nIt is hard."
    assert segs[3].text == "Well: it depends on the day."
    assert segs[4].text == "A second paragraph from Dana."
    assert [s.index for s in [title, *segs]] == list(range(6))


def test_text_without_speaker_labels_becomes_paragraph_segments():
    text = "First paragraph here.\n\n  Second one,\nstill second.\n"
    segs = parse_turns(text)
    assert [s.text for s in segs] == ["First paragraph here.", "Second one,\nstill second."]
    assert all(text[s.start:s.end] == s.text for s in segs)
    assert all(s.speaker == "" for s in segs)


def test_long_prose_with_a_colon_is_not_a_speaker():
    text = ("Interviewer: Hi.\n\nP1: Yes.\n"
            "The thing I said to my manager at the time was this: no.\n")
    segs = parse_turns(text)
    assert [s.speaker for s in segs] == ["Interviewer", "P1"]
    assert segs[1].text.endswith("this: no.")


def test_roles_from_explicit_map_win():
    assert default_role("Sam", {"sam": "interviewer"}) == "interviewer"
    assert default_role("Researcher") == "interviewer"
    assert default_role("Dana") == "participant"


def test_text_builder_offsets():
    b = TextBuilder()
    b.add("Interviewer", "Hello?", "00:00:01")
    b.add("Client", "  Hi there. ")
    text = b.text
    assert text == "[00:00:01] Interviewer: Hello?\n\nClient: Hi there."
    assert [text[s.start:s.end] for s in b.segments] == ["Hello?", "Hi there."]


def test_sentence_spans_are_exact_and_trimmed():
    text = "Dana: One sentence here. And another!  Third?"
    spans = sentence_spans(text, 6)
    assert [text[s.start:s.end] for s in spans] == ["One sentence here.", "And another!",
                                                     "Third?"]


@pytest.mark.parametrize("line", ["INT: [00:00:05] So, how was the week?",
                                  "[00:00:05] INT: So, how was the week?",
                                  "INT (00:00:05): So, how was the week?",
                                  "INT: (0:00:05) So, how was the week?"])
def test_a_timestamp_before_or_after_the_label_is_never_part_of_the_text(line):
    text = line + "\n\nDana: Quiet.\n"
    first, second = parse_turns(text)
    assert (first.speaker, first.text, first.timestamp) == (
        "INT", "So, how was the week?", line[line.index("0"):].split("]")[0].split(")")[0])
    assert text[first.start:first.end] == first.text and second.timestamp is None
