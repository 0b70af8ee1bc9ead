"""The registration form of a major hazard source (重大危险源登记表) as a PDF (reportlab)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from worksafe.core.pdf import FONT

_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1, spaceAfter=4 * mm)
_CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9.5, leading=13)
_NOTE = ParagraphStyle("note", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.grey)
_GRID = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT),
    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
    ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#f0f0f0")),
])


def _p(value) -> Paragraph:
    return Paragraph("" if value in (None, "") else str(value), _CELL)


def registration_pdf(hazard) -> bytes:
    """One A4 page (or more for long substance lists): unit, grading, substances, custodians."""
    ent = hazard.enterprise
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=_("Major hazard source registration form"))
    grade = hazard.get_grade_display() if hazard.grade else _("not graded")
    basics = [
        [_p(_("Enterprise")), _p(ent.name), _p(_("Unified social credit code")), _p(ent.credit_code)],
        [_p(_("Address")), _p(ent.address), _p(_("county")), _p(ent.county.full_name)],
        [_p(_("Principal responsible person")), _p(ent.principal), _p(_("phone")), _p(ent.principal_phone)],
        [_p(_("hazard code")), _p(hazard.code), _p(_("unit name")), _p(hazard.name)],
        [_p(_("unit kind")), _p(hazard.get_unit_kind_display()), _p(_("location within the site")),
         _p(hazard.location)],
        [_p(_("people within 500 m")), _p(hazard.people_within_500m), _p(_("grade")), _p(grade)],
        [_p("S = Σq/Q"), _p(hazard.s_value), _p("R = α·Σβq/Q"), _p(hazard.r_value)],
        [_p(_("assessed on")), _p(hazard.assessed_on), _p(_("evaluation report dated")),
         _p(hazard.evaluation_report_on)],
        [_p(_("evaluation due")), _p(hazard.evaluation_due), _p(_("filed on")), _p(hazard.filed_on)],
    ]
    width = doc.width
    story = [Paragraph(_("Major hazard source registration form"), _TITLE),
             Table(basics, colWidths=[width * 0.18, width * 0.32, width * 0.18, width * 0.32], style=_GRID),
             Spacer(1, 5 * mm)]

    latest = hazard.assessments.first()
    lines = (latest.result.get("lines") or []) if latest else []
    rows = [[_p(_("substance name")), _p(_("CAS number")), _p("q (t)"), _p("Q (t)"), _p("β"), _p("q/Q")]]
    for line in lines:
        rows.append([_p(line.get("name") or line.get("category")), _p(line.get("cas")), _p(line.get("q")),
                     _p(line.get("Q")), _p(line.get("beta")), _p(line.get("ratio") or line.get("q_over_Q"))])
    if not lines:
        for s in hazard.substances.all():
            rows.append([_p(s.name or s.categories), _p(s.cas), _p(s.q), _p(""), _p(""), _p("")])
    story += [Table(rows, colWidths=[width * w for w in (0.30, 0.16, 0.13, 0.13, 0.12, 0.16)], repeatRows=1,
                    style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                      ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0"))])),
              Spacer(1, 5 * mm)]

    custodians = [[_p(_("custody role")), _p(_("name")), _p(_("position")), _p(_("phone"))]]
    for c in hazard.custodians.all():
        custodians.append([_p(c.get_role_display()), _p(c.name), _p(c.position), _p(c.phone)])
    story += [Table(custodians, colWidths=[width * w for w in (0.25, 0.2, 0.3, 0.25)], repeatRows=1,
                    style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                      ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0"))])),
              Spacer(1, 6 * mm),
              Paragraph(_("Graded under GB 18218-2018. Printed {date} from WorkSafe Fujian.").format(
                  date=timezone.localdate().isoformat()), _NOTE)]
    doc.build(story)
    return buffer.getvalue()
