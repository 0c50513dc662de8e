"""The REST API (/api/v1/): views, serializers, the policies named in settings.REST_FRAMEWORK
(who may write, page size, error bodies, throttles), the OpenAPI schema class, URLs."""
