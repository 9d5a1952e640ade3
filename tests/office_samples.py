"""Small Office, OpenDocument and e-mail files built with the same libraries kb reads them
with, for tests: each has the given title and paragraphs."""

from __future__ import annotations

import io
from email.message import EmailMessage


def docx_bytes(heading: str, sections: list[tuple[str, str]], **properties: object) -> bytes:
    """A Word document: `heading` as a Title paragraph, then a Heading 1 and a paragraph per
    (heading, text); `properties` set core properties (title, author, language...)."""
    import docx

    document = docx.Document()
    document.add_paragraph(heading, style="Title")
    for heading, text in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
    for key, value in properties.items():
        setattr(document.core_properties, key, value)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes(slides: list[tuple[str, str, str]], **properties: object) -> bytes:
    """A deck with a slide per (title, body, speaker notes)."""
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    for key, value in properties.items():
        setattr(deck.core_properties, key, value)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with a sheet per name and its rows."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _odf_bytes(document: object) -> bytes:
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def odt_bytes(title: str, sections: list[tuple[str, str]]) -> bytes:
    """An OpenDocument text: a level-1 heading `title`, then level-2 headings with text."""
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text=title))
    for heading, text in sections:
        document.text.addElement(H(outlinelevel=2, text=heading))
        document.text.addElement(P(text=text))
    return _odf_bytes(document)


def odp_bytes(slides: list[tuple[str, str, str]]) -> bytes:
    """An OpenDocument presentation with a slide per (title, body, speaker notes)."""
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for number, (title, body, notes) in enumerate(slides, start=1):
        page = Page(name=f"page{number}", masterpagename=master)
        for cls, text in (("title", title), ("outline", body)):
            frame = Frame(attributes={"class": cls}, width="20cm", height="3cm", x="1cm", y="1cm")
            box = TextBox()
            box.addElement(P(text=text))
            frame.addElement(box)
            page.addElement(frame)
        if notes:
            note = Notes()
            frame = Frame(attributes={"class": "notes"}, width="20cm", height="3cm")
            box = TextBox()
            box.addElement(P(text=notes))
            frame.addElement(box)
            note.addElement(frame)
            page.addElement(note)
        document.presentation.addElement(page)
    return _odf_bytes(document)


def ods_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    """An OpenDocument spreadsheet with a sheet per name and its rows of text."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            table_row = TableRow()
            for value in row:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
                table_row.addElement(cell)
            table.addElement(table_row)
        document.spreadsheet.addElement(table)
    return _odf_bytes(document)


def eml_bytes(
    subject: str,
    body: str,
    *,
    sender: str = "Anna Berg <anna@example.org>",
    date: str = "Wed, 24 Apr 2024 10:00:00 +0200",
    html: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    """A message; `attachments` are (file name, content type, bytes)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = "forum@example.org"
    message["Date"] = date
    if body:
        message.set_content(body)
    if html is not None:
        if body:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def sample_bytes(format_id: str, title: str, text: str) -> bytes:
    """A file of the format with `title` as its title and `text` as its body."""
    return {
        "docx": lambda: docx_bytes(title, [("Section", text)]),
        "pptx": lambda: pptx_bytes([(title, text, "")]),
        "xlsx": lambda: xlsx_bytes({title: [[text]]}),
        "odt": lambda: odt_bytes(title, [("Section", text)]),
        "odp": lambda: odp_bytes([(title, text, "")]),
        "ods": lambda: ods_bytes({title: [[text]]}),
        "eml": lambda: eml_bytes(title, text),
    }[format_id]()
