import sys

from starcnet_core.cli import main

sys.exit(main())
