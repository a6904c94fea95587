# $apps stands for Get-PartnerApplication in a remote Exchange Management Shell: deserialized
# PartnerApplication objects (Import-Clixml gives exactly those).
$apps = Import-Clixml ./seed.xml
$apps | Select-Object Name, ApplicationIdentifier, Enabled, ActAsPermissions, AppOnlyPermissions | Export-Clixml ./selected-pscustomobject.xml
Export-Clixml -InputObject $apps -Path ./inputobject-object-array.xml
,$apps | Export-Clixml ./comma-object-array.xml
$apps | ConvertTo-Json -Depth 4 | ConvertFrom-Json | Export-Clixml ./convertfrom-json.xml
$byName = @{}; foreach ($app in $apps) { $byName[$app.Name] = $app }; $byName | Export-Clixml ./hashtable-of-apps.xml
$apps | ForEach-Object { @{ Name = $_.Name; ApplicationIdentifier = $_.ApplicationIdentifier; ActAsPermissions = $_.ActAsPermissions; AppOnlyPermissions = $_.AppOnlyPermissions } } | Export-Clixml ./hashtables.xml
[pscustomobject]@{ Name = 'not an application'; Count = 3 } | Export-Clixml ./other-objects.xml
@() | Export-Clixml ./empty-objs.xml
$apps | Format-List * | Out-File -Encoding ascii ./fl-pwsh7-ascii-truncated.txt
$apps | Export-Csv -NoTypeInformation -Path ./export-csv-deserialized.csv
# Two exports made separately and then merged into one <Objs> by hand; both number their
# RefIds from 0, so the merged file defines RefIds 0-3 twice.
$apps = Import-Clixml ./seed.xml
$servers = foreach ($name in 'EX01', 'EX02') {
    $server = [pscustomobject]@{ Name = $name; AdminDisplayVersion = 'Version 15.2 (Build 1544.4)'; ServerRole = [System.Collections.ArrayList]@('Mailbox', 'ClientAccess') }
    $server.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Data.Directory.Management.ExchangeServer')
    $server
}
$servers | Export-Clixml ./part1-exchange-servers.xml
$graph = $apps[1]
$graph.AppOnlyPermissions = $graph.ActAsPermissions
$apps | Export-Clixml ./part2-partner-applications.xml
