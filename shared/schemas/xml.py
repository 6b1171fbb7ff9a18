"""Reading and writing the XML documents of the reporting API with the report models.

Reading is safe against hostile XML: no document type declaration at all (so no entity, internal
or external, can be declared, let alone expanded), and a bounded cost checked while the document
is parsed, before anything else reads it: its depth, its number of elements, the attributes of an
element and the text of an element (the caller bounds the size in bytes). UTF-8, UTF-16, ISO-8859-1
and US-ASCII are read; any other declared encoding is refused. Then the document must be valid
against the XSD written from the models (`shared.schemas.xsd`), and finally the models read it,
with the context {"xml": True} (flags present and empty, numbers as digits). Every
document that passes is the same object the JSON API builds.

Writing gives presence flags their documented form: `<sextortion/>` when true, nothing when false.
"""

from functools import cache
from typing import Any, TypeVar
from xml.etree import ElementTree as ET

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from pydantic import ValidationError
from pydantic_xml import BaseXmlModel

from shared.schemas.xsd import report_xsd

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MAX_DEPTH = 32  # the schema nests 6 deep; anything far deeper is not a report
# Far above any report a 1 MB body can hold once it is valid (a valid element with its text is
# tens of bytes), far below what a hostile document packs into one (150,000 empty elements in
# 750 kB): the schema check's cost is bounded by the parse's.
MAX_ELEMENTS = 20_000
MAX_ATTRIBUTES = 16  # per element; the schema's elements have at most 3
MAX_ELEMENT_TEXT = 65_536  # characters in one element; the longest the schema allows is 20,000
ENCODINGS = "UTF-8, UTF-16, ISO-8859-1 or US-ASCII"
MAX_ERRORS = 20
FLAG_CONTAINERS = ("reportAnnotations", "fileAnnotations")

M = TypeVar("M", bound=BaseXmlModel)


class MalformedXml(ValueError):
    """Not well-formed, or refused before being read (a DTD, too deep)."""


class InvalidDocument(ValueError):
    """Well-formed, but not what the schema allows: each error with its path."""

    def __init__(self, errors: list[str], count: int) -> None:
        self.errors = errors
        self.count = count
        more = f" (and {count - len(errors)} more)" if count > len(errors) else ""
        super().__init__("; ".join(errors) + more)


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(report_xsd())


class _Bounded(ET.TreeBuilder):
    """A tree builder that stops the parse as soon as the document costs more than a report can."""

    def __init__(self) -> None:
        super().__init__()
        self.elements = 0
        self.depth = 0
        self.text = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self.elements += 1
        self.depth += 1
        self.text = 0
        if self.elements > MAX_ELEMENTS:
            raise MalformedXml(f"more than {MAX_ELEMENTS} elements")
        if self.depth > MAX_DEPTH:
            raise MalformedXml(f"nested deeper than {MAX_DEPTH} elements")
        if len(attrs) > MAX_ATTRIBUTES:
            raise MalformedXml(f"an element with more than {MAX_ATTRIBUTES} attributes")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        self.text = 0
        return super().end(tag)

    def data(self, data: str) -> None:
        self.text += len(data)
        if self.text > MAX_ELEMENT_TEXT:
            raise MalformedXml(f"an element with more than {MAX_ELEMENT_TEXT} characters of text")
        super().data(data)


def parse_tree(data: bytes) -> ET.Element:
    """A well-formed document's root, refusing a DTD (and with it every entity), an encoding other
    than the four read, and a document over any cost bound, as soon as the parse meets it."""
    parser = DefusedXMLParser(target=_Bounded(), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException as exc:
        raise MalformedXml(f"refused: {type(exc).__name__} (no DTD or entity is accepted)") \
            from None
    except (LookupError, ValueError) as exc:  # an encoding the parser does not read
        if isinstance(exc, MalformedXml):
            raise
        raise MalformedXml(f"unsupported encoding ({exc}): send {ENCODINGS}") from None
    except ET.ParseError as exc:
        raise MalformedXml(f"not well-formed: {exc}") from None


def read(data: bytes, model: type[M], root_tag: str) -> M:
    """A document of the reporting API as a model: MalformedXml, or InvalidDocument with paths."""
    root = parse_tree(data)
    if root.tag != root_tag:
        raise InvalidDocument([f"/{root.tag}: expected a <{root_tag}> document"], 1)
    errors, count = [], 0
    # The XML Schema instance attributes are the validator's (xsi:type must name the declared
    # type or one derived from it; xsi:nil is refused where an element is not nillable) and never
    # a hint to fetch: a schemaLocation is not followed.
    for error in schema().iter_errors(root, use_location_hints=False):
        count += 1
        if len(errors) < MAX_ERRORS:
            errors.append(f"{error.path}: {_without_values(error)}")
    if count:
        raise InvalidDocument(errors, count)
    _drop_instance_attributes(root)
    try:
        return model.from_xml_tree(root, context={"xml": True}, empty_as_string=True)
    except ValidationError as exc:
        found = exc.errors(include_url=False, include_input=False)
        raise InvalidDocument([f"/{root_tag}/{'/'.join(str(p) for p in e['loc'])}: {e['msg']}"
                               for e in found[:MAX_ERRORS]], len(found)) from None


def _drop_instance_attributes(root: ET.Element) -> None:
    """Take the XML Schema instance attributes (`xsi:noNamespaceSchemaLocation`, ...) off every
    element once the validator has checked them: they say how to read the document, they are not
    part of the report."""
    for element in root.iter():
        for name in [n for n in element.attrib if n.startswith(XSI)]:
            del element.attrib[name]


def _without_values(error: xmlschema.XMLSchemaValidationError) -> str:
    """The validator's reason with the submitted values taken out: errors name where and why,
    never what (a value may be personal)."""
    reason = str(error.reason or "invalid")
    values = {error.obj} if isinstance(error.obj, str) else set()
    if error.elem is not None:
        values |= {error.elem.text or "", *error.elem.attrib.values()}
    for value in sorted(filter(None, values), key=len, reverse=True):
        for quoted in (repr(value), f"'{value}'", f'"{value}"'):
            reason = reason.replace(quoted, "(the value)")
    return reason


def write(model: BaseXmlModel) -> bytes:
    """A model as its XML document, flags in their documented form."""
    root = model.to_xml_tree(skip_empty=True, exclude_none=True)
    for container in root.iter():
        if container.tag in FLAG_CONTAINERS:
            for flag in list(container):
                if (flag.text or "").strip().lower() == "true":
                    flag.text = None
                else:
                    container.remove(flag)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def document(tag: str, children: list[tuple[str, Any]]) -> bytes:
    """A small response document: <tag><name>value</name>...</tag>; a list value is a wrapper of
    repeated elements, (name, [("fileId", x), ...])."""
    root = ET.Element(tag)
    _fill(root, children)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(parent: ET.Element, children: list[tuple[str, Any]]) -> None:
    for name, value in children:
        if value is None:
            continue
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            _fill(child, value)
        else:
            child.text = str(value)
