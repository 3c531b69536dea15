namespace Virt.Cpu;

/// <summary>
/// The debug registers DR0-DR7 as MOV to and from DRn see them (Intel SDM Vol. 3B, 18.2). Their values are kept
/// exactly, with the fixed bits of DR6 and DR7, so operating systems that save, clear and restore them work;
/// breakpoint matching (raising #DB when DR7 arms an address) is not implemented yet.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Offset added to the debug-register number so MOV DRn travels the control-register path.</summary>
    internal const int DebugRegisterBase = 16;

    private const uint Dr6Fixed = 0xFFFF_0FF0;
    private const uint Dr6Writable = 0x0000_E00F;
    private const uint Dr7Fixed = 0x0000_0400;
    private const uint Dr7Writable = 0xFFFF_23FF; // bits 10-12, 14 and 15 are fixed
    private const ulong Cr4De = 1 << 3;

    private readonly uint[] _debugRegisters = new uint[8];

    /// <summary>Reads debug register <paramref name="index"/> (0-7) as the guest would.</summary>
    /// <param name="index">0 to 7.</param>
    /// <returns>The value.</returns>
    public uint GetDebugRegister(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 7);
        return _debugRegisters[index is 4 or 5 ? index + 2 : index];
    }

    private void ResetDebugRegisters()
    {
        Array.Clear(_debugRegisters);
        _debugRegisters[6] = Dr6Fixed;
        _debugRegisters[7] = Dr7Fixed;
    }

    /// <summary>Maps DR4/DR5 onto DR6/DR7, or fails with #UD when CR4.DE forbids them (Intel SDM Vol. 3B, 18.2.2).</summary>
    private bool TryResolveDebugRegister(int index, out int resolved)
    {
        resolved = index;
        if (index is 4 or 5)
        {
            if ((_cr4 & Cr4De) != 0)
            {
                RaiseFault(VectorInvalidOpcode);
                return false;
            }

            resolved = index + 2;
        }

        return true;
    }

    private void ExecuteMovToDebugRegister(int index, uint value)
    {
        if (!TryResolveDebugRegister(index, out int dr))
        {
            return;
        }

        _debugRegisters[dr] = dr switch
        {
            6 => (value & Dr6Writable) | Dr6Fixed,
            7 => (value & Dr7Writable) | Dr7Fixed,
            _ => value,
        };
    }

    private bool TryReadDebugRegister(int index, out uint value)
    {
        value = 0;
        if (!TryResolveDebugRegister(index, out int dr))
        {
            return false;
        }

        value = _debugRegisters[dr];
        return true;
    }
}
