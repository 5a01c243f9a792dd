"""An invoice (accounting.invoices()) as a PDF, with fpdf2: invoice number, seller and buyer,
one line per session with its net, VAT rate, VAT and total, and the totals; sessions whose
checks failed are marked, or listed as left out, as the invoice's policy says."""
from fpdf import FPDF

from host_tools.backend.receipt import format_kwh, format_minor
from host_tools.report.accounting import fmt_local

DEFAULT_SELLER = {"name": "laddvakt demo operator AB", "address": "Exempelgatan 1, 111 22 Stockholm",
                  "vat_id": "SE000000000001"}


def _latin1(text):
    # The PDF's core fonts are Latin-1: anything else is replaced, never an exception.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _vat_text(s):
    bp = (s["receipt"] or {}).get("vat_bp")
    return "" if bp is None else "%d.%02d %%" % divmod(bp, 100)


def render(inv, tz, seller=None):
    """The invoice as PDF bytes."""
    seller = seller or DEFAULT_SELLER
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title("Invoice %s" % inv["number"])
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1("Invoice %s" % inv["number"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    buyer = inv["buyer"]
    head = [("Invoice number", inv["number"]), ("Period", "%s (%s)" % (inv["month"], tz.key)),
            ("Seller", "%s, %s, VAT id %s" % (seller["name"], seller.get("address", ""), seller.get("vat_id", ""))),
            ("Buyer", ", ".join(x for x in (inv["customer"], buyer.get("address", ""),
                                            buyer.get("vat_id", "")) if x)),
            ("ID tags", ", ".join(inv["tags"]))]
    for k, v in head:
        pdf.cell(35, 6, _latin1(k + ":"))
        pdf.cell(0, 6, _latin1(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    cols = (("Start (local)", 48), ("Session", 62), ("Station", 25), ("ID tag", 22), ("kWh", 20),
            ("Net", 22), ("VAT rate", 20), ("VAT", 20), ("Total", 22), ("Cur", 12))
    pdf.set_font("Helvetica", "B", 9)
    for name, w in cols:
        pdf.cell(w, 6, name, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    marked = False
    for s in inv["lines"]:
        rc = s["receipt"] or {}
        unit = s["minor_unit"]
        vat = rc.get("vat", 0)
        net = rc.get("net", s["cost_minor"] - vat)
        flag = " *" if s["flagged"] else ""
        marked = marked or bool(flag)
        cells = (fmt_local(s["start_t"], tz), s["sid"] + flag, s["dev"], s["id_tag"] or "",
                 format_kwh(s["energy_wh"]), format_minor(net, unit), _vat_text(s),
                 format_minor(vat, unit), format_minor(s["cost_minor"], unit), s["currency"])
        for (_, w), c in zip(cols, cells):
            pdf.cell(w, 6, _latin1(c), border=1)
        pdf.ln()
    if not inv["lines"]:
        pdf.cell(0, 6, "No sessions this month.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    for (cur, unit), t in sorted(inv["totals"].items()):
        pdf.cell(0, 6, _latin1("Total %s kWh: net %s %s, VAT %s %s, total %s %s" % (
            format_kwh(t["energy_wh"]), format_minor(t["net_minor"], unit), cur,
            format_minor(t["vat_minor"], unit), cur, format_minor(t["cost_minor"], unit), cur)),
            new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if marked:
        pdf.cell(0, 6, "* The backend's cost or signature check of this session failed; it is"
                       " included pending review.", new_x="LMARGIN", new_y="NEXT")
    if inv["omitted"]:
        pdf.cell(0, 6, _latin1("Left out, checks failed: " + ", ".join(s["sid"] for s in inv["omitted"])),
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
