#!/usr/bin/env python
import os
import sys


def main():
    # No default for DEBUG here: manage.py also runs against production databases, where a
    # development default would let seed_demo create logins with known passwords. `./dev demo`
    # and `./dev test` set development mode themselves; pass DEBUG=1 for other development commands.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
