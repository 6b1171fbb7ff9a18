import sys

from tipline.cli import main

sys.exit(main())
