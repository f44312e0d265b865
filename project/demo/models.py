"""Llana's demo tables (``docs/demo.md``): same table names, primary keys and column names.

Python attribute names are Django's (snake_case); ``db_table`` and ``db_column`` carry Llana's names,
which are what the API shows (the API speaks database column names).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.utils import timezone


class Timestamped(models.Model):
    """``createdAt``, ``updatedAt`` and ``deletedAt`` (the soft-delete column), as on Llana's demo tables."""

    created_at = models.DateTimeField(db_column="createdAt", default=timezone.now)
    updated_at = models.DateTimeField(db_column="updatedAt", default=timezone.now)
    deleted_at = models.DateTimeField(db_column="deletedAt", null=True, blank=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            self.updated_at = timezone.now()
        super().save(*args, **kwargs)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.ADMIN)
        return self.create_user(email, password, **extra)


class User(Timestamped, AbstractBaseUser, PermissionsMixin):
    """Llana's ``User`` table, as the project's user model (``AUTH_USER_MODEL = "demo.User"``)."""

    class Role(models.TextChoices):
        ADMIN = "ADMIN", "Admin"
        USER = "USER", "User"

    email = models.EmailField(max_length=255, unique=True)
    role = models.CharField(max_length=5, choices=Role.choices, default=Role.USER)
    first_name = models.CharField(db_column="firstName", max_length=255, null=True, blank=True)
    last_name = models.CharField(db_column="lastName", max_length=255, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "User"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email


class Customer(Timestamped):
    cust_id = models.AutoField(db_column="custId", primary_key=True)
    user = models.ForeignKey(User, db_column="userId", on_delete=models.CASCADE, related_name="customers")
    company_name = models.CharField(db_column="companyName", max_length=40)
    email = models.EmailField(max_length=255, null=True, blank=True)
    contact_name = models.CharField(db_column="contactName", max_length=60, null=True, blank=True)
    contact_title = models.CharField(db_column="contactTitle", max_length=30, null=True, blank=True)
    address = models.CharField(max_length=60, null=True, blank=True)
    city = models.CharField(max_length=15, null=True, blank=True)
    region = models.CharField(max_length=15, null=True, blank=True)
    postal_code = models.CharField(db_column="postalCode", max_length=10, null=True, blank=True)
    country = models.CharField(max_length=15, null=True, blank=True)
    phone = models.CharField(max_length=24, null=True, blank=True)
    fax = models.CharField(max_length=24, null=True, blank=True)

    class Meta:
        db_table = "Customer"
        ordering = ["cust_id"]

    def __str__(self) -> str:
        return self.company_name


class Employee(Timestamped):
    employee_id = models.AutoField(db_column="employeeId", primary_key=True)
    email = models.EmailField(max_length=255, null=True, blank=True)
    last_name = models.CharField(db_column="lastName", max_length=20)
    first_name = models.CharField(db_column="firstName", max_length=10)
    title = models.CharField(max_length=30, null=True, blank=True)
    title_of_courtesy = models.CharField(db_column="titleOfCourtesy", max_length=25, null=True, blank=True)
    birth_date = models.DateTimeField(db_column="birthDate", null=True, blank=True)
    hire_date = models.DateTimeField(db_column="hireDate", null=True, blank=True)
    address = models.CharField(max_length=60, null=True, blank=True)
    city = models.CharField(max_length=15, null=True, blank=True)
    region = models.CharField(max_length=15, null=True, blank=True)
    postal_code = models.CharField(db_column="postalCode", max_length=10, null=True, blank=True)
    country = models.CharField(max_length=15, null=True, blank=True)
    phone = models.CharField(max_length=24, null=True, blank=True)
    extension = models.CharField(max_length=4, null=True, blank=True)
    photo = models.BinaryField(null=True, blank=True, editable=True)
    notes = models.TextField(null=True, blank=True)
    mobile = models.CharField(max_length=24, null=True, blank=True)
    photo_path = models.CharField(db_column="photoPath", max_length=255, null=True, blank=True)

    class Meta:
        db_table = "Employee"
        ordering = ["employee_id"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Shipper(models.Model):
    """No ``deletedAt``: as in Llana's PostgreSQL demo, this table is always hard-deleted."""

    shipper_id = models.AutoField(db_column="shipperId", primary_key=True)
    company_name = models.CharField(db_column="companyName", max_length=40)
    phone = models.CharField(max_length=44, null=True, blank=True)
    created_at = models.DateTimeField(db_column="createdAt", default=timezone.now)
    updated_at = models.DateTimeField(db_column="updatedAt", default=timezone.now)

    class Meta:
        db_table = "Shipper"
        ordering = ["shipper_id"]

    def __str__(self) -> str:
        return self.company_name


class SalesOrder(Timestamped):
    order_id = models.AutoField(db_column="orderId", primary_key=True)
    customer = models.ForeignKey(
        Customer, db_column="custId", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    employee = models.ForeignKey(
        Employee, db_column="employeeId", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    shipper = models.ForeignKey(
        Shipper, db_column="shipperId", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    order_date = models.DateTimeField(db_column="orderDate", null=True, blank=True)
    required_date = models.DateTimeField(db_column="requiredDate", null=True, blank=True)
    shipped_date = models.DateTimeField(db_column="shippedDate", null=True, blank=True)
    freight = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    ship_name = models.CharField(db_column="shipName", max_length=40, null=True, blank=True)
    ship_address = models.CharField(db_column="shipAddress", max_length=60, null=True, blank=True)
    ship_city = models.CharField(db_column="shipCity", max_length=15, null=True, blank=True)
    ship_region = models.CharField(db_column="shipRegion", max_length=15, null=True, blank=True)
    ship_postal_code = models.CharField(db_column="shipPostalCode", max_length=10, null=True, blank=True)
    ship_country = models.CharField(db_column="shipCountry", max_length=15, null=True, blank=True)

    class Meta:
        db_table = "SalesOrder"
        ordering = ["order_id"]

    def __str__(self) -> str:
        return f"Order {self.order_id}"


class Supplier(Timestamped):
    supplier_id = models.AutoField(db_column="supplierId", primary_key=True)
    company_name = models.CharField(db_column="companyName", max_length=40)
    contact_name = models.CharField(db_column="contactName", max_length=30, null=True, blank=True)
    contact_title = models.CharField(db_column="contactTitle", max_length=30, null=True, blank=True)
    address = models.CharField(max_length=60, null=True, blank=True)
    city = models.CharField(max_length=15, null=True, blank=True)
    region = models.CharField(max_length=15, null=True, blank=True)
    postal_code = models.CharField(db_column="postalCode", max_length=10, null=True, blank=True)
    country = models.CharField(max_length=15, null=True, blank=True)
    phone = models.CharField(max_length=24, null=True, blank=True)
    fax = models.CharField(max_length=24, null=True, blank=True)
    home_page = models.TextField(db_column="homePage", null=True, blank=True)

    class Meta:
        db_table = "Supplier"
        ordering = ["supplier_id"]

    def __str__(self) -> str:
        return self.company_name
