"""Greets, and says which interpreter and environment it runs in."""

import sys


def main() -> None:
    who = sys.argv[1] if len(sys.argv) > 1 else "world"
    print(f"hello {who} from {sys.prefix} (python {sys.version_info[0]}.{sys.version_info[1]})")


if __name__ == "__main__":
    main()
