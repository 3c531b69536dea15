namespace Virt.Fuzz;

/// <summary>
/// Where <see cref="GuestEnvironment"/> puts things in guest physical memory (identity-mapped when paging is on), and the
/// selectors of its GDT. Everything sits below 640 KiB so it is RAM at both levels.
/// </summary>
public static class GuestLayout
{
    /// <summary>The real-mode interrupt vector table.</summary>
    public const uint IvtAddress = 0x0000;

    /// <summary>The real-mode interrupt handler every IVT entry points at (0000:0500).</summary>
    public const uint RealModeHandlerAddress = 0x0500;

    /// <summary>The GDT (16 descriptors).</summary>
    public const uint GdtAddress = 0x0800;

    /// <summary>The GDT limit (16 descriptors).</summary>
    public const ushort GdtLimit = 0x7F;

    /// <summary>The IDT (256 gates).</summary>
    public const uint IdtAddress = 0x1000;

    /// <summary>The IDT limit (256 gates).</summary>
    public const ushort IdtLimit = 0x7FF;

    /// <summary>The 32-bit TSS: SS0:ESP0, the interrupt redirection bitmap and a full I/O permission bitmap.</summary>
    public const uint TssAddress = 0x2000;

    /// <summary>Offset of the interrupt redirection bitmap in the TSS (Intel SDM Vol. 3A, 20.3.3: just below the I/O map).</summary>
    public const uint RedirectionMapOffset = 0x68;

    /// <summary>Offset of the I/O permission bitmap in the TSS.</summary>
    public const uint IoMapOffset = 0x88;

    /// <summary>The TSS limit: the I/O bitmap of all 65536 ports and the all-ones byte after it (Intel SDM Vol. 1, 19.5.2).</summary>
    public const uint TssLimit = IoMapOffset + 0x2000;

    /// <summary>The 32-bit exception and interrupt handlers, <see cref="HandlerStride"/> bytes a vector.</summary>
    public const uint HandlerBase = 0x5000;

    /// <summary>The bytes between two handlers.</summary>
    public const uint HandlerStride = 16;

    /// <summary>The ring-0 routine a far call through the call gate reaches (a RETF).</summary>
    public const uint CallGateTarget = 0x4F00;

    /// <summary>Pseudo-descriptors for LGDT/LIDT and far pointers the generator refers to (see <see cref="GuestEnvironment"/>).</summary>
    public const uint TablePointers = 0x6000;

    /// <summary>A second, randomly altered but mostly plausible GDT (LGDT [6000h] loads it).</summary>
    public const uint AlternateGdtAddress = 0x6100;

    /// <summary>A second IDT of 32 random-but-plausible gates (LIDT [6010h] loads it).</summary>
    public const uint AlternateIdtAddress = 0x6400;

    /// <summary>The LDT (4 descriptors).</summary>
    public const uint LdtAddress = 0x6800;

    /// <summary>The ring-0 prologue that enters the mode (protected modes only).</summary>
    public const uint PrologueAddress = 0x7000;

    /// <summary>Where the generated code is placed (linear; CS:IP 1000:0000 in the 16-bit modes).</summary>
    public const uint CodeAddress = 0x10000;

    /// <summary>The most generated code a guest carries.</summary>
    public const int MaxCodeSizeInBytes = 0x1000;

    /// <summary>A 64 KiB area of random data for memory operands.</summary>
    public const uint DataAddress = 0x20000;

    /// <summary>The size of the random data area.</summary>
    public const int DataSizeInBytes = 0x10000;

    /// <summary>The 32-bit paging directory.</summary>
    public const uint PageDirectoryAddress = 0x30000;

    /// <summary>The 32-bit page table (4 MiB identity).</summary>
    public const uint PageTableAddress = 0x31000;

    /// <summary>The PAE page-directory-pointer table.</summary>
    public const uint PaePdptAddress = 0x32000;

    /// <summary>The PAE page directory.</summary>
    public const uint PaeDirectoryAddress = 0x33000;

    /// <summary>The two PAE page tables (4 MiB identity).</summary>
    public const uint PaeTableAddress = 0x34000;

    /// <summary>The 16-bit stack segment base (real mode, 16-bit protected mode, virtual-8086 mode), SP = FFF0h.</summary>
    public const uint Stack16Base = 0x80000;

    /// <summary>The initial 16-bit stack pointer.</summary>
    public const ushort Stack16Pointer = 0xFFF0;

    /// <summary>The ring-3 stack top.</summary>
    public const uint Ring3StackTop = 0x8F000;

    /// <summary>The ring-0 stack top of the TSS (SS0:ESP0), used on privilege changes.</summary>
    public const uint Ring0TssStackTop = 0x9E000;

    /// <summary>The initial ring-0 stack top.</summary>
    public const uint Ring0StackTop = 0x9F000;

    /// <summary>The RAM the CPU-level guest has below 1 MiB (the PC's 640 KiB).</summary>
    public const uint LowRamSizeInBytes = 0xA0000;

    /// <summary>The RAM above 1 MiB at the CPU level (up to 4 MiB, which the page tables map).</summary>
    public const uint HighRamSizeInBytes = 0x300000;

    /// <summary>Flat 32-bit ring-0 code.</summary>
    public const ushort FlatCode = 0x08;

    /// <summary>Flat 32-bit ring-0 data.</summary>
    public const ushort FlatData = 0x10;

    /// <summary>16-bit ring-0 code based at <see cref="CodeAddress"/>.</summary>
    public const ushort Code16 = 0x18;

    /// <summary>16-bit ring-0 data based at 0.</summary>
    public const ushort Data16 = 0x20;

    /// <summary>16-bit ring-0 stack based at <see cref="Stack16Base"/>.</summary>
    public const ushort Stack16 = 0x28;

    /// <summary>The 32-bit TSS.</summary>
    public const ushort Tss = 0x30;

    /// <summary>Flat 32-bit ring-3 code (selector with RPL 3).</summary>
    public const ushort FlatCode3 = 0x38 | 3;

    /// <summary>Flat 32-bit ring-3 data (selector with RPL 3).</summary>
    public const ushort FlatData3 = 0x40 | 3;

    /// <summary>The LDT.</summary>
    public const ushort Ldt = 0x48;

    /// <summary>A DPL-3 32-bit call gate to <see cref="CallGateTarget"/>.</summary>
    public const ushort CallGate = 0x50;

    /// <summary>A not-present data segment.</summary>
    public const ushort NotPresentData = 0x58;

    /// <summary>A 16-bit expand-down data segment.</summary>
    public const ushort ExpandDownData = 0x60;

    /// <summary>A flat conforming code segment.</summary>
    public const ushort ConformingCode = 0x68;

    /// <summary>A 16-bit read-only data segment over the data area.</summary>
    public const ushort ReadOnlyData = 0x70;

    /// <summary>16-bit ring-3 code based at <see cref="CodeAddress"/>.</summary>
    public const ushort Code16Ring3 = 0x78 | 3;
}
