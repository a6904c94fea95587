<#
Proves statically that generated scripts use only the Windows PowerShell 5.1 API: every .NET type
and member exists in the .NET Framework 4.8 reference assemblies, every PowerShell engine type and
member in the System.Management.Automation 3.0.0.0 reference assembly of PowerShellStandard.Library
5.1.1 (both read with System.Reflection.Metadata, nothing is loaded), every cmdlet parameter is in
the 5.1 table (ps51_api.json, from Microsoft's 5.1 reference), and every common parameter of the
table is a property of the engine's CommonParameters class.

-ApiPath ps51_api.json, -ReferenceDir <...>/build/.NETFramework/v4.8, -EngineAssembly
<...>/lib/net452/System.Management.Automation.dll, -ManifestPath: JSON list of {"id", "path"};
-OutputPath: JSON list of {"id", "rule", "text"} (empty when all is known).
Rules: unknown-type, unknown-static-member, unknown-instance-method, undeclared-instance-method,
unknown-cmdlet-parameter, command-not-in-table, unknown-common-parameter (id "table").
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $ApiPath,
    [Parameter(Mandatory = $true)] [string] $ReferenceDir,
    [Parameter(Mandatory = $true)] [string] $EngineAssembly,
    [Parameter(Mandatory = $true)] [string] $ManifestPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$api = Get-Content -LiteralPath $ApiPath -Raw | ConvertFrom-Json -AsHashtable
$files = Get-Content -LiteralPath $ManifestPath -Raw | ConvertFrom-Json

# --- the .NET Framework 4.8 and PowerShell engine public surface: type -> base, methods (static?), fields ---
$types = New-Object -TypeName 'System.Collections.Generic.Dictionary[string,object]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
$assemblies = @(foreach ($name in @('mscorlib.dll', 'System.dll', 'System.Core.dll', 'System.Xml.dll')) { Join-Path -Path $ReferenceDir -ChildPath $name })
$assemblies += $EngineAssembly
foreach ($assembly in $assemblies) {
    $stream = [System.IO.File]::OpenRead($assembly)
    $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
    try {
        $reader = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
        foreach ($handle in $reader.TypeDefinitions) {
            $definition = $reader.GetTypeDefinition($handle)
            if (($definition.Attributes -band [System.Reflection.TypeAttributes]::VisibilityMask) -ne [System.Reflection.TypeAttributes]::Public) { continue }
            $name = $reader.GetString($definition.Namespace) + '.' + $reader.GetString($definition.Name)
            $base = $null
            if (-not $definition.BaseType.IsNil) {
                $kind = $definition.BaseType.Kind
                if ($kind -eq [System.Reflection.Metadata.HandleKind]::TypeReference) {
                    $reference = $reader.GetTypeReference([System.Reflection.Metadata.TypeReferenceHandle] $definition.BaseType)
                    $base = $reader.GetString($reference.Namespace) + '.' + $reader.GetString($reference.Name)
                }
                elseif ($kind -eq [System.Reflection.Metadata.HandleKind]::TypeDefinition) {
                    $baseDefinition = $reader.GetTypeDefinition([System.Reflection.Metadata.TypeDefinitionHandle] $definition.BaseType)
                    $base = $reader.GetString($baseDefinition.Namespace) + '.' + $reader.GetString($baseDefinition.Name)
                }
            }
            $methods = @{}
            foreach ($methodHandle in $definition.GetMethods()) {
                $method = $reader.GetMethodDefinition($methodHandle)
                if (($method.Attributes -band [System.Reflection.MethodAttributes]::MemberAccessMask) -ne [System.Reflection.MethodAttributes]::Public) { continue }
                $methods[$reader.GetString($method.Name) + '|' + [bool] ($method.Attributes -band [System.Reflection.MethodAttributes]::Static)] = $true
            }
            $fields = @{}
            foreach ($fieldHandle in $definition.GetFields()) {
                $field = $reader.GetFieldDefinition($fieldHandle)
                if (($field.Attributes -band [System.Reflection.FieldAttributes]::FieldAccessMask) -ne [System.Reflection.FieldAttributes]::Public) { continue }
                $fields[$reader.GetString($field.Name)] = $true
            }
            $types[$name] = @{ Base = $base; Methods = $methods; Fields = $fields }
        }
    }
    finally {
        $pe.Dispose()
    }
}

function Test-Member {
    # Method (name|static) or property getter / field on the type or a base type.
    param([string] $Type, [string] $Member, [bool] $Static, [bool] $Invoked)
    $current = $Type
    while ($null -ne $current -and $types.ContainsKey($current)) {
        $entry = $types[$current]
        foreach ($key in $entry.Methods.Keys) {
            $parts = $key.Split('|')
            $matchesStatic = $parts[1] -eq [string] $Static
            if (-not $matchesStatic) { continue }
            if ($Invoked -and $parts[0] -eq $Member) { return $true }
            if (-not $Invoked -and ($parts[0] -eq ('get_' + $Member))) { return $true }
        }
        if (-not $Invoked -and $entry.Fields.ContainsKey($Member)) { return $true }
        $current = $entry.Base
    }
    return $false
}

function Resolve-TypeName {
    # Full .NET name (generic arity as `N) of a PowerShell type name, or $null for an accelerator
    # PowerShell itself provides.
    param([string] $Name)
    $clean = $Name.Trim()
    while ($clean.EndsWith('[]')) { $clean = $clean.Substring(0, $clean.Length - 2) }
    $arity = 0
    $open = $clean.IndexOf('[')
    if ($open -gt 0) {
        $arity = $clean.Substring($open).Split(',').Count
        $clean = $clean.Substring(0, $open)
    }
    foreach ($key in $api.accelerators.Keys) {
        if ($key -eq $clean) { $clean = $api.accelerators[$key] }
    }
    if ($arity -gt 0) { $clean = $clean + '`' + $arity }
    return $clean
}

function Test-Type {
    param([string] $FullName)
    return $types.ContainsKey($FullName)
}

$violations = New-Object -TypeName 'System.Collections.Generic.List[object]'
function Add-Violation {
    param([string] $Id, [string] $Rule, [string] $Text)
    $violations.Add([ordered]@{ id = $Id; rule = $Rule; text = $Text })
}

# The table's common parameters must be the engine's: properties of its CommonParameters class.
foreach ($common in @($api.common_parameters)) {
    if (-not (Test-Member -Type 'System.Management.Automation.Internal.CommonParameters' -Member $common -Static $false -Invoked $false)) {
        Add-Violation -Id 'table' -Rule 'unknown-common-parameter' -Text $common
    }
}

# PowerShell 5.1 cmdlets and the Exchange / WebAdministration cmdlets, each with its documented parameters.
$commands = @{}
foreach ($section in @('cmdlets', 'module_cmdlets')) {
    foreach ($key in $api[$section].Keys) { $commands[$key] = @($api[$section][$key].parameters) }
}

foreach ($file in @($files)) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile([string] $file.path, [ref] $tokens, [ref] $errors)
    $defined = @{}
    foreach ($function in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) { $defined[$function.Name] = $true }
    foreach ($node in $ast.FindAll({ $true }, $true)) {
        $typeName = $null
        if ($node -is [System.Management.Automation.Language.TypeExpressionAst] -or $node -is [System.Management.Automation.Language.TypeConstraintAst] -or $node -is [System.Management.Automation.Language.AttributeAst]) {
            $typeName = $node.TypeName.FullName
        }
        if ($null -ne $typeName) {
            $resolved = Resolve-TypeName -Name $typeName
            if (-not (Test-Type -FullName $resolved) -and -not (Test-Type -FullName ($resolved + 'Attribute'))) {
                Add-Violation -Id $file.id -Rule 'unknown-type' -Text $typeName
            }
        }
        if ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.Static -and $node.Expression -is [System.Management.Automation.Language.TypeExpressionAst]) {
            $resolved = Resolve-TypeName -Name $node.Expression.TypeName.FullName
            $member = [string] $node.Member.Value
            $invoked = $node -is [System.Management.Automation.Language.InvokeMemberExpressionAst]
            $known = Test-Member -Type $resolved -Member $member -Static $true -Invoked $invoked
            if (-not $known) { Add-Violation -Id $file.id -Rule 'unknown-static-member' -Text ('[' + $resolved + ']::' + $member) }
        }
        elseif ($node -is [System.Management.Automation.Language.InvokeMemberExpressionAst] -and -not $node.Static) {
            $member = [string] $node.Member.Value
            if (-not $api.instance_methods.ContainsKey($member)) {
                Add-Violation -Id $file.id -Rule 'undeclared-instance-method' -Text $node.Extent.Text
                continue
            }
            foreach ($declared in @($api.instance_methods[$member])) {
                $known = Test-Member -Type $declared -Member $member -Static $false -Invoked $true
                if (-not $known) { Add-Violation -Id $file.id -Rule 'unknown-instance-method' -Text ($declared + '.' + $member) }
            }
        }
        elseif ($node -is [System.Management.Automation.Language.CommandAst]) {
            $name = $node.GetCommandName()
            if ($null -eq $name -or $defined.ContainsKey($name)) { continue }
            if (-not $commands.ContainsKey($name)) {
                Add-Violation -Id $file.id -Rule 'command-not-in-table' -Text $name
                continue
            }
            $parameters = $commands[$name] + @($api.common_parameters)
            foreach ($element in $node.CommandElements) {
                if ($element -is [System.Management.Automation.Language.CommandParameterAst] -and $parameters -notcontains $element.ParameterName) {
                    Add-Violation -Id $file.id -Rule 'unknown-cmdlet-parameter' -Text ($name + ' -' + $element.ParameterName)
                }
            }
            if ($name -eq 'New-Object') {
                for ($index = 0; $index -lt $node.CommandElements.Count - 1; $index++) {
                    $element = $node.CommandElements[$index]
                    if ($element -is [System.Management.Automation.Language.CommandParameterAst] -and $element.ParameterName -eq 'TypeName') {
                        $argument = $node.CommandElements[$index + 1]
                        $resolved = Resolve-TypeName -Name ([string] $argument.Value)
                        if (-not (Test-Type -FullName $resolved)) { Add-Violation -Id $file.id -Rule 'unknown-type' -Text ([string] $argument.Value) }
                    }
                }
            }
        }
    }
}
$json = ConvertTo-Json -InputObject $violations.ToArray() -Depth 4
[System.IO.File]::WriteAllText($OutputPath, $json)
