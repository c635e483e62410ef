"""Accuracy against known truth, as JSON: `python bench/accuracy.py [../shared/data]`.

Same as `pi-app validate DATA_DIR --simulated --json`: the validation datasets and simulator
scenarios through the live analysis, scored per dataset with ../shared/data/README.md's rules.
"""

import sys
from pathlib import Path

from pi_app.cli import main

if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    data_dir = sys.argv[1] if len(sys.argv) > 1 else str(default)
    sys.exit(main(["validate", data_dir, "--simulated", "--json"]))
