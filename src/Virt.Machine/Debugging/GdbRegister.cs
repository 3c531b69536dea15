namespace Virt.Machine.Debugging;

/// <summary>One register of a <see cref="GdbTargetDescription"/>: its number, name, size, gdb type and group, and where its value lives.</summary>
/// <param name="Number">gdb's register number (the <c>regnum</c> of the description; the index in the <c>g</c> packet).</param>
/// <param name="Name">gdb's name.</param>
/// <param name="BitSize">The width in bits.</param>
/// <param name="Type">gdb's type name.</param>
/// <param name="Group">gdb's register group, or null for the default.</param>
/// <param name="Feature">The feature of the description the register belongs to.</param>
/// <param name="Kind">Which CPU state holds the value.</param>
/// <param name="Index">The index within <paramref name="Kind"/>: a general register's encoding, a segment register, st(i), an x87 control register, xmm(i), a control register number.</param>
internal sealed record GdbRegister(int Number, string Name, int BitSize, string Type, string? Group, string Feature, GdbRegisterKind Kind, int Index)
{
    /// <summary>The size in bytes (and half the hex digits of the value in a packet).</summary>
    public int SizeInBytes => BitSize / 8;
}
