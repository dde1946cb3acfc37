"""`python -m zvonar_cli` is `zvonar`."""

from zvonar_cli.main import main

main()
