"""Generated interview transcripts for benchmarks: reproducible, any size, known themes.

Each transcript alternates interviewer questions and participant answers; answers are built from
sentences about the keyworker study's themes (and neutral filler), so rule coding has realistic
work to do. ``themes`` records which themes were planted in each transcript.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

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


THEME_SHARE = 0.2  # share of sentences that carry a theme: about the sample study's density


def generate(n: int, seed: int = 7, turns: int = 40, sentences: int = 6,
             themes_per_transcript: int = 3) -> Iterator[Generated]:
    """Yield ``n`` transcripts one at a time (never all in memory).

    One sentence in five carries a theme, which gives about as many rule suggestions per
    1,000 words as the sample study's real transcripts (the benchmark prints both)."""
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
                if rng.random() < THEME_SHARE:
                    parts.append(rng.choice(THEMES[rng.choice(planted)]))
                else:
                    parts.append(rng.choice(FILLER))
            builder.add(f"P{i:04d}", " ".join(parts))
        yield Generated(Transcript(f"gen_{i:04d}", builder.text, builder.segments,
                                   {"generated": True}), planted)


# Planted topics for topic-model benchmarks: each theme is a template with interchangeable
# words, so passages vary like real talk while their theme is known.
TOPIC_THEMES: dict[str, tuple[str, dict[str, list[str]]]] = {
    "funding": ("{o}our {money} {ends} in {month} and nobody knows if the {deal} will be renewed.",
                {"money": ["funding", "grant", "budget", "money"],
                 "ends": ["runs out", "stops", "ends", "finishes"],
                 "month": ["March", "April", "the spring", "the new year"],
                 "deal": ["contract", "tender", "grant", "commission"]}),
    "travel": ("{o}I {drive} {hours} between {places} to see one {who}.",
               {"drive": ["drive", "travel", "spend", "lose"],
                "hours": ["two hours", "most of the morning", "ninety minutes", "ages"],
                "places": ["villages", "farms", "market towns", "hamlets on the moor"],
                "who": ["client", "participant", "person", "family"]}),
    "pets": ("{o}my {pet} {does} {when} every {day}.",
             {"pet": ["dog", "cat", "old spaniel", "rescue kitten"],
              "does": ["waits by the door", "sleeps on the sofa", "needs a walk", "wants feeding"],
              "when": ["as soon as I get in", "after tea", "first thing", "at bedtime"],
              "day": ["evening", "morning", "day", "night"]}),
    "training": ("{o}the {course} on {topic} {was} {verdict}.",
                 {"course": ["training", "e-learning module", "workshop", "induction session"],
                  "topic": ["safeguarding", "data protection", "motivational interviewing",
                            "trauma-informed practice"],
                  "was": ["was", "felt", "turned out", "seemed"],
                  "verdict": ["really useful", "a waste of a day", "too basic", "brilliant"]}),
    "weather": ("{o}the {weather} {did} the {what} {when}.",
                {"weather": ["rain", "snow", "storm", "flooding"],
                 "did": ["closed", "cut off", "washed out", "blocked"],
                 "what": ["road to the estate", "bridge", "car park", "bus route"],
                 "when": ["last winter", "on Tuesday", "twice this month", "overnight"]}),
}
OPENERS = ["Honestly, ", "To be fair, ", "", "I mean, ", "Well, ", "You know, "]


def topic_corpus(n_passages: int, themes: list[str] | None = None, seed: int = 0
                 ) -> tuple[list[str], list[str]]:
    """``n_passages`` sentences with their planted theme."""
    rng = random.Random(seed)
    names = themes or list(TOPIC_THEMES)
    texts, truth = [], []
    for i in range(n_passages):
        theme = names[i % len(names)]
        template, slots = TOPIC_THEMES[theme]
        text = template.format(o=rng.choice(OPENERS), **{k: rng.choice(v)
                                                         for k, v in slots.items()})
        texts.append(text[0].upper() + text[1:])
        truth.append(theme)
    return texts, truth
