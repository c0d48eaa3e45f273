import sys

from imageservice_cli.main import main

sys.exit(main())
