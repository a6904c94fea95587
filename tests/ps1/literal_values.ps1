<#
Parses PowerShell files with PowerShell's own parser (nothing is executed) and reports, per file,
the parse errors and the value of every literal expression of the shape ps_literal emits: a
single-quoted string, or a parenthesised + chain of single-quoted strings and [char]0xNNNN casts.
Values are computed from the AST (the tokenizer's view of the quotes), not by running code.

Input: -ListPath, a UTF-8 file with one path per line.
Output (-OutputPath, JSON):
  [{"path", "errors": [..], "values": ["<UTF-16 units as hex>", ..], "commands": [names]}]
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $ListPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$literalPattern = '^(?:''(?:[^'']|'''')*''|\((?:''(?:[^'']|'''')*''|\[char\]0x[0-9A-F]{4})(?: \+ (?:''(?:[^'']|'''')*''|\[char\]0x[0-9A-F]{4}))*\))$'

function Get-LiteralValue {
    param($Ast)
    if ($Ast -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
        if ($Ast.StringConstantType -eq 'SingleQuoted') {
            return [string] $Ast.Value
        }
        return $null
    }
    if ($Ast -is [System.Management.Automation.Language.ConvertExpressionAst]) {
        if ($Ast.Type.TypeName.Name -eq 'char' -and $Ast.Child -is [System.Management.Automation.Language.ConstantExpressionAst]) {
            return [string] [char] $Ast.Child.Value
        }
        return $null
    }
    if ($Ast -is [System.Management.Automation.Language.BinaryExpressionAst]) {
        if ($Ast.Operator -ne 'Plus') {
            return $null
        }
        $left = Get-LiteralValue -Ast $Ast.Left
        $right = Get-LiteralValue -Ast $Ast.Right
        if ($null -eq $left -or $null -eq $right) {
            return $null
        }
        return $left + $right
    }
    if ($Ast -is [System.Management.Automation.Language.ParenExpressionAst]) {
        return Get-LiteralValue -Ast $Ast.Pipeline
    }
    if ($Ast -is [System.Management.Automation.Language.PipelineAst]) {
        if ($Ast.PipelineElements.Count -ne 1) {
            return $null
        }
        return Get-LiteralValue -Ast $Ast.PipelineElements[0]
    }
    if ($Ast -is [System.Management.Automation.Language.CommandExpressionAst]) {
        if ($Ast.Redirections.Count -ne 0) {
            return $null
        }
        return Get-LiteralValue -Ast $Ast.Expression
    }
    return $null
}

$Paths = @(Get-Content -LiteralPath $ListPath -Encoding utf8 | Where-Object { $_ -ne '' })
$results = New-Object -TypeName 'System.Collections.Generic.List[object]'
foreach ($path in $Paths) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref] $tokens, [ref] $errors)
    # FindAll visits parents before children, so a literal's inner nodes come right after it.
    $values = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $lastEnd = -1
    $candidates = $ast.FindAll({
            param($n)
            $n -is [System.Management.Automation.Language.StringConstantExpressionAst] -or
            $n -is [System.Management.Automation.Language.ParenExpressionAst] -or
            $n -is [System.Management.Automation.Language.BinaryExpressionAst] -or
            $n -is [System.Management.Automation.Language.ConvertExpressionAst]
        }, $true)
    foreach ($node in $candidates) {
        if ($node.Extent.StartOffset -lt $lastEnd -or $node.Extent.Text -cnotmatch $literalPattern) {
            continue
        }
        $value = Get-LiteralValue -Ast $node
        if ($null -eq $value) {
            continue
        }
        $lastEnd = $node.Extent.EndOffset
        $units = foreach ($char in $value.ToCharArray()) { '{0:X4}' -f [int] $char }
        $values.Add((@($units) -join ' '))
    }
    $commands = @(foreach ($command in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)) { [string] $command.GetCommandName() })
    $messages = @(foreach ($parseError in $errors) { [string] $parseError.Extent.StartLineNumber + ': ' + $parseError.Message })
    $results.Add([pscustomobject]@{ path = $path; errors = $messages; values = $values.ToArray(); commands = $commands })
}
ConvertTo-Json -InputObject $results.ToArray() -Depth 4 | Set-Content -LiteralPath $OutputPath -Encoding utf8
