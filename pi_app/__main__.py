"""`python -m pi_app` is the same as the `pi-app` console script."""

import sys

from pi_app.cli import main

sys.exit(main())
