"""Recordings beside transcripts: imported with them, attached, listed, exported byte for byte,
removed; refused when the contents are not what the extension says; carried through REFI-QDA
with the turns' timestamps; and played from a turn's timestamp in the app."""

from __future__ import annotations

import hashlib
import math
import struct
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualkit import media
from qualkit.cli import app
from qualkit.errors import ReaderError, StoreError
from qualkit.pipeline import import_paths

from .browser import browser_page, serve, set_coder

TEXT = """\
[00:00:00] Interviewer: How was work this week?

[00:00:02] P01: Long shifts, and no one to debrief with afterwards.

[00:00:04] Interviewer: And the drive home?

[00:00:05.500] P01: The drive gives me time to think.
"""


def tone(path: Path, seconds: float = 8.0, rate: int = 8000) -> Path:
    """A few seconds of a 440 Hz tone as a 16-bit mono WAV."""
    frames = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "interviews"
    folder.mkdir()
    text = folder / "p01.txt"
    text.write_text(TEXT, encoding="utf-8")
    return text, tone(folder / "p01.wav")


@pytest.fixture
def imported(make_project, pair):
    project = make_project()
    report = import_paths(project, [pair[0].parent], "tester")
    assert not report.errors, report.errors
    return project


def test_timestamps_in_seconds():
    assert media.timestamp_seconds("01:02:03.5") == 3723.5
    assert media.timestamp_seconds("1:05") == 65.0
    assert media.timestamp_seconds("00:01:05,200") == pytest.approx(65.2)
    assert media.timestamp_seconds("00:00:02") == 2.0
    for bad in ("", "1:75", "12", "a:bc", "1:60:00"):
        with pytest.raises(ValueError):
            media.timestamp_seconds(bad)
    assert media.seconds_or_none(None) is None and media.seconds_or_none("x") is None


def test_a_folder_import_attaches_the_recording_beside_its_transcript(imported, pair):
    store = imported.store
    assert store.transcript_names() == ["p01"]  # the .wav is no transcript of its own
    info = store.media_info("p01")
    assert info is not None and info.name == "p01.wav" and info.mime == "audio/wav"
    assert info.size == pair[1].stat().st_size and info.sha256 == sha(pair[1])
    assert info.chunks == 1
    turns = store.load_transcript("p01").segments
    assert [t.timestamp for t in turns] == ["00:00:00", "00:00:02", "00:00:04", "00:00:05.500"]
    events = [e for e in store.events() if e.entity == "media"]
    assert [(e.action, e.entity_id) for e in events] == [("attach", "p01")]
    # importing again changes nothing: same text, same recording
    again = import_paths(imported, [pair[0]], "tester")
    assert not again.errors and again.unchanged == 1
    assert len([e for e in store.events() if e.entity == "media"]) == 1


def test_a_recording_named_on_its_own_is_no_transcript(make_project, pair, tmp_path):
    project = make_project()
    lone = tone(tmp_path / "lone.wav", 1)
    report = import_paths(project, [pair[0], pair[1], lone], "tester")
    assert project.store.media_info("p01") is not None
    assert len(report.errors) == 1 and "lone.wav: a recording is imported with its " \
        "transcript" in report.errors[0]


def test_attach_list_export_remove_round_trip(imported, tmp_path, monkeypatch):
    store = imported.store
    big = tone(tmp_path / "long.wav", 80)  # ~1.3 MB: stored in two chunks
    info = media.attach(store, "p01", big, "lead")
    assert info.chunks == 2 and info.sha256 == sha(big)
    assert [i.name for i in store.media_list()] == ["long.wav"]  # replaced, not added
    out = tmp_path / "out" / "copy.wav"
    assert media.export(store, "p01", out).name == "long.wav"
    assert sha(out) == sha(big) and out.stat().st_size == big.stat().st_size
    attach = [e for e in store.events() if e.action == "attach"][0]
    assert attach.detail["replaced"]["name"] == "p01.wav"
    media.remove(store, "p01", "lead")
    assert store.media_info("p01") is None and store.media_list() == []
    with pytest.raises(StoreError, match="has no recording"):
        media.remove(store, "p01", "lead")
    with pytest.raises(StoreError, match="no transcript named 'nobody'"):
        media.attach(store, "nobody", big, "lead")
    # over the size limit: refused before anything is read or stored
    monkeypatch.setenv("QUALKIT_MAX_MEDIA_MB", "1")
    with pytest.raises(ReaderError, match=r"more than qualkit stores \(1 MB\)"):
        media.attach(store, "p01", big, "lead")
    assert store.media_info("p01") is None
    # and the store's own guard, for chunks that grow past it, rolls everything back
    with pytest.raises(StoreError, match="larger than 1 MB"):
        store.attach_media("p01", "x.wav", "audio/wav", iter([b"RIFF" * 300_000] * 2),
                           "lead", max_bytes=1024 ** 2)
    assert store.media_info("p01") is None


def test_a_file_whose_contents_are_not_its_extension_is_refused(imported, tmp_path, pair):
    fake = tmp_path / "p01.mp3"
    fake.write_text("Interviewer: not audio at all\n", encoding="utf-8")
    with pytest.raises(ReaderError) as exc:
        media.attach(imported.store, "p01", fake, "lead")
    message = str(exc.value)
    assert message.startswith(f"{fake}: the file's contents are not MP3 audio, as its "
                              "extension .mp3 says")
    assert "rename it, or convert it" in message
    renamed = tmp_path / "tone.mp4"  # a WAV named .mp4
    renamed.write_bytes(pair[1].read_bytes())
    with pytest.raises(ReaderError, match=r"not MPEG-4/QuickTime .* first bytes are WAV audio"):
        media.attach(imported.store, "p01", renamed, "lead")
    with pytest.raises(ReaderError, match=r"\.txt is not a recording qualkit stores"):
        media.attach(imported.store, "p01", pair[0], "lead")
    assert imported.store.media_info("p01").name == "p01.wav"  # untouched


def test_signatures():
    assert media.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert media.sniff(b"ID3\x04\x00") == "mp3"
    assert media.sniff(b"\xff\xfb\x90\x00") == "mp3"
    assert media.sniff(b"\xff\xf1\x50\x80") == "aac"
    assert media.sniff(b"\x00\x00\x00\x20ftypM4A ") == "mp4"
    assert media.sniff(b"\x1a\x45\xdf\xa3\x01") == "webm"
    assert media.sniff(b"OggS\x00") == "ogg" and media.sniff(b"fLaC") == "flac"
    assert media.sniff(b"%PDF-1.7") is None
    assert media.mime_of("A.M4A") == "audio/mp4" and media.mime_of("x.mov") == "video/quicktime"


def test_the_media_commands(imported, pair, tmp_path):
    runner = CliRunner()
    root = str(imported.root)
    other = tone(tmp_path / "second.wav", 3)
    result = runner.invoke(app, ["media", "attach", "p01", str(other), "-p", root,
                                 "--coder", "lead"])
    assert result.exit_code == 0, result.output
    assert "Attached second.wav (audio/wav" in result.output
    result = runner.invoke(app, ["media", "list", "-p", root])
    assert "p01: second.wav (audio/wav" in result.output and "added by lead" in result.output
    target = tmp_path / "exported.wav"
    result = runner.invoke(app, ["media", "export", "p01", "-o", str(target), "-p", root])
    assert result.exit_code == 0 and sha(target) == sha(other)
    result = runner.invoke(app, ["media", "export", "p01", "-o",
                                 str(imported.root / "qualkit.db"), "-p", root])
    assert result.exit_code == 1 and "the project's own file" in result.output
    fake = tmp_path / "fake.wav"
    fake.write_bytes(b"not a wave file at all")
    result = runner.invoke(app, ["media", "attach", "p01", str(fake), "-p", root])
    assert result.exit_code == 1 and "not WAV audio" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["media", "remove", "p01", "-p", root])
    assert result.exit_code == 0 and "Removed the recording second.wav" in result.output
    result = runner.invoke(app, ["media", "list", "-p", root])
    assert "No recordings" in result.output


def test_refi_qda_round_trip_keeps_the_recording_and_the_timestamps(imported, pair, shared,
                                                                    make_project, tmp_path):
    import xml.etree.ElementTree as ET
    import zipfile

    import xmlschema

    from qualkit import review
    from qualkit.exchange import export_qdpx

    store = imported.store
    text = store.load_transcript("p01").text
    start = text.index("no one to debrief")
    review.code_passage(store, "p01", start, start + len("no one to debrief with"),
                        "no_debrief", "Ana", "after the shift")
    review.set_transcript_memo(store, "p01", "voice is tired", "Ana")
    out = export_qdpx(imported, tmp_path / "study.qdpx")
    with zipfile.ZipFile(out) as zf:
        qde = zf.read("project.qde").decode("utf-8")
        wav = [n for n in zf.namelist() if n.endswith(".wav")]
        assert len(wav) == 1 and wav[0].startswith("sources/")
        assert hashlib.sha256(zf.read(wav[0])).hexdigest() == sha(pair[1])
        assert zf.getinfo(wav[0]).compress_type == zipfile.ZIP_STORED
    xmlschema.XMLSchema(shared / "refi-qda" / "Project.xsd").validate(qde)
    ns = {"q": "urn:QDA-XML:project:1.0"}
    root = ET.fromstring(qde)
    source = root.find("q:Sources/q:AudioSource", ns)
    assert source is not None and source.get("name") == "p01"
    assert source.get("path") == "internal://" + wav[0].removeprefix("sources/")
    assert root.find("q:Sources/q:TextSource", ns) is None
    points = source.findall("q:Transcript/q:SyncPoint", ns)
    timed = {int(p.get("position")): int(p.get("timeStamp")) for p in points
             if p.get("timeStamp") is not None}
    turns = store.load_transcript("p01").segments
    assert timed == {t.start: ms for t, ms in zip(turns, (0, 2000, 4000, 5500), strict=True)}
    selection = source.find("q:Transcript/q:TranscriptSelection", ns)
    by_guid = {p.get("guid"): int(p.get("position")) for p in points}
    assert (by_guid[selection.get("fromSyncPoint")], by_guid[selection.get("toSyncPoint")]) == \
        (start, start + len("no one to debrief with"))

    back = make_project("back")
    report = import_paths(back, [out], "tester")
    assert not report.errors, report.errors
    info = back.store.media_info("p01")
    assert info is not None and info.sha256 == sha(pair[1]) and info.mime == "audio/wav"
    assert info.name == "p01.wav"
    again = back.store.load_transcript("p01")
    assert again.text == text
    assert [t.timestamp for t in again.segments] == [t.timestamp for t in turns]
    [coding] = back.store.codings("p01")
    assert (coding.start, coding.end, coding.code_id, coding.coder, coding.memo) == \
        (start, start + len("no one to debrief with"), "no_debrief", "Ana", "after the shift")
    assert back.store.transcript_memos("p01") == {"Ana": "voice is tired"}
    # a second export of the imported project is the same archive content
    second = export_qdpx(back, tmp_path / "again.qdpx")
    with zipfile.ZipFile(second) as zf:
        assert [n for n in zf.namelist() if n.endswith(".wav")] == wav


def test_sync_points_give_turns_their_time_and_an_archive_without_the_file_warns(tmp_path):
    import zipfile

    from qualkit.exchange import read_qdpx

    qde = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="other" origin="elsewhere">
  <Sources>
    <VideoSource guid="11111111-1111-4111-8111-111111111111" name="focus group"
                 path="internal://missing.mp4">
      <Transcript guid="22222222-2222-4222-8222-222222222222">
        <PlainTextContent>Ann: hello there
Bob: and welcome back</PlainTextContent>
        <SyncPoint guid="33333333-3333-4333-8333-333333333333" position="17" timeStamp="65200"/>
      </Transcript>
    </VideoSource>
  </Sources>
</Project>"""
    path = tmp_path / "other.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
    content = read_qdpx(path)
    [doc] = content.documents
    assert doc.transcript.name == "focus group"
    assert [s.timestamp for s in doc.transcript.segments] == [None, "00:01:05.200"]
    assert content.recordings == {}
    assert any("recording 'internal://missing.mp4' is not in the archive" in w
               for w in content.warnings)


def test_a_pseudonymised_export_leaves_recordings_out(imported, tmp_path):
    import zipfile

    from qualkit.exchange import export_qdpx
    from qualkit.pseudonym import Pseudonym, Pseudonymiser

    out = export_qdpx(imported, tmp_path / "shared.qdpx",
                      pseudonymiser=Pseudonymiser([Pseudonym("P01", "Participant A")]))
    with zipfile.ZipFile(out) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".wav")]
        assert b"AudioSource" not in zf.read("project.qde")


def test_recordings_go_with_their_transcript_and_may_be_larger_members_of_a_qdpx(
        imported, tmp_path):
    import zipfile

    from qualkit.errors import ReaderError as Refused
    from qualkit.zipguard import GuardedZip, ZipLimits

    imported.store.rename_transcript("p01", "dana", "tester")
    assert imported.store.media_info("dana").name == "p01.wav"
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sources/a.wav", b"R" * 3000)
        zf.writestr("sources/a.txt", b"t" * 3000)
    limits = ZipLimits(member_bytes=2000, media_member_bytes=4000, ratio_min_bytes=10 ** 6)
    with pytest.raises(Refused, match="member 'sources/a.txt' is .* more than qualkit reads"):
        GuardedZip(path, limits=limits)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sources/a.wav", b"R" * 3000)
    with GuardedZip(path, limits=limits) as archive:
        assert b"".join(archive.stream("sources/a.wav")) == b"R" * 3000
    with pytest.raises(Refused, match="more than qualkit reads"):
        GuardedZip(path, limits=ZipLimits(member_bytes=2000, ratio_min_bytes=10 ** 6))
    # deleting the transcript takes its recording with it
    from qualkit.sources import delete_transcript

    delete_transcript(imported.store, "dana", "tester", force=True)
    assert imported.store.media_list() == []
    with imported.store.transaction() as s:
        from sqlalchemy import func, select

        from qualkit.store import MediaChunkRow
        assert s.scalar(select(func.count()).select_from(MediaChunkRow)) == 0


# muted (no sound card needed), and every position the player is sought to, as it lands
WATCH = """(sel) => { const a = document.querySelector(sel); a.muted = true;
  window.qkSeeks = []; a.addEventListener("seeked", () => window.qkSeeks.push(a.currentTime)); }"""
# the player was sought to ``at`` seconds and is playing from there
PLAYING = """([sel, at]) => { const a = document.querySelector(sel);
  return a && !a.paused && window.qkSeeks.some((x) => Math.abs(x - at) < 0.05)
    && a.currentTime >= at && a.currentTime < at + 2; }"""


@pytest.mark.browser
def test_a_turns_play_button_plays_the_recording_from_its_timestamp(chromium, imported,
                                                                    tmp_path):
    with serve(imported.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url)
        set_coder(page, "Tester")
        page.wait_for_selector(".qk-seg .qk-play")
        player = ".st-key-qk_player audio"
        page.wait_for_selector(player, state="attached")
        page.wait_for_function(f"document.querySelector('{player}').readyState >= 1",
                               timeout=20000)
        assert page.locator(".qk-play").count() == 4  # every turn with a timestamp
        turn = page.locator('.qk-seg[data-index="1"]')
        button = turn.locator(".qk-play")
        assert button.get_attribute("aria-label") == "Play the recording from 00:00:02"
        page.evaluate(WATCH, player)
        button.click()
        page.wait_for_function(PLAYING, arg=[player, 2.0], timeout=20000)
        page.locator('.qk-seg[data-index="3"] .qk-play').click()  # 00:00:05.500
        page.wait_for_function(PLAYING, arg=[player, 5.5], timeout=20000)
        # a turn without a recording has no play button: remove it and look again
        imported.store.remove_media("p01", "tester")
        page.reload()
        page.wait_for_selector(".qk-seg")
        page.wait_for_timeout(1500)
        assert page.locator(".qk-play").count() == 0
        # attached again through the app's uploader: the play buttons come back
        page.get_by_text("Attach a recording").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            str(tone(tmp_path / "upload.wav", 8)))
        page.get_by_role("button", name="Attach", exact=True).click()
        page.wait_for_selector(".qk-seg .qk-play", timeout=20000)
        assert page.locator(".qk-play").count() == 4
    info = imported.store.media_info("p01")
    assert info.name == "upload.wav" and info.sha256 == sha(tmp_path / "upload.wav")
