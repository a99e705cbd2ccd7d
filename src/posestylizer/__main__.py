"""``python -m posestylizer`` (also what ``torchrun -m posestylizer`` runs)."""

import sys

from posestylizer.cli import main

sys.exit(main())
