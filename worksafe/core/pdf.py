"""PDF basics for printable official documents (reportlab).

Chinese text uses the Adobe CID font STSong-Light, which every PDF reader maps to a local Song/Ming
typeface, so no font file has to ship with the platform.
"""

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
