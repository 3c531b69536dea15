namespace Virt.Machine.Acpi.Aml;

/// <summary>A method local variable, <c>Local0</c> to <c>Local7</c>.</summary>
public sealed class AmlLocal : AmlNode
{
    /// <summary>The number of locals a method has.</summary>
    public const int Count = 8;

    /// <summary>Creates the reference.</summary>
    /// <param name="index">0 to 7.</param>
    public AmlLocal(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        Index = index;
    }

    /// <summary>The local number.</summary>
    public int Index { get; }
}
