"""A transcript viewer as an inline Streamlit component (st.components.v2).

It shows turns with each code drawn as its own thin underline in the code's colour (stacked
in lanes under the words, so overlapping codes stay legible: machine suggestions dashed,
decisions solid), the codes of a turn as chips below it (at most ``MAX_CHIPS``, the others
behind "+n more"), and reports a text selection as character offsets (Unicode code points, as
qualkit stores them) so passages can be coded by hand. Clicking (or moving to) a chip
highlights exactly the words it covers and scrolls them into view. Transcript text is
untrusted: it only ever reaches the page through ``textContent``.

Keys (``KEYS_HELP``): ``j``/``k`` move to the next/previous suggestion, ``a`` accepts and
``r`` rejects it, ``Enter`` opens the chosen coding in the side panel, ``Escape`` clears.

With a recording (``player``), a turn with a timestamp has a play button: it seeks the page's
player (the ``st.audio``/``st.video`` element inside the container keyed ``PLAYER_KEY``, which
Streamlit serves from its media file manager) to the turn's second (``at``) and plays it, in
the browser, without a rerun.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

MAX_CHIPS = 3  # chips a turn shows before "+n more"
PLAYER_KEY = "qk_player"  # the st.container holding the recording's player
LANE_PX = 4  # vertical distance between stacked underlines
KEYS_HELP = ("Keys: **j** / **k** next / previous suggestion · **a** accept · **r** reject · "
             "**Enter** open it in the side panel · **Esc** clear. Click a code to see "
             "exactly which words it covers.")

CSS = """
.qk-transcript { font-size: 1rem; line-height: 1.6; max-width: 52rem; }
.qk-seg { padding: .35rem .6rem .45rem; border-left: 3px solid transparent;
  margin-bottom: .4rem; }
.qk-seg.qk-interviewer { color: var(--st-text-color, #333); opacity: .72; }
.qk-seg.qk-current { border-left-color: var(--st-primary-color, #f63366);
  background: rgba(0,0,0,.03); }
.qk-speaker { font-weight: 600; margin-right: .4rem; }
.qk-ts { font-size: .75rem; opacity: .6; margin-right: .4rem; }
.qk-text { white-space: pre-wrap; }
.qk-play { border: 1px solid #c8c8c8; border-radius: 50%; background: #fff; cursor: pointer;
  width: 1.5rem; height: 1.5rem; font-size: .7rem; line-height: 1; padding: 0;
  margin-right: .4rem; color: #222; vertical-align: middle; }
.qk-play:hover, .qk-play:focus { border-color: var(--st-primary-color, #f63366); }
.qk-piece.qk-marked { background-repeat: no-repeat; -webkit-box-decoration-break: clone;
  box-decoration-break: clone; }
.qk-piece.qk-hl { background-color: var(--qk-hl, rgba(255, 215, 0, .35));
  border-radius: 2px; }
.qk-tags { margin-top: .3rem; display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; }
.qk-tag { font-size: .78rem; border: 1px solid #c8c8c8; border-radius: 1rem; padding: 0 .5rem;
  display: inline-flex; align-items: center; gap: .3rem; cursor: pointer; background: #fff;
  color: #222; }
.qk-tag:focus { outline: 2px solid var(--st-primary-color, #f63366); outline-offset: 1px; }
.qk-tag.qk-suggested { border-style: dashed; border-color: #888; background: #fafafa; }
.qk-tag.qk-rejected { text-decoration: line-through; opacity: .55; }
.qk-tag.qk-selected { box-shadow: 0 0 0 2px var(--st-primary-color, #f63366); }
.qk-tag.qk-hidden { display: none; }
.qk-chip { width: .75rem; height: .75rem; border-radius: 2px; display: inline-block;
  box-sizing: border-box; }
.qk-suggested .qk-chip { background: transparent !important; border: 2px dashed; }
.qk-strength { opacity: .7; }
.qk-btn { border: none; background: none; cursor: pointer; font-size: .85rem; padding: 0 .15rem;
  color: inherit; }
.qk-btn:hover { background: #eee; border-radius: 3px; }
.qk-more { font-size: .75rem; border: none; background: none; cursor: pointer; padding: 0 .3rem;
  color: var(--st-primary-color, #f63366); text-decoration: underline; }
"""

JS = r"""
function cps(s) { return Array.from(s).length; }
const ORDER = { suggested: 0, accepted: 1, rejected: 2 };

export default function (component) {
  const { setTriggerValue, parentElement } = component;
  const data = JSON.parse((component.data || {}).json || "{}");
  const MAX = data.max_chips || 3, LANE = data.lane_px || 4;
  // Keep the <style> Streamlit puts beside us: reuse our own root, never clear the parent.
  let root = parentElement.querySelector(".qk-transcript");
  if (!root) {
    root = document.createElement("div");
    root.className = "qk-transcript";
    parentElement.appendChild(root);
    root.qkOpen = new Set();  // turns whose "+n more" is open, kept across reruns
  }
  // a rerun redraws everything: keep the keyboard's place (the chip that had the focus)
  const ae = document.activeElement;
  const hadFocus = ae && root.contains(ae) && ae.classList.contains("qk-tag")
    ? ae.dataset.id : null;
  root.replaceChildren();
  root.qkSend = setTriggerValue;
  const marks = data.marks || [];
  const byId = {};
  marks.forEach((m) => { byId[m.id] = m; });

  function underline(m, lane) {
    const c = m.color;
    const img = m.status === "suggested"
      ? "repeating-linear-gradient(90deg," + c + " 0 5px,transparent 5px 8px)"
      : "linear-gradient(" + c + "," + c + ")";
    return { img, pos: "0 calc(100% - " + (lane * LANE) + "px)",
             size: "100% " + (m.status === "suggested" ? 2 : 3) + "px" };
  }

  (data.segments || []).forEach((seg) => {
    const box = document.createElement("div");
    box.className = "qk-seg" + (seg.role === "interviewer" ? " qk-interviewer" : "") +
      (data.current === seg.i ? " qk-current" : "");
    box.dataset.index = seg.i;
    const head = document.createElement("span");
    if (data.player && seg.at != null) {
      const play = document.createElement("button"); play.className = "qk-play";
      play.textContent = "\u25B6"; play.dataset.at = seg.at;
      const tip = "Play the recording from " + seg.ts;
      play.title = tip; play.setAttribute("aria-label", tip);
      play.onclick = (e) => { e.stopPropagation(); playFrom(seg.at); };
      head.appendChild(play);
    }
    if (seg.ts) {
      const ts = document.createElement("span"); ts.className = "qk-ts";
      ts.textContent = "[" + seg.ts + "]"; head.appendChild(ts);
    }
    const who = document.createElement("span"); who.className = "qk-speaker";
    who.textContent = seg.speaker ? seg.speaker + ":" : ""; head.appendChild(who);
    box.appendChild(head);
    const text = document.createElement("span"); text.className = "qk-text";
    const chars = Array.from(seg.text);
    const inside = marks.filter((m) => m.start < seg.end && m.end > seg.start);
    const drawn = inside.filter((m) => m.status !== "rejected")
      .sort((x, y) => x.start - y.start || y.end - x.end);
    // lanes: a code keeps one lane along its whole passage; overlapping codes get others
    const laneOf = {}, laneEnd = [];
    drawn.forEach((m) => {
      let l = laneEnd.findIndex((e) => e <= m.start);
      if (l < 0) { l = laneEnd.length; laneEnd.push(0); }
      laneEnd[l] = m.end; laneOf[m.id] = l;
    });
    const lanes = laneEnd.length;
    if (lanes) text.style.lineHeight = "calc(1.6em + " + (lanes * LANE) + "px)";
    const cuts = new Set([seg.start, seg.end]);
    inside.forEach((m) => {
      cuts.add(Math.max(m.start, seg.start)); cuts.add(Math.min(m.end, seg.end));
    });
    const points = Array.from(cuts).sort((a, b) => a - b);
    for (let k = 0; k + 1 < points.length; k++) {
      const a = points[k], b = points[k + 1];
      const piece = document.createElement("span");
      piece.className = "qk-piece";
      piece.dataset.start = a; piece.dataset.end = b;
      piece.textContent = chars.slice(a - seg.start, b - seg.start).join("");
      const covering = drawn.filter((m) => m.start <= a && m.end >= b);
      if (covering.length) {
        piece.classList.add("qk-marked");
        piece.dataset.codes = covering.map((m) => m.id).join(" ");
        const lines = covering.map((m) => underline(m, laneOf[m.id]));
        piece.style.backgroundImage = lines.map((x) => x.img).join(",");
        piece.style.backgroundPosition = lines.map((x) => x.pos).join(",");
        piece.style.backgroundSize = lines.map((x) => x.size).join(",");
        piece.style.paddingBottom = (lanes * LANE) + "px";
        piece.title = covering.map((m) => m.label + (m.status === "suggested"
          ? " (suggested, " + m.strength + ")" : " (" + m.coder + ")")).join("\n");
      }
      text.appendChild(piece);
    }
    box.appendChild(text);
    if (inside.length) {
      const tags = document.createElement("div"); tags.className = "qk-tags";
      const chips = inside.slice().sort((x, y) =>
        ORDER[x.status] - ORDER[y.status] || x.start - y.start);
      const open = root.qkOpen.has(seg.i) ||
        chips.slice(MAX).some((m) => m.id === data.selected);
      chips.forEach((m, n) => {
        const tag = document.createElement("span");
        tag.className = "qk-tag qk-" + m.status + (data.selected === m.id ? " qk-selected" : "")
          + (n >= MAX && !open ? " qk-hidden" : "");
        tag.tabIndex = 0; tag.dataset.id = m.id;
        const chip = document.createElement("span"); chip.className = "qk-chip";
        chip.style.background = m.color; chip.style.borderColor = m.color;
        tag.appendChild(chip);
        const label = document.createElement("span");
        label.textContent = m.label;
        tag.appendChild(label);
        const extra = document.createElement("span"); extra.className = "qk-strength";
        extra.textContent = m.status === "suggested" ? "suggested · " + m.strength
          : m.coder;
        tag.appendChild(extra);
        tag.title = (m.status === "suggested" ? "Suggested by qualkit. " : "") +
          (m.rationale || "");
        tag.setAttribute("aria-label", m.label + ", " + m.status);
        tag.onclick = () => { root.qkResume = null; show(m.id, true); send("select", m.id); };
        tag.onfocus = () => show(m.id, false);
        if (m.status === "suggested") {
          const buttons = [["accept", "✓", "Accept (a)"], ["reject", "✗", "Reject (r)"]];
          buttons.forEach(([op, sym, tip]) => {
            const b = document.createElement("button"); b.className = "qk-btn qk-" + op;
            b.textContent = sym; b.title = tip; b.setAttribute("aria-label", tip);
            b.tabIndex = -1;
            b.onclick = (e) => { e.stopPropagation(); send(op, m.id); };
            tag.appendChild(b);
          });
        }
        tags.appendChild(tag);
      });
      if (chips.length > MAX) {
        const more = document.createElement("button"); more.className = "qk-more";
        more.textContent = open ? "show fewer" : "+" + (chips.length - MAX) + " more";
        more.onclick = () => {
          if (root.qkOpen.has(seg.i)) root.qkOpen.delete(seg.i); else root.qkOpen.add(seg.i);
          const nowOpen = root.qkOpen.has(seg.i);
          tags.querySelectorAll(".qk-tag").forEach((t, n) => {
            if (n >= MAX) t.classList.toggle("qk-hidden", !nowOpen);
          });
          more.textContent = nowOpen ? "show fewer" : "+" + (chips.length - MAX) + " more";
        };
        tags.appendChild(more);
      }
      box.appendChild(tags);
    }
    root.appendChild(box);
  });

  function send(op, id) { root.qkSend("action", { op, id, n: Date.now() }); }

  // the page's player, seeked and started; before its metadata is in, once it is (after
  // Streamlit's own handler, which sets the element's start time)
  function playFrom(at) {
    const sel = ".st-key-" + (data.player_key || "qk_player");
    const el = document.querySelector(sel + " audio, " + sel + " video");
    if (!el) return;
    const go = () => {
      el.currentTime = at;
      const started = el.play();
      if (started && started.catch) started.catch(() => {});
    };
    if (el.readyState >= 1) go(); else el.addEventListener("loadedmetadata", go, { once: true });
  }

  // exactly the words of one coding: its pieces highlighted, scrolled into view
  function show(id, scroll) {
    root.querySelectorAll(".qk-piece.qk-hl").forEach((p) => p.classList.remove("qk-hl"));
    root.querySelectorAll(".qk-tag.qk-active").forEach((t) => t.classList.remove("qk-active"));
    const m = byId[id];
    if (!m) return;
    root.style.setProperty("--qk-hl", m.color + "38");
    const pieces = Array.from(root.querySelectorAll(".qk-piece")).filter((p) =>
      Number(p.dataset.start) >= m.start && Number(p.dataset.end) <= m.end);
    pieces.forEach((p) => p.classList.add("qk-hl"));
    root.querySelectorAll('.qk-tag[data-id="' + id + '"]')
      .forEach((t) => t.classList.add("qk-active"));
    if (scroll && pieces.length) pieces[0].scrollIntoView({ block: "center" });
  }

  function clear() {
    root.querySelectorAll(".qk-piece.qk-hl").forEach((p) => p.classList.remove("qk-hl"));
    root.querySelectorAll(".qk-tag.qk-selected")
      .forEach((t) => t.classList.remove("qk-selected"));
  }

  function reveal(tag) {
    if (tag.classList.contains("qk-hidden")) {
      const box = tag.closest(".qk-seg");
      const more = box.querySelector(".qk-more");
      if (more) more.click();
    }
  }

  function suggestions() { return Array.from(root.querySelectorAll(".qk-tag.qk-suggested")); }

  root.qkKeys = (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT", "BUTTON"]
      .includes(t.tagName) && !root.contains(t))) return;
    const active = root.contains(document.activeElement) &&
      document.activeElement.classList.contains("qk-tag") ? document.activeElement
      : root.querySelector(".qk-tag.qk-selected");
    const id = active ? Number(active.dataset.id) : null;
    if (["j", "k", "Enter", "Escape"].includes(e.key)) root.qkResume = null;
    if (e.key === "j" || e.key === "k") {
      const all = suggestions();
      if (!all.length) return;
      let i = active ? all.indexOf(active) : -1;
      i = e.key === "j" ? i + 1 : (i < 0 ? all.length - 1 : i - 1);
      const next = all[Math.max(0, Math.min(all.length - 1, i))];
      reveal(next); next.focus(); show(Number(next.dataset.id), true);
      e.preventDefault();
    } else if ((e.key === "a" || e.key === "r") && active &&
               active.classList.contains("qk-suggested")) {
      root.qkResume = { index: suggestions().indexOf(active), id: String(id),
                        until: Date.now() + 15000 };
      send(e.key === "a" ? "accept" : "reject", id);
      e.preventDefault();
    } else if (e.key === "Enter" && active) {
      show(id, true); send("select", id);
      e.preventDefault();
    } else if (e.key === "Escape") {
      clear();
      if (document.activeElement && root.contains(document.activeElement)) {
        document.activeElement.blur();
      }
      if (data.selected != null) send("clear", data.selected);
    }
  };
  if (!root.qkListening) {
    root.qkListening = true;
    const listener = (e) => {
      if (!document.contains(root)) {
        document.removeEventListener("keydown", listener); return;
      }
      root.qkKeys(e);
    };
    document.addEventListener("keydown", listener);
  }

  function offsetOf(node, offset) {
    if (node.nodeType === Node.TEXT_NODE) {
      const piece = node.parentElement.closest(".qk-piece");
      if (!piece) return null;
      return Number(piece.dataset.start) + cps(node.data.slice(0, offset));
    }
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const child = el.childNodes[offset] || null;
    const pieces = Array.from(root.querySelectorAll(".qk-piece"));
    const target = child ? (child.closest ? child.closest(".qk-piece") : null) ||
      pieces.find((p) => child.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING ||
                         child.contains(p)) : null;
    if (target) return Number(target.dataset.start);
    const last = pieces.filter((p) => el.contains(p)).pop();
    return last ? Number(last.dataset.start) + cps(last.textContent) : null;
  }

  root.onmouseup = () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return;
    const range = sel.getRangeAt(0);
    if (!root.contains(range.commonAncestorContainer)) return;
    const a = offsetOf(range.startContainer, range.startOffset);
    const b = offsetOf(range.endContainer, range.endOffset);
    if (a == null || b == null || b <= a) return;
    setTriggerValue("selection", { start: a, end: b, text: sel.toString() });
  };

  if (data.selected != null && byId[data.selected]) {
    show(data.selected, root.qkShown !== data.selected);
    root.qkShown = data.selected;
  } else {
    root.qkShown = null;
  }
  // after a keyboard decision: on to the next suggestion, once the decision is in the data
  // (a redraw may come before it)
  if (root.qkResume && Date.now() > root.qkResume.until) root.qkResume = null;
  const waiting = root.qkResume && root.querySelector(
    '.qk-tag.qk-suggested[data-id="' + root.qkResume.id + '"]');
  if (waiting) {
    waiting.focus({ preventScroll: true });
    return;
  }
  if (root.qkResume != null) {
    const all = suggestions();
    const next = all[Math.min(root.qkResume.index, all.length - 1)];
    root.qkResume = null;
    if (next) {
      reveal(next); next.focus({ preventScroll: true }); show(Number(next.dataset.id), true);
    }
    return;
  }
  const kept = hadFocus && root.querySelector('.qk-tag[data-id="' + hadFocus + '"]');
  if (kept) {
    reveal(kept); kept.focus({ preventScroll: true }); show(Number(hadFocus), false);
    return;
  }
  const first = root.querySelector(".qk-tag.qk-selected") ||
    (data.focus ? root.querySelector(".qk-tag.qk-suggested") : null);
  if (first && data.focus) first.focus();
  const here = root.querySelector(".qk-seg.qk-current");
  if (here) here.scrollIntoView({ block: "center" });
}
"""

_viewer = st.components.v2.component("qualkit.transcript", css=CSS, js=JS,
                                      isolate_styles=False)


def transcript_view(segments: list[dict[str, Any]], marks: list[dict[str, Any]], *,
                    key: str, selected: int | None = None, current: int | None = None,
                    focus: bool = False, player: bool = False) -> Any:
    """Mount the viewer; the result's ``selection`` and ``action`` hold this run's events.
    With ``player``, turns whose ``at`` (seconds) is set get a play button."""
    # Sent as one JSON string in a dict: Streamlit looks for dataframes among a dict's values
    # (and in anything else but bytes), which imports pandas unless each value is a plain
    # string: 1.6 s of the first page of a fresh server process.
    data = {"json": json.dumps({"segments": segments, "marks": marks, "selected": selected,
                                "current": current, "focus": focus, "max_chips": MAX_CHIPS,
                                "lane_px": LANE_PX, "player": player,
                                "player_key": PLAYER_KEY})}
    return _viewer(key=key, data=data, on_selection_change=lambda: None,
                   on_action_change=lambda: None)
