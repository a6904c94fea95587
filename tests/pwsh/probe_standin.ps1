<#
Reports how the stand-in module's commands look (parameter names and types, parameter sets,
the objects Get-PartnerApplication returns) as JSON, for test_tools.py.
Arguments: the module path, a path for an Export-Clixml round trip.
#>
$PSStyle.OutputRendering = 'PlainText'
Import-Module -Name $args[0] -ErrorAction Stop
$set = Get-Command -Name Set-PartnerApplication
$get = Get-Command -Name Get-PartnerApplication
$report = [ordered]@{
    set_parameters = [ordered]@{}
    get_identity_position = $get.Parameters['Identity'].Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] })[0].Position
    set_supports_should_process = [bool] ($set.ScriptBlock.Attributes.Where({ $_ -is [System.Management.Automation.CmdletBindingAttribute] })[0].SupportsShouldProcess)
    restart_parameters = @((Get-Command -Name Restart-WebAppPool).Parameters['Name'].ParameterType.FullName)
    exchange_server_sets = @((Get-Command -Name Get-ExchangeServer).ParameterSets.Name | Sort-Object)
}
foreach ($name in @('Identity', 'AppOnlyPermissions', 'ActAsPermissions', 'Enabled', 'LinkedAccount', 'WhatIf', 'Confirm')) {
    if ($set.Parameters.ContainsKey($name)) {
        $report.set_parameters[$name] = $set.Parameters[$name].ParameterType.Name
    }
}
$app = Get-PartnerApplication -Identity '00000003-0000-0000-c000-000000000000' -ErrorAction Stop
$report.app_only_type = $app.AppOnlyPermissions.GetType().FullName
$report.application_identifier_type = $app.ApplicationIdentifier.GetType().FullName
$report.type_name = $app.PSObject.TypeNames[0]
$other = Get-PartnerApplication -Identity 'Exchange Online' -ErrorAction Stop
$report.null_app_only = $null -eq $other.AppOnlyPermissions
$report.all_count = @(Get-PartnerApplication).Count
$empty = Get-PartnerApplication -Identity 'Empty List' -ErrorAction Stop
$report.empty_app_only = $(if ($null -eq $empty.AppOnlyPermissions) { 'null' } else { 'count ' + $empty.AppOnlyPermissions.Count })
$app | Export-Clixml -LiteralPath $args[1] -Depth 4
$back = Import-Clixml -LiteralPath $args[1]
$report.clixml_app_only = @($back.AppOnlyPermissions)
try { Get-PartnerApplication -Identity 'no such app' -ErrorAction Stop; $report.missing = 'no error' }
catch { $report.missing = $_.Exception.Message }
Set-PartnerApplication -Identity '00000003-0000-0000-c000-000000000000' -AppOnlyPermissions 'Mail.Read' -WhatIf
$report | ConvertTo-Json -Depth 5
