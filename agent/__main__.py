"""``python -m agent``: the same entry point as the ``agent`` command."""

from agent.cli import main

if __name__ == "__main__":
    main()
