from django.urls import path

from . import views

urlpatterns = [path(route.removeprefix("/"), view) for route, view in views.ROUTES.items()]

handler400 = views.bad_request
handler404 = views.not_found
handler500 = views.server_error
