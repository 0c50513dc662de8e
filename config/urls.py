from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.ratelimits import LOGIN_LIMITED, limit_posts

# The admin's own login view, its POSTs (password guesses) counted per client: LOGIN_RATE.
admin_login = limit_posts(group="admin-login", rate_setting="LOGIN_RATE", message=LOGIN_LIMITED)(
    admin.site.login
)
# Swagger UI: the split view serves its start-up script as a file of its own (no inline script),
# and templates/api/ moves its inline style to static/. Its stylesheet draws icons as data: URLs.
swagger = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html")
)
# Redoc styles its page from script (styled-components inserts <style> elements, and cannot be
# given a nonce), draws icons as data: URLs and builds its search index in a worker made from a
# blob. Scripts stay 'self' and inline style attributes blocked. (Its "API docs by Redocly"
# logo, from cdn.redoc.ly, stays blocked too: nothing from other sites; Redoc then hides it.)
redoc = csp_update(
    {"style-src-elem": [SELF, UNSAFE_INLINE], "img-src": ["data:"], "worker-src": ["blob:"]}
)(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"))


def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the pages' <link rel="icon"> says.
    Not a permanent redirect: the icon's hashed file name changes with the icon."""
    return HttpResponseRedirect(static_url("favicon.svg"))


urlpatterns = [
    path("admin/login/", admin_login),  # before admin.site.urls, to answer its login URL
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/swagger/", swagger, name="swagger"),
    path("api/schema/redoc/", redoc, name="redoc"),
    path("api/v1/", include("shop.api.urls")),
    path("", include("shop.urls")),
    path("favicon.ico", favicon),
]

if settings.DEBUG:
    # In production media come from object storage or the web server in front of Django.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "config.errors.bad_request"
handler500 = "config.errors.server_error"
