"""``python -m app.cli``: the ``broadsheet`` command, as the roles start one another."""

from app.cli import main

main()
