"""One colour per code for reading transcripts: explicit colours kept, the others taken from a
fixed colour-blind-safe qualitative palette, stable and distinct among siblings.

The palette is Paul Tol's "muted" qualitative scheme (its pale grey left out: it reads as "no
colour"), https://personal.sron.nl/~pault/#sec:qualitative, extended with three colours of
Okabe & Ito's "Color Universal Design" set (2008), https://jfly.uni-koeln.de/color/ (orange,
vermillion, blue; their other colours are too close to one of Tol's). Both are designed to stay
distinct for the common forms of colour blindness; the values are the published ones, ordered
so that neighbours (where a clash moves a code) differ in hue and lightness.

How a code gets its colour (``code_colors``):

- a code with its own ``color`` in the codebook keeps it;
- any other code starts at the palette slot its id hashes to (SHA-1, so the same on every
  machine and every run) and walks on to the first colour none of its siblings (codes under
  the same parent) has taken, nor its parent, preferring a hue family (``FAMILY``) none of
  them has while there is one. Siblings are settled in codebook order, so adding
  a code without a colour of its own (the codebook editor appends it under its parent) never
  changes another code's colour;
  removing or moving one only moves the siblings that had stepped past its colour. With more
  siblings than colours, the extra ones share (the hashed slot).

Themes inherit nothing: ``model.Codebook.color_of`` (own colour, else the nearest coloured
ancestor's) stays the rule for reports and charts, where a theme's codes read as one family;
this module is the rule for the coding view, where each code must be told apart.
"""

from __future__ import annotations

import hashlib

from .model import Code, Codebook

TOL_MUTED = {"indigo": "#332288", "cyan": "#88CCEE", "teal": "#44AA99", "green": "#117733",
             "olive": "#999933", "sand": "#DDCC77", "rose": "#CC6677", "wine": "#882255",
             "purple": "#AA4499"}
OKABE_ITO = {"orange": "#E69F00", "vermillion": "#D55E00", "blue": "#0072B2"}
_ORDER = ["indigo", "orange", "cyan", "wine", "green", "sand", "blue", "rose", "teal", "olive",
          "vermillion", "purple"]
PALETTE: tuple[str, ...] = tuple({**TOL_MUTED, **OKABE_ITO}[name] for name in _ORDER)
# Hue families (by hue angle): in a thin underline two colours of one family (wine and rose,
# cyan and blue) are easily taken for each other, so siblings get different families while
# they last.
_FAMILIES = {"magenta": ["wine", "rose", "purple"], "orange": ["vermillion", "orange"],
             "yellow": ["sand", "olive"], "green": ["green", "teal"], "blue": ["cyan", "blue"],
             "violet": ["indigo"]}
FAMILY: dict[str, str] = {{**TOL_MUTED, **OKABE_ITO}[name]: family
                          for family, names in _FAMILIES.items() for name in names}


def _slot(code_id: str, size: int) -> int:
    return int.from_bytes(hashlib.sha1(code_id.encode("utf-8")).digest()[:4], "big") % size


def code_colors(codebook: Codebook, palette: tuple[str, ...] = PALETTE) -> dict[str, str]:
    """Every code id of the codebook -> the colour it is drawn in (``#RRGGBB``)."""
    out: dict[str, str] = {}

    def family(colour: str) -> str:
        return FAMILY.get(colour.upper(), colour.upper())

    def settle(siblings: list[Code], parent: Code | None) -> None:
        taken = {c.color.upper() for c in siblings if c.color}
        if parent is not None:
            taken.add(out[parent.id].upper())
        families = {family(c) for c in taken}
        for code in siblings:
            if code.color:
                out[code.id] = code.color
                continue
            first = _slot(code.id, len(palette))
            order = [palette[(first + k) % len(palette)] for k in range(len(palette))]
            colour = next((c for c in order if c.upper() not in taken
                           and family(c) not in families), None) or \
                next((c for c in order if c.upper() not in taken), order[0])
            taken.add(colour.upper())
            families.add(family(colour))
            out[code.id] = colour
        for code in siblings:
            settle(code.children, code)

    settle(codebook.codes, None)
    return out
