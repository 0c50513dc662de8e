"""Staff members by what they may do."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

# The permissions of each kind of staff member that the access tests tell apart.
PRODUCT_EDITOR = ("add_product", "change_product", "view_product")
ORDER_CLERK = ("view_order",)
INSIGHTS_VIEWER = ("view_evaluationrun",)


def staff_user(username: str, *permissions: str, password: str = "pw", superuser: bool = False):
    """A staff member with only these permissions (codenames), or a superuser."""
    user = get_user_model().objects.create_user(
        username, password=password, is_staff=True, is_superuser=superuser
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return user
