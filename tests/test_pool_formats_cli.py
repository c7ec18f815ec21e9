"""The ``pool import --format`` choices are the importer's formats."""

from simulator.cli import pool as cli_pool
from simulator.pools import importer


def test_cli_format_choices_are_the_importers() -> None:
    assert tuple(cli_pool.FORMATS) == tuple(importer.FORMATS)
