"""Refuse oversized requests from their Content-Length, before Django reads a byte of the body."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse


class RequestSizeLimitMiddleware:
    """413 for bodies over ``REQUEST_MAX_BYTES`` (a photo of at most 10 MB plus form fields).

    Django streams large uploads to a temporary file before any view can look at their size;
    this stops them at the door instead. Behind a proxy, set the proxy's limit too (nginx
    ``client_max_body_size``), since chunked requests carry no length.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_MAX_BYTES
        if length > limit:
            message = f"The request is larger than {limit // (1024 * 1024)} MB."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "too_large", "detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
