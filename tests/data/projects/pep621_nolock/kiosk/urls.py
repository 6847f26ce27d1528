from django.urls import path

from shopfront.views import home

urlpatterns = [path("", home)]
