"""The HTML report: self-contained, every data string escaped, the filter table complete."""

import base64
import hashlib
from html.parser import HTMLParser

from rdistill.reporting.figures import FigureSet, run_figures, sweep_figures
from rdistill.reporting.html import examples_context, render_html
from rdistill.reporting.results import load_run, load_sweep
from rdistill.reporting.tables import best_variant

ATTACK = '<script>window.__pwned = 1</script><img src=x onerror="alert(1)">'


class _Collect(HTMLParser):
    """Elements and text as a browser's parser would see them."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.text, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def parse(html: str) -> _Collect:
    parser = _Collect()
    parser.feed(html)
    return parser


def hostile_run(tmp_path, fakes):
    preds = fakes.predictions(explanation=ATTACK)
    preds[1]["premise"] = "a </td></tr><tr><td>forged row"
    preds[2]["teacher_rationale"] = "<b>bold</b> & co"
    cfg = fakes.config("<script>alert('name')</script>")
    return fakes.write_run(tmp_path / "hostile", "<script>alert('name')</script>", preds=preds,
                           cfg=cfg)


def test_data_text_is_escaped_and_never_markup(tmp_path, fakes):
    run = load_run(hostile_run(tmp_path, fakes))
    html = render_html(run, run_figures(run))
    page = parse(html)
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]  # only our own script
    assert not [attrs for tag, attrs in page.tags if tag == "img" and "onerror" in attrs]
    assert "<b>bold</b>" not in html  # the data's tag is not a tag
    text = "".join(page.text)
    assert ATTACK in text  # shown to the reader, as text
    assert "<b>bold</b> & co" in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and "data-gold" in attrs]
    assert len(rows) == 6  # the forged </tr><tr> made no row


def test_page_is_self_contained_and_its_csp_admits_exactly_its_script(run_dir):
    run = load_run(run_dir)
    html = render_html(run, run_figures(run))
    page = parse(html)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            assert not attrs.get(name) or attrs[name].startswith("data:"), (tag, attrs)
    csp = next(a["content"] for _, a in page.tags
               if a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    images = [a["src"] for t, a in page.tags if t == "img"]
    assert len(images) == 7 and all(src.startswith("data:image/png;base64,iVBOR") for src in images)


def test_report_holds_metrics_config_and_all_examples(run_dir, fakes):
    run = load_run(run_dir)
    page = parse(render_html(run, run_figures(run)))
    text = " ".join(page.text)
    assert "50.0%" in text and "macro-F1" in text           # metrics table
    assert "name: toy" in text                             # the config
    assert "latency per example, median" in text           # profile table
    rows = [a for t, a in page.tags if t == "tr" and "data-gold" in a]
    preds = fakes.predictions()
    assert [r["data-gold"] for r in rows] == [p["gold_label"] for p in preds]
    assert [r["data-pred"] for r in rows] == [p["pred_label"] or "invalid" for p in preds]
    assert [r["data-category"] for r in rows] == [p["error_category"] for p in preds]
    ids = {a.get("id") for _, a in page.tags}
    assert {"example-filter", "filter-gold", "filter-pred", "filter-category", "examples"} <= ids


def test_examples_are_capped_and_columns_follow_the_data(fakes):
    preds = fakes.predictions() * 3
    ctx = examples_context(preds, limit=4)
    assert len(ctx["rows"]) == 4 and ctx["total"] == 18
    label_only = [{**p, "pred_explanation": None, "teacher_label": None, "teacher_rationale": None,
                   "rouge_l": None, "error_category": None} for p in fakes.predictions()]
    ctx = examples_context(label_only)
    assert not ctx["has_explanations"] and not ctx["has_teacher"] and not ctx["categories"]
    assert ctx["rows"][0]["inputs"] == [("premise", "the dog number 0 runs"),
                                        ("hypothesis", "an animal runs")]
    assert examples_context([]) is None


def test_sweep_report_has_the_variant_table_and_the_best_run(sweep_dir):
    sweep = load_sweep(sweep_dir)
    name, best_run = best_variant(sweep)
    assert name == "a1.0-r32"
    html = render_html(sweep, sweep_figures(sweep), run_figures(best_run))
    text = " ".join(parse(html).text)
    assert "Best variant by accuracy: a1.0-r32" in text
    assert "broken" in text and "failed" in text            # failed variants are listed
    assert "8 of 9 variants evaluated" not in text and "9 of 10 variants evaluated" in text
    assert html.count('id="examples"') == 1


def test_label_values_with_quotes_stay_inside_their_attribute(tmp_path, fakes):
    preds = fakes.predictions()
    preds[0]["gold_label"] = 'x" onmouseover="alert(1)'
    run = load_run(fakes.write_run(tmp_path / "q", preds=preds))
    html = render_html(run, FigureSet())  # no figures needed here
    row = next(a for t, a in parse(html).tags if t == "tr" and "data-gold" in a)
    assert row["data-gold"] == 'x" onmouseover="alert(1)' and "onmouseover" not in row
    assert 'value="x&#34; onmouseover=&#34;alert(1)"' in html
