<#
Parses PowerShell files with PowerShell's own parser and lints them for Windows PowerShell 5.1.

Input: -ManifestPath, a JSON file
  {"allowed_commands": ["Get-PartnerApplication", ...],
   "files": [{"id": "...", "path": "...", "mode": "script" | "values", "shape": bool}]}
Output: -OutputPath, a JSON file with one result per input file, in order:
  {"id", "path", "parse_errors": [{"line", "id", "message"}],
   "violations": [{"rule", "line", "text"}],
   "commands": [{"name", "parameters": [..], "guarded": bool}],  # every CommandAst, in order
   "shape": [..]}              # AST node types, values collapsed to VALUE (when asked for)

"script" mode rejects what Windows PowerShell 5.1 cannot run (it parses with the 7.x parser, so
7.x-only syntax shows up as AST nodes or flags) and every command outside the allow-list:
  pipeline-chain      `&&` / `||` (PipelineChainAst, PowerShell 7.0)
  ternary             `a ? b : c` (TernaryExpressionAst, 7.0)
  null-coalescing     `??` and `??=` (7.0)
  null-conditional    `?.` and `?[]` (7.0)
  clean-block         `clean { }` (7.3)
  background          `cmd &` (7.0)
  escape-7            "`e" and "`u{...}" in expandable strings (6.0; 5.1 reads them as e and u)
  parameter-7         parameters 5.1 cmdlets do not have (ConvertFrom-Json -AsHashtable, ...)
  encoding-7          -Encoding values 5.1 does not know (utf8NoBOM, utf8BOM, ansi)
  dynamic-command     a command whose name is computed (`& $x`, `. $x`)
  command-not-allowed a command outside the allow-list (case-insensitive) and not a function
                      the file defines
"values" mode is for files of literals (`$values = @(...)`): every AST node must be one of the
few a literal needs (strings, [char] casts, +, parentheses, the array and $values), so that
nothing in the file can run before the file is dot-sourced.

"guarded" is true when the command sits inside the then-block of an `if` whose condition calls
`$PSCmdlet.ShouldProcess(...)`.

"shape" collapses each value expression (a single-quoted string, a [char]0xNNNN cast, or a
+ chain / parenthesised group of those) into one VALUE entry; two renders of one template that
differ only in their values have equal shapes.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $ManifestPath,
    [Parameter(Mandatory = $true)] [string] $OutputPath
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$manifest = Get-Content -LiteralPath $ManifestPath -Raw | ConvertFrom-Json
$allowed = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
foreach ($name in @($manifest.allowed_commands)) { [void] $allowed.Add([string] $name) }

$parametersMissingIn51 = @{
    'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate', 'DateKind')
    'ConvertTo-Json'   = @('AsArray', 'EnumsAsStrings', 'EscapeHandling')
    'Get-Content'      = @('AsByteStream')
    'Set-Content'      = @('AsByteStream')
    'Add-Content'      = @('AsByteStream')
    'ForEach-Object'   = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob', 'UseNewRunspace')
    'Start-Transcript' = @('UseMinimalHeader')
    'Select-Object'    = @('SkipIndex', 'CaseInsensitive')
    'Get-FileHash'     = @()
    'Import-Module'    = @('UseWindowsPowerShell', 'SkipEditionCheck')
}
$encodingsIn51 = @('Unknown', 'String', 'Unicode', 'BigEndianUnicode', 'UTF8', 'UTF7', 'UTF32', 'ASCII', 'Default', 'OEM', 'Byte')
$valueNodeTypes = @('StringConstantExpressionAst', 'ConvertExpressionAst', 'TypeConstraintAst', 'ConstantExpressionAst',
    'BinaryExpressionAst', 'ParenExpressionAst', 'PipelineAst', 'CommandExpressionAst')
$valuesFileNodeTypes = @('ScriptBlockAst', 'NamedBlockAst', 'AssignmentStatementAst', 'VariableExpressionAst',
    'ArrayExpressionAst', 'StatementBlockAst', 'ArrayLiteralAst') + $valueNodeTypes

function Test-ValueExpression {
    # True when $Ast is a literal as ps_literal writes it (or a + chain / group of them).
    param([System.Management.Automation.Language.Ast] $Ast)
    if ($Ast -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
        return $Ast.StringConstantType -eq [System.Management.Automation.Language.StringConstantType]::SingleQuoted
    }
    if ($Ast -is [System.Management.Automation.Language.ConvertExpressionAst]) {
        return ($Ast.Type.TypeName.FullName -eq 'char') -and
            ($Ast.Child -is [System.Management.Automation.Language.ConstantExpressionAst]) -and
            ($Ast.Child -isnot [System.Management.Automation.Language.StringConstantExpressionAst])
    }
    if ($Ast -is [System.Management.Automation.Language.BinaryExpressionAst]) {
        return ($Ast.Operator -eq [System.Management.Automation.Language.TokenKind]::Plus) -and
            (Test-ValueExpression -Ast $Ast.Left) -and (Test-ValueExpression -Ast $Ast.Right)
    }
    if ($Ast -is [System.Management.Automation.Language.ParenExpressionAst]) {
        $pipeline = $Ast.Pipeline
        if ($pipeline -isnot [System.Management.Automation.Language.PipelineAst]) { return $false }
        if ($pipeline.PipelineElements.Count -ne 1) { return $false }
        $element = $pipeline.PipelineElements[0]
        if ($element -isnot [System.Management.Automation.Language.CommandExpressionAst]) { return $false }
        if ($element.Redirections.Count -ne 0) { return $false }
        return Test-ValueExpression -Ast $element.Expression
    }
    return $false
}

function Get-Shape {
    # Node type names in the parser's visiting order (depth first, so a node's descendants
    # follow it); a value expression is one VALUE entry and its descendants are skipped.
    param([object[]] $Nodes)
    $shape = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $skipStart = -1
    $skipEnd = -1
    foreach ($node in $Nodes) {
        $extent = $node.Extent
        if ($extent.StartOffset -ge $skipStart -and $extent.EndOffset -le $skipEnd) { continue }
        $candidate = $node -is [System.Management.Automation.Language.StringConstantExpressionAst] -or
            $node -is [System.Management.Automation.Language.ConvertExpressionAst] -or
            $node -is [System.Management.Automation.Language.BinaryExpressionAst] -or
            $node -is [System.Management.Automation.Language.ParenExpressionAst]
        if ($candidate -and (Test-ValueExpression -Ast $node)) {
            $shape.Add('VALUE')
            $skipStart = $extent.StartOffset
            $skipEnd = $extent.EndOffset
            continue
        }
        $name = $node.GetType().Name
        if ($node -is [System.Management.Automation.Language.CommandParameterAst]) { $name += ':' + $node.ParameterName }
        elseif ($node -is [System.Management.Automation.Language.VariableExpressionAst]) { $name += ':' + $node.VariablePath.UserPath }
        elseif ($node -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $name += ':' + $node.StringConstantType + ':' + $node.Value }
        elseif ($node -is [System.Management.Automation.Language.BinaryExpressionAst]) { $name += ':' + $node.Operator }
        $shape.Add($name)
    }
    return , $shape.ToArray()
}

function Test-ShouldProcessGuard {
    # True when $Ast is inside the body of an if clause whose condition calls ShouldProcess.
    param([System.Management.Automation.Language.Ast] $Ast)
    $child = $Ast
    $parent = $Ast.Parent
    while ($null -ne $parent) {
        if ($parent -is [System.Management.Automation.Language.IfStatementAst]) {
            foreach ($clause in $parent.Clauses) {
                if ([object]::ReferenceEquals($clause.Item2, $child)) {
                    $calls = $clause.Item1.FindAll({
                            param($node)
                            $node -is [System.Management.Automation.Language.InvokeMemberExpressionAst] -and
                            $node.Member -is [System.Management.Automation.Language.StringConstantExpressionAst] -and
                            $node.Member.Value -eq 'ShouldProcess'
                        }, $true)
                    if (@($calls).Count -gt 0) { return $true }
                }
            }
        }
        $child = $parent
        $parent = $parent.Parent
    }
    return $false
}

function Add-Violation {
    param([System.Collections.Generic.List[object]] $List, [string] $Rule, [object] $Extent)
    $List.Add([ordered]@{ rule = $Rule; line = $Extent.StartLineNumber; text = $Extent.Text })
}

function Test-Escape7 {
    # "`e" or "`u{" in the text of an expandable string token (an odd run of backticks before it).
    param([string] $Text)
    for ($index = 0; $index -lt $Text.Length; $index++) {
        if ($Text[$index] -ne [char] 0x60) { continue }
        $run = 0
        while ($index -lt $Text.Length -and $Text[$index] -eq [char] 0x60) { $run++; $index++ }
        if ($index -ge $Text.Length) { break }
        if (($run % 2) -eq 1) {
            $next = $Text[$index]
            if ($next -ceq 'e') { return $true }
            if ($next -ceq 'u' -and ($index + 1) -lt $Text.Length -and $Text[$index + 1] -eq '{') { return $true }
        }
    }
    return $false
}

$results = New-Object -TypeName 'System.Collections.Generic.List[object]'
foreach ($file in @($manifest.files)) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile([string] $file.path, [ref] $tokens, [ref] $errors)
    $parseErrors = @(foreach ($parseError in $errors) {
            [ordered]@{ line = $parseError.Extent.StartLineNumber; id = $parseError.ErrorId; message = $parseError.Message }
        })
    $violations = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $commands = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $nodes = @($ast.FindAll({ $true }, $true))

    if ([string] $file.mode -eq 'values') {
        foreach ($node in $nodes) {
            $typeName = $node.GetType().Name
            if ($valuesFileNodeTypes -notcontains $typeName) {
                Add-Violation -List $violations -Rule ('not-a-literal:' + $typeName) -Extent $node.Extent
            } elseif ($node -is [System.Management.Automation.Language.VariableExpressionAst] -and $node.VariablePath.UserPath -ne 'values') {
                Add-Violation -List $violations -Rule 'not-a-literal:variable' -Extent $node.Extent
            } elseif ($node -is [System.Management.Automation.Language.StringConstantExpressionAst] -and
                $node.StringConstantType -ne [System.Management.Automation.Language.StringConstantType]::SingleQuoted) {
                Add-Violation -List $violations -Rule 'not-a-literal:string' -Extent $node.Extent
            } elseif ($node -is [System.Management.Automation.Language.BinaryExpressionAst] -and
                $node.Operator -ne [System.Management.Automation.Language.TokenKind]::Plus) {
                Add-Violation -List $violations -Rule 'not-a-literal:operator' -Extent $node.Extent
            } elseif ($node -is [System.Management.Automation.Language.ConvertExpressionAst] -and $node.Type.TypeName.FullName -ne 'char') {
                Add-Violation -List $violations -Rule 'not-a-literal:cast' -Extent $node.Extent
            }
        }
    } else {
        # Functions the file defines itself may be called; their bodies are linted like the rest.
        $defined = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
        foreach ($node in $nodes) {
            if ($node -is [System.Management.Automation.Language.FunctionDefinitionAst]) { [void] $defined.Add($node.Name) }
        }
        foreach ($node in $nodes) {
            if ($node -is [System.Management.Automation.Language.CommandAst]) {
                $name = $node.GetCommandName()
                $parameterNames = @(foreach ($element in $node.CommandElements) {
                        if ($element -is [System.Management.Automation.Language.CommandParameterAst]) { $element.ParameterName }
                    })
                $commands.Add([ordered]@{ name = $name; parameters = $parameterNames; guarded = (Test-ShouldProcessGuard -Ast $node) })
                if ($null -eq $name) {
                    Add-Violation -List $violations -Rule 'dynamic-command' -Extent $node.Extent
                    continue
                }
                if (-not $allowed.Contains($name) -and -not $defined.Contains($name)) {
                    Add-Violation -List $violations -Rule 'command-not-allowed' -Extent $node.Extent
                }
                if ($parametersMissingIn51.ContainsKey($name)) {
                    foreach ($parameterName in $parameterNames) {
                        if ($parametersMissingIn51[$name] -contains $parameterName) {
                            Add-Violation -List $violations -Rule 'parameter-7' -Extent $node.Extent
                        }
                    }
                }
                for ($index = 0; $index -lt $node.CommandElements.Count; $index++) {
                    $element = $node.CommandElements[$index]
                    if ($element -isnot [System.Management.Automation.Language.CommandParameterAst] -or $element.ParameterName -ne 'Encoding') { continue }
                    $argument = $element.Argument
                    if ($null -eq $argument -and ($index + 1) -lt $node.CommandElements.Count) { $argument = $node.CommandElements[$index + 1] }
                    if ($argument -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $encodingsIn51 -notcontains $argument.Value) {
                        Add-Violation -List $violations -Rule 'encoding-7' -Extent $node.Extent
                    }
                }
            } elseif ($node -is [System.Management.Automation.Language.PipelineAst]) {
                if ($node.Background) { Add-Violation -List $violations -Rule 'background' -Extent $node.Extent }
            } elseif ($node -is [System.Management.Automation.Language.BinaryExpressionAst]) {
                if ($node.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestion) {
                    Add-Violation -List $violations -Rule 'null-coalescing' -Extent $node.Extent
                }
            } elseif ($node -is [System.Management.Automation.Language.AssignmentStatementAst]) {
                if ($node.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestionEquals) {
                    Add-Violation -List $violations -Rule 'null-coalescing' -Extent $node.Extent
                }
            } elseif ($node -is [System.Management.Automation.Language.MemberExpressionAst] -or
                $node -is [System.Management.Automation.Language.IndexExpressionAst]) {
                # InvokeMemberExpressionAst derives from MemberExpressionAst.
                if ($node.NullConditional) { Add-Violation -List $violations -Rule 'null-conditional' -Extent $node.Extent }
            } elseif ($node -is [System.Management.Automation.Language.ScriptBlockAst]) {
                if ($null -ne $node.CleanBlock) { Add-Violation -List $violations -Rule 'clean-block' -Extent $node.CleanBlock.Extent }
            } else {
                $typeName = $node.GetType().Name
                if ($typeName -eq 'PipelineChainAst') {
                    Add-Violation -List $violations -Rule 'pipeline-chain' -Extent $node.Extent
                    if ($node.Background) { Add-Violation -List $violations -Rule 'background' -Extent $node.Extent }
                } elseif ($typeName -eq 'TernaryExpressionAst') {
                    Add-Violation -List $violations -Rule 'ternary' -Extent $node.Extent
                }
            }
        }
        foreach ($token in $tokens) {
            if ($token -is [System.Management.Automation.Language.StringExpandableToken] -and (Test-Escape7 -Text $token.Text)) {
                Add-Violation -List $violations -Rule 'escape-7' -Extent $token.Extent
            }
        }
    }

    $results.Add([ordered]@{
            id           = [string] $file.id
            path         = [string] $file.path
            parse_errors = $parseErrors
            violations   = $violations.ToArray()
            commands     = $commands.ToArray()
            shape        = $(if ($null -ne $file.PSObject.Properties['shape'] -and $file.shape) { Get-Shape -Nodes $nodes } else { @() })
        })
}

$json = ConvertTo-Json -InputObject $results.ToArray() -Depth 8
[System.IO.File]::WriteAllText($OutputPath, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
