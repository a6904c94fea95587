# For each CLIXML file listed in -ListFile (one path a line): Import-Clixml, then every object or
# dictionary at any depth (lists, dictionary values, properties) with an ApplicationIdentifier
# and a permission property. Prints one JSON object: path -> {apps: [...]} or {error: "..."}.
# Used by tests/parsers/test_clixml_differential.py.
param([string] $ListFile)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
function Get-Names($value) {
    if ($null -eq $value) { return ,([string[]] @()) }
    if ($value -is [string]) { return ,([string[]] @($value)) }
    $names = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($item in $value) { $names.Add([string] $item) }
    return ,($names.ToArray())
}
function Find-Apps($value, $found, $seen, $depth) {
    if ($null -eq $value -or $value -is [string] -or $value -is [ValueType] -or $depth -gt 60) { return }
    if ($seen.Contains($value)) { return }
    [void] $seen.Add($value)
    if ($value -is [System.Collections.IDictionary]) {
        $keys = @($value.Keys | ForEach-Object { [string] $_ })
        if (($keys -contains 'ApplicationIdentifier') -and (($keys -contains 'ActAsPermissions') -or ($keys -contains 'AppOnlyPermissions'))) {
            $found.Add([ordered]@{ name = [string] $value['Name']; id = [string] $value['ApplicationIdentifier']; act_as = (Get-Names $value['ActAsPermissions']); app_only = (Get-Names $value['AppOnlyPermissions']) })
            return
        }
        foreach ($item in $value.Values) { Find-Apps $item $found $seen ($depth + 1) }
        return
    }
    $properties = $value.PSObject.Properties
    if ($null -ne $properties['ApplicationIdentifier'] -and ($null -ne $properties['ActAsPermissions'] -or $null -ne $properties['AppOnlyPermissions'])) {
        $actAs = if ($null -ne $properties['ActAsPermissions']) { $value.ActAsPermissions } else { $null }
        $appOnly = if ($null -ne $properties['AppOnlyPermissions']) { $value.AppOnlyPermissions } else { $null }
        $name = if ($null -ne $properties['Name']) { [string] $value.Name } else { '' }
        $found.Add([ordered]@{ name = $name; id = [string] $value.ApplicationIdentifier; act_as = (Get-Names $actAs); app_only = (Get-Names $appOnly) })
        return
    }
    if ($value -is [System.Collections.IEnumerable]) {
        foreach ($item in $value) { Find-Apps $item $found $seen ($depth + 1) }
    }
    foreach ($property in @($properties | Where-Object { $_.MemberType -eq 'NoteProperty' -or $_.MemberType -eq 'Property' })) {
        try { $inner = $property.Value } catch { continue }
        Find-Apps $inner $found $seen ($depth + 1)
    }
}
$results = [ordered]@{}
foreach ($file in (Get-Content -LiteralPath $ListFile -Encoding UTF8)) {
    try {
        $imported = Import-Clixml -LiteralPath $file
        $found = New-Object -TypeName 'System.Collections.Generic.List[object]'
        $seen = New-Object -TypeName 'System.Collections.Generic.HashSet[object]' -ArgumentList ([System.Collections.Generic.ReferenceEqualityComparer]::Instance)
        foreach ($value in @($imported)) { Find-Apps $value $found $seen 0 }
        $results[$file] = [ordered]@{ apps = $found.ToArray() }
    }
    catch {
        $results[$file] = [ordered]@{ error = $_.Exception.Message }
    }
}
$results | ConvertTo-Json -Depth 8 -Compress
