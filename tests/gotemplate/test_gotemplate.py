"""The Go text/template evaluator against Go's own behaviour.

go_cases.tsv holds what docker 20.10's CLI (Go 1.19 text/template + docker/cli's functions) printed
for each template; the other tests pin the semantics the inspect and listing templates rely on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.gotemplate import MISSING, Struct, TemplateError, go_string, parse
from minidock.gotemplate.funcs import DOCKER, DOCKER_HEADER

CASES = [line.split("\t") for line in (Path(__file__).parent / "go_cases.tsv").read_text().splitlines()
         if line and not line.startswith("#")]
VERSION = Struct({"Client": Struct({"Version": "20.10.24+dfsg1"}, "x")}, "system.versionInfo")


@pytest.mark.parametrize(("kind", "template", "want"), CASES, ids=[c[1][:40] for c in CASES])
def test_like_go(kind: str, template: str, want: str) -> None:
    want = want.replace("\\n", "\n")
    if kind == "ok":
        assert parse(template, DOCKER, "version").execute(VERSION) == want
        return
    with pytest.raises(TemplateError) as e:
        parse(template, DOCKER, "version").execute(VERSION)
    assert str(e.value) == want
    assert e.value.parsing == (kind == "parse")


CONTAINER = Struct({"Name": "/c1", "State": Struct({"Status": "running", "Pid": 42, "Health": None}),
                    "Config": Struct({"Env": ["A=1", "B=2"], "Labels": {"b": "2", "a": "1"}, "Entrypoint": None,
                                      "Cmd": ["sleep", "1"]}),
                    "NetworkSettings": Struct({"Networks": {"bridge": Struct({"IPAddress": "10.0.0.2"})}})})


def run(template: str, data: object = CONTAINER) -> str:
    return parse(template, DOCKER).execute(data)


@pytest.mark.parametrize(("template", "want"), [
    ("{{.Name}} {{.State.Pid}}", "/c1 42"),
    ("{{json .Config}}", '{"Env":["A=1","B=2"],"Labels":{"b":"2","a":"1"},"Entrypoint":null,"Cmd":["sleep","1"]}'),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),  # Go prints maps in key order
    ("{{.State}}", "{running 42 <nil>}"),  # a struct: its fields in order
    ("{{.Config.Labels.zz}}|{{index .Config.Labels \"zz\"}}", "<no value>|"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}", "a=1 b=2 "),
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "10.0.0.2"),
    ("{{range $n, $e := .NetworkSettings.Networks}}{{$n}}{{end}}", "bridge"),
    ("{{with .State.Health}}{{.Status}}{{else}}none{{end}}", "none"),
    ("{{if not .Config.Entrypoint}}no entrypoint{{end}}", "no entrypoint"),
    ("{{$.Name}}{{range .Config.Env}}{{$.Name}}{{end}}", "/c1/c1/c1"),
    ("{{- range .Config.Env }}\n  {{ . }}\n{{- end }}", "\n  A=1\n  B=2"),
    ("{{join .Config.Cmd \" \" | upper}}", "SLEEP 1"),
    ("{{(index .Config.Env 1) | printf \"%q\"}}", '"B=2"'),
    ("{{ .Name | len }}", "3"),
])
def test_inspect_shapes(template: str, want: str) -> None:
    assert run(template) == want


def test_missing_struct_field_is_an_error_like_docker_inspect() -> None:
    with pytest.raises(TemplateError, match=r'^template: :1:9: executing "" at <.Config.Foo>: map has no entry for '
                                            r'key "Foo"$'):
        run("{{.Config.Foo}}")
    typed = Struct({"ID": "x"}, "*formatter.ContainerContext")
    with pytest.raises(TemplateError, match=r"can't evaluate field Foo in type \*formatter\.ContainerContext"):
        run("{{.Foo}}", typed)


def test_methods_take_arguments() -> None:
    row = Struct({"Label": lambda k: {"a": "1"}.get(k, "")}, "*formatter.ContainerContext")
    assert run('{{.Label "a"}}|{{.Label "b"}}', row) == "1|"


def test_header_functions_return_their_first_argument() -> None:
    header = {"Names": "NAMES", "Image": "IMAGE"}
    assert parse("{{.Names | lower}}\t{{json .Image}}", DOCKER).execute(header, DOCKER_HEADER) == "NAMES\tIMAGE"


def test_go_string() -> None:
    assert go_string(None) == "<no value>"
    assert go_string([None, 1, True, "a", 2.5]) == "[<nil> 1 true a 2.5]"
    assert go_string(MISSING) == "<no value>"
    assert go_string({"b": [1], "a": {}}) == "map[a:map[] b:[1]]"


def test_trim_and_comments() -> None:
    assert run("a  {{- /* c */ -}}  b") == "ab"
    assert run("{{/* c */}}x") == "x"
    assert run("{{-3}}") == "-3"  # no space after the dash: a number, not a trim marker


def test_variable_scope_ends_with_its_block() -> None:
    with pytest.raises(TemplateError, match='undefined variable "\\$y"'):
        parse("{{if 1}}{{$y := 2}}{{end}}{{$y}}")


def test_pad_keeps_nothing_empty_and_json_leaves_methods_out_at_any_depth() -> None:
    """docker/cli's padWithSpace returns "" as is (raw `labels:` lines); `{{json .}}` of `system df -v`'s
    context marshals rows (with their methods) inside lists."""
    assert run('{{pad "" 2 3}}|{{pad "x" 1 0}}|') == "| x|"
    row = Struct({"A": "<x>", "Label": lambda k: k}, "*formatter.volumeContext", escape_html=True)
    outer = Struct({"Volumes": [row], "Nil": {"k": [row]}}, "*formatter.diskUsageContext", escape_html=True)
    assert run("{{json .}}", outer) == '{"Volumes":[{"A":"\\u003cx\\u003e"}],"Nil":{"k":[{"A":"\\u003cx\\u003e"}]}}'
