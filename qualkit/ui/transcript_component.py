"""A transcript viewer as an inline Streamlit component (st.components.v2).

It shows turns with coded spans highlighted in each code's colour and the code names beside
them, suggestions with their confidence and accept/reject buttons, and reports a text selection
as character offsets (Unicode code points, as qualkit stores them) so passages can be coded by
hand. Transcript text is untrusted: it only ever reaches the page through ``textContent``.
Keys: with a suggestion focused, ``a`` accepts and ``r`` rejects it; ``j``/``k`` move between
suggestions.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

CSS = """
.qk-transcript { font-size: 1rem; line-height: 1.6; }
.qk-seg { padding: .35rem .5rem; border-left: 3px solid transparent; margin-bottom: .35rem; }
.qk-seg.qk-interviewer { color: var(--st-text-color, #333); opacity: .75; }
.qk-seg.qk-current { border-left-color: var(--st-primary-color, #f63366);
  background: rgba(0,0,0,.03); }
.qk-speaker { font-weight: 600; margin-right: .4rem; }
.qk-ts { font-size: .75rem; opacity: .6; margin-right: .4rem; }
.qk-text { white-space: pre-wrap; }
.qk-piece.qk-marked { border-radius: 2px; }
.qk-tags { margin-top: .2rem; display: flex; flex-wrap: wrap; gap: .3rem; }
.qk-tag { font-size: .78rem; border: 1px solid #ccc; border-radius: 1rem; padding: 0 .5rem;
  display: inline-flex; align-items: center; gap: .3rem; cursor: pointer; background: #fff; }
.qk-tag:focus { outline: 2px solid var(--st-primary-color, #f63366); }
.qk-tag.qk-suggested { border-style: dashed; }
.qk-tag.qk-rejected { text-decoration: line-through; opacity: .6; }
.qk-tag.qk-selected { box-shadow: 0 0 0 2px var(--st-primary-color, #f63366); }
.qk-chip { width: .7rem; height: .7rem; border-radius: 2px; display: inline-block; }
.qk-btn { border: none; background: none; cursor: pointer; font-size: .85rem; padding: 0 .1rem; }
.qk-btn:hover { background: #eee; border-radius: 3px; }
"""

JS = r"""
function cps(s) { return Array.from(s).length; }

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  // Keep the <style> Streamlit puts beside us: reuse our own root, never clear the parent.
  let root = parentElement.querySelector(".qk-transcript");
  if (!root) {
    root = document.createElement("div");
    root.className = "qk-transcript";
    parentElement.appendChild(root);
  }
  root.replaceChildren();
  const marks = data.marks || [];
  const byId = {};
  marks.forEach((m) => { byId[m.id] = m; });

  function pieceStyle(covering) {
    const shown = covering.filter((m) => m.status !== "rejected");
    if (!shown.length) return "";
    const colors = shown.map((m) => m.color);
    const solid = shown.some((m) => m.status === "accepted");
    let bg = colors.length === 1 ? colors[0] + "40"
      : "repeating-linear-gradient(135deg," + colors.map((c, i) =>
          c + "55 " + (i * 8) + "px," + c + "55 " + ((i + 1) * 8) + "px").join(",") + ")";
    let style = "background:" + bg + ";";
    if (!solid) style += "border-bottom:2px dashed " + colors[0] + ";";
    return style;
  }

  (data.segments || []).forEach((seg) => {
    const box = document.createElement("div");
    box.className = "qk-seg" + (seg.role === "interviewer" ? " qk-interviewer" : "") +
      (data.current === seg.i ? " qk-current" : "");
    box.dataset.index = seg.i;
    const head = document.createElement("span");
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
    const cuts = new Set([seg.start, seg.end]);
    inside.forEach((m) => {
      cuts.add(Math.max(m.start, seg.start)); cuts.add(Math.min(m.end, seg.end));
    });
    const points = Array.from(cuts).sort((a, b) => a - b);
    for (let k = 0; k + 1 < points.length; k++) {
      const a = points[k], b = points[k + 1];
      const piece = document.createElement("span");
      piece.className = "qk-piece";
      piece.dataset.start = a;
      piece.textContent = chars.slice(a - seg.start, b - seg.start).join("");
      const covering = inside.filter((m) => m.start <= a && m.end >= b);
      if (covering.length) {
        piece.classList.add("qk-marked");
        piece.setAttribute("style", pieceStyle(covering));
        piece.title = covering.map((m) => m.label + " (" + m.status +
          (m.strength ? ", " + m.strength : "") + ")").join("\n");
      }
      text.appendChild(piece);
    }
    box.appendChild(text);
    if (inside.length) {
      const tags = document.createElement("div"); tags.className = "qk-tags";
      inside.forEach((m) => {
        const tag = document.createElement("span");
        tag.className = "qk-tag qk-" + m.status + (data.selected === m.id ? " qk-selected" : "");
        tag.tabIndex = 0; tag.dataset.id = m.id;
        const chip = document.createElement("span"); chip.className = "qk-chip";
        chip.style.background = m.color; tag.appendChild(chip);
        const label = document.createElement("span");
        label.textContent = m.label + (m.status === "suggested"
          ? " · " + m.strength : " · " + m.coder);
        tag.appendChild(label);
        tag.title = m.rationale || "";
        tag.onclick = () => setTriggerValue("action", { op: "select", id: m.id });
        if (m.status === "suggested") {
          const buttons = [["accept", "✓", "Accept (a)"], ["reject", "✗", "Reject (r)"]];
          buttons.forEach(([op, sym, tip]) => {
            const b = document.createElement("button"); b.className = "qk-btn qk-" + op;
            b.textContent = sym; b.title = tip; b.setAttribute("aria-label", tip);
            b.onclick = (e) => {
              e.stopPropagation(); setTriggerValue("action", { op, id: m.id });
            };
            tag.appendChild(b);
          });
        }
        tag.onkeydown = (e) => {
          if (m.status === "suggested" && (e.key === "a" || e.key === "r")) {
            e.preventDefault();
            setTriggerValue("action", { op: e.key === "a" ? "accept" : "reject", id: m.id });
          } else if (e.key === "j" || e.key === "k") {
            const all = Array.from(root.querySelectorAll(".qk-tag.qk-suggested"));
            const i = all.indexOf(tag) + (e.key === "j" ? 1 : -1);
            if (all[i]) all[i].focus();
          }
        };
        tags.appendChild(tag);
      });
      box.appendChild(tags);
    }
    root.appendChild(box);
  });

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

  root.addEventListener("mouseup", () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return;
    const range = sel.getRangeAt(0);
    if (!root.contains(range.commonAncestorContainer)) return;
    const a = offsetOf(range.startContainer, range.startOffset);
    const b = offsetOf(range.endContainer, range.endOffset);
    if (a == null || b == null || b <= a) return;
    setTriggerValue("selection", { start: a, end: b, text: sel.toString() });
  });
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
                    focus: bool = False) -> Any:
    """Mount the viewer; the result's ``selection`` and ``action`` hold this run's events."""
    data = {"segments": segments, "marks": marks, "selected": selected, "current": current,
            "focus": focus}
    return _viewer(key=key, data=data, on_selection_change=lambda: None,
                   on_action_change=lambda: None)
