<#
Runs the steps of one story in ONE pwsh process: every step runs a generated script (with the
Exchange stand-in module imported once), and the files, stand-in state, call log and backup
folder are recorded before and after it, so a test sees each step as if it had its own process.

Input: -ManifestPath, a JSON file
  {"module": "<ExchangeStandIn.psm1>", "state_path", "log_path", "backup_dir",
   "watch": ["<file>", ...],                       # files recorded before and after each step
   "steps": [{"label", "script",
              "parameters": {"Name": value},        # splatted: strings, true/false for switches
              "env": {"NAME": "value"},             # environment for this step
              "before": [{"op": "write", "path", "base64"} | {"op": "remove", "path"}
                         | {"op": "mkdir", "path"}]}]}
Output: -OutputPath, a JSON file with one record per step:
  {"label", "exit_code", "output", "error", "calls": [json lines], "files_before", "files_after",
   "state_before", "state_after", "backups_after": {"name": base64}}
Output is the host transcript of the step (what an operator sees, "What if:" lines included);
a terminating error is "error" and exit code 1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $ManifestPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)

$ErrorActionPreference = 'Stop'
$manifest = Get-Content -LiteralPath $ManifestPath -Raw | ConvertFrom-Json
$env:AUDITOR_STANDIN_STATE = [string] $manifest.state_path
$env:AUDITOR_STANDIN_LOG = [string] $manifest.log_path
$PSStyle.OutputRendering = 'PlainText'
Import-Module -Name ([string] $manifest.module) -ErrorAction Stop

function Get-Snapshot {
    param([string[]] $Paths)
    $snapshot = [ordered]@{}
    foreach ($path in $Paths) {
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $snapshot[$path] = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($path))
        }
        else {
            $snapshot[$path] = $null
        }
    }
    return $snapshot
}

function Get-Backups {
    param([string] $Folder)
    $found = [ordered]@{}
    if (Test-Path -LiteralPath $Folder -PathType Container) {
        foreach ($file in @(Get-ChildItem -LiteralPath $Folder -File | Sort-Object -Property Name)) {
            if ($file.Name.EndsWith('.log')) { continue }
            $found[$file.Name] = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($file.FullName))
        }
    }
    return $found
}

function Get-LogLineCount {
    if (-not (Test-Path -LiteralPath $env:AUDITOR_STANDIN_LOG)) { return 0 }
    return @([System.IO.File]::ReadAllLines($env:AUDITOR_STANDIN_LOG)).Count
}

$watch = @($manifest.watch | ForEach-Object { [string] $_ })
$results = New-Object -TypeName 'System.Collections.Generic.List[object]'
$index = 0
foreach ($step in @($manifest.steps)) {
    $index++
    foreach ($operation in @($step.before)) {
        if ($null -eq $operation) { continue }
        switch ([string] $operation.op) {
            'write' {
                [void] [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName([string] $operation.path))
                [System.IO.File]::WriteAllBytes([string] $operation.path, [System.Convert]::FromBase64String([string] $operation.base64))
            }
            'remove' { Remove-Item -LiteralPath ([string] $operation.path) -Recurse -Force }
            'mkdir' { [void] [System.IO.Directory]::CreateDirectory([string] $operation.path) }
            default { throw ('unknown operation ' + $operation.op) }
        }
    }
    if ($null -ne $step.env) {
        foreach ($property in $step.env.PSObject.Properties) {
            [System.Environment]::SetEnvironmentVariable($property.Name, [string] $property.Value)
        }
    }
    $record = [ordered]@{
        label = [string] $step.label
        files_before = Get-Snapshot -Paths $watch
        state_before = [System.IO.File]::ReadAllText($env:AUDITOR_STANDIN_STATE)
    }
    $callsBefore = Get-LogLineCount
    $log = Join-Path -Path ([System.IO.Path]::GetDirectoryName($OutputPath)) -ChildPath ('step-' + $index + '.log')
    $parameters = @{}
    if ($null -ne $step.parameters) {
        foreach ($property in $step.parameters.PSObject.Properties) { $parameters[$property.Name] = $property.Value }
    }
    $script = [string] $step.script
    $errorText = ''
    $exitCode = 0
    Start-Transcript -LiteralPath $log -UseMinimalHeader | Out-Null
    try {
        & $script @parameters | Out-Host
    }
    catch {
        $errorText = $_.Exception.Message
        $exitCode = 1
    }
    finally {
        Stop-Transcript | Out-Null
    }
    $lines = @([System.IO.File]::ReadAllLines($log))
    # Drop the transcript's own header and footer (lines of asterisks and what they enclose).
    $kept = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $inHeader = $false
    foreach ($line in $lines) {
        if ($line.StartsWith('**********')) { $inHeader = -not $inHeader; continue }
        if ($inHeader) { continue }
        if ($line.StartsWith('Transcript started, output file is')) { continue }
        $kept.Add($line)
    }
    $allCalls = @()
    if (Test-Path -LiteralPath $env:AUDITOR_STANDIN_LOG) { $allCalls = @([System.IO.File]::ReadAllLines($env:AUDITOR_STANDIN_LOG)) }
    $record['exit_code'] = $exitCode
    $record['output'] = ($kept -join "`n")
    $record['error'] = $errorText
    $record['calls'] = @($allCalls | Select-Object -Skip $callsBefore)
    $record['files_after'] = Get-Snapshot -Paths $watch
    $record['state_after'] = [System.IO.File]::ReadAllText($env:AUDITOR_STANDIN_STATE)
    $record['backups_after'] = Get-Backups -Folder ([string] $manifest.backup_dir)
    $results.Add($record)
}
$json = ConvertTo-Json -InputObject $results.ToArray() -Depth 6
[System.IO.File]::WriteAllText($OutputPath, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
