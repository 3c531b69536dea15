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
    /// <summary>The version <see cref="Cpu.SaveState"/> writes (2: LDTR, TR, MSRs including EFER, debug registers and CPL added).</summary>
    public const int CurrentVersion = 2;

    /// <summary>The LDTR selector and descriptor cache (base, limit; the attributes are implied).</summary>
    public SegmentState Ldtr { get; init; } = new(0, 0, 0xFFFF, 0);

    /// <summary>The task register selector and descriptor cache (base, limit, attributes).</summary>
    public SegmentState TaskRegister { get; init; } = new(0, 0, 0xFFFF, 0x8B);

    /// <summary>The current privilege level (0 in real mode; not always CS.RPL, for example right after setting CR0.PE).</summary>
    public int Cpl { get; init; }

    /// <summary>What WRMSR to the time-stamp counter added to the time source's count.</summary>
    public ulong TscOffset { get; init; }

    /// <summary>IA32_EFER (only NXE, bit 11, can be set).</summary>
    public ulong Efer { get; init; }

    /// <summary>
    /// The four PDPTE registers of PAE paging as last loaded (they can differ from the table in memory, which the guest
    /// may have changed since). Null: loaded from the table CR3 points to when PAE paging is on.
    /// </summary>
    public IReadOnlyList<ulong>? Pdptes { get; init; }

    /// <summary>The IA32_SYSENTER_CS MSR.</summary>
    public ushort SysenterCs { get; init; }

    /// <summary>The IA32_SYSENTER_ESP MSR.</summary>
    public uint SysenterEsp { get; init; }

    /// <summary>The IA32_SYSENTER_EIP MSR.</summary>
    public uint SysenterEip { get; init; }

    /// <summary>DR0-DR3, 4 entries (null: all zero).</summary>
    public IReadOnlyList<uint>? DebugAddresses { get; init; }

    /// <summary>DR6 (debug status).</summary>
    public uint Dr6 { get; init; } = 0xFFFF_0FF0;

    /// <summary>DR7 (debug control).</summary>
    public uint Dr7 { get; init; } = 0x0000_0400;

    /// <summary>Data and I/O breakpoint hits (DR6 B0-B3), and the task-switch T-bit trap (DR6.BT), waiting for their #DB.</summary>
    public uint PendingDebugTraps { get; init; }

    /// <summary>
    /// The x87 state as a 512-byte FXSAVE image (bytes 0-159 used: control, status, abridged tags, FOP, FIP/FCS, FDP/FDS and
    /// the eight registers), plus byte 511 = 1 while FERR# is asserted; null in records made before the x87 existed (the
    /// FPU is then initialised as by FNINIT).
    /// </summary>
    public IReadOnlyList<byte>? X87Image { get; init; }

    /// <summary>
    /// XMM0-XMM15 as 32 quadwords, each register's low quadword first; null in records made before the SSE state existed
    /// (the registers are then zero).
    /// </summary>
    public IReadOnlyList<ulong>? Xmm { get; init; }

    /// <summary>MXCSR (its reset value, 1F80h, in records made before the SSE state existed).</summary>
    public uint Mxcsr { get; init; } = 0x1F80;

    /// <summary>XCR0 (1, x87 only, in records made before XSAVE existed).</summary>
    public ulong Xcr0 { get; init; } = 1;
}
