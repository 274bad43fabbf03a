"""``python -m kode_core`` runs the ``kode`` command."""

import sys

from ._cli import main

sys.exit(main())
