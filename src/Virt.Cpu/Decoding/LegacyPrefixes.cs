namespace Virt.Cpu.Decoding;

/// <summary>
/// The legacy prefixes of one instruction that Iced does not report as such (66h, 67h, a fused 9Bh WAIT before an x87
/// opcode) and where the opcode starts, read once from the instruction's bytes at translation.
/// </summary>
internal readonly struct LegacyPrefixes
{
    private LegacyPrefixes(bool operandSize, bool addressSize, bool wait, int opcodeIndex, byte rex)
    {
        Rex = rex;
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

    /// <summary>The REX prefix of a 64-bit-mode instruction (40h-4Fh), or 0 (Intel SDM Vol. 2A, 2.2.1).</summary>
    public byte Rex { get; }

    /// <summary>Whether REX.W is set: a 64-bit operand size.</summary>
    public bool RexW => (Rex & RexWBit) != 0;

    /// <summary>REX.W in the REX byte.</summary>
    private const byte RexWBit = 0x08;

    /// <summary>The index of the first opcode byte (the length of the prefixes).</summary>
    public int OpcodeIndex { get; }

    /// <summary>Reads the prefixes of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The instruction's bytes.</param>
    /// <param name="isWait">Whether the instruction is WAIT itself (its 9Bh is the opcode, not a prefix).</param>
    /// <param name="code64">Whether the instruction was decoded in 64-bit mode (where 40h-4Fh are REX prefixes).</param>
    /// <returns>The prefixes.</returns>
    public static LegacyPrefixes Scan(ReadOnlySpan<byte> bytes, bool isWait, bool code64 = false)
    {
        bool has66 = false;
        bool has67 = false;
        bool wait = false;
        byte rex = 0;
        int i = 0;
        for (; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (code64 && b is >= 0x40 and <= 0x4F)
            {
                rex = b;
                continue;
            }

            if (rex != 0 && b is 0x66 or 0x67 or 0x9B or 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0xF0 or 0xF2 or 0xF3)
            {
                // A REX prefix not immediately before the opcode is ignored (Intel SDM Vol. 2A, 2.2.1).
                rex = 0;
            }

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

        return new LegacyPrefixes(has66, has67, wait, i, rex);
    }
}
