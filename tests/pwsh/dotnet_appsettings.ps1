# The effective OAuthHttpModule.Profiles of each file, read by .NET's own configuration system
# (System.Configuration.ConfigurationManager: KeyValueConfigurationCollection, keys compared
# OrdinalIgnoreCase, add/remove/clear in document order), not by any code of auditor.
# Writes a JSON object: file path -> the value, or null when the key has no effective add,
# or "ERROR: <message>" when .NET refuses the file.
param(
    [Parameter(Mandatory = $true)] [string] $ListPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Configuration.ConfigurationManager
$result = [ordered]@{}
foreach ($path in [System.IO.File]::ReadAllLines($ListPath)) {
    if ($path -eq '') {
        continue
    }
    try {
        $map = New-Object -TypeName System.Configuration.ExeConfigurationFileMap
        $map.ExeConfigFilename = $path
        $configuration = [System.Configuration.ConfigurationManager]::OpenMappedExeConfiguration($map, [System.Configuration.ConfigurationUserLevel]::None)
        $setting = $configuration.AppSettings.Settings['OAuthHttpModule.Profiles']
        if ($null -eq $setting) {
            $result[$path] = $null
        }
        else {
            $result[$path] = $setting.Value
        }
    }
    catch {
        $result[$path] = 'ERROR: ' + $_.Exception.Message
    }
}
[System.IO.File]::WriteAllText($OutputPath, (ConvertTo-Json -InputObject $result -Depth 3), (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
