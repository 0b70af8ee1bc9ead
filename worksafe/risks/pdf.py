"""The risk notification card of a risk point (风险告知卡) as a PDF (reportlab), to post at the place itself."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from worksafe.core.pdf import FONT
from worksafe.risks import rules
from worksafe.risks.models import MeasureType, RiskLevel

REPORT_HOTLINE = "12350"  # 安全生产举报投诉电话 (national work-safety reporting line)
_LABEL_BG = colors.HexColor("#f0f0f0")
_UNGRADED = "#868e96"


def _styles(scale: float) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=28 * scale, leading=36 * scale, alignment=1),
        "subtitle": ParagraphStyle("subtitle", fontName=FONT, fontSize=14 * scale, leading=20 * scale, alignment=1,
                                   spaceAfter=4 * mm * scale),
        "band": ParagraphStyle("band", fontName=FONT, fontSize=26 * scale, leading=34 * scale, alignment=1,
                               textColor=colors.white),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=12 * scale, leading=18 * scale),
        "label": ParagraphStyle("label", fontName=FONT, fontSize=12 * scale, leading=18 * scale),
        "phone": ParagraphStyle("phone", fontName=FONT, fontSize=15 * scale, leading=22 * scale),
        "note": ParagraphStyle("note", fontName=FONT, fontSize=9 * scale, leading=13 * scale,
                               textColor=colors.grey),
    }


def _text(value) -> str:
    return escape("" if value in (None, "") else str(value)).replace("\n", "<br/>")


def _lines(items) -> str:
    return "<br/>".join(f"{i}. {_text(text)}" for i, text in enumerate(items, start=1))


def risk_card_pdf(point, *, size: str = "a4") -> bytes:
    """One page: enterprise and point, the level on its colour band, accident types, hazard factors,
    control measures by type, emergency measures, the person responsible and the numbers to call."""
    pagesize, scale = (A5, 0.7) if size == "a5" else (A4, 1.0)
    st = _styles(scale)
    ent = point.enterprise
    buffer = io.BytesIO()
    margin = 14 * mm * scale
    doc = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=_("Risk notification card"), author=ent.name)
    width = doc.width

    def p(value, style="cell"):
        return Paragraph(_text(value), st[style])

    def raw(html, style="cell"):
        return Paragraph(html, st[style])

    level = point.level
    band_colour = colors.HexColor(rules.LEVEL_HEX.get(level, _UNGRADED))
    band_text = _("Risk level: {level}").format(level=RiskLevel(level).label) if level else _("Not assessed yet")
    band = Table([[p(band_text, "band")]], colWidths=[width],
                 style=TableStyle([("BACKGROUND", (0, 0), (-1, -1), band_colour),
                                   ("TOPPADDING", (0, 0), (-1, -1), 6 * scale),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 8 * scale)]))

    measures = {t.value: [] for t in MeasureType}
    for m in point.measures.all():
        measures[m.kind].append(m.description + (f"（{m.responsible}）" if m.responsible else ""))
    control_rows = [[p(label, "label"), raw(_lines(measures[kind]) or "—")]
                    for kind, label in MeasureType.choices if kind != MeasureType.EMERGENCY]
    emergency = measures[MeasureType.EMERGENCY]

    score = ""
    if point.method:
        score = "\n".join([str(point.get_method_display()),
                           _("Score {score}").format(score=f"{point.score.normalize():f}")])
    rows = [
        [p(_("Enterprise"), "label"), p(ent.name), p(_("risk point code"), "label"), p(point.code)],
        [p(_("risk point name"), "label"), p(point.name), p(_("risk point kind"), "label"), p(point.get_kind_display())],
        [p(_("location within the site"), "label"), p(point.location), p(_("control tier"), "label"),
         p("、".join(point.control_tiers))],
        [p(_("possible accident types"), "label"), p(point.accident_type_names), "", ""],
        [p(_("main hazard factors"), "label"), p(point.hazard_factors), "", ""],
        [p(_("assessment method"), "label"), p(score), p(_("date assessed"), "label"), p(point.assessed_on)],
        *[[label, body, "", ""] for label, body in control_rows],
        [p(_("Emergency response"), "label"), raw((_lines(emergency) or "—")
                                                  + "<br/>" + _text(_("Fire 119 · Ambulance 120"))), "", ""],
        [p(_("person responsible"), "label"), p(point.responsible_person), p(_("phone"), "label"),
         p(point.responsible_phone)],
    ]
    spans = [("SPAN", (1, i), (3, i)) for i, row in enumerate(rows) if row[2] == ""]
    table = Table(rows, colWidths=[width * w for w in (0.19, 0.36, 0.17, 0.28)], style=TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5 * scale),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6 * scale),
        ("BACKGROUND", (0, 0), (0, -1), _LABEL_BG),
        *[("BACKGROUND", (2, i), (2, i), _LABEL_BG) for i, row in enumerate(rows) if row[2] != ""],
        *spans,
    ]))

    safety = " ".join(v for v in (ent.safety_manager, ent.safety_manager_phone) if v) or "—"
    report = _("Report line: work safety reporting {hotline} · safety manager {safety}").format(
        hotline=REPORT_HOTLINE, safety=safety)
    phones = Table([[p(report, "phone")]],
                   colWidths=[width], style=TableStyle([("BOX", (0, 0), (-1, -1), 1.2, band_colour),
                                                        ("TOPPADDING", (0, 0), (-1, -1), 6 * scale),
                                                        ("BOTTOMPADDING", (0, 0), (-1, -1), 6 * scale)]))

    story = [
        Paragraph(_text(_("Risk notification card")), st["title"]),
        Paragraph(_text(ent.name), st["subtitle"]),
        band, Spacer(1, 3 * mm * scale), table, Spacer(1, 3 * mm * scale), phones, Spacer(1, 3 * mm * scale),
        Paragraph(_text(_("Reassessment due {due}. Printed {date} from WorkSafe Fujian.").format(
            due=point.reassessment_due or "—", date=timezone.localdate().isoformat())), st["note"]),
    ]
    doc.build(story)
    return buffer.getvalue()
