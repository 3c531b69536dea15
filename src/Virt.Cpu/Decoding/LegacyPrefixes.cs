namespace Virt.Cpu.Decoding;

/// <summary>
/// The legacy prefixes of one instruction that Iced does not report as such (66h, 67h, a fused 9Bh WAIT before an x87
/// opcode) and where the opcode starts, read once from the instruction's bytes at translation.
/// </summary>
internal readonly struct LegacyPrefixes
{
    private LegacyPrefixes(bool operandSize, bool addressSize, bool wait, int opcodeIndex)
    {
        OperandSize = operandSize;
        AddressSize = addressSize;
        Wait = wait;
        OpcodeIndex = opcodeIndex;
    }

    /// <summary>Whether a 66h operand-size prefix is present.</summary>
    public bool OperandSize { get; }

    /// <summary>Whether a 67h address-size prefix is present.</summary>
    public bool AddressSize { get; }

    /// <summary>Whether a 9Bh (WAIT) byte precedes the opcode of an instruction Iced decoded as one (FSTSW, FSTENV ...).</summary>
    public bool Wait { get; }

    /// <summary>The index of the first opcode byte (the length of the prefixes).</summary>
    public int OpcodeIndex { get; }

    /// <summary>Reads the prefixes of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The instruction's bytes.</param>
    /// <param name="isWait">Whether the instruction is WAIT itself (its 9Bh is the opcode, not a prefix).</param>
    /// <returns>The prefixes.</returns>
    public static LegacyPrefixes Scan(ReadOnlySpan<byte> bytes, bool isWait)
    {
        bool has66 = false;
        bool has67 = false;
        bool wait = false;
        int i = 0;
        for (; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b == 0x66)
            {
                has66 = true;
            }
            else if (b == 0x67)
            {
                has67 = true;
            }
            else if (b == 0x9B && !isWait)
            {
                wait = true;
            }
            else if (b is not (0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0xF0 or 0xF2 or 0xF3))
            {
                break;
            }
        }

        return new LegacyPrefixes(has66, has67, wait, i);
    }
}
