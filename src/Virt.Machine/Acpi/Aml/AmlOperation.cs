namespace Virt.Machine.Acpi.Aml;

/// <summary>A statement or expression: an opcode with its operands (terms, and targets where the opcode takes one).</summary>
public sealed class AmlOperation : AmlNode
{
    /// <summary>Creates the operation.</summary>
    /// <param name="opcode">The opcode.</param>
    /// <param name="operands">Exactly <see cref="GetOperandCount"/> operands; for the <c>Create*Field</c> opcodes the last is an <see cref="AmlNameReference"/>.</param>
    /// <exception cref="ArgumentException">When the count is wrong or a field name is not a name.</exception>
    public AmlOperation(AmlOpcode opcode, params AmlNode[] operands)
    {
        ArgumentNullException.ThrowIfNull(operands);
        int expected = GetOperandCount(opcode);
        if (operands.Length != expected)
        {
            throw new ArgumentException($"AML {opcode} takes {expected} operands, not {operands.Length}.", nameof(operands));
        }

        if (DeclaresName(opcode) && operands[^1] is not AmlNameReference)
        {
            throw new ArgumentException($"AML {opcode}: the last operand names the new field and must be an {nameof(AmlNameReference)}.", nameof(operands));
        }

        Opcode = opcode;
        Operands = operands.ToArray();
    }

    /// <summary>The opcode.</summary>
    public AmlOpcode Opcode { get; }

    /// <summary>The operands.</summary>
    public IReadOnlyList<AmlNode> Operands { get; }

    /// <summary>The number of operands <paramref name="opcode"/> takes (ACPI 6.5, 20.2.5 "Term Objects Encoding").</summary>
    /// <param name="opcode">The opcode.</param>
    /// <returns>The count.</returns>
    public static int GetOperandCount(AmlOpcode opcode) => opcode switch
    {
        AmlOpcode.Noop or AmlOpcode.Break => 0,
        AmlOpcode.Increment or AmlOpcode.Decrement or AmlOpcode.SizeOf or AmlOpcode.LNot or AmlOpcode.Return => 1,
        AmlOpcode.Store or AmlOpcode.Not or AmlOpcode.Notify or AmlOpcode.LAnd or AmlOpcode.LOr or AmlOpcode.LEqual or AmlOpcode.LGreater or AmlOpcode.LLess => 2,
        AmlOpcode.Add or AmlOpcode.Subtract or AmlOpcode.ShiftLeft or AmlOpcode.ShiftRight or AmlOpcode.And or AmlOpcode.Or or AmlOpcode.Xor
            or AmlOpcode.CreateDWordField or AmlOpcode.CreateWordField or AmlOpcode.CreateByteField => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "Not an AML opcode this encoder knows."),
    };

    /// <summary>Whether the opcode's last operand is a name string it declares (rather than a term).</summary>
    /// <param name="opcode">The opcode.</param>
    /// <returns>True for the <c>Create*Field</c> opcodes.</returns>
    public static bool DeclaresName(AmlOpcode opcode) => opcode is AmlOpcode.CreateDWordField or AmlOpcode.CreateWordField or AmlOpcode.CreateByteField;
}
