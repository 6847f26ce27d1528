from django.db import models


class Document(models.Model):
    title = models.CharField(max_length=128)
    original = models.FileField(upload_to="originals/")
    added = models.DateTimeField(auto_now_add=True)
