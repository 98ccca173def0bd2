"""The component's entry module: exports the `http_json` check with the
wasi:http client of fetch.py."""

from fetch import fetch
from http_json import HttpJson
from wasmon_check.component import export

WitWorld = export(HttpJson(fetch))
