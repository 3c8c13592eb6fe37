"""`python -m bot.nlu`: what the local engine understands of each line, on the command line.

The command of the external contract (JSON lines in, JSON lines out; see bot/understanding/nlu.py
for the fields). The understanding itself lives in bot/understanding/.
"""

from __future__ import annotations

import sys

from bot.understanding.nlu import main

if __name__ == "__main__":
    sys.exit(main())
