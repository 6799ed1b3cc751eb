"""`python -m toxiserver`: see toxiserver.cli."""

from .cli import main

if __name__ == "__main__":
    main()
