"""The project's own public names: its dbt models, sources, seeds, macros and tests, their files,
its Python modules, schemas, raw tables and setting names.

``flows.redact`` leaves a secret readable where it is only a part of one of these names as the
text spells it (the password ``umami`` inside ``stg_umami__events``): such an occurrence is the
project's name, not the credential, and every reader can see it in the source anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from flows import paths

PYTHON_PACKAGES = ("flows", "loader", "umami_sim")
DBT_WORK_FOLDERS = ("target", "logs", "dbt_packages")
DLT_TABLES = ("_dlt_loads", "_dlt_pipeline_state", "_dlt_version")
CLI_NAME = "course-analytics"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: several times faster


def _path_names(relative: PurePosixPath) -> Iterator[str]:
    """A file's path, each folder above it (``models``, ``models/staging``, ...), each part and its stem."""
    parts = relative.parts
    for end in range(1, len(parts) + 1):
        yield "/".join(parts[:end])
    yield from parts
    yield relative.stem


def _yaml_names(node: Any) -> Iterator[str]:
    """Every ``name:`` value in a dbt YAML document (models, columns, tests, sources, seeds, macros)."""
    if isinstance(node, dict):
        if isinstance(node.get("name"), str):
            yield node["name"]
        for value in node.values():
            yield from _yaml_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_names(item)


def _source_table_names(document: Any) -> Iterator[str]:
    """``<source>_<table>`` (in dbt's source test names) and ``<source>.<table>`` of every source table."""
    sources = document.get("sources") if isinstance(document, dict) else None
    for source in sources or ():
        for table in source.get("tables") or ():
            yield f"{source['name']}_{table['name']}"
            yield f"{source['name']}.{table['name']}"


def dbt_project_names(project: Path) -> Iterator[str]:
    for file in sorted(project.rglob("*")):
        relative = PurePosixPath(file.relative_to(project).as_posix())
        if not file.is_file() or relative.parts[0] in DBT_WORK_FOLDERS or relative.name.startswith("."):
            continue
        yield from _path_names(relative)
        if file.suffix in (".yml", ".yaml"):
            try:
                document = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
            except yaml.YAMLError:  # its names stay unprotected: masked, never leaked
                continue
            yield from _yaml_names(document)
            yield from _source_table_names(document)


def python_module_names(root: Path, packages: Iterable[str]) -> Iterator[str]:
    """Each module's file path (``loader/umami/client.py``) and dotted name (``loader.umami.client``)."""
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            relative = PurePosixPath(file.relative_to(root).as_posix())
            yield from _path_names(relative)
            module = relative.with_suffix("").parts
            if module[-1] == "__init__":
                module = module[:-1]
            yield from (".".join(module[:end]) for end in range(1, len(module) + 1))


def _fixed_names() -> Iterator[str]:
    from flows import settings
    from flows.demo import DEMO_DATABASE
    from flows.warehouse import BUILD_SCHEMA, MARTS_SCHEMA, RAW_SCHEMA
    from loader.pipeline import PIPELINE_NAME, RAW_TABLES

    yield from (RAW_SCHEMA, MARTS_SCHEMA, BUILD_SCHEMA, PIPELINE_NAME, DEMO_DATABASE, CLI_NAME)
    yield from RAW_TABLES
    yield from DLT_TABLES
    yield from (value.env for value in vars(settings).values() if isinstance(value, settings.Setting))


@cache
def public_names() -> frozenset[str]:
    """Collected once per process (case-sensitive, as the text spells them)."""
    names = set(dbt_project_names(paths.dbt_project_dir()))
    names.update(python_module_names(Path(__file__).resolve().parent.parent, PYTHON_PACKAGES))
    names.update(_fixed_names())
    return frozenset(name for name in names if name)
