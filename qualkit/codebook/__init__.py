"""Codebooks: ``io`` reads, validates and writes the YAML; ``edit`` refines a codebook and says
how codings follow; ``bundled`` finds the codebooks qualkit ships by name."""

from .io import (
                 COLOR_RE,
                 ID_RE,
                 code_to_dict,
                 dump_codebook,
                 load_codebook,
                 parse_codebook,
                 save_codebook,
)

__all__ = ["COLOR_RE", "ID_RE", "code_to_dict", "dump_codebook", "load_codebook",
           "parse_codebook", "save_codebook"]
