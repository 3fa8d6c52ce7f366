"""The sample city's 三资 and procurement sources, read back from the delivered files with pandas
(not with the rules): every boundary of the sanzi-procurement contract is planted, and the truth
agrees with what the files say (shortfalls, contract years, values, windows, shared phones)."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLE_AS_OF, read_csv_rows

from devtools.sample.ids import normalise

LEASE, RENT, BELOW, TRADE = ("sanzi_lease_to_cadre_relative", "sanzi_rent_not_collected", "sanzi_below_market_rent",
                             "sanzi_no_public_trade")
SHARED, SPLIT, RELATED = "bid_shared_contact", "procurement_split", "supplier_related_to_buyer_staff"
PLANTED = {
    LEASE: {"id_official_in_person", "id_household_member", "term_starts_on_signing_day", "name_same", "name_same_sound",
            "name_look_alike", "name_lost_character"},
    RENT: {"shortfall_50_01", "receipt_after_as_of", "due_30_days_after_start", "exact_copy_counts_once", "unpaid_two_years"},
    BELOW: {"below_half_of_median", "below_half_of_even_median"},
    TRADE: {"value_at_threshold", "value_above_threshold_not_stated", "short_last_year_counts_in_full"},
    SHARED: {"shared_landline_in_two_forms", "shared_mobile_with_country_code", "shared_legal_representative_no_winner_among_them"},
    SPLIT: {"worked_example", "exactly_30_days_apart", "buyer_named_with_spaces"},
    RELATED: {"legal_representative_is_a_buyer_employee", "legal_representative_in_an_employee_household"},
}
DECOYS = {
    LEASE: {"term_ended_the_day_before_signing", "same_name_in_neighbouring_village", "two_character_difference",
            "one_character_not_a_variant", "identity_number_wins_over_name", "ambiguous_same_name", "ambiguous_lost_character",
            "ambiguous_without_official"},
    RENT: {"shortfall_50_00", "receipt_on_as_of", "paid_in_advance", "year_started_29_days_ago", "two_receipts_one_day_one_amount",
           "receipt_for_a_contract_nobody_signed"},
    BELOW: {"exactly_half_of_median", "four_comparables", "area_empty_not_a_comparable", "square_metres_not_compared_with_mu",
            "unit_empty_not_judged", "area_zero_not_judged"},
    TRADE: {"value_99999_99", "publicly_traded"},
    SHARED: {"one_bidder_bids_twice", "same_phone_in_another_project", "local_number_is_another_number",
             "same_representative_name_other_number", "both_phones_empty"},
    SPLIT: {"sum_399999_99", "31_days_apart", "contract_at_the_limit_not_counted", "two_buying_units"},
    RELATED: {"contract_staff", "employee_of_another_unit", "signed_in_a_month_the_payroll_does_not_pay"},
}
EMPTY = {"", "NULL", "\\N", "-"}


def _read(city: Path, folder: str, prefix: str) -> pd.DataFrame:
    """Every row of the table's files as text (xlsx date cells as dates), with the file's name."""
    parts = []
    for path in sorted((city / folder).glob(prefix + "*")):
        if path.suffix == ".xlsx":
            df = pd.read_excel(path, dtype=object, engine="openpyxl").fillna("")
        else:
            raw = path.read_bytes()
            text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else _decode(raw)
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        parts.append(df.assign(_file=path.name))
    return pd.concat(parts, ignore_index=True)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _key(v) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", str(v)))


def _date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def _cents(v) -> int | None:
    s = str(v).replace(",", "").strip()
    try:
        return int((Decimal(s) * 100).to_integral_exact())
    except Exception:
        return None


def _years(start: dt.date, end: dt.date) -> int:
    n = 0
    while True:
        try:
            y = start.replace(year=start.year + n)
        except ValueError:
            y = start.replace(year=start.year + n, day=28)
        if y >= end:
            return n
        n += 1


@pytest.fixture(scope="module")
def files(sample_city):
    leases = _read(sample_city, "collective_assets", "asset_contracts")
    leases = leases[leases.apply(_loads, axis=1)]
    leases = leases.assign(no=leases["合同编号"].map(_key), cents=leases["年租金"].map(_cents))
    conflicting = leases.groupby("no")["cents"].nunique() > 1           # exported twice, differently: quarantined
    leases = leases[~leases["no"].isin(conflicting[conflicting].index)].drop_duplicates("no").set_index("no")
    receipts = _read(sample_city, "collective_assets", "rent_receipts").drop(columns="_file").drop_duplicates()
    receipts = receipts[receipts.apply(lambda r: _date(r["收款日期"]) is not None and _cents(r["金额"]) is not None, axis=1)]
    truth = read_csv_rows(sample_city / "_truth" / "findings.csv")
    return leases, receipts, truth


def _loads(r) -> bool:
    """Whether the loader keeps the row (the junk rows' faults only)."""
    return (all(_date(r[c]) for c in ("签订日期", "起始日期", "终止日期")) and _cents(r["年租金"]) is not None
            and r["所属村"] not in EMPTY and r["是否公开交易"] in EMPTY | {"是", "否"}
            and r["计量单位"] in EMPTY | {"亩", "平方米", "㎡", "m2", "m²", "M2"}
            and (r["承租方身份证号"] in EMPTY or normalise(str(r["承租方身份证号"])) is not None))


def _truth_of(truth, rule) -> dict[str, str]:
    return {t["subject"]: t["amount_at_risk"] for t in truth if t["rule_id"] == rule}


def test_every_boundary_of_the_contract_is_planted(sample_city):
    meta = json.loads((sample_city / "_truth" / "sample.json").read_text(encoding="utf-8"))
    for rule, kinds in PLANTED.items():
        assert set(meta["planted"][rule]) == kinds, rule
        assert set(meta["decoys"][rule]) == DECOYS[rule], rule
    lessees = meta["lessees"]
    assert lessees["unidentified"] == lessees["ambiguous"] + lessees["no_candidate"] and lessees["ambiguous"] >= 3
    assert lessees["contracts"] == lessees["by_identity_number"] + lessees["by_name"] + lessees["unidentified"]


def test_rent_shortfalls_recomputed_from_the_files(files):
    leases, receipts, truth = files
    received: dict[str, int] = {}
    for r in receipts.itertuples():
        if _date(r.收款日期) <= SAMPLE_AS_OF:
            received[_key(r.合同编号)] = received.get(_key(r.合同编号), 0) + _cents(r.金额)
    shortfalls = {}
    for no, r in leases.iterrows():
        start, end, rent = _date(r["起始日期"]), _date(r["终止日期"]), _cents(r["年租金"])
        due_years = sum(1 for i in range(_years(start, end)) if _anniv(start, i) + dt.timedelta(days=30) <= SAMPLE_AS_OF)
        shortfalls[no] = rent * due_years - received.get(no, 0)
    found = {no: f"{s / 100:.2f}" for no, s in shortfalls.items() if s > 5_000}
    assert found == _truth_of(truth, RENT)
    assert "50.01" in found.values() and 5_000 in shortfalls.values()   # 50.01 fires, 50.00 does not


def _anniv(start: dt.date, i: int) -> dt.date:
    try:
        return start.replace(year=start.year + i)
    except ValueError:
        return start.replace(year=start.year + i, day=28)


def test_contract_values_and_public_trading_recomputed_from_the_files(files):
    leases, _, truth = files
    value = {no: _cents(r["年租金"]) * _years(_date(r["起始日期"]), _date(r["终止日期"])) for no, r in leases.iterrows()}
    found = {no: f"{v / 100:.2f}" for no, v in value.items() if v >= 10_000_000 and leases.loc[no, "是否公开交易"] != "是"}
    assert found == _truth_of(truth, TRADE)
    assert "100000.00" in found.values() and 9_999_999 in value.values()
    assert any(v >= 10_000_000 and leases.loc[no, "是否公开交易"] == "是" for no, v in value.items())
    for subject, amount in _truth_of(truth, LEASE).items():  # the lease rule's amount is the contract value
        assert Decimal(amount) == Decimal(value[subject]) / 100


def test_the_going_rate_compares_one_unit_only(files):
    leases, _, truth = files
    below = _truth_of(truth, BELOW)
    assert len(below) == 2
    for no in below:
        r = leases.loc[no]
        unit = "亩" if r["计量单位"] == "亩" else "平方米"
        same = leases[(leases["所属乡镇"].map(_key) == _key(r["所属乡镇"])) & (leases["资产类型"] == r["资产类型"])]
        units = same["计量单位"].map(lambda u: "" if u in EMPTY else ("亩" if u == "亩" else "平方米"))
        area = same["面积"].map(lambda a: Decimal(a) if a not in EMPTY else Decimal(0))
        others = same[(units == unit) & (area > 0) & (same.index != no)]
        rates = sorted(Decimal(_cents(x["年租金"])) / 100 / Decimal(x["面积"]) for _, x in others.iterrows())
        assert len(rates) >= 5
        median = (rates[(len(rates) - 1) // 2] + rates[len(rates) // 2]) / 2
        years = _years(_date(r["起始日期"]), _date(r["终止日期"]))
        assert Decimal(below[no]) == (median * Decimal(r["面积"]) - Decimal(_cents(r["年租金"])) / 100) * years
    assert {"㎡", "m2", "m²"} & set(leases["计量单位"])


def test_review_candidates_are_ambiguous_contracts_of_the_village(files, sample_city):
    leases, _, _ = files
    review = read_csv_rows(sample_city / "_truth" / "review_candidates.csv")
    assert list(review[0]) == ["rule_id", "subject", "name_as_delivered", "person_id", "name", "match", "would_fire"]
    subjects = {r["subject"] for r in review}
    assert len(subjects) >= 2
    registry = _read(sample_city, "household_registry", "residents")
    registry = registry.assign(pid=registry["公民身份号码"].map(normalise))
    for s in subjects:
        rows = [r for r in review if r["subject"] == s]
        lease = leases.loc[s]
        assert len(rows) >= 2 and {r["would_fire"] for r in rows} == {"是", "否"}
        assert lease["承租方身份证号"] in EMPTY and all(r["name_as_delivered"] == lease["承租方姓名"] for r in rows)
        for r in rows:
            person = registry[registry["pid"] == r["person_id"]].iloc[0]
            assert (_key(person["所属乡镇"]), _key(person["所属村"])) == (_key(lease["所属乡镇"]), _key(lease["所属村"]))
    assert {r["match"] for r in review} >= {"一致", "缺字"}


def test_procurement_boundaries_in_the_files(sample_city):
    truth = read_csv_rows(sample_city / "_truth" / "findings.csv")
    contracts = _read(sample_city, "procurement", "contracts")
    contracts = contracts[contracts.apply(lambda r: _cents(r["合同金额"]) is not None and _date(r["签订日期"]) is not None
                                          and r["统一社会信用代码"] != "", axis=1)]
    contracts = contracts.assign(buyer=contracts["采购单位"].map(_key), code=contracts["统一社会信用代码"].map(lambda c: _key(c).upper()))
    split = _truth_of(truth, SPLIT)
    assert sorted(split.values()) == ["400000.00", "400000.00", "450000.00"]
    for subject, amount in split.items():
        buyer, code = subject.split("|")
        pair = contracts[(contracts["buyer"] == buyer) & (contracts["code"] == code)].drop_duplicates("合同编号")
        days = sorted((_date(d), _cents(a)) for d, a in zip(pair["签订日期"], pair["合同金额"]))
        if amount == "450000.00":  # the contract's worked example: 100,000 day 0, 200,000 day 25, 250,000 day 40
            assert [(d - days[0][0]).days for d, _ in days] == [0, 25, 40]
            assert [c for _, c in days] == [10_000_000, 20_000_000, 25_000_000]
    sums = {}
    for (buyer, code), pair in contracts.groupby(["buyer", "code"]):
        sums[(buyer, code)] = sum(_cents(a) for a in pair.drop_duplicates("合同编号")["合同金额"])
    assert 39_999_999 in sums.values()                      # 399,999.99 within a window: no finding
    bids = _read(sample_city, "procurement", "bids")
    phones = bids.assign(phone=bids["联系电话"].map(lambda p: re.sub(r"\D", "", unicodedata.normalize("NFKC", str(p)))))
    shared = _truth_of(truth, SHARED)
    assert "" in shared.values() and len(shared) == 3
    for project in shared:
        rows = phones[phones["项目编号"] == project]
        reps = rows["法定代表人身份证号"].map(lambda v: normalise(str(v)) if str(v) not in EMPTY else None)
        keys = rows["phone"].map(lambda p: p[2:] if len(p) == 13 and p.startswith("86") else p)
        assert keys[keys != ""].duplicated().any() or reps.dropna().duplicated().any(), project
    related = _truth_of(truth, RELATED)
    assert len(related) == 2
    for no, amount in related.items():
        row = contracts[contracts["合同编号"] == no].iloc[0]
        assert Decimal(amount) == Decimal(_cents(row["合同金额"])) / 100


def test_a_city_too_small_for_every_planted_case_has_no_collective_assets_or_procurement(tmp_path):
    """Below SANZI_MIN_PEOPLE the city cannot give every planted lease and supplier a household of
    its own: it is written without the two sources (their rules are skipped), never half planted."""
    from devtools.sample import generate_city
    from devtools.sample.domains import SANZI_MIN_PEOPLE

    assert SANZI_MIN_PEOPLE > 300
    generate_city(tmp_path, people=300, seed=5, as_of=SAMPLE_AS_OF)
    assert not (tmp_path / "collective_assets").exists() and not (tmp_path / "procurement").exists()
    assert (tmp_path / "village_cadres").is_dir()
    rules = {r["rule_id"] for r in read_csv_rows(tmp_path / "_truth" / "findings.csv")}
    assert not rules & {"sanzi_lease_to_cadre_relative", "bid_shared_contact", "procurement_split"}
