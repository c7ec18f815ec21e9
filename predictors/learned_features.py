"""Features of the learned predictor (numpy only; no torch here).

Per query, concatenated in this order (``FeatureConfig.input_dim`` columns, float32):

1. hashed word n-grams of the text (``word_dim`` buckets; lower-cased ``\\w+`` and
   punctuation tokens, n in ``word_ngrams``), counts -> log1p -> L2-normalised;
2. hashed character n-grams of the text (``char_dim`` buckets, n in ``char_ngrams``,
   whitespace collapsed), same weighting;
3. benchmark one-hot over the training pool's benchmarks;
4. level / 5 and a "level known" flag;
5. ln(1 + prompt tokens) / 10 and a "prompt tokens known" flag.

Blocks 1-2 exist only when the training pool had text (``use_text``). Hashing is CRC-32
of the n-gram, so features are stable across processes and machines; nothing is
downloaded. A pool is compatible with a config when it has no benchmark the model has
not seen and, for a text model, has text (:func:`check_pool`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from simulator.errors import UserError
from simulator.pools.pool import Pool

__all__ = ["FEATURE_VERSION", "FeatureConfig", "check_pool", "featurize"]

FEATURE_VERSION = 1
_WORD = re.compile(r"\w+|[^\w\s]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FeatureConfig:
    """What the feature vector holds; stored as plain data beside the weights.

    Attributes:
        benchmarks: benchmark names of the one-hot block, sorted.
        use_text: whether the text blocks exist.
        word_dim: hash buckets for word n-grams.
        char_dim: hash buckets for character n-grams.
        word_ngrams: (min, max) word n-gram lengths.
        char_ngrams: (min, max) character n-gram lengths.
        version: feature-code version; a model of another version is rejected.
    """

    benchmarks: tuple[str, ...]
    use_text: bool
    word_dim: int = 1024
    char_dim: int = 1024
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    version: int = field(default=FEATURE_VERSION)

    @property
    def input_dim(self) -> int:
        """Number of feature columns."""
        text = self.word_dim + self.char_dim if self.use_text else 0
        return text + len(self.benchmarks) + 4

    @classmethod
    def for_pool(cls, pool: Pool, word_dim: int = 1024, char_dim: int = 1024) -> FeatureConfig:
        """The config a model trained on ``pool`` uses (text iff any query has text)."""
        has_text = bool(pool.frame["text"].is_not_null().any())
        return cls(tuple(sorted(set(pool.benchmarks.tolist()))), has_text, word_dim, char_dim)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, ints, bools) for the model file."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<model>") -> FeatureConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            UserError: missing keys or another feature version.
        """
        try:
            cfg = cls(tuple(d["benchmarks"]), bool(d["use_text"]), int(d["word_dim"]),
                      int(d["char_dim"]), (int(d["word_ngrams"][0]), int(d["word_ngrams"][1])),
                      (int(d["char_ngrams"][0]), int(d["char_ngrams"][1])), int(d["version"]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UserError(f"{source}: broken feature config ({exc!r}); retrain with "
                            "'clearsim predictor train'") from None
        if cfg.version != FEATURE_VERSION:
            raise UserError(f"{source}: feature version {cfg.version}, this clearsim reads "
                            f"version {FEATURE_VERSION}; retrain with 'clearsim predictor train'")
        return cfg


def check_pool(cfg: FeatureConfig, pool: Pool, source: str = "<model>") -> None:
    """Raise a UserError when ``pool`` cannot be featurised the way the model was trained.

    Raises:
        UserError: the pool has benchmarks the model never saw, or the model reads text
            and the pool has none.
    """
    unknown = sorted(set(pool.benchmarks.tolist()) - set(cfg.benchmarks))
    if unknown:
        raise UserError(f"{source}: the model was trained on benchmarks "
                        f"{', '.join(cfg.benchmarks)}; the pool also has {', '.join(unknown)}. "
                        "Train a model on this pool with 'clearsim predictor train'")
    if cfg.use_text and not bool(pool.frame["text"].is_not_null().any()):
        raise UserError(f"{source}: the model uses text features but the pool has no "
                        "'text' column values; train a model on this pool (it will use "
                        "benchmark, level and prompt tokens only)")


def _bag(items: list[str], dim: int, prefix: bytes) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    if items:
        idx = np.fromiter((zlib.crc32(prefix + s.encode()) % dim for s in items),
                          dtype=np.int64, count=len(items))
        np.add.at(v, idx, 1.0)
        v = np.log1p(v)
        v /= float(np.linalg.norm(v))
    return v


def _ngrams(seq: list[str] | str, lo: int, hi: int, sep: str) -> list[str]:
    return [sep.join(seq[i:i + n]) for n in range(lo, hi + 1) for i in range(len(seq) - n + 1)]


def _text_block(cfg: FeatureConfig, text: str | None) -> np.ndarray:
    text = (text or "").lower()
    words = _WORD.findall(text)
    chars = _SPACE.sub(" ", text).strip()
    return np.concatenate([
        _bag(_ngrams(words, *cfg.word_ngrams, sep=" "), cfg.word_dim, b"w:"),
        _bag(_ngrams(chars, *cfg.char_ngrams, sep=""), cfg.char_dim, b"c:"),
    ])


def featurize(cfg: FeatureConfig, pool: Pool, index: np.ndarray) -> np.ndarray:
    """(n, cfg.input_dim) float32 features of ``pool`` rows ``index``.

    Raises:
        UserError: the pool is incompatible (:func:`check_pool`).
    """
    index = np.asarray(index, dtype=np.int64)
    check_pool(cfg, pool)
    frame = pool.frame[index]
    n = index.size
    blocks: list[np.ndarray] = []
    if cfg.use_text:
        texts = frame["text"].to_list()
        blocks.append(np.stack([_text_block(cfg, t) for t in texts]) if n
                      else np.zeros((0, cfg.word_dim + cfg.char_dim), np.float32))
    bench = {b: i for i, b in enumerate(cfg.benchmarks)}
    onehot = np.zeros((n, len(cfg.benchmarks)), dtype=np.float32)
    onehot[np.arange(n), [bench[b] for b in frame["benchmark"].to_list()]] = 1.0
    blocks.append(onehot)
    level = frame["level"].to_numpy().astype(np.float64)   # null -> NaN
    prompt = frame["prompt_tokens"].to_numpy().astype(np.float64)
    known_l, known_p = np.isfinite(level), np.isfinite(prompt)
    blocks.append(np.stack([
        np.where(known_l, level, 0.0) / 5.0, known_l,
        np.log1p(np.where(known_p, prompt, 0.0)) / 10.0, known_p,
    ], axis=1).astype(np.float32))
    return np.concatenate(blocks, axis=1)
