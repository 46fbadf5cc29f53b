"""Every option of the train page has a `browsertrain train` flag, made from static/train_options.json: a field added
to the page's form (templates/train.html) or a query key the page reads (static/js/ui/train.js) without an entry
there fails here. tests/js/train_options.test.js holds the same file to the run config's defaults."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from support import ROOT

from server.cli import build_parser
from server.cli_options import definition, dest_of, flag_of, page_options
from server.headless import page_url

TEMPLATE = ROOT / "templates" / "train.html"
PAGE_SCRIPT = ROOT / "static" / "js" / "ui" / "train.js"


class FormFields(HTMLParser):
    """The named fields of the train form: {name: {type, min, max, value, checked, options}}."""

    def __init__(self):
        super().__init__()
        self.fields, self.in_form, self.select = {}, False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "train-form":
            self.in_form = True
        elif self.in_form and tag in ("input", "select") and attrs.get("name"):
            self.fields[attrs["name"]] = {**attrs, "tag": tag, "options": []}
            self.select = self.fields[attrs["name"]] if tag == "select" else None
        elif self.select is not None and tag == "option":
            self.select["options"].append(attrs.get("value"))

    def handle_data(self, data):
        # <option>webgl</option>: the value is the text
        if self.select is not None and self.select["options"] and self.select["options"][-1] is None:
            self.select["options"][-1] = data.strip()

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None


def form_fields() -> dict:
    parser = FormFields()
    parser.feed(TEMPLATE.read_text())
    return parser.fields


def query_keys() -> set[str]:
    """The query keys the page's script reads besides form fields: params.get('x'), params.has('x'), flag('x')."""
    script = PAGE_SCRIPT.read_text()
    return set(re.findall(r"""(?:params\.(?:get|has)|flag)\(\s*['"]([A-Za-z.]+)['"]""", script))


def train_flags() -> set[str]:
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    return {s for action in commands.choices["train"]._actions for s in action.option_strings}


def test_every_field_of_the_train_form_and_every_query_key_has_an_entry():
    defined = {o["field"] for o in page_options()} | set(definition()["modes"])
    missing = (set(form_fields()) | query_keys()) - defined
    assert not missing, f"page options without a CLI flag: add them to static/train_options.json: {sorted(missing)}"
    assert len(form_fields()) >= 20 and {"resume", "autostart", "overfit"} <= query_keys()  # the parsers still see them


def test_every_option_and_mode_is_a_flag_of_train():
    flags = train_flags()
    for option in page_options():
        assert flag_of(option) in flags
    for key, says in definition()["modes"].items():
        if says.startswith("--"):
            assert says in flags, f"{key}: {says}"


@pytest.mark.parametrize("option", page_options(), ids=lambda o: o["field"])
def test_each_option_matches_its_form_field(option):
    field = form_fields()[option["field"]]
    kind = option["type"]
    if kind == "bool":
        assert field["type"] == "checkbox" and ("checked" in field) == option["default"]
    elif kind == "choice":
        offered = [value for value in field["options"] if value]
        assert not offered or offered == option["choices"], "the backbones are filled in by the page's script"
        assert (field["options"] or [None])[0] in (option["default"], "")
    elif kind == "list":
        assert field["pattern"] == option["pattern"] and field["value"] == option["default"]
    else:
        assert field["type"] == "number"
        if option.get("from_dataset"):
            assert field.get("placeholder") == "auto" and "value" not in field
        else:
            assert float(field["value"]) == option["default"]
        lower = option.get("min", option.get("above"))
        if lower is not None or "min" in field:
            assert float(field["min"]) == lower
        if "max" in option or "max" in field:
            assert float(field["max"]) == option["max"]


def test_flags_become_the_query_the_page_reads():
    args = build_parser().parse_args(
        [
            "train",
            "--dataset",
            "shapes",
            "--epochs",
            "3",
            "--no-lr-schedule",
            "--model-block",
            "residual",
            "--augment",
            "on",
            "--augment-flip",
            "--val-fraction",
            "0.25",
        ]
    )
    query = {key: values[0] for key, values in parse_qs(urlsplit(page_url("http://x", args)).query).items()}
    assert query == {
        "dataset": "shapes",
        "autostart": "1",
        "epochs": "3",
        "lrSchedule": "0",
        "model.block": "residual",
        "augmentMode": "custom",
        "augment.crop": "1",
        "augment.flip": "1",
        "augment.brightness": "0.1",
        "valFraction": "0.25",
    }
    plain = build_parser().parse_args(["train", "--dataset", "shapes"])
    assert all(getattr(plain, dest_of(o)) is None for o in page_options())  # unset flags leave the page's defaults


def test_train_more_asks_the_page_for_a_child_run():
    args = build_parser().parse_args(["train", "--from", "0123456789ab", "--epochs", "5"])
    query = parse_qs(urlsplit(page_url("http://x", args)).query)
    assert query == {"from": ["0123456789ab"], "epochs": ["5"], "autostart": ["1"]}
