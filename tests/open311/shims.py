"""A Python 3 import shim for the `open311` client (1.1, 2011), kept with the tests that use it.

The package was written for Python 2 and does not import on Python 3:
- `open311/__init__.py` says `from open311 import Open311` and `open311.py` says `from api import API`:
  implicit relative imports. We load its modules by file under the names they expect ('object_dict',
  'xml2dict', 'api', 'api.api'), then take those names out of sys.modules again.
- its XML parser calls `Element.getchildren()`, removed in Python 3.9: the parser gets an element class
  that has it back.
- it posts with `urlopen(url, data)` where data is a str; Python 3 wants bytes: we encode it.
Nothing else is changed: the client still builds its own URLs (services.xml whatever the format, the
singular service/{code}, api_key and jurisdiction_id in the query string of a POST).
"""

from __future__ import annotations

import importlib.util
import sys
import types
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path


class _Element(ET.Element):
    def getchildren(self):
        return list(self)


def _fromstring(text):
    parser = ET.XMLParser(target=ET.TreeBuilder(element_factory=_Element))
    parser.feed(text)
    return parser.close()


def _urlopen(url, data=None, *args, **kwargs):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return urllib.request.urlopen(url, data, *args, **kwargs)


def _load(name: str, path: Path, package_dir: Path | None = None) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(package_dir)] if package_dir else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_open311():
    """The `Open311` client class, importable on Python 3."""
    root = Path(importlib.util.find_spec("open311").submodule_search_locations[0])
    xml_dir = root / "api" / "xml2dict"
    names = ("object_dict", "xml2dict", "xml2dict.xml2dict", "api", "api.api", "open311_client")
    saved = {n: sys.modules.get(n) for n in names}
    try:
        _load("object_dict", xml_dir / "object_dict.py")
        xml2dict = _load("xml2dict", xml_dir / "__init__.py", xml_dir)
        sys.modules["xml2dict.xml2dict"].ET = types.SimpleNamespace(fromstring=_fromstring)
        api_pkg = types.ModuleType("api")
        api_pkg.__path__ = [str(root / "api")]
        sys.modules["api"] = api_pkg
        api = _load("api.api", root / "api" / "api.py")
        api_pkg.api, api_pkg.API = api, api.API
        api_pkg.urlopen, api_pkg.urlencode = api.urlopen, api.urlencode
        client = _load("open311_client", root / "open311.py")
        client.urlopen = _urlopen
        assert xml2dict.xml2dict  # the parser the client uses
        return client.Open311
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
