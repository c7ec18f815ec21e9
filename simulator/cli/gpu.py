"""``clearsim gpu list`` and ``clearsim gpu show PRESET``: the hardware presets."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simulator.errors import UserError

UNITS = {"max_seqs": "sequences", "max_batched_tokens": "tokens per step",
         "block_size": "tokens", "kv_tokens": "tokens of KV cache", "s0": "s per step",
         "s1": "s per step per decoding sequence", "s2": "s per step per cached token",
         "p0": "s per sequence (timer prefill)", "p1": "s per prompt token"}


def register(sub: Any) -> None:
    """Add the ``gpu`` command with ``list`` and ``show``."""
    p = sub.add_parser(
        "gpu", help="hardware presets: list them, show the derived serving figures",
        description="A preset GPU-MODEL (e.g. h100-qwen2.5-7b) fills the scenario's gpu "
        "section from a roofline of real figures: s0 = weight bytes / HBM bandwidth (s), "
        "s1 = 2 x parameters / peak FLOP/s (s per sequence), s2 = KV bytes per token / "
        "bandwidth (s per cached token), p1 = 2 x parameters / (peak x prefill MFU) (s "
        "per prompt token), kv_tokens = (0.9 x memory - weights) / KV bytes per token. "
        "Any field written next to 'preset' in the scenario overrides the preset.",
        epilog="example: clearsim gpu show h100-qwen2.5-7b   (in a scenario: "
        "gpu: {preset: h100-qwen2.5-7b, max_seqs: 128, replicas: 2, router: least-kv})")
    cmds = p.add_subparsers(dest="gpu_command", metavar="SUBCOMMAND", parser_class=type(p))
    cmds.required = True
    ls = cmds.add_parser("list", help="the preset names",
                         description="Print every preset: its name, the GPU's memory and "
                         "HBM bandwidth, and the model's parameters.",
                         epilog="example: clearsim gpu list   (then: clearsim gpu show "
                         "h100-qwen2.5-7b)")
    ls.set_defaults(func=run_list)
    show = cmds.add_parser("show", help="the derived figures of one preset, with units",
                           description="Print the gpu fields a preset fills, with units.",
                           epilog="example: clearsim gpu show a100-llama-3.1-8b --json")
    show.add_argument("preset", help="preset name GPU-MODEL (see 'clearsim gpu list')")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    from simulator.serving.presets import GPUS, MODELS, PRESETS

    for name, (g, m) in PRESETS.items():
        gpu, model = GPUS[g], MODELS[m]
        print(f"{name:24} {gpu.memory_gib:g} GiB, {gpu.bandwidth_tbs:g} TB/s; "
              f"{model.params / 1e9:.2f}B parameters")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from simulator.serving.presets import GPUS, MODELS, PRESETS, preset_fields

    try:
        fields = preset_fields(args.preset)
    except ValueError as exc:
        raise UserError(f"preset: {exc}") from None
    if args.json:
        print(json.dumps(fields, indent=2))
        return 0
    g, m = PRESETS[args.preset]
    model = MODELS[m]
    print(f"{args.preset}: {model.params / 1e9:.2f}B parameters, "
          f"{model.kv_bytes:,} B of KV per token, {GPUS[g].memory_gib:g} GiB")
    for key, value in fields.items():
        shown = f"{value:.4g}" if isinstance(value, float) else f"{value:,}"
        print(f"  {key:19} {shown:>12}  {UNITS[key]}")
    return 0
