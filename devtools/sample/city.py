"""generate_city: the ordinary population, the planted cases, the extracts and the truth."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import deliver as D
from . import domains as DOM
from . import ids as idmod
from . import population as P
from . import vocab as V
from .model import Frame, concat
from .planted import CORE_RULES, Planter, plant
from .timeutil import NONE


def _unique_numbers(rng, n: int, start: int, width: int, prefix: str) -> np.ndarray:
    """n distinct numbers with random gaps, in random order, as fixed-width strings."""
    vals = start + np.cumsum(rng.integers(1, 30, n))
    vals = vals[rng.permutation(n)]
    return np.char.add(prefix, np.char.zfill(vals.astype(str), width)).astype(object)


def _assign_ids(people: pd.DataFrame) -> np.ndarray:
    """Canonical identity numbers: district code, birth date, a sequence unique per (district, date), odd for men."""
    area_code = np.array([int(d[0]) for d in V.DISTRICTS])[people["area"].to_numpy()]
    birth = people["birth"].to_numpy().astype("datetime64[D]")
    ymd = pd.to_datetime(birth).strftime("%Y%m%d").astype(int).to_numpy()
    sex = people["sex"].to_numpy().astype(np.int64)
    key = pd.DataFrame({"a": area_code, "b": ymd, "s": sex})
    rank = key.groupby(["a", "b", "s"], sort=False).cumcount().to_numpy()
    offset = (area_code * 37 + ymd * 11) % 300
    seq = 2 * (rank + offset) + np.where(sex == 1, 1, 2)
    assert seq.max() < 1000, "too many people born on one day in one district"
    return idmod.make_ids(area_code, ymd, seq)


def generate_city(out: Path, people: int = 20_000, seed: int = 7, as_of: dt.date = dt.date(2026, 11, 1),
                  domains: bool = True) -> dict:
    """Write one synthetic delivery (extracts root) to ``out`` plus ``out/_truth``; return a summary.

    With ``domains`` (the default) the delivery also holds every domain source of
    connectors/ (civil_affairs, finance, ...), with planted cases and decoys for the domain rules; without
    it, only the four core sources.
    """
    out = Path(out)
    fr = Frame(as_of)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, people, as_of.toordinal()]).spawn(10)]

    # planted cases first (their keys start at 0), then the ordinary population after them
    planted, truth = plant(streams[0], fr, people, {"person": 0, "pen": 0, "card": 0})
    dom_rng = np.random.default_rng(np.random.SeedSequence([seed, people, as_of.toordinal(), 11]))
    dom_planted = None
    if domains:  # domain cases: planted people continue the core planted keys
        dpl = Planter(dom_rng, fr, {"person": len(planted["people"]), "pen": len(planted["pensioners"]),
                                    "card": len(planted["cards"])}, truth)
        dom_planted = DOM.plant_domains(dpl, truth, people)
        core = dpl.frames()
        planted = {t: concat([planted[t], core[t]], t) for t in planted}
    n_pl = {"person": len(planted["people"]), "pen": len(planted["pensioners"]), "card": len(planted["cards"])}
    n_ord = max(0, people - n_pl["person"])
    r = streams[1]
    ppl = P.people(r, n_ord, fr)
    pens, pays = P.pensions(streams[2], ppl, fr)
    cards = P.cards(streams[3], ppl, fr)
    taps, tapped = P.taps(streams[4], cards, ppl, fr)
    reviews = P.reviews(streams[5], cards, fr)
    needs_visit = (ppl["death"].to_numpy() == NONE) & (ppl["age"].to_numpy() >= 75) & ~ppl["person"].isin(tapped).to_numpy()
    outp, inp = P.hospital(streams[6], ppl, fr, needs_visit)

    # shift ordinary keys past the planted ones and combine
    for df, cols in [(ppl, ["person", "hh"]), (pens, ["person"]), (pays, ["person"]), (cards, ["person"]),
                     (reviews, ["person"]), (outp, ["person"]), (inp, ["person"])]:
        for c in cols:
            df[c] = df[c] + (n_pl["person"] if c == "person" else 0)
    pens["pen"] += n_pl["pen"]
    pays["pen"] += n_pl["pen"]
    for df in (cards, reviews, taps):
        df["card"] += n_pl["card"]
    city = {
        "people": concat([planted["people"], ppl], "people"),
        "pensioners": concat([planted["pensioners"], pens], "pensioners"),
        "payments": concat([planted["payments"], pays], "payments"),
        "cards": concat([planted["cards"], cards], "cards"),
        "reviews": concat([planted["reviews"], reviews], "reviews"),
        "taps": concat([planted["taps"], taps], "taps"),
        "inpatient": concat([planted["inpatient"], inp], "inpatient"),
        "outpatient": concat([planted["outpatient"], outp], "outpatient"),
    }
    del ppl, pens, pays, cards, taps, reviews, outp, inp, planted  # keep one copy of each table
    people_df = city["people"]
    assert (people_df["person"].to_numpy() == np.arange(len(people_df))).all()
    people_df["pid"] = _assign_ids(people_df)

    if domains:  # the ordinary population's domain rows, then fund flows over every subsidy paid
        dom = DOM.combine(DOM.frames(dom_planted), DOM.ordinary_domains(dom_rng, people_df, fr, dom_planted["n_households"]))
        allocations, disbursements = DOM.fund_flows(dom_rng, dom["subsidies"], fr, dom_planted["fund_cases"], truth)

    r = streams[7]
    person_no = _unique_numbers(r, len(city["pensioners"]), 20_000_000, 8, "42")
    card_no = _unique_numbers(r, len(city["cards"]), 1_000_000, 12, "3120")

    if out.exists():
        for sub in ("social_security", "household_registry", "hospital", "transit_card", "_truth", *DOM.DOMAIN_SOURCES):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    ctx = D.Ctx(out, fr, streams[8], people_df, D.Ledger())
    # each table is released as soon as it is written, to bound memory on large cities
    D.deliver_pensioners(ctx, city.pop("pensioners"), person_no)
    D.deliver_payments(ctx, city.pop("payments"), person_no)
    D.deliver_residents(ctx)
    D.deliver_inpatient(ctx, city.pop("inpatient"))
    D.deliver_outpatient(ctx, city.pop("outpatient"))
    D.deliver_cards(ctx, city.pop("cards"), card_no)
    D.deliver_reviews(ctx, city.pop("reviews"), card_no)
    D.deliver_taps(ctx, city.pop("taps"), card_no)
    if domains:
        DOM.deliver_domains(ctx, dom, allocations, disbursements)
        business_rng = np.random.default_rng(np.random.SeedSequence([seed, people, as_of.toordinal(), 21]))
        DOM.deliver_business(D.Ctx(out, fr, business_rng, people_df, ctx.ledger), truth, people)
        if people >= DOM.SANZI_MIN_PEOPLE:  # a smaller city has too few free households for every planted case
            sanzi_rng = np.random.default_rng(np.random.SeedSequence([seed, people, as_of.toordinal(), 31]))
            DOM.deliver_sanzi_procurement(D.Ctx(out, fr, sanzi_rng, people_df, ctx.ledger), truth, people, dom)

    summary = _write_truth(out, fr, people, seed, truth, ctx.ledger, people_df)
    return summary


def _write_truth(out: Path, fr: Frame, people: int, seed: int, truth, ledger, people_df) -> dict:
    tdir = out / "_truth"
    tdir.mkdir(parents=True, exist_ok=True)
    pid = people_df["pid"].to_numpy()
    # a finding's subject is a person key, or a text key (fund findings: <资金文号>|<乡镇>, no person)
    rows = sorted((rule, p if isinstance(p, str) else pid[p], "" if isinstance(p, str) else pid[p], sev,
                   "" if cents is None else f"{cents / 100:.2f}") for rule, p, sev, cents in truth.findings)
    _csv(tdir / "findings.csv", ["rule_id", "subject", "person_id", "severity", "amount_at_risk"], rows)
    _csv(tdir / "files.csv", ["source", "table", "file", "rows", "invalid_rows", "duplicate_rows"], sorted(ledger.files))
    _csv(tdir / "quarantine.csv", ["source", "table", "file", "line", "reason"], sorted(ledger.quarantine))
    _csv(tdir / "review_candidates.csv", ["rule_id", "subject", "name_as_delivered", "person_id", "name", "match", "would_fire"],
         sorted(truth.review))
    rules = CORE_RULES + [r for r in DOM.DOMAIN_RULES if r in truth.planted or r in truth.decoys]
    per_rule = {r: sum(1 for f in truth.findings if f[0] == r) for r in rules}
    meta = {
        "people": people, "seed": seed, "as_of": fr.as_of.isoformat(),
        "paid_months": [_month_txt(fr.first_pay_month), _month_txt(fr.last_pay_month)],
        "findings_per_rule": per_rule,
        "planted": {r: truth.planted.get(r, {}) for r in rules},
        "decoys": {r: truth.decoys.get(r, {}) for r in rules},
        "planted_people": int(people_df["planted"].sum()),
        **truth.counts,
    }
    (tdir / "sample.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return {
        "people": people, "seed": seed, "as_of": fr.as_of.isoformat(),
        "files": {f[2]: f[3] for f in sorted(ledger.files)},
        "planted": per_rule,
        "decoys": {r: sum(truth.decoys.get(r, {}).values()) for r in rules},
        "quarantined_rows": len(ledger.quarantine),
    }


def _month_txt(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def _csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
