"""Subcommands of the ``fairassign`` command that live outside :mod:`fairassign.cli`.

Each module here defines ``add_parser(commands)``, which adds its subparser to the
``argparse`` subparsers object and sets ``handler(args, out) -> int`` as its default.
"""
