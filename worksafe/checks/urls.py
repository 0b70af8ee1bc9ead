from django.urls import path

from worksafe.checks import views

app_name = "checks"


def _crud(slug: str, name: str, list_view, detail_view, edit_view=None, delete_view=None) -> list:
    """list / detail (and add / edit / delete when writable) named checks:<model>_<kind>, under /checks/<slug>/."""
    patterns = [path(f"{slug}/", list_view.as_view(), name=f"{name}_list"),
                path(f"{slug}/<int:pk>/", detail_view.as_view(), name=f"{name}_detail")]
    if edit_view is not None:
        patterns += [path(f"{slug}/add/", edit_view.as_view(), name=f"{name}_add"),
                     path(f"{slug}/<int:pk>/edit/", edit_view.as_view(), name=f"{name}_edit"),
                     path(f"{slug}/<int:pk>/delete/", delete_view.as_view(), name=f"{name}_delete")]
    return patterns


urlpatterns = [
    *_crud("checklists", "checklist", views.ChecklistListView, views.ChecklistDetailView, views.ChecklistEditView,
           views.ChecklistDeleteView),
    path("checklists/<int:pk>/copy/", views.ChecklistCopyView.as_view(), name="checklist_copy"),
    path("checklists/<int:pk>/check/", views.ChecklistCheckView.as_view(), name="checklist_check"),
    *_crud("items", "checklistitem", views.ChecklistItemListView, views.ChecklistItemDetailView,
           views.ChecklistItemEditView, views.ChecklistItemDeleteView),
    *_crud("plans", "checkplan", views.CheckPlanListView, views.CheckPlanDetailView, views.CheckPlanEditView,
           views.CheckPlanDeleteView),
    *_crud("tasks", "checktask", views.CheckTaskListView, views.CheckTaskDetailView, views.CheckTaskEditView,
           views.CheckTaskDeleteView),
    path("tasks/<int:pk>/check/", views.TaskCheckView.as_view(), name="checktask_check"),
    *_crud("records", "checkrecord", views.CheckRecordListView, views.CheckRecordDetailView),
    *_crud("results", "checkresult", views.CheckResultListView, views.CheckResultDetailView),
    path("results/<int:pk>/hazard/", views.ResultToHazardView.as_view(), name="checkresult_hazard"),
    # The regulator's list of flags: "flags" in the menu, formalismflag_list for the generic views and tests.
    path("flags/", views.FormalismFlagListView.as_view(), name="flags"),
    *_crud("flags", "formalismflag", views.FormalismFlagListView, views.FormalismFlagDetailView),
]
