"""Calls from civic's templates (civic/web/core.py _Context): a plain function, method or macro is called
straight, and every call renders exactly as with Jinja's own context, in loops, blocks and macros too."""

from __future__ import annotations

import re

import jinja2
import pytest
from jinja2 import DictLoader, pass_context, pass_environment
from jinja2.runtime import Context

from civic.web.core import _Environment

TEMPLATES = {
    "base.html": "<main>{% block body %}{% endblock %}</main>",
    "page.html": """{% extends "base.html" %}
{% macro badge(n) %}<b>{{ shout(n) }}</b>{% endmacro %}
{% block body %}{% set where = "block" %}
{{ shout("x") }} {{ obj.twice(3) }} {{ sorted_(["b", "a"]) }} {{ sees(1) }} {{ env_name() }}
{{- " " }}{{ callable_obj(2) }}
[{{ stops() }}] {{ badge(7) }}
{% for i in items %}{% set inner = i * 10 %}
{{- shout(i) }}:{{ sees(i) }}:{{ badge(i) }}:{{ obj.twice(i) }};{% endfor %}
{% endblock %}""",
}


class Obj:
    def twice(self, n: int) -> int:
        return 2 * n


class CallableWithContext:
    @pass_context
    def __call__(self, context: Context, n: int) -> str:
        return f"obj{n}-{context.get('where')}"


def stops() -> str:
    raise StopIteration


@pass_context
def sees(context: Context, n: int) -> str:
    return f"{n}/{context.get('where')}/{context.get('inner')}"


@pass_environment
def env_name(environment: jinja2.Environment) -> str:
    return "env" if isinstance(environment, jinja2.Environment) else "not an environment"


def _render(environment: jinja2.Environment) -> str:
    environment.globals.update(shout=lambda v: f"{v}!", sorted_=sorted, sees=sees, env_name=env_name,
                               callable_obj=CallableWithContext(), stops=stops)
    return environment.get_template("page.html").render(obj=Obj(), items=[1, 2])


def test_every_kind_of_call_renders_as_with_jinjas_own_context():
    ours = _render(_Environment(loader=DictLoader(TEMPLATES)))
    stock = _render(jinja2.Environment(loader=DictLoader(TEMPLATES)))
    assert ours == stock
    assert "x! 6 ['a', 'b']" in ours
    assert "1/block/None" in ours and "obj2-block" in ours and "[]" in ours and "<b>7!</b>" in ours
    assert "1!:1/None/10:<b>1!</b>:2;2!:2/None/20:<b>2!</b>:4;" in ours  # the loop's variables reach it


def test_plain_functions_methods_and_macros_skip_jinjas_check_and_the_others_keep_it(monkeypatch):
    asked: list[str] = []
    stock_call = Context.call

    def counting(self, obj, *args, **kwargs):
        asked.append(getattr(obj, "__name__", type(obj).__name__))
        return stock_call(self, obj, *args, **kwargs)

    monkeypatch.setattr(Context, "call", counting)
    _render(_Environment(loader=DictLoader(TEMPLATES)))
    # only what may take a context went through Jinja's own call: the pass_context function (three times),
    # the pass_environment one and the callable object
    assert sorted(asked) == ["CallableWithContext", "env_name", "sees", "sees", "sees"]


@pytest.mark.parametrize("path", ["/", "/items", "/login", "/submit"])
def test_the_pages_render_the_same_with_jinjas_own_context(client, monkeypatch, path):
    from civic.web import core
    from tests.builders import setup_world

    setup_world()
    ours = client.get(path, params={"lang": "en"})
    monkeypatch.setattr(core._Environment, "context_class", Context)  # every language's environment
    stock = client.get(path, params={"lang": "en"})
    assert ours.status_code == stock.status_code == 200
    strip = lambda html: re.sub(r'name="(csrf_token|client_token)" value="[^"]*"', "", html)  # noqa: E731
    assert strip(ours.text) == strip(stock.text)
