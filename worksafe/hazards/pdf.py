"""重大事故隐患挂牌督办通知书: the supervision notice a regulator prints and serves (reportlab, STSong-Light)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from worksafe.core.pdf import FONT

_TITLE = ParagraphStyle("t", fontName=FONT, fontSize=18, leading=26, alignment=1, spaceAfter=2 * mm)
_NUMBER = ParagraphStyle("n", fontName=FONT, fontSize=11, leading=16, alignment=1, spaceAfter=6 * mm)
_BODY = ParagraphStyle("b", fontName=FONT, fontSize=12, leading=22, firstLineIndent=24)
_PLAIN = ParagraphStyle("p", fontName=FONT, fontSize=12, leading=22)
_RIGHT = ParagraphStyle("r", fontName=FONT, fontSize=12, leading=22, alignment=2)


def listing_notice_pdf(listing) -> bytes:
    hazard = listing.hazard
    ent = hazard.enterprise
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm,
                            bottomMargin=20 * mm, title=_("Major hazard supervision notice"))
    text = _("The major hazard “{title}” ({code}) found at your unit at {location} is listed for supervision "
             "(挂牌督办) by {authority}. Rectify it according to your treatment plan by {deadline}, keep the "
             "workers and the public safe while rectifying, and report to {office} when it is done; it will be "
             "verified on site before the listing is lifted.").format(
        title=hazard.title, code=hazard.code, location=hazard.location or ent.address,
        authority=listing.listed_by.name, deadline=listing.deadline.strftime("%Y年%m月%d日"),
        office=listing.supervising_office)
    story = [
        Paragraph(_("Major hazard supervision notice"), _TITLE),
        Paragraph(listing.notice_number, _NUMBER),
        Paragraph(f"{ent.name}：", _PLAIN),
        Paragraph(text, _BODY),
    ]
    if listing.requirements:
        story += [Paragraph(_("Requirements:"), _PLAIN), Paragraph(listing.requirements, _BODY)]
    story += [
        Spacer(1, 6 * mm),
        Paragraph(_("Treatment plan: {plan}").format(plan=hazard.treatment_plan or "—"), _BODY),
        Spacer(1, 18 * mm),
        Paragraph(listing.listed_by.name, _RIGHT),
        Paragraph(listing.listed_on.strftime("%Y年%m月%d日"), _RIGHT),
    ]
    doc.build(story)
    return buffer.getvalue()
