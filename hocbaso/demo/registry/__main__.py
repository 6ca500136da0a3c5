"""``python -m hocbaso.demo.registry``: serve the stand-in in the foreground."""

from hocbaso.demo.registry.server import main

main()
