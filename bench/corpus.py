"""Synthetic but realistic corpora in the content format, for benchmarks and stress tests.

Words are drawn from the demo knowledge base's own vocabulary with a Zipf-like
distribution (rank r has weight 1/r), so term statistics look like real French prose;
metadata follow plausible distributions (1-2 pillars, 1-3 themes, some dispositifs,
territories consistent with their region). Deterministic for a given seed.

    python -m bench.corpus OUT_DIR --resources 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import random
import re
from collections import Counter
from pathlib import Path

from kb.loader import load_tree
from kb.schema import RECOMMENDED_SECTIONS as SECTIONS
from kb.vocabulary import load_vocabularies

DEMO = Path(__file__).resolve().parent.parent / "content"
TYPE_WEIGHTS = {
    "fiche-pratique": 40,
    "retour-experimentation": 25,
    "etude": 10,
    "guide": 10,
    "compte-rendu": 10,
    "texte-de-reference": 5,
}


def demo_words() -> tuple[list[str], list[float]]:
    """Words of the demo corpus by decreasing frequency, with Zipf weights."""
    counts: Counter[str] = Counter()
    for resource in load_tree(DEMO).resources.values():
        text = " ".join((resource.titre, resource.resume, resource.body))
        counts.update(w for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)?", text) if len(w) > 1)
    ranked = [w for w, _ in counts.most_common()]
    return ranked, [1.0 / rank for rank in range(1, len(ranked) + 1)]


class CorpusGenerator:
    def __init__(self, seed: int = 42) -> None:
        self.random = random.Random(seed)
        self.words, weights = demo_words()
        self.cumulative = list(itertools.accumulate(weights))
        self.common = self.words[:2000]
        self.vocab = load_vocabularies()
        self.departements = [t for t in self.vocab.departements]

    def sentence(self, low: int = 8, high: int = 22) -> str:
        chosen = self.random.choices(
            self.words, cum_weights=self.cumulative, k=self.random.randint(low, high)
        )
        text = " ".join(chosen)
        return text[:1].upper() + text[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.random.randint(2, 6)))

    def body(self) -> str:
        parts = []
        for section in self.random.sample(SECTIONS, self.random.randint(4, 7)):
            parts.append(f"## {section}\n")
            for _ in range(self.random.randint(1, 3)):
                parts.append(self.paragraph() + "\n")
            if self.random.random() < 0.3:
                parts.append("\n".join(f"- {self.sentence(3, 8)}" for _ in range(3)) + "\n")
        return "\n".join(parts)

    def pick(self, vocabulary: str, low: int, high: int) -> list[str]:
        ids = list(self.vocab[vocabulary].terms)
        return self.random.sample(ids, self.random.randint(low, high))

    def resource(self, number: int, centre: str) -> tuple[str, str]:
        r = self.random
        title = self.sentence(4, 10).rstrip(".")
        date = dt.date(2015, 1, 1) + dt.timedelta(days=r.randint(0, 11 * 365 + 300))
        departement = r.choice(self.departements)
        lines = [
            "---",
            f'titre: "{title} {number}"',
            f"type: {r.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]}",
            f"date: {date.isoformat()}",
            f"piliers: [{', '.join(self.pick('piliers', 1, 2))}]",
            f'resume: "{self.sentence(20, 45)}"',
            f"thematiques: [{', '.join(self.pick('thematiques', 1, 3))}]",
            f"dispositifs: [{', '.join(self.pick('dispositifs', 0, 2))}]",
            f"publics: [{', '.join(self.pick('publics', 1, 3))}]",
            "territoire:",
            f'  region: "{departement.get("region")}"',
            f'  departement: "{departement.id}"',
            f"mots_cles: [{', '.join(r.choices(self.common, k=3))}]",
            "---",
            "",
            self.body(),
        ]
        return f"res-{number:06d}", "\n".join(lines)

    def write(self, root: Path, resources: int, centres: int = 20) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        regions = [t.id for t in self.vocab.regions]
        for index in range(centres):
            folder = root / f"centre-{index:02d}"
            folder.mkdir(exist_ok=True)
            (folder / "_centre.md").write_text(
                f'---\nnom: "Centre synthétique {index}"\nregion: "{regions[index % len(regions)]}"\n'
                "---\nCentre généré pour les mesures de performance.\n",
                encoding="utf-8",
            )
        for number in range(resources):
            centre = f"centre-{number % centres:02d}"
            folder = root / centre / f"lot-{number // 1000:03d}"
            folder.mkdir(exist_ok=True)
            slug, text = self.resource(number, centre)
            (folder / f"{slug}.md").write_text(text, encoding="utf-8")
        return root


def main() -> None:
    parser = argparse.ArgumentParser(description="Génère un corpus synthétique.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    CorpusGenerator(args.seed).write(args.out, args.resources)
    print(f"{args.resources} ressources écrites dans {args.out}")


if __name__ == "__main__":
    main()
