"""Synthetic query text for the default pool, with a weak difficulty signal.

A learned predictor later trains on hashed text features, so the text must carry some
signal but not give the answer away. Each query:

- picks a topic by ranking a noisy copy of its difficulty ``d`` into the benchmark's
  topics, listed easy to hard (so topic words correlate with difficulty);
- has a word count that grows with ``d`` (lognormal, with noise);
- fills its words with topic words (35 %), cue words (15 %; "prove", "how many" style
  cues are likelier for hard queries, "compute", "simplify" for easy ones) and fillers.

Prompt tokens are ``OVERHEAD + TOKENS_PER_WORD * words``, scaled so the benchmark's
mean matches the real prompt length (tokens, chat template included).
"""

from __future__ import annotations

import numpy as np

__all__ = ["HARD_TILT", "OVERHEAD", "TOKENS_PER_WORD", "TOPICS", "WORDS_TILT", "query_texts"]

OVERHEAD = 24  #: chat-template tokens around the question
TOKENS_PER_WORD = 1.4  #: mean tokens per word of maths text (symbols split finely)
#: ln(word count) change per unit of difficulty; gives a rank correlation of about 0.35
#: between word count and ln(tau) on math500, like the real prompt length (0.34).
WORDS_TILT = 0.2
#: Log-odds of a hard (vs easy) cue word per unit of difficulty (weak: ~0.3 rank corr.).
HARD_TILT = 0.5

TOPICS: dict[str, tuple[tuple[str, ...], ...]] = {
    "math500": (
        ("prealgebra", "percent", "ratio", "fraction", "integer", "decimal"),
        ("algebra", "equation", "linear", "slope", "quadratic", "root"),
        ("geometry", "triangle", "circle", "angle", "area", "radius"),
        ("counting", "probability", "arrangement", "choose", "dice", "outcome"),
        ("number", "theory", "divisor", "prime", "modulo", "remainder"),
        ("precalculus", "matrix", "vector", "complex", "trigonometric", "polar"),
        ("intermediate", "polynomial", "inequality", "sequence", "logarithm", "function"),
    ),
    "minerva_math": (
        ("chemistry", "mole", "bond", "energy", "electron", "reaction"),
        ("economics", "price", "demand", "supply", "market", "cost"),
        ("biology", "cell", "gene", "protein", "population", "rate"),
        ("astronomy", "star", "telescope", "luminosity", "orbit", "parallax"),
        ("physics", "quantum", "wavefunction", "photon", "spectrum", "field"),
    ),
    "aime2024": (
        ("algebra", "real", "numbers", "system", "equation", "product"),
        ("geometry", "triangle", "hexagon", "tangent", "inscribed", "circle"),
        ("combinatorics", "grid", "paths", "subsets", "arrangements", "colorings"),
        ("number", "theory", "digits", "base", "divisible", "residue"),
    ),
    "aime2025": (
        ("algebra", "real", "numbers", "system", "equation", "product"),
        ("geometry", "triangle", "heptagon", "tangent", "reflection", "circle"),
        ("combinatorics", "grid", "paths", "subsets", "arrangements", "colorings"),
        ("number", "theory", "digits", "base", "divisible", "residue"),
    ),
}
EASY_CUES = ("compute", "simplify", "evaluate", "what", "is", "express", "answer")
HARD_CUES = ("prove", "how", "many", "ordered", "pairs", "sum", "all", "possible",
             "maximum", "minimum", "distinct", "least", "greatest")
FILLER = ("the", "of", "a", "let", "be", "and", "is", "find", "value", "given", "such",
          "that", "x", "y", "n", "k", "if", "then", "for", "each", "with", "in", "to")


def query_texts(benchmark: str, d: np.ndarray, prompt_mean: float,
                rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Texts and prompt tokens for queries of difficulty ``d``.

    Args:
        benchmark: a key of :data:`TOPICS`.
        d: (N,) latent difficulty (standard normal).
        prompt_mean: the real benchmark's mean prompt length in tokens.
        rng: the consumer's generator.

    Returns:
        ``(texts, prompt_tokens)``: N strings and an (N,) int64 array of tokens.
    """
    topics = TOPICS[benchmark]
    n = d.size
    score = 0.6 * d + rng.standard_normal(n)
    rank = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    topic = rank * len(topics) // n

    noise = 0.35 * rng.standard_normal(n)
    spread = np.exp(WORDS_TILT * d + noise - (WORDS_TILT**2 + 0.35**2) / 2)
    base_words = max((prompt_mean - OVERHEAD) / TOKENS_PER_WORD, 4.0)
    words = np.maximum(np.rint(base_words * spread), 4).astype(np.int64)
    prompt = OVERHEAD + np.ceil(TOKENS_PER_WORD * words).astype(np.int64)

    total = int(words.sum())
    owner = np.repeat(np.arange(n), words)
    kind = rng.random(total)
    hard = rng.random(total) < 1.0 / (1.0 + np.exp(-HARD_TILT * d[owner]))
    topic_vocab = np.array([w for t in topics for w in t])
    per_topic = len(topics[0])
    pick = rng.integers(0, 1 << 30, size=total)
    token = np.where(
        kind < 0.35,
        topic_vocab[topic[owner] * per_topic + pick % per_topic],
        np.where(
            kind < 0.5,
            np.where(hard, np.array(HARD_CUES)[pick % len(HARD_CUES)],
                     np.array(EASY_CUES)[pick % len(EASY_CUES)]),
            np.array(FILLER)[pick % len(FILLER)],
        ),
    )
    cuts = np.cumsum(words)[:-1]
    texts = [" ".join(part) for part in np.split(token, cuts)]
    return texts, prompt
