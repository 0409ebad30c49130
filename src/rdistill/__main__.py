"""``python -m rdistill`` (and ``accelerate launch -m rdistill train CONFIG``): the same entry as ``rdistill``."""

import sys

from rdistill.cli import main

sys.exit(main())
