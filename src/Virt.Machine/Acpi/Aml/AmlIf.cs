namespace Virt.Machine.Acpi.Aml;

/// <summary><c>If (predicate) { body } Else { elseBody }</c>.</summary>
/// <param name="predicate">The condition.</param>
/// <param name="body">The statements run when it is non-zero.</param>
/// <param name="elseBody">The statements run otherwise, or null for no <c>Else</c>.</param>
public sealed class AmlIf(AmlNode predicate, IEnumerable<AmlNode> body, IEnumerable<AmlNode>? elseBody = null) : AmlNode
{
    /// <summary>The condition.</summary>
    public AmlNode Predicate { get; } = predicate ?? throw new ArgumentNullException(nameof(predicate));

    /// <summary>The statements run when the condition is non-zero.</summary>
    public IReadOnlyList<AmlNode> Body { get; } = [.. body];

    /// <summary>The <c>Else</c> statements, or null.</summary>
    public IReadOnlyList<AmlNode>? ElseBody { get; } = elseBody is null ? null : [.. elseBody];
}
