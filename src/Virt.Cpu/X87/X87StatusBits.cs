namespace Virt.Cpu.X87;

/// <summary>Bits of the x87 status word and of EFLAGS that x87 instructions produce (Intel SDM Vol. 1, 8.1.3).</summary>
internal static class X87StatusBits
{
    public const ushort C0 = 1 << 8;
    public const ushort C1 = 1 << 9;
    public const ushort C2 = 1 << 10;
    public const ushort C3 = 1 << 14;
    public const ushort ConditionMask = C0 | C1 | C2 | C3;
    public const ushort ErrorSummary = 1 << 7;
    public const ushort Busy = 1 << 15;
    public const int TopShift = 11;
    public const ushort TopMask = 7 << TopShift;

    /// <summary>EFLAGS bits written by FCOMI/FUCOMI.</summary>
    public const uint CarryFlag = 1 << 0;
    public const uint ParityFlag = 1 << 2;
    public const uint ZeroFlag = 1 << 6;
}
