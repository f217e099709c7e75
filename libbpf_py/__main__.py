"""``python -m libbpf_py``: the same command line as ``libbpf-py``."""

import sys

from libbpf_py.cli import main

sys.exit(main())
