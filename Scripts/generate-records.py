#!/usr/bin/env python3
"""Writes the Swift JuteRecord structs of ZooKeeperWire from their spec (python3, standard library only).

    python3 Scripts/generate-records.py           regenerate every file below from its spec
    python3 Scripts/generate-records.py --check   change nothing; exit 1 and show a diff if regenerating would
                                                   change a file (Scripts/test.sh runs this)

The spec format and its field types are described at the top of Scripts/records/ProtoRecords.spec.
Exit status: 0 done / up to date, 1 out of date (--check), 2 a spec error (reported as file:line: message).
"""

import argparse
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (spec, generated Swift file, the first line of its header), paths relative to the repository root.
TARGETS = [
    (
        "Scripts/records/ProtoRecords.spec",
        "Sources/ZooKeeperWire/Records/ProtoRecords.swift",
        "Records of zookeeper.jute's `org.apache.zookeeper.proto` module, fields in jute order.",
    ),
]

# Scalar field types: spec name -> (Swift type, reader, writer). A reader is called with the field's
# "Record.field" name for error messages; a writer with the property.
SCALARS = {
    "int": ("Int32", "readJuteInt", "writeJuteInt"),
    "long": ("Int64", "readJuteLong", "writeJuteLong"),
    "bool": ("Bool", "readJuteBool", "writeJuteBool"),
    "ustring": ("String", "readZKString", "writeJuteString"),
    "ustring?": ("String?", "readJuteString", "writeJuteString"),
    "path": ("String", "readZKPath", "writeJuteString"),
    "buffer": ("[UInt8]", "readZKBuffer", "writeJuteBuffer"),
    "buffer?": ("[UInt8]?", "readJuteBuffer", "writeJuteBuffer"),
    "[ustring]": ("[String]", "readZKStringVector", "writeZKStringVector"),
}

RECORD_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*\Z")
FIELD_LINE = re.compile(r"\s+([a-z_][A-Za-z0-9_]*)\s*:\s*(\S+)\s*\Z")


class SpecError(Exception):
    pass


@dataclass
class Field:
    name: str
    swift_type: str
    read: str  # the expression assigned to self.<name>; {label} is "Record.field"
    write: str  # the statement that encodes it


@dataclass
class Record:
    name: str
    doc: list
    fields: list = field(default_factory=list)


def make_field(name, spec_type):
    if spec_type in SCALARS:
        swift_type, reader, writer = SCALARS[spec_type]
        return Field(name, swift_type, f'try buffer.{reader}("{{label}}")', f"buffer.{writer}({name})")
    vector = re.fullmatch(r"\[([A-Z][A-Za-z0-9_]*)\]", spec_type)
    if vector:  # a vector of records
        element = vector.group(1)
        return Field(
            name,
            f"[{element}]",
            f'try buffer.readZKRecordVector("{{label}}", {element}.self)',
            f"buffer.writeZKRecordVector({name})",
        )
    if RECORD_NAME.match(spec_type):  # a nested record
        return Field(name, spec_type, f"try {spec_type}(juteFrom: &buffer)", f"{name}.juteEncode(into: &buffer)")
    raise SpecError(f"unknown type {spec_type!r} (known: {', '.join(SCALARS)}, [Record], Record)")


def parse(text, spec_name):
    records, doc, current = [], [], None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        try:
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("///"):
                if line != stripped:
                    raise SpecError("a doc comment starts at the beginning of a line")
                doc.append(stripped)
                current = None
            elif line[0].isspace():
                match = FIELD_LINE.match(line)
                if not match:
                    raise SpecError("expected an indented field `name: type`")
                if current is None:
                    raise SpecError("a field outside a record (or after a doc comment)")
                name, spec_type = match.groups()
                if any(f.name == name for f in current.fields):
                    raise SpecError(f"{current.name} already has a field {name!r}")
                current.fields.append(make_field(name, spec_type))
            else:
                if not RECORD_NAME.match(stripped):
                    raise SpecError(f"expected a record name, got {stripped!r}")
                if not doc:
                    raise SpecError(f"{stripped} has no /// doc comment")
                if any(r.name == stripped for r in records):
                    raise SpecError(f"record {stripped} is declared twice")
                current = Record(stripped, doc)
                records.append(current)
                doc = []
        except SpecError as error:
            raise SpecError(f"{spec_name}:{number}: {error}") from None
    if doc:
        raise SpecError(f"{spec_name}: a doc comment at the end belongs to no record")
    for record in records:
        if not record.fields:
            raise SpecError(f"{spec_name}: record {record.name} has no fields")
    if not records:
        raise SpecError(f"{spec_name}: no records")
    return records


def render_record(record):
    fields = record.fields
    out = [*record.doc, f"public struct {record.name}: JuteRecord, Hashable, Sendable {{"]
    out += [f"    public var {f.name}: {f.swift_type}" for f in fields]
    out += ["", "    @inlinable"]
    out.append(f"    public init({', '.join(f'{f.name}: {f.swift_type}' for f in fields)}) {{")
    out += [f"        self.{f.name} = {f.name}" for f in fields]
    out += ["    }", "", "    @inlinable", "    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {"]
    out += [f"        self.{f.name} = {f.read.format(label=f'{record.name}.{f.name}')}" for f in fields]
    out += ["    }", "", "    @inlinable", "    public func juteEncode(into buffer: inout ByteBuffer) {"]
    out += [f"        {f.write}" for f in fields]
    out += ["    }", "}"]
    return "\n".join(out)


def render(records, spec_path, title):
    header = [
        f"// {title}",
        f"// Generated by Scripts/generate-records.py from {spec_path}: do not edit by hand.",
        "// Edit the spec, then run `python3 Scripts/generate-records.py` (`--check` tells whether this file is current).",
        "",
        "import Jute",
        "import NIOCore",
    ]
    return "\n".join(header) + "\n\n" + "\n\n".join(render_record(r) for r in records) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Generate ZooKeeperWire's record structs from their spec.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is not up to date")
    args = parser.parse_args()

    stale = []
    for spec_path, swift_path, title in TARGETS:
        spec_file, swift_file = ROOT / spec_path, ROOT / swift_path
        try:
            wanted = render(parse(spec_file.read_text(encoding="utf-8"), spec_path), spec_path, title)
        except SpecError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        current = swift_file.read_text(encoding="utf-8") if swift_file.exists() else None
        if current == wanted:
            continue
        if args.check:
            stale.append(swift_path)
            diff = difflib.unified_diff(
                (current or "").splitlines(keepends=True),
                wanted.splitlines(keepends=True),
                f"{swift_path} (committed)",
                f"{swift_path} (from {spec_path})",
            )
            sys.stdout.writelines(diff)
        else:
            with open(swift_file, "w", encoding="utf-8", newline="\n") as out:
                out.write(wanted)
            print(f"wrote {swift_path}")
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run `python3 Scripts/generate-records.py` and commit the result",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print("generated records are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
