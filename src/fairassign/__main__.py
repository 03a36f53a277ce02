"""``python -m fairassign ...`` runs the command line, like the ``fairassign`` script."""

from .cli import main

raise SystemExit(main())
