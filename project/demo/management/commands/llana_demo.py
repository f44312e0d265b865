"""``python manage.py llana_demo``: load Llana's demo dataset (``docs/demo.md``) into the demo tables.

Idempotent: every demo row has a fixed primary key and only missing keys are inserted, so running it
twice changes nothing (rows edited through the API are left alone). Deterministic: the generated rows
come from a seeded ``random.Random``. Everything is inserted with ``bulk_create`` in one transaction
(no signals: loading the demo publishes no realtime events), then PostgreSQL sequences are reset so
that rows created later through the API get fresh keys.

Users: ``test@test.com`` / ``test`` (role ADMIN, superuser and staff: logs in to Django admin) and
``user@test.com`` / ``test`` (role USER). Tables: 100 Customer, 9 Employee, 3 Shipper, 500 SalesOrder,
29 Supplier, plus the public-table rule ``Employee: READ`` (as Llana seeds it at boot).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connections, models, router, transaction

from llana.models import AccessLevel, ApiKey, PublicTable

ADMIN_EMAIL = "test@test.com"
USER_EMAIL = "user@test.com"
DEMO_PASSWORD = "test"
SEED = 20250601
CUSTOMERS = 100
SALES_ORDERS = 500
SUPPLIERS = 29
# The demo's clock: fixed, so that the data set is the same on every machine and every run.
EPOCH = datetime(2025, 6, 1, 9, 0, tzinfo=dt_timezone.utc)

# Llana's demo customers (anonymised Northwind), all owned by the admin user.
NORTHWIND_CUSTOMERS: list[dict[str, Any]] = [
    {
        "company_name": "Customer NRZBB",
        "contact_name": "Allen, Michael",
        "contact_title": "Sales Representative",
        "address": "Obere Str. 0123",
        "city": "Berlin",
        "postal_code": "10092",
        "country": "Germany",
        "phone": "030-3456789",
        "fax": "030-0123456",
    },
    {
        "company_name": "Customer MLTDN",
        "contact_name": "Hassall, Mark",
        "contact_title": "Owner",
        "address": "Avda. de la Constitución 5678",
        "city": "México D.F.",
        "postal_code": "10077",
        "country": "Mexico",
        "phone": "(5) 789-0123",
        "fax": "(5) 456-7890",
    },
    {
        "company_name": "Customer KBUDE",
        "contact_name": "Peoples, John",
        "contact_title": "Owner",
        "address": "Mataderos  7890",
        "city": "México D.F.",
        "postal_code": "10097",
        "country": "Mexico",
        "phone": "(5) 123-4567",
    },
    {
        "company_name": "Customer HFBZG",
        "contact_name": "Arndt, Torsten",
        "contact_title": "Sales Representative",
        "address": "7890 Hanover Sq.",
        "city": "London",
        "postal_code": "10046",
        "country": "UK",
        "phone": "(171) 456-7890",
        "fax": "(171) 456-7891",
    },
    {
        "company_name": "Customer HGVLZ",
        "contact_name": "Higginbotham, Tom",
        "contact_title": "Order Administrator",
        "address": "Berguvsvägen  5678",
        "city": "Luleå",
        "postal_code": "10112",
        "country": "Sweden",
        "phone": "0921-67 89 01",
        "fax": "0921-23 45 67",
    },
    {
        "company_name": "Customer XHXJV",
        "contact_name": "Poland, Carole",
        "contact_title": "Sales Representative",
        "address": "Forsterstr. 7890",
        "city": "Mannheim",
        "postal_code": "10117",
        "country": "Germany",
        "phone": "0621-67890",
        "fax": "0621-12345",
    },
    {
        "company_name": "Customer QXVLA",
        "contact_name": "Bansal, Dushyant",
        "contact_title": "Marketing Manager",
        "address": "2345, place Kléber",
        "city": "Strasbourg",
        "postal_code": "10089",
        "country": "France",
        "phone": "67.89.01.23",
        "fax": "67.89.01.24",
    },
    {
        "company_name": "Customer QUHWH",
        "contact_name": "Ilyina, Julia",
        "contact_title": "Owner",
        "address": "C/ Araquil, 0123",
        "city": "Madrid",
        "postal_code": "10104",
        "country": "Spain",
        "phone": "(91) 345 67 89",
        "fax": "(91) 012 34 56",
    },
    {
        "company_name": "Customer RTXGC",
        "contact_name": "Raghav, Amritansh",
        "contact_title": "Owner",
        "address": "6789, rue des Bouchers",
        "city": "Marseille",
        "postal_code": "10105",
        "country": "France",
        "phone": "23.45.67.89",
        "fax": "23.45.67.80",
    },
    {
        "company_name": "Customer EEALV",
        "contact_name": "Bassols, Pilar Colome",
        "contact_title": "Accounting Manager",
        "address": "8901 Tsawassen Blvd.",
        "city": "Tsawassen",
        "region": "BC",
        "postal_code": "10111",
        "country": "Canada",
        "phone": "(604) 901-2345",
        "fax": "(604) 678-9012",
    },
    {
        "company_name": "Customer UBHAU",
        "contact_name": "Jaffe, David",
        "contact_title": "Sales Representative",
        "address": "Fauntleroy Circus 4567",
        "city": "London",
        "postal_code": "10064",
        "country": "UK",
        "phone": "(171) 789-0123",
    },
]

# Northwind's nine employees (anonymised names, as in Llana's demo).
NORTHWIND_EMPLOYEES: list[dict[str, Any]] = [
    {
        "last_name": "Davis",
        "first_name": "Sara",
        "title": "CEO",
        "title_of_courtesy": "Ms.",
        "birth": (1958, 12, 8),
        "hire": (2002, 5, 1),
        "address": "7890 - 20th Ave. E., Apt. 2A",
        "city": "Seattle",
        "region": "WA",
        "postal_code": "10003",
        "country": "USA",
        "phone": "(206) 555-0101",
    },
    {
        "last_name": "Funk",
        "first_name": "Don",
        "title": "Vice President, Sales",
        "title_of_courtesy": "Dr.",
        "birth": (1962, 2, 19),
        "hire": (2002, 8, 14),
        "address": "9012 W. Capital Way",
        "city": "Tacoma",
        "region": "WA",
        "postal_code": "10001",
        "country": "USA",
        "phone": "(206) 555-0100",
    },
    {
        "last_name": "Lew",
        "first_name": "Judy",
        "title": "Sales Manager",
        "title_of_courtesy": "Ms.",
        "birth": (1973, 8, 30),
        "hire": (2002, 4, 1),
        "address": "2345 Moss Bay Blvd.",
        "city": "Kirkland",
        "region": "WA",
        "postal_code": "10007",
        "country": "USA",
        "phone": "(206) 555-0103",
    },
    {
        "last_name": "Peled",
        "first_name": "Yael",
        "title": "Sales Representative",
        "title_of_courtesy": "Mrs.",
        "birth": (1947, 9, 19),
        "hire": (2003, 5, 3),
        "address": "5678 Old Redmond Rd.",
        "city": "Redmond",
        "region": "WA",
        "postal_code": "10009",
        "country": "USA",
        "phone": "(206) 555-0104",
    },
    {
        "last_name": "Buck",
        "first_name": "Sven",
        "title": "Sales Manager",
        "title_of_courtesy": "Mr.",
        "birth": (1965, 3, 4),
        "hire": (2003, 10, 17),
        "address": "8901 Garrett Hill",
        "city": "London",
        "postal_code": "10004",
        "country": "UK",
        "phone": "(71) 234-5678",
    },
    {
        "last_name": "Suurs",
        "first_name": "Paul",
        "title": "Sales Representative",
        "title_of_courtesy": "Mr.",
        "birth": (1973, 7, 2),
        "hire": (2003, 10, 17),
        "address": "3456 Coventry House, Miner Rd.",
        "city": "London",
        "postal_code": "10005",
        "country": "UK",
        "phone": "(71) 345-6789",
    },
    {
        "last_name": "King",
        "first_name": "Russell",
        "title": "Sales Representative",
        "title_of_courtesy": "Mr.",
        "birth": (1970, 5, 29),
        "hire": (2004, 1, 2),
        "address": "6789 Edgeham Hollow, Winchester Way",
        "city": "London",
        "postal_code": "10002",
        "country": "UK",
        "phone": "(71) 123-4567",
    },
    {
        "last_name": "Cameron",
        "first_name": "Maria",
        "title": "Sales Representative",
        "title_of_courtesy": "Ms.",
        "birth": (1968, 1, 9),
        "hire": (2004, 3, 5),
        "address": "4567 - 11th Ave. N.E.",
        "city": "Seattle",
        "region": "WA",
        "postal_code": "10006",
        "country": "USA",
        "phone": "(206) 555-0102",
    },
    {
        "last_name": "Dolgopyatova",
        "first_name": "Zoya",
        "title": "Sales Representative",
        "title_of_courtesy": "Ms.",
        "birth": (1976, 1, 27),
        "hire": (2004, 11, 15),
        "address": "1234 Houndstooth Rd.",
        "city": "London",
        "postal_code": "10008",
        "country": "UK",
        "phone": "(71) 456-7890",
    },
]

SHIPPERS = [
    ("Shipper GVSUA", "(503) 555-0137"),
    ("Shipper ETYNR", "(425) 555-0136"),
    ("Shipper ZHISN", "(415) 555-0138"),
]

# (city, region, country, phone prefix) for generated customers and suppliers; cities fit 15 characters.
PLACES = [
    ("Berlin", None, "Germany", "030-"),
    ("München", None, "Germany", "089-"),
    ("Köln", None, "Germany", "0221-"),
    ("London", None, "UK", "(171) "),
    ("Manchester", None, "UK", "(161) "),
    ("Paris", None, "France", "(1) "),
    ("Lyon", None, "France", "78."),
    ("Madrid", None, "Spain", "(91) "),
    ("Barcelona", None, "Spain", "(93) "),
    ("Lisboa", None, "Portugal", "(1) "),
    ("Roma", None, "Italy", "06-"),
    ("Torino", None, "Italy", "011-"),
    ("Bern", None, "Switzerland", "031-"),
    ("Genève", None, "Switzerland", "022-"),
    ("Graz", None, "Austria", "0316-"),
    ("Bruxelles", None, "Belgium", "(02) "),
    ("Århus", None, "Denmark", "86 "),
    ("Oulu", None, "Finland", "981-"),
    ("Stavern", None, "Norway", "07-"),
    ("Warszawa", None, "Poland", "(26) "),
    ("Seattle", "WA", "USA", "(206) "),
    ("Portland", "OR", "USA", "(503) "),
    ("Boise", "ID", "USA", "(208) "),
    ("Anchorage", "AK", "USA", "(907) "),
    ("San Francisco", "CA", "USA", "(415) "),
    ("Vancouver", "BC", "Canada", "(604) "),
    ("Montréal", "Québec", "Canada", "(514) "),
    ("México D.F.", None, "Mexico", "(5) "),
    ("Buenos Aires", None, "Argentina", "(1) "),
    ("São Paulo", "SP", "Brazil", "(11) "),
    ("Caracas", "DF", "Venezuela", "(2) "),
    ("Cork", "Co. Cork", "Ireland", "2967 "),
]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Carlos",
    "Diana",
    "Erik",
    "Fatima",
    "Georg",
    "Hanna",
    "Ivan",
    "Julia",
    "Kenji",
    "Laura",
    "Marco",
    "Nina",
    "Oscar",
    "Paula",
    "Quinn",
    "Rosa",
    "Stefan",
    "Tara",
    "Uwe",
    "Vera",
    "Walter",
    "Ximena",
    "Yusuf",
    "Zofia",
]
LAST_NAMES = [
    "Schmidt",
    "Garcia",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "Silva",
    "Novak",
    "Kowalski",
    "Andersen",
    "Moreau",
    "Lopez",
    "Bauer",
    "Fischer",
    "Martin",
    "Costa",
    "Haas",
    "Virtanen",
    "Olsen",
    "Young",
    "Murphy",
    "Tanaka",
    "Brown",
    "Wagner",
    "Ricci",
    "Santos",
]
TITLES = [
    "Owner",
    "Sales Representative",
    "Sales Manager",
    "Marketing Manager",
    "Accounting Manager",
    "Order Administrator",
    "Sales Associate",
    "Sales Agent",
    "Marketing Assistant",
]
STREETS = [
    "Hauptstr.",
    "Rue du Commerce",
    "Calle Mayor",
    "Via Roma",
    "High Street",
    "Market Sq.",
    "Harbour Rd.",
    "Kirkegade",
    "Avenida Central",
    "Elm Street",
    "Oak Avenue",
    "Ringstr.",
]


@dataclass
class Loaded:
    """How many rows of a table were inserted and how many were already present."""

    created: int = 0
    present: int = 0


def code(rng: random.Random) -> str:
    """A Northwind-style five-letter code (``NRZBB``)."""
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(5))


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def customer_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = [dict(row) for row in NORTHWIND_CUSTOMERS]
    for row in rows:
        first = row["contact_name"].split(", ")[1].split()[0].lower()
        last = row["contact_name"].split(", ")[0].lower()
        row["email"] = f"{first}.{last}@{row['company_name'][-5:].lower()}.example.com"
    while len(rows) < CUSTOMERS:
        tag = code(rng)
        first, last = person(rng)
        city, region, country, prefix = rng.choice(PLACES)
        rows.append(
            {
                "company_name": f"Customer {tag}",
                "contact_name": f"{last}, {first}",
                "contact_title": rng.choice(TITLES),
                "email": f"{first.lower()}.{last.lower()}@{tag.lower()}.example.com",
                "address": f"{rng.choice(STREETS)} {rng.randint(1, 9999)}",
                "city": city,
                "region": region,
                "postal_code": str(10000 + len(rows) * 7),
                "country": country,
                "phone": phone(rng, prefix),
                "fax": phone(rng, prefix) if rng.random() < 0.5 else None,
            }
        )
    return rows


def supplier_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for index in range(SUPPLIERS):
        first, last = person(rng)
        city, region, country, prefix = rng.choice(PLACES)
        tag = code(rng)
        rows.append(
            {
                "company_name": f"Supplier {tag}",
                "contact_name": f"{last}, {first}",
                "contact_title": rng.choice(TITLES),
                "address": f"{rng.choice(STREETS)} {rng.randint(1, 9999)}",
                "city": city,
                "region": region,
                "postal_code": str(10100 + index * 3),
                "country": country,
                "phone": phone(rng, prefix),
                "fax": phone(rng, prefix) if rng.random() < 0.3 else None,
                "home_page": f"https://{tag.lower()}.example.com/" if rng.random() < 0.4 else None,
            }
        )
    return rows


def order_rows(rng: random.Random, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders over the two years before ``EPOCH``: the first 20 (like Llana's) go to customers 1–9."""
    destinations = [code(rng) for _ in customers]
    first_day = EPOCH - timedelta(days=730)
    rows = []
    for index in range(SALES_ORDERS):
        cust_id = (index % 9) + 1 if index < 20 else rng.randint(1, len(customers))
        customer = customers[cust_id - 1]
        ordered = first_day + timedelta(days=index * 730 // SALES_ORDERS, hours=rng.randint(0, 8))
        shipped = ordered + timedelta(days=rng.randint(1, 35)) if index < SALES_ORDERS - 15 else None
        freight = Decimal(str(round(min(rng.lognormvariate(3.6, 1.1), 1000.0) + 0.02, 2)))
        rows.append(
            {
                "customer_id": cust_id,
                "employee_id": rng.randint(1, 9),
                "shipper_id": rng.randint(1, 3),
                "order_date": ordered,
                "required_date": ordered + timedelta(days=rng.choice((14, 28, 28, 42))),
                "shipped_date": shipped,
                "freight": freight,
                "ship_name": f"Destination {destinations[cust_id - 1]}",
                "ship_address": customer["address"],
                "ship_city": customer["city"],
                "ship_region": customer.get("region"),
                "ship_postal_code": customer["postal_code"],
                "ship_country": customer["country"],
            }
        )
    return rows


def employee_rows() -> list[dict[str, Any]]:
    rows = []
    for item in NORTHWIND_EMPLOYEES:
        row = {key: value for key, value in item.items() if key not in {"birth", "hire"}}
        row["birth_date"] = datetime(*item["birth"], tzinfo=dt_timezone.utc)
        row["hire_date"] = datetime(*item["hire"], tzinfo=dt_timezone.utc)
        row["email"] = f"{item['first_name'].lower()}.{item['last_name'].lower()}@northwind.example.com"
        row["extension"] = str(1000 + len(rows) * 111)[:4]
        row["notes"] = f"{item['title']} since {item['hire'][0]}."
        rows.append(row)
    return rows


def load_api_key(admin: Any) -> int:
    """Hook for the demo API key of ``admin`` (Llana's ``Ex@mp1eS$Cu7eAp!K3y``); returns rows created.

    Stored hashed in ``_llana_api_key`` like every key; loading it again does nothing.
    """
    key = "Ex@mp1eS$Cu7eAp!K3y"
    if ApiKey.objects.get_by_plaintext(key) is not None:
        return 0
    ApiKey.objects.create_key(admin, "Demo key (Llana's UserApiKey row 1)", key=key)
    return 1


class Command(BaseCommand):
    help = "Load Llana's demo dataset (users test@test.com / test and user@test.com / test). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every row of the demo business tables (Customer, Employee, Shipper, SalesOrder, "
            "Supplier) first, then load. Users and Llana's system tables are kept.",
        )
        parser.add_argument("--database", default=None, help="Database alias (default: the model's router choice).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            model = {
                name: apps.get_model("demo", name)
                for name in ("Customer", "Employee", "Shipper", "SalesOrder", "Supplier")
            }
        except LookupError as exc:
            raise CommandError("llana_demo needs the example project's demo app (project.demo) installed") from exc
        user_model = get_user_model()
        alias = options["database"] or router.db_for_write(model["Customer"])
        rng = random.Random(SEED)
        customers = customer_rows(rng)
        suppliers = supplier_rows(rng)
        orders = order_rows(rng, customers)
        report: dict[str, Loaded] = {}
        with transaction.atomic(using=alias):
            if options["reset"]:
                for name in ("SalesOrder", "Customer", "Employee", "Shipper", "Supplier"):
                    model[name].objects.using(alias).all().delete()
            admin, created_admin = self.user(user_model, alias, ADMIN_EMAIL, admin=True)
            user, created_user = self.user(user_model, alias, USER_EMAIL, admin=False)
            report["User"] = Loaded(created_admin + created_user, 2 - created_admin - created_user)
            for row_id, row in enumerate(customers, start=1):
                # Llana's customers belong to user 1; a quarter of the generated ones to the USER demo user.
                row["user_id"] = user.pk if row_id > len(NORTHWIND_CUSTOMERS) and row_id % 4 == 0 else admin.pk
            stamped = {"created_at": EPOCH, "updated_at": EPOCH}
            report["Employee"] = self.insert(model["Employee"], alias, [{**r, **stamped} for r in employee_rows()])
            report["Shipper"] = self.insert(
                model["Shipper"], alias, [{"company_name": n, "phone": p, **stamped} for n, p in SHIPPERS]
            )
            report["Customer"] = self.insert(model["Customer"], alias, [{**r, **stamped} for r in customers])
            report["Supplier"] = self.insert(model["Supplier"], alias, [{**r, **stamped} for r in suppliers])
            report["SalesOrder"] = self.insert(model["SalesOrder"], alias, [{**r, **stamped} for r in orders])
            public = not PublicTable.objects.using(alias).filter(table="Employee").exists()
            if public:
                PublicTable.objects.using(alias).create(table="Employee", access_level=AccessLevel.READ)
            report["_llana_public_tables"] = Loaded(int(public), int(not public))
            report["_llana_api_key"] = Loaded(load_api_key(admin), 0)
            self.reset_sequences(alias, [user_model, *model.values(), PublicTable])
        for table, loaded in report.items():
            if loaded.created or loaded.present:
                self.stdout.write(f"{table}: {loaded.created} created, {loaded.present} already present")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded. Log in as {ADMIN_EMAIL} / {DEMO_PASSWORD} (ADMIN) or {USER_EMAIL} / {DEMO_PASSWORD} (USER)."
            )
        )

    def user(self, user_model: type[models.Model], alias: str, email: str, *, admin: bool) -> tuple[Any, int]:
        """The demo user ``email``, created with the demo password when missing (an existing one is kept)."""
        manager = user_model._default_manager.db_manager(alias)
        existing = manager.filter(**{user_model.USERNAME_FIELD: email}).first()
        if existing is not None:
            return existing, 0
        extra: dict[str, Any] = (
            {"first_name": "Jon", "last_name": "Doe"} if admin else {"first_name": "Jane", "last_name": "Roe"}
        )
        if hasattr(user_model, "Role"):
            extra["role"] = "ADMIN" if admin else "USER"
        fields = {f.name for f in user_model._meta.get_fields()}
        extra = {key: value for key, value in extra.items() if key in fields}
        if admin:
            return manager.create_superuser(email, DEMO_PASSWORD, **extra), 1
        return manager.create_user(email, DEMO_PASSWORD, **extra), 1

    def insert(self, model: type[models.Model], alias: str, rows: list[dict[str, Any]]) -> Loaded:
        """Insert ``rows`` as primary keys 1..n, skipping keys already present."""
        pk_name = model._meta.pk.attname
        present = set(
            model._base_manager.using(alias).filter(pk__in=range(1, len(rows) + 1)).values_list("pk", flat=True)
        )
        new = [model(**{pk_name: pk, **row}) for pk, row in enumerate(rows, start=1) if pk not in present]
        model._base_manager.using(alias).bulk_create(new, batch_size=200)
        return Loaded(len(new), len(present))

    def reset_sequences(self, alias: str, model_list: list[type[models.Model]]) -> None:
        """After explicit-key inserts, point PostgreSQL sequences past the largest key (a no-op elsewhere)."""
        connection = connections[alias]
        statements = connection.ops.sequence_reset_sql(no_style(), model_list)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
