"""Reading WeChat's callback XML safely and writing passive replies (spec 2.1–2.5).

Parsing goes through defusedxml with DTDs, entities and external references refused, so a
billion-laughs or XXE body fails fast. Only flat, known fields are copied out. Text placed
in a reply is escaped so that `]]>` cannot close the CDATA section (V8).
"""

import re
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_FIELD_CHARS = 8000

# Fields we copy out of a message or event (spec 2.1, 2.2); anything else is ignored.
KNOWN_FIELDS = frozenset(
    {
        "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "MsgID",
        "PicUrl", "MediaId", "Format", "Recognition", "ThumbMediaId", "Location_X",
        "Location_Y", "Scale", "Label", "Title", "Description", "Url", "Event", "EventKey",
        "Ticket", "Latitude", "Longitude", "Precision", "Status", "MenuId", "Encrypt",
    }
)
# Fields of each <List> in the subscribe-message events (spec 2.2).
LIST_FIELDS = frozenset(
    {"TemplateId", "SubscribeStatusString", "PopupScene", "MsgID", "ErrorCode", "ErrorStatus"}
)

_ILLEGAL_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class MalformedXml(ValueError):
    """The body is not well-formed, declares a DTD/entities, or is not a WeChat message."""


# Bounded by the body limit instead: a user's text can be long (a 2,000-character Chinese
# message makes an Encrypt of ~8.5 KB), and neither may be cut. `Encrypt` is also kept
# unstripped: msg_signature covers the element text verbatim (spec 1.1).
UNCAPPED_FIELDS = frozenset({"Content", "Encrypt"})


def _text(element) -> str:
    if element.tag == "Encrypt":
        return element.text or ""
    text = (element.text or "").strip()
    return text if element.tag in UNCAPPED_FIELDS else text[:MAX_FIELD_CHARS]


def parse_fields(body: bytes | str) -> dict:
    """Parse a callback body into a flat dict of known fields.

    Subscribe-message events carry `<List>` items under a container of any name: those
    become `fields["List"]`, a list of flat dicts."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, TypeError, LookupError):
        # LookupError: an encoding declaration Python does not know (`encoding="bogus"`).
        raise MalformedXml("not well-formed XML")
    if root.tag != "xml":
        raise MalformedXml("root element is not <xml>")
    fields: dict = {}
    items: list[dict] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if len(child) == 0:
            if child.tag in KNOWN_FIELDS:
                fields[child.tag] = _text(child)
            continue
        for item in child.iter("List"):
            if len(items) >= 20:
                break
            items.append({f.tag: _text(f) for f in item if f.tag in LIST_FIELDS and len(f) == 0})
    if items:
        fields["List"] = items
    return fields


def cdata(value: str) -> str:
    """`value` as CDATA: illegal XML characters dropped, `]]>` split across sections."""
    value = _ILLEGAL_XML_CHARS.sub("", str(value))
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
