"""``python -m custvalue`` runs the command line."""

import sys

from custvalue.cli import main

sys.exit(main())
