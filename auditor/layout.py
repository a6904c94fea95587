"""Where an input file sits: which server and which IIS virtual directory it belongs to.

This module owns the table of Exchange IIS applications (`VDIRS`, declared once as data) and
the folder layouts auditor recognises. `identify(path)` looks only at the path (and, for a
partner-application export, at the names of the folders next to it); it never reads a file.

Layouts auditor accepts
-----------------------

(a) The Exchange install tree, copied per server. Any folders may sit above `<server>`:

        .../<server>/FrontEnd/HttpProxy/<folder>/web.config      (front end, "Default Web Site")
        .../<server>/ClientAccess/<folder...>/web.config         (back end, "Exchange Back End")
        .../<server>/RpcProxy/web.config                         (back end, "Exchange Back End/Rpc")

    `<folder>` is the physical folder Exchange uses (`Rest` for the `API` vdir, `sync` for
    ActiveSync, `exchWeb/EWS` for back-end EWS, `mapi/emsmdb`, `PowerShell-Proxy`, ...; see
    `VDIRS`). Folder names match case-insensitively. The copied tree may keep the install
    folders between `<server>` and `FrontEnd`/`ClientAccess`: `<server>/V15/...`,
    `<server>/Exchange Server/V15/...`, `<server>/Microsoft/Exchange Server/V15/...`,
    `<server>/Program Files/Microsoft/Exchange Server/V15/...` and, below `<server>`, a drive
    folder such as `C$` or `C` are all skipped when looking for the server name.

(b) HealthChecker naming, one folder per server: `.../<server>/<Site>-<VDir>_web.config`, e.g.
    `DefaultWebSite-Rest_web.config` (`Default Web Site/API`),
    `ExchangeBackEnd-MapiEmsmdb_web.config` (`Exchange Back End/mapi/emsmdb`),
    `DefaultWebSite_web.config` (the `Default Web Site` root) and `ClientAccess_ecp_web.config`
    (`Exchange Back End/ecp`). The server is the parent folder; a parent called `IIS` is skipped,
    so `.../E19/IIS/DefaultWebSite-Rest_web.config` belongs to server `E19`. Names match
    case-insensitively; the accepted names of each vdir are in `Vdir.healthchecker_names`.

(c) The collection script (`auditor collect`) runs on each server and writes layout (a) under
    `<out>/<server>/`, next to the exports (each `Export-Clixml -Depth 4`), all in that folder
    and listed in its `.sha256sums`:

        PartnerApplication.xml, ExchangeServer.xml      (org-wide, as before)
        AuthServer.xml, AuthConfig.xml, SettingOverride.xml, HybridConfiguration.xml,
        IntraOrganizationConnector.xml, OrganizationRelationship.xml, OrganizationConfig.xml
                                                        (org-wide: `Get-<name>`; every server
                                                        folder holds its own copy)
        ExSetup.xml                    (of `<server>`: the FileVersionInfo of
                                       `$env:ExchangeInstallPath\\Bin\\ExSetup.exe`, read locally)
        ExchangeCertificate.xml        (of `<server>`: `Get-ExchangeCertificate -Server <server>`
                                       as a view: Thumbprint, Subject, Issuer, NotBefore, NotAfter,
                                       Services and Status as names, HasPrivateKey,
                                       PrivateKeyExportable, PublicKeySize, RawData; type name
                                       `Selected.<ExchangeCertificate type>`)
        VariantConfigurationOverrides.xml
                                       (of `<server>`: the overrides in effect there,
                                       `Get-ExchangeDiagnosticInfo -Server <server> -Process
                                       Microsoft.Exchange.Directory.TopologyService -Component
                                       VariantConfiguration -Argument Overrides`)

    The per-server exports carry no reliable server name of their own: their server is the
    folder `<server>`. The transcript gives each file's object count (`AUDITOR-INFO: <file> holds
    <n> object(s) of <command>.`); an export that could not be taken is an `AUDITOR-NO-COMMAND`
    or `AUDITOR-EXPORT-FAILED` warning and its file is absent. Optional cloud evidence (Graph
    JSON, ScubaGear's `ProviderSettingsExport.json`) goes in `<out>` itself, outside any server
    folder (the collection script's help says how to take it).

(d) The `Default Web Site` root web.config, the parent of every front-end vdir's configuration:
    `.../<server>/[C$/]inetpub/wwwroot/web.config`, or HealthChecker's `DefaultWebSite_web.config`.

Partner-application exports (any file that is not a web.config) get a server from the folder only
when that folder is clearly a server folder: it holds a `FrontEnd`, `ClientAccess`, `V15` or `IIS`
folder (as layouts (a), (b) and (c) produce). Otherwise the server stays unknown and comes from
the export itself (`PSComputerName` / `OriginatingServer`) or from `--server`. Partner
applications are organisation-wide Active Directory objects, so the server is only where the
export was made.

Server names are display names that later end up in file names and scripts. A folder name is used
as a server name only if it looks like a host name (letters, digits, `.`, `_`, `-`, spaces inside,
at most 253 characters, no `..`); anything else (`\\`, `/`, NUL, control characters, quotes, ...)
is rejected and the server stays unknown. `safe_slug` turns any name into `[a-z0-9-]`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from auditor import names

# The hybrid-trust exports `auditor collect` writes (layout (c)): an organisation may have none
# of what one of them lists (no AuthServer, no setting override), so such a file may hold no
# object at all.
TRUST_EXPORT_FILES = frozenset(
    name.casefold()
    for name in (
        "AuthServer.xml",
        "AuthConfig.xml",
        "SettingOverride.xml",
        "HybridConfiguration.xml",
        "IntraOrganizationConnector.xml",
        "OrganizationRelationship.xml",
        "OrganizationConfig.xml",
        "ExSetup.xml",
        "ExchangeCertificate.xml",
        "VariantConfigurationOverrides.xml",
    )
)

FRONT_END_SITE = "Default Web Site"
BACK_END_SITE = "Exchange Back End"


@dataclass(frozen=True, slots=True)
class Vdir:
    """One Exchange IIS application: its canonical IIS path, where its web.config lives.

    `install_path` is relative to `$env:ExchangeInstallPath`, with backslashes; it is None for
    the `Default Web Site` root, whose web.config lives outside the Exchange install folder
    (`%SystemDrive%\\inetpub\\wwwroot`). `app_pool` is None when no source names the pool.
    """

    id: str
    site: str
    role: Literal["frontend", "backend"]
    install_path: str | None
    app_pool: str | None
    healthchecker_names: tuple[str, ...]


# Sources: CSS-Exchange HealthChecker `Invoke-AnalyzerIISInformation.ps1` ($correctLocations, IIS
# application -> physical path), `Get-ExchangeClientProtocolMappings` (app pools) and the app pool
# list HealthChecker prints; file names from HealthChecker test data (reference/css-exchange).
# Front-end pools other than the four `*FrontEndAppPool`s are not named by any source: None.
VDIRS: tuple[Vdir, ...] = (
    Vdir("Default Web Site", FRONT_END_SITE, "frontend", None, None, ("DefaultWebSite",)),
    Vdir(
        "Default Web Site/owa",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\owa\web.config",
        None,
        ("DefaultWebSite-OWA",),
    ),
    Vdir(
        "Default Web Site/ecp",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\ecp\web.config",
        None,
        ("DefaultWebSite-ECP",),
    ),
    Vdir(
        "Default Web Site/EWS",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\EWS\web.config",
        None,
        ("DefaultWebSite-EWS",),
    ),
    Vdir(
        "Default Web Site/API",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\Rest\web.config",
        "MSExchangeRestFrontEndAppPool",
        ("DefaultWebSite-Rest", "DefaultWebSite-API"),
    ),
    Vdir(
        "Default Web Site/Autodiscover",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\Autodiscover\web.config",
        None,
        ("DefaultWebSite-AutoD", "DefaultWebSite-Autodiscover"),
    ),
    Vdir(
        "Default Web Site/Microsoft-Server-ActiveSync",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\sync\web.config",
        None,
        ("DefaultWebSite-EAS", "DefaultWebSite-Microsoft-Server-ActiveSync"),
    ),
    Vdir(
        "Default Web Site/OAB",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\OAB\web.config",
        None,
        ("DefaultWebSite-OAB",),
    ),
    Vdir(
        "Default Web Site/PowerShell",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\PowerShell\web.config",
        "MSExchangePowerShellFrontEndAppPool",
        ("DefaultWebSite-PowerShell",),
    ),
    Vdir(
        "Default Web Site/mapi",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\mapi\web.config",
        "MSExchangeMapiFrontEndAppPool",
        ("DefaultWebSite-MAPI",),
    ),
    Vdir(
        "Default Web Site/Rpc",
        FRONT_END_SITE,
        "frontend",
        r"FrontEnd\HttpProxy\rpc\web.config",
        "MSExchangeRpcProxyFrontEndAppPool",
        ("DefaultWebSite-RPC",),
    ),
    Vdir(
        "Exchange Back End/PowerShell",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\PowerShell-Proxy\web.config",
        "MSExchangePowerShellAppPool",
        ("ExchangeBackEnd-PowerShell",),
    ),
    Vdir(
        "Exchange Back End/mapi/emsmdb",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\mapi\emsmdb\web.config",
        "MSExchangeMapiMailboxAppPool",
        ("ExchangeBackEnd-MapiEmsmdb",),
    ),
    Vdir(
        "Exchange Back End/mapi/nspi",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\mapi\nspi\web.config",
        "MSExchangeMapiAddressBookAppPool",
        ("ExchangeBackEnd-MapiNspi",),
    ),
    Vdir(
        "Exchange Back End/API",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\rest\web.config",
        "MSExchangeRestAppPool",
        ("ExchangeBackEnd-Rest", "ExchangeBackEnd-API"),
    ),
    Vdir(
        "Exchange Back End/owa",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\owa\web.config",
        "MSExchangeOWAAppPool",
        ("ExchangeBackEnd-OWA",),
    ),
    Vdir(
        "Exchange Back End/OAB",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\OAB\web.config",
        "MSExchangeOABAppPool",
        ("ExchangeBackEnd-OAB",),
    ),
    Vdir(
        "Exchange Back End/ecp",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\ecp\web.config",
        "MSExchangeECPAppPool",
        ("ExchangeBackEnd-ECP", "ClientAccess_ecp"),
    ),
    Vdir(
        "Exchange Back End/Autodiscover",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\Autodiscover\web.config",
        "MSExchangeAutodiscoverAppPool",
        ("ExchangeBackEnd-AutoD", "ExchangeBackEnd-Autodiscover"),
    ),
    Vdir(
        "Exchange Back End/Microsoft-Server-ActiveSync",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\sync\web.config",
        "MSExchangeSyncAppPool",
        ("ExchangeBackEnd-EAS", "ExchangeBackEnd-Microsoft-Server-ActiveSync"),
    ),
    Vdir(
        "Exchange Back End/EWS",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\exchWeb\EWS\web.config",
        "MSExchangeServicesAppPool",
        ("ExchangeBackEnd-EWS",),
    ),
    Vdir(
        "Exchange Back End/Rpc",
        BACK_END_SITE,
        "backend",
        r"RpcProxy\web.config",
        "MSExchangeRpcProxyAppPool",
        ("ExchangeBackEnd-RPC",),
    ),
    Vdir(
        "Exchange Back End/PushNotifications",
        BACK_END_SITE,
        "backend",
        r"ClientAccess\PushNotifications\web.config",
        "MSExchangePushNotificationsAppPool",
        ("ExchangeBackEnd-Push", "ExchangeBackEnd-PushNotifications"),
    ),
)

_BY_ID: dict[str, Vdir] = {vdir.id: vdir for vdir in VDIRS}
_BY_ID_FOLDED: dict[str, Vdir] = {vdir.id.casefold(): vdir for vdir in VDIRS}
_BY_HEALTHCHECKER_NAME: dict[str, Vdir] = {
    name.casefold(): vdir for vdir in VDIRS for name in vdir.healthchecker_names
}
# Install-tree suffixes, longest first so `ClientAccess/exchWeb/EWS` beats nothing shorter.
_BY_INSTALL_PARTS: tuple[tuple[tuple[str, ...], Vdir], ...] = tuple(
    sorted(
        (
            (tuple(part.casefold() for part in vdir.install_path.split("\\")), vdir)
            for vdir in VDIRS
            if vdir.install_path is not None
        ),
        key=lambda item: -len(item[0]),
    )
)
# Install folders an admin may copy between `<server>` and `FrontEnd`/`ClientAccess`, innermost
# first; each is skipped at most once, in this order.
_SKIPPED_INSTALL_FOLDERS = ("v15", "exchange server", "microsoft", "program files")
_DRIVE_FOLDER = re.compile(r"^[A-Za-z][$_]?$")
_SERVER_FOLDER_MARKERS = frozenset({"frontend", "clientaccess", "v15", "iis"})
_HEALTHCHECKER_SUFFIX = "_web.config"


def vdir_by_id(vdir_id: str) -> Vdir:
    """The vdir with canonical IIS path `vdir_id` (exact spelling); unknown ids raise KeyError."""
    try:
        return _BY_ID[vdir_id]
    except KeyError:
        raise KeyError(f"unknown vdir id {vdir_id!r}") from None


def find_vdir(name: str) -> Vdir | None:
    """The vdir whose canonical id matches `name` case-insensitively, or None."""
    return _BY_ID_FOLDED.get(name.casefold())


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a file belongs: server name (display form), vdir id, path below the server folder.

    Any field may be None when the layout does not say. `relative_path` uses `/` separators.
    """

    server: str | None
    vdir: str | None
    relative_path: str | None


def clean_server_name(name: str) -> str | None:
    """`name` when it looks like a host name (safe to display), otherwise None."""
    return name if names.is_server_name(name) else None


def safe_slug(name: str) -> str:
    """A deterministic file-name stem of `[a-z0-9-]` only for any `name`.

    Letters and digits are lower-cased and kept, every other run of characters becomes one `-`.
    When anything other than case was lost, an 8-hex-digit hash of the original name is
    appended, so different names never share a slug by accident.
    """
    lowered = name.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")[:64].strip("-")
    if slug == lowered and slug:
        return slug
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else f"x-{digest}"


def identify(path: Path, *, server_folder: bool | None = None) -> Placement:
    """The server and vdir a file belongs to according to the documented folder layouts.

    `server_folder` says whether the file's folder holds a `FrontEnd`, `ClientAccess`, `V15`
    or `IIS` folder, when the caller already knows (discovery lists each folder once); None
    makes `identify` list the folder itself.
    """
    parts = path.parts
    if not parts:
        return Placement(None, None, None)
    file_name = parts[-1]
    folded = [part.casefold() for part in parts]
    if folded[-1] == "web.config":
        return _identify_install_tree(parts, folded)
    if folded[-1].endswith(_HEALTHCHECKER_SUFFIX):
        placement = _identify_healthchecker(parts, file_name)
        if placement is not None:
            return placement
        return Placement(None, None, None)
    return _identify_export(path, server_folder)


def is_server_folder(child_folders: Iterable[str]) -> bool:
    """True when a folder holding these sub-folders is a server folder of layouts (a)-(c)."""
    return any(name.casefold() in _SERVER_FOLDER_MARKERS for name in child_folders)


def _identify_install_tree(parts: tuple[str, ...], folded: list[str]) -> Placement:
    for suffix, vdir in _BY_INSTALL_PARTS:
        if len(folded) >= len(suffix) and tuple(folded[-len(suffix) :]) == suffix:
            above = list(parts[: -len(suffix)])
            relative = "/".join(parts[-len(suffix) :])
            for folder in _SKIPPED_INSTALL_FOLDERS:
                if above and above[-1].casefold() == folder:
                    relative = f"{above.pop()}/{relative}"
            if above and _DRIVE_FOLDER.fullmatch(above[-1]):
                relative = f"{above.pop()}/{relative}"
            server = clean_server_name(above[-1]) if above else None
            return Placement(server, vdir.id, relative)
    if len(folded) >= 3 and tuple(folded[-3:]) == _SITE_ROOT_PARTS:
        above = list(parts[:-3])
        relative = "/".join(parts[-3:])
        if above and _DRIVE_FOLDER.fullmatch(above[-1]):
            relative = f"{above.pop()}/{relative}"
        server = clean_server_name(above[-1]) if above else None
        return Placement(server, FRONT_END_SITE, relative)
    return Placement(None, None, None)


# The `Default Web Site` root, outside the Exchange install tree: `<server>/[C$/]inetpub/wwwroot`.
_SITE_ROOT_PARTS = ("inetpub", "wwwroot", "web.config")


def _identify_healthchecker(parts: tuple[str, ...], file_name: str) -> Placement | None:
    stem = file_name[: -len(_HEALTHCHECKER_SUFFIX)]
    vdir = _BY_HEALTHCHECKER_NAME.get(stem.casefold())
    if vdir is None:
        return None
    above = list(parts[:-1])
    relative = file_name
    if above and above[-1].casefold() == "iis":
        relative = f"{above.pop()}/{relative}"
    server = clean_server_name(above[-1]) if above else None
    return Placement(server, vdir.id, relative)


def _identify_export(path: Path, server_folder: bool | None) -> Placement:
    folder = path.parent
    if folder == path or not folder.name:
        return Placement(None, None, None)
    if server_folder is None:
        try:
            server_folder = is_server_folder(
                child.name
                for child in folder.iterdir()
                if child.name.casefold() in _SERVER_FOLDER_MARKERS and child.is_dir()
            )
        except OSError:
            server_folder = False
    if not server_folder:
        return Placement(None, None, None)
    return Placement(clean_server_name(folder.name), None, path.name)
