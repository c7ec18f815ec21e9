"""Token counts from response text, with a ``tokenizer.json`` read by ``tokenizers``.

Used by ``clearsim pool import --tokenizer PATH`` when a file has response text but no
length column. A count is the number of tokens the tokenizer gives the text without
special tokens (no BOS/EOS added); give the tokenizer of the model that generated the
responses, so counts match what it generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.pools.pool import PoolError

__all__ = ["TokenCounter"]


class TokenCounter:
    """Counts tokens of texts with the tokenizer in ``path`` (a ``tokenizer.json``).

    Raises:
        PoolError: the file is missing or is not a tokenizer.json.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise PoolError(f"--tokenizer: {self.path}: no such file; give a "
                            "tokenizer.json (the model's Hugging Face tokenizer file)")
        from tokenizers import Tokenizer

        try:
            self._tok: Any = Tokenizer.from_file(str(self.path))
        except Exception as exc:  # tokenizers raises its own Exception subclasses
            msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
            raise PoolError(f"--tokenizer: {self.path}: not a tokenizer.json ({msg}); "
                            "give the model's Hugging Face tokenizer.json") from None

    def count(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) token counts of ``texts`` (special tokens not added)."""
        if not texts:
            return np.zeros(0, dtype=np.int64)
        enc = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return np.fromiter((len(e.ids) for e in enc), dtype=np.int64, count=len(texts))
