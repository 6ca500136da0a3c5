"""``python -m hocbaso.registry.standin``: serve the stand-in in the foreground."""

from hocbaso.registry.standin.server import main

main()
