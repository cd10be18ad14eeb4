from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import auth_views, notifications, people, views

app_name = "api"

urlpatterns = [
    path("auth/token/", auth_views.ObtainToken.as_view(), name="token"),
    path("auth/code/", auth_views.SendCode.as_view(), name="code"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("forms/", views.FormList.as_view(), name="forms"),
    path("forms/<slug:community>/<slug:form>/", views.FormDetail.as_view(), name="form"),
    path("forms/<slug:community>/<slug:form>/submissions/", views.SubmissionCreate.as_view(), name="submit"),
    path("forms/<slug:community>/<slug:form>/files/", views.FileUpload.as_view(), name="upload"),
    path("submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="submission"),
    path("submissions/<int:pk>/transitions/", views.SubmissionTransition.as_view(), name="transition"),
    path("submissions/<int:pk>/ballots/", views.CastBallot.as_view(), name="ballot"),
    path("submissions/<int:pk>/assignee/", views.Reassign.as_view(), name="reassign"),
    path("submissions/<int:pk>/comments/", views.Comment.as_view(), name="comment"),
    path("tasks/", views.Tasks.as_view(), name="tasks"),
    path("notifications/", notifications.Notifications.as_view(), name="notifications"),
    path("communities/<slug:community>/points/leaderboard/", views.Leaderboard.as_view(), name="leaderboard"),
    path("communities/<slug:community>/points/balance/", views.Balance.as_view(), name="balance"),
    path("communities/<slug:community>/points/awards/", views.Award.as_view(), name="award"),
    path("communities/<slug:community>/people/", people.PeopleList.as_view(), name="people"),
    path("communities/<slug:community>/people/<int:pk>/", people.PersonDetail.as_view(), name="person"),
    path("communities/<slug:community>/people/<int:pk>/roles/", people.PersonRoles.as_view(), name="person_roles"),
    path("communities/<slug:community>/people/<int:pk>/roles/<int:rid>/", people.PersonRole.as_view(),
         name="person_role"),
    path("communities/<slug:community>/people/<int:pk>/invitation/", people.PersonInvitation.as_view(),
         name="person_invitation"),
]
