using System.Globalization;

namespace Virt.Machine.Boot;

/// <summary>
/// The processor state a loader hands over: the mode, the instruction pointer, the general
/// registers, the segment selectors and, in protected mode, the GDT the loader placed in guest
/// memory. The machine maps this onto the CPU; in protected mode every selector names a flat 4 GiB
/// descriptor of <see cref="BootGdt"/> (base 0, limit FFFFFFFFh), so the CPU can load its descriptor
/// caches either from the table or from <see cref="BootGdt.CodeDescriptor"/> and
/// <see cref="BootGdt.DataDescriptor"/> directly. Paging is off and interrupts are disabled.
/// In real mode each segment base is its selector × 16 with a 64 KiB limit.
/// </summary>
public sealed record BootEntryState
{
    /// <summary>EFLAGS with only the always-one bit 1 set: interrupts disabled, direction flag clear.</summary>
    public const uint DefaultEflags = 0x0000_0002;

    /// <summary>The processor mode to start in.</summary>
    public required BootCpuMode Mode { get; init; }

    /// <summary>The instruction pointer (IP in real mode, an offset in <see cref="Cs"/>).</summary>
    public required uint Eip { get; init; }

    /// <summary>EAX.</summary>
    public uint Eax { get; init; }

    /// <summary>EBX.</summary>
    public uint Ebx { get; init; }

    /// <summary>ECX.</summary>
    public uint Ecx { get; init; }

    /// <summary>EDX.</summary>
    public uint Edx { get; init; }

    /// <summary>ESI.</summary>
    public uint Esi { get; init; }

    /// <summary>EDI.</summary>
    public uint Edi { get; init; }

    /// <summary>EBP.</summary>
    public uint Ebp { get; init; }

    /// <summary>ESP.</summary>
    public uint Esp { get; init; }

    /// <summary>EFLAGS; <see cref="DefaultEflags"/> (interrupts off) unless a loader says otherwise.</summary>
    public uint Eflags { get; init; } = DefaultEflags;

    /// <summary>The CS selector (a real-mode segment, or a selector into the boot GDT).</summary>
    public required ushort Cs { get; init; }

    /// <summary>The DS selector.</summary>
    public required ushort Ds { get; init; }

    /// <summary>The ES selector.</summary>
    public required ushort Es { get; init; }

    /// <summary>The FS selector.</summary>
    public required ushort Fs { get; init; }

    /// <summary>The GS selector.</summary>
    public required ushort Gs { get; init; }

    /// <summary>The SS selector.</summary>
    public required ushort Ss { get; init; }

    /// <summary>GDTR.base: the guest physical address of the boot GDT (zero in real mode).</summary>
    public uint GdtBase { get; init; }

    /// <summary>GDTR.limit (zero in real mode).</summary>
    public ushort GdtLimit { get; init; }

    /// <summary>
    /// Whether the A20 gate must be enabled at entry (so 1 MiB does not wrap to 0). Multiboot requires
    /// it (specification 3.2, "Machine state"), Linux's 32-bit entry assumes it, and PCs reset with it
    /// enabled, so both factories set it; the machine applies it to its memory map.
    /// </summary>
    public bool A20Enabled { get; init; } = true;

    /// <summary>A one-line human-readable description for logs, for example <c>Linux 2.15 bzImage at 0x00100000</c>.</summary>
    public required string Description { get; init; }

    /// <summary>Whether EFLAGS.IF is set (never, for the stock loaders).</summary>
    public bool InterruptsEnabled => (Eflags & 0x200) != 0;

    /// <summary>
    /// A real-mode entry at <paramref name="codeSegment"/>:<paramref name="instructionPointer"/>, with
    /// DS, ES, FS, GS and SS equal to the code segment and SP at FFFEh (adjust with a <c>with</c> expression).
    /// </summary>
    /// <param name="codeSegment">The CS value (base = CS × 16).</param>
    /// <param name="instructionPointer">The IP value.</param>
    /// <param name="description">The description for logs.</param>
    /// <returns>The state.</returns>
    public static BootEntryState RealMode(ushort codeSegment, ushort instructionPointer, string description) => new()
    {
        Mode = BootCpuMode.RealMode,
        Eip = instructionPointer,
        Esp = 0xFFFE,
        Cs = codeSegment,
        Ds = codeSegment,
        Es = codeSegment,
        Fs = codeSegment,
        Gs = codeSegment,
        Ss = codeSegment,
        Description = description,
    };

    /// <summary>
    /// A 32-bit flat protected-mode entry at <paramref name="eip"/>: CS = <see cref="BootGdt.CodeSelector"/>,
    /// the other selectors <see cref="BootGdt.DataSelector"/>, the boot GDT at <paramref name="gdtBase"/>,
    /// ESP = <see cref="BootMemoryLayout.StackTop"/>, all other general registers zero.
    /// </summary>
    /// <param name="eip">The entry point (a physical address, since the segments are flat and paging is off).</param>
    /// <param name="description">The description for logs.</param>
    /// <param name="gdtBase">Where the loader places the boot GDT.</param>
    /// <returns>The state.</returns>
    public static BootEntryState FlatProtectedMode(uint eip, string description, uint gdtBase = BootMemoryLayout.GdtAddress) => new()
    {
        Mode = BootCpuMode.ProtectedMode32,
        Eip = eip,
        Esp = BootMemoryLayout.StackTop,
        Cs = BootGdt.CodeSelector,
        Ds = BootGdt.DataSelector,
        Es = BootGdt.DataSelector,
        Fs = BootGdt.DataSelector,
        Gs = BootGdt.DataSelector,
        Ss = BootGdt.DataSelector,
        GdtBase = gdtBase,
        GdtLimit = BootGdt.Limit,
        Description = description,
    };

    /// <summary>Formats the state for logs: the description, the mode, CS:EIP and the general registers in hexadecimal.</summary>
    /// <returns>The formatted state.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Description} [{Mode} CS:EIP={Cs:X4}:{Eip:X8} EAX={Eax:X8} EBX={Ebx:X8} ECX={Ecx:X8} EDX={Edx:X8} ESI={Esi:X8} EDI={Edi:X8} EBP={Ebp:X8} ESP={Esp:X8} DS={Ds:X4} SS={Ss:X4} GDT={GdtBase:X8}/{GdtLimit:X4}]");
}
