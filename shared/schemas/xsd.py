"""The XML Schema of what tipline accepts, written from the report models themselves, so that the
schema served at /ispws/xsd and the models that read the documents cannot drift apart.

Each model is a named complex type whose children are a sequence in field order (a choice for a
model marked `__xsd_choice__`); optional fields have minOccurs 0, lists maxOccurs their limit;
value sets, lengths, ranges and patterns become restrictions. A presence flag (`Flag`) is empty or
true/false/1/0. The root elements are `report` and `fileDetails`.

    python -m shared.schemas.xsd               # print it
    python -m shared.schemas.xsd --write FILE  # write it to FILE
"""

import argparse
import enum
import sys
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import StringConstraints
from pydantic.fields import FieldInfo
from pydantic_xml import BaseXmlModel
from pydantic_xml.model import EntityLocation, XmlEntityInfo

from shared.schemas.report import NON_BLANK, FileDetails, Report

XS = "http://www.w3.org/2001/XMLSchema"


class _Shape:
    """A field's type, taken apart: optional? repeated (up to how many)? the item and its
    constraints."""

    def __init__(self, annotation: Any, metadata: list[Any]) -> None:
        self.optional = False
        self.repeated = False
        self.max_items: int | None = None
        self.min_items = 0
        self.constraints: list[Any] = []
        self.item = self._unwrap(annotation, list(metadata), outer=True)

    def _unwrap(self, annotation: Any, metadata: list[Any], outer: bool = False) -> Any:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            return self._unwrap(base, [*metadata, *extra], outer)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            self.optional = True
            if len(args) != 1:
                raise TypeError(f"no XML form for the union {annotation}")
            return self._unwrap(args[0], metadata, outer)
        if origin is list:
            self.repeated = True
            for m in metadata:  # the list's own bounds
                if isinstance(m, MaxLen):
                    self.max_items = m.max_length
                elif isinstance(m, MinLen):
                    self.min_items = m.min_length
            (item,) = typing.get_args(annotation)
            return self._unwrap(item, [])
        self.constraints.extend(_flatten(metadata))
        return annotation


def _flatten(metadata: list[Any]) -> list[Any]:
    out = []
    for m in metadata:
        if isinstance(m, FieldInfo):
            out.extend(_flatten(m.metadata))
        else:
            out.append(m)
    return out


def _location(field: FieldInfo) -> EntityLocation | None:
    for m in field.metadata:
        if isinstance(m, XmlEntityInfo):
            return m.location
    return None


def _tag(name: str, field: FieldInfo) -> str:
    for m in field.metadata:
        if isinstance(m, XmlEntityInfo) and m.path:
            return m.path
    return field.alias or name


def _string_facets(c: StringConstraints) -> list[tuple[str, str]]:
    """String constraints as facets. Several patterns of one restriction are alternatives in XSD,
    so each constraint becomes one pattern; a value whose surrounding spaces are stripped is
    measured without them."""
    pattern = None if c.pattern is None else str(c.pattern)
    blank_refused = pattern == NON_BLANK or (pattern is None and (c.min_length or 0) >= 1)
    if c.strip_whitespace and blank_refused:  # text with something in it, at most max_length
        middle = r"[\s\S]*" if c.max_length is None else rf"[\s\S]{{0,{c.max_length - 2}}}"
        return [("pattern", rf"\s*\S({middle}\S)?\s*")]
    facets = []
    if pattern is not None:
        if not (pattern.startswith("^") and pattern.endswith("$")):
            raise ValueError(f"pattern {pattern!r}: only anchored patterns have an XSD form")
        body = pattern.removeprefix("^").removesuffix("$")
        facets.append(("pattern", rf"\s*{body}\s*" if c.strip_whitespace else body))
    if c.strip_whitespace and (c.min_length or c.max_length):
        raise ValueError("lengths of a stripped text need a pattern")
    if c.min_length is not None:
        facets.append(("minLength", str(c.min_length)))
    if c.max_length is not None:
        facets.append(("maxLength", str(c.max_length)))
    return facets


class _Writer:
    def __init__(self) -> None:
        self.root = ET.Element(f"{{{XS}}}schema", {"elementFormDefault": "unqualified"})
        self.complex: dict[type, str] = {}
        self.simple: dict[tuple[Any, ...], str] = {}
        self.pending: list[type[BaseXmlModel]] = []

    # ---- simple types ----

    def simple_type(self, item: Any, constraints: list[Any], hint: str) -> str:
        if item is bool:
            return self._named(("flag",), "flag", "xs:string",
                               [("whiteSpace", "collapse")] +
                               [("enumeration", v) for v in ("", "true", "false", "1", "0")],
                               "A flag: present and empty, or true/false/1/0.")
        if item is datetime:
            return "xs:dateTime"
        if item is date:
            return "xs:date"
        if isinstance(item, type) and issubclass(item, enum.Enum):
            values = tuple(str(v.value) for v in item)
            return self._named(("enum", values), item.__name__, "xs:string",
                               [("enumeration", v) for v in values])
        if typing.get_origin(item) is typing.Literal:
            values = tuple(str(v) for v in typing.get_args(item))
            return self._named(("enum", values), hint, "xs:string",
                               [("enumeration", v) for v in values])
        facets: list[tuple[str, str]] = []
        for c in constraints:
            if isinstance(c, StringConstraints):
                facets.extend(_string_facets(c))
            elif isinstance(c, Ge):
                facets.append(("minInclusive", _number(c.ge)))
            elif isinstance(c, Le):
                facets.append(("maxInclusive", _number(c.le)))
        base = {str: "xs:string", int: "xs:integer", float: "xs:decimal"}.get(item)
        if base is None:
            raise TypeError(f"no XML form for {item!r}")
        if not facets:
            return base
        name = _type_name(base, facets, hint)
        return self._named(("facets", base, tuple(facets)), name, base, facets)

    def _named(self, key: tuple[Any, ...], name: str, base: str,
               facets: list[tuple[str, str]], doc: str | None = None) -> str:
        if key in self.simple:
            return self.simple[key]
        taken = set(self.simple.values())
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}{n}", n + 1
        node = ET.SubElement(self.root, f"{{{XS}}}simpleType", {"name": unique})
        if doc:
            _doc(node, doc)
        restriction = ET.SubElement(node, f"{{{XS}}}restriction", {"base": base})
        for facet, value in facets:
            ET.SubElement(restriction, f"{{{XS}}}{facet}", {"value": value})
        self.simple[key] = unique
        return unique

    # ---- complex types ----

    def complex_type(self, model: type[BaseXmlModel]) -> str:
        if model not in self.complex:
            self.complex[model] = model.__name__
            self.pending.append(model)
        return self.complex[model]

    def write_complex(self, model: type[BaseXmlModel]) -> None:
        node = ET.SubElement(self.root, f"{{{XS}}}complexType", {"name": model.__name__})
        if model.__doc__ and not model.__doc__.startswith(("An element of", "An element with")):
            _doc(node, " ".join(model.__doc__.split()))
        text_field = next(((n, f) for n, f in model.model_fields.items() if _location(f) is None),
                          None)
        attrs = [(n, f) for n, f in model.model_fields.items()
                 if _location(f) is EntityLocation.ATTRIBUTE]
        elements = [(n, f) for n, f in model.model_fields.items()
                    if _location(f) is EntityLocation.ELEMENT]
        parent = node
        if text_field is not None:  # text with attributes
            name, field = text_field
            shape = _Shape(field.annotation, field.metadata)
            content = ET.SubElement(node, f"{{{XS}}}simpleContent")
            parent = ET.SubElement(content, f"{{{XS}}}extension", {
                "base": self.simple_type(shape.item, shape.constraints, model.__name__ + "Text")})
        elif elements:
            group = "choice" if getattr(model, "__xsd_choice__", False) else "sequence"
            container = ET.SubElement(node, f"{{{XS}}}{group}")
            for name, field in elements:
                self._element(container, model, name, field, in_choice=group == "choice")
        for name, field in attrs:
            shape = _Shape(field.annotation, field.metadata)
            ET.SubElement(parent, f"{{{XS}}}attribute", {
                "name": _tag(name, field),
                "type": self.simple_type(shape.item, shape.constraints,
                                         model.__name__ + _upper(_tag(name, field))),
                "use": "optional" if shape.optional or not field.is_required() else "required"})

    def _element(self, container: ET.Element, model: type, name: str, field: FieldInfo,
                 in_choice: bool) -> None:
        shape = _Shape(field.annotation, field.metadata)
        tag = _tag(name, field)
        if isinstance(shape.item, type) and issubclass(shape.item, BaseXmlModel):
            type_name = self.complex_type(shape.item)
        else:
            type_name = self.simple_type(shape.item, shape.constraints,
                                         model.__name__ + _upper(tag))
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        required = field.is_required() or bool(extra.get("xml_required"))
        attrs = {"name": tag, "type": type_name}
        if shape.repeated:
            attrs["minOccurs"] = str(shape.min_items)
            attrs["maxOccurs"] = str(shape.max_items) if shape.max_items else "unbounded"
        elif not required and not in_choice:
            attrs["minOccurs"] = "0"
        node = ET.SubElement(container, f"{{{XS}}}element", attrs)
        if field.description:
            _doc(node, field.description)

    def document(self, roots: dict[str, type[BaseXmlModel]]) -> str:
        for tag, model in roots.items():
            ET.SubElement(self.root, f"{{{XS}}}element",
                          {"name": tag, "type": self.complex_type(model)})
        while self.pending:
            self.write_complex(self.pending.pop(0))
        ET.register_namespace("xs", XS)
        ET.indent(self.root)
        return ET.tostring(self.root, encoding="unicode", xml_declaration=True) + "\n"


def _doc(node: ET.Element, text: str) -> None:
    ET.SubElement(ET.SubElement(node, f"{{{XS}}}annotation"), f"{{{XS}}}documentation").text = text


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _upper(name: str) -> str:
    return name[:1].upper() + name[1:]


def _type_name(base: str, facets: list[tuple[str, str]], hint: str) -> str:
    kind = {"xs:string": "text", "xs:integer": "integer", "xs:decimal": "decimal"}[base]
    values = dict(facets)
    if "minInclusive" in values or "maxInclusive" in values:
        low, high = values.get("minInclusive", ""), values.get("maxInclusive", "")
        return f"{kind}{low.replace('-', 'minus')}to{high.replace('-', 'minus')}"
    if "maxLength" in values:
        return f"{kind}{values['maxLength']}"
    pattern = values.get("pattern", "")
    if pattern.startswith(r"\s*\S("):  # non-blank text, up to n characters
        n = pattern.split(",")[1].split("}")[0] if "{0," in pattern else ""
        return f"{kind}{int(n) + 2 if n else ''}"
    return hint


def report_xsd() -> str:
    """The XSD of `<report>` and `<fileDetails>` as tipline accepts them."""
    return _Writer().document({"report": Report, "fileDetails": FileDetails})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.schemas.xsd",
        description="Write the XML Schema of <report> and <fileDetails>, from the report models "
        "(the document GET /ispws/xsd serves).")
    parser.add_argument("--write", type=Path, metavar="FILE", help="write it to FILE, not stdout")
    args = parser.parse_args(argv)
    text = report_xsd()
    if args.write:
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
