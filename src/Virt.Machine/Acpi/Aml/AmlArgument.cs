namespace Virt.Machine.Acpi.Aml;

/// <summary>A method argument, <c>Arg0</c> to <c>Arg6</c>.</summary>
public sealed class AmlArgument : AmlNode
{
    /// <summary>The number of method arguments AML can name.</summary>
    public const int Count = 7;

    /// <summary>Creates the reference.</summary>
    /// <param name="index">0 to 6.</param>
    public AmlArgument(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        Index = index;
    }

    /// <summary>The argument number.</summary>
    public int Index { get; }
}
