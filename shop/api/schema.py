"""How the API describes itself in OpenAPI (drf-spectacular)."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions

from shop.api.policies import StaffModelPermissionsOrReadOnly


class VitrineAutoSchema(AutoSchema):
    def get_auth(self):
        """Reads guarded by StaffModelPermissionsOrReadOnly are open: say that no credentials
        are needed (drf-spectacular only knows DRF's own read-only permission classes)."""
        auths = super().get_auth()
        reads_open = self.method in permissions.SAFE_METHODS and all(
            isinstance(permission, StaffModelPermissionsOrReadOnly)
            for permission in self.view.get_permissions()
        )
        if reads_open and {} not in auths:
            auths.append({})
        return auths
