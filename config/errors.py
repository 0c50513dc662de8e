"""Server errors: the API's JSON format under /api/, the shop's page elsewhere."""

from django.http import JsonResponse
from django.views.defaults import server_error as django_server_error


def server_error(request):
    if request.path.startswith("/api/"):
        detail = "Something went wrong on our side; it has been logged. Please try again."
        return JsonResponse({"error": "server_error", "detail": detail}, status=500)
    return django_server_error(request)
