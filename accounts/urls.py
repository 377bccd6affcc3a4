from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", views.otp_verify, name="otp_verify"),
    path("language/", views.set_language, name="set_language"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("invite/<uidb64>/<token>/", views.invite_accept, name="invite_accept"),
    path("account/", views.profile, name="profile"),
    path("account/two-factor/", views.otp_setup, name="otp_setup"),
    path("account/two-factor/off/", views.otp_disable, name="otp_disable"),
    path("users/", views.user_list, name="user_list"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<uuid:uuid>/", views.user_detail, name="user_detail"),
    path("users/<uuid:uuid>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<uuid:uuid>/activate/", views.user_activate, name="user_activate"),
    path("users/<uuid:uuid>/resend-invite/", views.user_resend_invite, name="user_resend_invite"),
    path("users/<uuid:uuid>/reset-two-factor/", views.user_reset_two_factor,
         name="user_reset_two_factor"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<uuid:uuid>/", views.team_edit, name="team_edit"),
]
