"""Generated interview transcripts for benchmarks: reproducible, any size, known themes.

Each transcript alternates interviewer questions and participant answers; answers are built from
sentences about the keyworker study's themes (and neutral filler), so rule coding has realistic
work to do. ``themes`` records which themes were planted in each transcript.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

from qualkit.model import Transcript
from qualkit.segment import TextBuilder

THEMES: dict[str, list[str]] = {
    "working_alone": [
        "Most days I work alone out in the villages and I don't see another keyworker.",
        "Being a lone worker means every decision on a visit is mine.",
        "I'm on my own in the hub from nine till five, nobody else is around.",
    ],
    "no_debrief": [
        "After that visit there was no one to debrief with, so I just sat in the car.",
        "I had nobody to talk to about it when I got back.",
        "There isn't anywhere to offload after a heavy session.",
    ],
    "out_of_hours_contact": [
        "Clients text me at night and at weekends, and I end up answering.",
        "My work phone goes off at ten at night sometimes.",
        "I had a message on Sunday morning from someone in crisis.",
    ],
    "mutual_support": [
        "My colleagues cover for me when things get heavy, and I do the same for them.",
        "We look out for each other in the team, that's what keeps me going.",
        "The team has my back when a case goes wrong.",
    ],
    "peer_network_events": [
        "The monthly network meeting is where I find out what everyone else is doing.",
        "At the peer network event we swapped ideas about engaging young people.",
        "I go to the regional forum whenever I can.",
    ],
    "caseload_and_targets": [
        "The targets keep going up and the caseload is sixty people now.",
        "We are measured on job outcomes every month.",
        "My caseload is too big to give anyone proper time.",
    ],
}
FILLER = [
    "I suppose it depends on the person, really.",
    "We had a good week last week, actually.",
    "You know, it's hard to describe.",
    "That was back in the spring, I think.",
    "He had been out of work for about three years at that point.",
    "We meet at the library or the community centre.",
    "Sometimes it goes well and sometimes it doesn't.",
    "I've been doing this for a while now.",
]
QUESTIONS = [
    "Could you tell me more about that?",
    "How did that feel at the time?",
    "What happened next?",
    "Can you give me an example?",
    "Who do you turn to when that happens?",
]


@dataclass
class Generated:
    transcript: Transcript
    themes: list[str]


def generate(n: int, seed: int = 7, turns: int = 40, sentences: int = 6,
             themes_per_transcript: int = 3) -> Iterator[Generated]:
    """Yield ``n`` transcripts one at a time (never all in memory)."""
    rng = random.Random(seed)
    names = list(THEMES)
    for i in range(n):
        planted = rng.sample(names, themes_per_transcript)
        builder = TextBuilder()
        for t in range(turns):
            if t % 2 == 0:
                builder.add("Interviewer", rng.choice(QUESTIONS))
                continue
            parts = []
            for _ in range(sentences):
                if rng.random() < 0.35:
                    parts.append(rng.choice(THEMES[rng.choice(planted)]))
                else:
                    parts.append(rng.choice(FILLER))
            builder.add(f"P{i:04d}", " ".join(parts))
        yield Generated(Transcript(f"gen_{i:04d}", builder.text, builder.segments,
                                   {"generated": True}), planted)
