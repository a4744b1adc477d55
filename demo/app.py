"""Start the web demo from a source checkout: ``python demo/app.py [--port 7860 ...]``.

The demo itself lives in the package (:mod:`unicorn.demo`); ``unicorn demo`` is the same command.
"""

import sys

from unicorn.demo.app import main

if __name__ == "__main__":
    sys.exit(main())
