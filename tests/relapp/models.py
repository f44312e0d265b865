"""Tables for relation tests: ``Message`` has two foreign keys to ``Person`` and a many-to-many to ``Tag``."""

from __future__ import annotations

from django.db import models


class Person(models.Model):
    person_id = models.AutoField(db_column="personId", primary_key=True)
    name = models.CharField(max_length=30)

    class Meta:
        db_table = "Person"
        ordering = ["person_id"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    tag_id = models.AutoField(db_column="tagId", primary_key=True)
    label = models.CharField(max_length=30)

    class Meta:
        db_table = "Tag"
        ordering = ["tag_id"]

    def __str__(self) -> str:
        return self.label


class Message(models.Model):
    message_id = models.AutoField(db_column="messageId", primary_key=True)
    sender = models.ForeignKey(Person, db_column="senderId", on_delete=models.CASCADE, related_name="sent")
    recipient = models.ForeignKey(
        Person, db_column="recipientId", null=True, blank=True, on_delete=models.SET_NULL, related_name="received"
    )
    text = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, blank=True, related_name="messages", db_table="Message_tags")

    class Meta:
        db_table = "Message"
        ordering = ["message_id"]

    def __str__(self) -> str:
        return self.text
