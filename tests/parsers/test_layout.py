"""Folder layouts: which server and vdir a file belongs to; the vdir table; safe slugs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.layout import (
    VDIRS,
    Placement,
    clean_server_name,
    find_vdir,
    identify,
    safe_slug,
    vdir_by_id,
)

CASES: list[tuple[str, Placement]] = [
    # (a) the install tree copied per server, any folders above <server>, any case.
    (
        "exports/EX01/FrontEnd/HttpProxy/Rest/web.config",
        Placement("EX01", "Default Web Site/API", "FrontEnd/HttpProxy/Rest/web.config"),
    ),
    (
        "/srv/audit/2024/ex02.fabrikam.test/frontend/httpproxy/SYNC/Web.Config",
        Placement(
            "ex02.fabrikam.test",
            "Default Web Site/Microsoft-Server-ActiveSync",
            "frontend/httpproxy/SYNC/Web.Config",
        ),
    ),
    (
        "EX01/ClientAccess/exchWeb/EWS/web.config",
        Placement("EX01", "Exchange Back End/EWS", "ClientAccess/exchWeb/EWS/web.config"),
    ),
    (
        "EX01/ClientAccess/mapi/emsmdb/web.config",
        Placement("EX01", "Exchange Back End/mapi/emsmdb", "ClientAccess/mapi/emsmdb/web.config"),
    ),
    (
        "EX01/V15/ClientAccess/rest/web.config",
        Placement("EX01", "Exchange Back End/API", "V15/ClientAccess/rest/web.config"),
    ),
    (
        "EX01/Exchange Server/V15/FrontEnd/HttpProxy/ecp/web.config",
        Placement(
            "EX01", "Default Web Site/ecp", "Exchange Server/V15/FrontEnd/HttpProxy/ecp/web.config"
        ),
    ),
    (
        "EX01/C$/Program Files/Microsoft/Exchange Server/V15/RpcProxy/web.config",
        Placement(
            "EX01",
            "Exchange Back End/Rpc",
            "C$/Program Files/Microsoft/Exchange Server/V15/RpcProxy/web.config",
        ),
    ),
    # (b) HealthChecker naming; a parent called IIS is skipped.
    (
        "data/E19/IIS/DefaultWebSite-Rest_web.config",
        Placement("E19", "Default Web Site/API", "IIS/DefaultWebSite-Rest_web.config"),
    ),
    (
        "E16/ExchangeBackEnd-MapiEmsmdb_web.config",
        Placement("E16", "Exchange Back End/mapi/emsmdb", "ExchangeBackEnd-MapiEmsmdb_web.config"),
    ),
    (
        "E19/IIS/DefaultWebSite_web.config",
        Placement("E19", "Default Web Site", "IIS/DefaultWebSite_web.config"),
    ),
    (
        "E19/IIS/ClientAccess_ecp_web.config",
        Placement("E19", "Exchange Back End/ecp", "IIS/ClientAccess_ecp_web.config"),
    ),
    (
        "E19/IIS/defaultwebsite-autod_WEB.CONFIG",
        Placement("E19", "Default Web Site/Autodiscover", "IIS/defaultwebsite-autod_WEB.CONFIG"),
    ),
    # Unknown layouts: nothing is guessed.
    ("web.config", Placement(None, None, None)),
    ("EX01/web.config", Placement(None, None, None)),
    ("EX01/FrontEnd/HttpProxy/web.config", Placement(None, None, None)),
    ("E19/IIS/Unknown-Thing_web.config", Placement(None, None, None)),
    (
        "FrontEnd/HttpProxy/Rest/web.config",
        Placement(None, "Default Web Site/API", "FrontEnd/HttpProxy/Rest/web.config"),
    ),
    (
        "IIS/DefaultWebSite-Rest_web.config",
        Placement(None, "Default Web Site/API", "IIS/DefaultWebSite-Rest_web.config"),
    ),
]


@pytest.mark.parametrize(("path", "expected"), CASES, ids=[case[0] for case in CASES])
def test_identify(path: str, expected: Placement) -> None:
    assert identify(Path(path)) == expected


@pytest.mark.parametrize(
    "server",
    ["..", "a\\b", "bad\x00name", "tab\tname", "new\nline", "it's", "$(Get-Process)", " lead"],
)
def test_unsafe_server_folders_are_not_used(server: str) -> None:
    placement = identify(Path("exports", server, "FrontEnd/HttpProxy/Rest/web.config"))

    assert placement.server is None
    assert placement.vdir == "Default Web Site/API"


def test_partner_application_export_in_a_server_folder(tmp_path: Path) -> None:
    server = tmp_path / "EX01"
    (server / "FrontEnd").mkdir(parents=True)
    export = server / "PartnerApplication.xml"

    assert identify(export) == Placement("EX01", None, "PartnerApplication.xml")


def test_partner_application_export_elsewhere_has_no_server(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()

    assert identify(folder / "PartnerApplication.xml") == Placement(None, None, None)


def test_vdir_table_is_consistent() -> None:
    ids = [vdir.id for vdir in VDIRS]
    assert len(ids) == len(set(ids))
    names = [name.lower() for vdir in VDIRS for name in vdir.healthchecker_names]
    assert len(names) == len(set(names))
    paths = [vdir.install_path.lower() for vdir in VDIRS if vdir.install_path]
    assert len(paths) == len(set(paths))
    for vdir in VDIRS:
        assert vdir.id == vdir.site or vdir.id.startswith(vdir.site + "/")
        assert vdir.role == ("frontend" if vdir.site == "Default Web Site" else "backend")
        if vdir.install_path is not None:
            assert vdir.install_path.endswith("\\web.config")
            assert "/" not in vdir.install_path


def test_rest_front_end_facts() -> None:
    rest = vdir_by_id("Default Web Site/API")

    assert rest.install_path == r"FrontEnd\HttpProxy\Rest\web.config"
    assert rest.app_pool == "MSExchangeRestFrontEndAppPool"
    assert vdir_by_id("Exchange Back End/API").app_pool == "MSExchangeRestAppPool"


def test_unknown_vdir_id_raises_with_the_id() -> None:
    with pytest.raises(KeyError, match="Default Web Site/Nope"):
        vdir_by_id("Default Web Site/Nope")
    assert find_vdir("default web site/api") is vdir_by_id("Default Web Site/API")
    assert find_vdir("nope") is None


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("EX01", "ex01"),
        ("ex-02", "ex-02"),
        ("Default Web Site/API", "default-web-site-api-6b496e36"),
        ("ex02.fabrikam.test", "ex02-fabrikam-test-"),
        ("..", "x-"),
        ("", "x-"),
    ],
)
def test_safe_slug(name: str, slug: str) -> None:
    result = safe_slug(name)

    assert result.startswith(slug)
    assert re.fullmatch(r"[a-z0-9-]+", result)
    assert safe_slug(name) == result  # deterministic


def test_safe_slug_keeps_distinct_names_distinct() -> None:
    assert safe_slug("EX01.a") != safe_slug("EX01 a")
    assert safe_slug("a/../b") != safe_slug("a-b")


@given(st.text())
def test_safe_slug_is_always_allow_listed(name: str) -> None:
    slug = safe_slug(name)

    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug)
    assert len(slug) <= 64 + 9


@given(st.text())
def test_clean_server_name_never_passes_separators_or_controls(name: str) -> None:
    cleaned = clean_server_name(name)

    if cleaned is not None:
        assert cleaned == name
        assert not re.search(r"[\x00-\x1f\x7f/\\]", cleaned)
        assert ".." not in cleaned
