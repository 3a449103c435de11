#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    # manage.py is the developer's tool: development settings unless DEBUG=0 is given (production
    # runs `DEBUG=0 SECRET_KEY=... ./manage.py migrate`; the web server itself defaults to DEBUG off).
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
