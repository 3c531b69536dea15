namespace Virt.Cpu;

/// <summary>
/// Debug registers DR0-DR7 as storage for MOV to and from them (Intel SDM Vol. 3B, 17.2): DR4/DR5 alias DR6/DR7 (CR4.DE
/// is not supported), DR6 and DR7 keep their fixed bits. Breakpoints they describe are not yet raised.
/// </summary>
public sealed partial class Cpu
{
    private const int DebugRegisterBase = 8;
    private const uint Dr6Fixed = 0xFFFF_0FF0;
    private const uint Dr7Fixed = 0x0000_0400;

    private readonly uint[] _debugAddress = new uint[4];
    private uint _dr6 = Dr6Fixed;
    private uint _dr7 = Dr7Fixed;

    /// <summary>Reads a debug register (0-7) as MOV from DRn would.</summary>
    /// <param name="index">The register number.</param>
    /// <returns>Its value.</returns>
    public uint GetDebugRegister(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 7);
        return ReadDebugRegister(index);
    }

    private uint ReadDebugRegister(int index) => index switch
    {
        < 4 => _debugAddress[index],
        4 or 6 => _dr6,
        _ => _dr7,
    };

    private void WriteDebugRegister(int index, uint value)
    {
        switch (index)
        {
            case < 4:
                _debugAddress[index] = value;
                break;
            case 4:
            case 6:
                // DR6: bits 4-11 and 16-31 read as 1, bit 12 as 0 (Intel SDM Vol. 3B, 17.2.3).
                _dr6 = (value & 0x0000_E00F) | Dr6Fixed;
                break;
            default:
                // DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 as 0 (Intel SDM Vol. 3B, 17.2.4).
                _dr7 = (value & 0xFFFF_23FF) | Dr7Fixed;
                break;
        }
    }

    private void ResetDebugRegisters()
    {
        Array.Clear(_debugAddress);
        _dr6 = Dr6Fixed;
        _dr7 = Dr7Fixed;
    }
}
