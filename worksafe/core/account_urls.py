"""Sign-in, own account and the three administrator consoles; included in the `core` namespace.

/accounts/... paths are let through by SecurityPolicyMiddleware for half-signed-in users (password
change or second factor pending); the /admin-console/ prefix is where an admin-network restriction
(DB-IP-2) can be applied at the proxy.
"""

from django.urls import path

from worksafe.core import accounts, admin_views

urlpatterns = [
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/otp/setup/", accounts.OtpSetupView.as_view(), name="otp_setup"),
    path("accounts/otp/verify/", accounts.OtpVerifyView.as_view(), name="otp_verify"),
    path("accounts/profile/", accounts.ApiTokenView.as_view(), name="profile"),
    # 系统管理员 / 安全管理员
    path("admin-console/users/", admin_views.UserListView.as_view(), name="user_list"),
    path("admin-console/users/add/", admin_views.UserCreateView.as_view(), name="user_add"),
    path("admin-console/users/<int:pk>/toggle/", admin_views.UserToggleView.as_view(), name="user_toggle"),
    path("admin-console/users/<int:pk>/roles/", admin_views.UserRolesView.as_view(), name="user_roles"),
    path("admin-console/users/<int:pk>/unlock/", admin_views.UserUnlockView.as_view(), name="user_unlock"),
    # 审计管理员
    path("admin-console/audit/", admin_views.AuditListView.as_view(), name="audit_list"),
    path("admin-console/audit/verify/", admin_views.AuditVerifyView.as_view(), name="audit_verify"),
]
