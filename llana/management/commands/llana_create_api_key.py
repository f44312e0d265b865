"""``manage.py llana_create_api_key <username> [--name N] [--expires 30d]``: create an API key, print it once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from llana.auth.tokens import parse_duration
from llana.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key for a user and print its plaintext (stored hashed: it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user's USERNAME_FIELD value (e.g. the email).")
        parser.add_argument("--name", default="", help="A label for the key.")
        parser.add_argument("--expires", default=None, help="Lifetime such as 30d or 12h (default: never expires).")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(options["username"])
        except user_model.DoesNotExist:
            raise CommandError(f"No user with {user_model.USERNAME_FIELD} {options['username']!r}.") from None
        expires = None
        if options["expires"]:
            try:
                expires = timezone.now() + parse_duration(options["expires"])
            except ValueError as exc:
                raise CommandError(f"--expires: {exc}") from None
        row, plaintext = ApiKey.objects.create_key(user, options["name"], expires=expires)
        self.stderr.write(f"Created API key {row.prefix}… (id {row.pk}) for {user}. It is shown only once:")
        self.stdout.write(plaintext)
