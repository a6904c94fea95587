<#
Evaluates a file of PowerShell literals ($values = @(...), written by harness.values_file_text)
and writes each value's UTF-16 code units as 4-digit hex, in order, to a JSON array.

Before anything is dot-sourced, lint51.ps1 checks the file in "values" mode in this same process:
when the file holds anything but literals (a command, a variable, an expandable string, ...),
nothing is evaluated, the lint result is written to -LintOutputPath and the exit code is 3.
#>
param(
    [Parameter(Mandatory = $true)] [string] $ManifestPath,
    [Parameter(Mandatory = $true)] [string] $LintOutputPath,
    [Parameter(Mandatory = $true)] [string] $ValuesPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

& (Join-Path -Path $PSScriptRoot -ChildPath 'lint51.ps1') -ManifestPath $ManifestPath -OutputPath $LintOutputPath
$lint = @(Get-Content -LiteralPath $LintOutputPath -Raw | ConvertFrom-Json)
foreach ($result in $lint) {
    if (@($result.parse_errors).Count -gt 0 -or @($result.violations).Count -gt 0) {
        exit 3
    }
}

. $ValuesPath
$encoded = New-Object -TypeName 'System.Collections.Generic.List[string]'
foreach ($value in $values) {
    if ($value -isnot [string]) {
        $encoded.Add('NOT-A-STRING:' + $value.GetType().FullName)
        continue
    }
    $builder = New-Object -TypeName System.Text.StringBuilder
    foreach ($unit in $value.ToCharArray()) { [void] $builder.Append(([int] $unit).ToString('x4')) }
    $encoded.Add($builder.ToString())
}
$json = ConvertTo-Json -InputObject $encoded.ToArray() -Compress
$utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
[System.IO.File]::WriteAllText($OutputPath, $json, $utf8)
