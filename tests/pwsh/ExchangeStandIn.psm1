<#
Stand-ins for the Exchange and IIS commands that auditor's generated scripts call, so the tests
can run those scripts in real PowerShell without Exchange or IIS.

Command names, parameter names, parameter sets, positions and parameter types follow Microsoft's
documentation:
  - office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-PartnerApplication.md
  - office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Set-PartnerApplication.md
  - office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-ExchangeServer.md
  - office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-ManagementRole.md
  - learn.microsoft.com/powershell/module/webadministration/restart-webapppool
  - learn.microsoft.com/powershell/module/webadministration/get-webapppoolstate
Exchange-only parameter types (PartnerApplicationIdParameter, Fqdn, UserIdParameter, ...) are
small classes below that convert from a string, as the real ones do.

Like the implicit-remoting proxies of the Exchange Management Shell, these are functions of a
script module: the calling script's $WhatIfPreference does not reach them, so a script that
calls Set-PartnerApplication outside its own ShouldProcess block really changes the state.

State: a JSON file named by $env:AUDITOR_STANDIN_STATE, prepared and inspected by the test:
  {
    "applications": [{"Name", "ApplicationIdentifier", "ActAsPermissions": [..] | null,
                      "AppOnlyPermissions": [..] | null, "LinkedAccount": str | null,
                      "Enabled": bool}],
    "servers": [{"Name", "Fqdn", "AdminDisplayVersion", "ServerRole", "Edition"}],
    "app_pools": {"<name>": {"state": "Started", "recycles": 0}},
    "omit_app_only_parameter": false,       # Set-PartnerApplication without -AppOnlyPermissions
    "fail_set_partner_application": false,  # Set-PartnerApplication writes an error, changes nothing
    "fail_set_calls": [2],                  # only the 2nd Set-PartnerApplication call fails
    "mangle_set_calls": [1],                # the 1st Set-PartnerApplication call stores the value
                                            # plus 'Mangled.Extra' (the read-back then differs)
    "fail_recycle_calls": [1],              # the 1st Restart-WebAppPool call fails
                                            # (call counters: "set_calls", "recycle_calls")
    "deserialized": false                   # objects as the EMS remote session returns them:
                                            # type names prefixed "Deserialized.", lists as ArrayList
  }
The state is read at every call and written only when a call changes something.
Call log: every call of a stand-in, with its bound parameters, is appended as one JSON line to
$env:AUDITOR_STANDIN_LOG (default: the state path + '.calls.jsonl'):
  {"command": "Set-PartnerApplication", "parameters": {...}, "outcome": "applied" | "whatif" | ...}
#>

Set-StrictMode -Version 3.0

if (-not $env:AUDITOR_STANDIN_STATE) {
    throw 'ExchangeStandIn: set $env:AUDITOR_STANDIN_STATE to the JSON state file before importing.'
}
$script:StatePath = $env:AUDITOR_STANDIN_STATE
$script:LogPath = if ($env:AUDITOR_STANDIN_LOG) { $env:AUDITOR_STANDIN_LOG } else { $script:StatePath + '.calls.jsonl' }
$script:Utf8NoBom = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
$script:DomainController = 'dc01.contoso.com'
$script:OrganizationDn = 'CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com'

# --- Exchange parameter types (stand-ins: each converts from a string or a returned object) -----

class PartnerApplicationIdParameter {
    [string] $RawIdentity
    PartnerApplicationIdParameter([object] $Value) {
        if ($Value -is [string]) {
            $this.RawIdentity = $Value
        } elseif ($null -ne $Value -and $null -ne $Value.PSObject.Properties['ApplicationIdentifier']) {
            $this.RawIdentity = [string] $Value.ApplicationIdentifier
        } else {
            $this.RawIdentity = [string] $Value
        }
    }
    [string] ToString() { return $this.RawIdentity }
}

class ServerIdParameter {
    [string] $RawIdentity
    ServerIdParameter([object] $Value) {
        if ($null -ne $Value -and $Value -isnot [string] -and $null -ne $Value.PSObject.Properties['Name']) {
            $this.RawIdentity = [string] $Value.Name
        } else {
            $this.RawIdentity = [string] $Value
        }
    }
    [string] ToString() { return $this.RawIdentity }
}

class RoleIdParameter {
    [string] $RawIdentity
    RoleIdParameter([string] $Value) { $this.RawIdentity = $Value }
    [string] ToString() { return $this.RawIdentity }
}

class Fqdn {
    [string] $Domain
    Fqdn([string] $Value) { $this.Domain = $Value }
    [string] ToString() { return $this.Domain }
}

class UserIdParameter {
    [string] $RawIdentity
    UserIdParameter([string] $Value) { $this.RawIdentity = $Value }
    [string] ToString() { return $this.RawIdentity }
}

class OrganizationIdParameter {
    [string] $RawIdentity
    OrganizationIdParameter([string] $Value) { $this.RawIdentity = $Value }
    [string] ToString() { return $this.RawIdentity }
}

enum SupportedAccountType {
    OrganizationalAccount
    ConsumerAccount
}

# --- state and call log -----------------------------------------------------------------------

function Read-StandInState {
    $text = [System.IO.File]::ReadAllText($script:StatePath)
    return (ConvertFrom-Json -InputObject $text -AsHashtable -Depth 20)
}

function Write-StandInState {
    param([System.Collections.IDictionary] $State)
    $json = ConvertTo-Json -InputObject $State -Depth 20
    $temporary = $script:StatePath + '.tmp'
    [System.IO.File]::WriteAllText($temporary, $json, $script:Utf8NoBom)
    Move-Item -LiteralPath $temporary -Destination $script:StatePath -Force
}

function ConvertTo-LogValue {
    param([object] $Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.Management.Automation.SwitchParameter]) { return [bool] $Value }
    if ($Value -is [bool] -or $Value -is [int]) { return $Value }
    if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [string]) {
        $items = [System.Collections.Generic.List[object]]::new()
        foreach ($item in $Value) { $items.Add((ConvertTo-LogValue -Value $item)) }
        return , $items.ToArray()
    }
    return [string] $Value
}

function New-StandInCall {
    param([string] $Command, [System.Collections.IDictionary] $Bound)
    $parameters = [ordered]@{}
    foreach ($key in @($Bound.Keys | Sort-Object)) {
        $parameters[$key] = ConvertTo-LogValue -Value $Bound[$key]
    }
    return [ordered]@{ command = $Command; parameters = $parameters; outcome = 'read' }
}

function Write-StandInCall {
    param([System.Collections.IDictionary] $Call)
    $line = (ConvertTo-Json -InputObject $Call -Depth 10 -Compress) + "`n"
    [System.IO.File]::AppendAllText($script:LogPath, $line, $script:Utf8NoBom)
}

function Write-StandInError {
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Message,
        [System.Management.Automation.ErrorCategory] $Category,
        [object] $Target
    )
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @(
        $exception, 'ExchangeStandIn', $Category, $Target)
    $Cmdlet.WriteError($record)
}

# --- partner applications ---------------------------------------------------------------------

function ConvertTo-StringArrayOrNull {
    param([object] $Value, [bool] $Deserialized)
    if ($null -eq $Value) { return $null }
    if ($Deserialized) {
        # A deserialized string[] arrives as an ArrayList.
        $list = New-Object -TypeName System.Collections.ArrayList
        foreach ($item in @($Value)) { [void] $list.Add([string] $item) }
        return , $list
    }
    return , [string[]] @($Value)
}

function ConvertTo-PartnerApplicationObject {
    # The property set (and order) of a real PartnerApplication object, as Format-List shows it.
    param([System.Collections.IDictionary] $Application, [bool] $Deserialized)
    $name = [string] $Application['Name']
    $distinguishedName = 'CN=' + $name + ',CN=Partner Applications,CN=Auth Configuration,' + $script:OrganizationDn
    $guid = if ($Application.Contains('Guid')) { [guid] $Application['Guid'] } else { [guid]::Empty }
    $linked = if ($Application.Contains('LinkedAccount')) { $Application['LinkedAccount'] } else { $null }
    $enabled = if ($Application.Contains('Enabled')) { [bool] $Application['Enabled'] } else { $true }
    # Assignments, not `if` expressions: an `if` would unroll an empty list into $null.
    $actAs = $null
    if ($Application.Contains('ActAsPermissions')) { $actAs = $Application['ActAsPermissions'] }
    $appOnly = $null
    if ($Application.Contains('AppOnlyPermissions')) { $appOnly = $Application['AppOnlyPermissions'] }
    $object = [pscustomobject] [ordered] @{
        PSTypeName                          = 'Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication'
        Enabled                             = $enabled
        ApplicationIdentifier               = [string] $Application['ApplicationIdentifier']
        CertificateStrings                  = [string[]] @()
        AuthMetadataUrl                     = $null
        Realm                               = ''
        UseAuthServer                       = $true
        AcceptSecurityIdentifierInformation = $false
        LinkedAccount                       = $(if ($null -eq $linked) { $null } else { [string] $linked })
        IssuerIdentifier                    = ''
        AccountType                         = 'OrganizationalAccount'
        AppOnlyPermissions                  = (ConvertTo-StringArrayOrNull -Value $appOnly -Deserialized $Deserialized)
        ActAsPermissions                    = (ConvertTo-StringArrayOrNull -Value $actAs -Deserialized $Deserialized)
        AdminDisplayName                    = ''
        ExchangeVersion                     = '0.20 (15.0.0.0)'
        Name                                = $name
        DistinguishedName                   = $distinguishedName
        Identity                            = $name
        Guid                                = $guid
        ObjectCategory                      = 'contoso.com/Configuration/Schema/ms-Exch-Auth-Partner-Application'
        ObjectClass                         = [string[]] @('top', 'msExchAuthPartnerApplication')
        OriginatingServer                   = $script:DomainController
        IsValid                             = $true
        ObjectState                         = 'Unchanged'
    }
    if ($Deserialized) {
        $object.PSObject.TypeNames.Insert(0, 'Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication')
    }
    return $object
}

function Find-StandInApplication {
    # Index of the applications matching an identity (Name, ApplicationIdentifier, DN or Guid).
    param([object[]] $Applications, [string] $Identity)
    $found = [System.Collections.Generic.List[int]]::new()
    for ($index = 0; $index -lt $Applications.Count; $index++) {
        $application = $Applications[$index]
        $name = [string] $application['Name']
        $candidates = @(
            $name,
            [string] $application['ApplicationIdentifier'],
            ('CN=' + $name + ',CN=Partner Applications,CN=Auth Configuration,' + $script:OrganizationDn)
        )
        if ($application.Contains('Guid')) { $candidates += [string] $application['Guid'] }
        if ($candidates -contains $Identity) { $found.Add($index) }
    }
    return , $found.ToArray()
}

function Get-PartnerApplication {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipeline = $true)]
        [PartnerApplicationIdParameter] $Identity,
        [Fqdn] $DomainController,
        [OrganizationIdParameter] $Organization
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-PartnerApplication' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $applications = @($state['applications'])
        $deserialized = $state.Contains('deserialized') -and [bool] $state['deserialized']
        # As documented: $null or no Identity returns every object.
        if ($null -eq $Identity -or [string]::IsNullOrEmpty($Identity.RawIdentity)) {
            foreach ($application in $applications) {
                ConvertTo-PartnerApplicationObject -Application $application -Deserialized $deserialized
            }
            return
        }
        $matched = Find-StandInApplication -Applications $applications -Identity $Identity.RawIdentity
        if ($matched.Count -eq 0) {
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $Identity.RawIdentity -Message (
                "The operation couldn't be performed because object '" + $Identity.RawIdentity +
                "' couldn't be found on '" + $script:DomainController + "'.")
            return
        }
        foreach ($index in $matched) {
            ConvertTo-PartnerApplicationObject -Application $applications[$index] -Deserialized $deserialized
        }
    }
}

$script:SetPartnerApplicationText = @'
function Set-PartnerApplication {
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ACSTrustApplication')]
    param(
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [PartnerApplicationIdParameter] $Identity,
        [Parameter(ParameterSetName = 'ACSTrustApplication')] [string] $ApplicationIdentifier,
        [Parameter(ParameterSetName = 'ACSTrustApplication')] [string] $Realm,
        [Parameter(ParameterSetName = 'AuthMetadataUrl')] [string] $AuthMetadataUrl,
        [Parameter(ParameterSetName = 'AuthMetadataUrl')] [switch] $TrustAnySSLCertificate,
        [Parameter(ParameterSetName = 'RefreshAuthMetadata')] [switch] $RefreshAuthMetadata,
        [bool] $AcceptSecurityIdentifierInformation,
        [SupportedAccountType] $AccountType,
        [string[]] $ActAsPermissions,
        #APP_ONLY_PARAMETER#
        [Fqdn] $DomainController,
        [bool] $Enabled,
        [string] $IssuerIdentifier,
        [UserIdParameter] $LinkedAccount,
        [string] $Name
    )
    process {
        $call = New-StandInCall -Command 'Set-PartnerApplication' -Bound $PSBoundParameters
        $state = Read-StandInState
        $applications = @($state['applications'])
        $matched = Find-StandInApplication -Applications $applications -Identity $Identity.RawIdentity
        if ($matched.Count -ne 1) {
            $call['outcome'] = 'not-found'
            Write-StandInCall -Call $call
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $Identity.RawIdentity -Message (
                "The operation couldn't be performed because object '" + $Identity.RawIdentity +
                "' couldn't be found on '" + $script:DomainController + "'.")
            return
        }
        if (-not $PSCmdlet.ShouldProcess($Identity.RawIdentity, 'Set partner application')) {
            $call['outcome'] = 'whatif'
            Write-StandInCall -Call $call
            return
        }
        $failThisCall = $false
        $mangleThisCall = $false
        if ($state.Contains('fail_set_calls') -or $state.Contains('mangle_set_calls')) {
            $state['set_calls'] = 1 + $(if ($state.Contains('set_calls')) { [int] $state['set_calls'] } else { 0 })
            $failThisCall = $state.Contains('fail_set_calls') -and (@($state['fail_set_calls']) -contains $state['set_calls'])
            $mangleThisCall = $state.Contains('mangle_set_calls') -and (@($state['mangle_set_calls']) -contains $state['set_calls'])
            Write-StandInState -State $state
        }
        if ($failThisCall -or ($state.Contains('fail_set_partner_application') -and $state['fail_set_partner_application'])) {
            $call['outcome'] = 'failed'
            Write-StandInCall -Call $call
            Write-StandInError -Cmdlet $PSCmdlet -Category WriteError -Target $Identity.RawIdentity -Message (
                'Active Directory operation failed on ' + $script:DomainController + '.')
            return
        }
        $application = $applications[$matched[0]]
        foreach ($key in @('ActAsPermissions', 'AppOnlyPermissions')) {
            if ($PSBoundParameters.ContainsKey($key)) {
                $value = $PSBoundParameters[$key]
                $application[$key] = $(if ($null -eq $value) { $null } else { , [string[]] @($value) })
            }
        }
        if ($mangleThisCall) {
            # The value read back is not the value set (a replication race, a policy agent).
            $application['AppOnlyPermissions'] = , [string[]] @(@($application['AppOnlyPermissions']) + @('Mangled.Extra') | Where-Object { $null -ne $_ })
        }
        foreach ($key in @('Enabled', 'Name', 'ApplicationIdentifier')) {
            if ($PSBoundParameters.ContainsKey($key)) { $application[$key] = $PSBoundParameters[$key] }
        }
        if ($PSBoundParameters.ContainsKey('LinkedAccount')) {
            $application['LinkedAccount'] = $(if ($null -eq $LinkedAccount) { $null } else { $LinkedAccount.RawIdentity })
        }
        Write-StandInState -State $state
        $call['outcome'] = 'applied'
        Write-StandInCall -Call $call
    }
}
'@

# Builds and roles without -AppOnlyPermissions: the parameter does not exist at all, so
# (Get-Command Set-PartnerApplication).Parameters.ContainsKey('AppOnlyPermissions') is false.
$script:InitialState = Read-StandInState
$script:OmitAppOnly = $script:InitialState.Contains('omit_app_only_parameter') -and [bool] $script:InitialState['omit_app_only_parameter']
$script:AppOnlyParameterText = if ($script:OmitAppOnly) { '' } else { '[string[]] $AppOnlyPermissions,' }
. ([scriptblock]::Create($script:SetPartnerApplicationText.Replace('#APP_ONLY_PARAMETER#', $script:AppOnlyParameterText)))

# --- servers and management roles -------------------------------------------------------------

function Get-ExchangeServer {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline = $true)]
        [ServerIdParameter] $Identity,
        [Parameter(ParameterSetName = 'Domain', Mandatory = $true)]
        [Fqdn] $Domain,
        [Fqdn] $DomainController,
        [switch] $Status
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-ExchangeServer' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $servers = if ($state.Contains('servers')) { @($state['servers']) } else { @() }
        $wanted = if ($null -ne $Identity) { $Identity.RawIdentity } else { $null }
        $emitted = 0
        foreach ($server in $servers) {
            $name = [string] $server['Name']
            $fqdn = [string] $server['Fqdn']
            if ($null -ne $wanted -and $name -ne $wanted -and $fqdn -ne $wanted) { continue }
            $emitted++
            [pscustomobject] [ordered] @{
                PSTypeName          = 'Microsoft.Exchange.Data.Directory.Management.ExchangeServer'
                Name                = $name
                Fqdn                = $fqdn
                Edition             = [string] $server['Edition']
                AdminDisplayVersion = [string] $server['AdminDisplayVersion']
                ServerRole          = [string] $server['ServerRole']
                Site                = 'contoso.com/Configuration/Sites/Default-First-Site-Name'
                IsClientAccessServer = $true
                IsMailboxServer     = $true
                Identity            = $name
            }
        }
        if ($null -ne $wanted -and $emitted -eq 0) {
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $wanted -Message (
                "The operation couldn't be performed because object '" + $wanted +
                "' couldn't be found on '" + $script:DomainController + "'.")
        }
    }
}

function Get-ManagementRole {
    # RoleType is an Exchange enum (RoleType); a string here.
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline = $true)]
        [Parameter(ParameterSetName = 'Script', Position = 0, ValueFromPipeline = $true)]
        [Parameter(ParameterSetName = 'GetChildren', Position = 0, ValueFromPipeline = $true, Mandatory = $true)]
        [Parameter(ParameterSetName = 'Recurse', Position = 0, ValueFromPipeline = $true, Mandatory = $true)]
        [RoleIdParameter] $Identity,
        [Parameter(ParameterSetName = 'Identity')] [string] $Cmdlet,
        [Parameter(ParameterSetName = 'Identity')] [string[]] $CmdletParameters,
        [Parameter(ParameterSetName = 'Script')] [string] $Script,
        [Parameter(ParameterSetName = 'Script')] [string[]] $ScriptParameters,
        [Parameter(ParameterSetName = 'GetChildren', Mandatory = $true)] [switch] $GetChildren,
        [Parameter(ParameterSetName = 'Recurse', Mandatory = $true)] [switch] $Recurse,
        [Fqdn] $DomainController,
        [string] $RoleType
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-ManagementRole' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $omit = $state.Contains('omit_app_only_parameter') -and [bool] $state['omit_app_only_parameter']
        if ($PSBoundParameters.ContainsKey('CmdletParameters') -and $omit -and ($CmdletParameters -contains 'AppOnlyPermissions')) {
            return
        }
        [pscustomobject] [ordered] @{
            PSTypeName = 'Microsoft.Exchange.Data.Directory.SystemConfiguration.ExchangeRole'
            Name       = 'Organization Client Access'
            RoleType   = 'OrganizationClientAccess'
        }
    }
}

# --- the hybrid OAuth trust (read-only) ---------------------------------------------------------
# State (all optional): "auth_servers", "setting_overrides", "hybrid_configuration",
# "intra_organization_connectors", "organization_relationships": lists of property dictionaries;
# "auth_config", "organization_config": one dictionary; "certificates": {"<server>": [{"RawData":
# base64 DER, "Services", "Status", "PrivateKeyExportable", "PublicKeySize"}]}; "variant_overrides":
# {"<server>": "<Diagnostics> XML text"}; "fail_commands": ["Get-AuthServer", ...] (each writes an
# error); "omit_commands": [...] (not exported at all: an Exchange build without the command).
# The properties are the test's to give, in the documented shape (notes section 2); the stand-in
# adds the Exchange type name.

function ConvertTo-StandInTrustObject {
    param([System.Collections.IDictionary] $Values, [string] $TypeName, [bool] $Deserialized)
    $properties = [ordered]@{}
    foreach ($key in $Values.Keys) { $properties[$key] = $Values[$key] }
    $object = [pscustomobject] $properties
    $object.PSObject.TypeNames.Insert(0, $TypeName)
    if ($Deserialized) { $object.PSObject.TypeNames.Insert(0, 'Deserialized.' + $TypeName) }
    return $object
}

function Read-StandInTrust {
    # The objects of one state key, or the documented error when the test makes the command fail.
    param([System.Management.Automation.PSCmdlet] $Cmdlet, [string] $Command, [string] $Key, [string] $TypeName)
    $state = Read-StandInState
    if ($state.Contains('fail_commands') -and (@($state['fail_commands']) -contains $Command)) {
        Write-StandInError -Cmdlet $Cmdlet -Category ReadError -Target $Command -Message (
            'Active Directory server ' + $script:DomainController + ' is not available.')
        return
    }
    if (-not $state.Contains($Key) -or $null -eq $state[$Key]) { return }
    $deserialized = $state.Contains('deserialized') -and [bool] $state['deserialized']
    $values = $state[$Key]
    if ($values -is [System.Collections.IDictionary]) { $values = @(, $values) }
    foreach ($item in @($values)) {
        ConvertTo-StandInTrustObject -Values $item -TypeName $TypeName -Deserialized $deserialized
    }
}

function Get-AuthServer {
    # With -Identity, the AuthServer of that Name when one exists; as Get-AuthServer.md cautions,
    # a non-existent Identity returns every AuthServer.
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline = $true)] [string] $Identity, [Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-AuthServer' -Bound $PSBoundParameters)
        $all = @(Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-AuthServer' -Key 'auth_servers' -TypeName 'Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer')
        $named = @($all | Where-Object { [string] $_.Name -eq $Identity })
        if ([string]::IsNullOrEmpty($Identity) -or $named.Count -eq 0) { return $all }
        return $named
    }
}

# Set-AuthServer (Set-AuthServer.md) changes the state's "auth_servers" entry whose Name is the
# Identity: -ApplicationIdentifier and -Enabled. "mangle_authserver_calls": [1]
# stores a different value for the 1st applied call (the read-back then differs); a command in
# "fail_commands" writes an error and changes nothing.
function Set-AuthServer {
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Identity,
        [string] $ApplicationIdentifier,
        [string] $AuthMetadataUrl,
        [Fqdn] $DomainController,
        [string[]] $DomainName,
        [bool] $Enabled,
        [bool] $IsDefaultAuthorizationEndpoint,
        [string] $Name,
        [switch] $RefreshAuthMetadata,
        [switch] $TrustAnySSLCertificate
    )
    $call = New-StandInCall -Command 'Set-AuthServer' -Bound $PSBoundParameters
    $state = Read-StandInState
    if ($state.Contains('fail_commands') -and (@($state['fail_commands']) -contains 'Set-AuthServer')) {
        $call['outcome'] = 'failed'
        Write-StandInCall -Call $call
        Write-StandInError -Cmdlet $PSCmdlet -Category WriteError -Target $Identity -Message ('Active Directory server ' + $script:DomainController + ' is not available.')
        return
    }
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Set-AuthServer')) {
        $call['outcome'] = 'whatif'
        Write-StandInCall -Call $call
        return
    }
    $target = $null
    foreach ($item in @($state['auth_servers'])) { if ([string] $item['Name'] -eq $Identity) { $target = $item } }
    if ($null -eq $target) {
        $call['outcome'] = 'failed'
        Write-StandInCall -Call $call
        Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $Identity -Message ("The operation couldn't be performed because object '" + $Identity + "' couldn't be found on '" + $script:DomainController + "'.")
        return
    }
    $count = if ($state.Contains('authserver_calls')) { [int] $state['authserver_calls'] + 1 } else { 1 }
    $state['authserver_calls'] = $count
    $mangle = $state.Contains('mangle_authserver_calls') -and (@($state['mangle_authserver_calls']) -contains $count)
    if ($PSBoundParameters.ContainsKey('ApplicationIdentifier')) {
        $target['ApplicationIdentifier'] = if ($mangle) { '00000002-0000-0ff1-ce00-000000000000' } else { $ApplicationIdentifier }
    }
    if ($PSBoundParameters.ContainsKey('Enabled')) {
        $target['Enabled'] = if ($mangle) { -not $Enabled } else { $Enabled }
    }
    Write-StandInState -State $state
    $call['outcome'] = 'applied'
    Write-StandInCall -Call $call
}

function Get-AuthConfig {
    [CmdletBinding()]
    param([Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-AuthConfig' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-AuthConfig' -Key 'auth_config' -TypeName 'Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthConfig'
    }
}

function Get-SettingOverride {
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline = $true)] [string] $Identity, [Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-SettingOverride' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-SettingOverride' -Key 'setting_overrides' -TypeName 'Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigurationSettings.SettingOverride'
    }
}

# New-, Set- and Remove-SettingOverride (New-SettingOverride.md, Set-SettingOverride.md,
# Remove-SettingOverride.md) change the state's "setting_overrides" list; Identity is the
# override's Name. Set-SettingOverride changes only what is bound: -Parameters, -Server
# (String[]; $null clears it: the override applies to every server), -MinVersion and -MaxVersion
# (Version, stored as its string; $null clears it). "mangle_override_calls": [1] stores
# 'Mangled=1' for the 1st changing call (the read-back then differs); a command in
# "fail_commands" writes an error, changes nothing.

function Find-StandInOverride {
    param([System.Collections.IDictionary] $State, [string] $Identity)
    if (-not $State.Contains('setting_overrides') -or $null -eq $State['setting_overrides']) { return -1 }
    $list = @($State['setting_overrides'])
    for ($index = 0; $index -lt $list.Count; $index++) {
        if ([string] $list[$index]['Name'] -eq $Identity) { return $index }
    }
    return -1
}

function Invoke-StandInOverrideChange {
    # Applies one changing call (the callback edits the list) unless it fails or is -WhatIf.
    param([System.Management.Automation.PSCmdlet] $Cmdlet, [System.Collections.IDictionary] $Call, [string] $Target, [scriptblock] $Change)
    $state = Read-StandInState
    if ($state.Contains('fail_commands') -and (@($state['fail_commands']) -contains $Call['command'])) {
        $Call['outcome'] = 'failed'
        Write-StandInCall -Call $Call
        Write-StandInError -Cmdlet $Cmdlet -Category WriteError -Target $Target -Message ('Active Directory server ' + $script:DomainController + ' is not available.')
        return
    }
    if (-not $Cmdlet.ShouldProcess($Target, $Call['command'])) {
        $Call['outcome'] = 'whatif'
        Write-StandInCall -Call $Call
        return
    }
    $count = if ($state.Contains('override_calls')) { [int] $state['override_calls'] + 1 } else { 1 }
    $state['override_calls'] = $count
    $mangle = $state.Contains('mangle_override_calls') -and (@($state['mangle_override_calls']) -contains $count)
    $list = [System.Collections.Generic.List[object]]::new()
    if ($state.Contains('setting_overrides') -and $null -ne $state['setting_overrides']) {
        foreach ($item in @($state['setting_overrides'])) { $list.Add($item) }
    }
    $message = & $Change $list $mangle
    if ($null -ne $message) {
        $Call['outcome'] = 'failed'
        Write-StandInCall -Call $Call
        Write-StandInError -Cmdlet $Cmdlet -Category ObjectNotFound -Target $Target -Message $message
        return
    }
    $state['setting_overrides'] = $list.ToArray()
    Write-StandInState -State $state
    $Call['outcome'] = 'applied'
    Write-StandInCall -Call $Call
}

function New-SettingOverride {
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $Component,
        [Parameter(Mandatory = $true)] [string[]] $Parameters,
        [Parameter(Mandatory = $true)] [string] $Reason,
        [Parameter(Mandatory = $true)] [string] $Section,
        [Fqdn] $DomainController,
        [string] $MaxVersion,
        [string] $MinVersion,
        [string[]] $Server
    )
    $call = New-StandInCall -Command 'New-SettingOverride' -Bound $PSBoundParameters
    Invoke-StandInOverrideChange -Cmdlet $PSCmdlet -Call $call -Target $Name -Change {
        param($list, $mangle)
        foreach ($item in $list) { if ([string] $item['Name'] -eq $Name) { return ("The setting override '" + $Name + "' already exists.") } }
        $values = if ($mangle) { @($Parameters) + 'Mangled=1' } else { @($Parameters) }
        $minimum = if ([string]::IsNullOrEmpty($MinVersion)) { $null } else { $MinVersion }
        $maximum = if ([string]::IsNullOrEmpty($MaxVersion)) { $null } else { $MaxVersion }
        $entry = [ordered]@{ Name = $Name; ComponentName = $Component; SectionName = $Section; Parameters = [string[]] $values; Reason = $Reason; Server = $Server; MinVersion = $minimum; MaxVersion = $maximum; Status = 'Accepted' }
        $list.Add($entry)
        return $null
    }
}

function Set-SettingOverride {
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Identity,
        [string[]] $Parameters,
        [string] $Reason,
        [Fqdn] $DomainController,
        [System.Version] $MaxVersion,
        [System.Version] $MinVersion,
        [string[]] $Server
    )
    $call = New-StandInCall -Command 'Set-SettingOverride' -Bound $PSBoundParameters
    $bound = $PSBoundParameters
    Invoke-StandInOverrideChange -Cmdlet $PSCmdlet -Call $call -Target $Identity -Change {
        param($list, $mangle)
        foreach ($item in $list) {
            if ([string] $item['Name'] -eq $Identity) {
                if ($bound.ContainsKey('Parameters')) { $item['Parameters'] = [string[]] @($Parameters) }
                if ($mangle) { $item['Parameters'] = [string[]] (@($item['Parameters']) + 'Mangled=1') }
                if ($bound.ContainsKey('Server')) {
                    $item['Server'] = $null
                    if ($null -ne $Server) { $item['Server'] = [string[]] @($Server) }
                }
                foreach ($label in @('MinVersion', 'MaxVersion')) {
                    if ($bound.ContainsKey($label)) {
                        $version = $bound[$label]
                        $item[$label] = if ($null -eq $version) { $null } else { $version.ToString() }
                    }
                }
                return $null
            }
        }
        return ("The operation couldn't be performed because object '" + $Identity + "' couldn't be found on '" + $script:DomainController + "'.")
    }
}

function Remove-SettingOverride {
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Identity,
        [Fqdn] $DomainController
    )
    $call = New-StandInCall -Command 'Remove-SettingOverride' -Bound $PSBoundParameters
    Invoke-StandInOverrideChange -Cmdlet $PSCmdlet -Call $call -Target $Identity -Change {
        param($list, $mangle)
        for ($index = 0; $index -lt $list.Count; $index++) {
            if ([string] $list[$index]['Name'] -eq $Identity) { $list.RemoveAt($index); return $null }
        }
        return ("The operation couldn't be performed because object '" + $Identity + "' couldn't be found on '" + $script:DomainController + "'.")
    }
}

function Get-HybridConfiguration {
    [CmdletBinding()]
    param([Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-HybridConfiguration' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-HybridConfiguration' -Key 'hybrid_configuration' -TypeName 'Microsoft.Exchange.Data.Directory.SystemConfiguration.HybridConfiguration'
    }
}

function Get-IntraOrganizationConnector {
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline = $true)] [string] $Identity, [Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-IntraOrganizationConnector' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-IntraOrganizationConnector' -Key 'intra_organization_connectors' -TypeName 'Microsoft.Exchange.Data.Directory.Management.IntraOrganizationConnector'
    }
}

function Get-OrganizationRelationship {
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline = $true)] [string] $Identity, [Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-OrganizationRelationship' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-OrganizationRelationship' -Key 'organization_relationships' -TypeName 'Microsoft.Exchange.Data.Directory.Management.OrganizationRelationship'
    }
}

function Get-OrganizationConfig {
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline = $true)] [string] $Identity, [Fqdn] $DomainController)
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-OrganizationConfig' -Bound $PSBoundParameters)
        Read-StandInTrust -Cmdlet $PSCmdlet -Command 'Get-OrganizationConfig' -Key 'organization_config' -TypeName 'Microsoft.Exchange.Data.Directory.Management.OrganizationConfig'
    }
}

function Get-ExchangeCertificate {
    # An ExchangeCertificate derives from X509Certificate2: a real certificate from the state's
    # DER, with Exchange's own properties added.
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline = $true)] [string] $Identity,
        [Parameter(ParameterSetName = 'Thumbprint')] [string] $Thumbprint,
        [Parameter(ParameterSetName = 'Thumbprint')] [ServerIdParameter] $Server,
        [Fqdn] $DomainController
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-ExchangeCertificate' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $name = if ($null -ne $Server) { $Server.RawIdentity } else { $env:COMPUTERNAME }
        $failing = $state.Contains('fail_commands') -and (@($state['fail_commands']) -contains 'Get-ExchangeCertificate')
        if ($failing -or -not $state.Contains('certificates') -or -not $state['certificates'].Contains($name)) {
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $name -Message (
                "The operation couldn't be performed because object '" + $name + "' couldn't be found on '" + $script:DomainController + "'.")
            return
        }
        foreach ($entry in @($state['certificates'][$name])) {
            $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new([Convert]::FromBase64String([string] $entry['RawData']))
            foreach ($key in @('Services', 'Status', 'PrivateKeyExportable', 'PublicKeySize')) {
                if ($entry.Contains($key)) { Add-Member -InputObject $certificate -MemberType NoteProperty -Name $key -Value $entry[$key] -Force }
            }
            $certificate.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate')
            $certificate
        }
    }
}

function Get-ExchangeDiagnosticInfo {
    [CmdletBinding()]
    param(
        [ServerIdParameter] $Server,
        [string] $Process,
        [string] $Component,
        [string] $Argument,
        [switch] $Unlimited
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-ExchangeDiagnosticInfo' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $name = if ($null -ne $Server) { $Server.RawIdentity } else { $env:COMPUTERNAME }
        $failing = $state.Contains('fail_commands') -and (@($state['fail_commands']) -contains 'Get-ExchangeDiagnosticInfo')
        if ($failing -or -not $state.Contains('variant_overrides') -or -not $state['variant_overrides'].Contains($name)) {
            Write-StandInError -Cmdlet $PSCmdlet -Category ResourceUnavailable -Target $name -Message (
                'The diagnostic endpoint of process ' + $Process + ' on ' + $name + ' is not available.')
            return
        }
        ConvertTo-StandInTrustObject -TypeName 'Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult' -Deserialized $false -Values ([ordered]@{
            Result = [string] $state['variant_overrides'][$name]; Identity = $null; IsValid = $true; ObjectState = 'New' })
    }
}

# --- IIS (WebAdministration) ------------------------------------------------------------------

function Get-StandInAppPool {
    param([System.Collections.IDictionary] $State, [string] $Name)
    if (-not $State.Contains('app_pools')) { $State['app_pools'] = [ordered]@{} }
    $pools = $State['app_pools']
    if (-not $pools.Contains($Name)) { return $null }
    return $pools[$Name]
}

function Restart-WebAppPool {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = $true)]
        [string] $Name
    )
    process {
        $call = New-StandInCall -Command 'Restart-WebAppPool' -Bound $PSBoundParameters
        $state = Read-StandInState
        $pool = Get-StandInAppPool -State $state -Name $Name
        if ($null -eq $pool) {
            $call['outcome'] = 'not-found'
            Write-StandInCall -Call $call
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $Name -Message (
                "Cannot find path 'IIS:\AppPools\" + $Name + "' because it does not exist.")
            return
        }
        if ($state.Contains('fail_recycle_calls')) {
            $state['recycle_calls'] = 1 + $(if ($state.Contains('recycle_calls')) { [int] $state['recycle_calls'] } else { 0 })
            Write-StandInState -State $state
            if (@($state['fail_recycle_calls']) -contains $state['recycle_calls']) {
                $call['outcome'] = 'failed'
                Write-StandInCall -Call $call
                Write-StandInError -Cmdlet $PSCmdlet -Category InvalidOperation -Target $Name -Message (
                    'The service cannot accept control messages at this time (IIS:\AppPools\' + $Name + ').')
                return
            }
        }
        $pool['recycles'] = [int] $pool['recycles'] + 1
        Write-StandInState -State $state
        $call['outcome'] = 'applied'
        Write-StandInCall -Call $call
    }
}

function Get-WebAppPoolState {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = $true)]
        [string] $Name
    )
    process {
        Write-StandInCall -Call (New-StandInCall -Command 'Get-WebAppPoolState' -Bound $PSBoundParameters)
        $state = Read-StandInState
        $pool = Get-StandInAppPool -State $state -Name $Name
        if ($null -eq $pool) {
            Write-StandInError -Cmdlet $PSCmdlet -Category ObjectNotFound -Target $Name -Message (
                "Cannot find path 'IIS:\AppPools\" + $Name + "' because it does not exist.")
            return
        }
        [pscustomobject] [ordered] @{ Name = $Name; Value = [string] $pool['state'] }
    }
}

$script:Omitted = if ($script:InitialState.Contains('omit_commands')) { @($script:InitialState['omit_commands']) } else { @() }
Export-ModuleMember -Function @(@(
    'Get-PartnerApplication',
    'Set-PartnerApplication',
    'Get-ExchangeServer',
    'Get-ManagementRole',
    'Restart-WebAppPool',
    'Get-WebAppPoolState',
    'Get-AuthServer',
    'Set-AuthServer',
    'Get-AuthConfig',
    'Get-SettingOverride',
    'New-SettingOverride',
    'Set-SettingOverride',
    'Remove-SettingOverride',
    'Get-HybridConfiguration',
    'Get-IntraOrganizationConnector',
    'Get-OrganizationRelationship',
    'Get-OrganizationConfig',
    'Get-ExchangeCertificate',
    'Get-ExchangeDiagnosticInfo'
) | Where-Object { $script:Omitted -notcontains $_ })
