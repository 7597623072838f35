"""minidock.plainjson gives exactly what json gives (values, text, errors)."""

import json
import subprocess
import sys

import pytest

from minidock import plainjson

TEXTS = ['{"a": 1, "b": [1, 2.5, -3e5, true, false, null], "c": {"d": "\\u00e9\\n\\ud83d\\ude00"}}',
         "  [1, 2]\n", "\n\t{}\r\n", '"x"', "3", "-0.0", "1e400", "NaN", "[Infinity, -Infinity]",
         '{"a": 1, "a": 2}', '"caf\u00e9"', "[" * 50 + "]" * 50]
BAD = ["", " ", "{", "[1,]", '{"a" 1}', "[1] x", "nul", '"\x01"', "01", "[1]]"]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_equals_json(text: str) -> None:
    for data in (text, text.encode()):
        assert repr(plainjson.loads(data)) == repr(json.loads(data))


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf{\"a\": 1}", '{"a": "\u00e9"}'.encode("utf-16"),
                                  '[1, "x"]'.encode("utf-32-le"), b'["\xed\xa0\x80"]'])
def test_loads_encodings_like_json(data: bytes) -> None:
    assert repr(plainjson.loads(data)) == repr(json.loads(data))


@pytest.mark.parametrize("text", BAD)
def test_loads_errors_are_json_s(text: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(ValueError) as want:
            json.loads(data)
        with pytest.raises(type(want.value), match="^" + __import__("re").escape(str(want.value)) + "$"):
            plainjson.loads(data)


class Name(str):
    pass


VALUES = [None, True, False, 0, -12, 2**70, 1.5, -0.0, 1e300, "", "a\"b\\c\n\t\x01<>&é😀", Name("sub"),
          [], {}, (), [1, [2, [3, {}]], ()], {"a": {"b": [None, {"c": 1.25}]}, "e": [], "f": {}},
          {"Labels": {"k": "v"}, "Ports": None, "x": (1, "2")}]
ODD = [float("nan"), float("inf"), {1: "int key"}, {None: 1, True: 2, 1.5: 3}, {"s": {1, 2}}, object(),
       [b"bytes"]]


@pytest.mark.parametrize("value", VALUES + ODD[:4])
def test_dumps_equal_json(value: object) -> None:
    assert plainjson.dumps_indent(value) == json.dumps(value, indent=4, ensure_ascii=False)
    assert plainjson.dumps_compact(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("value", VALUES + ODD[:3])  # ODD[3]: keys json cannot sort (below)
@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_dumps_options_equal_json(value: object, sort_keys: bool, ensure_ascii: bool) -> None:
    """The store's form (indent 2, sorted, ASCII) and its journals' (compact, sorted, ASCII) among them."""
    assert plainjson.dumps_indent(value, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii) == json.dumps(
        value, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    assert plainjson.dumps_compact(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii) == json.dumps(
        value, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=(",", ":"))


def test_unsortable_keys_err_like_json() -> None:
    value = {"a": 1, 2: "b"}
    with pytest.raises(TypeError) as want:
        json.dumps(value, indent=2, sort_keys=True)
    with pytest.raises(TypeError) as got:
        plainjson.dumps_indent(value, indent=2, sort_keys=True)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("value", ODD[4:])
def test_dumps_refuse_like_json(value: object) -> None:
    with pytest.raises(TypeError) as want:
        json.dumps(value)
    for dump in (plainjson.dumps_indent, plainjson.dumps_compact):
        with pytest.raises(TypeError) as got:
            dump(value)
        assert str(got.value) == str(want.value)


def test_circular_like_json() -> None:
    a: list[object] = []
    a.append(a)
    for dump in (plainjson.dumps_indent, plainjson.dumps_compact):
        with pytest.raises(ValueError, match="Circular reference detected"):
            dump(a)


def test_bom_in_a_str_is_json_s_error() -> None:
    with pytest.raises(ValueError, match="Unexpected UTF-8 BOM"):
        plainjson.loads("\ufeff{}")


def test_quote_is_dumps_of_a_string() -> None:
    for s in ("", 'echo "hi" \\ \x7f é', "tab\there"):
        assert plainjson.quote(s) == json.dumps(s, ensure_ascii=False)


def test_a_fresh_process_parses_without_json_and_errs_like_json() -> None:
    code = ("import sys; from minidock import plainjson\n"
            "assert plainjson.loads(b'{\"a\": [1]}') == {'a': [1]} and plainjson.dumps_indent([1]) == '[\\n    1\\n]'\n"
            "assert 're' not in sys.modules and 'json' not in sys.modules, sorted(sys.modules)\n"
            "try:\n    plainjson.loads(b'[1,]')\nexcept ValueError as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "JSONDecodeError Expecting value: line 1 column 4 (char 3)\n", "")
