"""A commune's values as users give them: its outline (GeoJSON), its question, its factors; and who sees what."""

from __future__ import annotations

import json

import pytest

from fleet.registry.devices import add_device
from fleet.registry.groups import add_user
from fleet.registry.model import RegistryError
from fleet.store import open_store
from fleet.tenants.communes import (
    create_commune,
    get_commune,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.model import (
    check_public_text,
    check_question,
    contains,
    normalise_answer,
    parse_factor,
    parse_outline,
)
from fleet.tenants.scope import SERVICE, OutOfScope, Scope, scope_of

#: A square of 0.1° by 0.1°.
SQUARE = [[5.0, 45.0], [5.1, 45.0], [5.1, 45.1], [5.0, 45.1], [5.0, 45.0]]
#: A "C" shape open to the east: (5.07, 45.05) is in the opening, outside the commune.
C_SHAPE = [[5.0, 45.0], [5.1, 45.0], [5.1, 45.02], [5.02, 45.02], [5.02, 45.08], [5.1, 45.08], [5.1, 45.1],
           [5.0, 45.1], [5.0, 45.0]]


def test_tenants_outline_from_polygon_feature_and_collection() -> None:
    polygon = {"type": "Polygon", "coordinates": [SQUARE]}
    feature = {"type": "Feature", "properties": {"nom": "Saint-Aubin"}, "geometry": polygon}
    collection = {"type": "FeatureCollection", "features": [feature, {"type": "Feature", "geometry": {
        "type": "MultiPolygon", "coordinates": [[C_SHAPE]]}}]}
    assert parse_outline(json.dumps(polygon), "f.geojson") == (tuple(tuple(p) for p in SQUARE),)
    assert parse_outline(json.dumps(feature), "f.geojson") == parse_outline(json.dumps(polygon), "f.geojson")
    assert len(parse_outline(json.dumps(collection), "f.geojson")) == 2


@pytest.mark.parametrize(("document", "reason"), [
    ("{", "not JSON"),
    ('{"type": "Point", "coordinates": [5, 45]}', "give a Polygon or MultiPolygon"),
    (json.dumps({"type": "Polygon", "coordinates": [SQUARE[:-1]]}), "ends where it starts"),
    (json.dumps({"type": "Polygon", "coordinates": [[[5, 45], [5, 95], [6, 45], [5, 45]]]}), "not a longitude"),
    (json.dumps({"type": "Polygon", "coordinates": [[[5, 45], ["x", 45], [6, 45], [5, 45]]]}), "[longitude, latitude]"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "no polygon"),
    ("[" * 100000 + "]" * 100000, "not JSON"),
])
def test_tenants_outline_errors_name_the_file_and_reason(document: str, reason: str) -> None:
    with pytest.raises(RegistryError) as error:
        parse_outline(document, "saint-aubin.geojson")
    assert str(error.value).startswith("saint-aubin.geojson") and reason in str(error.value)


def test_tenants_point_inside_outline_by_even_odd_rule() -> None:
    (ring,) = parse_outline(json.dumps({"type": "Polygon", "coordinates": [C_SHAPE]}), "c")
    assert contains([ring], 5.01, 45.05)  # the C's back
    assert contains([ring], 5.05, 45.01)  # its lower arm
    assert not contains([ring], 5.07, 45.05)  # in the opening
    assert not contains([ring], 5.2, 45.05)  # east of it all
    assert not contains([], 5.01, 45.05)


def test_tenants_question_answer_and_factors_checked() -> None:
    assert check_question("Combien de pattes a un chat ?", "  Quatre ") == ("Combien de pattes a un chat ?", "quatre")
    assert normalise_answer(" QUATRE  pattes ") == "quatre pattes"
    with pytest.raises(RegistryError, match="go together"):
        check_question("Combien ?", None)
    assert parse_factor("0.2016", "--tariff-eur-per-kwh", 10.0) == pytest.approx(0.2016)
    for bad in ("nan", "-0.1", "11", "inf", "beaucoup"):
        with pytest.raises(RegistryError, match="--tariff-eur-per-kwh"):
            parse_factor(bad, "--tariff-eur-per-kwh", 10.0)
    assert check_public_text("Bienvenue.\r\n\r\nLa mairie.") == "Bienvenue.\n\nLa mairie."
    with pytest.raises(RegistryError, match="control character"):
        check_public_text("bip\x07")


def test_tenants_scope_sees_only_its_communes_boxes_users_groups_and_alarms(store_url: str) -> None:
    store = open_store(store_url)
    try:
        db = store.db
        for name in ("aubin", "vaulx"):
            create_commune(db, new_commune(name, name.title(), now=0.0))
        add_device(db, "box-a", "Mairie", now=0.0, commune="aubin")
        add_device(db, "box-b", "Mairie", now=0.0, commune="vaulx")
        add_device(db, "box-s", "Dépôt du service", now=0.0)
        add_user(db, "anne", "admin", now=0.0, commune="aubin")
        add_user(db, "serge", "admin", now=0.0)
        a, service = scope_of(db, "anne"), scope_of(db, "serge")
        assert a == Scope("aubin") and service == SERVICE and service.service and not a.service
        assert a.devices(db) == frozenset({"box-a"}) and service.devices(db) is None
        assert [a.sees_device(db, d) for d in ("box-a", "box-b", "box-s", "box-unknown")] == [True, False, False, False]
        assert all(service.sees_device(db, d) for d in ("box-a", "box-b", "box-s"))
        assert a.require_device(db, "box-a") == "box-a"
        with pytest.raises(OutOfScope) as refused:
            a.require_device(db, "box-b")
        assert str(refused.value) == "device 'box-b' is not registered"  # as an unknown box: nothing learnt
        where, params = a.device_sql("r.device")
        rows = db.query(f"SELECT r.device FROM registry r WHERE {where} ORDER BY r.device", params)
        assert [r[0] for r in rows] == ["box-a"]
        assert a.sees_user(db, "anne") and not a.sees_user(db, "serge") and service.sees_user(db, "anne")
        set_members(db, "vaulx", "device", ["box-a"])  # the box moves to the other commune
        assert not a.sees_device(db, "box-a") and scope_of(db, "anne").devices(db) == frozenset()
        update_commune(db, "aubin", tariff_eur_per_kwh=0.3)
        found = get_commune(db, "aubin")
        assert found is not None and found.tariff_eur_per_kwh == 0.3 and found.title == "Aubin"
        with pytest.raises(RegistryError, match="no such commune"):
            add_device(db, "box-c", "École", now=0.0, commune="nowhere")
    finally:
        store.close()
