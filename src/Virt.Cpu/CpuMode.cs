namespace Virt.Cpu;

/// <summary>The operating mode of the CPU at an event, as recorded in a <see cref="CpuExceptionRecord"/>.</summary>
/// <remarks>Paging and PAE are orthogonal to these modes; see <see cref="CpuExceptionRecord.IsPagingEnabled"/> and <see cref="CpuExceptionRecord.IsPaeEnabled"/>.</remarks>
public enum CpuMode
{
    /// <summary>Real-address mode (CR0.PE clear).</summary>
    Real,

    /// <summary>Virtual-8086 mode (CR0.PE and EFLAGS.VM set).</summary>
    Virtual8086,

    /// <summary>Protected mode running a 16-bit code segment (CS.D clear).</summary>
    Protected16,

    /// <summary>Protected mode running a 32-bit code segment (CS.D set).</summary>
    Protected32,

    /// <summary>IA-32e mode (EFER.LMA set) running a 64-bit code segment (CS.L set): 64-bit mode.</summary>
    LongMode64,

    /// <summary>IA-32e mode running a 16- or 32-bit code segment (CS.L clear): compatibility mode.</summary>
    Compatibility,
}
