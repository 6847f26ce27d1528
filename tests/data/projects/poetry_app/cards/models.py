from django.db import models


class Card(models.Model):
    text = models.TextField(help_text="Markdown")
    created = models.DateTimeField(auto_now_add=True)
