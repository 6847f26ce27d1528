import markdown
from django.shortcuts import render

from cards.models import Card


def board(request):
    cards = [markdown.markdown(card.text) for card in Card.objects.order_by("-created")[:20]]
    return render(request, "cards/board.html", {"cards": cards})
