"""The discrete-event engine: SimPy processes for arrivals, allocator ticks and the GPU.

Layers: :mod:`.engine` (clock, priorities, trace), :mod:`.source` (vectorised arrival
blocks), :mod:`.bank` (rolling token budget), :mod:`.replay` (rollout replay),
the GPU from :mod:`simulator.serving`, :mod:`.allocator` (the periodic tick),
:mod:`.records` (append-only outcome records) and :mod:`.runner` (wiring).
"""
