"""Django admin for the demo tables and the demo's user model (``/admin/``, ``docs/demo.md``).

Every list is searchable; a foreign key is picked with autocomplete (a search box over the related
admin's ``search_fields``) instead of a drop-down of every row. llana's API key admin is re-registered
here with autocomplete for its user, which needs the user model's admin (this one) to exist.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from llana.admin import ApiKeyAdmin
from llana.models import ApiKey
from project.demo.models import Customer, Employee, SalesOrder, Shipper, Supplier, User


class UserForm(forms.ModelForm):
    """The demo user without its password hash; ``new_password`` sets (or, on a new user, gives) one."""

    new_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current password (a new user without one cannot log in).",
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "is_active", "is_staff", "is_superuser", "groups"]

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        password = self.cleaned_data.get("new_password")
        if password:
            user.set_password(password)
        elif user._state.adding:
            user.set_unusable_password()
        if commit:
            user.save()
            self.save_m2m()
        return user


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserForm
    list_display = ["email", "first_name", "last_name", "role", "is_active", "is_superuser", "last_login"]
    list_filter = ["role", "is_active", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    filter_horizontal = ["groups"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["cust_id", "company_name", "contact_name", "city", "country", "user"]
    list_filter = ["country"]
    search_fields = ["company_name", "contact_name", "email", "city"]
    autocomplete_fields = ["user"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["employee_id", "first_name", "last_name", "title", "city", "country"]
    list_filter = ["country", "title"]
    search_fields = ["first_name", "last_name", "email", "title"]


@admin.register(Shipper)
class ShipperAdmin(admin.ModelAdmin):
    list_display = ["shipper_id", "company_name", "phone"]
    search_fields = ["company_name", "phone"]


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "customer", "employee", "shipper", "order_date", "freight", "ship_country"]
    list_filter = ["ship_country", "shipper"]
    search_fields = ["order_id", "customer__company_name", "ship_name", "ship_city"]
    autocomplete_fields = ["customer", "employee", "shipper"]
    list_select_related = ["customer", "employee", "shipper"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["supplier_id", "company_name", "contact_name", "city", "country"]
    list_filter = ["country"]
    search_fields = ["company_name", "contact_name", "city"]


class DemoApiKeyAdmin(ApiKeyAdmin):
    """llana's API key admin, with the key's user picked by autocomplete (by email or name)."""

    raw_id_fields: list[str] = []
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    search_fields = [*ApiKeyAdmin.search_fields, "user__email"]


admin.site.unregister(ApiKey)
admin.site.register(ApiKey, DemoApiKeyAdmin)
