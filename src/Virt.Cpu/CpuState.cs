namespace Virt.Cpu;

/// <summary>
/// A snapshot of the architectural CPU state (version <see cref="CurrentVersion"/>), holding no host handles. Decoded blocks
/// and TLB entries are caches and are not part of it; restoring flushes them.
/// </summary>
/// <param name="Version">The record layout version.</param>
/// <param name="GeneralRegisters">RAX..R15, 16 entries.</param>
/// <param name="Segments">ES, CS, SS, DS, FS, GS with their descriptor caches, 6 entries.</param>
/// <param name="Eip">The instruction pointer.</param>
/// <param name="Eflags">EFLAGS with the status flags folded in.</param>
/// <param name="Cr0">CR0.</param>
/// <param name="Cr2">CR2.</param>
/// <param name="Cr3">CR3.</param>
/// <param name="Cr4">CR4.</param>
/// <param name="GdtBase">GDTR base.</param>
/// <param name="GdtLimit">GDTR limit.</param>
/// <param name="IdtBase">IDTR base.</param>
/// <param name="IdtLimit">IDTR limit.</param>
/// <param name="Halted">Whether the CPU waits in HLT.</param>
/// <param name="Shutdown">Whether the CPU is shut down.</param>
/// <param name="NmiPending">Whether an NMI waits to be taken.</param>
/// <param name="NmiBlocked">Whether NMIs are blocked until the next IRET.</param>
/// <param name="InterruptShadow">Whether the next instruction runs in the STI/MOV SS interrupt shadow.</param>
/// <param name="DebugTrapShadow">Whether the next single-step trap is suppressed (MOV SS / POP SS).</param>
/// <param name="RetiredInstructions">The retired-instruction count.</param>
public sealed record CpuState(
    int Version,
    IReadOnlyList<ulong> GeneralRegisters,
    IReadOnlyList<SegmentState> Segments,
    uint Eip,
    uint Eflags,
    ulong Cr0,
    ulong Cr2,
    ulong Cr3,
    ulong Cr4,
    ulong GdtBase,
    ushort GdtLimit,
    ulong IdtBase,
    ushort IdtLimit,
    bool Halted,
    bool Shutdown,
    bool NmiPending,
    bool NmiBlocked,
    bool InterruptShadow,
    bool DebugTrapShadow,
    long RetiredInstructions)
{
    /// <summary>The version <see cref="Cpu.SaveState"/> writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>
    /// The x87 state as a 512-byte FXSAVE image (bytes 0-159 used: control, status, abridged tags, FOP, FIP/FCS, FDP/FDS and
    /// the eight registers), plus byte 511 = 1 while FERR# is asserted; null in records made before the x87 existed (the
    /// FPU is then initialised as by FNINIT).
    /// </summary>
    public IReadOnlyList<byte>? X87Image { get; init; }
}
