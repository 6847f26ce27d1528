from django.shortcuts import render

from documents.models import Document


def inbox(request):
    return render(request, "documents/inbox.html", {"documents": Document.objects.all()})
