from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET"])
def ping(request):
    return Response({"ping": "pong"})


urlpatterns = [path("api/ping", ping)]
