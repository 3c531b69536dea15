using System.Globalization;

namespace Virt.Cpu;

/// <summary>
/// One interrupt or exception and the CPU state it met: the vector, its error code, where the CPU was (CS:EIP and the
/// linear address), the mode and the control registers. A value type, so the CPU keeps a fixed array of them for the
/// shutdown chain and passes one to an <see cref="ICpuEventObserver"/> without allocating.
/// </summary>
public readonly record struct CpuExceptionRecord
{
    /// <summary>CR0.PG: paging enabled (Intel SDM Vol. 3A, 2.5).</summary>

    /// <summary>CR4.PAE: physical-address extension (Intel SDM Vol. 3A, 2.5).</summary>

    /// <summary>The vector (0-255).</summary>
    public int Vector { get; init; }

    /// <summary>The error code pushed for it, or null when the event pushes none.</summary>
    public int? ErrorCode { get; init; }

    /// <summary>Whether the CPU raised it, an external source or an INT instruction.</summary>
    public CpuEventSource Source { get; init; }

    /// <summary>The CS selector at the event.</summary>
    public ushort CodeSelector { get; init; }

    /// <summary>EIP at the event: the faulting instruction for a fault, the next instruction for a trap or an interrupt.</summary>
    public uint Eip { get; init; }

    /// <summary>All of RIP at the event (<see cref="Eip"/> is its low half).</summary>
    public ulong Rip { get; init; }

    /// <summary>The current privilege level at the event.</summary>
    public int Cpl { get; init; }

    /// <summary>The SS selector at the event.</summary>
    public ushort StackSelector { get; init; }

    /// <summary>All of RSP at the event.</summary>
    public ulong Rsp { get; init; }

    /// <summary>CS base plus <see cref="Eip"/>.</summary>
    public ulong LinearAddress { get; init; }

    /// <summary>The operating mode.</summary>
    public CpuMode Mode { get; init; }

    /// <summary>CR0 at the event.</summary>
    public ulong Cr0 { get; init; }

    /// <summary>CR2 at the event (for a page fault, the linear address that faulted).</summary>
    public ulong Cr2 { get; init; }

    /// <summary>CR3 at the event.</summary>
    public ulong Cr3 { get; init; }

    /// <summary>CR4 at the event.</summary>
    public ulong Cr4 { get; init; }

    /// <summary>EFLAGS at the event.</summary>
    public uint Eflags { get; init; }

    /// <summary>Whether paging was enabled (CR0.PG, which only counts with CR0.PE).</summary>
    public bool IsPagingEnabled => (Cr0 & Cr0Bits.Pg) != 0 && Mode != CpuMode.Real;

    /// <summary>Whether paging used PAE tables (CR4.PAE with paging enabled).</summary>
    public bool IsPaeEnabled => IsPagingEnabled && (Cr4 & Cr4Bits.Pae) != 0;

    /// <summary>Whether IA-32e mode was active (64-bit or compatibility mode): addresses and CR2 are 64 bits wide.</summary>
    public bool IsLongMode => Mode is CpuMode.LongMode64 or CpuMode.Compatibility;

    /// <summary>The mode in words, for example <c>32-bit protected, paging, PAE</c>.</summary>
    public string ModeDescription
    {
        get
        {
            string mode = Mode switch
            {
                CpuMode.Real => "real",
                CpuMode.Virtual8086 => "virtual-8086",
                CpuMode.Protected16 => "16-bit protected",
                CpuMode.LongMode64 => "64-bit",
                CpuMode.Compatibility => "compatibility",
                _ => "32-bit protected",
            };

            // IA-32e mode always pages, with the 4-level tables (Intel SDM Vol. 3A, 4.5).
            return IsLongMode ? mode + ", 4-level paging" : IsPaeEnabled ? mode + ", paging, PAE" : IsPagingEnabled ? mode + ", paging" : mode;
        }
    }

    /// <summary>The usual name of an exception vector (<c>#GP</c>, <c>#PF</c>, ...; Intel SDM Vol. 3A, 6.3.1, Table 6-1), or <c>INT 0xNN</c>.</summary>
    /// <param name="vector">The vector.</param>
    /// <returns>The name.</returns>
    public static string VectorName(int vector) => vector switch
    {
        0 => "#DE",
        1 => "#DB",
        2 => "NMI",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        8 => "#DF",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        18 => "#MC",
        19 => "#XM",
        _ => "INT 0x" + vector.ToString("X2", CultureInfo.InvariantCulture),
    };

    /// <summary>The vector with its error code, for example <c>#GP(0018)</c>, <c>#UD</c> or, for an interrupt, <c>INT 0x08 (hardware)</c>.</summary>
    /// <returns>The description.</returns>
    public string Describe()
    {
        string name = Source == CpuEventSource.Exception || Vector == 2 ? VectorName(Vector) : "INT 0x" + Vector.ToString("X2", CultureInfo.InvariantCulture);
        if (ErrorCode is { } code)
        {
            name += "(" + code.ToString("X4", CultureInfo.InvariantCulture) + ")";
        }

        return Source switch
        {
            CpuEventSource.Hardware => name + " (hardware)",
            CpuEventSource.Software => name + " (software)",
            _ => name,
        };
    }

    /// <summary>
    /// The event in the layout of QEMU's <c>-d int</c> log, for example
    /// <c>v=0e e=0002 i=0 cpl=0 IP=0010:ffffffff81000000 pc=ffffffff81000000 SP=0018:ffffc90000003f58 CR2=0000000000001000</c>:
    /// the vector, the error code (0 when none is pushed), whether an INT instruction raised it, the CPL, CS:RIP, the linear
    /// address, SS:RSP and CR2. Addresses are 16 hexadecimal digits in IA-32e mode and 8 otherwise.
    /// </summary>
    /// <returns>The line.</returns>
    public string FormatQemuStyle()
    {
        int software = Source == CpuEventSource.Software ? 1 : 0;
        int error = ErrorCode ?? 0;
        return IsLongMode
            ? string.Create(CultureInfo.InvariantCulture, $"v={Vector:x2} e={error:x4} i={software} cpl={Cpl} IP={CodeSelector:x4}:{Rip:x16} pc={LinearAddress:x16} SP={StackSelector:x4}:{Rsp:x16} CR2={Cr2:x16}")
            : string.Create(CultureInfo.InvariantCulture, $"v={Vector:x2} e={error:x4} i={software} cpl={Cpl} IP={CodeSelector:x4}:{Eip:x8} pc={LinearAddress:x8} SP={StackSelector:x4}:{(uint)Rsp:x8} CR2={Cr2:x8}");
    }

    /// <inheritdoc />
    public override string ToString() => IsLongMode
        ? string.Create(
            CultureInfo.InvariantCulture,
            $"{Describe()} at {CodeSelector:X4}:{Rip:X16} (linear {LinearAddress:X16}), {ModeDescription}, CR0={Cr0:X8} CR2={Cr2:X16} CR3={Cr3:X16} CR4={Cr4:X8} EFLAGS={Eflags:X8}")
        : string.Create(
            CultureInfo.InvariantCulture,
            $"{Describe()} at {CodeSelector:X4}:{Eip:X8} (linear {LinearAddress:X8}), {ModeDescription}, CR0={Cr0:X8} CR2={Cr2:X8} CR3={Cr3:X8} CR4={Cr4:X8} EFLAGS={Eflags:X8}");
}
