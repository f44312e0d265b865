"""The demo app: Llana's Northwind-style demo tables."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "project.demo"
    label = "demo"
    verbose_name = "Llana demo"
