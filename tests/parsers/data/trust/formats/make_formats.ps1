# Writes the Format-List, ConvertTo-Json and Export-Csv files of this folder from CLIXML exports,
# with PowerShell 7 (run with TZ=UTC so that dates keep the offset of the samples):
#   pwsh -NoProfile -File make_formats.ps1 -Clixml <export.xml> -Name <base name>
# Import-Clixml gives the deserialised objects a remote Exchange Management Shell gives; their
# SerializationData (the .NET binary form, hundreds of numbers a property in JSON) is removed
# at every level to keep the files small (no reader looks at it), unless -KeepSerializationData.
param([string] $Clixml, [string] $Name, [switch] $KeepSerializationData)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
function Remove-SerializationData($value, $depth) {
    if ($null -eq $value -or $value -is [string] -or $value -is [ValueType] -or $depth -gt 4) { return }
    if ($value -is [System.Collections.IEnumerable]) {
        foreach ($item in $value) { Remove-SerializationData $item ($depth + 1) }
        return
    }
    $value.PSObject.Properties.Remove('SerializationData')
    foreach ($property in @($value.PSObject.Properties)) {
        try { $inner = $property.Value } catch { continue }
        Remove-SerializationData $inner ($depth + 1)
    }
}
$objects = @(Import-Clixml -LiteralPath $Clixml)
if (-not $KeepSerializationData) {
    foreach ($object in $objects) { Remove-SerializationData $object 0 }
}
$objects | Format-List * | Out-File -FilePath "$Name.fl.txt" -Width 80
$objects | ConvertTo-Json -WarningAction SilentlyContinue | Out-File -FilePath "$Name.json"
$objects | Export-Csv -Path "$Name.csv" -NoTypeInformation
