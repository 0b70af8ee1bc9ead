"""The hazard closed loop and 挂牌督办, step by step (given / when / then)."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from worksafe.core.models import AuditEntry, TransitionLog
from worksafe.core.testing import make_org, make_user
from worksafe.core.workflow import InvalidTransition, timeline
from worksafe.hazards import actions
from worksafe.hazards.choices import HazardStatus
from worksafe.hazards.models import Hazard, Listing

TODAY = datetime.date.today()


def _photo(colour=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _new(world, level="general", **extra):
    fields = dict(enterprise=world.ent_xm, title="液氨罐区可燃气体报警器失效", level=level, found_on=TODAY)
    if level == "major":
        fields.update(status_and_causes="报警器探头老化失效", harm_and_difficulty="泄漏无法及时发现，需停产更换",
                      treatment_plan="停用罐区，更换全部探头并联调")
    fields.update(extra)
    return actions.report(Hazard(**fields), by=world.ent_xm_staff)


@pytest.fixture
def hazard(world):
    return _new(world)


def test_report_numbers_the_hazard_and_starts_the_timeline(world, hazard):
    assert hazard.code == f"YH-{TODAY.year}-0001" and hazard.status == HazardStatus.REPORTED
    assert [s.action for s in timeline(hazard)] == ["report"]
    assert hazard.reported_to_regulator_at is None  # only major hazards go to the regulator at once


def test_major_hazard_needs_the_three_parts_and_goes_to_the_regulator_at_once(world):
    with pytest.raises(ValidationError) as info:
        actions.report(Hazard(enterprise=world.ent_xm, title="储罐区防火堤坍塌", level="major", found_on=TODAY),
                       by=world.ent_xm_staff)
    assert set(info.value.message_dict) == {"status_and_causes", "harm_and_difficulty", "treatment_plan"}
    assert not Hazard.objects.exists()
    major = _new(world, level="major")
    assert major.reported_to_regulator_at is not None


def test_the_closed_loop_moves_one_step_at_a_time_with_one_log_row_each(world, hazard):
    # given a reported hazard
    # when the head assigns it, staff rectify it and the head verifies it
    actions.assign(hazard, by=world.ent_xm_head, responsible_person="王工", measures="更换探头", funds=8000,
                   deadline=TODAY + datetime.timedelta(days=10))
    assert hazard.status == HazardStatus.RECTIFYING
    actions.rectify(hazard, by=world.ent_xm_staff, comment="已更换并测试", files=[_photo()])
    assert hazard.status == HazardStatus.AWAITING_VERIFICATION and hazard.rectified_by == world.ent_xm_staff
    actions.verify(hazard, by=world.ent_xm_head, comment="复核合格")
    # then it is closed, every step is on the timeline and audited
    assert (hazard.status, hazard.verified_by, hazard.closed_on) == (HazardStatus.CLOSED, world.ent_xm_head, TODAY)
    steps = timeline(hazard)
    assert [s.action for s in steps] == ["report", "assign", "rectify", "verify"]
    assert steps[2].attachments.get().role == "after"
    assert AuditEntry.objects.filter(action="transition", object_id=str(hazard.pk)).count() == 3


def test_the_rectifier_cannot_verify_their_own_work(world, hazard):
    actions.assign(hazard, by=world.ent_xm_head, responsible_person="王工", measures="更换", deadline=TODAY)
    actions.rectify(hazard, by=world.ent_xm_head, comment="已更换")
    with pytest.raises(ValidationError):
        actions.verify(hazard, by=world.ent_xm_head)
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.AWAITING_VERIFICATION
    assert TransitionLog.objects.filter(action="verify").count() == 0


def test_reject_needs_a_reason_and_sends_it_back(world, hazard):
    actions.assign(hazard, by=world.ent_xm_head, responsible_person="王工", measures="更换", deadline=TODAY)
    actions.rectify(hazard, by=world.ent_xm_staff, comment="已更换")
    with pytest.raises(ValidationError):
        actions.reject(hazard, by=world.ent_xm_head, comment=" ")
    actions.reject(hazard, by=world.ent_xm_head, comment="未做联调测试")
    assert hazard.status == HazardStatus.RECTIFYING


def test_a_step_from_the_wrong_state_is_refused_and_changes_nothing(world, hazard):
    # given a stale copy of the hazard, already assigned through another copy (two people, one click each)
    stale = Hazard.objects.get(pk=hazard.pk)
    actions.assign(hazard, by=world.ent_xm_head, responsible_person="王工", measures="更换", deadline=TODAY)
    # when the stale copy is assigned again
    with pytest.raises(InvalidTransition):
        actions.assign(stale, by=world.ent_xm_head, responsible_person="李工", measures="别的", deadline=TODAY)
    # then the first assignment stands, with exactly one assign row
    hazard.refresh_from_db()
    assert hazard.responsible_person == "王工"
    assert TransitionLog.objects.filter(action="assign").count() == 1


def test_staff_without_the_permission_cannot_assign(world, hazard):
    with pytest.raises(PermissionDenied):
        actions.assign(hazard, by=world.ent_xm_staff, responsible_person="王工", measures="更换", deadline=TODAY)
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.REPORTED


def _listed(world, deadline=None):
    major = _new(world, level="major")
    listing = actions.list_for_supervision(major, by=world.xm_officer, notice_number="厦安督〔2026〕1号",
                                           supervising_office="厦门市安委办",
                                           deadline=deadline or TODAY + datetime.timedelta(days=60))
    return major, listing


def test_only_a_major_open_hazard_can_be_listed_and_only_once(world, hazard):
    with pytest.raises(ValidationError):
        actions.list_for_supervision(hazard, by=world.xm_officer, notice_number="1", supervising_office="x",
                                     deadline=TODAY)
    major, _listing = _listed(world)
    with pytest.raises(ValidationError):
        actions.list_for_supervision(major, by=world.xm_officer, notice_number="2", supervising_office="x",
                                     deadline=TODAY)
    with pytest.raises(PermissionDenied):
        actions.list_for_supervision(_new(world, level="major"), by=world.ent_xm_head, notice_number="3",
                                     supervising_office="x", deadline=TODAY)
    assert Listing.objects.count() == 1


def test_only_the_listing_authority_verifies_and_lifts(world):
    # given a major hazard listed by 厦门市应急管理局, rectified by the enterprise
    major, listing = _listed(world)
    actions.assign(major, by=world.ent_xm_head, responsible_person="王工", measures="更换", deadline=TODAY)
    actions.rectify(major, by=world.ent_xm_staff, comment="已停产更换")
    # when the enterprise head (or the province) tries to close it: refused
    with pytest.raises(PermissionDenied):
        actions.verify(major, by=world.ent_xm_head)
    with pytest.raises(PermissionDenied):
        actions.verify(major, by=world.province_officer)
    # when the listing authority verifies on site
    actions.verify(major, by=world.xm_officer, comment="现场核查合格，同意摘牌")
    listing.refresh_from_db()
    assert major.status == HazardStatus.CLOSED and listing.status == "lifted" and listing.lifted_on == TODAY
    assert [s.action for s in timeline(major)] == ["report", "list", "assign", "rectify", "verify"]


def test_overdue_listing_escalates_to_the_city_above_the_county(client, world):
    # given a county bureau (思明区) that listed a hazard whose deadline has passed
    county_org = make_org("厦门市思明区应急管理局", "emergency", "350203")
    county_officer = make_user("siming_officer", county_org, ["regulator_staff"])
    major = _new(world, level="major")
    listing = actions.list_for_supervision(major, by=county_officer, notice_number="思安督〔2026〕3号",
                                           supervising_office="思明区安委办",
                                           deadline=TODAY - datetime.timedelta(days=5))
    assert listing.escalated_to == "3502" and listing.days_overdue == 5
    # then the city bureau sees it on its escalation list, the county and 福州 do not
    client.force_login(world.xm_officer)
    assert [r.pk for r in client.get(reverse("hazards:escalated")).context["rows"]] == [listing.pk]
    client.force_login(county_officer)
    assert client.get(reverse("hazards:escalated")).context["rows"] == []
    client.force_login(world.fz_officer)
    assert client.get(reverse("hazards:escalated")).context["rows"] == []


def test_notice_pdf_is_printable_inside_the_scope_only(client, world):
    _major, listing = _listed(world)
    client.force_login(world.xm_officer)
    response = client.get(reverse("hazards:listing_pdf", args=[listing.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    client.force_login(world.fz_officer)
    assert client.get(reverse("hazards:listing_pdf", args=[listing.pk])).status_code == 404


def test_pages_walk_the_loop_with_photos(client, world):
    client.force_login(world.ent_xm_staff)
    response = client.post(reverse("hazards:hazard_add"), {
        "enterprise": world.ent_xm.pk, "title": "消防通道堆放杂物", "level": "general", "source": "self_check",
        "found_on": TODAY.isoformat(), "photos": [_photo(), _photo((10, 200, 10))]})
    assert response.status_code == 302
    hazard = Hazard.objects.get()
    assert timeline(hazard)[0].attachments.count() == 2
    client.force_login(world.ent_xm_head)
    client.post(reverse("hazards:hazard_assign", args=[hazard.pk]), {
        "responsible_person": "王工", "measures": "清理", "deadline": TODAY.isoformat()})
    client.force_login(world.ent_xm_staff)
    client.post(reverse("hazards:hazard_rectify", args=[hazard.pk]), {"comment": "已清理", "photos": [_photo()]})
    client.force_login(world.ent_xm_head)
    client.post(reverse("hazards:hazard_verify", args=[hazard.pk]), {"comment": "合格"})
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.CLOSED
    page = client.get(reverse("hazards:hazard_detail", args=[hazard.pk]))
    assert page.status_code == 200 and len(page.context["timeline"]) == 4


def test_steps_on_another_citys_hazard_are_404(client, world, hazard):
    client.force_login(world.fz_officer)
    for name in ("hazard_assign", "hazard_rectify", "hazard_verify", "hazard_reject", "hazard_list_for_supervision"):
        assert client.post(reverse(f"hazards:{name}", args=[hazard.pk]), {}).status_code == 404


def test_api_walks_the_loop_and_reports_a_wrong_step_as_409(client, world, hazard):
    client.force_login(world.ent_xm_head)
    url = f"/api/v1/hazards/hazards/{hazard.pk}"
    response = client.post(f"{url}/assign", {"responsible_person": "王工", "measures": "更换",
                                             "deadline": TODAY.isoformat()}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "rectifying"
    response = client.post(f"{url}/assign", {"responsible_person": "王工", "measures": "更换",
                                             "deadline": TODAY.isoformat()}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    client.force_login(world.ent_xm_staff)
    assert client.post(f"{url}/rectify", {"comment": "已更换"}, content_type="application/json").status_code == 200
    assert client.post(f"{url}/verify", {"comment": "x"}, content_type="application/json").status_code == 403
    client.force_login(world.ent_xm_head)
    response = client.post(f"{url}/verify", {"comment": "合格"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    client.force_login(world.fz_officer)
    assert client.post(f"{url}/reject", {"comment": "x"}, content_type="application/json").status_code == 404


def test_api_lists_a_major_hazard_for_supervision(client, world):
    major = _new(world, level="major")
    client.force_login(world.xm_officer)
    response = client.post(f"/api/v1/hazards/hazards/{major.pk}/list", {
        "notice_number": "厦安督〔2026〕9号", "supervising_office": "厦门市安委办",
        "deadline": (TODAY + datetime.timedelta(days=30)).isoformat()}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Listing.objects.get().listed_by == world.xm_org


def test_photos_are_served_only_to_users_who_see_the_hazard(client, world):
    hazard = actions.report(Hazard(enterprise=world.ent_xm, title="消防通道堵塞", found_on=TODAY),
                            by=world.ent_xm_staff, files=[_photo()])
    photo = timeline(hazard)[0].attachments.get()
    client.force_login(world.xm_officer)
    response = client.get(reverse("core:attachment", args=[photo.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(world.fz_officer)
    assert client.get(reverse("core:attachment", args=[photo.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("core:attachment", args=[photo.pk])).status_code == 302


def test_the_list_filters_listed_and_unlisted_hazards(client, world, hazard):
    major, _listing = _listed(world)
    client.force_login(world.xm_officer)
    for value, expected in (("yes", [major.pk]), ("no", [hazard.pk]), ("", sorted([major.pk, hazard.pk]))):
        page = client.get(reverse("hazards:hazard_list"), {"listed": value}).context["page"]
        assert sorted(h.pk for h in page.paginator.object_list) == sorted(expected), value
